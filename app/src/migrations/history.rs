//! Reading sqlx's history table, `_sqlx_migrations`. Only the `migrate` binary writes to it.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

/// sqlx's table name; kept so sqlx-cli and `sqlx::migrate!().run()` see the same history.
pub const HISTORY_TABLE: &str = "_sqlx_migrations";

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: i64,
    pub description: String,
    pub installed_on: DateTime<Utc>,
    /// sqlx writes `false` when a migration failed part-way (not on PostgreSQL, where a failed
    /// migration rolls back, but other tools and older versions may have left such rows).
    pub success: bool,
    pub checksum: Vec<u8>,
    /// Nanoseconds, as sqlx records it; -1 when unknown.
    pub execution_time: i64,
}

/// Whether the history table exists (on the connection's `search_path`, as sqlx looks it up).
pub async fn history_table_exists(conn: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"SELECT to_regclass('_sqlx_migrations') IS NOT NULL AS "exists!""#)
        .fetch_one(conn)
        .await
}

/// Every row, oldest version first; empty when the table does not exist yet. One round trip:
/// the schema gate runs this on every wake-up of every process.
pub async fn read_history<'c>(
    executor: impl PgExecutor<'c>,
) -> sqlx::Result<Vec<AppliedMigration>> {
    let rows = sqlx::query_as!(
        AppliedMigration,
        "SELECT version, description, installed_on, success, checksum, execution_time \
         FROM _sqlx_migrations ORDER BY version"
    )
    .fetch_all(executor)
    .await;
    match rows {
        Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("42P01") => {
            Ok(Vec::new())
        }
        rows => rows,
    }
}
