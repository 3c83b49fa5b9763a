//! The audit trail: sqlx's history keeps only what is applied now (a revert deletes its row, a
//! failure leaves none), so after an incident nobody could say what ran, when, by whom, from
//! which build, and what failed. Every run that changes, or tries to change, the schema gets a
//! row in the runs table, written under the migration lock as it starts and completed as it
//! ends; each migration it applies, reverts or baselines gets a step row in the same
//! transaction as its history row, and a failure gets one after the rollback, so that it
//! survives. A run killed on the way keeps an open row, which the next run marks `unfinished`
//! and reports. The tables sit beside the history table; sqlx never looks at them.

mod read;

pub use read::{RunRecord, StepRecord};

use std::time::Duration;

use migrate_core::{
    Migration,
    history::{RUNS_TABLE, STEPS_TABLE, create_audit_tables},
};
use sqlx::{AssertSqlSafe, Executor, PgConnection};

use crate::{
    embedded::BuildInfo,
    error::{ErrorKind, Result},
    history::{HistoryTable, keep_writes_to_owner},
    message::literal,
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

/// The audit tables beside a history table.
pub(crate) struct Audit {
    runs: String,
    steps: String,
    /// The configured schemas missing yet, which the tables may need.
    create_schemas: String,
}

/// The run being recorded, for its steps.
#[derive(Debug)]
pub(crate) struct Run {
    id: i64,
    runs: String,
    steps: String,
}

/// What a step did.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    Apply,
    Revert,
    Baseline,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "apply",
            Self::Revert => "revert",
            Self::Baseline => "baseline",
        }
    }
}

impl Audit {
    pub fn beside(history: &HistoryTable) -> Self {
        Self {
            runs: history.sibling(RUNS_TABLE),
            steps: history.sibling(STEPS_TABLE),
            create_schemas: history.create_schemas(),
        }
    }

    /// Under the migration lock: creates the tables if needed (and the configured schemas, as
    /// sqlx does before it migrates), marks the runs that never finished (and says so), and
    /// records this one as started.
    pub async fn start(
        &self,
        conn: &mut PgConnection,
        info: &RunInfo,
        lock_wait: Duration,
    ) -> Result<Run> {
        let setup = format!(
            "{}{}{}{}",
            self.create_schemas,
            create_audit_tables(&self.runs, &self.steps),
            keep_writes_to_owner(&self.runs),
            keep_writes_to_owner(&self.steps)
        );
        conn.execute(AssertSqlSafe(setup)).await?;
        let unfinished: Vec<(i64, String, String, String)> = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE {} SET outcome = 'unfinished' WHERE outcome IS NULL \
             RETURNING id, command, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), \
                       database_role || coalesce(' from ' || client_host, '')",
            self.runs
        )))
        .fetch_all(&mut *conn)
        .await?;
        for (id, command, started, by) in unfinished {
            tracing::warn!(
                "run {id} (`migrate {command}`, started {started} UTC by {by}) never finished: it was killed or lost its \
                 connection. Each migration is applied whole or not at all: `migrate status` shows where it stopped"
            );
        }
        let id = sqlx::query_scalar(AssertSqlSafe(format!(
            "INSERT INTO {} (command, client_host, os_user, build_version, build_commit, lock_wait_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            self.runs
        )))
        .bind(&info.command)
        .bind(client_host())
        .bind(os_user())
        .bind(info.build.version)
        .bind(info.build.commit)
        .bind(i64::try_from(lock_wait.as_millis()).unwrap_or(i64::MAX))
        .fetch_one(&mut *conn)
        .await?;
        Ok(Run {
            id,
            runs: self.runs.clone(),
            steps: self.steps.clone(),
        })
    }
}

impl Run {
    /// Completes the run's row with how it ended.
    pub async fn finish<T>(&self, conn: &mut PgConnection, outcome: &Result<T>) -> Result<()> {
        let (label, error) = match outcome {
            Ok(_) => ("succeeded", None),
            Err(e) if e.kind() == ErrorKind::Refused => ("refused", Some(e.to_string())),
            Err(e) => ("failed", Some(e.to_string())),
        };
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE {} SET finished_at = clock_timestamp(), outcome = $1, error = $2 WHERE id = $3",
            self.runs
        )))
        .bind(label)
        .bind(error)
        .bind(self.id)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// The step row of `migration`, done: SQL for the transaction that does it.
    /// `execution_time` is SQL for nanoseconds.
    pub fn done(
        &self,
        migration: &Migration,
        direction: Direction,
        execution_time: &str,
        attempts: u32,
    ) -> String {
        self.step(
            migration,
            direction,
            "done",
            execution_time,
            attempts,
            "NULL",
        )
    }

    /// Records that `migration` failed, after its transaction was rolled back.
    pub async fn failed(
        &self,
        conn: &mut PgConnection,
        migration: &Migration,
        direction: Direction,
        attempts: u32,
        error: &str,
    ) -> Result<()> {
        let sql = self.step(
            migration,
            direction,
            "failed",
            "-1",
            attempts,
            &literal(error),
        );
        conn.execute(AssertSqlSafe(sql)).await?;
        Ok(())
    }

    fn step(
        &self,
        migration: &Migration,
        direction: Direction,
        outcome: &str,
        execution_time: &str,
        attempts: u32,
        error: &str,
    ) -> String {
        format!(
            "INSERT INTO {} (run_id, version, name, checksum, direction, outcome, execution_time, attempts, error) \
             VALUES ({}, {}, {}, decode('{}', 'hex'), '{}', '{outcome}', {execution_time}, {attempts}, {error});\n",
            self.steps,
            self.id,
            migration.version,
            literal(&migration.name),
            hex::encode(&migration.checksum),
            direction.as_str(),
        )
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
