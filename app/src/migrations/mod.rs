//! The migrations this build knows and how they compare with a database's history.
//!
//! Files come from `migrations/`, embedded at compile time by `sqlx::migrate!`, or from a
//! directory read at run time (`migrate --source DIR`, used by tests and tooling). Both go
//! through the same checks. Nothing here changes a database: applying and reverting lives in
//! the `migrate` binary only.

mod checks;
mod claims;
mod history;
mod source;
pub mod sql_text;
mod status;

use std::path::PathBuf;

pub use checks::{FileProblem, FileProblems};
pub use claims::claimed_tables;
pub use history::{AppliedMigration, read_history};
pub use source::{FileName, Role};
pub use status::{State, StatusEntry, StatusReport};

/// The project's migrations, embedded in sqlx's own format (same parsing, same checksums).
pub static EMBEDDED: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// One side (up or down) of a migration.
#[derive(Debug, Clone)]
pub struct Script {
    /// The file name, e.g. `20261121120000_create_jobs.up.sql`.
    pub file: String,
    pub sql: String,
    /// Starts with sqlx's `-- no-transaction` marker: runs outside a transaction.
    pub no_transaction: bool,
}

#[derive(Debug, Clone)]
pub struct Migration {
    pub version: i64,
    /// The snake_case name from the file name, e.g. `create_jobs`.
    pub name: String,
    pub up: Script,
    pub down: Option<Script>,
    /// SHA-384 of the up file's bytes, exactly as sqlx computes and stores it.
    pub checksum: Vec<u8>,
}

impl Migration {
    /// The description sqlx records in the history table: the name with spaces.
    pub fn description(&self) -> String {
        self.name.replace('_', " ")
    }

    /// `20261121120000_create_jobs`, for messages.
    pub fn label(&self) -> String {
        format!("{}_{}", self.version, self.name)
    }
}

/// Where a [`MigrationSet`] was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Embedded,
    Directory(PathBuf),
}

impl Origin {
    /// How to name one of its files in a message: `migrations/20261121120000_create_jobs.up.sql`.
    pub fn path_of(&self, file: &str) -> String {
        match self {
            Origin::Embedded => format!("migrations/{file}"),
            Origin::Directory(dir) => dir.join(file).display().to_string(),
        }
    }
}

/// A checked, version-ordered set of migrations.
#[derive(Debug, Clone)]
pub struct MigrationSet {
    migrations: Vec<Migration>,
    origin: Origin,
}

impl MigrationSet {
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.migrations.iter()
    }

    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    pub fn get(&self, version: i64) -> Option<&Migration> {
        self.migrations
            .binary_search_by_key(&version, |m| m.version)
            .ok()
            .map(|i| &self.migrations[i])
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}
