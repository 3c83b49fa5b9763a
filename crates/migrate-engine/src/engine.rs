//! The engine: a checked set of migrations and the policy to apply them with. Every command
//! that changes the schema runs under the migration lock, on the session's one connection.

use std::time::{Duration, Instant};

use migrate_core::{Migration, MigrationSet};
use sqlx::{AssertSqlSafe, Executor, PgConnection};

use crate::{
    audit::{Audit, RunInfo},
    baseline::{self, BaselineOptions},
    error::{Error, ErrorKind, Result},
    gate::SCHEMA_CHANGED_CHANNEL,
    history::{HistoryTable, read_history},
    lock::MigrationLock,
    message::Limits,
    plan::{self, DownOptions, UpOptions},
    runner::{Grouping, Runner, Step},
    session::Session,
    status::StatusReport,
};

/// How the engine treats other runners and busy tables.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How long to wait for another runner's migration lock.
    pub lock_wait: Duration,
    /// Per attempt, how long a migration may wait for a table lock before it is rolled back.
    pub lock_timeout: Duration,
    /// How many attempts a migration gets when it keeps hitting `lock_timeout`.
    pub lock_retries: u32,
    /// Cancel any statement running longer (none by default).
    pub statement_timeout: Option<Duration>,
    /// Whether [`Engine::down`] may revert migrations. Production is forward-only: off by
    /// default, and a refused `down` is recorded like any other run.
    pub allow_down: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            lock_wait: Duration::from_secs(600),
            lock_timeout: Duration::from_millis(100),
            lock_retries: 30,
            statement_timeout: None,
            allow_down: false,
        }
    }
}

/// A set of migrations and the policy to apply them with.
pub struct Engine<'s> {
    set: &'s MigrationSet,
    policy: Policy,
    run: RunInfo,
}

/// Whether a locked section is a run of the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audited {
    Yes,
    /// The rehearsal: a scratch database, whose tables it must not add to.
    No,
}

impl<'s> Engine<'s> {
    /// An engine for `set`, acting by `policy`.
    pub fn new(set: &'s MigrationSet, policy: Policy) -> Self {
        Self {
            set,
            policy,
            run: RunInfo::default(),
        }
    }

    /// Says what the audit trail records of each run: the command and the build.
    pub fn recording(mut self, run: RunInfo) -> Self {
        self.run = run;
        self
    }

    /// The set this engine applies.
    pub fn set(&self) -> &'s MigrationSet {
        self.set
    }

    /// Every migration known to the set or the database, with its state. Takes no lock.
    pub async fn status(&self, session: &mut Session) -> Result<StatusReport> {
        let history = read_history(&mut session.conn, self.table()).await?;
        let mut report = StatusReport::compare(self.set, &history);
        let table = HistoryTable::locate(&mut session.conn, self.set.config()).await?;
        let applied_by = Audit::beside(&table).applied_by(&mut session.conn).await?;
        for entry in &mut report.entries {
            entry.applied_by = applied_by.get(&entry.version).cloned();
        }
        Ok(report)
    }

    /// What [`Engine::up`] would apply, oldest first; changes nothing (not even the history table).
    pub async fn plan_up(
        &self,
        session: &mut Session,
        options: &UpOptions,
    ) -> Result<Vec<&'s Migration>> {
        plan::require_known(self.set, options.to)?;
        let history = read_history(&mut session.conn, self.table()).await?;
        plan::up(self.set, &history, options)
    }

    /// What [`Engine::down`] would revert, newest first; changes nothing.
    pub async fn plan_down(
        &self,
        session: &mut Session,
        options: &DownOptions,
    ) -> Result<Vec<&'s Migration>> {
        let history = read_history(&mut session.conn, self.table()).await?;
        plan::down(self.set, &history, options)
    }

    /// Applies pending migrations, oldest first; returns their versions.
    pub async fn up(&self, session: &mut Session, options: &UpOptions) -> Result<Vec<i64>> {
        plan::require_known(self.set, options.to)?;
        self.locked(session, Audited::Yes, async |session| {
            let history = read_history(&mut session.conn, self.table()).await?;
            let pending = plan::up(self.set, &history, options)?;
            let Some(last) = pending.last() else {
                tracing::info!(
                    "nothing to apply: the database already has every migration of this build"
                );
                return Ok(Vec::new());
            };
            // About what is to run, and about files no migration uses; not about history.
            let concerns =
                |v: i64| pending.iter().any(|m| m.version == v) || self.set.get(v).is_none();
            for warning in self.set.warnings() {
                if warning.version.is_none_or(concerns) {
                    tracing::warn!("{warning}");
                }
            }
            let started = Instant::now();
            let steps: Vec<Step<'_>> = pending.iter().map(|m| Step::Apply(m)).collect();
            let grouping = if options.single_transaction {
                Grouping::Together
            } else {
                Grouping::Each {
                    per_message: options.per_message,
                }
            };
            self.runner(session).await?.run(&steps, grouping).await?;
            tracing::info!(
                "applied {} migration(s) in {:.1?}; the database is at {}",
                pending.len(),
                started.elapsed(),
                last.label()
            );
            announce(&mut session.conn).await?;
            Ok(pending.iter().map(|m| m.version).collect())
        })
        .await
    }

    /// Reverts applied migrations, newest first; returns their versions. Refused (and the
    /// refusal recorded) unless the policy allows it.
    pub async fn down(&self, session: &mut Session, options: &DownOptions) -> Result<Vec<i64>> {
        self.locked(session, Audited::Yes, async |session| {
            if !self.policy.allow_down {
                return Err(Error::new(
                    ErrorKind::Refused,
                    "migrate down is refused: this database is forward-only. Where a rollback is approved, \
                     pass --allow-down (or set MIGRATE_ALLOW_DOWN=1); otherwise undo the change in a new migration",
                ));
            }
            let history = read_history(&mut session.conn, self.table()).await?;
            let targets = plan::down(self.set, &history, options)?;
            if targets.is_empty() {
                tracing::info!("nothing to revert");
                return Ok(Vec::new());
            }
            let steps: Vec<Step<'_>> = targets.iter().map(|m| Step::Revert(m)).collect();
            let one_by_one = Grouping::Each {
                per_message: Some(1),
            };
            self.runner(session).await?.run(&steps, one_by_one).await?;
            announce(&mut session.conn).await?;
            let history = read_history(&mut session.conn, self.table()).await?;
            match history.iter().rev().find(|a| a.success) {
                Some(a) => tracing::info!(
                    "the database is at {}_{}",
                    a.version,
                    a.description.replace(' ', "_")
                ),
                None => tracing::info!("no migration is applied any more"),
            }
            Ok(targets.iter().map(|m| m.version).collect())
        })
        .await
    }

    /// Records migrations as applied without running them, for a database that already has
    /// their schema; returns their versions.
    pub async fn baseline(
        &self,
        session: &mut Session,
        options: &BaselineOptions,
    ) -> Result<Vec<i64>> {
        plan::require_known(self.set, options.to)?;
        self.locked(session, Audited::Yes, async |session| {
            let recorded =
                baseline::record(&mut session.conn, self.set, options, session.run.as_ref())
                    .await?;
            if !recorded.is_empty() {
                announce(&mut session.conn).await?;
            }
            Ok(recorded)
        })
        .await
    }

    /// Runs `work` holding the migration lock, as a run of the audit trail unless told
    /// otherwise, and releases the lock afterwards.
    pub(crate) async fn locked<T>(
        &self,
        session: &mut Session,
        audited: Audited,
        work: impl AsyncFnOnce(&mut Session) -> Result<T>,
    ) -> Result<T> {
        let (lock, waited) =
            MigrationLock::acquire(&mut session.conn, self.policy.lock_wait).await?;
        let audit = match audited {
            Audited::Yes => {
                let history = HistoryTable::locate(&mut session.conn, self.set.config()).await?;
                Some(Audit::beside(&history))
            }
            Audited::No => None,
        };
        let outcome = match &audit {
            Some(audit) => match audit.start(&mut session.conn, &self.run, waited).await {
                Ok(run) => {
                    session.run = Some(run);
                    let outcome = work(session).await;
                    if let Some(run) = session.run.take()
                        && let Err(e) = run.finish(&mut session.conn, &outcome).await
                    {
                        tracing::warn!("could not record the end of this run: {e}");
                    }
                    outcome
                }
                Err(e) => Err(e),
            },
            None => work(session).await,
        };
        // After a failure the connection may be unusable; closing it releases the lock anyway.
        let released = lock.release(&mut session.conn).await;
        let value = outcome?;
        released?;
        Ok(value)
    }

    pub(crate) async fn runner<'c>(&'c self, session: &'c mut Session) -> Result<Runner<'c>> {
        let Session {
            conn,
            monitor,
            pid,
            run,
            ..
        } = session;
        let mut runner = self.runner_on(conn, monitor.as_mut(), *pid).await?;
        runner.run = run.as_ref();
        Ok(runner)
    }

    /// A runner on `conn`, whose blockers `monitor` names.
    pub(crate) async fn runner_on<'c>(
        &'c self,
        conn: &'c mut PgConnection,
        monitor: Option<&'c mut PgConnection>,
        pid: Option<i32>,
    ) -> Result<Runner<'c>> {
        let history = HistoryTable::locate(conn, self.set.config()).await?;
        Ok(Runner {
            conn,
            monitor,
            pid,
            set: self.set,
            history,
            limits: Limits {
                lock_timeout: self.policy.lock_timeout,
                statement_timeout: self.policy.statement_timeout,
            },
            lock_retries: self.policy.lock_retries,
            replay: false,
            before_commit: None,
            run: None,
        })
    }

    pub(crate) fn table(&self) -> &str {
        self.set.config().table.as_sql()
    }
}

/// Wakes the api and workers waiting at the schema gate (they also poll, slowly).
async fn announce(conn: &mut PgConnection) -> Result<()> {
    conn.execute(AssertSqlSafe(format!("NOTIFY {SCHEMA_CHANGED_CHANNEL}")))
        .await?;
    Ok(())
}
