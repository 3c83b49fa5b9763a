//! The tables `migrate` keeps: sqlx's history table, exactly as sqlx defines it, and beside it
//! the audit trail sqlx does not have (every run that changed or tried to change the schema,
//! and each step it took). The engine creates them; the tooling leaves them out of schema
//! dumps and comparisons.

use crate::TableName;

/// The audit table of runs, beside the history table.
pub const RUNS_TABLE: &str = "_migrate_runs";
/// The audit table of steps (a migration applied, reverted, baselined or failed).
pub const STEPS_TABLE: &str = "_migrate_steps";

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

/// What the runs table's comment says once its tables have the current shape: `migrate` sets
/// them up (creates or upgrades them) only when it reads something else there.
pub const AUDIT_SHAPE: &str = "migrate audit trail, shape 2";

/// Creates the audit tables, `runs` and `steps` (SQL names), or brings tables an older
/// `migrate` created to [`AUDIT_SHAPE`]; safe to run again. A run's row is written when it
/// starts (`outcome` NULL while it runs) and completed when it ends; a run killed in between
/// keeps NULL until the next run marks it `unfinished`. `start_lsn` is the server's WAL
/// position as the run started: point-in-time recovery can stop just before it. Steps name
/// their run without a foreign key: only `migrate` writes them, and a check per step row
/// would cost every migration more than it protects.
pub fn set_up_audit_tables(runs: &str, steps: &str) -> String {
    let bare = runs.rsplit('.').next().unwrap_or(runs).trim_matches('"');
    let outcomes = "'succeeded', 'failed', 'refused', 'interrupted', 'unfinished'";
    format!(
        "CREATE TABLE IF NOT EXISTS {runs} (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    finished_at TIMESTAMPTZ,
    outcome TEXT,
    error TEXT,
    command TEXT NOT NULL,
    database_role TEXT NOT NULL DEFAULT current_user,
    application_name TEXT NOT NULL DEFAULT current_setting('application_name'),
    client_addr TEXT DEFAULT host(inet_client_addr()),
    client_host TEXT,
    os_user TEXT,
    build_version TEXT NOT NULL,
    build_commit TEXT NOT NULL,
    lock_wait_ms BIGINT NOT NULL,
    backend_pid INTEGER NOT NULL DEFAULT pg_backend_pid()
);
ALTER TABLE {runs} ADD COLUMN IF NOT EXISTS start_lsn PG_LSN DEFAULT pg_current_wal_lsn();
ALTER TABLE {runs} DROP CONSTRAINT IF EXISTS {constraint};
ALTER TABLE {runs} ADD CONSTRAINT {constraint} CHECK (outcome IN ({outcomes}));
CREATE TABLE IF NOT EXISTS {steps} (
    run_id BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    checksum BYTEA NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('apply', 'revert', 'baseline')),
    outcome TEXT NOT NULL CHECK (outcome IN ('done', 'failed')),
    execution_time BIGINT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT
);
ALTER TABLE {steps} DROP CONSTRAINT IF EXISTS {steps_fk};
CREATE INDEX IF NOT EXISTS {STEPS_TABLE}_run_id_idx ON {steps} (run_id);
COMMENT ON TABLE {runs} IS {shape};
",
        constraint = crate::quote::ident(&format!("{bare}_outcome_check")),
        steps_fk = crate::quote::ident(&format!("{STEPS_TABLE}_run_id_fkey")),
        shape = crate::quote::literal(AUDIT_SHAPE),
    )
}

/// Every table `migrate` keeps for `history` (as configured), as SQL names: the history
/// table, then the runs and steps beside it.
pub fn owned_tables(history: &TableName) -> [String; 3] {
    [
        history.as_sql().to_owned(),
        history.sibling(RUNS_TABLE),
        history.sibling(STEPS_TABLE),
    ]
}
