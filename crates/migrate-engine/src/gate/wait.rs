//! Waiting at the gate: until the database holds every migration this build embeds.
//!
//! The process LISTENs before it looks, so a `migrate` that finishes in between still wakes
//! it, and polls slowly as well: notifications do not cross a transaction pooler, and those
//! sent while the listening connection reconnects are lost.

use std::time::{Duration, Instant};

use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::watch;

use super::{GateStatus, SCHEMA_CHANGED_CHANNEL, SchemaState, check};
use crate::{refusal, settings::DatabaseSettings};
use migrate_core::MigrationSet;

/// How often to look again while the database is unreachable.
const POLL_UNREACHABLE: Duration = Duration::from_secs(1);
/// The least time a look gets, even the last one, at the deadline.
const LOOK_AT_LEAST: Duration = Duration::from_secs(1);

/// How long to wait at the gate, and how often to look without a notification.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// Give up after this long.
    pub timeout: Duration,
    /// Look again this often while migrations are pending (a notification wakes it sooner).
    pub poll: Duration,
}

/// Why a process gave up at the gate.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The history contradicts this build.
    #[error("refusing to start: {0}")]
    Mismatch(String),
    /// The database refuses the connection in a way waiting cannot fix (a wrong password, an
    /// untrusted certificate).
    #[error("{0}")]
    Connect(String),
    #[error(
        "gave up after {waited:?} (SCHEMA_WAIT_TIMEOUT) waiting for migrations {pending:?}: \
         run `migrate up`; it must finish before the api and workers can start"
    )]
    /// Migrations were still pending when the time was up.
    Behind {
        /// How long it waited.
        waited: Duration,
        /// The versions still pending.
        pending: Vec<i64>,
    },
    #[error("gave up after {waited:?} (SCHEMA_WAIT_TIMEOUT): the database is unreachable: {error}")]
    /// The database never answered.
    Unreachable {
        /// How long it waited.
        waited: Duration,
        /// The last error.
        error: String,
    },
}

/// Returns once the schema is usable (current, or ahead during a rolling deploy), publishing
/// every step on `status` (after logging it). Fails at once on a mismatch or on a connection
/// error that waiting cannot fix (`settings` names the URL in that message), or when
/// `patience.timeout` passes.
pub async fn wait_for_schema(
    pool: &PgPool,
    settings: &DatabaseSettings,
    set: &MigrationSet,
    patience: Patience,
    status: &watch::Sender<GateStatus>,
) -> Result<SchemaState, GateError> {
    let started = Instant::now();
    let left = || patience.timeout.saturating_sub(started.elapsed());
    let mut listener: Option<PgListener> = None;
    let mut reported_pending: Option<usize> = None;
    let mut reported_unreachable = false;
    loop {
        // Each look fits in what is left of the timeout: a pool that keeps failing to connect
        // would otherwise hold it for its own acquire timeout.
        let looked = tokio::time::timeout(left().max(LOOK_AT_LEAST), async {
            if listener.is_none() {
                listener = listen(pool).await;
            }
            match listener.as_mut() {
                Some(listener) => check(listener, set).await,
                None => check(&mut *pool.acquire().await?, set).await,
            }
        })
        .await
        .unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut));
        let poll = match looked {
            Ok(state) => {
                match &state {
                    SchemaState::Current => {
                        tracing::info!("schema: every migration of this build is applied; ready");
                    }
                    SchemaState::Ahead { unknown } => tracing::info!(
                        "schema: the database also has migrations {unknown:?} that this build does not know \
                         (a newer release migrated first); ready"
                    ),
                    SchemaState::Mismatch { .. } => {}
                    SchemaState::Behind { pending } => {
                        if reported_pending.is_none() {
                            tracing::info!(
                                "schema: waiting for `migrate up`: migrations {pending:?} are not applied yet"
                            );
                        } else if reported_pending != Some(pending.len()) {
                            tracing::info!("schema: {} migration(s) still pending", pending.len());
                        }
                        reported_pending = Some(pending.len());
                    }
                }
                let _ = status.send(state.gate_status());
                match state {
                    SchemaState::Current | SchemaState::Ahead { .. } => return Ok(state),
                    SchemaState::Mismatch { reason } => return Err(GateError::Mismatch(reason)),
                    SchemaState::Behind { pending } if left().is_zero() => {
                        return Err(GateError::Behind {
                            waited: patience.timeout,
                            pending,
                        });
                    }
                    SchemaState::Behind { .. } => patience.poll,
                }
            }
            Err(error) => {
                if let Some(line) = refusal::permanent(&error, settings) {
                    return Err(GateError::Connect(settings.redact(&line)));
                }
                if !reported_unreachable {
                    tracing::warn!(
                        "schema: cannot read the migration history yet: {}",
                        settings.redact(&error.to_string())
                    );
                    reported_unreachable = true;
                }
                let _ = status.send(GateStatus::DatabaseUnreachable);
                if left().is_zero() {
                    return Err(GateError::Unreachable {
                        waited: patience.timeout,
                        error: settings.redact(&error.to_string()),
                    });
                }
                listener = None;
                POLL_UNREACHABLE
            }
        };
        let pause = poll.min(left());
        match listener.as_mut() {
            Some(l) => tokio::select! {
                notified = l.recv() => if notified.is_err() { listener = None },
                () = tokio::time::sleep(pause) => {}
            },
            None => tokio::time::sleep(pause).await,
        }
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut listener = PgListener::connect_with(pool).await.ok()?;
    match listener.listen(SCHEMA_CHANGED_CHANNEL).await {
        Ok(()) => Some(listener),
        Err(e) => {
            tracing::debug!("schema: cannot LISTEN ({e}); polling only");
            None
        }
    }
}
