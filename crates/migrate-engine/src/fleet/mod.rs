//! Many databases, one set of migrations: a database (or a tenant's schema) per customer,
//! migrated by one `migrate fleet up`. Each target is what `migrate up` would see alone: its
//! own connection, lock, history and audit trail; so a fleet run can be stopped and run again,
//! and two fleets started together never apply a migration twice.
//!
//! A target with nothing pending is read once and left: no lock, no audit row. A canary wave
//! goes first, alone; `--on-error stop` starts nothing new after a failure. A shard of the
//! fleet (`--shard I/N`) lets N workers (a Kubernetes Indexed Job) share it.

pub mod targets;

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream::FuturesUnordered};
use serde::Serialize;
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::{
    MigrationSet,
    audit::RunInfo,
    engine::{Engine, Policy},
    error::{Error, ErrorKind, Result},
    gate,
    plan::UpOptions,
    session::Session,
    shutdown::Shutdown,
    status::{State, StatusReport},
};
pub use targets::{Shard, Target};

/// What to do to each target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Apply pending migrations (`migrate up`).
    Up,
    /// Read what each target has (`migrate status`, counted).
    Status,
}

/// After a target fails: go on with the others, or start no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnError {
    /// Migrate every other target; report the failures at the end.
    Continue,
    /// Let the running targets finish, start no other.
    Stop,
}

/// How a fleet is run.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Targets worked on at once.
    pub parallel: usize,
    /// At most this many at once on one server (`host:port`).
    pub per_host: Option<usize>,
    /// The first N targets go first, alone; a failure among them starts no other.
    pub canary: usize,
    /// What a failure does to the targets not started yet.
    pub on_error: OnError,
    /// Per target, how long to keep retrying an unreachable server.
    pub connect_timeout: Duration,
    /// The engine's policy, per target.
    pub policy: Policy,
    /// What `up` does on each target.
    pub up: UpOptions,
}

/// What happened to one target.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// These migrations were applied.
    Applied {
        /// Their versions, oldest first.
        versions: Vec<i64>,
    },
    /// Nothing was pending: read once, left alone.
    UpToDate,
    /// Its status was read (`fleet status`).
    Status {
        /// Applied migrations of this build.
        applied: usize,
        /// Migrations of this build not applied yet.
        pending: Vec<i64>,
        /// Whether the history contradicts this build (modified, missing or failed rows).
        mismatch: bool,
    },
    /// It failed; what ran to the end before the failure stays applied.
    Failed {
        /// The error, one line per problem, passwords masked.
        error: String,
        /// Whether the failure was a lock wait that ran out (retrying may succeed).
        #[serde(skip)]
        lock_wait: bool,
    },
    /// Never started: a canary failed, `--on-error stop`, or a stop was requested.
    NotStarted {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// Whether the target ended as asked.
    pub fn succeeded(&self) -> bool {
        matches!(
            self,
            Self::Applied { .. } | Self::UpToDate | Self::Status { .. }
        )
    }
}

/// One target's result.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    /// The target, its password masked.
    pub target: String,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// How long it took, connecting included.
    pub took_ms: u64,
}

/// Runs `action` on every target, canaries first; `done` is called as each one ends (for a
/// progress display). Reports come in the targets' order. Never fails as a whole: each
/// target's failure is in its report.
pub async fn run(
    set: &MigrationSet,
    targets: &[Target],
    action: Action,
    options: &FleetOptions,
    info: &RunInfo,
    shutdown: &Shutdown,
    done: &mut dyn FnMut(&TargetReport),
) -> Vec<TargetReport> {
    let fleet = Fleet {
        set,
        action,
        options,
        info,
        shutdown,
        stopping: AtomicBool::new(false),
        parallel: Semaphore::new(options.parallel.max(1)),
        per_host: options.per_host.map(|limit| {
            targets
                .iter()
                .map(|t| (t.host(), Arc::new(Semaphore::new(limit.max(1)))))
                .collect()
        }),
    };
    let canaries = options.canary.min(targets.len());
    let mut reports = fleet.wave(&targets[..canaries], done).await;
    if reports.iter().any(|r| !r.outcome.succeeded()) {
        fleet.stopping.store(true, Ordering::SeqCst);
        for target in &targets[canaries..] {
            let report = not_started(target, "a canary failed");
            done(&report);
            reports.push(report);
        }
        return reports;
    }
    reports.extend(fleet.wave(&targets[canaries..], done).await);
    reports
}

/// The work of one fleet run, shared by its targets.
struct Fleet<'a> {
    set: &'a MigrationSet,
    action: Action,
    options: &'a FleetOptions,
    info: &'a RunInfo,
    shutdown: &'a Shutdown,
    /// Set after a failure under `--on-error stop`: start no other target.
    stopping: AtomicBool,
    parallel: Semaphore,
    per_host: Option<HashMap<String, Arc<Semaphore>>>,
}

impl Fleet<'_> {
    /// Every target of `targets` at once, as the limits allow; reports in their order.
    async fn wave(
        &self,
        targets: &[Target],
        done: &mut dyn FnMut(&TargetReport),
    ) -> Vec<TargetReport> {
        let mut running: FuturesUnordered<_> = targets
            .iter()
            .enumerate()
            .map(|(index, target)| async move { (index, self.target(target).await) })
            .collect();
        let mut reports: Vec<Option<TargetReport>> = vec![None; targets.len()];
        while let Some((index, report)) = running.next().await {
            if !report.outcome.succeeded() && self.options.on_error == OnError::Stop {
                self.stopping.store(true, Ordering::SeqCst);
            }
            done(&report);
            reports[index] = Some(report);
        }
        reports.into_iter().flatten().collect()
    }

    /// One target, once its turn comes.
    async fn target(&self, target: &Target) -> TargetReport {
        let host = self
            .per_host
            .as_ref()
            .map(|hosts| hosts[&target.host()].clone());
        let _host_permit = match &host {
            Some(semaphore) => Some(semaphore.acquire().await.expect("never closed")),
            None => None,
        };
        let _permit = self.parallel.acquire().await.expect("never closed");
        if self.shutdown.requested().is_some() {
            return not_started(target, "a stop was requested");
        }
        if self.stopping.load(Ordering::SeqCst) {
            return not_started(target, "another target failed (--on-error stop)");
        }
        let started = Instant::now();
        let span = tracing::info_span!("target", db = %target.name);
        let outcome = match self.work(target).instrument(span).await {
            Ok(outcome) => outcome,
            Err(error) => Outcome::Failed {
                lock_wait: error.kind() == ErrorKind::LockWait,
                error: target.settings.redact(&error.lines().join("; ")),
            },
        };
        TargetReport {
            target: target.name.clone(),
            outcome,
            took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    async fn work(&self, target: &Target) -> Result<Outcome> {
        let mut session = Session::connect(
            &target.settings,
            self.options.connect_timeout,
            self.shutdown,
        )
        .await?;
        let outcome = self.on(&mut session).await;
        session.close().await;
        outcome
    }

    #[expect(
        clippy::disallowed_methods,
        reason = "`migrate fleet up` is the command line's: it applies"
    )]
    async fn on(&self, session: &mut Session) -> Result<Outcome> {
        let engine = Engine::new(self.set, self.options.policy).recording(self.info.clone());
        match self.action {
            Action::Status => Ok(status(&engine.status(session).await?)),
            Action::Up => {
                let state = gate::check(&mut session.conn, self.set).await?;
                if state.is_usable() && self.options.up.to.is_none() {
                    return Ok(Outcome::UpToDate);
                }
                session.watch().await?;
                let versions = engine.up(session, &self.options.up).await?;
                Ok(if versions.is_empty() {
                    Outcome::UpToDate
                } else {
                    Outcome::Applied { versions }
                })
            }
        }
    }
}

fn status(report: &StatusReport) -> Outcome {
    Outcome::Status {
        applied: report.with_state(State::Applied).count(),
        pending: report
            .with_state(State::Pending)
            .map(|e| e.version)
            .collect(),
        mismatch: [State::Modified, State::Missing, State::Failed]
            .into_iter()
            .any(|state| report.with_state(state).next().is_some()),
    }
}

fn not_started(target: &Target, reason: &str) -> TargetReport {
    TargetReport {
        target: target.name.clone(),
        outcome: Outcome::NotStarted {
            reason: reason.to_owned(),
        },
        took_ms: 0,
    }
}

/// The error a fleet run ends with, naming each target that did not end as asked; `None` when
/// every one did. Exit code 4 when a stop was requested, 3 when every failure was a lock wait
/// (running again may succeed), 1 otherwise.
pub fn failure(reports: &[TargetReport], shutdown: &Shutdown) -> Option<Error> {
    let failed: Vec<&TargetReport> = reports.iter().filter(|r| !r.outcome.succeeded()).collect();
    if failed.is_empty() {
        return None;
    }
    let lines: Vec<String> = failed
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Failed { error, .. } => format!("{}: {error}", r.target),
            Outcome::NotStarted { reason } => format!("{}: not started: {reason}", r.target),
            _ => unreachable!("only failures are listed"),
        })
        .chain(std::iter::once(format!(
            "{} of {} target(s) did not end as asked; run the same command again: what is done is skipped",
            failed.len(),
            reports.len()
        )))
        .collect();
    let kind = if shutdown.requested().is_some() {
        ErrorKind::Interrupted
    } else if failed.iter().all(|r| {
        matches!(
            r.outcome,
            Outcome::Failed {
                lock_wait: true,
                ..
            } | Outcome::NotStarted { .. }
        )
    }) && failed
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed { .. }))
    {
        ErrorKind::LockWait
    } else {
        ErrorKind::Failed
    };
    Some(Error::with_lines(kind, lines))
}
