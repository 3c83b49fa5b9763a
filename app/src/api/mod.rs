//! The HTTP api: the probes, and the jobs resource behind the schema gate.

mod error;
mod jobs;

use axum::{
    Json, Router,
    extract::{Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;

use crate::{
    jobs::JobStore,
    probes::{self, Readiness},
};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub jobs: JobStore,
    pub readiness: Readiness,
}

pub fn router(state: AppState) -> Router {
    let jobs = Router::new()
        .route("/jobs", post(jobs::create))
        .route("/jobs/{id}", get(jobs::show))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_open_gate,
        ))
        .with_state(state.clone());
    probes::router(state.readiness).merge(jobs)
}

/// Until the schema gate passes, the api serves nothing but its probes.
async fn require_open_gate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.readiness.gate_is_open() {
        return next.run(request).await;
    }
    let body = json!({ "error": "not ready: waiting for the database schema (see /ready)" });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}
