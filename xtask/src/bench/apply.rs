//! Figures 1 and 2: applying N one-table migrations to an empty database with `migrate` and
//! with the baselines (psql, the floor; sqlx's `Migrator`; optionally sqlx-cli), then
//! `migrate status` and `verify` on the largest history.

use std::{path::Path, time::Instant};

use anyhow::{Context, bail};
use pg_cluster::process;

use super::{
    Ctx,
    report::{Section, median, ms, ratio, show_ms},
};
use crate::db::{scratch::ScratchDb, url::PgUrl};

/// One way of applying a directory of migrations to an empty database.
pub struct Tool {
    pub name: &'static str,
    pub command: fn(&Ctx<'_>, &Path, &PgUrl) -> anyhow::Result<std::process::Command>,
}

pub const PSQL_AUTOCOMMIT: &str = "psql, autocommit";
pub const PSQL_ONE_TRANSACTION: &str = "psql, one transaction";
const SQLX_MIGRATOR: &str = "sqlx Migrator::run";

pub fn tools(with_sqlx_cli: bool) -> Vec<Tool> {
    let mut tools = vec![
        Tool {
            name: "migrate up",
            command: |ctx, dir, url| Ok(ctx.migrate(dir, url, &["up"])),
        },
        Tool {
            name: "migrate up --single-transaction",
            command: |ctx, dir, url| Ok(ctx.migrate(dir, url, &["up", "--single-transaction"])),
        },
        Tool {
            name: PSQL_AUTOCOMMIT,
            command: |ctx, _, url| Ok(ctx.psql(url)),
        },
        Tool {
            name: PSQL_ONE_TRANSACTION,
            command: |ctx, _, url| Ok(ctx.psql(url)),
        },
        Tool {
            name: SQLX_MIGRATOR,
            command: |ctx, dir, url| {
                let mut command =
                    std::process::Command::new(ctx.release_binary("examples/sqlx_migrator"));
                command.arg(dir).env("DATABASE_URL", url.to_string());
                Ok(command)
            },
        },
    ];
    if with_sqlx_cli {
        tools.push(Tool {
            name: "sqlx-cli migrate run",
            command: |ctx, dir, url| {
                let mut command = std::process::Command::new(ctx.sqlx_cli());
                command
                    .args(["migrate", "run", "--source"])
                    .arg(dir)
                    .env("DATABASE_URL", url.to_string());
                Ok(command)
            },
        });
    }
    tools
}

/// What `tool` reads on stdin: psql its script, the others nothing.
pub fn stdin_for(tool: &str, dir: &Path) -> anyhow::Result<Option<String>> {
    Ok(match tool {
        PSQL_AUTOCOMMIT => Some(psql_script(dir, false)?),
        PSQL_ONE_TRANSACTION => Some(psql_script(dir, true)?),
        _ => None,
    })
}

/// The psql input for a directory: `\i` every up file, in one transaction or not.
fn psql_script(dir: &Path, one_transaction: bool) -> anyhow::Result<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .map(|e| Ok(e?.path()))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".up.sql"))
        .collect();
    files.sort();
    let mut script = String::from(if one_transaction { "BEGIN;\n" } else { "" });
    for file in files {
        script += &format!("\\i {}\n", file.display());
    }
    if one_transaction {
        script += "COMMIT;\n";
    }
    Ok(script)
}

pub fn run(ctx: &Ctx<'_>, sizes: &[usize], with_sqlx_cli: bool) -> anyhow::Result<Vec<Section>> {
    let tools = tools(with_sqlx_cli);
    let mut sections = Vec::new();
    let mut largest_history: Option<ScratchDb<'_>> = None;
    for &size in sizes {
        let dir = ctx.generated_migrations(size)?;
        let runs = if size >= 10_000 {
            ctx.runs.min(3)
        } else {
            ctx.runs
        };
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); tools.len()];
        for run in 1..=runs {
            for (i, tool) in tools.iter().enumerate() {
                eprintln!("bench: {size} migrations, run {run}/{runs}: {}", tool.name);
                let scratch = ctx.scratch("apply")?;
                let command = (tool.command)(ctx, &dir, &scratch.url)?;
                let stdin = stdin_for(tool.name, &dir)?;
                times[i].push(
                    time(command, stdin.as_deref())
                        .with_context(|| format!("{} failed", tool.name))?,
                );
                if tool.name == "migrate up" && size == *sizes.iter().max().unwrap_or(&size) {
                    largest_history = Some(scratch);
                }
            }
        }
        let medians: Vec<f64> = times.iter().map(|t| median(t)).collect();
        let baseline = |name: &str| {
            tools
                .iter()
                .position(|t| t.name == name)
                .map(|i| medians[i])
        };
        let (psql, psql_one, sqlx) = (
            baseline(PSQL_AUTOCOMMIT),
            baseline(PSQL_ONE_TRANSACTION),
            baseline(SQLX_MIGRATOR),
        );
        let mut headers = vec![
            "tool",
            "median",
            "min",
            "max",
            "vs psql autocommit",
            "vs psql one transaction",
            "vs sqlx Migrator",
        ];
        let sqlx_cli = baseline("sqlx-cli migrate run");
        if sqlx_cli.is_some() {
            headers.push("vs sqlx-cli");
        }
        let mut section = Section::new(
            format!("Apply {size} one-table migrations to an empty database"),
            &headers,
        );
        for (i, tool) in tools.iter().enumerate() {
            let min = times[i].iter().copied().fold(f64::INFINITY, f64::min);
            let max = times[i].iter().copied().fold(0.0, f64::max);
            let mut row = vec![
                format!("`{}`", tool.name),
                show_ms(medians[i]),
                show_ms(min),
                show_ms(max),
                psql.map_or_else(String::new, |b| ratio(medians[i], b)),
                psql_one.map_or_else(String::new, |b| ratio(medians[i], b)),
                sqlx.map_or_else(String::new, |b| ratio(medians[i], b)),
            ];
            if let Some(cli) = sqlx_cli {
                row.push(ratio(medians[i], cli));
            }
            section.row(row);
        }
        section.note(format!(
            "Median of {runs} runs, each on a new database, tools interleaved within a run; a run is the whole \
             process, start to exit. psql records no history: it is the floor. On a durable server, every \
             commit of psql autocommit and of sqlx waits for the disk; `migrate up` waits once, at its last commit."
        ));
        sections.push(section);
    }
    if let Some(history) = largest_history {
        sections.push(inspect(ctx, &history, *sizes.iter().max().unwrap_or(&0))?);
    }
    Ok(sections)
}

/// Figure 2: reading a large history.
fn inspect(ctx: &Ctx<'_>, history: &ScratchDb<'_>, size: usize) -> anyhow::Result<Section> {
    let dir = ctx.generated_migrations(size)?;
    let mut section = Section::new(
        format!("Inspect a history of {size} applied migrations"),
        &["command", "median", "min", "max"],
    );
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["verify"],
        &["up", "--dry-run"],
    ] {
        let times: Vec<f64> = (0..ctx.runs)
            .map(|_| time(ctx.migrate(&dir, &history.url, args), None))
            .collect::<anyhow::Result<_>>()?;
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        let max = times.iter().copied().fold(0.0, f64::max);
        section.row(vec![
            format!("`migrate {}`", args.join(" ")),
            show_ms(median(&times)),
            show_ms(min),
            show_ms(max),
        ]);
    }
    section.note(format!(
        "Median of {} runs; the whole process, reading {size} files and the history table.",
        ctx.runs
    ));
    Ok(section)
}

/// Runs a command to completion (its output kept only for an error), feeding it `stdin`;
/// returns how long it took in ms.
pub fn time(command: std::process::Command, stdin: Option<&str>) -> anyhow::Result<f64> {
    let started = Instant::now();
    let output = process::pipe(command, stdin.unwrap_or(""))?;
    let elapsed = ms(started.elapsed());
    if !output.status.success() {
        bail!(
            "{}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("failed")
        );
    }
    Ok(elapsed)
}
