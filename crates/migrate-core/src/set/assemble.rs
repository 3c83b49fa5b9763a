//! Pairing files into migrations: every file sqlx would skip or refuse is a problem, every
//! file sqlx applies is accepted, with the warnings it deserves.

use std::collections::BTreeMap;

use super::{Migration, MigrationSet, Origin, RawFile, Script};
use crate::{
    NO_TRANSACTION_MARKER,
    checks::{self, Findings},
    checksum::checksum,
    config::Config,
    name::{FileName, Kind},
    problems::{FileProblem, FileProblems},
};

/// A file by version: its name, its text, its embedded checksum.
type Found = (FileName, Script, Option<Vec<u8>>);

impl MigrationSet {
    /// Pairs up and down files by version and checks them; every problem is reported at once.
    pub fn assemble(
        mut files: Vec<RawFile>,
        origin: Origin,
        config: Config,
    ) -> Result<Self, FileProblems> {
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let display = |file: &str| origin.path_of(file);
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let mut by_version: BTreeMap<i64, Vec<Found>> = BTreeMap::new();
        for file in files {
            let parsed = match FileName::parse(&file.name) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => {
                    problems.push(FileProblem::new(
                        display(&file.name),
                        None,
                        "is not a migration file name, so sqlx skips it without a word; name it \
                         <version>_<name>.up.sql (or .down.sql, .sql), or move it out of the directory",
                    ));
                    continue;
                }
                Err(reason) => {
                    problems.push(FileProblem::new(display(&file.name), None, reason));
                    continue;
                }
            };
            let sql = match file.content {
                Ok(sql) => sql,
                Err(reason) => {
                    problems.push(FileProblem::new(
                        display(&file.name),
                        Some(parsed.version),
                        reason,
                    ));
                    continue;
                }
            };
            let Findings {
                warnings: found,
                controls_transactions,
            } = checks::check(&sql, config.ignored_chars.contains(&'\r'));
            for message in found {
                warnings.push(FileProblem::new(
                    display(&file.name),
                    Some(parsed.version),
                    message,
                ));
            }
            let script = Script {
                no_transaction: sql.starts_with(NO_TRANSACTION_MARKER),
                controls_transactions,
                file: file.name,
                sql,
            };
            by_version
                .entry(parsed.version)
                .or_default()
                .push((parsed, script, file.checksum));
        }

        let mut migrations = Vec::new();
        for (version, files) in by_version {
            let (ups, downs): (Vec<_>, Vec<_>) =
                files.into_iter().partition(|(n, ..)| n.kind.is_up());
            if ups.len() > 1 || downs.len() > 1 {
                let names: Vec<&str> = ups
                    .iter()
                    .chain(&downs)
                    .map(|(_, s, _)| s.file.as_str())
                    .collect();
                problems.push(FileProblem::new(
                    display(names[names.len() - 1]),
                    Some(version),
                    format!(
                        "version {version} is used by several files ({}); give each migration its own version",
                        names.join(", ")
                    ),
                ));
                continue;
            }
            let down = downs.into_iter().next();
            let Some((up_name, up, embedded_checksum)) = ups.into_iter().next() else {
                if let Some((down_name, down, _)) = down {
                    warnings.push(FileProblem::new(
                        display(&down.file),
                        Some(version),
                        format!(
                            "has no up file, so it is never used; add {} or delete this file",
                            FileName::render(version, &down_name.name, Kind::Up)
                        ),
                    ));
                }
                continue;
            };
            if let Some((down_name, down, _)) = &down {
                let mismatch = if up_name.kind == Kind::Simple {
                    Some(format!(
                        "reverts the single-file migration {}; rename that to .up.sql to say it is reversible",
                        up.file
                    ))
                } else if up_name.name != down_name.name {
                    Some(format!(
                        "does not match its up file {}; rename it to {}",
                        up.file,
                        FileName::render(version, &up_name.name, Kind::Down)
                    ))
                } else {
                    None
                };
                if let Some(message) = mismatch {
                    warnings.push(FileProblem::new(
                        display(&down.file),
                        Some(version),
                        message,
                    ));
                }
            }
            let checksum =
                embedded_checksum.unwrap_or_else(|| checksum(&up.sql, &config.ignored_chars));
            migrations.push(Migration {
                version,
                name: up_name.name,
                kind: up_name.kind,
                up,
                down: down.map(|(_, script, _)| script),
                checksum,
            });
        }

        if problems.is_empty() {
            Ok(Self {
                migrations,
                origin,
                config,
                warnings,
            })
        } else {
            Err(FileProblems(problems))
        }
    }
}
