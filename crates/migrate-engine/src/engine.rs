//! The engine: a checked set of migrations and the policy to apply them with. Every command
//! that changes the schema runs in a locked section ([`crate::locked`]) on the session's one
//! connection; reading commands take no lock.

use std::time::{Duration, Instant};

use migrate_core::{Migration, MigrationSet};

use crate::{
    audit::{RunInfo, read::Trail},
    baseline::{self, BaselineOptions},
    error::{Error, ErrorKind, Result},
    history::HistoryTable,
    locked::Audited,
    plan::{self, DownOptions, UpOptions},
    session::Session,
    status::StatusReport,
    step::Step,
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
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            lock_wait: Duration::from_secs(600),
            lock_timeout: Duration::from_millis(100),
            lock_retries: 30,
            statement_timeout: None,
        }
    }
}

/// A set of migrations and the policy to apply them with.
pub struct Engine<'s> {
    set: &'s MigrationSet,
    policy: Policy,
    info: RunInfo,
}

impl<'s> Engine<'s> {
    /// An engine for `set`, acting by `policy`.
    pub fn new(set: &'s MigrationSet, policy: Policy) -> Self {
        Self {
            set,
            policy,
            info: RunInfo::default(),
        }
    }

    /// Says what the audit trail records of each run: the command and the build.
    pub fn recording(mut self, info: RunInfo) -> Self {
        self.info = info;
        self
    }

    /// The set this engine applies.
    pub fn set(&self) -> &'s MigrationSet {
        self.set
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(crate) fn info(&self) -> &RunInfo {
        &self.info
    }

    /// Every migration known to the set or the database, with its state. Takes no lock.
    pub async fn status(&self, session: &mut Session) -> Result<StatusReport> {
        let history = HistoryTable::locate(&mut session.conn, self.set.config()).await?;
        let mut report = StatusReport::compare(self.set, &history.read(&mut session.conn).await?);
        let applied_by = Trail::beside(&history)
            .applied_by(&mut session.conn)
            .await?;
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
        let history = HistoryTable::locate(&mut session.conn, self.set.config()).await?;
        Ok(plan::up(self.set, &history.read(&mut session.conn).await?, options)?.pending)
    }

    /// What [`Engine::down`] would revert, newest first; changes nothing.
    pub async fn plan_down(
        &self,
        session: &mut Session,
        options: &DownOptions,
    ) -> Result<Vec<&'s Migration>> {
        let history = HistoryTable::locate(&mut session.conn, self.set.config()).await?;
        plan::down(self.set, &history.read(&mut session.conn).await?, options)
    }

    /// Applies pending migrations, oldest first; returns their versions. A database ahead of
    /// this build (a rollback of the code) gets nothing, and that is fine.
    pub async fn up(&self, session: &mut Session, options: &UpOptions) -> Result<Vec<i64>> {
        plan::require_known(self.set, options.to)?;
        self.locked(session, Audited::Yes, async |locked| {
            let history = locked.history.read(&mut locked.session.conn).await?;
            let plan = plan::up(self.set, &history, options)?;
            if let Some(ahead) = plan.ahead_line() {
                tracing::info!("{ahead}");
            }
            let Some(last) = plan.pending.last() else {
                tracing::info!(
                    "nothing to apply: the database already has every migration of this build"
                );
                return Ok(Vec::new());
            };
            // About what is to run, and about files no migration uses; not about history.
            let concerns =
                |v: i64| plan.pending.iter().any(|m| m.version == v) || self.set.get(v).is_none();
            for warning in self.set.warnings() {
                if warning.version.is_none_or(concerns) {
                    tracing::warn!("{warning}");
                }
            }
            let started = Instant::now();
            let steps: Vec<Step<'_>> = plan.pending.iter().map(|m| Step::Apply(m)).collect();
            let mut runner = locked.runner(self);
            let applied = if options.single_transaction {
                runner.together(&steps).await
            } else {
                runner.each(&steps, options.per_message).await
            };
            locked.changed = true;
            applied?;
            tracing::info!(
                "applied {} migration(s) in {:.1?}; the database is at {}",
                steps.len(),
                started.elapsed(),
                last.label()
            );
            Ok(plan.pending.iter().map(|m| m.version).collect())
        })
        .await
    }

    /// Reverts applied migrations, newest first; returns their versions. Refused (and the
    /// refusal recorded) unless `options.allow_down`: production is forward-only.
    pub async fn down(&self, session: &mut Session, options: &DownOptions) -> Result<Vec<i64>> {
        self.locked(session, Audited::Yes, async |locked| {
            if !options.allow_down {
                return Err(Error::new(
                    ErrorKind::Refused,
                    "migrate down is refused: this database is forward-only. Where a rollback is approved, \
                     pass --allow-down (or set MIGRATE_ALLOW_DOWN=1); otherwise undo the change in a new migration",
                ));
            }
            let history = locked.history.read(&mut locked.session.conn).await?;
            let targets = plan::down(self.set, &history, options)?;
            if targets.is_empty() {
                tracing::info!("nothing to revert");
                return Ok(Vec::new());
            }
            let steps: Vec<Step<'_>> = targets.iter().map(|m| Step::Revert(m)).collect();
            let reverted = locked.runner(self).each(&steps, Some(1)).await;
            locked.changed = true;
            reverted?;
            let history = locked.history.read(&mut locked.session.conn).await?;
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
        self.locked(session, Audited::Yes, async |locked| {
            let recorded = baseline::record(locked, self, options).await?;
            locked.changed = !recorded.is_empty();
            Ok(recorded)
        })
        .await
    }
}
