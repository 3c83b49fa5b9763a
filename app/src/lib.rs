//! The application shared by three binaries:
//!
//! - `api` (`src/bin/api.rs`): the HTTP api, [`api`];
//! - `worker` (`src/bin/worker.rs`): the background job runner, [`worker`];
//! - `migrate` (`src/bin/migrate.rs`): the one entrypoint that changes the schema.
//!
//! The api and workers only read the migration history, through the engine's schema gate
//! ([`migrate_engine::gate`]); applying, reverting and baselining are reachable from `migrate`
//! alone (clippy's `disallowed-methods` in `clippy.toml` keeps it so).

pub mod api;
pub mod jobs;
pub mod probes;
pub mod service;
pub mod worker;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// This build's migrations (`migrations/`), embedded at compile time.
pub static MIGRATIONS: migrate_engine::Embedded = migrate_engine::embedded!(&MIGRATOR);
