//! `migrate up` without `--single-transaction`: every migration in its own transaction, but
//! consecutive ones sent several to a message, so a long list of small migrations does not
//! wait for a round trip each.
//!
//! PostgreSQL runs a message's transactions in order and stops at the first error: those
//! before it are committed, the failing one is rolled back, the rest never run. That is the
//! outcome of sending them one by one; which ones landed is read back from the history table.
//! A message that does not parse runs nothing at all, so the migrations before the one that
//! does not parse are sent again on their own first.
//!
//! A message holds as many migrations as the pace of those before it says fit in about
//! [`MESSAGE_TARGET`] (starting from one, at most doubling): slow migrations still go one by
//! one, so progress is logged as it happens, and a runner killed mid-message leaves the server
//! little of its message to finish.

use std::time::{Duration, Instant};

use app::migrations::Migration;
use sqlx::{AssertSqlSafe, Executor, postgres::PgErrorPosition};

use crate::{
    batch::{Batch, EXECUTION_TIME_NANOS, Located},
    failure::Result,
    runner::{Runner, Step, is_lock_timeout, pg_error},
};

/// About this much work to a message...
const MESSAGE_TARGET: Duration = Duration::from_millis(25);
/// ...at most this many migrations (unless `--per-message` says otherwise)...
const MAX_PER_MESSAGE: usize = 64;
/// ...and no more text than this, once it holds one.
const MAX_MESSAGE_BYTES: usize = 512 * 1024;

impl Runner<'_> {
    /// Applies `pending` in order, each in its own transaction, logging each one applied;
    /// `per_message` fixes how many go to a message.
    pub async fn apply_each(
        &mut self,
        pending: &[&Migration],
        per_message: Option<usize>,
    ) -> Result<()> {
        let mut next = 0;
        let mut attempt = 1;
        let mut size = per_message.unwrap_or(1);
        // Set for one message: send only the migrations before one that did not parse.
        let mut limit = None;
        while next < pending.len() {
            if pending[next].up.no_transaction {
                let took = self.run(Step::Apply(pending[next])).await?;
                tracing::info!("applied {} in {took:.1?}", pending[next].label());
                (next, attempt) = (next + 1, 1);
                continue;
            }
            let (chunk, batch) = self.message(&pending[next..], limit.take().unwrap_or(size));
            let started = Instant::now();
            let error = match self.conn.execute(AssertSqlSafe(batch.sql())).await {
                Ok(_) => {
                    self.history.missing = false;
                    self.log_applied(chunk).await?;
                    if per_message.is_none() {
                        size = next_size(chunk.len(), started.elapsed());
                    }
                    (next, attempt) = (next + chunk.len(), 1);
                    continue;
                }
                Err(error) => error,
            };
            let steps: Vec<Step<'_>> = chunk.iter().map(|m| Step::Apply(m)).collect();
            if pg_error(&error).is_none() {
                // The connection is gone: which of them committed is for `migrate status` to say.
                return Err(self.failure(&error, &steps, None, attempt));
            }
            // An aborted transaction is left open; after a parse error there is none (a warning).
            self.conn.execute("ROLLBACK").await?;
            let landed = self.landed(chunk).await?;
            if landed > 0 {
                self.history.missing = false;
                self.log_applied(&chunk[..landed]).await?;
                (next, attempt) = (next + landed, 1);
            }
            let located = located(&error, &batch, chunk);
            if let Some(at) = located
                && at.index > landed
            {
                limit = Some(at.index - landed);
                continue;
            }
            if is_lock_timeout(&error) && attempt < self.lock_retries {
                self.pause_before_retry(&format!("applying {}", chunk[landed].label()), attempt)
                    .await;
                attempt += 1;
                continue;
            }
            let line = located.filter(|at| at.line > 0).map(|at| (0, at.line));
            return Err(self.failure(&error, &steps[landed..=landed], line, attempt));
        }
        Ok(())
    }

    /// The next migrations that go together, and their message. The first one creates the
    /// history table when it is missing, and goes alone: what landed is read from that table.
    fn message<'p, 's>(
        &self,
        pending: &'p [&'s Migration],
        limit: usize,
    ) -> (&'p [&'s Migration], Batch) {
        let limit = if self.history.missing { 1 } else { limit };
        let mut batch = Batch::default();
        let mut count = 0;
        for (index, &migration) in pending.iter().enumerate().take(limit) {
            if migration.up.no_transaction
                || (count > 0 && batch.bytes() + migration.up.sql.len() > MAX_MESSAGE_BYTES)
            {
                break;
            }
            batch.begin(&self.limits);
            batch.push(&self.history.create_if_missing());
            batch.push_migration(index, &migration.up.sql);
            batch.push(&self.bookkeeping(Step::Apply(migration), EXECUTION_TIME_NANOS));
            batch.commit();
            count += 1;
        }
        (&pending[..count], batch)
    }

    /// How many of `chunk`, from its start, are recorded as applied.
    async fn landed(&mut self, chunk: &[&Migration]) -> Result<usize> {
        if chunk.len() == 1 {
            return Ok(0); // its own transaction failed
        }
        let count: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM {} WHERE version IN ({})",
            self.history.name,
            versions(chunk)
        )))
        .fetch_one(&mut *self.conn)
        .await?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// One line per migration, with the time its transaction recorded.
    async fn log_applied(&mut self, applied: &[&Migration]) -> Result<()> {
        let times: Vec<(i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT version, execution_time FROM {} WHERE version IN ({})",
            self.history.name,
            versions(applied)
        )))
        .fetch_all(&mut *self.conn)
        .await?;
        for migration in applied {
            let took = times
                .iter()
                .find(|(version, _)| *version == migration.version)
                .map(|&(_, nanos)| Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)));
            match took {
                Some(took) => tracing::info!("applied {} in {took:.1?}", migration.label()),
                None => tracing::info!("applied {}", migration.label()),
            }
        }
        Ok(())
    }
}

/// Where the server's error position falls among `chunk`'s files, if it gave one.
fn located(error: &sqlx::Error, batch: &Batch, chunk: &[&Migration]) -> Option<Located> {
    match pg_error(error)?.position()? {
        PgErrorPosition::Original(position) => {
            batch.locate(position, |index| chunk[index].up.sql.clone())
        }
        _ => None,
    }
}

/// How many migrations the next message holds, after `sent` took `took`.
fn next_size(sent: usize, took: Duration) -> usize {
    let fit = match took.as_nanos() {
        0 => MAX_PER_MESSAGE,
        nanos => usize::try_from(MESSAGE_TARGET.as_nanos() * sent as u128 / nanos)
            .unwrap_or(MAX_PER_MESSAGE),
    };
    fit.min(sent * 2).clamp(1, MAX_PER_MESSAGE)
}

fn versions(migrations: &[&Migration]) -> String {
    migrations
        .iter()
        .map(|m| m.version.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_grow_with_fast_migrations_and_shrink_with_slow_ones() {
        let ms = Duration::from_millis;
        assert_eq!(next_size(1, ms(1)), 2, "at most doubling");
        assert_eq!(next_size(40, ms(4)), MAX_PER_MESSAGE, "capped");
        assert_eq!(next_size(16, ms(16)), 25, "about 25 ms of work");
        assert_eq!(next_size(10, ms(500)), 1, "slow ones go one by one");
        assert_eq!(next_size(4, Duration::ZERO), 8);
    }
}
