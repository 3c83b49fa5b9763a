//! The migration engine: applies and reverts sqlx migrations, one runner at a time, safely on a
//! busy database, and keeps sqlx's history exactly as sqlx keeps it.
//!
//! - [`Engine`] holds the policy: it takes the migration lock (sqlx's own key, polled, never
//!   blocking), checks the history before changing anything, runs each migration in one
//!   transaction with its history row (consecutive ones share a round trip), retries a
//!   migration that waits too long for a table lock, and wakes the applications waiting for
//!   the schema.
//! - [`Session`] is the one dedicated connection it works on, refused when it goes through a
//!   transaction pooler.
//! - [`gate`] is the read side for applications: wait until the database holds every
//!   migration they were built with, never change it.
//! - [`rehearse`] applies every migration to tables that hold rows, on a scratch database,
//!   and reports failures, rewrites and long locks before production sees them.
//! - [`cli`] is the `migrate` command line; [`embedded!`] hands it the migrations
//!   `sqlx::migrate!` compiled in.
//!
//! Migration files are read and checked by `migrate-core`, exactly as sqlx reads them.
//!
//! # A `migrate` binary for your application
//!
//! `build.rs` records the migrations directory, and `src/bin/migrate.rs` is all the rest. Run
//! it once per release, before the api and workers; they wait at the [`gate`].
//!
//! ```no_run
//! // build.rs: fn main() { migrate_core::build_script::embed_migrations("migrations"); }
//! use std::process::ExitCode;
//!
//! use migrate_engine::Embedded;
//!
//! static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations"); // yours: sqlx::migrate!()
//! static MIGRATIONS: Embedded = migrate_engine::embedded!(&MIGRATOR);
//!
//! fn main() -> ExitCode {
//!     #[expect(clippy::disallowed_methods, reason = "this binary is the one entrypoint that migrates")]
//!     migrate_engine::cli::main(&MIGRATIONS)
//! }
//! ```
//!
//! [`cli::main`] reads `.env`, parses the flags, runs the command, prints one `error:` line per
//! problem and returns the exit code; a binary that wants to do more around it calls
//! [`cli::Cli::run`] instead.
//!
//! Only that binary should reach [`Engine::up`], [`Engine::down`], [`Engine::baseline`],
//! [`Engine::rehearse`], [`cli::main`] and [`cli::Cli::run`]: list them under `disallowed-methods` in
//! `clippy.toml`, as this workspace does, and the api and workers cannot call them unnoticed.

#![warn(missing_docs)]

mod audit;
mod baseline;
pub mod cli;
mod embedded;
mod engine;
mod error;
pub mod fleet;
pub mod gate;
mod history;
mod holder;
mod lock;
mod locked;
mod message;
mod plan;
mod refusal;
pub mod rehearse;
mod retry;
mod runner;
mod session;
pub mod settings;
pub mod shutdown;
mod status;
mod step;
pub mod telemetry;
#[cfg(test)]
mod testing;

pub use audit::{RunInfo, RunRecord, StepRecord};
pub use baseline::BaselineOptions;
pub use embedded::{BuildInfo, Embedded};
pub use engine::{Engine, Policy};
pub use error::{Error, ErrorKind, Result};
pub use migrate_core::{Config, FileProblems, Migration, MigrationSet};
pub use plan::{DownOptions, UpOptions};
pub use session::{KEEPALIVE_BOUND, Session};
pub use status::{State, StatusEntry, StatusReport};
