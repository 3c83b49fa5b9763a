//! A `-- no-transaction` migration: its statement alone (PostgreSQL would wrap a longer message
//! in a transaction), then its bookkeeping. Never retried: what a failure left behind (a failed
//! `CREATE INDEX CONCURRENTLY` leaves an INVALID index) must be looked at first.

use std::time::Instant;

use sqlx::{AssertSqlSafe, Executor, PgConnection};

use super::{Runner, failure, send::Reply};
use crate::{
    error::{Error, ErrorKind, Result},
    message::{Message, line_of},
    step::Step,
};

impl Runner<'_> {
    pub(super) async fn alone(&mut self, step: Step<'_>) -> Result<()> {
        let migration = step.migration();
        let script = step.script();
        self.conn
            .execute(AssertSqlSafe(self.limits.for_session()))
            .await?;
        let invalid_before = invalid_indexes(self.conn).await?;
        let started = Instant::now();
        let Reply {
            error, interrupted, ..
        } = self.send(&Message::alone(step), &[]).await;
        let took = started.elapsed();
        let reset = self
            .conn
            .execute("RESET lock_timeout; RESET statement_timeout;")
            .await;
        if let Some(error) = error {
            let line = match failure::position(&error) {
                Some(position) => Some(line_of(&script.sql, position - 1)),
                None => self.find_line(step).await,
            };
            let mut failed = match interrupted {
                Some(signal) => Error::interrupted(
                    signal,
                    &format!(
                        "{} {} was cancelled; it ran outside a transaction, so check what it left",
                        step.verb(),
                        migration.label()
                    ),
                ),
                None => self.failure(&error, &[step], line.map(|line| (0, line)), 1, None),
            };
            let left: Vec<String> = invalid_indexes(self.conn)
                .await?
                .into_iter()
                .filter(|index| !invalid_before.contains(index))
                .collect();
            for index in left {
                failed.push(format!(
                    "{}: the failed statement left the INVALID index {index}; remove it with \
                     `DROP INDEX CONCURRENTLY IF EXISTS {index};` before running migrate again",
                    self.set.path_of(script)
                ));
            }
            self.record_failure(step, 1, &failed).await;
            return Err(failed);
        }
        reset?;
        let bookkeeping = Message::after_alone(&self.frame(), step, took.as_nanos());
        let Reply { error, .. } = self.send(&bookkeeping, &[step]).await;
        if let Some(e) = error {
            return Err(Error::new(
                ErrorKind::Failed,
                format!(
                    "{} ran, but recording it in the history table failed: {e}; the change is in place: \
                     record it with `migrate baseline --force --to {}` or undo it by hand",
                    migration.label(),
                    migration.version
                ),
            ));
        }
        self.history.created();
        Ok(())
    }
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
