//! Rows for every table, generated to fit the catalog: column types, NOT NULL, unique keys,
//! single-column foreign keys (parents are filled first and referenced), `IN (...)` checks,
//! other checks where the first try allows. The first try is adversarial, as production data
//! is: NULLs in nullable columns, duplicates where nothing forbids them, zero and negative
//! numbers, text that is no number. A table that refuses such rows gets plain ones, then only
//! what NOT NULL demands; one that refuses those too is named, with the server's reason.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AssertSqlSafe, Executor, PgConnection};

use migrate_core::quote::{ident, literal};

/// A table that could not be filled, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfilled {
    /// The table, as `regclass` prints it.
    pub table: String,
    /// The server's refusal of the last try, or the column no value can be generated for.
    pub reason: String,
}

#[derive(Debug, sqlx::FromRow)]
struct Column {
    table_name: String,
    name: String,
    type_name: String,
    category: String,
    not_null: bool,
    has_default: bool,
    generated: bool,
    unique: bool,
    enum_type: bool,
    /// `ARRAY[...]` of the values a `CHECK (column IN (...))` allows.
    allowed: Option<String>,
    /// The referenced table and column of a single-column foreign key.
    parent_table: Option<String>,
    parent_column: Option<String>,
}

/// How hard the generated rows push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// NULLs, duplicates, zero and negative numbers, non-numeric text.
    Adversarial,
    /// Non-null, positive; columns with a default left to it.
    Plain,
    /// Only the columns NOT NULL demands.
    Minimal,
}

/// Tops every user table up to `rows` rows, except the engine's own tables (`owned`, as SQL
/// names) and those in `keep` (loaded from a dump); returns the tables it could not fill.
pub(crate) async fn fill(
    conn: &mut PgConnection,
    rows: u64,
    owned: &[String],
    keep: &BTreeSet<String>,
) -> sqlx::Result<Vec<Unfilled>> {
    let columns: Vec<Column> = sqlx::query_as(COLUMNS)
        .bind(owned)
        .fetch_all(&mut *conn)
        .await?;
    let mut tables: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for column in columns
        .into_iter()
        .filter(|c| !keep.contains(&c.table_name))
    {
        tables
            .entry(column.table_name.clone())
            .or_default()
            .push(column);
    }
    let counts = count_rows(conn, tables.keys()).await?;
    let wanted = i64::try_from(rows).unwrap_or(i64::MAX);
    let mut unfilled = Vec::new();
    for (table, columns) in in_dependency_order(tables) {
        let count = counts.get(&table).copied().unwrap_or(0);
        if count >= wanted {
            continue;
        }
        let mut reason = String::new();
        for mode in [Mode::Adversarial, Mode::Plain, Mode::Minimal] {
            let insert = match insert(&table, &columns, mode, count + 1, wanted) {
                Ok(insert) => insert,
                Err(why) => {
                    reason = why;
                    continue;
                }
            };
            match conn.execute(AssertSqlSafe(insert)).await {
                Ok(_) => {
                    reason.clear();
                    break;
                }
                Err(sqlx::Error::Database(e)) => reason = e.message().to_owned(),
                Err(e) => return Err(e),
            }
        }
        if !reason.is_empty() {
            unfilled.push(Unfilled { table, reason });
        }
    }
    Ok(unfilled)
}

/// Every table's row count, in one round trip.
async fn count_rows(
    conn: &mut PgConnection,
    tables: impl Iterator<Item = &String>,
) -> sqlx::Result<BTreeMap<String, i64>> {
    let counts: Vec<String> = tables
        .map(|t| format!("SELECT {}::text, count(*) FROM {t}", literal(t)))
        .collect();
    if counts.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<(String, i64)> = sqlx::query_as(AssertSqlSafe(counts.join(" UNION ALL ")))
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Parents before the tables that reference them (a cycle is broken where it closes).
fn in_dependency_order(mut tables: BTreeMap<String, Vec<Column>>) -> Vec<(String, Vec<Column>)> {
    fn visit(
        name: &str,
        tables: &BTreeMap<String, Vec<Column>>,
        order: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) {
        if !seen.insert(name.to_owned()) {
            return;
        }
        for parent in tables[name]
            .iter()
            .filter_map(|c| c.parent_table.as_deref())
        {
            if tables.contains_key(parent) {
                visit(parent, tables, order, seen);
            }
        }
        order.push(name.to_owned());
    }
    let (mut order, mut seen) = (Vec::new(), BTreeSet::new());
    for name in tables.keys() {
        visit(name, &tables, &mut order, &mut seen);
    }
    order
        .into_iter()
        .filter_map(|name| tables.remove_entry(&name))
        .collect()
}

/// The INSERT adding rows `from..=to` to `table`, or why none can be written.
fn insert(
    table: &str,
    columns: &[Column],
    mode: Mode,
    from: i64,
    to: i64,
) -> Result<String, String> {
    let (mut names, mut values, mut joins) = (Vec::new(), Vec::new(), String::new());
    for column in columns {
        // Identity and generated columns cannot be written; a unique column with a default
        // (a serial key) is left to it, so that rows a migration inserts do not collide.
        let skip = column.generated
            || (column.has_default && column.unique)
            || match mode {
                Mode::Adversarial => false,
                Mode::Plain => column.has_default,
                Mode::Minimal => column.has_default || !column.not_null,
            };
        if skip {
            continue;
        }
        let value = match (&column.parent_table, &column.parent_column) {
            (Some(parent), Some(key)) => {
                let alias = format!("parent{}", names.len());
                joins += &format!(
                    " CROSS JOIN (SELECT array_agg({key}) AS keys FROM {parent}) AS {alias}"
                );
                Some(format!("{alias}.keys[1 + i % cardinality({alias}.keys)]"))
            }
            _ => value(column, mode),
        };
        let Some(value) = value else {
            if column.not_null && !column.has_default {
                return Err(format!(
                    "no value can be generated for column {} of type {}",
                    column.name, column.type_name
                ));
            }
            continue;
        };
        names.push(ident(&column.name));
        values.push(value);
    }
    if names.is_empty() {
        return Ok(format!(
            "INSERT INTO {table} SELECT FROM generate_series({from}, {to}) AS g(i)"
        ));
    }
    Ok(format!(
        "INSERT INTO {table} ({}) SELECT {} FROM generate_series({from}, {to}) AS g(i){joins}",
        names.join(", "),
        values.join(", ")
    ))
}

/// An SQL expression of the row number `i` for one column.
fn value(column: &Column, mode: Mode) -> Option<String> {
    let ty = &column.type_name;
    let adversarial = mode == Mode::Adversarial;
    let value = if let Some(allowed) = &column.allowed {
        format!("({allowed})[1 + i % cardinality({allowed})]")
    } else if column.enum_type {
        format!("(enum_range(NULL::{ty}))[1 + i % cardinality(enum_range(NULL::{ty}))]")
    } else {
        match (column.category.as_str(), ty.as_str()) {
            ("N", _) if column.unique => format!("i::{ty}"),
            ("N", _) if adversarial => format!("((i % 7) - 2)::{ty}"),
            ("N", _) => format!("((i % 7) + 1)::{ty}"),
            ("S", _) if column.unique => format!("('v' || i)::{ty}"),
            ("S", _) => format!("('value ' || (i % 5))::{ty}"),
            ("B", _) => "(i % 2 = 0)".to_owned(),
            ("D", _) if column.unique => {
                format!("('2000-01-01'::timestamp + i * interval '1 minute')::{ty}")
            }
            ("D", _) => format!("(now() - (i % 100) * interval '1 day')::{ty}"),
            ("T", _) => format!("(i || ' minutes')::{ty}"),
            ("U", "uuid") => "gen_random_uuid()".to_owned(),
            ("U", "json" | "jsonb") => format!("jsonb_build_object('n', i)::{ty}"),
            ("U", "bytea") => "decode(md5(i::text), 'hex')".to_owned(),
            ("I", _) => format!(
                "('10.' || (i / 65536 % 256) || '.' || (i / 256 % 256) || '.' || (i % 256))::{ty}"
            ),
            ("A", _) => format!("'{{}}'::{ty}"),
            _ => return None,
        }
    };
    Some(if adversarial && !column.not_null && !column.unique {
        format!("CASE WHEN i % 10 = 0 THEN NULL ELSE {value} END")
    } else {
        value
    })
}

/// Every column of every user table, with what generating its values needs to know.
const COLUMNS: &str = r#"
SELECT c.oid::regclass::text AS table_name,
       a.attname::text AS name,
       format_type(a.atttypid, a.atttypmod) AS type_name,
       t.typcategory::text AS category,
       a.attnotnull AS not_null,
       a.atthasdef AS has_default,
       (a.attidentity <> '' OR a.attgenerated <> '') AS generated,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique
               AND a.attnum = ANY (i.indkey)) AS "unique",
       t.typtype = 'e' AS enum_type,
       (SELECT substring(pg_get_expr(co.conbin, co.conrelid) FROM '= ANY \((ARRAY\[.*\])\)\)$')
          FROM pg_constraint co
         WHERE co.conrelid = c.oid AND co.contype = 'c' AND co.conkey = ARRAY[a.attnum]
           AND pg_get_expr(co.conbin, co.conrelid) ~ '= ANY \(ARRAY\[.*\]\)\)$'
         LIMIT 1) AS allowed,
       fk.confrelid::regclass::text AS parent_table,
       quote_ident(pa.attname) AS parent_column
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN LATERAL (SELECT co.confrelid, co.confkey[1] AS key FROM pg_constraint co
                    WHERE co.conrelid = c.oid AND co.contype = 'f' AND co.conkey = ARRAY[a.attnum]
                    LIMIT 1) fk ON true
LEFT JOIN pg_attribute pa ON pa.attrelid = fk.confrelid AND pa.attnum = fk.key
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
  AND NOT EXISTS (SELECT 1 FROM unnest($1::text[]) AS owned(name) WHERE to_regclass(owned.name) = c.oid)
ORDER BY c.oid, a.attnum
"#;
