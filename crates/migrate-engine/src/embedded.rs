//! Migrations compiled into a binary: what `sqlx::migrate!` embedded (with the build's
//! `sqlx.toml`: history table, schemas, checksums), and what the build script saw beside it.

use std::collections::BTreeSet;

use migrate_core::{
    Config, FileName, FileProblem, FileProblems, MigrationSet, Origin, RawFile, TableName,
    name::Kind,
};

/// The build this binary comes from, recorded with every run that changes a schema.
#[derive(Debug, Clone, Copy)]
pub struct BuildInfo {
    /// The crate's version (`CARGO_PKG_VERSION`).
    pub version: &'static str,
    /// The git commit it was built from, or `unknown`.
    pub commit: &'static str,
}

/// A binary's embedded migrations; made by [`embedded!`](crate::embedded!).
#[derive(Debug)]
pub struct Embedded {
    /// What `sqlx::migrate!` embedded.
    pub migrator: &'static sqlx::migrate::Migrator,
    /// The directory, as messages name it (`migrations`).
    pub dir: &'static str,
    /// Every file name the build script found there.
    pub files: &'static [&'static str],
    /// `ignored-chars` of the build's `sqlx.toml` (the checksums already leave them out).
    pub ignored_chars: &'static str,
    /// The build the migrations were compiled into.
    pub build: BuildInfo,
}

/// The [`Embedded`] migrations of the calling crate: `sqlx::migrate!`'s set, and what
/// `migrate_core::build_script::embed_migrations` recorded in the crate's `build.rs`.
///
/// ```ignore
/// static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
/// static MIGRATIONS: migrate_engine::Embedded = migrate_engine::embedded!(&MIGRATOR);
/// ```
#[macro_export]
macro_rules! embedded {
    ($migrator:expr) => {{
        let (dir, files, ignored_chars): (&str, &[&str], &str) =
            include!(concat!(env!("OUT_DIR"), "/migrate_files.rs"));
        $crate::Embedded {
            migrator: $migrator,
            dir,
            files,
            ignored_chars,
            build: $crate::BuildInfo {
                version: env!("CARGO_PKG_VERSION"),
                commit: match option_env!("MIGRATE_GIT_COMMIT") {
                    Some(commit) => commit,
                    None => "unknown",
                },
            },
        }
    }};
}

impl Embedded {
    /// The checked set. A file the build script saw but sqlx did not embed is one that sqlx
    /// skips silently: it is named here rather than lost.
    pub fn migration_set(&self) -> Result<MigrationSet, FileProblems> {
        let config = Config {
            table: TableName::parse(&self.migrator.table_name).map_err(|e| {
                FileProblems(vec![FileProblem::new(
                    "sqlx.toml".to_owned(),
                    None,
                    format!("[migrate] table-name: {e}"),
                )])
            })?,
            create_schemas: self
                .migrator
                .create_schemas
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ignored_chars: self.ignored_chars.chars().collect::<BTreeSet<char>>(),
            ..Config::default()
        };
        let embedded = |name: &str| {
            let parsed = FileName::parse(name).ok()??;
            let description = parsed.description();
            self.migrator.iter().find(|m| {
                m.version == parsed.version
                    && m.description == description
                    && m.migration_type.is_up_migration() == parsed.kind.is_up()
                    && m.migration_type.is_reversible() == (parsed.kind != Kind::Simple)
            })
        };
        let files = self
            .files
            .iter()
            .map(|&name| {
                let found = embedded(name);
                RawFile {
                    name: name.to_owned(),
                    content: found.map(|m| m.sql.as_str().to_owned()).ok_or_else(|| {
                        "not embedded by sqlx::migrate!; rebuild the binary".to_owned()
                    }),
                    checksum: found.map(|m| m.checksum.to_vec()),
                }
            })
            .collect();
        MigrationSet::assemble(files, Origin::Embedded(self.dir.to_owned()), config)
    }
}
