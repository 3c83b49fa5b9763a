//! sqlx's history table: finding it, creating it with the first migration, reading it.

use chrono::{DateTime, Utc};
use migrate_core::{
    Config,
    history::{RUNS_TABLE, create_table},
    quote::{literal, nullable, text_array},
};
use sqlx::{AssertSqlSafe, Executor, FromRow, PgConnection, PgExecutor};

use crate::error::Result;

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct AppliedMigration {
    /// The migration's version.
    pub version: i64,
    /// The description sqlx derived from its file name.
    pub description: String,
    /// When it was recorded.
    pub installed_on: DateTime<Utc>,
    /// sqlx writes `false` when a migration failed part-way (not on PostgreSQL, where a failed
    /// migration rolls back, but other tools and older versions may have left such rows).
    pub success: bool,
    /// sqlx's checksum of the file that ran.
    pub checksum: Vec<u8>,
    /// Nanoseconds, as sqlx records it; -1 when unknown.
    pub execution_time: i64,
}

/// Every row, oldest version first; empty when the table (or its schema) does not exist yet.
/// Whether it exists is asked first: reading a table that is not there would put an ERROR in
/// the server's log, and production teams alert on those.
pub(crate) async fn read_history<E>(
    conn: &mut E,
    table: &str,
) -> sqlx::Result<Vec<AppliedMigration>>
where
    for<'e> &'e mut E: PgExecutor<'e>,
{
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table)
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_as(AssertSqlSafe(select_rows(table)))
        .fetch_all(&mut *conn)
        .await
}

/// Where the history is kept, schema-qualified, so that a migration changing `search_path`
/// cannot make the bookkeeping land elsewhere; what is still to be created; and the shape of
/// the audit tables beside it.
pub(crate) struct HistoryTable {
    pub name: String,
    /// Its schema, quoted, with the dot (`public.`): where the audit tables sit too.
    prefix: String,
    /// Not created yet: the first migration's transaction creates it, so a failure leaves the
    /// database exactly as it was.
    pub missing: bool,
    /// Schemas of `create-schemas` that do not exist yet, created with the table.
    schemas: Vec<String>,
    /// The audit tables' shape, as their comment says (none: no audit tables yet).
    pub audit_shape: Option<String>,
}

impl HistoryTable {
    /// Finds the table, or where sqlx would create it (the first schema on `search_path`
    /// unless the configured name says), in one query.
    pub async fn locate(conn: &mut PgConnection, config: &Config) -> Result<Self> {
        let configured = config.table.as_sql();
        let written_prefix = config.table.schema().map(|schema| format!("{schema}."));
        // A simple query, values quoted in: one round trip, where a prepared statement's first
        // use costs two.
        let (configured, written_prefix) =
            (literal(configured), nullable(written_prefix.as_deref()));
        let row = conn
            .fetch_one(AssertSqlSafe(format!(
                "WITH found AS (SELECT format('%I.', n.nspname) AS prefix, format('%I.%I', n.nspname, c.relname) AS name \
                                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                                WHERE c.oid = to_regclass({configured})), \
                      planned AS (SELECT coalesce({written_prefix}, format('%I.', current_schema())) AS prefix), \
                      place AS (SELECT coalesce((SELECT prefix FROM found), (SELECT prefix FROM planned)) AS prefix, \
                                       coalesce((SELECT name FROM found), \
                                                CASE WHEN {written_prefix} IS NULL THEN (SELECT prefix FROM planned) || {configured} \
                                                     ELSE {configured} END) AS name, \
                                       EXISTS (SELECT FROM found) AS exists) \
                 SELECT prefix, name, exists, \
                        ARRAY(SELECT s FROM unnest({schemas}) WITH ORDINALITY AS t(s, i) \
                              WHERE to_regnamespace(s) IS NULL ORDER BY i), \
                        obj_description(to_regclass(prefix || {runs}), 'pg_class') \
                 FROM place",
                schemas = text_array(&config.create_schemas),
                runs = literal(RUNS_TABLE),
            )))
            .await?;
        let (prefix, name, exists, schemas, audit_shape) =
            <(String, String, bool, Vec<String>, Option<String>)>::from_row(&row)?;
        Ok(Self {
            name,
            prefix,
            missing: !exists,
            schemas,
            audit_shape,
        })
    }

    /// A table known to exist, with its audit tables, for tests that build messages.
    #[cfg(test)]
    pub fn existing(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            prefix: "public.".to_owned(),
            missing: false,
            schemas: Vec::new(),
            audit_shape: Some(migrate_core::history::AUDIT_SHAPE.to_owned()),
        }
    }

    /// Its rows, oldest version first; none while it is still to be created.
    pub async fn read(&self, conn: &mut PgConnection) -> Result<Vec<AppliedMigration>> {
        if self.missing {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(AssertSqlSafe(select_rows(&self.name)))
            .fetch_all(conn)
            .await?)
    }

    /// SQL creating what is missing (the configured schemas, the table), or nothing. Put in
    /// front of the first migration so that they appear with it.
    pub fn setup(&self) -> String {
        let mut sql = self.create_schemas();
        if self.missing {
            sql += &create_table(&self.name);
            sql += &keep_writes_to_owner(&self.name);
        }
        sql
    }

    /// SQL creating the configured schemas that do not exist yet.
    pub fn create_schemas(&self) -> String {
        self.schemas
            .iter()
            .map(|schema| format!("CREATE SCHEMA IF NOT EXISTS {schema};\n"))
            .collect()
    }

    /// The setup committed: nothing is missing any more.
    pub fn created(&mut self) {
        self.missing = false;
        self.schemas.clear();
    }

    /// Another table in its schema.
    pub fn sibling(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn needs_setup(&self) -> bool {
        self.missing || !self.schemas.is_empty()
    }
}

/// The query reading every row of `table`.
fn select_rows(table: &str) -> String {
    format!(
        "SELECT version, description, installed_on, success, checksum, execution_time \
         FROM {table} ORDER BY version"
    )
}

/// Revokes, from everyone but its owner, the right to write `table`: default privileges may
/// have handed it out (`ops/roles.sql` gives the runtime role rows of every new table), but
/// only `migrate` writes the history. Reading it stays allowed: the schema gate needs it.
pub(crate) fn keep_writes_to_owner(table: &str) -> String {
    let table = literal(table);
    format!(
        "DO $revoke$
DECLARE grantee text;
BEGIN
    FOR grantee IN
        SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = {table}::regclass AND a.grantee <> c.relowner
          AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
    LOOP
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %s FROM %s', {table}, grantee);
    END LOOP;
END
$revoke$;
"
    )
}
