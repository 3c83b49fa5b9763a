//! Probes for orchestrators: `/health` (the process runs) and `/ready` (it can serve).

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::AppState;
use crate::schema_gate::{self, SchemaState};

pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 when the database answers and holds every migration this build embeds; 503 with a
/// machine-readable reason otherwise.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match schema_gate::check(&state.pool, &state.migrations).await {
        Ok(schema) if schema.is_usable() => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(SchemaState::Behind { missing }) => not_ready(json!({
            "reason": "schema_behind",
            "missing": missing,
        })),
        Ok(SchemaState::Mismatch { reason }) => not_ready(json!({
            "reason": "schema_mismatch",
            "detail": reason,
        })),
        Ok(_) => unreachable!("usable states answered above"),
        Err(e) => {
            tracing::warn!("readiness: database unreachable: {e}");
            not_ready(json!({ "reason": "database_unreachable" }))
        }
    }
}

fn not_ready(body: Value) -> (StatusCode, Json<Value>) {
    let mut body = body;
    body["status"] = json!("not_ready");
    (StatusCode::SERVICE_UNAVAILABLE, Json(body))
}
