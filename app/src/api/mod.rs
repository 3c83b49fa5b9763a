//! The HTTP api: probes (`/health`, `/ready`) and the jobs resource.

mod error;
mod jobs;
mod probes;

use std::sync::Arc;

use axum::{
    Router,
    routing::{get, post},
};
use sqlx::PgPool;

use crate::{jobs::JobStore, migrations::MigrationSet};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub jobs: JobStore,
    pub migrations: Arc<MigrationSet>,
}

impl AppState {
    pub fn new(pool: PgPool, migrations: MigrationSet) -> Self {
        Self {
            jobs: JobStore::new(pool.clone()),
            pool,
            migrations: Arc::new(migrations),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(probes::health))
        .route("/ready", get(probes::ready))
        .route("/jobs", post(jobs::create))
        .route("/jobs/{id}", get(jobs::show))
        .with_state(state)
}
