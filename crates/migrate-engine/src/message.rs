//! The text sent for migrations: each file and its history-table bookkeeping in one
//! transaction, and one simple-query message (one round trip) holding one or several such
//! transactions. PostgreSQL parses the whole message before running any of it, and commits
//! each transaction or none of it even if the client vanishes meanwhile, so a killed runner
//! leaves a migration either fully applied and recorded, or absent.
//!
//! Only the last commit of a run waits for the WAL to reach the disk; it takes every earlier
//! one with it, so when `migrate` exits 0 all of them are durable, and a crash of the server
//! before can lose only the last few migrations, each whole.

use std::time::Duration;

/// Per-transaction settings put in front of the migration SQL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub lock_timeout: Duration,
    pub statement_timeout: Option<Duration>,
}

impl Limits {
    /// `SET` statements for these limits; `scope` is `LOCAL` inside a transaction, or empty.
    pub fn set_statements(&self, scope: &str) -> String {
        let mut sql = format!(
            "SET {scope} lock_timeout = '{}ms';\n",
            self.lock_timeout.as_millis()
        );
        if let Some(timeout) = self.statement_timeout {
            sql += &format!(
                "SET {scope} statement_timeout = '{}ms';\n",
                timeout.as_millis()
            );
        }
        sql
    }
}

/// Marks when a migration starts, for [`EXECUTION_TIME_NANOS`]: `statement_timestamp()` is the
/// same for every statement of a message, and a message may hold several migrations.
const MARK_START: &str =
    "SELECT set_config('migrate.started_at', extract(epoch FROM clock_timestamp())::text, true);\n";

/// The time since the last [`MARK_START`], in nanoseconds as sqlx records it; the message's
/// start if a migration reset the mark (`RESET ALL`).
pub(crate) const EXECUTION_TIME_NANOS: &str = "((extract(epoch FROM clock_timestamp()) \
     - coalesce(nullif(current_setting('migrate.started_at', true), '')::numeric, extract(epoch FROM statement_timestamp()))) \
     * 1000000000)::bigint";

/// Where one migration's SQL sits in a message, in characters (PostgreSQL's error positions
/// count characters, 1-based, from the start of the message).
#[derive(Debug, Clone)]
struct Span {
    index: usize,
    start: usize,
    end: usize,
}

/// A message under construction.
#[derive(Debug, Default)]
pub(crate) struct Message {
    sql: String,
    chars: usize,
    spans: Vec<Span>,
}

/// Where an error position falls: which migration of the message, and which line of its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Located {
    pub index: usize,
    pub line: usize,
}

impl Message {
    /// Starts a transaction with its limits. Unless it is `durable`, its commit returns before
    /// its WAL reaches the disk: a later durable commit flushes it too, and a crash before that
    /// loses it whole, with its history row.
    pub fn begin(&mut self, limits: &Limits, durable: bool) {
        self.push("BEGIN;\n");
        self.push(&limits.set_statements("LOCAL"));
        if !durable {
            self.push("SET LOCAL synchronous_commit = off;\n");
        }
    }

    pub fn push(&mut self, text: &str) {
        self.sql.push_str(text);
        self.chars += text.chars().count();
    }

    /// Adds migration `index`'s SQL, ended so that a trailing comment or a missing `;` cannot
    /// swallow what follows.
    pub fn push_migration(&mut self, index: usize, sql: &str) {
        self.push(MARK_START);
        let start = self.chars + 1;
        self.push(sql);
        self.spans.push(Span {
            index,
            start,
            end: self.chars,
        });
        self.push("\n;\n");
    }

    pub fn commit(&mut self) {
        self.push("COMMIT;\n");
    }

    /// Maps a 1-based character position in the message to a migration and a line of its file.
    pub fn locate(&self, position: usize, text_of: impl Fn(usize) -> String) -> Option<Located> {
        let span = self
            .spans
            .iter()
            .find(|s| (s.start..=s.end).contains(&position))?;
        Some(Located {
            index: span.index,
            line: line_of(&text_of(span.index), position - span.start),
        })
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }
}

/// The 1-based line of character offset `offset` (0-based) in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    1 + text.chars().take(offset).filter(|&c| c == '\n').count()
}

/// A SQL string literal (standard-conforming strings: only `'` needs doubling).
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        lock_timeout: Duration::from_secs(2),
        statement_timeout: None,
    };

    fn message(files: &[&str], between: &str) -> Message {
        let mut message = Message::default();
        message.begin(&LIMITS, true);
        for (i, sql) in files.iter().enumerate() {
            message.push_migration(i, sql);
            message.push(between);
        }
        message.commit();
        message
    }

    #[test]
    fn positions_map_back_to_file_lines() {
        let files = [
            "CREATE TABLE a (x int);\n",
            "-- second\nCREATE TABLE b (y int);\nSELEC 1;\n",
        ];
        let message = message(&files, "INSERT INTO h VALUES (1);\n");
        let position = message.sql().find("SELEC 1").unwrap() + 1; // ASCII: bytes == chars
        let located = message.locate(position, |i| files[i].to_owned());
        assert_eq!(located, Some(Located { index: 1, line: 3 }));
        assert_eq!(
            message.locate(1, |i| files[i].to_owned()),
            None,
            "BEGIN is not in a file"
        );
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let file = "-- é ü\nSELEC 1;\n";
        let message = message(&[file], "");
        let byte = message.sql().find("SELEC 1").unwrap();
        let char_position = message.sql()[..byte].chars().count() + 1;
        assert_eq!(
            message.locate(char_position, |_| file.to_owned()),
            Some(Located { index: 0, line: 2 })
        );
        assert_eq!(line_of("é\nx", 2), 2);
    }

    #[test]
    fn a_trailing_comment_cannot_swallow_the_bookkeeping() {
        let message = message(
            &["SELECT 1; -- no newline at the end"],
            "INSERT INTO h VALUES (1);\n",
        );
        assert!(
            message
                .sql()
                .contains("-- no newline at the end\n;\nINSERT"),
            "{}",
            message.sql()
        );
    }

    #[test]
    fn literals_double_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
    }
}
