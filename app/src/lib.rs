//! The application shared by three binaries:
//!
//! - `api` (`src/bin/api.rs`): the HTTP api, [`api`];
//! - `worker` (`src/bin/worker.rs`): the background job runner, [`worker`];
//! - `migrate` (`src/bin/migrate/`): the one entrypoint that changes the schema.
//!
//! Nothing in this library applies or reverts a migration: that code lives in the `migrate`
//! binary alone, so the api and workers cannot reach it (and clippy's `disallowed-methods`
//! keeps sqlx's own migrator out of every crate).

pub mod api;
pub mod config;
pub mod duration;
pub mod jobs;
pub mod migrations;
pub mod probes;
pub mod schema_gate;
pub mod shutdown;
pub mod telemetry;
pub mod worker;
