//! Creating sqlx's history table when it is missing.

use sqlx::{Executor, PgConnection};

use crate::failure::Result;

/// Creates `_sqlx_migrations` if needed, exactly as sqlx does (so sqlx-cli keeps working), and
/// returns its schema-qualified name. Only called with the migration lock held, which is what
/// makes `CREATE TABLE IF NOT EXISTS` safe under concurrency.
pub async fn ensure_history_table(conn: &mut PgConnection) -> Result<String> {
    if let Some(name) = qualified_name(conn).await? {
        return Ok(name);
    }
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);",
    )
    .await?;
    Ok(qualified_name(conn)
        .await?
        .expect("the table was just created"))
}

async fn qualified_name(conn: &mut PgConnection) -> Result<Option<String>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT format('%I.%I', n.nspname, c.relname) AS "name!"
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.oid = to_regclass('_sqlx_migrations')"#
    )
    .fetch_optional(conn)
    .await?)
}
