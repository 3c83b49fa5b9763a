//! A migration that runs until the test lets it go: it waits for an advisory lock the test
//! holds. Tests that must act while a migration runs (kill it, stop it, outlast it) wait until
//! it waits here, rather than hoping a `pg_sleep` lasts long enough on a busy machine.

use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::{Connection, PgConnection};

use crate::{TestDb, eventually};

/// The lock a test holds; migrations that contain [`Latch::sql`] wait for it.
pub struct Latch {
    conn: PgConnection,
    key: i64,
}

impl Latch {
    /// Takes the lock on a connection of its own to `db`.
    pub async fn hold(db: &TestDb) -> Self {
        static NEXT: AtomicI64 = AtomicI64::new(0);
        let key = 700_000
            + i64::from(std::process::id() % 100_000) * 100
            + NEXT.fetch_add(1, Ordering::Relaxed) % 100;
        let mut conn = db.connect().await;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key)
            .execute(&mut conn)
            .await
            .unwrap();
        Self { conn, key }
    }

    /// SQL that waits here until [`Latch::release`], inside a migration's transaction (with
    /// no lock_timeout for the rest of it).
    pub fn sql(&self) -> String {
        format!(
            "SET LOCAL lock_timeout = 0;\nSELECT pg_advisory_xact_lock({});\n",
            self.key
        )
    }

    /// Returns once a session waits at the latch.
    pub async fn reached(&self, db: &TestDb) {
        let sql = format!(
            "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
             AND classid = 0 AND objid = {} AND objsubid = 1",
            self.key
        );
        eventually("a session waits at the latch", || db.scalar::<bool>(&sql)).await;
    }

    /// Lets the waiting migration go on.
    pub async fn release(self) {
        self.conn.close().await.unwrap();
    }
}
