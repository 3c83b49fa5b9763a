//! Tables and what hangs off them: columns, constraints, indexes, triggers, row-level security
//! and its policies, grants, comments; and sequences.

use sqlx::{AssertSqlSafe, PgConnection};

use super::{
    Catalog, Column, Constraint, Index, Name, Object, Policy, Sequence, Table, Trigger,
    read::{USER_SCHEMA, not_from_extension},
};

/// The tables read, as a CTE named `t` (oid, schema, name), the excluded ones left out.
fn tables_cte() -> String {
    format!(
        "WITH t AS (SELECT c.oid, n.nspname::text AS schema, c.relname::text AS name \
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {USER_SCHEMA} \
                      AND {} \
                      AND NOT c.oid::int8 = ANY ($1::int8[]))",
        not_from_extension("pg_class", "c.oid")
    )
}

pub(super) async fn read(
    conn: &mut PgConnection,
    catalog: &mut Catalog,
    exclude: &[i64],
) -> sqlx::Result<()> {
    let cte = tables_cte();
    let tables: Vec<(String, String, bool, bool, Option<String>)> =
        sqlx::query_as(AssertSqlSafe(format!(
            "{cte} SELECT t.schema, t.name, c.relrowsecurity, c.relforcerowsecurity, \
                    obj_description(c.oid, 'pg_class') FROM t JOIN pg_class c ON c.oid = t.oid"
        )))
        .bind(exclude)
        .fetch_all(&mut *conn)
        .await?;
    for (schema, name, row_security, force_row_security, comment) in tables {
        catalog.tables.insert(
            Name::new(&schema, &name),
            Table {
                row_security,
                force_row_security,
                comment,
                ..Table::default()
            },
        );
    }

    type ColumnRow = (
        String,
        String,
        String,
        String,
        bool,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let columns: Vec<ColumnRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{cte} SELECT t.schema, t.name, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
                CASE WHEN a.attcollation <> 0 AND a.attcollation <> ty.typcollation THEN \
                     (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co \
                      JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END, \
                col_description(t.oid, a.attnum) \
         FROM t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped \
         JOIN pg_type ty ON ty.oid = a.atttypid \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         ORDER BY t.schema, t.name, a.attnum"
    )))
    .bind(exclude)
    .fetch_all(&mut *conn)
    .await?;
    for (
        schema,
        table,
        name,
        data_type,
        not_null,
        expression,
        identity,
        generated,
        collation,
        comment,
    ) in columns
    {
        let generated = generated.chars().next();
        let column = Column {
            name,
            data_type,
            not_null,
            default: expression.clone().filter(|_| generated.is_none()),
            identity: identity.chars().next(),
            generated: generated.and_then(|kind| Some((expression?, kind))),
            collation,
            comment,
        };
        if let Some(table) = catalog.tables.get_mut(&Name::new(&schema, &table)) {
            table.columns.push(column);
        }
    }

    type ConstraintRow = (
        String,
        String,
        String,
        String,
        String,
        bool,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let constraints: Vec<ConstraintRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{cte} SELECT t.schema, t.name, co.conname::text, co.contype::text, pg_get_constraintdef(co.oid), \
                co.convalidated, fn.nspname::text, f.relname::text, obj_description(co.oid, 'pg_constraint'), \
                CASE WHEN co.contype IN ('p', 'u', 'x') THEN pg_get_indexdef(co.conindid) END \
         FROM t JOIN pg_constraint co ON co.conrelid = t.oid AND co.contype IN ('p', 'u', 'c', 'f', 'x') \
         LEFT JOIN pg_class f ON f.oid = co.confrelid LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace"
    )))
    .bind(exclude)
    .fetch_all(&mut *conn)
    .await?;
    for (schema, table, name, kind, definition, validated, ref_schema, ref_table, comment, index) in
        constraints
    {
        let references = ref_schema.zip(ref_table).map(|(s, t)| Name::new(&s, &t));
        if let Some(referenced) = &references {
            catalog.depends.insert((
                Object::Table(Name::new(&schema, &table)),
                Object::Table(referenced.clone()),
            ));
        }
        if let Some(table) = catalog.tables.get_mut(&Name::new(&schema, &table)) {
            table.constraints.insert(
                name,
                Constraint {
                    kind: kind.chars().next().unwrap_or('?'),
                    definition,
                    validated,
                    references,
                    index,
                    comment,
                },
            );
        }
    }

    let indexes: Vec<(String, String, String, String, Option<String>)> =
        sqlx::query_as(AssertSqlSafe(format!(
            "{cte} SELECT t.schema, t.name, i.relname::text, pg_get_indexdef(i.oid), obj_description(i.oid, 'pg_class') \
             FROM t JOIN pg_index x ON x.indrelid = t.oid JOIN pg_class i ON i.oid = x.indexrelid \
             WHERE NOT EXISTS (SELECT FROM pg_constraint co WHERE co.conindid = x.indexrelid \
                               AND co.conrelid = t.oid AND co.contype IN ('p', 'u', 'x'))"
        )))
        .bind(exclude)
        .fetch_all(&mut *conn)
        .await?;
    for (schema, table, name, definition, comment) in indexes {
        if let Some(table) = catalog.tables.get_mut(&Name::new(&schema, &table)) {
            table.indexes.insert(
                name,
                Index {
                    definition,
                    comment,
                },
            );
        }
    }

    let triggers: Vec<(String, String, String, String, String, Option<String>)> =
        sqlx::query_as(AssertSqlSafe(format!(
            "{cte} SELECT t.schema, t.name, tg.tgname::text, pg_get_triggerdef(tg.oid, true), \
                    format('%I.%I(%s)', pn.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), \
                    obj_description(tg.oid, 'pg_trigger') \
             FROM t JOIN pg_trigger tg ON tg.tgrelid = t.oid AND NOT tg.tgisinternal \
             JOIN pg_proc p ON p.oid = tg.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace"
        )))
        .bind(exclude)
        .fetch_all(&mut *conn)
        .await?;
    for (schema, table, name, definition, function, comment) in triggers {
        let owner = Name::new(&schema, &table);
        catalog.depends.insert((
            Object::Trigger(owner.clone(), name.clone()),
            Object::Function(function.clone()),
        ));
        if let Some(table) = catalog.tables.get_mut(&owner) {
            table.triggers.insert(
                name,
                Trigger {
                    definition,
                    function,
                    comment,
                },
            );
        }
    }

    type PolicyRow = (
        String,
        String,
        String,
        bool,
        String,
        Vec<String>,
        Option<String>,
        Option<String>,
    );
    let policies: Vec<PolicyRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{cte} SELECT t.schema, t.name, p.polname::text, p.polpermissive, \
                CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' \
                              WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, \
                ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END \
                      FROM unnest(p.polroles) r ORDER BY 1), \
                pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid) \
         FROM t JOIN pg_policy p ON p.polrelid = t.oid"
    )))
    .bind(exclude)
    .fetch_all(&mut *conn)
    .await?;
    for (schema, table, name, permissive, command, roles, using, check) in policies {
        if let Some(table) = catalog.tables.get_mut(&Name::new(&schema, &table)) {
            table.policies.insert(
                name,
                Policy {
                    permissive,
                    command,
                    roles,
                    using,
                    check,
                },
            );
        }
    }

    let grants: Vec<(String, String, String, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "{cte} SELECT t.schema, t.name, \
                CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END, \
                g.privilege_type \
         FROM t JOIN pg_class c ON c.oid = t.oid, aclexplode(c.relacl) g WHERE g.grantee <> c.relowner"
    )))
    .bind(exclude)
    .fetch_all(&mut *conn)
    .await?;
    for (schema, table, grantee, privilege) in grants {
        if let Some(table) = catalog.tables.get_mut(&Name::new(&schema, &table)) {
            table.grants.insert((grantee, privilege));
        }
    }

    // Functions a trigger's WHEN or a policy's expressions call.
    let calls: Vec<(String, String, String, String, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "{cte} SELECT 'trigger', t.schema, t.name, tg.tgname::text, \
                format('%I.%I(%s)', pn.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) \
         FROM t JOIN pg_trigger tg ON tg.tgrelid = t.oid AND NOT tg.tgisinternal \
         JOIN pg_depend d ON d.classid = 'pg_trigger'::regclass AND d.objid = tg.oid \
              AND d.refclassid = 'pg_proc'::regclass \
         JOIN pg_proc p ON p.oid = d.refobjid JOIN pg_namespace pn ON pn.oid = p.pronamespace \
         UNION ALL \
         SELECT 'policy', t.schema, t.name, po.polname::text, \
                format('%I.%I(%s)', pn.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) \
         FROM t JOIN pg_policy po ON po.polrelid = t.oid \
         JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = po.oid \
              AND d.refclassid = 'pg_proc'::regclass \
         JOIN pg_proc p ON p.oid = d.refobjid JOIN pg_namespace pn ON pn.oid = p.pronamespace"
    )))
    .bind(exclude)
    .fetch_all(&mut *conn)
    .await?;
    for (kind, schema, table, name, function) in calls {
        let owner = Name::new(&schema, &table);
        let dependent = match kind.as_str() {
            "trigger" => Object::Trigger(owner, name),
            _ => Object::Policy(owner, name),
        };
        catalog
            .depends
            .insert((dependent, Object::Function(function)));
    }

    read_sequences(conn, catalog).await
}

async fn read_sequences(conn: &mut PgConnection, catalog: &mut Catalog) -> sqlx::Result<()> {
    type SequenceRow = (
        String,
        String,
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
        bool,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
    );
    let sequences: Vec<SequenceRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT n.nspname::text, c.relname::text, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, \
                s.seqmin, s.seqmax, s.seqcache, s.seqcycle, on_.nspname::text, oc.relname::text, oa.attname::text, \
                d.deptype = 'i' \
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid \
              AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') \
         LEFT JOIN pg_class oc ON oc.oid = d.refobjid LEFT JOIN pg_namespace on_ ON on_.oid = oc.relnamespace \
         LEFT JOIN pg_attribute oa ON oa.attrelid = d.refobjid AND oa.attnum = d.refobjsubid \
         WHERE {USER_SCHEMA} AND {}",
        not_from_extension("pg_class", "c.oid")
    )))
    .fetch_all(&mut *conn)
    .await?;
    for (
        schema,
        name,
        data_type,
        start,
        increment,
        min,
        max,
        cache,
        cycle,
        owner_schema,
        owner_table,
        owner_column,
        identity,
    ) in sequences
    {
        let owned_by = match (owner_schema, owner_table, owner_column) {
            (Some(s), Some(t), Some(c)) => Some((Name::new(&s, &t), c)),
            _ => None,
        };
        catalog.sequences.insert(
            Name::new(&schema, &name),
            Sequence {
                data_type,
                start,
                increment,
                min,
                max,
                cache,
                cycle,
                owned_by,
                identity,
            },
        );
    }
    Ok(())
}
