//! The statements a message is made of, besides the migrations' own: the limits each
//! transaction sets, the mark of each step's start, and the history and audit rows that record
//! it.

use std::time::Duration;

use migrate_core::{
    Migration,
    quote::{literal, nullable},
};

use super::{Frame, LANDED};
use crate::{
    audit::Run,
    step::{Direction, Step},
};

/// Per-transaction limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub lock_timeout: Duration,
    pub statement_timeout: Option<Duration>,
}

impl Limits {
    /// `set_config` calls for these limits; `local` inside a transaction.
    pub(super) fn settings(&self, local: bool) -> Vec<String> {
        let mut settings = vec![set("lock_timeout", &ms(self.lock_timeout), local)];
        if let Some(timeout) = self.statement_timeout {
            settings.push(set("statement_timeout", &ms(timeout), local));
        }
        settings
    }

    /// A statement setting these limits for the session (a `-- no-transaction` migration).
    pub fn for_session(&self) -> String {
        format!("SELECT {};\n", self.settings(false).join(", "))
    }

    /// A statement setting these limits for the transaction under way.
    pub fn for_transaction(&self) -> String {
        format!("SELECT {};\n", self.settings(true).join(", "))
    }
}

/// The time since the step's start mark, in nanoseconds as sqlx records it; the message's
/// start if the migration reset the mark (`RESET ALL`).
pub(super) const EXECUTION_TIME: &str = "((extract(epoch FROM clock_timestamp()) \
     - coalesce(nullif(current_setting('migrate.started_at', true), '')::numeric, extract(epoch FROM statement_timestamp()))) \
     * 1000000000)::bigint";

/// The session setting that holds the execution time of the step last recorded: set in its
/// transaction, so it is kept only if that commits. (One name for all: every setting a session
/// has made is visited at each commit, so a name per step would make a run quadratic.)
pub(super) const TOOK: &str = "migrate.took";

/// The column saying the step last recorded committed, with its execution time.
pub(super) fn landed() -> String {
    format!("current_setting('{TOOK}')::bigint AS {LANDED}")
}

/// `set_config(name, value, local)`; `value` is SQL text inside a literal.
pub(super) fn set(name: &str, value: &str, local: bool) -> String {
    format!("set_config('{name}', '{value}', {local})")
}

fn ms(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}

/// The history table's change for a step, as sqlx makes it; `execution_time` is SQL.
pub(super) fn history_row(frame: &Frame<'_>, step: Step<'_>, execution_time: &str) -> String {
    let table = &frame.history.name;
    match step {
        Step::Apply(m) => format!(
            "INSERT INTO {table} (version, description, success, checksum, execution_time) \
             VALUES ({}, {}, TRUE, decode('{}', 'hex'), {execution_time});\n",
            m.version,
            literal(&m.description()),
            hex::encode(&m.checksum)
        ),
        Step::Revert(m) => format!("DELETE FROM {table} WHERE version = {};\n", m.version),
    }
}

/// A step row of the audit trail; `execution_time` is SQL.
pub(super) fn audit_row(
    run: &Run,
    migration: &Migration,
    direction: Direction,
    execution_time: &str,
    attempts: u32,
    error: Option<&str>,
) -> String {
    let outcome = if error.is_some() { "failed" } else { "done" };
    let error = nullable(error);
    format!(
        "INSERT INTO {} (run_id, version, name, checksum, direction, outcome, execution_time, attempts, error) \
         VALUES ({}, {}, {}, decode('{}', 'hex'), '{}', '{outcome}', {execution_time}, {attempts}, {error});\n",
        run.steps_table(),
        run.id(),
        migration.version,
        literal(&migration.name),
        hex::encode(&migration.checksum),
        direction.as_str(),
    )
}
