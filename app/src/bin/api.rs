//! `api`: the HTTP server. It never migrates: it answers `/health` at once, then waits at the
//! schema gate (`/ready` says why) and serves the jobs api once the schema is there.

use std::{future::IntoFuture, net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context;
use app::{
    api::{self, AppState},
    config::{self, DatabaseSettings},
    duration,
    jobs::JobStore,
    migrations::MigrationSet,
    probes::Readiness,
    schema_gate::{self, GateStatus},
    shutdown, telemetry,
};
use clap::Parser;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;

#[derive(Debug, Parser)]
#[command(about = "The HTTP api. Reads DATABASE_URL (the runtime role); never migrates.")]
struct Args {
    /// Address to listen on (port 0 picks a free port; the log says which).
    #[arg(long, env = "APP_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Give up (exit 1) when the schema is not there after this long.
    #[arg(long, env = "SCHEMA_WAIT_TIMEOUT", default_value = "5m", value_parser = duration::parse)]
    schema_wait_timeout: Duration,
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
    let migrations = Arc::new(MigrationSet::embedded()?);
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(settings.connect_options("api"));
    let (gate, gate_status) = watch::channel(GateStatus::DatabaseUnreachable);
    let state = AppState {
        jobs: JobStore::new(pool.clone()),
        readiness: Readiness::new(pool.clone(), migrations.clone(), gate_status),
    };

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(
        database = settings.redacted_url(),
        "api listening on http://{}",
        listener.local_addr()?
    );
    let (stop, mut stopped) = watch::channel(false);
    let mut server = tokio::spawn(
        axum::serve(listener, api::router(state))
            .with_graceful_shutdown(async move {
                tokio::select! {
                    () = shutdown::signal() => {}
                    _ = stopped.changed() => {}
                }
            })
            .into_future(),
    );

    tokio::select! {
        passed = schema_gate::wait_for_schema(&pool, &migrations, args.schema_wait_timeout, &gate) => {
            if let Err(refused) = passed {
                let _ = stop.send(true);
                let _ = server.await;
                return Err(refused.into());
            }
        }
        served = &mut server => {
            served??; // asked to stop while waiting for the schema
            return Ok(());
        }
    }
    server.await??;
    tracing::info!("api stopped");
    Ok(())
}
