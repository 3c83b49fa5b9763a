//! `api`: the HTTP server. It never migrates: it answers `/health` at once, then waits at the
//! schema gate (`/ready` says why) and serves the jobs api once the schema is there.

use std::{future::IntoFuture, net::SocketAddr, process::ExitCode};

use anyhow::Context;
use app::{
    api::{self, AppState},
    jobs::JobStore,
    probes::Readiness,
    service::{self, Database, GateArgs},
};
use clap::Parser;
use migrate_engine::{gate::GateStatus, shutdown::Shutdown};
use tokio::sync::watch;

#[derive(Debug, Parser)]
#[command(about = "The HTTP api. Reads DATABASE_URL (the runtime role); never migrates.")]
struct Args {
    /// Address to listen on (port 0 picks a free port; the log says which).
    #[arg(long, env = "APP_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    gate: GateArgs,
}

fn main() -> ExitCode {
    service::main(run)
}

async fn run(args: Args, shutdown: Shutdown) -> anyhow::Result<()> {
    let db = Database::connect_lazy("api", 10)?;
    let (gate, gate_status) = watch::channel(GateStatus::DatabaseUnreachable);
    let state = AppState {
        jobs: JobStore::new(db.pool.clone()),
        readiness: Readiness::new(db.pool.clone(), db.migrations.clone(), gate_status),
    };

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(
        database = db.settings.redacted_url(),
        "api listening on http://{}",
        listener.local_addr()?
    );
    let stop = shutdown.clone();
    let mut server = tokio::spawn(
        axum::serve(listener, api::router(state))
            .with_graceful_shutdown(async move {
                stop.wait().await;
            })
            .into_future(),
    );

    tokio::select! {
        passed = db.wait_for_schema(&args.gate, &gate) => {
            if let Err(refused) = passed {
                shutdown.request("the schema gate refused");
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
