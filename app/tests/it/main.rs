//! The app's integration tests: its three binaries as real processes (`migrate`, `api`,
//! `worker`) on this project's migrations, each test on a database of its own. What the engine
//! does on any set of migrations is tested in `crates/migrate-engine/tests/`; the helpers every
//! crate's tests share are in `test-support`.

mod baseline;
mod herd;
mod jobs_flow;
mod logs;
mod migrate_cli;
mod roles;
mod schema_gate;
mod sqlx_compat;
mod tls;

use std::{hash::Hasher, path::Path, process::Command};

use migrate_engine::MigrationSet;
use test_support::{Binary, TestDb, run};

pub const MIGRATE: Binary = Binary(env!("CARGO_BIN_EXE_migrate"));
pub const API: Binary = Binary(env!("CARGO_BIN_EXE_api"));
pub const WORKER: Binary = Binary(env!("CARGO_BIN_EXE_worker"));

/// `migrate` on a database.
pub trait MigrateCommand {
    /// `migrate` with this database as `MIGRATION_DATABASE_URL`, reading `source` when given.
    fn migrate(&self, source: Option<&Path>) -> Command;
}

impl MigrateCommand for TestDb {
    fn migrate(&self, source: Option<&Path>) -> Command {
        migrate_at(&self.url, source)
    }
}

/// `migrate` connecting with `url`, reading `source` when given.
pub fn migrate_at(url: &str, source: Option<&Path>) -> Command {
    MIGRATE.migrate_at(url, source)
}

/// This build's migrations.
pub fn embedded() -> MigrationSet {
    app::MIGRATIONS
        .migration_set()
        .expect("the project's migrations pass every check")
}

/// A database with every migration of this build applied, copied from a template built once
/// per set of migrations with the real `migrate`.
pub async fn migrated() -> TestDb {
    let mut key = std::hash::DefaultHasher::new();
    for migration in embedded().iter() {
        key.write_i64(migration.version);
        key.write(&migration.checksum);
        key.write(
            migration
                .down
                .as_ref()
                .map_or(&b""[..], |d| d.sql.as_bytes()),
        );
    }
    TestDb::from_template(key.finish(), |url| {
        run(migrate_at(url, None).arg("up")).assert_code(0);
    })
    .await
}
