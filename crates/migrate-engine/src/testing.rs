//! What the unit tests share: sets of migrations and history rows, made in memory.

use chrono::Utc;
use migrate_core::{Config, MigrationSet};

use crate::history::AppliedMigration;

/// A set from `(file name, SQL)` pairs, read as a directory would be.
pub fn set(files: &[(&str, &str)]) -> MigrationSet {
    MigrationSet::from_texts(files, Config::default()).expect("a valid set")
}

/// The history row of `version` of `set`, as `migrate up` writes it.
pub fn applied(set: &MigrationSet, version: i64) -> AppliedMigration {
    let m = set.get(version).expect("a version of the set");
    AppliedMigration {
        version,
        description: m.description(),
        installed_on: Utc::now(),
        success: true,
        checksum: m.checksum.clone(),
        execution_time: 1,
    }
}

/// A history row for a migration the set does not have.
pub fn foreign(version: i64, name: &str) -> AppliedMigration {
    AppliedMigration {
        version,
        description: name.replace('_', " "),
        installed_on: Utc::now(),
        success: true,
        checksum: vec![0; 48],
        execution_time: 1,
    }
}
