//! Applying and reverting on the locked connection: the only code that changes a schema.
//!
//! Steps go to the server in messages ([`crate::message`]). By default each migration is its
//! own transaction and consecutive ones share a message: PostgreSQL runs a message's
//! transactions in order and stops at the first error, so those before it are committed and
//! the failing one rolled back, which is exactly the outcome of sending them one by one; which
//! ones landed is read back from the history table. A message that does not parse runs
//! nothing, so the migrations before the one that does not parse are sent again on their own.
//!
//! A message holds as many migrations as the pace of those before it says fit in about
//! [`MESSAGE_TARGET`] (starting from one, at most doubling): slow migrations still go one by
//! one, so progress is logged as it happens, and a runner killed mid-message leaves the server
//! little of its message to finish. A migration that waits longer than `lock_timeout` for a
//! table lock is rolled back and retried ([`crate::retry`]); a `-- no-transaction` migration
//! runs alone and is never retried ([`alone`]).

mod alone;
mod failure;
mod grouping;

use grouping::next_size;

use std::time::{Duration, Instant};

use migrate_core::{Migration, MigrationSet, Script};
use sqlx::{AssertSqlSafe, Executor, PgConnection, postgres::PgQueryResult};

use crate::{
    audit::{Direction, Run},
    blockers::{self, Blocker},
    error::{Error, Result},
    history::{HistoryTable, record_applied, record_reverted},
    message::{Limits, Located, Message},
    retry,
};

/// One migration applied or reverted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'m> {
    Apply(&'m Migration),
    Revert(&'m Migration),
}

impl<'m> Step<'m> {
    pub fn migration(self) -> &'m Migration {
        match self {
            Step::Apply(m) | Step::Revert(m) => m,
        }
    }

    pub fn script(self) -> &'m Script {
        match self {
            Step::Apply(m) => &m.up,
            Step::Revert(m) => m
                .down
                .as_ref()
                .expect("reverts are planned for a down file only"),
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Step::Apply(_) => "applying",
            Step::Revert(_) => "reverting",
        }
    }

    fn direction(self) -> Direction {
        match self {
            Step::Apply(_) => Direction::Apply,
            Step::Revert(_) => Direction::Revert,
        }
    }

    fn done(self) -> &'static str {
        match self {
            Step::Apply(_) => "applied",
            Step::Revert(_) => "reverted",
        }
    }
}

/// How steps are put into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grouping {
    /// Each step in its own transaction; `Some(n)`: at most `n` to a message.
    Each { per_message: Option<usize> },
    /// All steps in one transaction: all or nothing.
    Together,
}

pub(crate) struct Runner<'c> {
    pub conn: &'c mut PgConnection,
    /// A second session, to see who blocks this one.
    pub monitor: Option<&'c mut PgConnection>,
    /// This session's pid on the server, when known.
    pub pid: Option<i32>,
    pub set: &'c MigrationSet,
    pub history: HistoryTable,
    pub limits: Limits,
    pub lock_retries: u32,
    /// A scratch database: a failure the server gives no position for is replayed statement
    /// by statement, and rolled back, to find its line.
    pub replay: bool,
    /// Run at the end of each transaction, before its COMMIT (the rehearsal notes the locks
    /// the transaction holds, which it holds until then).
    pub before_commit: Option<&'static str>,
    /// The run of the audit trail that each step is recorded in, if any.
    pub run: Option<&'c Run>,
}

impl Runner<'_> {
    /// Runs `steps` in order, logging each one done.
    pub async fn run(&mut self, steps: &[Step<'_>], grouping: Grouping) -> Result<()> {
        let (mut next, mut attempt) = (0, 1);
        let mut size = match grouping {
            Grouping::Each { per_message } => per_message.unwrap_or(1),
            Grouping::Together => steps.len(),
        };
        // Set for one message: send only the steps before one that did not parse.
        let mut limit = None;
        while next < steps.len() {
            if steps[next].script().no_transaction {
                self.run_alone(steps[next]).await?;
                (next, attempt) = (next + 1, 1);
                continue;
            }
            let chunk = self.chunk(&steps[next..], grouping, limit.take().unwrap_or(size));
            let message = self.message(chunk, grouping, next + chunk.len() == steps.len(), attempt);
            let started = Instant::now();
            let (outcome, blocker) = self.send(&message).await;
            let error = match outcome {
                Ok(_) => {
                    self.history.created();
                    self.log_done(chunk, started.elapsed()).await?;
                    if grouping == (Grouping::Each { per_message: None }) {
                        size = next_size(chunk.len(), started.elapsed());
                    }
                    (next, attempt) = (next + chunk.len(), 1);
                    continue;
                }
                Err(error) => error,
            };
            if error.as_database_error().is_none() {
                // The connection is gone: which of them committed is for `migrate status` to say.
                return Err(self.failure(&error, chunk, None, attempt, None));
            }
            self.end_transaction().await?;
            let landed = match grouping {
                Grouping::Each { .. } => self.landed(chunk).await?,
                Grouping::Together => 0,
            };
            if landed > 0 {
                self.history.created();
                self.log_done(&chunk[..landed], started.elapsed()).await?;
                (next, attempt) = (next + landed, 1);
            }
            let located = failure::position(&error).and_then(|position| {
                message.locate(position, |index| chunk[index].script().sql.clone())
            });
            if let Some(at) = located
                && at.index > landed
                && grouping != Grouping::Together
            {
                limit = Some(at.index - landed);
                continue;
            }
            let failed = match grouping {
                Grouping::Each { .. } => &chunk[landed..=landed],
                Grouping::Together => chunk,
            };
            if retry::is_lock_timeout(&error) && attempt < self.lock_retries {
                self.pause_before_retry(failed, attempt, blocker.as_ref())
                    .await;
                attempt += 1;
                continue;
            }
            let located = match located {
                Some(Located { index, line }) => Some((index - landed, line)),
                None if failed.len() > 1 => self.find_failing(failed).await.map(|index| (index, 0)),
                None => self.find_line(failed[0]).await.map(|line| (0, line)),
            };
            let error = self.failure(&error, failed, located, attempt, blocker.as_ref());
            let step = located.map_or(failed[0], |(index, _)| failed[index]);
            self.record_failure(step, attempt, &error).await;
            return Err(error);
        }
        Ok(())
    }

    /// Sends `message`, watching (on the monitor session) who blocks it meanwhile.
    async fn send(&mut self, message: &Message) -> (sqlx::Result<PgQueryResult>, Option<Blocker>) {
        let work = self.conn.execute(AssertSqlSafe(message.sql()));
        match self.pid {
            Some(pid) => {
                blockers::watch(
                    work,
                    self.monitor.as_deref_mut(),
                    pid,
                    self.limits.lock_timeout,
                )
                .await
            }
            None => (work.await, None),
        }
    }

    /// The history row's change for a step, and its audit row; `execution_time` is SQL for
    /// nanoseconds.
    pub(crate) fn bookkeeping(
        &self,
        step: Step<'_>,
        execution_time: &str,
        attempts: u32,
    ) -> String {
        let history = match step {
            Step::Apply(m) => record_applied(&self.history.name, [(m, execution_time)]),
            Step::Revert(m) => record_reverted(&self.history.name, m.version),
        };
        let audit = self
            .run
            .map(|run| run.done(step.migration(), step.direction(), execution_time, attempts));
        history + &audit.unwrap_or_default()
    }

    /// Records in the audit trail that `step` failed, after its rollback. A failure to record
    /// it only earns a warning: the error itself matters more.
    pub(super) async fn record_failure(&mut self, step: Step<'_>, attempts: u32, error: &Error) {
        let Some(run) = self.run else { return };
        let recorded = run
            .failed(
                self.conn,
                step.migration(),
                step.direction(),
                attempts,
                &error.to_string(),
            )
            .await;
        if let Err(e) = recorded {
            tracing::warn!("could not record the failure in the audit trail: {e}");
        }
    }

    /// After an error: rolls back the transaction the message left open, if it left one. A
    /// message that did not parse, or failed in its COMMIT, leaves none, and a ROLLBACK then
    /// only earns a warning.
    async fn end_transaction(&mut self) -> Result<()> {
        match self.conn.execute("SELECT 1").await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|c| c == "25P02") =>
            {
                self.conn.execute("ROLLBACK").await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// How many of `chunk`, from its start, changed the history as they should have.
    async fn landed(&mut self, chunk: &[Step<'_>]) -> Result<usize> {
        if chunk.len() == 1 || self.history.missing {
            return Ok(0); // its own transaction failed
        }
        let recorded: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT version FROM {} WHERE version IN ({})",
            self.history.name,
            versions(chunk)
        )))
        .fetch_all(&mut *self.conn)
        .await?;
        Ok(chunk
            .iter()
            .take_while(|step| {
                let is_recorded = recorded.contains(&step.migration().version);
                matches!(step, Step::Apply(_)) == is_recorded
            })
            .count())
    }

    /// One line per step; applied ones with the time their transaction recorded.
    async fn log_done(&mut self, done: &[Step<'_>], took: Duration) -> Result<()> {
        let times: Vec<(i64, i64)> = if done.iter().any(|s| matches!(s, Step::Apply(_))) {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT version, execution_time FROM {} WHERE version IN ({})",
                self.history.name,
                versions(done)
            )))
            .fetch_all(&mut *self.conn)
            .await?
        } else {
            Vec::new()
        };
        for step in done {
            let version = step.migration().version;
            let took = times
                .iter()
                .find(|(v, _)| *v == version)
                .map_or(took, |&(_, nanos)| {
                    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
                });
            tracing::info!("{} {} in {took:.1?}", step.done(), step.migration().label());
        }
        Ok(())
    }

    /// After attempt `attempt` of `steps` hit lock_timeout (and was rolled back): says so, and
    /// by whom it was blocked when that is known, and waits a growing, jittered pause.
    async fn pause_before_retry(
        &self,
        steps: &[Step<'_>],
        attempt: u32,
        blocker: Option<&Blocker>,
    ) {
        let pause = retry::pause(attempt);
        let by = blocker
            .map(|b| format!(", blocked by {b}"))
            .unwrap_or_default();
        tracing::warn!(
            "{} {}: attempt {attempt}/{} gave up waiting for a table lock after {:?} (lock_timeout){by}; \
             rolled back, retrying in {pause:.1?}",
            steps[0].verb(),
            describe(steps),
            self.lock_retries,
            self.limits.lock_timeout,
        );
        tokio::time::sleep(pause).await;
    }

    fn path(&self, script: &Script) -> String {
        self.set.path_of(script)
    }
}

/// `20261121120000_create_jobs`, or `5 migrations (1..5)`.
fn describe(steps: &[Step<'_>]) -> String {
    match steps {
        [one] => one.migration().label(),
        many => format!(
            "{} migrations ({}..{})",
            many.len(),
            many[0].migration().version,
            many[many.len() - 1].migration().version
        ),
    }
}

fn versions(steps: &[Step<'_>]) -> String {
    steps
        .iter()
        .map(|s| s.migration().version.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
