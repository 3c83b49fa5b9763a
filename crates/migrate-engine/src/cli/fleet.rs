//! `migrate fleet up|status`: the command line of [`crate::fleet`]. Reads the targets, keeps
//! this worker's shard, shows progress on a terminal, prints a report per target (text, or
//! `--json`) and fails naming every target that did not end as asked.

use std::{io::IsTerminal, path::PathBuf};

use clap::{ArgGroup, Args, ValueEnum};
use migrate_core::MigrationSet;
use serde_json::json;

use super::Options;
use crate::{
    audit::RunInfo,
    error::Result,
    fleet::{self, Action, FleetOptions, OnError, Outcome, Shard, TargetReport, targets},
    settings::DatabaseSettings,
    shutdown::Shutdown,
};

/// `migrate fleet`'s arguments.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("list").required(true).args(["targets", "targets_sql"])))]
pub(super) struct FleetArgs {
    /// up: apply the pending migrations of every target; status: what each one has.
    #[arg(value_enum)]
    action: Action,
    /// A file with one database URL per line (`#` comments, blank lines skipped).
    #[arg(long, value_name = "FILE")]
    targets: Option<PathBuf>,
    /// A query, run on MIGRATION_DATABASE_URL, returning one text column of database URLs.
    #[arg(long, value_name = "QUERY")]
    targets_sql: Option<String>,
    /// Targets worked on at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    parallel: u16,
    /// At most N targets at once on one server (host:port).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    per_host: Option<u16>,
    /// The first N targets go first, alone; a failure among them starts no other.
    #[arg(long, value_name = "N", default_value_t = 0)]
    canary: u16,
    /// After a target fails: continue with the others, or stop starting new ones.
    #[arg(long, value_enum, default_value_t = OnError::Continue)]
    on_error: OnError,
    /// Only this worker's share of the targets: I (from 0) of N workers, as a Kubernetes
    /// Indexed Job runs them (`--shard $(JOB_COMPLETION_INDEX)/N`).
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// `up`: proceed on targets that have migrations this build does not know.
    #[arg(long)]
    ignore_missing: bool,
}

impl FleetArgs {
    /// Runs the fleet: the targets' failures come back as one error naming each of them.
    pub(super) async fn run(
        &self,
        set: &MigrationSet,
        info: RunInfo,
        options: &Options,
        shutdown: Shutdown,
    ) -> Result<()> {
        let mut list = match (&self.targets, &self.targets_sql) {
            (Some(file), _) => targets::from_file(file)?,
            (None, Some(query)) => {
                targets::from_query(&DatabaseSettings::for_migrations()?, query).await?
            }
            (None, None) => unreachable!("clap requires one"),
        };
        let listed = list.len();
        if let Some(shard) = self.shard {
            list.retain(|t| shard.holds(t));
        }
        let fleet_options = FleetOptions {
            parallel: usize::from(self.parallel),
            per_host: self.per_host.map(usize::from),
            canary: usize::from(self.canary),
            on_error: self.on_error,
            connect_timeout: options.connect_timeout,
            policy: options.policy(),
            up: crate::plan::UpOptions {
                ignore_missing: self.ignore_missing,
                ..Default::default()
            },
        };
        let mut progress = Progress::new(list.len(), !self.json);
        let reports = fleet::run(
            set,
            &list,
            self.action,
            &fleet_options,
            &info,
            &shutdown,
            &mut |report| progress.add(report),
        )
        .await;
        progress.finish();
        let shard = self.shard.map(|s| s.to_string());
        if self.json {
            let body = json!({
                "action": self.action.to_possible_value().expect("no skipped value").get_name(),
                "shard": shard,
                "listed": listed,
                "targets": reports,
                "summary": summary(&reports),
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&body).expect("plain data serializes")
            );
        } else {
            for report in &reports {
                println!("{}", line(report));
            }
            let of_shard = shard
                .map(|s| format!(" (shard {s} of {listed} listed)"))
                .unwrap_or_default();
            let counts = summary(&reports);
            let said: Vec<String> = counts
                .as_object()
                .expect("an object")
                .iter()
                .filter(|(_, n)| n.as_u64() != Some(0))
                .map(|(what, n)| format!("{n} {}", what.replace('_', " ")))
                .collect();
            println!(
                "{} target(s){of_shard}: {}",
                reports.len(),
                if said.is_empty() {
                    "none".to_owned()
                } else {
                    said.join(", ")
                }
            );
        }
        match fleet::failure(&reports, &shutdown) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// How many targets ended each way.
fn summary(reports: &[TargetReport]) -> serde_json::Value {
    let count = |f: fn(&Outcome) -> bool| reports.iter().filter(|r| f(&r.outcome)).count();
    json!({
        "applied": count(|o| matches!(o, Outcome::Applied { .. })),
        "up_to_date": count(|o| matches!(o, Outcome::UpToDate)
            || matches!(o, Outcome::Status { pending, mismatch: false, .. } if pending.is_empty())),
        "behind": count(|o| matches!(o, Outcome::Status { pending, mismatch: false, .. } if !pending.is_empty())),
        "history_differs": count(|o| matches!(o, Outcome::Status { mismatch: true, .. })),
        "failed": count(|o| matches!(o, Outcome::Failed { .. })),
        "not_started": count(|o| matches!(o, Outcome::NotStarted { .. })),
    })
}

/// One target's line of the text report.
fn line(report: &TargetReport) -> String {
    let what = match &report.outcome {
        Outcome::Applied { versions } => format!(
            "applied {} migration(s), now at {}",
            versions.len(),
            versions.last().expect("at least one")
        ),
        Outcome::UpToDate => "up to date".to_owned(),
        Outcome::Status {
            applied,
            pending,
            mismatch,
        } => format!(
            "{applied} applied, {} pending{}",
            pending.len(),
            if *mismatch {
                "; the history differs from this build (see migrate status)"
            } else {
                ""
            }
        ),
        Outcome::Failed { error, .. } => format!("FAILED: {error}"),
        Outcome::NotStarted { reason } => format!("not started: {reason}"),
    };
    format!(
        "{}  {what}  ({:.1} s)",
        report.target,
        report.took_ms as f64 / 1000.0
    )
}

/// `12/30 done, 1 failed` on stderr, rewritten in place, when stderr is a terminal.
struct Progress {
    total: usize,
    done: usize,
    failed: usize,
    shown: bool,
}

impl Progress {
    fn new(total: usize, wanted: bool) -> Self {
        Self {
            total,
            done: 0,
            failed: 0,
            shown: wanted && std::io::stderr().is_terminal(),
        }
    }

    fn add(&mut self, report: &TargetReport) {
        self.done += 1;
        if !report.outcome.succeeded() {
            self.failed += 1;
        }
        if self.shown {
            eprint!(
                "\r{}/{} done, {} failed",
                self.done, self.total, self.failed
            );
        }
    }

    fn finish(&self) {
        if self.shown {
            eprintln!();
        }
    }
}
