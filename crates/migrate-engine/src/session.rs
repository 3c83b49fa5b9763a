//! The one dedicated connection the engine works on. Advisory locks and settings belong to a
//! server session, so it is never a pooled connection, it is checked not to go through a
//! transaction pooler, and closing it (on every way out) releases the migration lock.
//!
//! The server is told to look after it: `client_connection_check_interval` ends the session
//! within a second of `migrate` dying mid-statement (PostgreSQL would otherwise finish the
//! statement, holding its locks, before it noticed), and TCP keepalives end it within
//! [`KEEPALIVE_BOUND`] when the network between them dies.

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection, Row};

use crate::{
    error::{Error, ErrorKind, Result},
    refusal,
    settings::DatabaseSettings,
    shutdown::Shutdown,
};

/// How soon the server notices a client that went away while a statement runs.
const CONNECTION_CHECK: &str = "1s";
/// TCP keepalive probes from the server: the first after 10 s of silence, then every 5 s,
/// three unanswered end the session.
const KEEPALIVES: &str = "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; \
                          SET tcp_keepalives_count = 3;";
/// How long a server takes, at most, to end the session of a client cut off by the network.
pub const KEEPALIVE_BOUND: Duration = Duration::from_secs(25);

/// A dedicated connection to the database being migrated, and for commands that change it a
/// second one that watches it (who blocks it; whether it is to be cancelled).
pub struct Session {
    pub(crate) conn: PgConnection,
    pub(crate) settings: DatabaseSettings,
    /// The server session's pid.
    pub(crate) pid: i32,
    /// `current_database()`, which names sqlx's lock key.
    pub(crate) database: String,
    /// The schema a client-set `search_path` puts first (`options=-csearch_path=tenant_7`):
    /// a tenant's schema, whose migrations are locked apart from the other tenants'.
    pub(crate) tenant: Option<String>,
    /// The second connection, for commands that change the schema.
    pub(crate) monitor: Option<PgConnection>,
    /// Asked to stop: cancel what runs, roll it back, record it, release the lock.
    pub(crate) shutdown: Shutdown,
}

impl Session {
    /// Connects, retrying while the server is unreachable or starting, up to `timeout`.
    /// Authentication failures and unknown databases fail at once: waiting will not fix them.
    pub async fn connect(
        settings: &DatabaseSettings,
        timeout: Duration,
        shutdown: &Shutdown,
    ) -> Result<Self> {
        let mut conn = connect(settings, &application_name(), timeout, shutdown).await?;
        let identity = identify(&mut conn).await?;
        Ok(Self {
            conn,
            settings: settings.clone(),
            pid: identity.pid,
            tenant: identity.tenant(settings)?,
            database: identity.database,
            monitor: None,
            shutdown: shutdown.clone(),
        })
    }

    /// [`Session::connect`] with the second connection, both opened at once, and the check
    /// that no transaction pooler sits between: for commands that change the schema.
    pub async fn connect_watched(
        settings: &DatabaseSettings,
        timeout: Duration,
        shutdown: &Shutdown,
    ) -> Result<Self> {
        let (session, monitor) = tokio::join!(
            Self::connect(settings, timeout, shutdown),
            open_monitor(settings),
        );
        let mut session = session?;
        session.monitor = monitor;
        session.ensure_direct().await?;
        Ok(session)
    }

    /// Adds the second connection to a session opened with [`Session::connect`], once it turns
    /// out to have something to change.
    pub async fn watch(&mut self) -> Result<()> {
        if self.monitor.is_none() {
            self.monitor = open_monitor(&self.settings).await;
            self.ensure_direct().await?;
        }
        Ok(())
    }

    /// Refuses a connection whose statements may run on different server sessions, as through
    /// PgBouncer in transaction or statement mode: the migration lock and the settings of a
    /// migration belong to one session and would be stranded on another.
    ///
    /// One connection alone cannot tell: a pooler hands a quiet client the server it used last.
    /// So the second connection asks in between. Directly (or with session pooling) every
    /// client owns its server session, so the second one can never land on ours, and ours never
    /// moves.
    async fn ensure_direct(&mut self) -> Result<()> {
        let ours = self.pid;
        let other = match self.monitor.as_mut() {
            Some(monitor) => Some(identify(monitor).await?.pid),
            None => None,
        };
        let ours_again = identify(&mut self.conn).await?.pid;
        let observed = if ours_again != ours {
            format!(
                "this connection's statements ran on server sessions {ours} and then {ours_again}"
            )
        } else if other == Some(ours) {
            format!("a second connection was handed this connection's server session (pid {ours})")
        } else {
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

/// One connection, retried while the server cannot be reached, until `timeout` or a stop.
async fn connect(
    settings: &DatabaseSettings,
    application_name: &str,
    timeout: Duration,
    shutdown: &Shutdown,
) -> Result<PgConnection> {
    let options = settings.connect_options(application_name);
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(100);
    let mut last_report: Option<Instant> = None;
    let url = settings.redacted_url();
    loop {
        let error = match PgConnection::connect_with(&options).await {
            Ok(conn) => return Ok(conn),
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
        tokio::select! {
            () = tokio::time::sleep(delay.min(deadline - now)) => {}
            signal = shutdown.wait() => return Err(Error::interrupted(signal, "nothing was changed")),
        }
        delay = (delay * 2).min(Duration::from_secs(2));
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

/// The second connection, or none (said in a warning: the pooler check then uses one).
async fn open_monitor(settings: &DatabaseSettings) -> Option<PgConnection> {
    match PgConnection::connect_with(&settings.connect_options("migrate monitor")).await {
        Ok(monitor) => Some(monitor),
        Err(e) => {
            tracing::warn!(
                "could not open a second connection to check for a transaction pooler ({}); checking with one",
                settings.redact(&e.to_string())
            );
            None
        }
    }
}

/// Who a connection is on the server.
struct Identity {
    pid: i32,
    database: String,
    /// `search_path` as set, when the client set it (`options=-csearch_path=...`).
    client_search_path: Option<String>,
    /// `current_schema()`: the first schema of the path that exists.
    current_schema: Option<String>,
}

impl Identity {
    /// The tenant's schema: the first of a client-set `search_path`, which must exist (else
    /// the history table would land in the next one, another tenant's or `public`).
    fn tenant(&self, settings: &DatabaseSettings) -> Result<Option<String>> {
        let Some(path) = &self.client_search_path else {
            return Ok(None);
        };
        let first = path.split(',').next().unwrap_or_default().trim();
        let unquoted = first
            .strip_prefix('"')
            .and_then(|f| f.strip_suffix('"'))
            .map_or_else(|| first.to_lowercase(), |f| f.replace("\"\"", "\""));
        if unquoted == "$user" {
            return Ok(None); // the default path, as a client may spell it out
        }
        if self.current_schema.as_deref() == Some(unquoted.as_str()) {
            return Ok(Some(unquoted));
        }
        Err(Error::new(
            ErrorKind::Refused,
            format!(
                "{}: search_path starts with schema {first}, which does not exist: create it \
                 (CREATE SCHEMA {first}) before migrating it",
                settings.redacted_url()
            ),
        ))
    }
}

/// The server session's pid, database and search path, with the settings that make the
/// server look after it; asked in the simple-query protocol: prepared statements are per
/// server session, so through a pooler they collide before the answer arrives.
async fn identify(conn: &mut PgConnection) -> Result<Identity> {
    let sql = format!(
        "SET client_connection_check_interval = '{CONNECTION_CHECK}'; {KEEPALIVES} \
         SELECT pg_backend_pid(), current_database(), \
                (SELECT setting FROM pg_settings WHERE name = 'search_path' AND source = 'client'), \
                current_schema()::text"
    );
    let row = conn.fetch_one(sqlx::AssertSqlSafe(sql)).await?;
    Ok(Identity {
        pid: row.try_get(0)?,
        database: row.try_get(1)?,
        client_search_path: row.try_get(2)?,
        current_schema: row.try_get(3)?,
    })
}
