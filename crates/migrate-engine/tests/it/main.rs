//! The engine's integration tests: the `migrate` command line as an adopter builds it (the
//! crate documentation's example, `src/bin/migrate-example.rs`), run as a real process on
//! migration directories of the test's own (`--source`), each test on a database of its own.
//! The helpers every crate's tests share are in `test-support`.

mod audit;
mod concurrency;
mod connections;
mod crash;
mod file_checks;
mod fleet;
mod interrupt;
mod library;
mod live_traffic;
mod no_transaction;
mod quiet;
mod real_shapes;
mod recovery;
mod rehearse;
mod server_crash;
mod several_per_message;
mod single_transaction;
mod sqlx_fixtures;

use std::{path::Path, process::Command};

use test_support::{Binary, TestDb};

pub const MIGRATE: Binary = Binary(env!("CARGO_BIN_EXE_migrate-example"));

/// `migrate` on a database.
pub trait MigrateCommand {
    /// `migrate` with this database as `MIGRATION_DATABASE_URL`, reading `source` when given.
    fn migrate(&self, source: Option<&Path>) -> Command;
}

impl MigrateCommand for TestDb {
    fn migrate(&self, source: Option<&Path>) -> Command {
        MIGRATE.migrate_at(&self.url, source)
    }
}

/// `migrate` connecting with `url`, reading `source` when given.
pub fn migrate_at(url: &str, source: Option<&Path>) -> Command {
    MIGRATE.migrate_at(url, source)
}
