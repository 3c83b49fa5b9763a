//! The schema of a database, two ways: a normalized `pg_dump` (what `schema.sql` holds, and
//! what two databases are compared by, statement by statement) and a catalog description (one
//! line per object, for fast comparisons). Both leave out the tables `migrate` keeps: sqlx's
//! history table and the audit trail.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use pg_cluster::process;

use migrate_core::{Config, MigrationSet, history::owned_tables};

use super::{Server, url::PgUrl};
use crate::project_root;

const HEADER: &str = "-- The schema you want: edit it as plain PostgreSQL DDL, then `cargo xtask migrate-diff NAME`\n\
                      -- writes the migration that gets there (and rewrites this file as the database prints it).\n\
                      -- `cargo xtask migrate-check` fails while the migrations and this file disagree.\n\n";

/// The normalized `pg_dump --schema-only` of `url`, as `schema.sql` holds it (no grants: they
/// name roles, which vary between servers).
pub fn dump(db: &Server, url: &PgUrl, config: &Config) -> anyhow::Result<String> {
    dump_with(db, url, config, false)
}

/// The statements of the dump of `url` with the grants too (see [`statements`]), for comparing
/// two databases on one server.
pub fn compared(db: &Server, url: &PgUrl, config: &Config) -> anyhow::Result<BTreeSet<String>> {
    Ok(statements(&dump_with(db, url, config, true)?))
}

fn dump_with(
    db: &Server,
    url: &PgUrl,
    config: &Config,
    privileges: bool,
) -> anyhow::Result<String> {
    let mut pg_dump = db.client("pg_dump", url);
    pg_dump
        .args(["--schema-only", "--no-owner", "--no-tablespaces"])
        .args((!privileges).then_some("--no-privileges"))
        .args(owned_tables(&config.table).map(|table| format!("--exclude-table={table}")));
    Ok(normalize(
        &process::read(pg_dump).context("pg_dump failed")?,
    ))
}

/// Drops what varies between dumps of the same schema: comments, session settings, psql's
/// per-dump `\restrict` keys, runs of blank lines, and the `pg_attver` option that Debian's
/// server sets on every column (its own pg_dump leaves it out; a newer one prints it).
fn normalize(dump: &str) -> String {
    let mut out = String::from(HEADER);
    let mut blank = true;
    for line in dump.lines() {
        let noise = line.starts_with("--")
            || line.starts_with("SET ")
            || line.starts_with("SELECT pg_catalog.set_config")
            || line.starts_with("\\restrict")
            || line.starts_with("\\unrestrict")
            || (line.starts_with("ALTER TABLE ") && line.contains(" SET (pg_attver="));
        if noise || (line.trim().is_empty() && blank) {
            continue;
        }
        blank = line.trim().is_empty();
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The statements of a normalized dump, as a set; a table's columns (and constraints written
/// inside it) in name order: PostgreSQL can only append a column, so the order is not compared.
pub fn statements(dump: &str) -> BTreeSet<String> {
    dump.split("\n\n")
        .filter(|block| !block.trim().is_empty() && !block.starts_with("-- "))
        .map(|block| {
            let lines: Vec<&str> = block.lines().collect();
            match (lines.first(), lines.last()) {
                (Some(first), Some(&");"))
                    if first.starts_with("CREATE TABLE ") && lines.len() > 2 =>
                {
                    let mut inner: Vec<String> = lines[1..lines.len() - 1]
                        .iter()
                        .map(|l| l.trim_end_matches(',').to_owned())
                        .collect();
                    inner.sort();
                    format!("{first}\n{}\n);", inner.join(",\n"))
                }
                _ => block.trim().to_owned(),
            }
        })
        .collect()
}

/// What differs between two sets of [`statements`], one line each, named by each statement's
/// first line: `only in the migrations: ...`, `only in schema.sql: ...`.
pub fn differences(migrations: &BTreeSet<String>, declared: &BTreeSet<String>) -> Vec<String> {
    let first = |s: &String| {
        s.lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches(" (")
            .to_owned()
    };
    let only_migrations: BTreeSet<String> = migrations.difference(declared).map(first).collect();
    let only_declared: BTreeSet<String> = declared.difference(migrations).map(first).collect();
    let mut lines = Vec::new();
    for statement in only_migrations.union(&only_declared) {
        match (
            only_migrations.contains(statement),
            only_declared.contains(statement),
        ) {
            (true, true) => lines.push(format!("differs: {statement}")),
            (true, false) => lines.push(format!("only in the migrations: {statement}")),
            _ => lines.push(format!("only in schema.sql: {statement}")),
        }
    }
    lines
}

/// Runs `file` (plain SQL, as `schema.sql`) in the empty database `url`.
pub fn load(db: &Server, url: &PgUrl, file: &Path) -> anyhow::Result<()> {
    let mut load = db.psql(url);
    load.arg("-f").arg(file);
    let loaded = process::output(load)?;
    if !loaded.status.success() {
        bail!(
            "{} does not load into an empty database: {}",
            file.display(),
            String::from_utf8_lossy(&loaded.stderr).trim_end()
        );
    }
    Ok(())
}

/// One line per schema object of `url` (relations, columns, constraints, indexes, views,
/// functions, triggers, types, extensions), sorted.
pub fn catalog(db: &Server, url: &PgUrl, set: &MigrationSet) -> anyhow::Result<BTreeSet<String>> {
    let [history, runs, steps] = owned_tables(&set.config().table);
    let mut psql = db.psql(url);
    // From stdin: psql interpolates `:'history'` there, not in `-c`.
    psql.args(["-t", "-A", "-f", "-"]);
    for (variable, table) in [("history", history), ("runs", runs), ("steps", steps)] {
        psql.args(["-v", &format!("{variable}={table}")]);
    }
    let output = process::check(process::pipe(psql, CATALOG)?, "reading the catalog")?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// Lines only in `before` (`-`) and only in `after` (`+`).
pub fn diff(before: &BTreeSet<String>, after: &BTreeSet<String>) -> Vec<String> {
    before
        .difference(after)
        .map(|l| format!("- {l}"))
        .chain(after.difference(before).map(|l| format!("+ {l}")))
        .collect()
}

/// The default location of the snapshot.
pub fn default_path() -> PathBuf {
    project_root().join("schema.sql")
}

const CATALOG: &str = r#"
WITH ns AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
),
owned AS (
    SELECT to_regclass(name) AS oid FROM (VALUES (:'history'), (:'runs'), (:'steps')) AS t(name)
    WHERE to_regclass(name) IS NOT NULL
),
rel AS (
    SELECT c.* FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
    WHERE c.oid NOT IN (SELECT oid FROM owned)
      AND c.oid NOT IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM owned))
      AND c.oid NOT IN (SELECT objid FROM pg_depend WHERE classid = 'pg_class'::regclass
                        AND refclassid = 'pg_class'::regclass AND refobjid IN (SELECT oid FROM owned))
)
SELECT line FROM (
    SELECT format('schema %I', nspname) FROM ns
    UNION ALL SELECT format('relation %s %s', relkind, oid::regclass) FROM rel
    UNION ALL SELECT format('column %s.%I %s%s%s', a.attrelid::regclass, a.attname,
                            format_type(a.atttypid, a.atttypmod),
                            CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                            COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), ''))
        FROM pg_attribute a JOIN rel ON rel.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND rel.relkind IN ('r', 'p', 'v', 'm', 'f')
    UNION ALL SELECT format('constraint %s %I %s', co.conrelid::regclass, co.conname, pg_get_constraintdef(co.oid))
        FROM pg_constraint co JOIN rel ON rel.oid = co.conrelid
    UNION ALL SELECT format('index %s', pg_get_indexdef(i.indexrelid))
        FROM pg_index i JOIN rel ON rel.oid = i.indexrelid
    UNION ALL SELECT format('view %s %s', oid::regclass, pg_get_viewdef(oid)) FROM rel WHERE relkind IN ('v', 'm')
    UNION ALL SELECT format('function %s %s', p.oid::regprocedure, md5(pg_get_functiondef(p.oid)))
        FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace WHERE p.prokind IN ('f', 'p')
    UNION ALL SELECT format('trigger %s', pg_get_triggerdef(t.oid))
        FROM pg_trigger t JOIN rel ON rel.oid = t.tgrelid WHERE NOT t.tgisinternal
    UNION ALL SELECT format('type %s %s %s', t.oid::regtype, t.typtype,
                            (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid))
        FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
        WHERE t.typtype IN ('e', 'd', 'r', 'm')
    UNION ALL SELECT format('extension %I', extname) FROM pg_extension WHERE extname <> 'plpgsql'
) AS objects(line)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_drops_what_varies_between_dumps() {
        let dump = "--\n-- PostgreSQL database dump\n--\n\\restrict abc123\nSET statement_timeout = 0;\n\
                    SELECT pg_catalog.set_config('search_path', '', false);\n\n\nCREATE TABLE public.t (\n    id integer\n);\n\n\n\
                    ALTER TABLE ONLY public.t ALTER COLUMN id SET (pg_attver=508846664);\n\\unrestrict abc123\n";
        assert_eq!(
            normalize(dump),
            format!("{HEADER}CREATE TABLE public.t (\n    id integer\n);\n")
        );
    }

    #[test]
    fn diff_names_both_sides() {
        let before: BTreeSet<String> = ["a".into(), "b".into()].into();
        let after: BTreeSet<String> = ["b".into(), "c".into()].into();
        assert_eq!(diff(&before, &after), ["- a", "+ c"]);
    }
}
