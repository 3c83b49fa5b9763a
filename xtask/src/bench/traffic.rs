//! Figure 4: a migration on a table under live traffic. pgbench runs point-selects on `hot`
//! while a reader holds it for 6 s and `migrate` adds a column. A waiting ALTER queues every
//! later query on the table behind it, so the query latency shows how long each policy lets
//! an attempt wait.

use std::{
    fs,
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use pg_cluster::process;

use super::{
    Ctx,
    report::{Section, median, percentile, show_ms},
};

const PGBENCH_SECONDS: u64 = 18;
const READER_STARTS: Duration = Duration::from_secs(1);
const READER_HOLDS_SECONDS: u64 = 6;
const MIGRATE_STARTS: Duration = Duration::from_millis(1500);

/// (label, migrate flags); `None`: a control run with no migration.
const POLICIES: &[(&str, Option<&[&str]>)] = &[
    ("no migration (control)", None),
    ("default: `--lock-timeout 100ms`, 30 attempts", Some(&[])),
    (
        "the former default: `--lock-timeout 2s --lock-retries 10`",
        Some(&["--lock-timeout", "2s", "--lock-retries", "10"]),
    ),
    (
        "no lock_timeout (`--lock-timeout 0s`)",
        Some(&["--lock-timeout", "0s"]),
    ),
];

pub fn run(ctx: &Ctx<'_>) -> anyhow::Result<Section> {
    let runs = ctx.runs.min(3);
    let mut section = Section::new(
        "Live traffic: point-selects on a table that a reader holds for 6 s while a migration alters it",
        &[
            "policy",
            "max query latency",
            "p99",
            "median",
            "migration landed after",
            "attempts",
        ],
    );
    for (label, flags) in POLICIES {
        let mut outcomes = Vec::new();
        for run in 1..=runs {
            eprintln!("bench: live traffic, {label}, run {run}/{runs}");
            outcomes.push(once(ctx, *flags)?);
        }
        let pick = |f: fn(&Outcome) -> f64| median(&outcomes.iter().map(f).collect::<Vec<_>>());
        section.row(vec![
            label.to_string(),
            format!(
                "{} (worst run {})",
                show_ms(pick(|o| o.max)),
                show_ms(outcomes.iter().map(|o| o.max).fold(0.0, f64::max))
            ),
            show_ms(pick(|o| o.p99)),
            show_ms(pick(|o| o.median)),
            if flags.is_some() {
                show_ms(pick(|o| o.landed))
            } else {
                "-".into()
            },
            if flags.is_some() {
                format!("{:.0}", pick(|o| o.attempts))
            } else {
                "-".into()
            },
        ]);
    }
    section.note(format!(
        "pgbench: 8 clients, {PGBENCH_SECONDS} s of `SELECT v FROM hot WHERE id = :id` on 10 000 rows; the reader \
         takes its lock at 1 s and keeps it {READER_HOLDS_SECONDS} s; `migrate up` (`ALTER TABLE hot ADD COLUMN \
         note text`) starts at 1.5 s. Latencies are pgbench's per-transaction log; medians of {runs} runs. \
         \"Landed after\" is `migrate`'s whole run, start to exit."
    ));
    Ok(section)
}

struct Outcome {
    max: f64,
    p99: f64,
    median: f64,
    landed: f64,
    attempts: f64,
}

fn once(ctx: &Ctx<'_>, flags: Option<&[&str]>) -> anyhow::Result<Outcome> {
    let scratch = ctx.scratch("traffic")?;
    let setup = "CREATE TABLE hot (id int PRIMARY KEY, v text NOT NULL);\n\
                 INSERT INTO hot SELECT i, md5(i::text) FROM generate_series(1, 10000) i;\nANALYZE hot;\n";
    super::apply::time(ctx.psql(&scratch.url), Some(setup)).context("creating the table")?;
    let migrations = ctx.work.join("traffic-migrations");
    let _ = fs::remove_dir_all(&migrations);
    fs::create_dir_all(&migrations)?;
    fs::write(
        migrations.join("1_add_hot_note.up.sql"),
        "ALTER TABLE hot ADD COLUMN note text;\n",
    )?;
    let logs = ctx.work.join("pgbench-log");
    let _ = fs::remove_dir_all(&logs);
    fs::create_dir_all(&logs)?;
    let script = ctx.work.join("point-select.sql");
    fs::write(
        &script,
        "\\set id random(1, 10000)\nSELECT v FROM hot WHERE id = :id;\n",
    )?;

    let mut pgbench = ctx.db.client("pgbench", &scratch.url);
    pgbench
        .args([
            "-n",
            "-c",
            "8",
            "-j",
            "2",
            "-T",
            &PGBENCH_SECONDS.to_string(),
            "-l",
            "-f",
        ])
        .arg(&script)
        .arg(format!("--log-prefix={}", logs.join("tx").display()))
        .current_dir(&logs)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let pgbench = process::spawn(pgbench)
        .context("pgbench (from the PostgreSQL server package) is needed")?;
    let started = Instant::now();
    thread::sleep(READER_STARTS);
    let reader = format!(
        "BEGIN; SELECT count(*) FROM hot; SELECT pg_sleep({READER_HOLDS_SECONDS}); COMMIT;\n"
    );
    let reader = thread::spawn({
        let command = ctx.psql(&scratch.url);
        move || super::apply::time(command, Some(&reader))
    });
    let mut landed = 0.0;
    let mut attempts = 0.0;
    if let Some(flags) = flags {
        thread::sleep(MIGRATE_STARTS.saturating_sub(started.elapsed()));
        let mut args = vec!["up"];
        args.extend_from_slice(flags);
        let migrate = ctx.migrate(&migrations, &scratch.url, &args);
        let began = Instant::now();
        let output = process::output(migrate)?;
        landed = began.elapsed().as_secs_f64() * 1000.0;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            bail!("migrate failed under traffic:\n{stderr}");
        }
        attempts = 1.0 + stderr.matches("gave up waiting for a table lock").count() as f64;
    }
    reader.join().expect("the reader thread")?;
    let pgbench = pgbench.wait_with_output()?;
    if !pgbench.status.success() {
        bail!(
            "pgbench failed: {}",
            String::from_utf8_lossy(&pgbench.stderr)
        );
    }
    let latencies = read_latencies(&logs)?;
    Ok(Outcome {
        max: latencies.iter().copied().fold(0.0, f64::max),
        p99: percentile(&latencies, 99.0),
        median: median(&latencies),
        landed,
        attempts,
    })
}

/// Per-transaction latencies in ms from pgbench's `-l` files: the third field, in µs.
fn read_latencies(dir: &std::path::Path) -> anyhow::Result<Vec<f64>> {
    let mut latencies = Vec::new();
    for entry in fs::read_dir(dir)? {
        for line in fs::read_to_string(entry?.path())?.lines() {
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|f| f.parse::<f64>().ok())
            {
                latencies.push(us / 1000.0);
            }
        }
    }
    if latencies.is_empty() {
        bail!("pgbench logged no transactions in {}", dir.display());
    }
    Ok(latencies)
}
