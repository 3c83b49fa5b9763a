//! The migration lock: a session advisory lock under the key sqlx's `Migrator` uses, so that an
//! old-style `sqlx::migrate!().run()` is excluded too. A tenant's schema (a connection whose
//! `search_path` the client set, `options=-csearch_path=tenant_7`) has a key of its own, so
//! that the tenants of one database migrate in parallel.
//!
//! It is taken by polling `pg_try_advisory_lock` in short statements, never by blocking in
//! `pg_advisory_lock`: a session blocked there can make the holder's
//! `CREATE INDEX CONCURRENTLY` wait for it forever (it waits for older snapshots).

use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Executor, PgConnection, Row};

use crate::{
    error::{Error, ErrorKind, Result},
    holder::Holder,
    session::Session,
};

const REPORT_EVERY: Duration = Duration::from_secs(5);

/// The lock, held by the connection that took it. Released explicitly, or by closing it.
pub(crate) struct MigrationLock {
    key: i64,
}

impl MigrationLock {
    /// Takes the lock, waiting at most `wait` (or until a stop is requested) while logging
    /// who holds it; returns it with how long the wait took.
    pub async fn acquire(session: &mut Session, wait: Duration) -> Result<(Self, Duration)> {
        let key = match &session.tenant {
            None => sqlx_lock_key(&session.database),
            Some(schema) => tenant_lock_key(&session.database, schema),
        };
        let conn = &mut session.conn;
        let started = Instant::now();
        let mut next_report = started + Duration::from_millis(500);
        let mut delay = Duration::from_millis(25);
        loop {
            // A simple query (the key is a number): one round trip, where a prepared
            // statement's first use costs two.
            let locked: bool = conn
                .fetch_one(AssertSqlSafe(format!("SELECT pg_try_advisory_lock({key})")))
                .await?
                .try_get(0)?;
            if locked {
                let waited = started.elapsed();
                if waited > Duration::from_millis(500) {
                    tracing::info!("migration lock acquired after {waited:.1?}");
                }
                return Ok((Self { key }, waited));
            }
            if started.elapsed() >= wait {
                return Err(Error::new(
                    ErrorKind::LockWait,
                    format!(
                        "gave up after waiting {wait:?} (--lock-wait) for the migration lock, held by {}; \
                         if that runner is stuck, end it with SELECT pg_terminate_backend(<pid>)",
                        holder(conn, key).await?
                    ),
                ));
            }
            if Instant::now() >= next_report {
                tracing::info!(
                    "waiting for the migration lock, held by {}",
                    holder(conn, key).await?
                );
                next_report = Instant::now() + REPORT_EVERY;
            }
            let remaining = wait.saturating_sub(started.elapsed());
            tokio::select! {
                () = tokio::time::sleep(delay.min(remaining)) => {}
                signal = session.shutdown.wait() => {
                    return Err(Error::interrupted(signal, "nothing was changed"));
                }
            }
            delay = (delay * 2).min(Duration::from_millis(250));
        }
    }

    /// The statement that releases it, for the message that ends a locked section.
    pub fn release_sql(&self) -> String {
        format!("SELECT pg_advisory_unlock({});\n", self.key)
    }
}

/// sqlx's key (`generate_lock_id`): 0x3d32ad9e times the CRC-32 (ISO-HDLC) of the database name.
pub(crate) fn sqlx_lock_key(database: &str) -> i64 {
    const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    0x3d32_ad9e * i64::from(CRC.checksum(database.as_bytes()))
}

/// A tenant schema's key: sqlx's formula on `database.schema`, so that tenants of one
/// database migrate in parallel, each under its own lock.
pub(crate) fn tenant_lock_key(database: &str, schema: &str) -> i64 {
    sqlx_lock_key(&format!("{database}.{schema}"))
}

async fn holder(conn: &mut PgConnection, key: i64) -> Result<String> {
    Ok(match Holder::of_advisory_lock(conn, key).await? {
        Some(holder) => holder.to_string(),
        None => "a session that just released it".to_owned(),
    })
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
