//! The worker loop: claim a job, run it, record the outcome; stop between jobs when asked.

use std::time::Duration;

use migrate_engine::shutdown::Shutdown;

use crate::jobs::{ClaimedJob, FailOutcome, JobKind, JobStore};

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Recorded in `jobs.locked_by`; unique per process.
    pub id: String,
    /// How long to wait before looking again when the queue is empty.
    pub poll_interval: Duration,
    /// How long a claimed job stays ours; after that another worker may take it.
    pub lease: Duration,
    /// Delay before the first retry; doubled for each further attempt.
    pub retry_base: Duration,
}

/// What one turn of the loop did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    QueueEmpty,
    Completed {
        id: i64,
    },
    WillRetry {
        id: i64,
    },
    GaveUp {
        id: i64,
    },
    /// Our lease expired while the job ran and another worker took it: nothing recorded.
    LeaseLost {
        id: i64,
    },
}

const MAX_RETRY_DELAY: Duration = Duration::from_secs(600);

/// Claims and runs at most one job.
pub async fn run_once(store: &JobStore, settings: &WorkerSettings) -> sqlx::Result<Outcome> {
    let Some(job) = store.claim_next(&settings.id, settings.lease).await? else {
        let abandoned = store.fail_abandoned().await?;
        if abandoned > 0 {
            tracing::warn!(
                abandoned,
                "failed jobs whose worker stopped during their last attempt"
            );
        }
        return Ok(Outcome::QueueEmpty);
    };
    let ClaimedJob {
        id,
        ref kind,
        attempts,
        max_attempts,
        ..
    } = job;
    tracing::info!(job = id, kind = %kind, attempt = attempts, max_attempts, "running job");

    let result = match JobKind::parse(kind) {
        Some(kind) => kind.run(&job.payload, attempts).await,
        None => Err(format!("this worker does not know job kind {kind:?}")),
    };
    match result {
        Ok(value) => Ok(if store.complete(id, &settings.id, &value).await? {
            tracing::info!(job = id, "job succeeded");
            Outcome::Completed { id }
        } else {
            tracing::warn!(job = id, "lease lost before the result was recorded");
            Outcome::LeaseLost { id }
        }),
        Err(error) => {
            let retry_in = retry_delay(settings.retry_base, attempts);
            Ok(
                match store.fail(id, &settings.id, &error, retry_in).await? {
                    FailOutcome::WillRetry => {
                        tracing::warn!(job = id, %error, retry_in_ms = retry_in.as_millis() as u64, "job failed, will retry");
                        Outcome::WillRetry { id }
                    }
                    FailOutcome::GaveUp => {
                        tracing::error!(job = id, %error, attempts, "job failed, no attempts left");
                        Outcome::GaveUp { id }
                    }
                    FailOutcome::LeaseLost => {
                        tracing::warn!(job = id, "lease lost before the failure was recorded");
                        Outcome::LeaseLost { id }
                    }
                },
            )
        }
    }
}

/// Exponential backoff: `base`, `2 × base`, `4 × base`, ... capped at ten minutes.
pub fn retry_delay(base: Duration, attempt: i32) -> Duration {
    let exponent = attempt.clamp(1, 20) as u32 - 1;
    base.saturating_mul(1 << exponent).min(MAX_RETRY_DELAY)
}

/// Runs jobs until `stop` turns true. A job in progress is finished first, never abandoned.
pub async fn run_until_stopped(store: JobStore, settings: WorkerSettings, stop: &Shutdown) {
    tracing::info!(worker = %settings.id, "worker started");
    while stop.requested().is_none() {
        let idle = match run_once(&store, &settings).await {
            Ok(Outcome::QueueEmpty) => true,
            Ok(_) => false,
            Err(e) => {
                tracing::error!("worker: database error: {e}");
                true
            }
        };
        if idle {
            tokio::select! {
                () = tokio::time::sleep(settings.poll_interval) => {}
                _ = stop.wait() => {}
            }
        }
    }
    tracing::info!(worker = %settings.id, "worker stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_and_is_capped() {
        let base = Duration::from_secs(1);
        assert_eq!(retry_delay(base, 1), Duration::from_secs(1));
        assert_eq!(retry_delay(base, 3), Duration::from_secs(4));
        assert_eq!(retry_delay(base, 20), MAX_RETRY_DELAY);
    }
}
