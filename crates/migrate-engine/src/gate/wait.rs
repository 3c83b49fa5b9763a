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

/// How often to look again without a notification.
const POLL_BEHIND: Duration = Duration::from_secs(5);
const POLL_UNREACHABLE: Duration = Duration::from_secs(1);

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
        "gave up after {waited:?} (SCHEMA_WAIT_TIMEOUT) waiting for migrations {missing:?}: \
         run `migrate up`; it must finish before the api and workers can start"
    )]
    /// Migrations were still missing when the time was up.
    Behind {
        /// How long it waited.
        waited: Duration,
        /// The versions still missing.
        missing: Vec<i64>,
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
/// every step on `status`. Fails at once on a mismatch or on a connection error that waiting
/// cannot fix (`settings` names the URL in that message), or when `timeout` passes.
pub async fn wait_for_schema(
    pool: &PgPool,
    settings: &DatabaseSettings,
    set: &MigrationSet,
    timeout: Duration,
    status: &watch::Sender<GateStatus>,
) -> Result<SchemaState, GateError> {
    let started = Instant::now();
    let mut listener: Option<PgListener> = None;
    let mut reported_missing: Option<usize> = None;
    let mut reported_unreachable = false;
    loop {
        if listener.is_none() {
            listener = listen(pool).await;
        }
        // On the listening connection when there is one: no pool checkout, one round trip.
        let checked = match listener.as_mut() {
            Some(l) => check(l, set).await,
            None => check(pool, set).await,
        };
        let poll = match checked {
            Ok(state) => {
                let _ = status.send(state.gate_status());
                match state {
                    SchemaState::Current => {
                        tracing::info!("schema: every migration of this build is applied; ready");
                        return Ok(state);
                    }
                    SchemaState::Ahead { ref unknown } => {
                        tracing::info!(
                            "schema: the database also has migrations {unknown:?} that this build does not know \
                             (a newer release migrated first); ready"
                        );
                        return Ok(state);
                    }
                    SchemaState::Mismatch { reason } => return Err(GateError::Mismatch(reason)),
                    SchemaState::Behind { ref missing } => {
                        if reported_missing.is_none() {
                            tracing::info!(
                                "schema: waiting for `migrate up`: migrations {missing:?} are not applied yet"
                            );
                        } else if reported_missing != Some(missing.len()) {
                            tracing::info!("schema: {} migration(s) still missing", missing.len());
                        }
                        reported_missing = Some(missing.len());
                        if started.elapsed() >= timeout {
                            return Err(GateError::Behind {
                                waited: timeout,
                                missing: missing.clone(),
                            });
                        }
                        POLL_BEHIND
                    }
                }
            }
            Err(error) => {
                if let Some(line) = refusal::permanent(&error, settings) {
                    return Err(GateError::Connect(settings.redact(&line)));
                }
                let _ = status.send(GateStatus::DatabaseUnreachable);
                if !reported_unreachable {
                    tracing::warn!(
                        "schema: cannot read the migration history yet: {}",
                        settings.redact(&error.to_string())
                    );
                    reported_unreachable = true;
                }
                if started.elapsed() >= timeout {
                    return Err(GateError::Unreachable {
                        waited: timeout,
                        error: settings.redact(&error.to_string()),
                    });
                }
                POLL_UNREACHABLE
            }
        };
        let pause = poll.min(timeout.saturating_sub(started.elapsed()));
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
