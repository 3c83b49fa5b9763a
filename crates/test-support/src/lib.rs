//! What the integration tests of every crate share, so that each test binary reads as the
//! behaviour it checks:
//!
//! - [`TestDb`]: a database of its own for each test, dropped when it ends (tests run in
//!   parallel on one server), empty or copied from a migrated template;
//! - [`Migrations`]: a directory of migration files, in a project-like temporary directory;
//! - [`Binary`] and [`run`]: a binary of the workspace as a real process, isolated from the
//!   developer's environment, and what it said;
//! - [`spawned`]: a binary left running, whose log the test waits on;
//! - [`http`], [`roles`], [`pgbouncer`]: an HTTP client for spawned services, the roles of
//!   `ops/roles.sql`, a real PgBouncer in front of a test database;
//! - [`cluster`], [`tls`]: a server of the test's own, to crash or to speak TLS.
//!
//! Tests need a PostgreSQL server where they may create databases: `TEST_DATABASE_URL`
//! (`cargo xtask test` sets it), else `DATABASE_URL`.

pub mod cluster;
mod db;
mod files;
pub mod http;
mod latch;
pub mod pgbouncer;
mod process;
pub mod roles;
pub mod spawned;
mod template;
pub mod tls;

use std::{
    future::Future,
    path::{Path, PathBuf},
    time::Duration,
};

pub use db::{TestDb, admin_blocking};
pub use files::Migrations;
pub use latch::Latch;
/// A client program (`pg_dump`) that works with the tests' server.
pub use pg_cluster::find_client as client_tool;
pub use process::{Binary, Run, run};

/// How long a test waits for a state before it fails: a bound for failures, never a pace.
/// Tests wait for what they can observe; on a busy machine that takes longer, never this long.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `check` until it holds; fails, naming `what`, after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up after {PATIENCE:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The server the tests may create databases on.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .expect(
            "these tests need PostgreSQL: run `cargo xtask test`, or set TEST_DATABASE_URL to a \
             server where they may create databases",
        )
}

/// `url` with another database.
pub fn with_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("a database URL");
    parsed.set_path(database);
    parsed.to_string()
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/test-support is two levels down")
        .to_owned()
}
