//! Reading migration files, embedded or from a directory, into a [`MigrationSet`].

use std::{borrow::Cow, collections::BTreeMap, fs, path::Path};

use sqlx::{SqlSafeStr, migrate::MigrationType};

use super::{
    EMBEDDED, Migration, MigrationSet, Origin, Script,
    checks::{self, FileProblem, FileProblems},
};

/// The sqlx marker that must open a file to run it outside a transaction.
pub const NO_TRANSACTION_MARKER: &str = "-- no-transaction";

/// Every file name in `migrations/` at build time (written by `build.rs`).
const EMBEDDED_FILE_NAMES: &[&str] = include!(concat!(env!("OUT_DIR"), "/migration_file_names.rs"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// `<version>_<name>.up.sql`
    Up,
    /// `<version>_<name>.down.sql`
    Down,
    /// `<version>_<name>.sql`: sqlx's irreversible single-file form.
    Simple,
}

/// A parsed migration file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    pub version: i64,
    pub name: String,
    pub role: Role,
}

impl FileName {
    /// Parses `<version>_<name>.up.sql`, `.down.sql` or `.sql`, with a positive integer
    /// version and a name of letters, digits and underscores.
    pub fn parse(file: &str) -> Result<Self, String> {
        let expected = "expected <version>_<name>.up.sql or .down.sql, e.g. \
                        20261121120000_create_jobs.up.sql (`cargo xtask migrate-create NAME` writes them)";
        let (stem, role) = if let Some(stem) = file.strip_suffix(".up.sql") {
            (stem, Role::Up)
        } else if let Some(stem) = file.strip_suffix(".down.sql") {
            (stem, Role::Down)
        } else if let Some(stem) = file.strip_suffix(".sql") {
            (stem, Role::Simple)
        } else {
            return Err(format!("not a migration file name; {expected}"));
        };
        let Some((version, name)) = stem.split_once('_') else {
            return Err(format!("no `_` between version and name; {expected}"));
        };
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("version `{version}` is not a number; {expected}"));
        }
        let version: i64 = match version.parse() {
            Ok(v) if v > 0 => v,
            _ => {
                return Err(format!(
                    "version `{version}` must be a positive 64-bit integer"
                ));
            }
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "name `{name}` may only hold letters, digits and underscores; {expected}"
            ));
        }
        Ok(Self {
            version,
            name: name.to_owned(),
            role,
        })
    }

    fn sqlx_type(&self) -> MigrationType {
        match self.role {
            Role::Up => MigrationType::ReversibleUp,
            Role::Down => MigrationType::ReversibleDown,
            Role::Simple => MigrationType::Simple,
        }
    }
}

/// A file as found, before checks. `content` is `Err` when it could not be read as text.
pub(super) struct RawFile {
    pub name: String,
    pub content: Result<String, String>,
}

impl MigrationSet {
    /// The migrations embedded in this binary by `sqlx::migrate!`.
    pub fn embedded() -> Result<Self, FileProblems> {
        let files = EMBEDDED_FILE_NAMES
            .iter()
            .map(|&name| {
                let content = FileName::parse(name).ok().and_then(|parsed| {
                    let description = parsed.name.replace('_', " ");
                    EMBEDDED
                        .iter()
                        .find(|m| {
                            m.version == parsed.version
                                && m.migration_type == parsed.sqlx_type()
                                && m.description == description
                        })
                        .map(|m| m.sql.as_str().to_owned())
                });
                RawFile {
                    name: name.to_owned(),
                    content: content.ok_or_else(|| {
                        "not embedded by sqlx::migrate!; rebuild the binary".to_owned()
                    }),
                }
            })
            .collect();
        assemble(files, Origin::Embedded)
    }

    /// Reads every file of `dir` (hidden files excepted) at run time.
    pub fn from_dir(dir: &Path) -> Result<Self, FileProblems> {
        let unreadable = |e: std::io::Error| {
            FileProblems(vec![FileProblem::new(
                dir.display().to_string(),
                format!("cannot read the migrations directory: {e}"),
            )])
        };
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let content = fs::read(entry.path())
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|bytes| {
                    String::from_utf8(bytes).map_err(|_| "is not valid UTF-8 text".to_owned())
                });
            files.push(RawFile { name, content });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        assemble(files, Origin::Directory(dir.to_owned()))
    }
}

/// Pairs up and down files by version and runs every check; all problems are reported at once.
fn assemble(files: Vec<RawFile>, origin: Origin) -> Result<MigrationSet, FileProblems> {
    let display = |file: &str| origin.path_of(file);
    let mut problems = Vec::new();
    let mut by_version: BTreeMap<i64, BTreeMap<Role, Vec<(FileName, Script)>>> = BTreeMap::new();

    for file in files {
        let parsed = match FileName::parse(&file.name) {
            Ok(parsed) => parsed,
            Err(reason) => {
                problems.push(FileProblem::new(display(&file.name), reason));
                continue;
            }
        };
        let sql = match file.content {
            Ok(sql) => sql,
            Err(reason) => {
                problems.push(FileProblem::new(display(&file.name), reason));
                continue;
            }
        };
        for message in checks::check_script(&sql) {
            problems.push(FileProblem::new(display(&file.name), message));
        }
        let script = Script {
            no_transaction: sql.starts_with(NO_TRANSACTION_MARKER),
            file: file.name,
            sql,
        };
        by_version
            .entry(parsed.version)
            .or_default()
            .entry(parsed.role)
            .or_default()
            .push((parsed, script));
    }

    let mut migrations = Vec::new();
    for (version, mut roles) in by_version {
        let files_of = |role: Role, roles: &BTreeMap<Role, Vec<(FileName, Script)>>| {
            roles
                .get(&role)
                .into_iter()
                .flatten()
                .map(|(_, s)| s.file.clone())
                .collect::<Vec<_>>()
        };
        let mut ups = files_of(Role::Up, &roles);
        ups.extend(files_of(Role::Simple, &roles));
        let downs = files_of(Role::Down, &roles);
        if ups.len() > 1 || downs.len() > 1 {
            let all: Vec<String> = ups.iter().chain(&downs).cloned().collect();
            problems.push(FileProblem::new(
                display(&all[all.len() - 1]),
                format!(
                    "version {version} is used by several files ({}); give each migration its own version",
                    all.join(", ")
                ),
            ));
            continue;
        }
        let up = roles
            .remove(&Role::Up)
            .or_else(|| roles.remove(&Role::Simple));
        let down = roles.remove(&Role::Down).and_then(|mut v| v.pop());
        let Some((up_name, up)) = up.and_then(|mut v| v.pop()) else {
            let (down_name, down) = down.expect("a version is only recorded with a file");
            problems.push(FileProblem::new(
                display(&down.file),
                format!(
                    "has no matching up file; add {version}_{}.up.sql or delete this file",
                    down_name.name
                ),
            ));
            continue;
        };
        if let Some((down_name, down)) = &down {
            let mismatch = if up_name.role == Role::Simple {
                Some(format!(
                    "belongs to the single-file migration {}; rename that to .up.sql or delete this file",
                    up.file
                ))
            } else if up_name.name != down_name.name {
                Some(format!(
                    "does not match its up file {}; rename this file to {version}_{}.down.sql",
                    up.file, up_name.name
                ))
            } else {
                None
            };
            if let Some(message) = mismatch {
                problems.push(FileProblem::new(display(&down.file), message));
                continue;
            }
        }
        let checksum = sqlx::migrate::Migration::new(
            version,
            Cow::Owned(up_name.name.replace('_', " ")),
            up_name.sqlx_type(),
            sqlx::AssertSqlSafe(up.sql.clone()).into_sql_str(),
            up.no_transaction,
        )
        .checksum
        .into_owned();
        migrations.push(Migration {
            version,
            name: up_name.name,
            up,
            down: down.map(|(_, script)| script),
            checksum,
        });
    }

    if problems.is_empty() {
        Ok(MigrationSet { migrations, origin })
    } else {
        Err(FileProblems(problems))
    }
}
