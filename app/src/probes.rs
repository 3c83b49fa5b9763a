//! `/health` and `/ready`, served by the api and by each worker (on its `--listen` address), so
//! an orchestrator can probe every process the same way.

use std::{sync::Arc, time::Duration};

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::watch;

use migrate_engine::{
    MigrationSet,
    gate::{self, GateStatus},
};

/// How long `/ready` waits for the gate to notice a schema that has just become usable.
const GATE_CATCH_UP: Duration = Duration::from_secs(1);

/// What `/ready` needs: the gate's status, and the database to ask once it is open.
#[derive(Clone)]
pub struct Readiness {
    pool: PgPool,
    migrations: Arc<MigrationSet>,
    gate: watch::Receiver<GateStatus>,
}

impl Readiness {
    pub fn new(
        pool: PgPool,
        migrations: Arc<MigrationSet>,
        gate: watch::Receiver<GateStatus>,
    ) -> Self {
        Self {
            pool,
            migrations,
            gate,
        }
    }

    pub fn gate_is_open(&self) -> bool {
        *self.gate.borrow() == GateStatus::Open
    }
}

pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(readiness)
}

/// 200 while the process runs.
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 once the gate has passed and the database still answers with a usable schema; 503
/// with the reason of the moment otherwise: `database_unreachable`, `schema_behind` (and the
/// missing versions) or `schema_mismatch`.
async fn ready(State(readiness): State<Readiness>) -> (StatusCode, Json<Value>) {
    let checked = match readiness.pool.acquire().await {
        Ok(mut conn) => gate::check(&mut *conn, &readiness.migrations).await,
        Err(e) => Err(e),
    };
    let mut status = match checked {
        Ok(state) => state.gate_status(),
        Err(e) => {
            tracing::warn!("readiness: database unreachable: {e}");
            GateStatus::DatabaseUnreachable
        }
    };
    if status == GateStatus::Open && !readiness.gate_is_open() {
        // The schema just arrived and the gate is about to notice: give it a moment.
        let mut gate = readiness.gate.clone();
        let opened =
            tokio::time::timeout(GATE_CATCH_UP, gate.wait_for(|s| *s == GateStatus::Open)).await;
        if !matches!(opened, Ok(Ok(_))) {
            status = readiness.gate.borrow().clone();
        }
    }
    if status == GateStatus::Open {
        return (StatusCode::OK, Json(json!({ "status": "ready" })));
    }
    let mut body = serde_json::to_value(&status).expect("plain data serializes");
    body["status"] = json!("not_ready");
    (StatusCode::SERVICE_UNAVAILABLE, Json(body))
}
