//! Views and materialized views, with what they depend on (`pg_rewrite` through `pg_depend`).

use sqlx::{AssertSqlSafe, PgConnection};

use super::{
    Catalog, Name, Object, View,
    read::{USER_SCHEMA, not_from_extension},
};

pub(super) async fn read(conn: &mut PgConnection, catalog: &mut Catalog) -> sqlx::Result<()> {
    let views: Vec<(String, String, bool, String, Option<String>)> =
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT n.nspname::text, c.relname::text, c.relkind = 'm', pg_get_viewdef(c.oid, true), \
                    obj_description(c.oid, 'pg_class') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('v', 'm') AND {USER_SCHEMA} AND {}",
            not_from_extension("pg_class", "c.oid")
        )))
        .fetch_all(&mut *conn)
        .await?;
    for (schema, name, materialized, definition, comment) in views {
        catalog.views.insert(
            Name::new(&schema, &name),
            View {
                materialized,
                definition,
                comment,
                ..View::default()
            },
        );
    }

    let indexes: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, i.relname::text, pg_get_indexdef(i.oid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_index x ON x.indrelid = c.oid JOIN pg_class i ON i.oid = x.indexrelid \
         WHERE c.relkind = 'm'",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (schema, view, name, definition) in indexes {
        if let Some(view) = catalog.views.get_mut(&Name::new(&schema, &view)) {
            view.indexes.insert(name, definition);
        }
    }

    let grants: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, \
                CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END, \
                g.privilege_type \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) g \
         WHERE c.relkind IN ('v', 'm') AND g.grantee <> c.relowner",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (schema, view, grantee, privilege) in grants {
        if let Some(view) = catalog.views.get_mut(&Name::new(&schema, &view)) {
            view.grants.insert((grantee, privilege));
        }
    }

    // What each view's rule reads: tables, views, functions, types.
    let depends: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT DISTINCT vn.nspname::text, v.relname::text, \
                CASE WHEN d.refclassid = 'pg_class'::regclass THEN \
                          CASE rc.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' WHEN 'S' THEN 'sequence' ELSE 'table' END \
                     WHEN d.refclassid = 'pg_proc'::regclass THEN 'function' ELSE 'type' END, \
                coalesce(rn.nspname, pn.nspname, tn.nspname)::text, \
                coalesce(rc.relname::text, CASE WHEN p.oid IS NOT NULL THEN format('%I.%I(%s)', pn.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) END, ty.typname::text) \
         FROM pg_class v JOIN pg_namespace vn ON vn.oid = v.relnamespace \
         JOIN pg_rewrite r ON r.ev_class = v.oid \
         JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.deptype = 'n' \
         LEFT JOIN pg_class rc ON d.refclassid = 'pg_class'::regclass AND rc.oid = d.refobjid \
         LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
         LEFT JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid \
         LEFT JOIN pg_namespace pn ON pn.oid = p.pronamespace \
         LEFT JOIN pg_type ty ON d.refclassid = 'pg_type'::regclass AND ty.oid = d.refobjid \
         LEFT JOIN pg_namespace tn ON tn.oid = ty.typnamespace \
         WHERE v.relkind IN ('v', 'm') AND (rc.oid IS NULL OR rc.oid <> v.oid) \
           AND d.refclassid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass)",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (schema, view, kind, ref_schema, referenced) in depends {
        let dependent = Object::View(Name::new(&schema, &view));
        let referenced = match kind.as_str() {
            "view" => Object::View(Name::new(&ref_schema, &referenced)),
            "table" => Object::Table(Name::new(&ref_schema, &referenced)),
            "sequence" => Object::Sequence(Name::new(&ref_schema, &referenced)),
            "function" => Object::Function(referenced),
            _ => Object::Type(Name::new(&ref_schema, &referenced)),
        };
        catalog.depends.insert((dependent, referenced));
    }
    Ok(())
}
