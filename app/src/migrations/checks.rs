//! Checks on a migration file's text, run before anything touches a database.

use super::{source::NO_TRANSACTION_MARKER, sql_text};

/// One thing wrong with one file: printed as `<file>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub file: String,
    pub message: String,
}

impl FileProblem {
    pub fn new(file: String, message: impl Into<String>) -> Self {
        Self {
            file,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// Every problem found in a set of files; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblems(pub Vec<FileProblem>);

impl std::fmt::Display for FileProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FileProblems {}

/// Statements that end or start a transaction. The runner wraps every migration in its own
/// transaction (with the history row), so one of these would split it in two.
const TRANSACTION_CONTROL: &[&str] = &["BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"];

/// The problems of one file's text; empty when it is fine.
pub(super) fn check_script(sql: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if sql.contains('\r') {
        problems.push(
            "has CRLF line endings; convert it to LF (checksums cover the exact bytes; \
             .gitattributes keeps *.sql as LF)"
                .to_owned(),
        );
    }
    let no_transaction = sql.starts_with(NO_TRANSACTION_MARKER);
    if !no_transaction
        && let Some(line) = sql
            .lines()
            .position(|l| l.trim().eq_ignore_ascii_case(NO_TRANSACTION_MARKER))
    {
        problems.push(format!(
            "`{NO_TRANSACTION_MARKER}` on line {} has no effect: it must be the file's very first bytes",
            line + 1
        ));
    }

    let statements = sql_text::statements(sql);
    if statements.is_empty() {
        problems.push("holds no SQL statement; write the migration or delete the file".to_owned());
        return problems;
    }
    if no_transaction {
        if statements.len() > 1 {
            let lines: Vec<String> = statements.iter().map(|s| s.line.to_string()).collect();
            problems.push(format!(
                "a `{NO_TRANSACTION_MARKER}` migration must hold exactly one statement, found {} (lines {}); \
                 PostgreSQL runs several in one implicit transaction. Split it into one migration per statement",
                statements.len(),
                lines.join(", ")
            ));
        }
    } else {
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
                problems.push(format!(
                    "line {}: `{}` controls the transaction, but each migration already runs in one \
                     (with its history row); remove it, or start the file with `{NO_TRANSACTION_MARKER}`",
                    statement.line,
                    statement.keywords.join(" ")
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::check_script;

    #[test]
    fn a_plain_migration_passes() {
        assert!(check_script("-- add a table\nCREATE TABLE t (id int);\n").is_empty());
    }

    #[test]
    fn empty_and_comment_only_files_are_refused() {
        for sql in ["", "\n\n", "-- Add up migration script here\n"] {
            let problems = check_script(sql);
            assert!(
                problems[0].contains("no SQL statement"),
                "{sql:?}: {problems:?}"
            );
        }
    }

    #[test]
    fn crlf_is_refused() {
        let problems = check_script("CREATE TABLE t (id int);\r\n");
        assert!(problems[0].contains("CRLF"), "{problems:?}");
    }

    #[test]
    fn no_transaction_files_hold_one_statement() {
        assert!(
            check_script("-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);\n").is_empty()
        );
        let problems =
            check_script("-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);\nSELECT 1;\n");
        assert!(problems[0].contains("found 2 (lines 2, 3)"), "{problems:?}");
    }

    #[test]
    fn a_misplaced_marker_is_refused() {
        let problems =
            check_script("-- index\n-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);\n");
        assert!(
            problems[0].contains("on line 2 has no effect"),
            "{problems:?}"
        );
    }

    #[test]
    fn transaction_control_is_refused_with_its_line() {
        let problems = check_script("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("line 1: `BEGIN`"), "{problems:?}");
        assert!(problems[1].starts_with("line 3: `COMMIT`"), "{problems:?}");
    }

    #[test]
    fn savepoints_and_function_bodies_are_not_transaction_control() {
        let sql = "SAVEPOINT a;\nROLLBACK TO SAVEPOINT a;\nDO $$ BEGIN PERFORM 1; END $$;\n";
        assert!(check_script(sql).is_empty(), "{:?}", check_script(sql));
    }
}
