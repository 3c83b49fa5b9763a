//! The constraints and indexes of a table that exists on both sides. Nothing is built under a
//! long lock on a table that has rows: a check or foreign key is added `NOT VALID` and
//! validated in a later file, an index is built concurrently in a file of its own, and a
//! primary key or unique constraint takes over such an index.

use super::{File, Planner, Statement, comments::comment, phase};
use crate::catalog::{Constraint, Name, Table, ident};

pub(super) fn add_constraint(table: &Name, name: &str, definition: &str) -> String {
    format!(
        "ALTER TABLE {table} ADD CONSTRAINT {} {definition};",
        ident(name)
    )
}

pub(super) fn drop_constraint(table: &Name, name: &str) -> String {
    format!("ALTER TABLE {table} DROP CONSTRAINT {};", ident(name))
}

/// Constraints by name. On an existing table a check or foreign key is added `NOT VALID` and
/// validated in the last file; a primary key or unique constraint gets its index built
/// concurrently first, then takes it over.
pub(super) fn plan(planner: &mut Planner<'_>, table: &Name, before: &Table, after: &Table) {
    for (name, old) in &before.constraints {
        if after.constraints.get(name) != Some(old)
            && !same_but_validated(old, after.constraints.get(name))
        {
            let reason = if after.constraints.contains_key(name) {
                "added again below with its new definition"
            } else {
                "not in schema.sql"
            };
            planner.change(
                File::Main,
                phase::DROP_CONSTRAINT,
                vec![Statement::dropping(drop_constraint(table, name), reason)],
                Ok(vec![Statement::new(add_constraint(
                    table,
                    name,
                    &old.definition,
                ))]),
            );
        }
    }
    for (name, new) in &after.constraints {
        let old = before.constraints.get(name);
        if old == Some(new) {
            continue;
        }
        if let Some(old) = old
            && same_but_validated(old, Some(new))
        {
            if new.validated && !old.validated {
                validate(planner, table, name, new);
            }
            continue;
        }
        add_to_existing(planner, table, name, new);
    }
}

/// The same constraint but for whether it is validated yet.
fn same_but_validated(old: &Constraint, new: Option<&Constraint>) -> bool {
    new.is_some_and(|new| {
        old.kind == new.kind
            && old.definition.trim_end_matches(" NOT VALID")
                == new.definition.trim_end_matches(" NOT VALID")
    })
}

/// Validates a constraint added `NOT VALID`, in the file after the one that added it. Undone
/// by the constraint as it was, `NOT VALID` again (no scan).
fn validate(planner: &mut Planner<'_>, table: &Name, name: &str, new: &Constraint) {
    let definition = new.definition.trim_end_matches(" NOT VALID");
    planner.change(
        File::Validate,
        phase::ADD_CONSTRAINT,
        vec![Statement::new(format!(
            "ALTER TABLE {table} VALIDATE CONSTRAINT {};",
            ident(name)
        ))],
        Ok(vec![
            Statement::new(drop_constraint(table, name)),
            Statement::new(add_not_valid(table, name, definition)),
        ]),
    );
}

/// `ADD CONSTRAINT ... NOT VALID`: no scan under the lock.
fn add_not_valid(table: &Name, name: &str, definition: &str) -> String {
    format!(
        "ALTER TABLE {table} ADD CONSTRAINT {} {definition} NOT VALID;",
        ident(name)
    )
}

fn add_to_existing(planner: &mut Planner<'_>, table: &Name, name: &str, new: &Constraint) {
    let undo = Ok(vec![Statement::new(drop_constraint(table, name))]);
    match (new.kind, &new.index) {
        ('p' | 'u', Some(index)) => {
            build_index(planner, table, name, index);
            let kind = if new.kind == 'p' {
                "PRIMARY KEY"
            } else {
                "UNIQUE"
            };
            planner.change(
                File::Validate,
                phase::ADD_CONSTRAINT,
                vec![Statement::new(format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {} {kind} USING INDEX {};",
                    ident(name),
                    ident(name)
                ))],
                undo,
            );
        }
        ('c' | 'f', _) => {
            let definition = new.definition.trim_end_matches(" NOT VALID");
            planner.change(
                File::Main,
                phase::ADD_CONSTRAINT,
                vec![Statement::new(add_not_valid(table, name, definition))],
                undo,
            );
            if new.validated {
                validate(planner, table, name, new);
            }
        }
        _ => planner.change(
            File::Main,
            phase::ADD_CONSTRAINT,
            vec![Statement::new(add_constraint(table, name, &new.definition))],
            undo,
        ),
    }
}

/// Builds an index on an existing table concurrently, in a file of its own (`-- no-transaction`:
/// one statement); undone by dropping it the same way.
fn build_index(planner: &mut Planner<'_>, table: &Name, name: &str, definition: &str) {
    planner.change(
        File::CreateIndex(name.to_owned()),
        phase::CREATE_INDEX,
        vec![Statement::new(concurrently(definition))],
        Ok(vec![Statement::new(format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {}.{};",
            ident(&table.schema),
            ident(name)
        ))]),
    );
}

/// `CREATE [UNIQUE] INDEX CONCURRENTLY ...;` from the catalog's definition of an index.
fn concurrently(definition: &str) -> String {
    format!(
        "{};",
        definition.replacen(" INDEX ", " INDEX CONCURRENTLY ", 1)
    )
}

/// Indexes by name: on an existing table, dropped and built concurrently, each in a file of
/// its own.
pub(super) fn indexes(planner: &mut Planner<'_>, table: &Name, before: &Table, after: &Table) {
    for (name, old) in &before.indexes {
        if after.indexes.get(name).map(|i| &i.definition) != Some(&old.definition) {
            planner.change(
                File::DropIndex(name.clone()),
                phase::CREATE_INDEX,
                vec![Statement::new(format!(
                    "DROP INDEX CONCURRENTLY {}.{};",
                    ident(&table.schema),
                    ident(name)
                ))],
                Ok(vec![Statement::new(concurrently(&old.definition))]),
            );
        }
    }
    for (name, new) in &after.indexes {
        if before.indexes.get(name).map(|i| &i.definition) != Some(&new.definition) {
            build_index(planner, table, name, &new.definition);
        }
        let old = before.indexes.get(name).and_then(|i| i.comment.clone());
        comment(
            planner,
            &format!("INDEX {}.{}", ident(&table.schema), ident(name)),
            &old,
            &new.comment,
        );
    }
}
