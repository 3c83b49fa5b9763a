//! `migrate`: the release-phase command and the only place migrations are applied or reverted.
//!
//! It works on one dedicated connection (`MIGRATION_DATABASE_URL`, else `DATABASE_URL`) and
//! holds the migration lock while it changes anything. Every failure prints one line per
//! problem, exits non-zero and leaves the database as it was.

mod baseline;
mod batch;
mod chunked;
mod cli;
mod connect;
mod down;
mod failure;
mod history;
mod inspect;
mod lock;
mod runner;
mod up;

use std::process::ExitCode;

use app::{
    config::{self, DatabaseSettings},
    migrations::MigrationSet,
    telemetry,
};
use clap::Parser;
use sqlx::Connection;

use crate::{
    cli::{Cli, Command},
    failure::Result,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Before parsing, so that `.env` can hold MIGRATE_* settings too.
    let dotenv = config::load_dotenv();
    let cli = Cli::parse();
    telemetry::init();
    let outcome = match dotenv {
        Ok(()) => run(cli).await,
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            for line in &failure.lines {
                eprintln!("error: {}", redact(line));
            }
            failure.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let set = match &cli.options.source {
        Some(dir) => MigrationSet::from_dir(dir)?,
        None => MigrationSet::embedded()?,
    };
    let settings = DatabaseSettings::for_migrations()?;
    let mut conn = connect::connect(&settings, cli.options.connect_timeout).await?;
    if matches!(
        cli.command,
        Command::Up(_) | Command::Down(_) | Command::Baseline(_)
    ) && let Err(refused) = connect::ensure_direct_session(&mut conn, &settings).await
    {
        let _ = conn.close().await;
        return Err(refused);
    }
    let options = &cli.options;
    let outcome = match &cli.command {
        Command::Up(args) => up::up(&mut conn, &set, args, options).await,
        Command::Down(args) => down::down(&mut conn, &set, args, options).await,
        Command::Current => inspect::current(&mut conn, &set).await,
        Command::Status { json } => inspect::status(&mut conn, &set, *json).await,
        Command::Verify => inspect::verify(&mut conn, &set).await,
        Command::Baseline(args) => baseline::baseline(&mut conn, &set, args, options).await,
    };
    // Closing the session releases the migration lock on every path, errors included.
    let _ = conn.close().await;
    outcome
}

/// Last line of defence: no password from either URL variable reaches the terminal.
fn redact(line: &str) -> String {
    [config::MIGRATION_DATABASE_URL, config::DATABASE_URL]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .fold(line.to_owned(), |line, url| {
            config::redact_secrets_in(&line, &url)
        })
}
