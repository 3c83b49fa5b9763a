//! `migrate-create NAME`: a new migration whose version is newer than every existing one.
//!
//! Its shape follows `[migrate.defaults]` of the app's `sqlx.toml`, as `sqlx migrate add`
//! does: a reversible pair (up and down files) or a single file, like the newest existing
//! migration unless configured; a UTC timestamp (`YYYYMMDDHHMMSS`) for a version, or the next
//! number when the versions are sequential. The version is decided while holding a lock on
//! the directory: two creates in the same second, even at the same moment, get distinct ones.

use std::{
    collections::BTreeMap,
    fs::{self, File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use migrate_core::{
    FileName, Kind,
    config::{Defaults, MigrationType, Versioning},
    name::check_new_name,
    version,
};
use xshell::Shell;

use crate::{flags, project_config, project_root};

impl flags::MigrateCreate {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let defaults = project_config()?.defaults;
        let files = create(
            &project_root().join("migrations"),
            &self.name,
            Utc::now(),
            defaults,
        )?;
        for path in files {
            println!(
                "created {}",
                path.strip_prefix(project_root()).unwrap_or(&path).display()
            );
        }
        eprintln!(
            "write the migration (and its revert, or delete the down file), then `cargo xtask migrate-up`"
        );
        Ok(())
    }
}

/// Writes the new migration in `dir` and returns its files' paths.
pub fn create(
    dir: &Path,
    name: &str,
    now: DateTime<Utc>,
    defaults: Defaults,
) -> anyhow::Result<Vec<PathBuf>> {
    check_new_name(name).map_err(anyhow::Error::msg)?;
    // Held until the files exist, so concurrent creates see each other's versions.
    let lock = File::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", dir.display()))?;

    // Existing migrations by version: whether each is reversible.
    let mut existing: BTreeMap<i64, bool> = BTreeMap::new();
    for entry in fs::read_dir(dir)? {
        let file = entry?.file_name().to_string_lossy().into_owned();
        let Ok(Some(parsed)) = FileName::parse(&file) else {
            continue;
        };
        if parsed.name == name {
            bail!(
                "a migration named {name:?} already exists ({file}); choose a name that says what this one changes"
            );
        }
        *existing.entry(parsed.version).or_default() |= parsed.kind != Kind::Simple;
    }
    let newest: Vec<i64> = existing.keys().rev().take(2).copied().collect();
    let version = next_version(&newest, defaults.migration_versioning, now);
    let reversible = match defaults.migration_type {
        MigrationType::Reversible => true,
        MigrationType::Simple => false,
        MigrationType::Inferred => existing
            .values()
            .next_back()
            .is_none_or(|&reversible| reversible),
    };

    let shown = version.to_string();
    let mut created = Vec::new();
    if reversible {
        created.push(write_new(
            dir,
            &shown,
            name,
            Kind::Up,
            "-- Runs in one transaction with its history row. A statement that cannot run in a\n\
             -- transaction (CREATE INDEX CONCURRENTLY) needs `-- no-transaction` as the very first line,\n\
             -- and must be alone in its file.\n\n",
        )?);
        created.push(write_new(
            dir,
            &shown,
            name,
            Kind::Down,
            "-- Undo exactly what the up file does.\n\
             -- If it cannot be undone, delete this file: the migration is then irreversible.\n\n",
        )?);
    } else {
        created.push(write_new(
            dir,
            &shown,
            name,
            Kind::Simple,
            "-- Runs in one transaction with its history row; it cannot be reverted.\n\n",
        )?);
    }
    Ok(created)
}

/// A version, as its file name writes it.
pub struct Version {
    pub number: i64,
    /// Sequential versions are written with four digits at least (`0012`).
    pub sequential: bool,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.sequential {
            true => write!(f, "{:04}", self.number),
            false => write!(f, "{}", self.number),
        }
    }
}

/// The version after the `newest` ones (newest first, two at most): the next number when
/// versions are sequential (configured, or inferred from the last two), else the UTC time
/// `now` as `YYYYMMDDHHMMSS`, and in any case newer than the newest.
pub fn next_version(newest: &[i64], versioning: Versioning, now: DateTime<Utc>) -> Version {
    let sequential = match versioning {
        Versioning::Sequential => true,
        Versioning::Timestamp => false,
        Versioning::Inferred => match newest {
            [latest, previous, ..] => latest - previous == 1,
            [only] => matches!(only, 0 | 1),
            [] => false,
        },
    };
    let number = match newest.first() {
        Some(&latest) if sequential => latest + 1,
        None if sequential => 1,
        latest => version::utc(now).max(latest.map_or(0, |v| v + 1)),
    };
    Version { number, sequential }
}

fn write_new(
    dir: &Path,
    version: &str,
    name: &str,
    kind: Kind,
    guide: &str,
) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("{version}_{name}{}", kind.suffix()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(format!("-- {version} {name}\n{guide}").as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(unix, 0).unwrap()
    }

    fn names(files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    const NOW: i64 = 1_795_268_096; // 2026-11-21 13:34:56 UTC

    #[test]
    fn two_creates_in_the_same_second_get_distinct_increasing_versions() {
        let dir = tempfile::tempdir().unwrap();
        let first = create(dir.path(), "create_users", at(NOW), Defaults::default()).unwrap();
        let second = create(dir.path(), "add_users_email", at(NOW), Defaults::default()).unwrap();
        assert_eq!(
            names(&first),
            [
                "20261121133456_create_users.up.sql",
                "20261121133456_create_users.down.sql"
            ]
        );
        assert_eq!(names(&second)[0], "20261121133457_add_users_email.up.sql");
    }

    #[test]
    fn a_version_is_newer_than_every_existing_one_even_with_a_slow_clock() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("20991231235959_from_the_future.up.sql"),
            "SELECT 1;\n",
        )
        .unwrap();
        let files = create(dir.path(), "create_users", at(NOW), Defaults::default()).unwrap();
        assert_eq!(names(&files)[0], "20991231235960_create_users.up.sql");
    }

    #[test]
    fn sqlx_toml_defaults_shape_the_new_migration() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("0001_create_users.sql"), "SELECT 1;\n").unwrap();
        fs::write(dir.path().join("0002_add_users_email.sql"), "SELECT 1;\n").unwrap();
        let inferred = create(dir.path(), "add_users_name", at(NOW), Defaults::default()).unwrap();
        assert_eq!(
            names(&inferred),
            ["0003_add_users_name.sql"],
            "sequential and simple, like the others"
        );
        let configured = Defaults {
            migration_type: MigrationType::Reversible,
            migration_versioning: Versioning::Timestamp,
        };
        let files = create(dir.path(), "add_users_age", at(NOW), configured).unwrap();
        assert_eq!(
            names(&files),
            [
                "20261121133456_add_users_age.up.sql",
                "20261121133456_add_users_age.down.sql"
            ]
        );
    }

    #[test]
    fn concurrent_creates_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let dir = dir.path().to_owned();
                std::thread::spawn(move || {
                    create(
                        &dir,
                        &format!("create_table_{i}"),
                        at(NOW),
                        Defaults::default(),
                    )
                    .unwrap()
                })
            })
            .collect();
        let mut versions: Vec<String> = threads
            .into_iter()
            .map(|t| names(&t.join().unwrap())[0][..14].to_owned())
            .collect();
        versions.sort();
        versions.dedup();
        assert_eq!(versions.len(), 8, "{versions:?}");
    }

    #[test]
    fn a_bad_or_duplicate_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), "create_users", at(NOW), Defaults::default()).unwrap();
        let err = create(dir.path(), "create_users", at(NOW + 4), Defaults::default()).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        let err = create(dir.path(), "misc", at(NOW), Defaults::default()).unwrap_err();
        assert!(
            err.to_string().contains("does not say what changes"),
            "{err}"
        );
    }
}
