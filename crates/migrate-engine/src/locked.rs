//! The locked section: every command that changes a schema runs inside one. It takes the
//! migration lock, finds the history table once, opens the run of the audit trail, hands the
//! work one [`Locked`] value holding all three, and ends with one message: the lock released,
//! the run's row completed, and the applications at the schema gate told when the schema
//! changed.

use sqlx::{AssertSqlSafe, Executor};

use crate::{
    audit::Run, engine::Engine, error::Result, gate::SCHEMA_CHANGED_CHANNEL, history::HistoryTable,
    lock::MigrationLock, message::Limits, runner::Runner, session::Session,
};

/// Whether a locked section is a run of the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audited {
    Yes,
    /// The rehearsal: a scratch database, whose tables it must not add to.
    No,
}

/// What the work under the migration lock gets.
pub(crate) struct Locked<'s> {
    pub session: &'s mut Session,
    pub history: HistoryTable,
    /// The run of the audit trail this section is, unless it is not audited.
    pub audit: Option<Run>,
    /// The schema changed: the applications at the schema gate are told as the section ends.
    pub changed: bool,
}

impl Engine<'_> {
    /// Runs `work` holding the migration lock, as a run of the audit trail unless told
    /// otherwise, and releases the lock afterwards.
    pub(crate) async fn locked<T>(
        &self,
        session: &mut Session,
        audited: Audited,
        work: impl AsyncFnOnce(&mut Locked<'_>) -> Result<T>,
    ) -> Result<T> {
        let (lock, waited) = MigrationLock::acquire(session, self.policy().lock_wait).await?;
        let opened = async {
            let history = HistoryTable::locate(&mut session.conn, self.set().config()).await?;
            let audit = match audited {
                Audited::Yes => {
                    Some(Run::start(&mut session.conn, &history, self.info(), waited).await?)
                }
                Audited::No => None,
            };
            Ok::<_, crate::Error>((history, audit))
        }
        .await;
        let (history, audit) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                let _ = session
                    .conn
                    .execute(AssertSqlSafe(lock.release_sql()))
                    .await;
                return Err(e);
            }
        };
        let mut locked = Locked {
            session,
            history,
            audit,
            changed: false,
        };
        let outcome = work(&mut locked).await;
        // The lock goes first: should recording the end fail, it is released all the same.
        // A runner that takes it at once waits for this run's row until it is complete.
        let mut end = lock.release_sql();
        if let Some(run) = &locked.audit {
            end += &run.finish_sql(&outcome);
        }
        if locked.changed {
            end += &format!("NOTIFY {SCHEMA_CHANGED_CHANNEL};\n");
        }
        if let Err(e) = locked.session.conn.execute(AssertSqlSafe(end)).await {
            // After a failure the connection may be unusable; closing it releases the lock.
            tracing::warn!("could not record the end of this run: {e}");
        }
        outcome
    }
}

impl Locked<'_> {
    /// A runner on the locked session, recording in this section's run.
    pub fn runner<'r>(&'r mut self, engine: &'r Engine<'_>) -> Runner<'r> {
        let policy = engine.policy();
        Runner {
            conn: &mut self.session.conn,
            monitor: self.session.monitor.as_mut(),
            pid: self.session.pid,
            settings: &self.session.settings,
            shutdown: &self.session.shutdown,
            set: engine.set(),
            history: &mut self.history,
            audit: self.audit.as_ref(),
            limits: Limits {
                lock_timeout: policy.lock_timeout,
                statement_timeout: policy.statement_timeout,
            },
            lock_retries: policy.lock_retries,
            replay: false,
            before_commit: None,
        }
    }
}
