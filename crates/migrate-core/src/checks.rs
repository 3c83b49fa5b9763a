//! What a migration's text may get wrong although sqlx applies it: CRLF line endings, no
//! statement at all, a misplaced `-- no-transaction`, several statements where PostgreSQL can
//! only run one outside a transaction, statements that end the transaction each migration
//! runs in. `migrate` warns about these before applying a file; `cargo xtask migrate-lint`
//! refuses them in new files.

use crate::{NO_TRANSACTION_MARKER, sql_text};

/// Statements that end or start a transaction. Each migration runs in a transaction with its
/// history row, so one of these commits part of it without the row.
const TRANSACTION_CONTROL: &[&str] = &["BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"];

/// What a file's text says about itself, for the runner and for the messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// One line each, without the file name.
    pub warnings: Vec<String>,
    /// It starts or ends transactions itself: it must be sent on its own.
    pub controls_transactions: bool,
}

/// The findings for `sql`; `crlf_ignored` when the checksum leaves `\r` out (`ignored-chars`).
pub fn check(sql: &str, crlf_ignored: bool) -> Findings {
    let mut findings = Findings::default();
    let warnings = &mut findings.warnings;
    if sql.contains('\r') && !crlf_ignored {
        warnings.push(
            "has CRLF line endings; its checksum covers them, so a checkout with other line endings \
             would count as an edit (convert it to LF, or add \"\\r\" to ignored-chars in sqlx.toml)"
                .to_owned(),
        );
    }
    let no_transaction = sql.starts_with(NO_TRANSACTION_MARKER);
    if !no_transaction
        && let Some(line) = sql
            .lines()
            .position(|l| l.trim().eq_ignore_ascii_case(NO_TRANSACTION_MARKER))
    {
        warnings.push(format!(
            "`{NO_TRANSACTION_MARKER}` on line {} has no effect: it must be the file's very first bytes",
            line + 1
        ));
    }
    let statements = sql_text::statements(sql);
    if statements.is_empty() {
        warnings.push("holds no SQL statement; write the migration or delete the file".to_owned());
        return findings;
    }
    if no_transaction {
        if statements.len() > 1 {
            let lines: Vec<String> = statements.iter().map(|s| s.line.to_string()).collect();
            warnings.push(format!(
                "a `{NO_TRANSACTION_MARKER}` migration should hold exactly one statement, found {} (lines {}): \
                 PostgreSQL runs several in one implicit transaction, which CREATE INDEX CONCURRENTLY refuses; \
                 split it into one migration per statement",
                statements.len(),
                lines.join(", ")
            ));
        }
        return findings;
    }
    for statement in &statements {
        let is_control = match statement.keywords.as_slice() {
            [first, second, ..]
                if first == "ROLLBACK" && (second == "TO" || second == "PREPARED") =>
            {
                false
            }
            [first, ..] if first == "PREPARE" => statement
                .keywords
                .get(1)
                .is_some_and(|k| k == "TRANSACTION"),
            [first, ..] => TRANSACTION_CONTROL.contains(&first.as_str()),
            [] => false,
        };
        if is_control {
            findings.controls_transactions = true;
            warnings.push(format!(
                "line {}: `{}` controls the transaction that each migration already runs in with its history \
                 row, so part of the migration commits without it; remove it, or start the file with \
                 `{NO_TRANSACTION_MARKER}`",
                statement.line,
                statement.keywords.join(" ")
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::check;

    fn warnings(sql: &str) -> Vec<String> {
        check(sql, false).warnings
    }

    #[test]
    fn a_plain_migration_passes() {
        assert!(warnings("-- add a table\nCREATE TABLE t (id int);\n").is_empty());
    }

    #[test]
    fn empty_and_comment_only_files_are_reported() {
        for sql in ["", "\n\n", "-- Add up migration script here\n"] {
            let found = warnings(sql);
            assert!(found[0].contains("no SQL statement"), "{sql:?}: {found:?}");
        }
    }

    #[test]
    fn crlf_is_reported_unless_the_checksum_ignores_it() {
        assert!(warnings("CREATE TABLE t (id int);\r\n")[0].contains("CRLF"));
        assert!(
            check("CREATE TABLE t (id int);\r\n", true)
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn no_transaction_files_hold_one_statement() {
        assert!(warnings("-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);\n").is_empty());
        let found =
            warnings("-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);\nSELECT 1;\n");
        assert!(found[0].contains("found 2 (lines 2, 3)"), "{found:?}");
    }

    #[test]
    fn a_misplaced_marker_is_reported() {
        let found =
            warnings("-- index\n-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);\n");
        assert!(found[0].contains("on line 2 has no effect"), "{found:?}");
    }

    #[test]
    fn transaction_control_is_reported_with_its_line() {
        let findings = check("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n", false);
        assert!(findings.controls_transactions);
        assert_eq!(findings.warnings.len(), 2, "{findings:?}");
        assert!(
            findings.warnings[0].starts_with("line 1: `BEGIN`"),
            "{findings:?}"
        );
        assert!(
            findings.warnings[1].starts_with("line 3: `COMMIT`"),
            "{findings:?}"
        );
    }

    #[test]
    fn savepoints_and_function_bodies_are_not_transaction_control() {
        let sql = "SAVEPOINT a;\nROLLBACK TO SAVEPOINT a;\nDO $$ BEGIN PERFORM 1; END $$;\n";
        assert_eq!(check(sql, false), Default::default());
    }
}
