//! Applying and reverting migrations on the locked connection: the only code in the project
//! that changes a schema.
//!
//! A transactional migration is one transaction in one message (see `batch.rs`; `chunked.rs`
//! puts several in a message for `migrate up`). When it waits longer than
//! `lock_timeout` for a table lock (SQLSTATE 55P03) it is rolled back and tried again after a
//! growing, jittered pause, so that live traffic queued behind it is never stalled for long.
//! A `-- no-transaction` migration runs alone and is never retried.

use std::time::{Duration, Instant};

use app::{
    migrations::{Migration, MigrationSet, Script},
    schema_gate::SCHEMA_CHANGED_CHANNEL,
};
use sqlx::{
    AssertSqlSafe, Executor, PgConnection,
    postgres::{PgDatabaseError, PgErrorPosition},
};

use crate::{
    batch::{Batch, EXECUTION_TIME_NANOS, Limits, literal},
    failure::{Failure, Result},
    history::HistoryTable,
};

const MAX_RETRY_PAUSE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub enum Step<'m> {
    Apply(&'m Migration),
    Revert(&'m Migration),
}

impl<'m> Step<'m> {
    pub(crate) fn migration(self) -> &'m Migration {
        match self {
            Step::Apply(m) | Step::Revert(m) => m,
        }
    }

    pub(crate) fn script(self) -> &'m Script {
        match self {
            Step::Apply(m) => &m.up,
            Step::Revert(m) => m
                .down
                .as_ref()
                .expect("reverts are checked for a down file first"),
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Step::Apply(_) => "applying",
            Step::Revert(_) => "reverting",
        }
    }
}

pub struct Runner<'c> {
    pub conn: &'c mut PgConnection,
    pub set: &'c MigrationSet,
    pub history: HistoryTable,
    pub limits: Limits,
    pub lock_retries: u32,
}

impl Runner<'_> {
    /// Runs one step in its own transaction, or alone when its file opts out of transactions.
    pub async fn run(&mut self, step: Step<'_>) -> Result<Duration> {
        if step.script().no_transaction {
            self.run_alone(step).await
        } else {
            self.run_in_transaction(&[step]).await
        }
    }

    /// Runs all steps in one transaction: all or nothing.
    pub async fn run_in_transaction(&mut self, steps: &[Step<'_>]) -> Result<Duration> {
        let mut batch = Batch::transaction(&self.limits);
        batch.push(&self.history.create_if_missing());
        for (index, &step) in steps.iter().enumerate() {
            batch.push_migration(index, &step.script().sql);
            batch.push(&self.bookkeeping(step, EXECUTION_TIME_NANOS));
        }
        batch.commit();

        for attempt in 1..=self.lock_retries {
            let started = Instant::now();
            let error = match self.conn.execute(AssertSqlSafe(batch.sql())).await {
                Ok(_) => {
                    self.history.missing = false;
                    return Ok(started.elapsed());
                }
                Err(error) => error,
            };
            // The session is now in an aborted transaction, or in none when the text did not
            // parse. It is rolled back before being used again (then the same batch is sent
            // again: the rollback undid all of it); after a final failure the caller closes it,
            // which rolls back on the server.
            if is_lock_timeout(&error) && attempt < self.lock_retries {
                self.conn.execute("ROLLBACK").await?;
                self.pause_before_retry(
                    &format!("{} {}", steps[0].verb(), describe_steps(steps)),
                    attempt,
                )
                .await;
                continue;
            }
            let located = self.locate(&error, &batch, steps).await;
            return Err(self.failure(&error, steps, located, attempt));
        }
        unreachable!("the last attempt returns")
    }

    /// A `-- no-transaction` file: the statement alone (PostgreSQL would wrap a longer message
    /// in a transaction), then its bookkeeping.
    async fn run_alone(&mut self, step: Step<'_>) -> Result<Duration> {
        let migration = step.migration();
        let script = step.script();
        self.conn
            .execute(AssertSqlSafe(self.limits.set_statements("")))
            .await?;
        let invalid_before = invalid_indexes(self.conn).await?;
        let started = Instant::now();
        let outcome = self.conn.execute(AssertSqlSafe(script.sql.as_str())).await;
        let elapsed = started.elapsed();
        let reset = self
            .conn
            .execute("RESET lock_timeout; RESET statement_timeout;")
            .await;
        if let Err(error) = outcome {
            let line = pg_error(&error).and_then(|pg| match pg.position() {
                Some(PgErrorPosition::Original(position)) => {
                    Some(line_of(&script.sql, position - 1))
                }
                _ => None,
            });
            let mut failure = self.failure(&error, &[step], line.map(|line| (0, line)), 1);
            let left: Vec<String> = invalid_indexes(self.conn)
                .await?
                .into_iter()
                .filter(|index| !invalid_before.contains(index))
                .collect();
            for index in left {
                failure.lines.push(format!(
                    "{}: the failed statement left the INVALID index {index}; remove it with \
                     `DROP INDEX CONCURRENTLY IF EXISTS {index};` before running migrate again",
                    self.path(script)
                ));
            }
            return Err(failure);
        }
        reset?;
        let nanos = elapsed.as_nanos().min(i64::MAX as u128).to_string();
        self.conn
            .execute(AssertSqlSafe(format!("{}{}", self.history.create_if_missing(), self.bookkeeping(step, &nanos))))
            .await
            .map_err(|e| {
                Failure::new(format!(
                    "{} ran, but recording it in the history table failed: {e}; \
                     the change is in place: record it with `migrate baseline --force --to {}` or undo it by hand",
                    migration.label(),
                    migration.version
                ))
            })?;
        self.history.missing = false;
        Ok(elapsed)
    }

    /// After attempt `attempt` of `what` hit lock_timeout (and was rolled back): says so, and
    /// waits a growing, jittered pause.
    pub(crate) async fn pause_before_retry(&self, what: &str, attempt: u32) {
        let pause = retry_pause(attempt);
        tracing::warn!(
            "{what}: attempt {attempt}/{} gave up waiting for a table lock after {:?} (lock_timeout); \
             rolled back, retrying in {pause:.1?}",
            self.lock_retries,
            self.limits.lock_timeout,
        );
        tokio::time::sleep(pause).await;
    }

    pub async fn announce(&mut self) -> Result<()> {
        announce(self.conn).await
    }

    pub(crate) fn bookkeeping(&self, step: Step<'_>, execution_time: &str) -> String {
        let m = step.migration();
        match step {
            Step::Apply(_) => format!(
                "INSERT INTO {} (version, description, success, checksum, execution_time) \
                 VALUES ({}, {}, TRUE, decode('{}', 'hex'), {execution_time});\n",
                self.history.name,
                m.version,
                literal(&m.description()),
                hex::encode(&m.checksum)
            ),
            Step::Revert(_) => format!(
                "DELETE FROM {} WHERE version = {};\n",
                self.history.name, m.version
            ),
        }
    }

    /// Which step failed, and at which line of its file. A position tells directly; without
    /// one, a batch of several steps is replayed one by one in a transaction that is then
    /// rolled back, to find the step that fails.
    async fn locate(
        &mut self,
        error: &sqlx::Error,
        batch: &Batch,
        steps: &[Step<'_>],
    ) -> Option<(usize, usize)> {
        if let Some(Some(located)) = pg_error(error).map(|pg| match pg.position() {
            Some(PgErrorPosition::Original(position)) => {
                batch.locate(position, |i| steps[i].script().sql.clone())
            }
            _ => None,
        }) {
            return Some((located.index, located.line));
        }
        if steps.len() == 1 {
            return None;
        }
        pg_error(error)?; // without a server error the connection is gone: nothing to replay on
        let mut failed = None;
        // Execution errors (no position) always happen inside the batch's transaction.
        let _ = self.conn.execute("ROLLBACK").await;
        if self
            .conn
            .execute(AssertSqlSafe(format!(
                "BEGIN;\n{}{}",
                self.limits.set_statements("LOCAL"),
                self.history.create_if_missing()
            )))
            .await
            .is_ok()
        {
            for (index, &step) in steps.iter().enumerate() {
                let sql = format!("{}\n;\n{}", step.script().sql, self.bookkeeping(step, "-1"));
                if self.conn.execute(AssertSqlSafe(sql)).await.is_err() {
                    failed = Some(index);
                    break;
                }
            }
        }
        let _ = self.conn.execute("ROLLBACK").await;
        failed.map(|index| (index, 0))
    }

    pub(crate) fn failure(
        &self,
        error: &sqlx::Error,
        steps: &[Step<'_>],
        located: Option<(usize, usize)>,
        attempts: u32,
    ) -> Failure {
        let step = located
            .map(|(index, _)| steps[index])
            .or(if steps.len() == 1 {
                Some(steps[0])
            } else {
                None
            });
        let place = match (step, located) {
            (Some(step), Some((_, line))) if line > 0 => {
                format!(
                    "{} {} failed at {} line {line}",
                    step.verb(),
                    step.migration().label(),
                    self.path(step.script())
                )
            }
            (Some(step), _) => format!(
                "{} {} failed ({})",
                step.verb(),
                step.migration().label(),
                self.path(step.script())
            ),
            (None, _) => format!("{} {} failed", steps[0].verb(), describe_steps(steps)),
        };
        let rolled_back = match (steps.len(), steps[0]) {
            (n, _) if n > 1 => format!(
                "the whole batch of {n} migrations was rolled back; nothing of it was applied"
            ),
            (_, Step::Apply(_)) if !steps[0].script().no_transaction => {
                "it was rolled back; nothing of it remains".to_owned()
            }
            (_, Step::Revert(_)) if !steps[0].script().no_transaction => {
                "it was rolled back; the migration is still applied".to_owned()
            }
            _ => "it ran outside a transaction, so check what it left".to_owned(),
        };
        let Some(pg) = pg_error(error) else {
            return Failure::new(format!(
                "{place}: lost the connection: {error}. PostgreSQL commits a migration together with its \
                 history row or not at all: run `migrate status` to see which happened, then run migrate again"
            ));
        };
        let mut message = format!("{place}: {} {}", pg.code(), pg.message());
        if let Some(detail) = pg.detail() {
            message += &format!(" ({detail})");
        }
        if let Some(hint) = pg.hint() {
            message += &format!(" hint: {hint}");
        }
        if is_lock_timeout(error) {
            message += &format!(
                "; still blocked after {attempts} attempts with lock_timeout {:?}: find the blocking session in \
                 pg_stat_activity, or retry later (--lock-timeout, --lock-retries)",
                self.limits.lock_timeout
            );
        }
        Failure::new(format!(
            "{message}; {rolled_back}; fix it and run migrate again"
        ))
    }

    fn path(&self, script: &Script) -> String {
        self.set.origin().path_of(&script.file)
    }
}

/// Wakes the api and workers waiting at the schema gate (they also poll, slowly).
pub async fn announce(conn: &mut PgConnection) -> Result<()> {
    conn.execute(AssertSqlSafe(format!("NOTIFY {SCHEMA_CHANGED_CHANNEL}")))
        .await?;
    Ok(())
}

fn describe_steps(steps: &[Step<'_>]) -> String {
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

pub(crate) fn pg_error(error: &sqlx::Error) -> Option<&PgDatabaseError> {
    error
        .as_database_error()?
        .try_downcast_ref::<PgDatabaseError>()
}

pub fn is_lock_timeout(error: &sqlx::Error) -> bool {
    pg_error(error).is_some_and(|pg| pg.code() == "55P03")
}

/// 0.5 s, 1 s, 2 s, ... capped at 10 s, each scaled by a random 50–100 % so that runners and
/// traffic do not fall into step.
fn retry_pause(attempt: u32) -> Duration {
    let base = Duration::from_millis(500).saturating_mul(1 << (attempt - 1).min(10));
    base.min(MAX_RETRY_PAUSE)
        .mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// The 1-based line of character offset `offset` (0-based) in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    1 + text.chars().take(offset).filter(|&c| c == '\n').count()
}

async fn invalid_indexes(conn: &mut PgConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT format('%I.%I', n.nspname, c.relname) AS "name!"
           FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE NOT i.indisvalid"#
    )
    .fetch_all(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_pauses_grow_and_stay_bounded() {
        for attempt in 1..=20 {
            let pause = retry_pause(attempt);
            let base = Duration::from_millis(500)
                .saturating_mul(1 << (attempt - 1).min(10))
                .min(MAX_RETRY_PAUSE);
            assert!(
                pause >= base / 2 && pause <= base,
                "attempt {attempt}: {pause:?}"
            );
        }
    }

    #[test]
    fn lines_are_counted_from_character_offsets() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("é\nx", 2), 2);
    }
}
