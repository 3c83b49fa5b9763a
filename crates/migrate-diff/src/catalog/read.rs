//! Reading a catalog: each kind's reader adds to one [`Catalog`].

use sqlx::PgConnection;

use super::{Catalog, Extension, Schema, functions, tables, types, unmodeled, views};

/// The schemas a user's objects live in (not the system's).
pub(super) const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_%'";

/// An object of catalog `class` (`pg_class`, `pg_type`, `pg_proc`...) with oid `oid` that no
/// extension owns.
pub(super) fn not_from_extension(class: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = '{class}'::regclass \
         AND e.objid = {oid} AND e.deptype = 'e')"
    )
}

/// Reads the schema of the database `conn` is connected to, leaving out the tables in
/// `exclude` (SQL names, as `to_regclass` takes them).
pub async fn read(conn: &mut PgConnection, exclude: &[String]) -> sqlx::Result<Catalog> {
    // Found by name before the search_path goes; by oid from then on.
    let exclude: Vec<i64> = sqlx::query_scalar(
        "SELECT to_regclass(x)::oid::int8 FROM unnest($1::text[]) x WHERE to_regclass(x) IS NOT NULL",
    )
    .bind(exclude)
    .fetch_all(&mut *conn)
    .await?;
    // With an empty search_path PostgreSQL qualifies every name it prints, as pg_dump has it:
    // the definitions mean the same whatever search_path a migration later runs with.
    sqlx::query("SELECT pg_catalog.set_config('search_path', '', false)")
        .execute(&mut *conn)
        .await?;
    let mut catalog = Catalog::default();
    let schemas: Vec<(String, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT n.nspname::text, obj_description(n.oid, 'pg_namespace') FROM pg_namespace n \
         WHERE {USER_SCHEMA} AND {} ORDER BY 1",
        not_from_extension("pg_namespace", "n.oid")
    )))
    .fetch_all(&mut *conn)
    .await?;
    for (name, comment) in schemas {
        // `public` comes with every database, with the standard comment; it is not planned.
        catalog.schemas.insert(name, Schema { comment });
    }
    let extensions: Vec<(String, String)> = sqlx::query_as(
        "SELECT x.extname::text, n.nspname::text FROM pg_extension x \
         JOIN pg_namespace n ON n.oid = x.extnamespace WHERE x.extname <> 'plpgsql' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (name, schema) in extensions {
        catalog.extensions.insert(name, Extension { schema });
    }
    types::read(conn, &mut catalog).await?;
    tables::read(conn, &mut catalog, &exclude).await?;
    views::read(conn, &mut catalog).await?;
    functions::read(conn, &mut catalog).await?;
    unmodeled::read(conn, &mut catalog).await?;
    Ok(catalog)
}
