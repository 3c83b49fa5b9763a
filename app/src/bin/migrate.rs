//! `migrate`: the release-phase command and the only place migrations are applied or reverted.
//! The engine does the work (`migrate_engine`); this is its entrypoint for this build's
//! migrations: the flags, one line per problem, the exit code.

use std::process::ExitCode;

use clap::Parser;
use migrate_engine::{cli, settings, telemetry};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Before parsing, so that `.env` can hold MIGRATE_* settings too.
    let dotenv = settings::load_dotenv();
    let cli = cli::Cli::parse();
    telemetry::init();
    #[expect(
        clippy::disallowed_methods,
        reason = "migrate is the one entrypoint that migrates"
    )]
    let outcome = match dotenv {
        Ok(()) => cli.run(&app::MIGRATIONS).await,
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
