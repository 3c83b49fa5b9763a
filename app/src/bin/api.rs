//! `api`: the HTTP server. It never migrates; `/ready` tells whether `migrate` has run.

use std::{net::SocketAddr, process::ExitCode, time::Duration};

use anyhow::Context;
use app::{
    api::{self, AppState},
    config::{self, DatabaseSettings},
    migrations::MigrationSet,
    shutdown, telemetry,
};
use clap::Parser;
use sqlx::postgres::PgPoolOptions;

#[derive(Debug, Parser)]
#[command(about = "The HTTP api. Reads DATABASE_URL (the runtime role).")]
struct Args {
    /// Address to listen on (port 0 picks a free port; the log says which).
    #[arg(long, env = "APP_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = config::load_dotenv() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let args = Args::parse();
    telemetry::init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let settings = DatabaseSettings::for_runtime()?;
    let migrations = MigrationSet::embedded()?;
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(settings.connect_options("api"));

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(
        database = settings.redacted_url(),
        "api listening on http://{}",
        listener.local_addr()?
    );

    axum::serve(listener, api::router(AppState::new(pool, migrations)))
        .with_graceful_shutdown(shutdown::signal())
        .await?;
    tracing::info!("api stopped");
    Ok(())
}
