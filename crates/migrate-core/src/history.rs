//! sqlx's history table: the one definition the engine creates and the tooling reproduces.

/// sqlx's definition of its history table (`ensure_migrations_table` in
/// `sqlx-postgres/src/migrate.rs`), column for column, so sqlx and sqlx-cli keep working on
/// databases `migrate` created. `table` is interpolated as written, as sqlx does.
pub fn create_table(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);
"
    )
}
