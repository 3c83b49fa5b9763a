//! Figure 3: a deploy's herd. 64 api and worker processes and `migrate` start together on an
//! empty database; how long until the last process is ready, and how long after `migrate`
//! committed does each one pass its schema gate (they wait for its NOTIFY).

use std::{
    fs,
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail};
use chrono::DateTime;
use pg_cluster::process;

use super::{
    Ctx,
    report::{Section, median, show_ms},
};
use crate::migrate_bin;

const PROCESSES: usize = 64;
const READY_LINE: &str = "schema: every migration of this build is applied; ready";
const COMMIT_LINE: &str = "migration(s) in";

pub fn run(ctx: &Ctx<'_>) -> anyhow::Result<Section> {
    let runs = ctx.runs.min(5);
    let (mut last_ready, mut start_to_ready, mut wake_median, mut wake_max) =
        (vec![], vec![], vec![], vec![]);
    for run in 1..=runs {
        eprintln!("bench: herd of {PROCESSES} + migrate, run {run}/{runs}");
        let outcome = once(ctx)?;
        last_ready.push(outcome.wakes.iter().copied().fold(0.0, f64::max));
        wake_median.push(median(&outcome.wakes));
        wake_max.push(outcome.wakes.iter().copied().fold(0.0, f64::max));
        start_to_ready.push(outcome.start_to_last_ready);
    }
    let mut section = Section::new(
        format!(
            "Herd: {PROCESSES} api and worker processes and `migrate` start together on an empty database"
        ),
        &["figure", "median of runs", "worst run"],
    );
    for (name, values) in [
        ("start → last process ready", &start_to_ready),
        ("migrate's commit → last process ready", &last_ready),
        ("commit → ready, median process", &wake_median),
        ("commit → ready, slowest process", &wake_max),
    ] {
        section.row(vec![
            name.to_owned(),
            show_ms(median(values)),
            show_ms(values.iter().copied().fold(0.0, f64::max)),
        ]);
    }
    section.note(format!(
        "{runs} runs; release builds; half api, half workers, each with its probe listener. Times come from the \
         processes' own log timestamps: `migrate` logs after its last COMMIT, each process when its gate opens. \
         No process failed."
    ));
    Ok(section)
}

struct Outcome {
    /// Per process: ms from migrate's commit to the process passing its gate.
    wakes: Vec<f64>,
    start_to_last_ready: f64,
}

fn once(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let scratch = ctx.scratch("herd")?;
    let logs = ctx.work.join("herd-logs");
    let _ = fs::remove_dir_all(&logs);
    fs::create_dir_all(&logs)?;
    let started_wall = now_secs();
    let started = Instant::now();
    let mut herd: Vec<Child> = Vec::new();
    let spawned = (|| -> anyhow::Result<Child> {
        for i in 0..PROCESSES {
            let binary = ctx.release_binary(if i % 2 == 0 { "api" } else { "worker" });
            let log = fs::File::create(logs.join(format!("{i}.log")))?;
            let mut process = Command::new(binary);
            process
                .args(["--listen", "127.0.0.1:0"])
                .env("DATABASE_URL", scratch.url.to_string())
                .env("RUST_LOG", "info")
                .stdout(Stdio::null())
                .stderr(log);
            herd.push(process::spawn(process)?);
        }
        let log = fs::File::create(logs.join("migrate.log"))?;
        let mut migrate = migrate_bin::command("release", &scratch.url, None, &["up"]);
        migrate.stderr(log);
        process::spawn(migrate)
    })();
    let result = spawned.and_then(|mut migrate| {
        if !migrate.wait()?.success() {
            bail!(
                "migrate failed: {}",
                fs::read_to_string(logs.join("migrate.log"))?
            );
        }
        let committed = logged_at(&fs::read_to_string(logs.join("migrate.log"))?, COMMIT_LINE)
            .context("migrate logged no commit")?;
        let deadline = started + Duration::from_secs(60);
        let mut ready = Vec::new();
        for (i, process) in herd.iter_mut().enumerate() {
            loop {
                let log = fs::read_to_string(logs.join(format!("{i}.log")))?;
                if let Some(at) = logged_at(&log, READY_LINE) {
                    ready.push(at);
                    break;
                }
                if let Some(status) = process.try_wait()? {
                    bail!("process {i} exited ({status}):\n{log}");
                }
                if Instant::now() > deadline {
                    bail!("process {i} was not ready after 60 s:\n{log}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let last = ready.iter().copied().fold(0.0, f64::max);
        Ok(Outcome {
            wakes: ready.iter().map(|at| (at - committed) * 1000.0).collect(),
            start_to_last_ready: (last - started_wall) * 1000.0,
        })
    });
    for mut process in herd {
        let _ = process.kill();
        let _ = process.wait();
    }
    result
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The time (Unix seconds) of the first log line containing `marker`. Lines start with an
/// RFC 3339 UTC timestamp, e.g. `2026-11-21T14:01:41.933138Z`.
fn logged_at(log: &str, marker: &str) -> Option<f64> {
    let stamp = log
        .lines()
        .find(|l| l.contains(marker))?
        .split_whitespace()
        .next()?;
    let time = DateTime::parse_from_rfc3339(stamp).ok()?;
    Some(time.timestamp() as f64 + f64::from(time.timestamp_subsec_nanos()) / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_timestamps_become_unix_seconds() {
        let log = "2026-11-21T13:34:56.250000Z  INFO schema: every migration of this build is applied; ready\n";
        assert_eq!(logged_at(log, READY_LINE), Some(1_795_268_096.25));
    }
}
