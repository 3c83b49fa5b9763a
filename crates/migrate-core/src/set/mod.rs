//! A checked, version-ordered set of migrations, from a directory read at run time or from
//! files embedded at build time (the engine hands those over as [`RawFile`]s).
//!
//! Files are paired and checked as sqlx reads them: whatever sqlx applies is accepted, with a
//! warning when something in it deserves one; what sqlx would skip silently, or refuse, is a
//! problem that stops everything before a database is touched.

mod assemble;

use std::{fs, path::Path};

use crate::{
    config::Config,
    name::Kind,
    problems::{FileProblem, FileProblems},
};

/// One side (up or down) of a migration.
#[derive(Debug, Clone)]
pub struct Script {
    /// The file name, e.g. `20261121120000_create_jobs.up.sql`.
    pub file: String,
    pub sql: String,
    /// Starts with sqlx's `-- no-transaction` marker: runs outside a transaction.
    pub no_transaction: bool,
    /// Starts or ends transactions itself (see [`checks`]): sent on its own.
    pub controls_transactions: bool,
}

/// A migration: its up file (or single file), and its down file when it has one.
#[derive(Debug, Clone)]
pub struct Migration {
    pub version: i64,
    /// The name from the file name, as written (`create_jobs`, `follow-accept-id`).
    pub name: String,
    /// [`Kind::Up`] or [`Kind::Simple`].
    pub kind: Kind,
    pub up: Script,
    pub down: Option<Script>,
    /// sqlx's checksum of the up file, as recorded in the history table.
    pub checksum: Vec<u8>,
}

impl Migration {
    /// The description sqlx records in the history table.
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
    /// Embedded at build time from this directory (as the crate names it, e.g. `migrations`).
    Embedded(String),
    Directory(std::path::PathBuf),
}

impl Origin {
    /// How messages name one of its files: `migrations/20261121120000_create_jobs.up.sql`.
    pub fn path_of(&self, file: &str) -> String {
        match self {
            Origin::Embedded(dir) => format!("{dir}/{file}"),
            Origin::Directory(dir) => dir.join(file).display().to_string(),
        }
    }
}

/// A file as found, before any check.
#[derive(Debug, Clone)]
pub struct RawFile {
    pub name: String,
    /// The text, or why it could not be read as text.
    pub content: Result<String, String>,
    /// The checksum computed when the file was embedded; computed here when `None`.
    pub checksum: Option<Vec<u8>>,
}

/// A checked, version-ordered set of migrations, with the configuration it was read with.
#[derive(Debug, Clone)]
pub struct MigrationSet {
    migrations: Vec<Migration>,
    origin: Origin,
    config: Config,
    warnings: Vec<FileProblem>,
}

impl MigrationSet {
    /// Reads every file of `dir` (hidden files and directories excepted).
    pub fn from_dir(dir: &Path, config: Config) -> Result<Self, FileProblems> {
        let unreadable = |e: std::io::Error| {
            FileProblems(vec![FileProblem::new(
                dir.display().to_string(),
                None,
                format!("cannot read the migrations directory: {e}"),
            )])
        };
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || entry.path().is_dir() {
                continue;
            }
            let content = fs::read(entry.path())
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|bytes| {
                    String::from_utf8(bytes).map_err(|_| {
                        "is not valid UTF-8 text (sqlx cannot read it either)".to_owned()
                    })
                });
            files.push(RawFile {
                name,
                content,
                checksum: None,
            });
        }
        Self::assemble(files, Origin::Directory(dir.to_owned()), config)
    }

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

    /// How messages name a file of this set.
    pub fn path_of(&self, script: &Script) -> String {
        self.origin.path_of(&script.file)
    }

    /// The configuration the set was read with (history table, schemas, checksums).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What deserves a word although sqlx applies it; [`FileProblem::version`] says whose.
    pub fn warnings(&self) -> &[FileProblem] {
        &self.warnings
    }

    /// A set from `(file name, text)` pairs held in memory, checked as the files of a
    /// `migrations` directory would be.
    pub fn from_texts(files: &[(&str, &str)], config: Config) -> Result<Self, FileProblems> {
        let files = files
            .iter()
            .map(|(name, sql)| RawFile {
                name: (*name).to_owned(),
                content: Ok((*sql).to_owned()),
                checksum: None,
            })
            .collect();
        Self::assemble(files, Origin::Embedded("migrations".into()), config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(files: &[(&str, &str)]) -> Result<MigrationSet, FileProblems> {
        MigrationSet::from_texts(files, Config::default())
    }

    #[test]
    fn everything_sqlx_applies_is_accepted() {
        let set = set(&[
            ("0_setup.sql", "CREATE SCHEMA app;\n"),
            ("1_follow-accept-id.up.sql", "CREATE TABLE a (id int);\n"),
            ("1_follow-accept-id.down.sql", "DROP TABLE a;\n"),
            ("2_crlf.sql", "CREATE TABLE b (id int);\r\n"),
            ("3_empty.up.sql", "-- nothing\n"),
            ("4_orphan.down.sql", "DROP TABLE x;\n"),
        ])
        .unwrap();
        let versions: Vec<i64> = set.iter().map(|m| m.version).collect();
        assert_eq!(versions, [0, 1, 2, 3]);
        assert_eq!(set.get(1).unwrap().description(), "follow-accept-id");
        assert!(set.get(1).unwrap().down.is_some());
        let warned: Vec<String> = set.warnings().iter().map(ToString::to_string).collect();
        assert_eq!(warned.len(), 3, "{warned:?}");
        assert!(
            warned[0].starts_with("migrations/2_crlf.sql: has CRLF"),
            "{warned:?}"
        );
        assert!(
            warned[2].starts_with("migrations/4_orphan.down.sql: has no up file"),
            "{warned:?}"
        );
    }

    #[test]
    fn what_sqlx_skips_or_refuses_stops_everything() {
        let problems = set(&[
            ("1_a.up.sql", "SELECT 1;\n"),
            ("2-b.up.sql", "SELECT 1;\n"),
            ("x_c.sql", "SELECT 1;\n"),
            ("3_d.up.sql", "SELECT 1;\n"),
            ("3_e.up.sql", "SELECT 1;\n"),
        ])
        .unwrap_err();
        let lines: Vec<String> = problems.0.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("migrations/2-b.up.sql: is not a migration file name"),
            "{lines:?}"
        );
        assert!(
            lines[1].contains("`x` is not a 64-bit integer"),
            "{lines:?}"
        );
        assert!(
            lines[2].contains("version 3 is used by several files (3_d.up.sql, 3_e.up.sql)"),
            "{lines:?}"
        );
    }
}
