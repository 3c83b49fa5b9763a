//! The audit trail: sqlx's history keeps only what is applied now (a revert deletes its row, a
//! failure leaves none), so after an incident nobody could say what ran, when, by whom, from
//! which build, and what failed. Every run that changes, or tries to change, the schema gets a
//! row in the runs table, written under the migration lock as it starts and completed as it
//! ends; each migration it applies, reverts or baselines gets a step row in the same
//! transaction as its history row ([`crate::message`]), and a failure gets one after the
//! rollback, so that it survives. A run killed on the way keeps an open row, which the next
//! run marks `unfinished` and reports. The tables sit beside the history table; sqlx never
//! looks at them.

pub(crate) mod read;

pub use read::{RunRecord, StepRecord};

use std::time::Duration;

use migrate_core::{
    history::{AUDIT_SHAPE, RUNS_TABLE, STEPS_TABLE, set_up_audit_tables},
    quote::{literal, nullable},
};
use sqlx::{AssertSqlSafe, Executor, FromRow, PgConnection};

use crate::{
    embedded::BuildInfo,
    error::{Error, ErrorKind, Result},
    history::{HistoryTable, keep_writes_to_owner},
};

/// What a run's row says it is: the command and the build. Set with [`crate::Engine::recording`].
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The command and its options, e.g. `up --to 20261121120000`.
    pub command: String,
    /// The binary's version and commit.
    pub build: BuildInfo,
}

impl Default for RunInfo {
    fn default() -> Self {
        Self {
            command: "(library call)".to_owned(),
            build: BuildInfo {
                version: "unknown",
                commit: "unknown",
            },
        }
    }
}

/// The run being recorded, for its steps.
#[derive(Debug)]
pub(crate) struct Run {
    id: i64,
    runs: String,
    steps: String,
}

impl Run {
    /// Under the migration lock: sets the tables up if they are missing or older than
    /// [`AUDIT_SHAPE`] (and the configured schemas, as sqlx does before it migrates), marks the
    /// runs that never finished (and says so), and records this one as started.
    pub async fn start(
        conn: &mut PgConnection,
        history: &HistoryTable,
        info: &RunInfo,
        lock_wait: Duration,
    ) -> Result<Self> {
        let runs = history.sibling(RUNS_TABLE);
        let steps = history.sibling(STEPS_TABLE);
        // One message, values quoted in: the set-up when needed, then the run's row.
        let mut sql = String::new();
        if history.audit_shape.as_deref() != Some(AUDIT_SHAPE) {
            sql = format!(
                "BEGIN;\nSET LOCAL client_min_messages = warning;\n{}{}{}{}COMMIT;\n",
                history.create_schemas(),
                set_up_audit_tables(&runs, &steps),
                keep_writes_to_owner(&runs),
                keep_writes_to_owner(&steps)
            );
        }
        sql += &format!(
            "WITH unfinished AS ( \
                 UPDATE {runs} SET outcome = 'unfinished' WHERE outcome IS NULL \
                 RETURNING id, command, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS started, \
                           database_role || coalesce(' from ' || client_host, '') AS by), \
             this AS ( \
                 INSERT INTO {runs} (command, client_host, os_user, build_version, build_commit, lock_wait_ms) \
                 VALUES ({}, {}, {}, {}, {}, {}) RETURNING id) \
             SELECT this.id, u.id, u.command, u.started, u.by FROM this LEFT JOIN unfinished u ON true \
             ORDER BY u.id;\n",
            literal(&info.command),
            nullable(client_host().as_deref()),
            nullable(os_user().as_deref()),
            literal(info.build.version),
            literal(info.build.commit),
            i64::try_from(lock_wait.as_millis()).unwrap_or(i64::MAX),
        );
        type Row = (
            i64,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = conn
            .fetch_all(AssertSqlSafe(sql))
            .await?
            .iter()
            .map(Row::from_row)
            .collect::<sqlx::Result<_>>()?;
        for (_, run, command, started, by) in &rows {
            if let (Some(run), Some(command), Some(started), Some(by)) = (run, command, started, by)
            {
                tracing::warn!(
                    "run {run} (`migrate {command}`, started {started} UTC by {by}) never finished: it was killed or \
                     lost its connection. Each migration is applied whole or not at all: `migrate status` shows where \
                     it stopped"
                );
            }
        }
        Ok(Self {
            id: rows[0].0,
            runs,
            steps,
        })
    }

    /// The statement completing the run's row with how it ended.
    pub fn finish_sql<T>(&self, outcome: &Result<T>) -> String {
        let (label, error) = match outcome {
            Ok(_) => ("succeeded", "NULL".to_owned()),
            Err(e) => (outcome_of(e), literal(&e.to_string())),
        };
        format!(
            "UPDATE {} SET finished_at = clock_timestamp(), outcome = '{label}', error = {error} WHERE id = {};\n",
            self.runs, self.id
        )
    }

    pub fn id(&self) -> i64 {
        self.id
    }

    /// The steps table, SQL name.
    pub fn steps_table(&self) -> &str {
        &self.steps
    }
}

/// The outcome a failed run is recorded with.
fn outcome_of(error: &Error) -> &'static str {
    match error.kind() {
        ErrorKind::Refused => "refused",
        ErrorKind::Interrupted => "interrupted",
        _ => "failed",
    }
}

/// The machine `migrate` runs on, as it calls itself.
fn client_host() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// The operating-system user `migrate` runs as: `$USER`, else the uid (containers often have
/// no user name).
fn os_user() -> Option<String> {
    ["USER", "LOGNAME"]
        .into_iter()
        .find_map(|var| std::env::var(var).ok().filter(|u| !u.is_empty()))
        .or_else(|| {
            let status = std::fs::read_to_string("/proc/self/status").ok()?;
            let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
            Some(format!("uid {}", uid.split_whitespace().next()?))
        })
}
