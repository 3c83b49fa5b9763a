//! The one dedicated connection the engine works on. Advisory locks and settings belong to a
//! server session, so it is never a pooled connection, it is checked not to go through a
//! transaction pooler, and closing it (on every way out) releases the migration lock.

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection, Row};

use crate::{
    audit::Run,
    error::{Error, ErrorKind, Result},
    refusal,
    settings::DatabaseSettings,
};

/// A dedicated connection to the database being migrated, and a second one that watches it
/// (who blocks it) once [`Session::ensure_direct`] has checked there is no pooler between.
pub struct Session {
    pub(crate) conn: PgConnection,
    pub(crate) settings: DatabaseSettings,
    /// The server session's pid, once known.
    pub(crate) pid: Option<i32>,
    pub(crate) monitor: Option<PgConnection>,
    /// The run of the audit trail under way, if any.
    pub(crate) run: Option<Run>,
}

impl Session {
    /// Connects, retrying while the server is unreachable or starting, up to `timeout`.
    /// Authentication failures and unknown databases fail at once: waiting will not fix them.
    pub async fn connect(settings: &DatabaseSettings, timeout: Duration) -> Result<Self> {
        let options = settings.connect_options(&application_name());
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(100);
        let mut last_report: Option<Instant> = None;
        let url = settings.redacted_url();
        loop {
            let error = match PgConnection::connect_with(&options).await {
                Ok(conn) => {
                    return Ok(Self {
                        conn,
                        settings: settings.clone(),
                        pid: None,
                        monitor: None,
                        run: None,
                    });
                }
                Err(e) => e,
            };
            let error_text = settings.redact(&error.to_string());
            if let Some(line) = refusal::permanent(&error, settings) {
                return Err(Error::new(ErrorKind::Connect, settings.redact(&line)));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::new(
                    ErrorKind::Connect,
                    format!(
                        "cannot reach the database at {url} after {timeout:?}: {error_text}; check that the \
                         server runs and the host and port are right (--connect-timeout waits longer)"
                    ),
                ));
            }
            if last_report.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
                tracing::warn!(
                    "cannot reach the database at {url} yet ({error_text}); retrying until {timeout:?} have passed"
                );
                last_report = Some(Instant::now());
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    /// Refuses a connection whose statements may run on different server sessions, as through
    /// PgBouncer in transaction or statement mode: the migration lock and the settings of a
    /// migration belong to one session and would be stranded on another.
    ///
    /// One connection alone cannot tell: a pooler hands a quiet client the server it used last.
    /// So a second connection asks in between. Directly (or with session pooling) every client
    /// owns its server session, so the second one can never land on ours, and ours never moves.
    /// That second connection then stays, to watch who blocks the first.
    pub async fn ensure_direct(&mut self) -> Result<()> {
        let ours = backend_pid(&mut self.conn).await?;
        let monitor = self.settings.connect_options("migrate monitor");
        let other = match PgConnection::connect_with(&monitor).await {
            Ok(mut monitor) => {
                let pid = backend_pid(&mut monitor).await?;
                self.monitor = Some(monitor);
                Some(pid)
            }
            Err(e) => {
                tracing::warn!(
                    "could not open a second connection to check for a transaction pooler ({}); checking with one",
                    self.settings.redact(&e.to_string())
                );
                None
            }
        };
        let ours_again = backend_pid(&mut self.conn).await?;
        let observed = if ours_again != ours {
            format!(
                "this connection's statements ran on server sessions {ours} and then {ours_again}"
            )
        } else if other == Some(ours) {
            format!("a second connection was handed this connection's server session (pid {ours})")
        } else {
            self.pid = Some(ours);
            return Ok(());
        };
        Err(Error::new(
            ErrorKind::Connect,
            format!(
                "{} goes through a transaction-pooling proxy ({observed}): the migration lock and settings would \
                 not hold. Point {} at PostgreSQL directly, not through PgBouncer in transaction mode \
                 (MIGRATION_DATABASE_URL exists for this)",
                self.settings.redacted_url(),
                self.settings.source
            ),
        ))
    }

    /// Closes the connections, which also ends anything they held (the lock, a transaction).
    pub async fn close(self) {
        if let Some(monitor) = self.monitor {
            let _ = monitor.close().await;
        }
        let _ = self.conn.close().await;
    }
}

/// Shown in `pg_stat_activity`, so whoever waits on our lock can see who holds it.
fn application_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let mut name = format!("migrate pid={} host={}", std::process::id(), host.trim());
    name.truncate(63); // NAMEDATALEN - 1
    while !name.is_char_boundary(name.len()) {
        name.pop();
    }
    name
}

/// The server session's pid, asked in the simple-query protocol: prepared statements are
/// per server session, so through a pooler they collide before the answer arrives.
pub(crate) async fn backend_pid(conn: &mut PgConnection) -> Result<i32> {
    let row = conn.fetch_one("SELECT pg_backend_pid()").await?;
    Ok(row.try_get(0)?)
}
