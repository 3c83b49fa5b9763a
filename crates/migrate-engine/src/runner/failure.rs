//! The line a failed step leaves: which migration, which file and line, the server's own
//! words (SQLSTATE, message, detail, hint), what was rolled back, and what to do.

use migrate_core::sql_text::statements;
use sqlx::{
    AssertSqlSafe, Executor,
    postgres::{PgDatabaseError, PgErrorPosition},
};

use super::{Runner, Step, describe};
use crate::{
    blockers::Blocker,
    error::{Error, ErrorKind},
    retry,
};

/// The server's error, when there is one.
fn pg_error(error: &sqlx::Error) -> Option<&PgDatabaseError> {
    error
        .as_database_error()?
        .try_downcast_ref::<PgDatabaseError>()
}

/// The 1-based character position the server points at in what it was sent.
pub(super) fn position(error: &sqlx::Error) -> Option<usize> {
    match pg_error(error)?.position()? {
        PgErrorPosition::Original(position) => Some(position),
        _ => None,
    }
}

impl Runner<'_> {
    /// Which of `steps` fails, when the server gave no position: they are replayed one by one
    /// in a transaction that is then rolled back.
    pub(super) async fn find_failing(&mut self, steps: &[Step<'_>]) -> Option<usize> {
        let mut failed = None;
        let begin = format!(
            "BEGIN;\n{}{}",
            self.limits.set_statements("LOCAL"),
            self.history.setup()
        );
        if self.conn.execute(AssertSqlSafe(begin)).await.is_ok() {
            for (index, &step) in steps.iter().enumerate() {
                let sql = format!(
                    "{}\n;\n{}",
                    step.script().sql,
                    self.bookkeeping(step, "-1", 1)
                );
                if self.conn.execute(AssertSqlSafe(sql)).await.is_err() {
                    failed = Some(index);
                    break;
                }
            }
        }
        let _ = self.conn.execute("ROLLBACK").await;
        failed
    }

    /// The line of the statement of `step` that failed, when the server gave no position: the
    /// only statement's; with [`Runner::replay`], the first that fails when they run one by one
    /// in a transaction that is then rolled back.
    pub(super) async fn find_line(&mut self, step: Step<'_>) -> Option<usize> {
        let script = step.script();
        let statements = statements(&script.sql);
        if let [only] = statements.as_slice() {
            return Some(only.line);
        }
        if !self.replay || script.no_transaction || script.controls_transactions {
            return None;
        }
        let mut line = None;
        let begin = format!("BEGIN;\n{}", self.limits.set_statements("LOCAL"));
        if self.conn.execute(AssertSqlSafe(begin)).await.is_ok() {
            for statement in &statements {
                if self
                    .conn
                    .execute(AssertSqlSafe(statement.text.to_owned()))
                    .await
                    .is_err()
                {
                    line = Some(statement.line);
                    break;
                }
            }
        }
        let _ = self.conn.execute("ROLLBACK").await;
        line
    }

    /// The failure of `steps` (one, unless they ran in one transaction); `located` is the index
    /// of the failing one and the line in its file (0: unknown).
    pub(super) fn failure(
        &self,
        error: &sqlx::Error,
        steps: &[Step<'_>],
        located: Option<(usize, usize)>,
        attempts: u32,
        blocker: Option<&Blocker>,
    ) -> Error {
        let step = located
            .map(|(index, _)| steps[index])
            .or(if steps.len() == 1 {
                Some(steps[0])
            } else {
                None
            });
        let place = match (step, located) {
            (Some(step), Some((_, line))) if line > 0 => format!(
                "{} {} failed at {} line {line}",
                step.verb(),
                step.migration().label(),
                self.path(step.script())
            ),
            (Some(step), _) => format!(
                "{} {} failed ({})",
                step.verb(),
                step.migration().label(),
                self.path(step.script())
            ),
            (None, _) => format!("{} {} failed", steps[0].verb(), describe(steps)),
        };
        let rolled_back = match (steps.len(), steps[0]) {
            (n, _) if n > 1 => {
                format!(
                    "the whole batch of {n} migrations was rolled back; nothing of it was applied"
                )
            }
            (_, step) if step.script().no_transaction => {
                "it ran outside a transaction, so check what it left".to_owned()
            }
            (_, Step::Apply(_)) => "it was rolled back; nothing of it remains".to_owned(),
            (_, Step::Revert(_)) => "it was rolled back; the migration is still applied".to_owned(),
        };
        let Some(pg) = pg_error(error) else {
            return Error::new(
                ErrorKind::Failed,
                format!(
                    "{place}: lost the connection: {error}. PostgreSQL commits a migration together with its \
                     history row or not at all: run `migrate status` to see which happened, then run migrate again"
                ),
            );
        };
        let mut message = format!("{place}: {} {}", pg.code(), pg.message());
        if let Some(detail) = pg.detail() {
            message += &format!(" ({detail})");
        }
        if let Some(hint) = pg.hint() {
            message += &format!(" hint: {hint}");
        }
        if retry::is_lock_timeout(error) {
            let what_to_do = match blocker {
                Some(blocker) => format!(
                    ", the last time by {blocker}: let it finish or end it, then run migrate again \
                     (--lock-timeout, --lock-retries wait longer)"
                ),
                None => ": find the blocking session in pg_stat_activity, or retry later \
                          (--lock-timeout, --lock-retries)"
                    .to_owned(),
            };
            message += &format!(
                "; still blocked after {attempts} attempts with lock_timeout {:?}{what_to_do}",
                self.limits.lock_timeout
            );
        }
        Error::new(
            ErrorKind::Failed,
            format!("{message}; {rolled_back}; fix it and run migrate again"),
        )
    }
}
