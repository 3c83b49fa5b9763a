//! `worker`: runs queued jobs. It never migrates.

use std::{process::ExitCode, time::Duration};

use app::{
    config::{self, DatabaseSettings},
    jobs::JobStore,
    shutdown, telemetry,
    worker::{self, WorkerSettings},
};
use clap::Parser;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;

#[derive(Debug, Parser)]
#[command(about = "Runs background jobs. Reads DATABASE_URL (the runtime role).")]
struct Args {
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
    let db = DatabaseSettings::for_runtime()?;
    let settings = WorkerSettings {
        id: args.id.unwrap_or_else(default_worker_id),
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        lease: Duration::from_secs(args.lease_secs.max(1)),
        retry_base: Duration::from_millis(args.retry_base_ms),
    };
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(db.connect_options("worker"));
    tracing::info!(database = db.redacted_url(), "worker connecting");

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown::signal().await;
        let _ = stop_tx.send(true);
    });
    worker::run_until_stopped(JobStore::new(pool), settings, stop_rx).await;
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
