//! The migration lock: a session advisory lock under the key sqlx's `Migrator` uses, so that an
//! old-style `sqlx::migrate!().run()` is excluded too.
//!
//! It is taken by polling `pg_try_advisory_lock` in short statements, never by blocking in
//! `pg_advisory_lock`: a session blocked there can make the holder's
//! `CREATE INDEX CONCURRENTLY` wait for it forever (it waits for older snapshots).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::error::{Error, ErrorKind, Result};

const REPORT_EVERY: Duration = Duration::from_secs(5);

/// The lock, held by the connection that took it. Released explicitly, or by closing it.
pub(crate) struct MigrationLock {
    key: i64,
}

impl MigrationLock {
    /// Takes the lock, waiting at most `wait` while logging who holds it; returns it with how
    /// long the wait took.
    pub async fn acquire(conn: &mut PgConnection, wait: Duration) -> Result<(Self, Duration)> {
        let database: String = sqlx::query_scalar!(r#"SELECT current_database() AS "name!""#)
            .fetch_one(&mut *conn)
            .await?;
        let key = sqlx_lock_key(&database);
        let started = Instant::now();
        let mut next_report = started + Duration::from_millis(500);
        let mut delay = Duration::from_millis(25);
        loop {
            let locked =
                sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1) AS "locked!""#, key)
                    .fetch_one(&mut *conn)
                    .await?;
            if locked {
                let waited = started.elapsed();
                if waited > Duration::from_millis(500) {
                    tracing::info!("migration lock acquired after {waited:.1?}");
                }
                return Ok((Self { key }, waited));
            }
            if started.elapsed() >= wait {
                let holder = describe(holder(conn, key).await?);
                return Err(Error::new(
                    ErrorKind::LockWait,
                    format!(
                        "gave up after waiting {wait:?} (--lock-wait) for the migration lock, held by {holder}; \
                         if that runner is stuck, end it with SELECT pg_terminate_backend(<pid>)"
                    ),
                ));
            }
            if Instant::now() >= next_report {
                let holder = describe(holder(conn, key).await?);
                tracing::info!("waiting for the migration lock, held by {holder}");
                next_report = Instant::now() + REPORT_EVERY;
            }
            let remaining = wait.saturating_sub(started.elapsed());
            tokio::time::sleep(delay.min(remaining)).await;
            delay = (delay * 2).min(Duration::from_millis(250));
        }
    }

    pub async fn release(self, conn: &mut PgConnection) -> Result<()> {
        sqlx::query_scalar!("SELECT pg_advisory_unlock($1)", self.key)
            .fetch_one(conn)
            .await?;
        Ok(())
    }
}

/// sqlx's key (`generate_lock_id`): 0x3d32ad9e times the CRC-32 (ISO-HDLC) of the database name.
pub fn sqlx_lock_key(database: &str) -> i64 {
    const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    0x3d32_ad9e * i64::from(CRC.checksum(database.as_bytes()))
}

/// Who holds the lock, as far as this role may see in `pg_stat_activity`.
struct Holder {
    pid: i32,
    application_name: Option<String>,
    client: Option<String>,
    backend_start: Option<DateTime<Utc>>,
    state: Option<String>,
}

async fn holder(conn: &mut PgConnection, key: i64) -> Result<Option<Holder>> {
    // A bigint advisory key shows in pg_locks as classid (high half) and objid (low half).
    Ok(sqlx::query_as!(
        Holder,
        r#"SELECT l.pid AS "pid!", a.application_name, host(a.client_addr) AS client,
                  a.backend_start, a.state
           FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND l.classid::bigint = (($1::bigint >> 32) & 4294967295)
             AND l.objid::bigint = ($1::bigint & 4294967295)
           LIMIT 1"#,
        key
    )
    .fetch_optional(conn)
    .await?)
}

fn describe(holder: Option<Holder>) -> String {
    let Some(h) = holder else {
        return "a session that just released it".to_owned();
    };
    let mut parts = vec![format!("pid {}", h.pid)];
    match h.application_name.as_deref() {
        Some("") | None => parts.push("no application_name".to_owned()),
        Some(name) => parts.push(format!("application_name {name:?}")),
    }
    parts.push(format!(
        "client {}",
        h.client.as_deref().unwrap_or("local socket")
    ));
    if let Some(start) = h.backend_start {
        let age = (Utc::now() - start).num_seconds();
        parts.push(format!(
            "connected since {} ({age} s ago)",
            start.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    if let Some(state) = h.state {
        parts.push(format!("state {state}"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_matches_sqlx() {
        // 0x3d32ad9e * zlib.crc32(b"postgres"); the tests also check it against sqlx itself.
        assert_eq!(sqlx_lock_key("postgres"), 368_907_709_894_077_238);
    }
}
