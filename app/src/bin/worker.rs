//! `worker`: runs queued jobs. It never migrates: it waits at the schema gate, claiming no job
//! until the schema is there. `--listen` serves `/health` and `/ready` for probes.

use std::{future::IntoFuture, net::SocketAddr, process::ExitCode, time::Duration};

use anyhow::Context;
use app::{
    jobs::JobStore,
    probes::{self, Readiness},
    service::{self, Database, GateArgs},
    worker::{self, WorkerSettings},
};
use clap::Parser;
use migrate_engine::{gate::GateStatus, shutdown::Shutdown};
use tokio::sync::watch;

#[derive(Debug, Parser)]
#[command(about = "Runs background jobs. Reads DATABASE_URL (the runtime role); never migrates.")]
struct Args {
    /// Serve /health and /ready on this address (port 0 picks a free port; the log says which).
    #[arg(long, env = "WORKER_LISTEN")]
    listen: Option<SocketAddr>,
    /// Name recorded on the jobs this worker holds (default: <hostname>-<pid>).
    #[arg(long, env = "WORKER_ID")]
    id: Option<String>,
    /// Pause between looks at an empty queue, in milliseconds.
    #[arg(long, env = "WORKER_POLL_INTERVAL_MS", default_value_t = 500)]
    poll_interval_ms: u64,
    /// How long a claimed job is reserved for this worker, in seconds.
    #[arg(long, env = "WORKER_LEASE_SECS", default_value_t = 60)]
    lease_secs: u64,
    /// Delay before the first retry of a failed job, in milliseconds (doubles each attempt).
    #[arg(long, env = "WORKER_RETRY_BASE_MS", default_value_t = 1000)]
    retry_base_ms: u64,
    #[command(flatten)]
    gate: GateArgs,
}

fn main() -> ExitCode {
    service::main(run)
}

async fn run(args: Args, shutdown: Shutdown) -> anyhow::Result<()> {
    let settings = WorkerSettings {
        id: args.id.unwrap_or_else(default_worker_id),
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        lease: Duration::from_secs(args.lease_secs.max(1)),
        retry_base: Duration::from_millis(args.retry_base_ms),
    };
    let db = Database::connect_lazy("worker", 2)?;
    tracing::info!(database = db.settings.redacted_url(), worker = %settings.id, "worker starting");

    let (gate, gate_status) = watch::channel(GateStatus::DatabaseUnreachable);
    let probe_server = match args.listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            tracing::info!(
                "worker probes listening on http://{}",
                listener.local_addr()?
            );
            let readiness = Readiness::new(db.pool.clone(), db.migrations.clone(), gate_status);
            let stop = shutdown.clone();
            Some(tokio::spawn(
                axum::serve(listener, probes::router(readiness))
                    .with_graceful_shutdown(async move {
                        stop.wait().await;
                    })
                    .into_future(),
            ))
        }
        None => None,
    };

    let passed = tokio::select! {
        passed = db.wait_for_schema(&args.gate, &gate) => passed,
        _ = shutdown.wait() => {
            tracing::info!("stopped while waiting for the schema");
            return Ok(());
        }
    };
    if let Err(refused) = passed {
        shutdown.request("the schema gate refused");
        return Err(refused.into());
    }
    worker::run_until_stopped(JobStore::new(db.pool), settings, &shutdown).await;
    if let Some(server) = probe_server {
        server.await??;
    }
    Ok(())
}

fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    format!("{host}-{}", std::process::id())
}
