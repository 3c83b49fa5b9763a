//! `POST /jobs` and `GET /jobs/{id}`.

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, error::ApiError};
use crate::jobs::{DEFAULT_MAX_ATTEMPTS, Job, JobKind, MAX_ATTEMPTS_LIMIT};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    kind: String,
    #[serde(default = "empty_object")]
    payload: Value,
    max_attempts: Option<i32>,
}

fn empty_object() -> Value {
    json!({})
}

pub async fn create(
    State(state): State<AppState>,
    body: Result<Json<NewJob>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(new) = body.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let kind = JobKind::parse(&new.kind).ok_or_else(|| {
        let known: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::Invalid(format!(
            "unknown job kind {:?}; known kinds: {}",
            new.kind,
            known.join(", ")
        ))
    })?;
    kind.validate(&new.payload)
        .map_err(|e| ApiError::Invalid(format!("{} job: {e}", kind.as_str())))?;
    let max_attempts = new.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
    if !(1..=MAX_ATTEMPTS_LIMIT).contains(&max_attempts) {
        return Err(ApiError::Invalid(format!(
            "max_attempts must be 1..={MAX_ATTEMPTS_LIMIT}"
        )));
    }
    let id = state
        .jobs
        .enqueue(kind.as_str(), &new.payload, max_attempts)
        .await?;
    tracing::info!(job = id, kind = kind.as_str(), "job queued");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "status": "queued" })),
    ))
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Job>, ApiError> {
    state
        .jobs
        .find(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("job {id} not found")))
}
