//! What each `migrate` command does: which migrations (embedded, or read from a directory),
//! one dedicated session, the engine, and what is printed.

use std::path::Path;

use migrate_core::{Config, Migration, MigrationSet};
use serde_json::json;

use super::{Cli, Command};
use crate::{
    audit::{RunInfo, RunRecord},
    embedded::Embedded,
    engine::Engine,
    error::{Error, ErrorKind, Result},
    rehearse::Rehearsal,
    session::Session,
    settings::DatabaseSettings,
    shutdown::Shutdown,
    status::{State, StatusReport},
};

impl Cli {
    /// Runs the command on `embedded` migrations, or on the files `--source` / `--config`
    /// name, until it is done or `shutdown` is requested. This is what a `migrate` binary
    /// calls; it reaches apply, revert and baseline.
    pub async fn run(self, embedded: &Embedded, shutdown: Shutdown) -> Result<()> {
        let set = self.migration_set(embedded)?;
        let run = RunInfo {
            command: match self.command_line.as_str() {
                "" => RunInfo::default().command,
                line => line.to_owned(),
            },
            build: embedded.build,
        };
        match &self.command {
            Command::Diff(args) => return args.run(&set).await,
            Command::Fleet(args) => return args.run(&set, run, &self.options, shutdown).await,
            _ => {}
        }
        let settings = DatabaseSettings::for_migrations()?;
        let timeout = self.options.connect_timeout;
        // Commands that change the schema get the second session: the pooler check, who
        // blocks, cancelling on a stop request.
        let mut session = if self.command.changes_schema() {
            Session::connect_watched(&settings, timeout, &shutdown).await?
        } else {
            Session::connect(&settings, timeout, &shutdown).await?
        };
        let outcome = self.dispatch(&set, run, &mut session).await;
        // Closing the session releases the migration lock on every path, errors included.
        session.close().await;
        outcome
    }

    /// The migrations to work with: `--source DIR` with `--config FILE` (or `./sqlx.toml`),
    /// `--config FILE` alone (its `migrations-dir`), else the embedded ones.
    fn migration_set(&self, embedded: &Embedded) -> Result<MigrationSet> {
        let config = |path: Option<&Path>| {
            match path {
                Some(path) => Config::load(path),
                None => Config::load_or_default(Path::new("sqlx.toml")),
            }
            .map_err(|e| Error::new(ErrorKind::Config, e))
        };
        let options = &self.options;
        Ok(match (&options.source, &options.config) {
            (Some(dir), path) => MigrationSet::from_dir(dir, config(path.as_deref())?)?,
            (None, Some(path)) => {
                let config = config(Some(path))?;
                let dir = config.migrations_dir_in(Path::new("."));
                MigrationSet::from_dir(&dir, config)?
            }
            (None, None) => embedded.migration_set()?,
        })
    }

    #[expect(
        clippy::disallowed_methods,
        reason = "the command line is what `migrate` binaries run: it applies, reverts and baselines"
    )]
    async fn dispatch(
        &self,
        set: &MigrationSet,
        run: RunInfo,
        session: &mut Session,
    ) -> Result<()> {
        let engine = Engine::new(set, self.options.policy()).recording(run);
        match &self.command {
            Command::Up(args) if args.dry_run => {
                print_plan(
                    "would apply",
                    &engine.plan_up(session, &args.options()).await?,
                );
            }
            Command::Up(args) => {
                engine.up(session, &args.options()).await?;
            }
            Command::Down(args) if args.dry_run => {
                print_plan(
                    "would revert",
                    &engine.plan_down(session, &args.options()).await?,
                );
            }
            Command::Down(args) => {
                engine.down(session, &args.options()).await?;
            }
            Command::Baseline(args) => {
                engine.baseline(session, &args.options()).await?;
            }
            Command::Rehearse(args) => rehearse(&engine.rehearse(session, &args.options()).await?)?,
            Command::Current => match engine.status(session).await?.latest_applied() {
                Some(entry) => println!("{} {}", entry.version, entry.name),
                None => println!("none"),
            },
            Command::Status { json } => print_status(&engine.status(session).await?, *json),
            Command::History { json, limit } => {
                print_history(&engine.runs(session, *limit).await?, *json)
            }
            Command::Verify => verify(&engine.status(session).await?)?,
            Command::Diff(_) | Command::Fleet(_) => unreachable!("run before connecting"),
        }
        Ok(())
    }
}

fn print_plan(what: &str, migrations: &[&Migration]) {
    if migrations.is_empty() {
        println!("nothing to do");
    }
    for m in migrations {
        println!("{what} {}", m.label());
    }
}

fn print_history(runs: &[RunRecord], as_json: bool) {
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(runs).expect("plain data serializes")
        );
        return;
    }
    if runs.is_empty() {
        println!("no run recorded yet");
    }
    for run in runs {
        let took = run
            .finished_at
            .map(|end| {
                format!(
                    " in {:.1} s",
                    (end - run.started_at).num_milliseconds() as f64 / 1000.0
                )
            })
            .unwrap_or_default();
        let host = run
            .client_host
            .as_deref()
            .map(|h| format!(" on {h}"))
            .unwrap_or_default();
        let user = run
            .os_user
            .as_deref()
            .map(|u| format!(", os user {u}"))
            .unwrap_or_default();
        let addr = run
            .client_addr
            .as_deref()
            .map(|a| format!(", from {a}"))
            .unwrap_or_default();
        let lsn = run
            .start_lsn
            .as_deref()
            .map(|lsn| format!("  WAL {lsn}"))
            .unwrap_or_default();
        println!(
            "run {}  {} UTC  {}{took}  `migrate {}`  by {}{host}{user}{addr}  build {} ({})  lock wait {} ms{lsn}",
            run.id,
            run.started_at.format("%Y-%m-%d %H:%M:%S"),
            run.outcome,
            run.command,
            run.database_role,
            run.build_version,
            run.build_commit,
            run.lock_wait_ms
        );
        for step in &run.steps {
            let (verb, failed) = match step.direction.as_str() {
                "apply" => ("applied", "applying"),
                "revert" => ("reverted", "reverting"),
                _ => ("baselined", "baselining"),
            };
            let label = format!("{}_{}", step.version, step.name);
            match step.error.as_deref() {
                Some(error) => println!(
                    "    FAILED {failed} {label} (attempt {}): {error}",
                    step.attempts
                ),
                None if step.execution_time >= 0 => println!(
                    "    {verb} {label} in {:.1?} ({} attempt{})",
                    std::time::Duration::from_nanos(step.execution_time.unsigned_abs()),
                    step.attempts,
                    if step.attempts == 1 { "" } else { "s" }
                ),
                None => println!("    {verb} {label}"),
            }
        }
        if let Some(error) = &run.error
            && run.steps.iter().all(|s| s.error.is_none())
        {
            println!("    {error}");
        }
    }
}

fn print_status(report: &StatusReport, as_json: bool) {
    if as_json {
        let current = report.latest_applied().map(|e| e.version);
        let body = json!({ "current": current, "migrations": report.entries });
        println!(
            "{}",
            serde_json::to_string_pretty(&body).expect("plain data serializes")
        );
        return;
    }
    let name_width = report
        .entries
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    println!(
        "{:<16} {:<name_width$} {:<9} {:<23} APPLIED BY",
        "VERSION", "NAME", "STATE", "APPLIED AT"
    );
    for e in &report.entries {
        let applied_at = e.applied_at.map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        );
        println!(
            "{:<16} {:<name_width$} {:<9} {applied_at:<23} {}",
            e.version,
            e.name,
            e.state.as_str(),
            e.applied_by.as_deref().unwrap_or("-")
        );
    }
    let count = |state| report.with_state(state).count();
    println!(
        "\n{} migration(s): {} applied, {} pending, {} modified, {} missing, {} failed",
        report.entries.len(),
        count(State::Applied),
        count(State::Pending),
        count(State::Modified),
        count(State::Missing),
        count(State::Failed)
    );
}

fn rehearse(rehearsal: &Rehearsal) -> Result<()> {
    for migration in &rehearsal.migrations {
        for line in migration.lines() {
            println!("{line}");
        }
    }
    println!("{}", rehearsal.summary());
    let problems = rehearsal.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::with_lines(ErrorKind::Failed, problems))
    }
}

fn verify(report: &StatusReport) -> Result<()> {
    if report.is_exact() {
        match report.latest_applied() {
            Some(latest) => println!(
                "ok: the database holds exactly this build's {} migration(s), latest {} {}",
                report.entries.len(),
                latest.version,
                latest.name
            ),
            None => println!("ok: this build has no migrations and the database has none applied"),
        }
        return Ok(());
    }
    let lines = report
        .entries
        .iter()
        .filter(|e| e.state != State::Applied)
        .map(|e| {
            let what = match e.state {
                State::Pending => "is pending: in this build, not applied (run migrate up)",
                State::Modified => {
                    "is modified: applied with another checksum (its file was edited after it ran)"
                }
                State::Missing => {
                    "is missing: applied, but not in this build (an older build, or a deleted file)"
                }
                State::Failed => "is failed: recorded with success = false",
                State::Applied => unreachable!("filtered out"),
            };
            format!("{}_{} {what}", e.version, e.name)
        })
        .collect();
    Err(Error::with_lines(ErrorKind::Refused, lines))
}
