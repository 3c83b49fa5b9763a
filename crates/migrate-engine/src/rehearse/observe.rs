//! What a migration does to the tables that existed before it, seen from outside: a snapshot
//! of each table's file before and after (a new relfilenode means the table was rewritten),
//! and the relation locks its session holds, sampled from a second session every few
//! milliseconds while it runs (a lock is held until the transaction ends, so the span between
//! the first and the last sample that shows it is how long other sessions would queue).

use std::{
    collections::BTreeMap,
    fmt,
    future::Future,
    time::{Duration, Instant},
};

use sqlx::PgConnection;
use tokio::sync::Notify;

/// How often the second session looks at the locks.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// Notes, for the session, every relation lock the transaction holds: all of them, which
/// sampling may miss when a migration is brief. The rehearsal runs it before each COMMIT.
pub(crate) const NOTE_LOCKS: &str = "SELECT set_config('migrate.locks', coalesce((SELECT string_agg(relation::bigint || ' ' || mode, ',') \
     FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted), ''), false);\n";

/// Adds the locks [`NOTE_LOCKS`] noted (held too briefly to be sampled: for no time) to
/// `seen`, and clears the note.
pub(crate) async fn with_noted(
    conn: &mut PgConnection,
    mut seen: BTreeMap<i64, Seen>,
) -> sqlx::Result<BTreeMap<i64, Seen>> {
    let noted: String = sqlx::query_scalar(
        "SELECT coalesce(current_setting('migrate.locks', true), ''), set_config('migrate.locks', '', false)",
    )
    .fetch_one(conn)
    .await?;
    let now = Instant::now();
    for (oid, mode) in noted.split(',').filter_map(|lock| lock.split_once(' ')) {
        let (Ok(oid), Some(mode)) = (oid.parse(), LockMode::parse(mode)) else {
            continue;
        };
        if seen.get(&oid).is_none_or(|s| mode > s.mode) {
            seen.insert(
                oid,
                Seen {
                    mode,
                    first: now,
                    last: now,
                },
            );
        }
    }
    Ok(seen)
}

/// A table before or after a migration.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TableFile {
    pub oid: i64,
    pub name: String,
    pub filenode: Option<i64>,
    pub size: i64,
}

/// Every user table's file and size, by oid, but the engine's own (`owned`, SQL names).
pub(crate) async fn tables(
    conn: &mut PgConnection,
    owned: &[String],
) -> sqlx::Result<BTreeMap<i64, TableFile>> {
    let rows: Vec<TableFile> = sqlx::query_as(
        "SELECT c.oid::bigint AS oid, c.oid::regclass::text AS name, \
                pg_relation_filenode(c.oid)::bigint AS filenode, pg_table_size(c.oid) AS size \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'm') \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
           AND NOT EXISTS (SELECT 1 FROM unnest($1::text[]) AS owned(name) WHERE to_regclass(owned.name) = c.oid)",
    )
    .bind(owned)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|t| (t.oid, t)).collect())
}

/// A table lock mode, weakest first (PostgreSQL's order of conflicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LockMode {
    /// `SELECT`.
    AccessShare,
    /// `SELECT ... FOR UPDATE`.
    RowShare,
    /// `INSERT`, `UPDATE`, `DELETE`.
    RowExclusive,
    /// `VACUUM`, `CREATE INDEX CONCURRENTLY`, `VALIDATE CONSTRAINT`.
    ShareUpdateExclusive,
    /// `CREATE INDEX`: blocks writes.
    Share,
    /// `CREATE TRIGGER`, some `ALTER TABLE`: blocks writes.
    ShareRowExclusive,
    /// `REFRESH MATERIALIZED VIEW CONCURRENTLY`: blocks writes and row locks.
    Exclusive,
    /// Most `ALTER TABLE`, `DROP`, `TRUNCATE`: blocks every query, reads included.
    AccessExclusive,
}

impl LockMode {
    fn parse(mode: &str) -> Option<Self> {
        Some(match mode {
            "AccessShareLock" => Self::AccessShare,
            "RowShareLock" => Self::RowShare,
            "RowExclusiveLock" => Self::RowExclusive,
            "ShareUpdateExclusiveLock" => Self::ShareUpdateExclusive,
            "ShareLock" => Self::Share,
            "ShareRowExclusiveLock" => Self::ShareRowExclusive,
            "ExclusiveLock" => Self::Exclusive,
            "AccessExclusiveLock" => Self::AccessExclusive,
            _ => return None,
        })
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AccessShare => "ACCESS SHARE",
            Self::RowShare => "ROW SHARE",
            Self::RowExclusive => "ROW EXCLUSIVE",
            Self::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            Self::Share => "SHARE",
            Self::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            Self::Exclusive => "EXCLUSIVE",
            Self::AccessExclusive => "ACCESS EXCLUSIVE",
        })
    }
}

/// The strongest lock seen on one table, and for how long it was seen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    pub mode: LockMode,
    first: Instant,
    last: Instant,
}

impl Seen {
    /// From the first to the last sample that showed it: a lower bound, short by at most one
    /// [`SAMPLE_EVERY`].
    pub fn held(&self) -> Duration {
        self.last - self.first
    }
}

/// Runs `work` (on the session `pid`) while `monitor` samples the relation locks `pid` holds;
/// returns `work`'s outcome and the strongest lock seen per relation oid.
pub(crate) async fn locks_during<T>(
    work: impl Future<Output = T>,
    monitor: &mut PgConnection,
    pid: i32,
) -> (T, sqlx::Result<BTreeMap<i64, Seen>>) {
    let done = Notify::new();
    let work = async {
        let outcome = work.await;
        done.notify_one();
        outcome
    };
    let sample = async {
        let mut seen: BTreeMap<i64, Seen> = BTreeMap::new();
        loop {
            let held: Vec<(i64, String)> = sqlx::query_as(
                "SELECT relation::bigint, mode FROM pg_locks \
                 WHERE pid = $1 AND locktype = 'relation' AND granted",
            )
            .bind(pid)
            .fetch_all(&mut *monitor)
            .await?;
            let now = Instant::now();
            for (oid, mode) in held {
                let Some(mode) = LockMode::parse(&mode) else {
                    continue;
                };
                let entry = seen.entry(oid).or_insert(Seen {
                    mode,
                    first: now,
                    last: now,
                });
                if mode > entry.mode {
                    *entry = Seen {
                        mode,
                        first: now,
                        last: now,
                    };
                } else if mode == entry.mode {
                    entry.last = now;
                }
            }
            tokio::select! {
                () = done.notified() => return Ok(seen),
                () = tokio::time::sleep(SAMPLE_EVERY) => {}
            }
        }
    };
    tokio::join!(work, sample)
}
