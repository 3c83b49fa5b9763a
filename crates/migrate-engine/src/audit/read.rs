//! Reading the audit trail: `migrate history`, and who applied each migration for
//! `migrate status`. Reads only; a database without the tables has no runs yet.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{AssertSqlSafe, PgConnection};

use migrate_core::history::{RUNS_TABLE, STEPS_TABLE};

use crate::{engine::Engine, error::Result, history::HistoryTable, session::Session};

impl Engine<'_> {
    /// The newest `limit` runs of the audit trail, newest first, with their steps. Takes no
    /// lock and changes nothing.
    pub async fn runs(&self, session: &mut Session, limit: i64) -> Result<Vec<RunRecord>> {
        let history = HistoryTable::locate(&mut session.conn, self.set().config()).await?;
        Trail::beside(&history).runs(&mut session.conn, limit).await
    }
}

/// One run, as recorded.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RunRecord {
    /// Its number, in order of starting.
    pub id: i64,
    /// When it started (after it got the migration lock).
    pub started_at: DateTime<Utc>,
    /// When it ended, unless it is running or never finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// `succeeded`, `failed`, `refused`, `interrupted` (SIGTERM, SIGINT), `running`, or
    /// `unfinished` (killed, or its connection lost).
    pub outcome: String,
    /// Its error, when it failed or was refused.
    pub error: Option<String>,
    /// The command and its options.
    pub command: String,
    /// The database role it ran as.
    pub database_role: String,
    /// Its `application_name` (`migrate pid=... host=...`).
    pub application_name: String,
    /// The client's address as the server saw it (none over a Unix socket).
    pub client_addr: Option<String>,
    /// The machine `migrate` ran on, as it names itself.
    pub client_host: Option<String>,
    /// The operating-system user.
    pub os_user: Option<String>,
    /// The binary's version.
    pub build_version: String,
    /// The git commit it was built from.
    pub build_commit: String,
    /// How long it waited for the migration lock.
    pub lock_wait_ms: i64,
    /// The server's WAL position as it started (after taking the lock): point-in-time
    /// recovery to just before it undoes the run. None in runs recorded before `migrate`
    /// kept it.
    pub start_lsn: Option<String>,
    /// What it did, in order.
    #[sqlx(skip)]
    pub steps: Vec<StepRecord>,
}

/// One migration applied, reverted, baselined, or failed, in a run.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StepRecord {
    #[serde(skip)]
    run_id: i64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The migration's version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// sqlx's checksum of the file, in hex.
    pub checksum: String,
    /// `apply`, `revert` or `baseline`.
    pub direction: String,
    /// `done` or `failed`.
    pub outcome: String,
    /// Nanoseconds; -1 when it did not run (a baseline, a failure).
    pub execution_time: i64,
    /// Attempts, counting those that gave up waiting for a table lock.
    pub attempts: i32,
    /// The error line of a failure.
    pub error: Option<String>,
}

/// The audit tables beside a history table, to read.
pub(crate) struct Trail {
    runs: String,
    steps: String,
    exists: bool,
}

impl Trail {
    pub fn beside(history: &HistoryTable) -> Self {
        Self {
            runs: history.sibling(RUNS_TABLE),
            steps: history.sibling(STEPS_TABLE),
            exists: history.audit_shape.is_some(),
        }
    }

    /// The newest `limit` runs, newest first, with their steps.
    pub async fn runs(&self, conn: &mut PgConnection, limit: i64) -> Result<Vec<RunRecord>> {
        if !self.exists {
            return Ok(Vec::new());
        }
        let mut runs: Vec<RunRecord> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id, started_at, finished_at, \
                    coalesce(outcome, CASE WHEN EXISTS (SELECT FROM pg_stat_activity a WHERE a.pid = r.backend_pid \
                                                        AND a.application_name = r.application_name) \
                                           THEN 'running' ELSE 'unfinished' END) AS outcome, \
                    error, command, database_role, application_name, client_addr, client_host, os_user, \
                    build_version, build_commit, lock_wait_ms, start_lsn::text AS start_lsn \
             FROM {} r ORDER BY id DESC LIMIT $1",
            self.runs
        )))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
        let steps: Vec<StepRecord> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT run_id, at, version, name, encode(checksum, 'hex') AS checksum, direction, outcome, \
                    execution_time, attempts, error \
             FROM {} WHERE run_id = ANY ($1) ORDER BY run_id, at",
            self.steps
        )))
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
        for step in steps {
            if let Some(run) = runs.iter_mut().find(|r| r.id == step.run_id) {
                run.steps.push(step);
            }
        }
        Ok(runs)
    }

    /// Who last applied (or baselined) each version: `role on host`.
    pub async fn applied_by(&self, conn: &mut PgConnection) -> Result<BTreeMap<i64, String>> {
        if !self.exists {
            return Ok(BTreeMap::new());
        }
        let rows: Vec<(i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT DISTINCT ON (s.version) s.version, \
                    r.database_role || coalesce(' on ' || r.client_host, '') || ' (run ' || r.id || ')' \
             FROM {} s JOIN {} r ON r.id = s.run_id \
             WHERE s.direction IN ('apply', 'baseline') AND s.outcome = 'done' \
             ORDER BY s.version, s.at DESC",
            self.steps, self.runs
        )))
        .fetch_all(conn)
        .await?;
        Ok(rows.into_iter().collect())
    }
}
