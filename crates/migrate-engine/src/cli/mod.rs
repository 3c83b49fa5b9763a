//! The `migrate` command line, for any project's `migrate` binary: the flags, what each
//! command does with the engine, and the exit code of a failure. A binary's `main` is [`main`]
//! on its embedded migrations (see the crate documentation); [`Cli::run`] is the same without
//! the process around it.

mod diff;
mod fleet;
mod run;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};

use crate::{
    Embedded,
    baseline::BaselineOptions,
    engine::Policy,
    error::{Error, ErrorKind},
    plan::{DownOptions, UpOptions},
    rehearse::RehearseOptions,
    settings,
    shutdown::Shutdown,
    telemetry,
};

/// Exit code when another runner held the migration lock longer than `--lock-wait`.
pub const EXIT_LOCK_WAIT: u8 = 3;
/// Exit code when SIGTERM or SIGINT stopped `migrate`: what ran to the end stays, what was
/// running was rolled back; run it again.
pub const EXIT_INTERRUPTED: u8 = 4;

/// `migrate`'s arguments.
#[derive(Debug, Parser)]
#[command(
    name = "migrate",
    about = "The only entrypoint that changes the schema: applies and reverts the migrations \
             embedded in this build, one runner at a time.",
    after_help = "Connects with MIGRATION_DATABASE_URL, falling back to DATABASE_URL (.env is read).\n\
                  Exit codes: 0 done; 1 failed or refused; 2 bad usage; \
                  3 another runner held the lock longer than --lock-wait (retryable); \
                  4 interrupted by SIGTERM or SIGINT (retryable). `fleet`: 1 when any target failed, \
                  3 when every failure was a lock wait."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
    /// How, and on which migrations.
    #[command(flatten)]
    options: Options,
    /// The arguments as given, which the audit trail records (`up --to 5`).
    #[arg(skip)]
    command_line: String,
}

impl Cli {
    /// Parses `args` (without the program name), as `migrate` does its own.
    pub fn from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        let mut cli = Self::try_parse_from(std::iter::once("migrate".into()).chain(args.clone()))?;
        cli.command_line = args
            .iter()
            .map(|arg| arg.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(cli)
    }
}

/// Options every command takes.
#[derive(Debug, Args)]
struct Options {
    /// Read migrations from this directory instead of the ones embedded in the binary.
    #[arg(long, global = true, value_name = "DIR")]
    source: Option<PathBuf>,
    /// The sqlx configuration for --source (default: ./sqlx.toml when it exists). Without
    /// --source, migrations are read from its migrations-dir.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Keep retrying an unreachable server this long.
    #[arg(long, global = true, env = "MIGRATE_CONNECT_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    connect_timeout: Duration,
    /// Wait this long for another runner to finish before giving up with exit code 3.
    #[arg(long, global = true, env = "MIGRATE_LOCK_WAIT", default_value = "10m", value_parser = humantime::parse_duration)]
    lock_wait: Duration,
    /// Per attempt: give up waiting for a table lock after this long (the queries queued behind
    /// the migration wait as long), roll back, retry.
    #[arg(long, global = true, env = "MIGRATE_LOCK_TIMEOUT", default_value = "100ms", value_parser = humantime::parse_duration)]
    lock_timeout: Duration,
    /// How many times to try a migration that keeps hitting --lock-timeout; the pauses between
    /// grow from 0.25 s to 5 s, so 30 attempts give up after about 2 minutes.
    #[arg(long, global = true, env = "MIGRATE_LOCK_RETRIES", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    lock_retries: u32,
    /// Per statement: cancel any statement running longer than this (default: no limit).
    #[arg(long, global = true, env = "MIGRATE_STATEMENT_TIMEOUT", value_parser = humantime::parse_duration)]
    statement_timeout: Option<Duration>,
}

impl Options {
    fn policy(&self) -> Policy {
        Policy {
            lock_wait: self.lock_wait,
            lock_timeout: self.lock_timeout,
            lock_retries: self.lock_retries,
            statement_timeout: self.statement_timeout,
        }
    }
}

/// `migrate`'s commands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending migrations, oldest first.
    Up(UpArgs),
    /// Revert applied migrations, newest first (one by default).
    Down(DownArgs),
    /// Print the latest applied migration, or `none`.
    Current,
    /// Print the audit trail, newest run first: what ran, when, by whom, from which build,
    /// and what failed.
    History {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Show at most N runs.
        #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..))]
        limit: i64,
    },
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
    /// On a new, empty database: apply every migration after filling every table with rows;
    /// report each one's duration, rewritten tables and strongest locks. Fails on a failure, a
    /// table rewrite or a long ACCESS EXCLUSIVE lock (a `-- rehearse-ignore` marker with a
    /// reason accepts the last two).
    Rehearse(RehearseArgs),
    /// Plan the migration from one database's schema to another's, from their catalogs
    /// (reads both, changes neither): print it, or write it as migration files with --out.
    /// From production to a database built by the migrations, it shows drift.
    Diff(diff::DiffArgs),
    /// Many databases (or tenant schemas) at once: `fleet up` applies the pending migrations
    /// of each, under each one's own lock, history and audit trail; `fleet status` reads them.
    /// Exit 0 only when every target ended as asked.
    Fleet(fleet::FleetArgs),
}

impl Command {
    /// Whether it changes the schema (and so runs under the migration lock).
    fn changes_schema(&self) -> bool {
        matches!(
            self,
            Command::Up(args) if !args.dry_run
        ) || matches!(
            self,
            Command::Down(args) if !args.dry_run
        ) || matches!(self, Command::Baseline(_) | Command::Rehearse(_))
    }
}

/// `migrate up`'s arguments.
#[derive(Debug, Args)]
struct UpArgs {
    /// Stop after this version (it must be one of this build's migrations).
    #[arg(long, value_name = "VERSION", allow_negative_numbers = true)]
    to: Option<i64>,
    /// Print what would be applied and change nothing (not even the history table).
    #[arg(long)]
    dry_run: bool,
    /// Run all pending migrations in one transaction: all or nothing (not for no-transaction
    /// files; thousands of new tables may need a larger max_locks_per_transaction).
    #[arg(long)]
    single_transaction: bool,
    /// Send at most N migrations to the server in one message, each still in its own
    /// transaction (default: as many as took the server about 250 ms before, growing at most
    /// 16-fold, up to 1000 or 1 MiB of SQL; 1: one by one).
    #[arg(long, value_name = "N", conflicts_with = "single_transaction", value_parser = clap::value_parser!(u16).range(1..))]
    per_message: Option<u16>,
    /// Proceed although the database has migrations this build does not know.
    #[arg(long)]
    ignore_missing: bool,
    /// Apply pending migrations older than the newest applied one.
    #[arg(long)]
    allow_out_of_order: bool,
}

impl UpArgs {
    fn options(&self) -> UpOptions {
        UpOptions {
            to: self.to,
            ignore_missing: self.ignore_missing,
            allow_out_of_order: self.allow_out_of_order,
            single_transaction: self.single_transaction,
            per_message: self.per_message.map(usize::from),
        }
    }
}

/// `migrate down`'s arguments.
#[derive(Debug, Args)]
struct DownArgs {
    /// Revert this many migrations.
    #[arg(long, value_name = "N", conflicts_with_all = ["to", "all"], value_parser = clap::value_parser!(u32).range(1..))]
    steps: Option<u32>,
    /// Revert every migration newer than VERSION.
    #[arg(
        long,
        value_name = "VERSION",
        conflicts_with = "all",
        allow_negative_numbers = true
    )]
    to: Option<i64>,
    /// Revert every applied migration.
    #[arg(long)]
    all: bool,
    /// Print what would be reverted and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Allow reverting: production is forward-only, so `down` is refused (and the refusal
    /// recorded) without it.
    #[arg(long, env = "MIGRATE_ALLOW_DOWN", value_parser = clap::builder::FalseyValueParser::new())]
    allow_down: bool,
}

impl DownArgs {
    fn options(&self) -> DownOptions {
        DownOptions {
            steps: self.steps,
            to: self.to,
            all: self.all,
            allow_down: self.allow_down,
        }
    }
}

/// `migrate baseline`'s arguments.
#[derive(Debug, Args)]
struct BaselineArgs {
    /// Record up to this version (default: all of this build's migrations).
    #[arg(long, value_name = "VERSION", allow_negative_numbers = true)]
    to: Option<i64>,
    /// Proceed although the history table already has rows (only missing ones are added).
    #[arg(long)]
    force: bool,
}

impl BaselineArgs {
    fn options(&self) -> BaselineOptions {
        BaselineOptions {
            to: self.to,
            force: self.force,
        }
    }
}

/// `migrate rehearse`'s arguments.
#[derive(Debug, Args)]
struct RehearseArgs {
    /// Rows in every table before each migration.
    #[arg(long, value_name = "N", default_value_t = RehearseOptions::default().rows)]
    rows: u64,
    /// Load the rows of this data-only dump (`pg_dump --data-only`, plain format) after the
    /// migrations it was taken at, and rehearse the newer ones on them.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Fail when a migration holds ACCESS EXCLUSIVE on an existing table longer than this.
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = humantime::parse_duration)]
    max_exclusive: Duration,
}

impl RehearseArgs {
    fn options(&self) -> RehearseOptions {
        RehearseOptions {
            rows: self.rows,
            data: self.data.clone(),
            max_exclusive: self.max_exclusive,
        }
    }
}

/// The whole of a `migrate` binary: reads `.env` (first, so that it can hold `MIGRATE_*`
/// settings), parses the flags, runs the command on `embedded` migrations, prints each problem
/// on a line of its own (`error: ...`, passwords masked) and returns the exit code.
pub fn main(embedded: &Embedded) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded runtime starts");
    let shutdown = {
        let _entered = runtime.enter();
        Shutdown::install().expect("signal handlers install")
    };
    let dotenv = settings::load_dotenv();
    let cli = Cli::from_args(std::env::args_os().skip(1)).unwrap_or_else(|e| e.exit());
    let log_format = match telemetry::init() {
        Ok(format) => format,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    #[expect(
        clippy::disallowed_methods,
        reason = "main is what a migrate binary runs; it is disallowed itself"
    )]
    let outcome = match dotenv {
        Ok(()) => runtime.block_on(cli.run(embedded, shutdown)),
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            for line in error.lines() {
                let line = settings::redact_env_urls(line);
                if log_format == telemetry::LogFormat::Json {
                    tracing::error!("{line}");
                } else {
                    eprintln!("error: {line}");
                }
            }
            exit_code(&error)
        }
    }
}

/// The exit code for a failure: 3 when the lock wait ran out, 4 when interrupted, else 1.
fn exit_code(error: &Error) -> ExitCode {
    match error.kind() {
        ErrorKind::LockWait => ExitCode::from(EXIT_LOCK_WAIT),
        ErrorKind::Interrupted => ExitCode::from(EXIT_INTERRUPTED),
        _ => ExitCode::FAILURE,
    }
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
