//! `migrate-lint`: squawk (a maintained PostgreSQL migration linter, pinned, installed under
//! `target/tools/`) on new and changed up migrations, for changes that break running clients
//! or lock busy tables: dropped or renamed columns and tables, NOT NULL without a default,
//! type changes, indexes built without CONCURRENTLY on existing tables, and more.
//!
//! An intentional one is allowed with a marker and a reason, on the line before the statement:
//! `-- squawk-ignore ban-drop-column: column unused since release 12`.
//!
//! New and changed files must also pass the checks `migrate` only warns about, since sqlx
//! applies such files: CRLF endings, transaction control, an empty file, a misplaced
//! `-- no-transaction`, a down file without its up file.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use migrate_core::{FileName, MigrationSet, NO_TRANSACTION_MARKER, markers::markers};
use pg_cluster::process;
use xshell::{Shell, cmd};

use crate::{Source, flags, git, project_root, tools::pypi};

const PG_VERSION: &str = "15";

/// Rules left out, and why.
const EXCLUDED: &[(&str, &str)] = &[
    (
        "require-lock-timeout",
        "migrate sets lock_timeout for every migration (--lock-timeout)",
    ),
    (
        "require-statement-timeout",
        "migrate sets statement_timeout when asked (--statement-timeout)",
    ),
    (
        "prefer-robust-stmts",
        "each migration runs once and atomically; IF NOT EXISTS would record the INVALID index a failed \
         CREATE INDEX CONCURRENTLY leaves as applied",
    ),
    (
        "prefer-bigint-over-int",
        "a style choice, not a deployment hazard",
    ),
];

impl flags::MigrateLint {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let source = Source::from_flag(self.source);
        let files = if self.all {
            migration_files(&source.dir)?
        } else {
            match git::base(sh, &source.dir, self.against.as_deref())? {
                Ok(base) => {
                    let changed: Vec<PathBuf> = git::changes(sh, &base)?
                        .into_iter()
                        .filter(|(status, _)| matches!(status, 'A' | 'M' | 'T' | '?'))
                        .map(|(_, path)| base.top.join(path))
                        .collect();
                    if changed.is_empty() {
                        eprintln!(
                            "migrate-lint: no new or changed migrations against {}",
                            base.git_ref
                        );
                        return Ok(());
                    }
                    changed
                }
                Err(why) if self.against.is_none() => {
                    eprintln!("migrate-lint: {why}; linting every migration");
                    migration_files(&source.dir)?
                }
                Err(why) => bail!("{why}"),
            }
        };
        let findings = lint_files(sh, &source, &files)?;
        if !findings.is_empty() {
            for finding in &findings {
                eprintln!("{finding}");
            }
            bail!(
                "migrate-lint: {} finding(s) in {} file(s). Make the change safe, or, when it is intended, \
                 put `-- squawk-ignore <rule>: <reason>` on the line before the statement",
                findings.len(),
                files.len()
            );
        }
        eprintln!("migrate-lint: {} file(s) clean", files.len());
        Ok(())
    }
}

/// What is wrong with `files` (of `source`): what sqlx would accept but a new migration must
/// not do (CRLF, a stray COMMIT, ...), then squawk's findings on the up files.
pub fn lint_files(sh: &Shell, source: &Source, files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let set = MigrationSet::from_dir(&source.dir, source.config()?)?;
    let mut findings: Vec<String> = set
        .warnings()
        .iter()
        .filter(|w| {
            files
                .iter()
                .any(|f| Path::new(&w.file).file_name() == f.file_name())
        })
        .map(ToString::to_string)
        .collect();
    let squawk = pypi::SQUAWK.install(sh)?;
    for file in files.iter().filter(|f| is_up_file(f)) {
        findings.extend(lint(sh, &squawk, file)?);
    }
    Ok(findings)
}

/// The findings for one file: missing reasons first, then squawk's, with 1-based lines.
fn lint(sh: &Shell, squawk: &Path, file: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let shown = file
        .strip_prefix(project_root())
        .unwrap_or(file)
        .display()
        .to_string();
    let (for_squawk, mut findings) = strip_reasons(&text, &shown);
    let excluded = EXCLUDED
        .iter()
        .map(|(rule, _)| *rule)
        .collect::<Vec<_>>()
        .join(",");
    let transaction =
        (!text.starts_with(NO_TRANSACTION_MARKER)).then_some("--assume-in-transaction");
    let output = process::pipe(
        cmd!(
            sh,
            "{squawk} --stdin-filepath {shown} --pg-version {PG_VERSION} --exclude {excluded} {transaction...} --reporter gcc"
        ),
        &for_squawk,
    )?;
    // `path:line:column: warning: rule message`, lines counted from 0.
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut parts = line.splitn(4, ':');
        match (
            parts.next(),
            parts.next().and_then(|l| l.trim().parse::<usize>().ok()),
            parts.next(),
            parts.next(),
        ) {
            (Some(path), Some(number), Some(_), Some(rest)) => {
                findings.push(format!(
                    "{path}:{}: {}",
                    number + 1,
                    rest.trim().trim_start_matches("warning: ")
                ));
            }
            _ if !line.trim().is_empty() => findings.push(format!("{shown}: {line}")),
            _ => {}
        }
    }
    if findings.is_empty() && !output.status.success() {
        bail!(
            "squawk failed on {shown}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(findings)
}

/// squawk knows `-- squawk-ignore rule` but not the reason this project requires after it:
/// returns the text with reasons removed (lines kept in place), and a finding for each marker
/// that has none.
fn strip_reasons(text: &str, shown: &str) -> (String, Vec<String>) {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut findings = Vec::new();
    for marker in markers(text, "squawk") {
        let rules = marker.rules.join(", ");
        if !marker.has_reason() {
            findings.push(format!(
                "{shown}:{}: `squawk-ignore {rules}` needs a reason: `-- squawk-ignore {rules}: <why this is safe here>`",
                marker.line
            ));
        }
        let line = &mut lines[marker.line - 1];
        *line = format!("{}squawk-ignore {rules}", &line[..marker.column]);
    }
    (lines.join("\n") + "\n", findings)
}

/// A file sqlx applies: an up or single-file migration.
fn is_up_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    matches!(FileName::parse(&name), Ok(Some(parsed)) if parsed.kind.is_up())
}

/// Every file of the directory that names a migration.
fn migration_files(source: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(source)?
        .map(|e| Ok(e?.path()))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| matches!(FileName::parse(&n.to_string_lossy()), Ok(Some(_))))
        })
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::strip_reasons;

    #[test]
    fn reasons_are_required_and_hidden_from_squawk() {
        let text = "-- squawk-ignore ban-drop-column: column unused since release 12\nALTER TABLE t DROP COLUMN c;\n\
                    -- squawk-ignore renaming-column\nALTER TABLE t RENAME COLUMN a TO b;\n";
        let (for_squawk, findings) = strip_reasons(text, "m.up.sql");
        assert_eq!(
            for_squawk,
            "-- squawk-ignore ban-drop-column\nALTER TABLE t DROP COLUMN c;\n-- squawk-ignore renaming-column\nALTER TABLE t RENAME COLUMN a TO b;\n"
        );
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0].starts_with("m.up.sql:3: `squawk-ignore renaming-column` needs a reason"),
            "{findings:?}"
        );
    }
}
