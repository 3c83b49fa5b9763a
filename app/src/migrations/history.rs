//! Reading sqlx's history table, `_sqlx_migrations`. Only the `migrate` binary writes to it.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

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
