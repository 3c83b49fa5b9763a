//! This application's `migrate`: the engine's command line on the migrations `sqlx::migrate!()`
//! embeds (the directory and the history table come from `sqlx.toml`).

use std::process::ExitCode;

use clap::Parser;
use migrate_engine::{Embedded, cli, settings, telemetry};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();
static MIGRATIONS: Embedded = migrate_engine::embedded!(&MIGRATOR);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let dotenv = settings::load_dotenv();
    let cli = cli::Cli::parse();
    telemetry::init();
    #[expect(
        clippy::disallowed_methods,
        reason = "this binary is the one entrypoint that migrates"
    )]
    let outcome = match dotenv {
        Ok(()) => cli.run(&MIGRATIONS).await,
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            for line in error.lines() {
                eprintln!("error: {}", settings::redact_env_urls(line));
            }
            cli::exit_code(&error)
        }
    }
}
