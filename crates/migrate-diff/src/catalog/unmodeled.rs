//! Objects of kinds the planner does not model, so that a difference among them is refused by
//! name rather than missed: aggregates, operators, casts, collations, text search
//! configurations, statistics objects, rules other than views', foreign tables, partitions,
//! event triggers, publications, composite and range types.

use sqlx::{AssertSqlSafe, PgConnection};

use super::{Catalog, read::USER_SCHEMA};

pub(super) async fn read(conn: &mut PgConnection, catalog: &mut Catalog) -> sqlx::Result<()> {
    let described: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT format('aggregate %I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) \
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prokind IN ('a', 'w') AND {USER_SCHEMA} \
         UNION ALL SELECT format('operator %I.%s', n.nspname, o.oprname) \
           FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE {USER_SCHEMA} \
         UNION ALL SELECT format('collation %I.%I', n.nspname, c.collname) \
           FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE {USER_SCHEMA} \
         UNION ALL SELECT format('text search configuration %I.%I', n.nspname, c.cfgname) \
           FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace WHERE {USER_SCHEMA} \
         UNION ALL SELECT format('statistics object %I.%I', n.nspname, s.stxname) \
           FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE {USER_SCHEMA} \
         UNION ALL SELECT format('rule %I on %I.%I', r.rulename, n.nspname, c.relname) \
           FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE r.rulename <> '_RETURN' AND {USER_SCHEMA} \
         UNION ALL SELECT format('%s %I.%I', CASE c.relkind WHEN 'f' THEN 'foreign table' ELSE 'partition' END, n.nspname, c.relname) \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE (c.relkind = 'f' OR c.relispartition) AND {USER_SCHEMA} \
         UNION ALL SELECT format('%s type %I.%I', CASE t.typtype WHEN 'c' THEN 'composite' ELSE 'range' END, n.nspname, t.typname) \
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
           WHERE (t.typtype = 'r' OR (t.typtype = 'c' AND EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))) \
             AND {USER_SCHEMA} \
         UNION ALL SELECT format('cast (%s AS %s)', format_type(c.castsource, NULL), format_type(c.casttarget, NULL)) \
           FROM pg_cast c WHERE c.oid >= 16384 \
         UNION ALL SELECT format('event trigger %I', e.evtname) FROM pg_event_trigger e \
         UNION ALL SELECT format('publication %I', p.pubname) FROM pg_publication p"
    )))
    .fetch_all(&mut *conn)
    .await?;
    catalog.unmodeled.extend(described);
    Ok(())
}
