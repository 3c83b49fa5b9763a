//! The `jobs` table: every query the api and the workers make, checked at compile time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    fn from_db(status: &str) -> Self {
        match status {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            // The table's CHECK constraint allows no other value.
            other => unreachable!("jobs.status holds an unknown value {other:?}"),
        }
    }
}

/// A job as the api shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub result: Option<Value>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A job a worker has claimed; `attempts` already counts this attempt.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
    pub attempts: i32,
    pub max_attempts: i32,
}

/// What recording a failed attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again for a later attempt.
    WillRetry,
    /// No attempts left: the job is `failed` for good.
    GaveUp,
    /// The lease was lost (it expired and another worker took the job): nothing recorded.
    LeaseLost,
}

#[derive(Debug, Clone)]
pub struct JobStore {
    pool: PgPool,
}

impl JobStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub async fn enqueue(
        &self,
        kind: &str,
        payload: &Value,
        max_attempts: i32,
    ) -> sqlx::Result<i64> {
        sqlx::query_scalar!(
            "INSERT INTO jobs (kind, payload, max_attempts) VALUES ($1, $2, $3) RETURNING id",
            kind,
            payload,
            max_attempts
        )
        .fetch_one(&self.pool)
        .await
    }

    pub async fn find(&self, id: i64) -> sqlx::Result<Option<Job>> {
        let row = sqlx::query!(
            "SELECT id, kind, payload, status, attempts, max_attempts, result, last_error, \
                    created_at, updated_at \
             FROM jobs WHERE id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Job {
            id: r.id,
            kind: r.kind,
            payload: r.payload,
            status: JobStatus::from_db(&r.status),
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            result: r.result,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }))
    }

    /// Claims the oldest due job (or one whose lease expired) for `worker`, leasing it for
    /// `lease`. Concurrent workers skip each other's rows instead of waiting on them.
    pub async fn claim_next(
        &self,
        worker: &str,
        lease: Duration,
    ) -> sqlx::Result<Option<ClaimedJob>> {
        sqlx::query_as!(
            ClaimedJob,
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, \
                    locked_until = now() + make_interval(secs => $2), updated_at = now() \
             WHERE id = ( \
                 SELECT id FROM jobs \
                 WHERE (status = 'queued' AND run_at <= now()) \
                    OR (status = 'running' AND locked_until < now() AND attempts < max_attempts) \
                 ORDER BY run_at, id \
                 LIMIT 1 \
                 FOR UPDATE SKIP LOCKED) \
             RETURNING id, kind, payload, attempts, max_attempts",
            worker,
            lease.as_secs_f64()
        )
        .fetch_optional(&self.pool)
        .await
    }

    /// Records a successful attempt. Returns false when `worker` no longer holds the lease.
    pub async fn complete(&self, id: i64, worker: &str, result: &Value) -> sqlx::Result<bool> {
        let done = sqlx::query!(
            "UPDATE jobs SET status = 'succeeded', result = $3, last_error = NULL, \
                    locked_by = NULL, locked_until = NULL, updated_at = now() \
             WHERE id = $1 AND status = 'running' AND locked_by = $2",
            id,
            worker,
            result
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt: queued again after `retry_in` while attempts remain,
    /// otherwise failed for good.
    pub async fn fail(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_in: Duration,
    ) -> sqlx::Result<FailOutcome> {
        let status = sqlx::query_scalar!(
            "UPDATE jobs SET \
                    status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END, \
                    run_at = CASE WHEN attempts < max_attempts \
                                  THEN now() + make_interval(secs => $4) ELSE run_at END, \
                    last_error = $3, locked_by = NULL, locked_until = NULL, updated_at = now() \
             WHERE id = $1 AND status = 'running' AND locked_by = $2 \
             RETURNING status",
            id,
            worker,
            error,
            retry_in.as_secs_f64()
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(match status.as_deref() {
            None => FailOutcome::LeaseLost,
            Some("queued") => FailOutcome::WillRetry,
            Some(_) => FailOutcome::GaveUp,
        })
    }

    /// Fails the jobs whose worker vanished during their last allowed attempt.
    pub async fn fail_abandoned(&self) -> sqlx::Result<u64> {
        let done = sqlx::query!(
            "UPDATE jobs SET status = 'failed', \
                    last_error = 'the worker running the last attempt stopped before finishing', \
                    locked_by = NULL, locked_until = NULL, updated_at = now() \
             WHERE status = 'running' AND locked_until < now() AND attempts >= max_attempts"
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
