//! Functions and procedures. PostgreSQL records no dependency for what a body reads (except a
//! `BEGIN ATOMIC` body), so the body's words are matched against the tables, views and
//! functions the catalog holds: a function is created after what it names, dropped before.

use std::collections::BTreeSet;

use sqlx::{AssertSqlSafe, PgConnection};

use super::{
    Catalog, Function, Name, Object,
    read::{USER_SCHEMA, not_from_extension},
};

pub(super) async fn read(conn: &mut PgConnection, catalog: &mut Catalog) -> sqlx::Result<()> {
    type FunctionRow = (
        String,
        String,
        String,
        String,
        bool,
        Option<String>,
        String,
        String,
        Option<String>,
    );
    let functions: Vec<FunctionRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), \
                n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid), p.prokind = 'p', \
                CASE WHEN p.prokind = 'p' THEN NULL ELSE pg_get_function_result(p.oid) END, \
                pg_get_functiondef(p.oid), p.prosrc, obj_description(p.oid, 'pg_proc') \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE p.prokind IN ('f', 'p') AND {USER_SCHEMA} AND {}",
        not_from_extension("pg_proc", "p.oid")
    )))
    .fetch_all(&mut *conn)
    .await?;
    let names: Vec<(Object, String)> = catalog
        .tables
        .keys()
        .map(|n| (Object::Table(n.clone()), n.name.to_lowercase()))
        .chain(
            catalog
                .views
                .keys()
                .map(|n| (Object::View(n.clone()), n.name.to_lowercase())),
        )
        .chain(
            functions
                .iter()
                .map(|f| (Object::Function(f.0.clone()), f.2.to_lowercase())),
        )
        .collect();
    for (key, schema, name, arguments, procedure, result, definition, body, comment) in functions {
        let words: BTreeSet<String> = body
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map(str::to_lowercase)
            .collect();
        for (object, object_name) in &names {
            if words.contains(object_name) && *object != Object::Function(key.clone()) {
                catalog
                    .depends
                    .insert((Object::Function(key.clone()), object.clone()));
            }
        }
        catalog.functions.insert(
            key,
            Function {
                name: Name::new(&schema, &name),
                arguments,
                procedure,
                result,
                definition,
                comment,
            },
        );
    }
    Ok(())
}
