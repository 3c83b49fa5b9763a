//! Every text the runner sends to change a schema, assembled here and nowhere else: each
//! migration's transaction with its history row and audit row, and one simple-query message
//! (one round trip) holding one or several such transactions.
//!
//! PostgreSQL parses the whole message before running any of it, runs its transactions in
//! order, stops at the first error, and commits each transaction or none of it even if the
//! client vanishes meanwhile: a killed runner leaves each migration fully applied and recorded,
//! or absent. After each COMMIT the message asks for one row, named [`LANDED`], holding the
//! migration's execution time: rows arrive as transactions commit, so progress is logged as it
//! happens, with no second query.
//!
//! Only the last commit of a run waits for the WAL to reach the disk; it takes every earlier
//! one with it, so when `migrate` exits 0 all of them are durable, and a crash of the server
//! before can lose only the last few migrations, each whole.

mod statements;

pub(crate) use statements::Limits;

use migrate_core::Migration;
use statements::{EXECUTION_TIME, TOOK, audit_row, history_row, landed, set};

use crate::{
    audit::Run,
    history::HistoryTable,
    step::{Direction, Step},
};

/// The column of the row each committed step sends back: its execution time, in nanoseconds.
pub(crate) const LANDED: &str = "migrate_landed";

/// How each transaction is framed, and where its steps are recorded.
pub(crate) struct Frame<'a> {
    pub limits: Limits,
    pub history: &'a HistoryTable,
    /// The run of the audit trail, when there is one (not in a rehearsal).
    pub audit: Option<&'a Run>,
    /// Run before each COMMIT (the rehearsal notes the locks the transaction holds until then).
    pub before_commit: Option<&'static str>,
}

/// Where one migration's SQL sits in a message, in characters (PostgreSQL's error positions
/// count characters, 1-based, from the start of the message).
#[derive(Debug, Clone)]
struct Span {
    start: usize,
    end: usize,
}

/// A message: SQL text, and where each step's file sits in it.
#[derive(Debug, Default)]
pub(crate) struct Message {
    sql: String,
    chars: usize,
    spans: Vec<Span>,
    /// Settings for the transaction just begun, sent with the next step's start mark.
    settings: Vec<String>,
    /// A step committed and has not said so yet: the next statement says it.
    unsaid: bool,
}

/// Where an error position falls: which step of the message, and which line of its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Located {
    pub index: usize,
    pub line: usize,
}

impl Message {
    /// Each of `steps` in a transaction of its own. Their commits return before the WAL
    /// reaches the disk, except the last one's when it `ends_run`. `attempt` is the first
    /// step's (those after it are on their first).
    pub fn each(frame: &Frame<'_>, steps: &[Step<'_>], attempt: u32, ends_run: bool) -> Self {
        let mut message = Self::default();
        for (index, &step) in steps.iter().enumerate() {
            let durable = ends_run && index + 1 == steps.len();
            message.begin(frame, durable);
            message.run(step);
            let attempts = if index == 0 { attempt } else { 1 };
            message.record(frame, step, attempts, EXECUTION_TIME);
            message.commit(frame);
            message.unsaid = true;
        }
        message.say_landed();
        message
    }

    /// All of `steps` (applied, not reverted) in one transaction: all or nothing. After the
    /// COMMIT, the history sends back each one's execution time.
    pub fn together(frame: &Frame<'_>, steps: &[Step<'_>], attempt: u32) -> Self {
        debug_assert!(steps.iter().all(|s| matches!(s, Step::Apply(_))));
        let mut message = Self::default();
        message.begin(frame, true);
        for &step in steps {
            message.run(step);
            message.record(frame, step, attempt, EXECUTION_TIME);
        }
        message.commit(frame);
        let versions: Vec<String> = steps
            .iter()
            .map(|s| s.migration().version.to_string())
            .collect();
        message.push(&format!(
            "SELECT execution_time AS {LANDED} FROM {} WHERE version IN ({}) ORDER BY version;\n",
            frame.history.name,
            versions.join(", ")
        ));
        message
    }

    /// `migrations` recorded as applied without running them (a baseline).
    pub fn baseline(frame: &Frame<'_>, migrations: &[&Migration]) -> Self {
        let mut message = Self::default();
        message.push("BEGIN;\n");
        message.push(&frame.history.setup());
        for migration in migrations {
            message.push(&history_row(frame, Step::Apply(migration), "-1"));
            if let Some(run) = frame.audit {
                message.push(&audit_row(
                    run,
                    migration,
                    Direction::Baseline,
                    "-1",
                    1,
                    None,
                ));
            }
        }
        message.push("COMMIT;\n");
        message
    }

    /// Step `index` of `steps` as it runs inside a transaction begun elsewhere: for replaying
    /// them one by one, to find which one fails.
    pub fn trial(frame: &Frame<'_>, steps: &[Step<'_>], index: usize) -> String {
        let mut message = Self::default();
        message.run(steps[index]);
        message.record(frame, steps[index], 1, EXECUTION_TIME);
        message.sql
    }

    /// A `-- no-transaction` step's statement, alone.
    pub fn alone(step: Step<'_>) -> Self {
        let mut message = Self::default();
        message.run_unmarked(step);
        message
    }

    /// The bookkeeping of a `-- no-transaction` step that ran (its statement went alone:
    /// PostgreSQL wraps a longer message in a transaction), `nanos` after it started.
    pub fn after_alone(frame: &Frame<'_>, step: Step<'_>, nanos: u128) -> Self {
        let mut message = Self::default();
        message.push("BEGIN;\n");
        message.push(&frame.history.setup());
        message.record(frame, step, 1, &nanos.to_string());
        message.push("COMMIT;\n");
        message.unsaid = true;
        message.say_landed();
        message
    }

    /// The audit row of a step that failed, written after its rollback so that it survives.
    pub fn failed(run: &Run, step: Step<'_>, attempts: u32, error: &str) -> String {
        audit_row(
            run,
            step.migration(),
            step.direction(),
            "-1",
            attempts,
            Some(error),
        )
    }

    /// Maps a 1-based character position in the message to a step and a line of its file.
    pub fn locate(&self, position: usize, text_of: impl Fn(usize) -> String) -> Option<Located> {
        let (index, span) = self
            .spans
            .iter()
            .enumerate()
            .find(|(_, s)| (s.start..=s.end).contains(&position))?;
        Some(Located {
            index,
            line: line_of(&text_of(index), position - span.start),
        })
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    fn push(&mut self, text: &str) {
        self.sql.push_str(text);
        self.chars += text.chars().count();
    }

    /// BEGIN, the history table when it is still to be created, and the limits. Unless the
    /// transaction is `durable`, its commit returns before its WAL reaches the disk: a later
    /// durable commit flushes it too, and a crash before that loses it whole.
    fn begin(&mut self, frame: &Frame<'_>, durable: bool) {
        self.push("BEGIN;\n");
        self.push(&frame.history.setup());
        self.settings = frame.limits.settings(true);
        if !durable {
            self.settings.push(set("synchronous_commit", "off", true));
        }
    }

    /// The step's file, after marking when it started, ended so that a trailing comment or a
    /// missing `;` cannot swallow what follows.
    fn run(&mut self, step: Step<'_>) {
        let mut settings = Vec::new();
        if std::mem::take(&mut self.unsaid) {
            // The step before committed: this statement, the first after, says so.
            settings.push(landed());
        }
        settings.append(&mut self.settings);
        // statement_timestamp() is the message's, the same for every statement in it.
        settings.push(
            "set_config('migrate.started_at', extract(epoch FROM clock_timestamp())::text, true)"
                .to_owned(),
        );
        self.push(&format!("SELECT {};\n", settings.join(", ")));
        self.run_unmarked(step);
        self.push("\n;\n");
    }

    fn run_unmarked(&mut self, step: Step<'_>) {
        let start = self.chars + 1;
        self.push(&step.script().sql);
        self.spans.push(Span {
            start,
            end: self.chars,
        });
    }

    /// The step's bookkeeping: its execution time (`nanos`, SQL), kept in the session for the
    /// rows that record it and for the row that says it committed; its history row; its audit
    /// row. (Statements of their own: one statement with common table expressions plans slower.)
    fn record(&mut self, frame: &Frame<'_>, step: Step<'_>, attempts: u32, nanos: &str) {
        let keep = format!("set_config('{TOOK}', ({nanos})::text, false)::bigint");
        match step {
            // Kept as the history row is written: one statement fewer.
            Step::Apply(_) => self.push(&history_row(frame, step, &keep)),
            Step::Revert(_) => {
                self.push(&format!("SELECT {keep};\n"));
                self.push(&history_row(frame, step, ""));
            }
        }
        let took = format!("current_setting('{TOOK}')::bigint");
        if let Some(run) = frame.audit {
            self.push(&audit_row(
                run,
                step.migration(),
                step.direction(),
                &took,
                attempts,
                None,
            ));
        }
    }

    /// The row that says the last step committed, if it has not been said.
    fn say_landed(&mut self) {
        if std::mem::take(&mut self.unsaid) {
            self.push(&format!("SELECT {};\n", landed()));
        }
    }

    fn commit(&mut self, frame: &Frame<'_>) {
        self.push(frame.before_commit.unwrap_or_default());
        self.push("COMMIT;\n");
    }
}

/// The 1-based line of character offset `offset` (0-based) in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    1 + text.chars().take(offset).filter(|&c| c == '\n').count()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::set;

    const LIMITS: Limits = Limits {
        lock_timeout: Duration::from_secs(2),
        statement_timeout: None,
    };

    fn history() -> HistoryTable {
        HistoryTable::existing("public._sqlx_migrations")
    }

    fn frame(history: &HistoryTable) -> Frame<'_> {
        Frame {
            limits: LIMITS,
            history,
            audit: None,
            before_commit: None,
        }
    }

    #[test]
    fn positions_map_back_to_file_lines() {
        let set = set(&[
            ("1_a.sql", "CREATE TABLE a (x int);\n"),
            ("2_b.sql", "-- second\nCREATE TABLE b (y int);\nSELEC 1;\n"),
        ]);
        let steps: Vec<Step<'_>> = set.iter().map(Step::Apply).collect();
        let history = history();
        let message = Message::each(&frame(&history), &steps, 1, true);
        let text = |i: usize| steps[i].script().sql.clone();
        let position = message.sql().find("SELEC 1").unwrap() + 1; // ASCII: bytes == chars
        assert_eq!(
            message.locate(position, text),
            Some(Located { index: 1, line: 3 })
        );
        assert_eq!(message.locate(1, text), None, "BEGIN is in no file");
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let set = set(&[("1_a.sql", "-- é ü\nSELEC 1;\n")]);
        let steps: Vec<Step<'_>> = set.iter().map(Step::Apply).collect();
        let history = history();
        let message = Message::each(&frame(&history), &steps, 1, true);
        let byte = message.sql().find("SELEC 1").unwrap();
        let char_position = message.sql()[..byte].chars().count() + 1;
        assert_eq!(
            message.locate(char_position, |_| steps[0].script().sql.clone()),
            Some(Located { index: 0, line: 2 })
        );
        assert_eq!(line_of("é\nx", 2), 2);
    }

    #[test]
    fn a_trailing_comment_cannot_swallow_the_bookkeeping() {
        let set = set(&[("1_a.sql", "SELECT 1; -- no newline at the end")]);
        let steps: Vec<Step<'_>> = set.iter().map(Step::Apply).collect();
        let history = history();
        let message = Message::each(&frame(&history), &steps, 1, true);
        assert!(
            message.sql().contains("-- no newline at the end\n;\n"),
            "{}",
            message.sql()
        );
    }

    #[test]
    fn each_step_commits_alone_and_says_so_and_only_the_last_waits_for_the_disk() {
        let set = set(&[("1_a.sql", "SELECT 1;"), ("2_b.sql", "SELECT 2;")]);
        let steps: Vec<Step<'_>> = set.iter().map(Step::Apply).collect();
        let history = history();
        let sql = Message::each(&frame(&history), &steps, 1, true).sql;
        assert_eq!(sql.matches("BEGIN;").count(), 2);
        assert_eq!(sql.matches("COMMIT;").count(), 2);
        assert_eq!(sql.matches(LANDED).count(), 2);
        assert_eq!(sql.matches("'synchronous_commit', 'off'").count(), 1);
        let together = Message::together(&frame(&history), &steps, 1).sql;
        assert_eq!(together.matches("BEGIN;").count(), 1);
        assert_eq!(together.matches(LANDED).count(), 1, "one query, a row each");
        assert!(
            together.rfind("COMMIT;") < together.find(LANDED),
            "rows only after the commit"
        );
    }
}
