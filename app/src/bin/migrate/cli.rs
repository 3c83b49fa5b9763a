//! The command line of `migrate`.

use std::{path::PathBuf, time::Duration};

use app::{duration::parse as parse_duration, migrations::MigrationSet};
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "migrate",
    about = "The only entrypoint that changes the schema: applies and reverts the migrations \
             embedded in this build, one runner at a time.",
    after_help = "Connects with MIGRATION_DATABASE_URL, falling back to DATABASE_URL (.env is read).\n\
                  Exit codes: 0 done, 1 failed or refused (nothing changed), 2 bad usage, \
                  3 another runner held the lock longer than --lock-wait."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub options: Options,
}

#[derive(Debug, Args)]
pub struct Options {
    /// Read migrations from this directory instead of the ones embedded in the binary.
    #[arg(long, global = true, value_name = "DIR")]
    pub source: Option<PathBuf>,
    /// Keep retrying an unreachable server this long.
    #[arg(long, global = true, env = "MIGRATE_CONNECT_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// Wait this long for another runner to finish before giving up with exit code 3.
    #[arg(long, global = true, env = "MIGRATE_LOCK_WAIT", default_value = "10m", value_parser = parse_duration)]
    pub lock_wait: Duration,
    /// Per migration: give up waiting for a table lock after this long, roll back, retry.
    #[arg(long, global = true, env = "MIGRATE_LOCK_TIMEOUT", default_value = "2s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// How many times to try a migration that keeps hitting --lock-timeout.
    #[arg(long, global = true, env = "MIGRATE_LOCK_RETRIES", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub lock_retries: u32,
    /// Per statement: cancel any statement running longer than this (default: no limit).
    #[arg(long, global = true, env = "MIGRATE_STATEMENT_TIMEOUT", value_parser = parse_duration)]
    pub statement_timeout: Option<Duration>,
}

impl Options {
    pub fn limits(&self) -> crate::batch::Limits {
        crate::batch::Limits {
            lock_timeout: self.lock_timeout,
            statement_timeout: self.statement_timeout,
        }
    }
}

/// `--to VERSION` of `up` and `baseline` must name one of this build's migrations.
pub fn require_known(set: &MigrationSet, to: Option<i64>) -> crate::failure::Result<()> {
    match to {
        Some(to) if set.get(to).is_none() => Err(crate::failure::Failure::new(format!(
            "--to {to}: no migration of this build has that version (see `migrate status`)"
        ))),
        _ => Ok(()),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, oldest first.
    Up(UpArgs),
    /// Revert applied migrations, newest first (one by default).
    Down(DownArgs),
    /// Print the latest applied migration, or `none`.
    Current,
    /// List every migration known to this build or the database, with its state.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Exit 0 only when the database holds exactly this build's migrations, unmodified.
    Verify,
    /// Record migrations as applied without running them, for a database that already has
    /// their schema (made before migrations were used, or loaded from schema.sql).
    Baseline(BaselineArgs),
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Record up to this version (default: all of this build's migrations).
    #[arg(long, value_name = "VERSION")]
    pub to: Option<i64>,
    /// Proceed although the history table already has rows (only missing ones are added).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Stop after this version (it must be one of this build's migrations).
    #[arg(long, value_name = "VERSION")]
    pub to: Option<i64>,
    /// Print what would be applied and change nothing (not even the history table).
    #[arg(long)]
    pub dry_run: bool,
    /// Run all pending migrations in one transaction: all or nothing (not for no-transaction
    /// files; thousands of new tables may need a larger max_locks_per_transaction).
    #[arg(long)]
    pub single_transaction: bool,
    /// Send at most N migrations to the server in one message, each still in its own
    /// transaction (default: as many as took about 25 ms before, up to 64; 1: one by one).
    #[arg(long, value_name = "N", conflicts_with = "single_transaction", value_parser = clap::value_parser!(u16).range(1..))]
    pub per_message: Option<u16>,
    /// Proceed although the database has migrations this build does not know.
    #[arg(long)]
    pub ignore_missing: bool,
    /// Apply pending migrations older than the newest applied one.
    #[arg(long)]
    pub allow_out_of_order: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Revert this many migrations.
    #[arg(long, value_name = "N", conflicts_with = "to", value_parser = clap::value_parser!(u32).range(1..))]
    pub steps: Option<u32>,
    /// Revert every migration newer than VERSION (0 reverts them all).
    #[arg(long, value_name = "VERSION")]
    pub to: Option<i64>,
    /// Print what would be reverted and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
