//! The columns of a table on both sides: renamed, added, altered, dropped. `SET NOT NULL` on an
//! existing column goes through a check constraint added `NOT VALID` and validated in the last
//! file, so that the table is not scanned under an exclusive lock.

use super::{File, Planner, Rename, Statement, comments::comment, phase};
use crate::catalog::{Column, Name, Object, Table, ident};

/// A column's definition, as in `CREATE TABLE` or `ADD COLUMN`.
pub(super) fn definition(column: &Column) -> String {
    let mut sql = format!("{} {}", ident(&column.name), column.data_type);
    if let Some(collation) = &column.collation {
        sql += &format!(" COLLATE {collation}");
    }
    match (&column.generated, column.identity) {
        (Some((expression, kind)), _) => {
            let stored = if *kind == 's' { " STORED" } else { "" };
            sql += &format!(" GENERATED ALWAYS AS ({expression}){stored}");
        }
        (None, Some(identity)) => {
            let when = if identity == 'a' {
                "ALWAYS"
            } else {
                "BY DEFAULT"
            };
            sql += &format!(" GENERATED {when} AS IDENTITY");
        }
        (None, None) => {
            if let Some(default) = &column.default {
                sql += &format!(" DEFAULT {default}");
            }
        }
    }
    if column.not_null && column.identity.is_none() {
        sql += " NOT NULL";
    }
    sql
}

/// `table` is the table's name in `to`, `was` its name in `from` (they differ when it is renamed).
pub(super) fn plan(
    planner: &mut Planner<'_>,
    was: &Name,
    table: &Name,
    before: &Table,
    after: &Table,
) {
    let renamed: Vec<(String, String)> = planner
        .options
        .renames
        .iter()
        .filter_map(|rename| match rename {
            Rename::Column { table: t, from, to } if t == was || t == table => {
                Some((from.clone(), to.clone()))
            }
            _ => None,
        })
        .filter(|(from, _)| before.columns.iter().any(|c| c.name == *from))
        .collect();
    let old_name = |new: &str| {
        renamed
            .iter()
            .find(|(_, to)| to == new)
            .map_or_else(|| new.to_owned(), |(from, _)| from.clone())
    };
    for (from, to) in &renamed {
        if !after.columns.iter().any(|c| c.name == *to)
            || after.columns.iter().any(|c| c.name == *from)
        {
            planner.refuse(format!(
                "--rename {table}.{from}={to}: schema.sql has no column {to} in {table} instead of {from}"
            ));
            continue;
        }
        planner.change(
            File::Main,
            phase::RENAME,
            vec![
                Statement::new(format!(
                    "ALTER TABLE {table} RENAME COLUMN {} TO {};",
                    ident(from),
                    ident(to)
                ))
                .ignoring(
                    "renaming-column",
                    "--rename: clients that use the old name break; deploy them first",
                ),
            ],
            Ok(vec![
                Statement::new(format!(
                    "ALTER TABLE {table} RENAME COLUMN {} TO {};",
                    ident(to),
                    ident(from)
                ))
                .ignoring("renaming-column", "reverts a rename"),
            ]),
        );
    }
    let dropped: Vec<&Column> = before
        .columns
        .iter()
        .filter(|c| !renamed.iter().any(|(from, _)| *from == c.name))
        .filter(|c| !after.columns.iter().any(|a| a.name == c.name))
        .collect();
    let added: Vec<&Column> = after
        .columns
        .iter()
        .filter(|c| !before.columns.iter().any(|b| b.name == old_name(&c.name)))
        .collect();
    if let (Some(gone), Some(new)) = (dropped.first(), added.first()) {
        planner.refuse(format!(
            "column {table}.{} is gone and column {table}.{} is new: if it is a rename, pass --rename \
             {}.{}.{}={}; otherwise drop the one and add the other in two separate edits",
            ident(&gone.name),
            ident(&new.name),
            table.schema,
            table.name,
            gone.name,
            new.name
        ));
        return;
    }
    for column in added {
        add(planner, table, column);
    }
    for column in dropped {
        drop(planner, table, column);
    }
    for new in &after.columns {
        if let Some(old) = before
            .columns
            .iter()
            .find(|b| b.name == old_name(&new.name))
        {
            alter(planner, table, old, new);
            comment(
                planner,
                &format!("COLUMN {table}.{}", ident(&new.name)),
                &old.comment,
                &new.comment,
            );
        }
    }
}

fn add(planner: &mut Planner<'_>, table: &Name, column: &Column) {
    let mut statement = Statement::new(format!(
        "ALTER TABLE {table} ADD COLUMN {};",
        definition(column)
    ));
    if column.not_null
        && column.default.is_none()
        && column.identity.is_none()
        && column.generated.is_none()
    {
        statement = statement.ignoring(
            "adding-required-field",
            "schema.sql declares it NOT NULL without a default: on a table with rows this fails (the rehearsal shows)",
        );
    }
    planner.change(
        File::Main,
        phase::ALTER_COLUMN,
        vec![statement],
        Ok(vec![
            Statement::new(format!(
                "ALTER TABLE {table} DROP COLUMN {};",
                ident(&column.name)
            ))
            .ignoring("ban-drop-column", "reverts its addition"),
        ]),
    );
    comment(
        planner,
        &format!("COLUMN {table}.{}", ident(&column.name)),
        &None,
        &column.comment,
    );
}

fn drop(planner: &mut Planner<'_>, table: &Name, column: &Column) {
    if !planner.options.allow_drop {
        planner.refuse(format!(
            "column {table}.{} is not in schema.sql: dropping it loses its values; pass --allow-drop if that is \
             intended, or --rename {}.{}.{}=NEW if it was renamed",
            ident(&column.name),
            table.schema,
            table.name,
            column.name
        ));
        return;
    }
    planner.recreate_dependents_of(Object::Table(table.clone()));
    planner.change(
        File::Main,
        phase::DROP_COLUMN,
        vec![
            Statement::new(format!(
                "ALTER TABLE {table} DROP COLUMN {};",
                ident(&column.name)
            ))
            .ignoring(
                "ban-drop-column",
                "--allow-drop: schema.sql no longer has it; nothing may read it any more",
            ),
        ],
        Ok(vec![Statement::new(format!(
            "ALTER TABLE {table} ADD COLUMN {};",
            definition(column)
        ))]),
    );
}

fn alter(planner: &mut Planner<'_>, table: &Name, old: &Column, new: &Column) {
    let column = format!("ALTER TABLE {table} ALTER COLUMN {}", ident(&new.name));
    if old.generated != new.generated {
        // The values are derived: the column is made again.
        planner.recreate_dependents_of(Object::Table(table.clone()));
        planner.change(
            File::Main,
            phase::ALTER_COLUMN,
            vec![
                Statement::new(format!(
                    "ALTER TABLE {table} DROP COLUMN {};",
                    ident(&new.name)
                ))
                .ignoring(
                    "ban-drop-column",
                    "a generated column holds nothing of its own; it is made again",
                ),
                Statement::new(format!(
                    "ALTER TABLE {table} ADD COLUMN {};",
                    definition(new)
                )),
            ],
            Ok(vec![
                Statement::new(format!(
                    "ALTER TABLE {table} DROP COLUMN {};",
                    ident(&new.name)
                ))
                .ignoring(
                    "ban-drop-column",
                    "a generated column holds nothing of its own",
                ),
                Statement::new(format!(
                    "ALTER TABLE {table} ADD COLUMN {};",
                    definition(old)
                )),
            ]),
        );
        return;
    }
    if old.data_type != new.data_type || old.collation != new.collation {
        planner.recreate_dependents_of(Object::Table(table.clone()));
        let retype = |to: &Column| {
            let collate = to
                .collation
                .as_ref()
                .map(|c| format!(" COLLATE {c}"))
                .unwrap_or_default();
            Statement::new(format!(
                "{column} TYPE {}{collate} USING {}::{};",
                to.data_type,
                ident(&to.name),
                to.data_type
            ))
            .ignoring(
                "changing-column-type",
                "schema.sql changes its type: this may rewrite the table (the rehearsal shows)",
            )
        };
        planner.change(
            File::Main,
            phase::ALTER_COLUMN,
            vec![retype(new)],
            Ok(vec![retype(old)]),
        );
    }
    if old.default != new.default && new.identity.is_none() {
        let set = |default: &Option<String>| {
            Statement::new(match default {
                Some(default) => format!("{column} SET DEFAULT {default};"),
                None => format!("{column} DROP DEFAULT;"),
            })
        };
        planner.change(
            File::Main,
            phase::ALTER_COLUMN,
            vec![set(&new.default)],
            Ok(vec![set(&old.default)]),
        );
    }
    if old.identity != new.identity {
        let identity = |identity: Option<char>, had: Option<char>| {
            Statement::new(match (identity, had) {
                (None, _) => format!("{column} DROP IDENTITY;"),
                (Some(kind), None) => format!("{column} ADD GENERATED {} AS IDENTITY;", when(kind)),
                (Some(kind), Some(_)) => format!("{column} SET GENERATED {};", when(kind)),
            })
        };
        planner.change(
            File::Main,
            phase::ALTER_COLUMN,
            vec![identity(new.identity, old.identity)],
            Ok(vec![identity(old.identity, new.identity)]),
        );
    }
    let not_null = |column: &Column| column.not_null && column.identity.is_none();
    match (not_null(old), not_null(new)) {
        (false, true) => set_not_null(planner, table, new),
        (true, false) => planner.change(
            File::Main,
            phase::ALTER_COLUMN,
            vec![Statement::new(format!("{column} DROP NOT NULL;"))],
            Ok(vec![
                Statement::new(format!("{column} SET NOT NULL;")).ignoring(
                    "adding-not-nullable-field",
                    "reverts DROP NOT NULL; the column held no NULL before",
                ),
            ]),
        ),
        _ => {}
    }
}

fn when(kind: char) -> &'static str {
    if kind == 'a' { "ALWAYS" } else { "BY DEFAULT" }
}

/// `CHECK (c IS NOT NULL) NOT VALID` now; in the last file, validated (rows are read, but
/// writes go on), then `SET NOT NULL`, which finds the validated check and skips the scan, then
/// the check dropped.
fn set_not_null(planner: &mut Planner<'_>, table: &Name, column: &Column) {
    let check = ident(&shortened(&format!(
        "{}_{}_not_null_check",
        table.name, column.name
    )));
    let name = ident(&column.name);
    planner.change(
        File::Main,
        phase::ADD_CONSTRAINT,
        vec![Statement::new(format!(
            "ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({name} IS NOT NULL) NOT VALID;"
        ))],
        Ok(vec![Statement::new(format!(
            "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {check};"
        ))]),
    );
    planner.change(
        File::Validate,
        phase::ALTER_COLUMN,
        vec![
            Statement::new(format!("ALTER TABLE {table} VALIDATE CONSTRAINT {check};")),
            Statement::new(format!(
                "ALTER TABLE {table} ALTER COLUMN {name} SET NOT NULL;"
            ))
            .ignoring(
                "adding-not-nullable-field",
                "the validated check before it lets PostgreSQL skip the scan",
            ),
            Statement::dropping(
                format!("ALTER TABLE {table} DROP CONSTRAINT {check};"),
                "the column's NOT NULL now says what the check said",
            ),
        ],
        Ok(vec![
            Statement::new(format!(
                "ALTER TABLE {table} ALTER COLUMN {name} DROP NOT NULL;"
            )),
            Statement::new(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({name} IS NOT NULL) NOT VALID;"
            )),
        ]),
    );
}

/// A name cut to PostgreSQL's 63 bytes.
fn shortened(name: &str) -> String {
    let mut name = name.to_owned();
    while name.len() > 63 {
        name.pop();
    }
    name
}
