//! Applying and reverting on the locked connection: the only code that changes a schema.
//!
//! Steps go to the server in messages ([`crate::message`]). By default each migration is its
//! own transaction and consecutive ones share a message ([`sizing`]): PostgreSQL runs a
//! message's transactions in order and stops at the first error, so those before it are
//! committed and the failing one rolled back, which is exactly the outcome of sending them one
//! by one. Each message's outcome ([`Sent`]) is what the loop in [`Runner::each`] acts on: go
//! on, resend the part before a syntax error, retry after a lock wait given up
//! ([`crate::retry`]), or stop. `--single-transaction` runs take their own path
//! ([`together`]), and a `-- no-transaction` migration runs alone, never retried ([`alone`]).

mod alone;
mod failure;
mod send;
mod sizing;
mod together;

use std::time::Duration;

use migrate_core::MigrationSet;
use sqlx::{AssertSqlSafe, Executor, PgConnection, Row};

use crate::{
    audit::Run,
    error::{Error, Result},
    history::HistoryTable,
    holder::Holder,
    message::{Frame, Limits, Message},
    retry,
    settings::DatabaseSettings,
    shutdown::Shutdown,
    step::{Step, describe},
};
use send::Reply;
use sizing::Sizing;

pub(crate) struct Runner<'c> {
    pub conn: &'c mut PgConnection,
    /// A second session: who blocks this one; cancelling it on a stop request.
    pub monitor: Option<&'c mut PgConnection>,
    /// This session's pid on the server.
    pub pid: i32,
    pub settings: &'c DatabaseSettings,
    pub shutdown: &'c Shutdown,
    pub set: &'c MigrationSet,
    pub history: &'c mut HistoryTable,
    /// The run of the audit trail that each step is recorded in, if any.
    pub audit: Option<&'c Run>,
    pub limits: Limits,
    pub lock_retries: u32,
    /// A scratch database: a failure the server gives no position for is replayed statement
    /// by statement, and rolled back, to find its line.
    pub replay: bool,
    /// Run at the end of each transaction, before its COMMIT (the rehearsal notes the locks
    /// the transaction holds, which it holds until then).
    pub before_commit: Option<&'static str>,
}

/// How a message of steps, each in its own transaction, went.
enum Sent {
    /// Every step committed, taking this long on the server.
    All(Duration),
    /// The first `landed` committed; then `why`.
    Stopped { landed: usize, why: Stop },
}

/// Why a message stopped before its end.
enum Stop {
    /// It did not parse, so nothing of it ran: step `at` has the syntax error.
    Unparsed { at: usize },
    /// The step gave up waiting for a table lock (and was rolled back).
    LockTimeout {
        error: sqlx::Error,
        blocker: Option<Holder>,
    },
    /// It failed (and was rolled back), or the connection is gone.
    Failed {
        error: sqlx::Error,
        line: Option<usize>,
        blocker: Option<Holder>,
    },
    /// A stop was requested: it was cancelled and rolled back.
    Interrupted { signal: &'static str },
}

impl Runner<'_> {
    /// Runs `steps` in order, each in its own transaction, at most `per_message` to a message
    /// (default: as many as [`sizing`] says).
    pub async fn each(&mut self, steps: &[Step<'_>], per_message: Option<usize>) -> Result<()> {
        let mut sizing = Sizing::new(per_message);
        let (mut next, mut attempt) = (0, 1);
        // After a message that did not parse: only the steps before the one that did not.
        let mut limit = None;
        while next < steps.len() {
            if let Some(signal) = self.shutdown.requested() {
                return Err(Error::interrupted(signal, &interrupted_between(next)));
            }
            if steps[next].script().no_transaction {
                self.alone(steps[next]).await?;
                (next, attempt) = (next + 1, 1);
                continue;
            }
            let count = sizing.chunk(&steps[next..], self.history.needs_setup(), limit.take());
            let chunk = &steps[next..next + count];
            match self
                .send_each(chunk, attempt, next + count == steps.len())
                .await?
            {
                Sent::All(server_time) => {
                    sizing.sent(count, server_time);
                    (next, attempt) = (next + count, 1);
                }
                Sent::Stopped { landed, why } => {
                    if landed > 0 {
                        (next, attempt) = (next + landed, 1);
                    }
                    let step = steps[next];
                    match why {
                        Stop::Unparsed { at } => limit = Some(at),
                        Stop::LockTimeout { blocker, .. } if attempt < self.lock_retries => {
                            self.pause_before_retry(&[step], attempt, blocker.as_ref())
                                .await?;
                            attempt += 1;
                        }
                        Stop::LockTimeout { error, blocker } => {
                            return Err(self
                                .fail(&[step], &error, None, attempt, blocker.as_ref())
                                .await);
                        }
                        Stop::Failed {
                            error,
                            line,
                            blocker,
                        } => {
                            let line = match line {
                                Some(line) => Some(line),
                                None => self.find_line(step).await,
                            };
                            let located = line.map(|line| (0, line));
                            return Err(self
                                .fail(&[step], &error, located, attempt, blocker.as_ref())
                                .await);
                        }
                        Stop::Interrupted { signal } => {
                            return Err(self.interrupted(step, signal, attempt).await);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends `chunk`, each step in its own transaction, and says how it went.
    async fn send_each(
        &mut self,
        chunk: &[Step<'_>],
        attempt: u32,
        ends_run: bool,
    ) -> Result<Sent> {
        let message = Message::each(&self.frame(), chunk, attempt, ends_run);
        let Reply {
            landed,
            error,
            blocker,
            interrupted,
        } = self.send(&message, chunk).await;
        if !landed.is_empty() {
            self.history.created();
        }
        let Some(error) = error else {
            return Ok(Sent::All(landed.iter().sum()));
        };
        if error.as_database_error().is_none() {
            // The connection is gone: which of them committed is for `migrate status` to say.
            let why = Stop::Failed {
                error,
                line: None,
                blocker,
            };
            return Ok(Sent::Stopped {
                landed: landed.len(),
                why,
            });
        }
        let located = failure::position(&error).and_then(|position| {
            message.locate(position, |index| chunk[index].script().sql.clone())
        });
        if let Some(at) = located
            && interrupted.is_none()
            && failure::nothing_ran(&error, located)
        {
            // The message did not parse: the steps before the one at fault go again alone.
            let why = match at.index {
                0 => Stop::Failed {
                    error,
                    line: Some(at.line),
                    blocker,
                },
                at => Stop::Unparsed { at },
            };
            return Ok(Sent::Stopped { landed: 0, why });
        }
        let landed = self.rollback_and_count(chunk).await?;
        let why = match interrupted {
            Some(signal) => Stop::Interrupted { signal },
            None if retry::is_lock_timeout(&error) => Stop::LockTimeout { error, blocker },
            None => Stop::Failed {
                error,
                line: located.map(|at| at.line),
                blocker,
            },
        };
        Ok(Sent::Stopped { landed, why })
    }

    /// After an error inside a transaction: rolls it back (after a failed COMMIT there is
    /// none, and the server only warns), and reads how many of `chunk`, from its start,
    /// changed the history as they should have: rows said so as they committed, but one may
    /// have committed just before the error took its row's place.
    async fn rollback_and_count(&mut self, chunk: &[Step<'_>]) -> Result<usize> {
        if self.history.missing {
            self.conn.execute("ROLLBACK").await?;
            return Ok(0);
        }
        let versions: Vec<String> = chunk
            .iter()
            .map(|s| s.migration().version.to_string())
            .collect();
        let rows = self
            .conn
            .fetch_all(AssertSqlSafe(format!(
                "ROLLBACK;\nSELECT version FROM {} WHERE version IN ({})",
                self.history.name,
                versions.join(", ")
            )))
            .await?;
        let recorded = rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<sqlx::Result<Vec<i64>>>()?;
        Ok(chunk
            .iter()
            .take_while(|step| {
                let is_recorded = recorded.contains(&step.migration().version);
                matches!(step, Step::Apply(_)) == is_recorded
            })
            .count())
    }

    /// How each transaction is framed and recorded.
    fn frame(&self) -> Frame<'_> {
        Frame {
            limits: self.limits,
            history: self.history,
            audit: self.audit,
            before_commit: self.before_commit,
        }
    }

    /// Records in the audit trail that `step` failed, after its rollback. A failure to record
    /// it only earns a warning: the error itself matters more.
    async fn record_failure(&mut self, step: Step<'_>, attempts: u32, error: &Error) {
        let Some(run) = self.audit else { return };
        let sql = Message::failed(run, step, attempts, &error.to_string());
        if let Err(e) = self.conn.execute(AssertSqlSafe(sql)).await {
            tracing::warn!("could not record the failure in the audit trail: {e}");
        }
    }

    /// After attempt `attempt` of `steps` hit lock_timeout (and was rolled back): says so, and
    /// by whom it was blocked when that is known, and waits a growing, jittered pause, unless
    /// asked to stop meanwhile.
    async fn pause_before_retry(
        &self,
        steps: &[Step<'_>],
        attempt: u32,
        blocker: Option<&Holder>,
    ) -> Result<()> {
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
        tokio::select! {
            () = tokio::time::sleep(pause) => Ok(()),
            signal = self.shutdown.wait() => Err(Error::interrupted(
                signal,
                &format!("{} {} was rolled back and not retried", steps[0].verb(), describe(steps)),
            )),
        }
    }
}

/// What an interruption before step `next` leaves.
fn interrupted_between(next: usize) -> String {
    match next {
        0 => "nothing was changed".to_owned(),
        n => format!("the {n} migration(s) before were applied, each whole; nothing else was"),
    }
}
