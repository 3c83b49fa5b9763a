//! This application's service, and what replaces `sqlx::migrate!().run(&pool).await?` in its
//! `main`: the schema gate. The service never migrates (`migrate up` does, once per release, as
//! the migrator); it waits until the database holds every migration it was built with, answering
//! `/ready` with 503 meanwhile, then serves.

use std::time::Duration;

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use migrate_engine::{
    Embedded,
    gate::{self, GateStatus, Patience},
    settings::DatabaseSettings,
    shutdown::Shutdown,
    telemetry,
};
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();
static MIGRATIONS: Embedded = migrate_engine::embedded!(&MIGRATOR);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // First: a stop requested while it starts is a clean stop.
    let shutdown = Shutdown::install()?;
    telemetry::init().map_err(anyhow::Error::msg)?;
    // DATABASE_URL: the runtime role, which reads the history and cannot change the schema.
    let settings = DatabaseSettings::for_runtime()?;
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .connect_lazy_with(settings.connect_options("adopter"));

    let (status, readiness) = watch::channel(GateStatus::DatabaseUnreachable);
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/ready", get(ready))
        .with_state(readiness);
    let stop = shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                stop.wait().await;
            })
            .await
    });

    // Where `sqlx::migrate!().run(&pool)` was: wait for `migrate up` instead.
    let patience = Patience {
        timeout: Duration::from_secs(300),
        poll: Duration::from_secs(5),
    };
    let set = MIGRATIONS.migration_set()?;
    tokio::select! {
        passed = gate::wait_for_schema(&pool, &settings, &set, patience, &status) => { passed?; }
        _ = shutdown.wait() => return Ok(()),
    }
    // ... the application's own work, until it is told to stop.
    shutdown.wait().await;
    server.await??;
    Ok(())
}

/// 200 once the gate has passed; 503 with where it is, before.
async fn ready(
    State(readiness): State<watch::Receiver<GateStatus>>,
) -> (StatusCode, Json<GateStatus>) {
    let status = readiness.borrow().clone();
    let code = if status == GateStatus::Open {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(status))
}
