//! Enums and domains.

use sqlx::{AssertSqlSafe, PgConnection};

use super::{
    Catalog, Domain, Enum, Name,
    read::{USER_SCHEMA, not_from_extension},
};

pub(super) async fn read(conn: &mut PgConnection, catalog: &mut Catalog) -> sqlx::Result<()> {
    let enums: Vec<(String, String, Vec<String>, Option<String>)> =
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT n.nspname::text, t.typname::text, \
                    ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder), \
                    obj_description(t.oid, 'pg_type') \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typtype = 'e' AND {USER_SCHEMA} AND {}",
            not_from_extension("pg_type", "t.oid")
        )))
        .fetch_all(&mut *conn)
        .await?;
    for (schema, name, labels, comment) in enums {
        catalog
            .enums
            .insert(Name::new(&schema, &name), Enum { labels, comment });
    }

    type DomainRow = (
        String,
        String,
        String,
        bool,
        Option<String>,
        Vec<String>,
        Vec<String>,
        Option<String>,
    );
    let domains: Vec<DomainRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT n.nspname::text, t.typname::text, format_type(t.typbasetype, t.typtypmod), t.typnotnull, \
                t.typdefault, \
                ARRAY(SELECT c.conname::text FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY 1), \
                ARRAY(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname), \
                obj_description(t.oid, 'pg_type') \
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE t.typtype = 'd' AND {USER_SCHEMA} AND {}",
        not_from_extension("pg_type", "t.oid")
    )))
    .fetch_all(&mut *conn)
    .await?;
    for (schema, name, base, not_null, default, check_names, check_definitions, comment) in domains
    {
        catalog.domains.insert(
            Name::new(&schema, &name),
            Domain {
                base,
                not_null,
                default,
                checks: check_names.into_iter().zip(check_definitions).collect(),
                comment,
            },
        );
    }
    Ok(())
}
