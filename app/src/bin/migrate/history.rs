//! sqlx's history table, as the runner writes it.

use sqlx::PgConnection;

use crate::failure::Result;

/// sqlx's definition, to the byte, so sqlx-cli keeps working on databases `migrate` created.
const CREATE: &str = "CREATE TABLE IF NOT EXISTS {table} (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);
";

/// Where the history table is, schema-qualified, so that a migration changing `search_path`
/// cannot make the bookkeeping land elsewhere.
pub struct HistoryTable {
    pub name: String,
    /// Not created yet: the first migration's transaction creates it, so a failure leaves the
    /// database exactly as it was.
    pub missing: bool,
}

impl HistoryTable {
    /// Finds the table, or the schema sqlx would create it in (the first on `search_path`).
    pub async fn locate(conn: &mut PgConnection) -> Result<Self> {
        let found = sqlx::query!(
            r#"SELECT format('%I.%I', n.nspname, c.relname) AS name
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.oid = to_regclass('_sqlx_migrations')"#
        )
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = found.and_then(|r| r.name) {
            return Ok(Self {
                name: row,
                missing: false,
            });
        }
        let name = sqlx::query_scalar!(
            r#"SELECT format('%I._sqlx_migrations', current_schema()) AS "name!""#
        )
        .fetch_one(conn)
        .await?;
        Ok(Self {
            name,
            missing: true,
        })
    }

    /// The statement creating the table when it does not exist yet, else nothing. Put in
    /// front of the first bookkeeping so that the table appears with the first migration.
    pub fn create_if_missing(&self) -> String {
        if self.missing {
            CREATE.replace("{table}", &self.name)
        } else {
            String::new()
        }
    }
}
