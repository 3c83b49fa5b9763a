//! What the api and the worker do alike before they serve: `.env`, arguments and logging; a
//! lazy pool as the runtime role (`DATABASE_URL`); and the wait at the schema gate for this
//! build's migrations.

use std::{future::Future, process::ExitCode, sync::Arc, time::Duration};

use clap::{Args, Parser};
use migrate_engine::{
    MigrationSet,
    gate::{self, GateError, GateStatus, SchemaState},
    settings::{self, DatabaseSettings},
    shutdown::Shutdown,
    telemetry,
};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio::sync::watch;

/// `main` of a service: installs the signal handlers (first, so that a stop requested while it
/// starts is a clean stop), loads `.env`, parses `A`, starts logging, then runs `run` on a
/// multi-threaded runtime; its error is logged and the process exits with 1.
pub fn main<A, F>(run: impl FnOnce(A, Shutdown) -> F) -> ExitCode
where
    A: Parser,
    F: Future<Output = anyhow::Result<()>>,
{
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let shutdown = {
        let _entered = runtime.enter();
        Shutdown::install().expect("signal handlers install")
    };
    if let Err(e) = settings::load_dotenv() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let args = A::parse();
    if let Err(e) = telemetry::init() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let outcome = runtime.block_on(run(args, shutdown));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The schema gate's flags, shared by the api and the worker.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// Give up (exit 1) when the schema is not there after this long.
    #[arg(long, env = "SCHEMA_WAIT_TIMEOUT", default_value = "5m", value_parser = humantime::parse_duration)]
    pub schema_wait_timeout: Duration,
    /// While migrations are pending, look again this often; `migrate`'s notification wakes
    /// the process sooner, where it gets through (not across a transaction pooler).
    #[arg(long, env = "SCHEMA_POLL_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub schema_poll_interval: Duration,
}

/// The database as a service uses it.
pub struct Database {
    pub settings: DatabaseSettings,
    pub pool: PgPool,
    /// This build's migrations, which the gate compares with the history.
    pub migrations: Arc<MigrationSet>,
}

impl Database {
    /// A pool of at most `max_connections`, named `application_name`, connecting on first use.
    pub fn connect_lazy(application_name: &str, max_connections: u32) -> anyhow::Result<Self> {
        let settings = DatabaseSettings::for_runtime()?;
        let migrations = Arc::new(crate::MIGRATIONS.migration_set()?);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(settings.connect_options(application_name));
        Ok(Self {
            settings,
            pool,
            migrations,
        })
    }

    /// Waits at the schema gate (see [`gate::wait_for_schema`]), publishing on `status`.
    pub async fn wait_for_schema(
        &self,
        gate: &GateArgs,
        status: &watch::Sender<GateStatus>,
    ) -> Result<SchemaState, GateError> {
        gate::wait_for_schema(
            &self.pool,
            &self.settings,
            &self.migrations,
            gate::Patience {
                timeout: gate.schema_wait_timeout,
                poll: gate.schema_poll_interval,
            },
            status,
        )
        .await
    }
}
