//! Who keeps `migrate` waiting, as `pg_stat_activity` shows them: the session holding the
//! migration lock, or one holding a table lock a migration waits for. Named in every wait
//! message and in the final error, so that the reader knows whom to wait for or end.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A server session in the way.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Holder {
    pid: i32,
    application_name: Option<String>,
    client: Option<String>,
    backend_start: Option<DateTime<Utc>>,
    state: Option<String>,
    query_start: Option<DateTime<Utc>>,
    query: Option<String>,
}

const COLUMNS: &str = "a.pid, a.application_name, host(a.client_addr) AS client, a.backend_start, \
                       a.state, a.query_start, a.query";

impl Holder {
    /// The session holding the advisory lock `key` in this database, as far as this role may
    /// see; none when it was just released.
    pub async fn of_advisory_lock(conn: &mut PgConnection, key: i64) -> sqlx::Result<Option<Self>> {
        // A bigint advisory key shows in pg_locks as classid (high half) and objid (low half).
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND l.classid::bigint = (($1::bigint >> 32) & 4294967295) \
               AND l.objid::bigint = ($1::bigint & 4294967295) \
             LIMIT 1"
        )))
        .bind(key)
        .fetch_optional(conn)
        .await
    }

    /// The oldest session blocking `pid`, if any.
    pub async fn blocking(monitor: &mut PgConnection, pid: i32) -> sqlx::Result<Option<Self>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1)) \
             ORDER BY a.query_start NULLS LAST LIMIT 1"
        )))
        .bind(pid)
        .fetch_optional(monitor)
        .await
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}", self.pid)?;
        match self.application_name.as_deref() {
            Some("") | None => write!(f, " (no application_name")?,
            Some(name) => write!(f, " (application_name {name:?}")?,
        }
        write!(
            f,
            ", client {}",
            self.client.as_deref().unwrap_or("local socket")
        )?;
        if let Some(start) = self.backend_start {
            let age = (Utc::now() - start).num_seconds();
            write!(
                f,
                ", connected since {} ({age} s ago)",
                start.format("%Y-%m-%d %H:%M:%S UTC")
            )?;
        }
        if let Some(state) = &self.state {
            write!(f, ", {state}")?;
        }
        if let Some(start) = self.query_start {
            let ago = (Utc::now() - start).num_milliseconds() as f64 / 1000.0;
            write!(
                f,
                ", query started {} UTC, {ago:.1} s ago",
                start.format("%H:%M:%S")
            )?;
        }
        if let Some(query) = self.query.as_deref().filter(|q| !q.is_empty()) {
            let query: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
            let shown: String = query.chars().take(60).collect();
            let more = if shown.len() < query.len() { "..." } else { "" };
            write!(f, ": {shown}{more}")?;
        }
        write!(f, ")")
    }
}
