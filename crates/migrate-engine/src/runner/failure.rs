//! The line a failed step leaves: which migration, which file and line, the server's own
//! words (SQLSTATE, message, detail, hint), what was rolled back, and what to do.

use migrate_core::sql_text::statements;
use sqlx::{
    AssertSqlSafe, Executor,
    postgres::{PgDatabaseError, PgErrorPosition},
};

use migrate_core::sqlstate;

use super::Runner;
use crate::{
    error::{Error, ErrorKind, has_sqlstate},
    holder::Holder,
    message::{Located, Message},
    retry,
    step::{Step, describe},
};

/// The server's error, when there is one.
fn pg_error(error: &sqlx::Error) -> Option<&PgDatabaseError> {
    error
        .as_database_error()?
        .try_downcast_ref::<PgDatabaseError>()
}

/// Whether `error`, pointing at `located` in a message, is a syntax error there: PostgreSQL
/// parses a message whole before it runs any of it, so nothing of it ran.
pub(super) fn nothing_ran(error: &sqlx::Error, located: Option<Located>) -> bool {
    located.is_some() && has_sqlstate(error, sqlstate::SYNTAX_ERROR)
}

/// The 1-based character position the server points at in what it was sent.
pub(super) fn position(error: &sqlx::Error) -> Option<usize> {
    match pg_error(error)?.position()? {
        PgErrorPosition::Original(position) => Some(position),
        _ => None,
    }
}

impl Runner<'_> {
    /// The failure of `steps` (one, unless they ran in one transaction), recorded in the audit
    /// trail; see [`Runner::failure`].
    pub(super) async fn fail(
        &mut self,
        steps: &[Step<'_>],
        error: &sqlx::Error,
        located: Option<(usize, usize)>,
        attempts: u32,
        blocker: Option<&Holder>,
    ) -> Error {
        let failed = self.failure(error, steps, located, attempts, blocker);
        let step = located.map_or(steps[0], |(index, _)| steps[index]);
        self.record_failure(step, attempts, &failed).await;
        failed
    }

    /// `step` was cancelled by `signal` and rolled back: recorded as such.
    pub(super) async fn interrupted(
        &mut self,
        step: Step<'_>,
        signal: &'static str,
        attempts: u32,
    ) -> Error {
        let error = Error::interrupted(
            signal,
            &format!(
                "{} {} was cancelled and rolled back, and nothing after it ran",
                step.verb(),
                step.migration().label()
            ),
        );
        self.record_failure(step, attempts, &error).await;
        error
    }

    /// Which of `steps` fails, when the server gave no position: they are replayed one by one
    /// in a transaction that is then rolled back.
    pub(super) async fn find_failing(&mut self, steps: &[Step<'_>]) -> Option<usize> {
        let mut failed = None;
        let frame = self.frame();
        let trials: Vec<String> = (0..steps.len())
            .map(|index| Message::trial(&frame, steps, index))
            .collect();
        let begin = format!(
            "BEGIN;\n{}{}",
            self.history.setup(),
            self.limits.for_transaction()
        );
        if self.conn.execute(AssertSqlSafe(begin)).await.is_ok() {
            for (index, trial) in trials.into_iter().enumerate() {
                if self.conn.execute(AssertSqlSafe(trial)).await.is_err() {
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
        let begin = format!("BEGIN;\n{}", self.limits.for_transaction());
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
        blocker: Option<&Holder>,
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
                self.set.path_of(step.script())
            ),
            (Some(step), _) => format!(
                "{} {} failed ({})",
                step.verb(),
                step.migration().label(),
                self.set.path_of(step.script())
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
