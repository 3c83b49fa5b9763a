//! Tables and what hangs off them: created, renamed, dropped, and, for a table on both sides,
//! its columns ([`super::columns`]), constraints, indexes, triggers, row-level security and
//! policies, grants and comments.

use std::collections::BTreeMap;

use migrate_core::quote::literal;

use super::{File, Planner, Rename, Statement, columns, order, phase};
use crate::catalog::{Constraint, Name, Object, Table, ident};

pub(super) fn plan(planner: &mut Planner<'_>) {
    // Table renames first: everything else compares the renamed table with its new self.
    let mut matched: BTreeMap<Name, Name> = BTreeMap::new();
    for rename in &planner.options.renames {
        if let Rename::Table { from, to } = rename {
            let new = Name::new(&from.schema, to);
            match (planner.from.tables.contains_key(from), planner.to.tables.contains_key(&new)) {
                (true, true) if !planner.to.tables.contains_key(from) => {
                    planner.change(
                        File::Main,
                        phase::RENAME,
                        vec![Statement::new(format!("ALTER TABLE {from} RENAME TO {};", ident(to)))
                            .ignoring("renaming-table", "--rename: clients that use the old name break; deploy them first")],
                        Ok(vec![Statement::new(format!("ALTER TABLE {new} RENAME TO {};", ident(&from.name)))
                            .ignoring("renaming-table", "reverts a rename")]),
                    );
                    matched.insert(from.clone(), new);
                }
                _ => planner.refuse(format!(
                    "--rename {from}={to}: the migrations have no table {from} that schema.sql calls {new} instead"
                )),
            }
        }
    }
    for name in planner.from.tables.keys() {
        if planner.to.tables.contains_key(name) && !matched.contains_key(name) {
            matched.insert(name.clone(), name.clone());
        }
    }
    let dropped: Vec<Name> = planner
        .from
        .tables
        .keys()
        .filter(|n| !matched.contains_key(*n))
        .cloned()
        .collect();
    let created: Vec<Name> = planner
        .to
        .tables
        .keys()
        .filter(|n| !matched.values().any(|m| m == *n))
        .cloned()
        .collect();
    for gone in &dropped {
        if let Some(new) = created.iter().find(|n| n.schema == gone.schema) {
            planner.refuse(format!(
                "table {gone} is gone and table {new} is new: if it is a rename, pass --rename {}.{}={}; \
                 otherwise drop the one and add the other in two separate edits",
                gone.schema, gone.name, new.name
            ));
        }
    }
    if !planner.refusals.is_empty() {
        return;
    }
    for name in order::tables_by_references(planner.to, &created) {
        create_table(planner, &name);
    }
    for name in order::tables_by_references(planner.from, &dropped)
        .into_iter()
        .rev()
    {
        drop_table(planner, &name);
    }
    for (old, new) in &matched {
        let (before, after) = (&planner.from.tables[old], &planner.to.tables[new]);
        columns::plan(planner, old, new, before, after);
        constraints(planner, new, before, after);
        indexes(planner, new, before, after);
        triggers(planner, new, before, after);
        security(planner, new, before, after);
        grants(
            planner,
            "TABLE",
            &new.to_string(),
            &before.grants,
            &after.grants,
        );
        comment(
            planner,
            &format!("TABLE {new}"),
            &before.comment,
            &after.comment,
        );
    }
}

/// `CREATE TABLE` with its columns and its constraints other than foreign keys, then what a
/// new table has besides; `schema.sql` is the source, so all of it is as declared.
fn create_table(planner: &mut Planner<'_>, name: &Name) {
    let table = &planner.to.tables[name];
    planner.change(
        File::Main,
        phase::CREATE_TABLE,
        vec![Statement::new(create_statement(name, table))],
        Ok(vec![
            Statement::new(format!("DROP TABLE {name};"))
                .ignoring("ban-drop-table", "reverts its creation"),
        ]),
    );
    for (constraint, definition) in &table.constraints {
        if definition.kind == 'f' {
            planner.change(
                File::Main,
                phase::ADD_CONSTRAINT,
                vec![Statement::new(add_constraint(
                    name,
                    constraint,
                    &definition.definition,
                ))],
                Ok(vec![]),
            );
        }
    }
    let indexes = table
        .indexes
        .values()
        .map(|i| (phase::CREATE_INDEX, &i.definition));
    let triggers = table
        .triggers
        .values()
        .map(|t| (phase::CREATE_TRIGGER, &t.definition));
    for (phase, definition) in indexes.chain(triggers) {
        planner.change(
            File::Main,
            phase,
            vec![Statement::new(format!("{definition};"))],
            Ok(vec![]),
        );
    }
    security(planner, name, &Table::default(), table);
    grants(
        planner,
        "TABLE",
        &name.to_string(),
        &Default::default(),
        &table.grants,
    );
    comment(planner, &format!("TABLE {name}"), &None, &table.comment);
    for column in &table.columns {
        comment(
            planner,
            &format!("COLUMN {name}.{}", ident(&column.name)),
            &None,
            &column.comment,
        );
    }
}

fn create_statement(name: &Name, table: &Table) -> String {
    let mut lines: Vec<String> = table.columns.iter().map(columns::definition).collect();
    for (constraint, definition) in &table.constraints {
        if definition.kind != 'f' {
            lines.push(format!(
                "CONSTRAINT {} {}",
                ident(constraint),
                definition.definition
            ));
        }
    }
    format!("CREATE TABLE {name} (\n    {}\n);", lines.join(",\n    "))
}

fn drop_table(planner: &mut Planner<'_>, name: &Name) {
    if !planner.options.allow_drop {
        planner.refuse(format!(
            "table {name} is not in schema.sql: dropping it loses its rows; pass --allow-drop if that is intended"
        ));
        return;
    }
    let table = &planner.from.tables[name];
    let mut down = vec![Statement::new(create_statement(name, table))];
    for (constraint, definition) in &table.constraints {
        if definition.kind == 'f' {
            down.push(Statement::new(add_constraint(
                name,
                constraint,
                &definition.definition,
            )));
        }
    }
    down.extend(
        table
            .indexes
            .values()
            .map(|i| Statement::new(format!("{};", i.definition))),
    );
    planner.change(
        File::Main,
        phase::DROP_TABLE,
        vec![Statement::new(format!("DROP TABLE {name};")).ignoring(
            "ban-drop-table",
            "--allow-drop: schema.sql no longer has it",
        )],
        Ok(down),
    );
}

fn add_constraint(table: &Name, name: &str, definition: &str) -> String {
    format!(
        "ALTER TABLE {table} ADD CONSTRAINT {} {definition};",
        ident(name)
    )
}

fn drop_constraint(table: &Name, name: &str) -> String {
    format!("ALTER TABLE {table} DROP CONSTRAINT {};", ident(name))
}

/// Constraints by name. On an existing table a check or foreign key is added `NOT VALID` and
/// validated in the last file; a primary key or unique constraint gets its index built
/// concurrently first, then takes it over.
fn constraints(planner: &mut Planner<'_>, table: &Name, before: &Table, after: &Table) {
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
fn indexes(planner: &mut Planner<'_>, table: &Name, before: &Table, after: &Table) {
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

/// Triggers by name; one that calls a function made again is made again with it
/// ([`super::routines`]).
fn triggers(planner: &mut Planner<'_>, table: &Name, before: &Table, after: &Table) {
    for (name, old) in &before.triggers {
        if after.triggers.get(name).map(|t| &t.definition) != Some(&old.definition) {
            planner
                .recreate
                .insert(Object::Trigger(table.clone(), name.clone()));
        }
    }
    for (name, new) in &after.triggers {
        if !before.triggers.contains_key(name) {
            planner.change(
                File::Main,
                phase::CREATE_TRIGGER,
                vec![Statement::new(format!("{};", new.definition))],
                Ok(vec![Statement::new(format!(
                    "DROP TRIGGER {} ON {table};",
                    ident(name)
                ))]),
            );
        }
    }
}

/// Row-level security and its policies; a changed policy is made again
/// ([`super::routines`]).
fn security(planner: &mut Planner<'_>, table: &Name, before: &Table, after: &Table) {
    for (flag, on, off, old, new) in [
        (
            "row level security",
            "ENABLE",
            "DISABLE",
            before.row_security,
            after.row_security,
        ),
        (
            "row level security",
            "FORCE",
            "NO FORCE",
            before.force_row_security,
            after.force_row_security,
        ),
    ] {
        if old != new {
            let (up, down) = if new { (on, off) } else { (off, on) };
            planner.change(
                File::Main,
                phase::POLICY,
                vec![Statement::new(format!(
                    "ALTER TABLE {table} {up} {};",
                    flag.to_uppercase()
                ))],
                Ok(vec![Statement::new(format!(
                    "ALTER TABLE {table} {down} {};",
                    flag.to_uppercase()
                ))]),
            );
        }
    }
    for (name, old) in &before.policies {
        if after.policies.get(name) != Some(old) {
            planner
                .recreate
                .insert(Object::Policy(table.clone(), name.clone()));
        }
    }
    for name in after.policies.keys() {
        if !before.policies.contains_key(name) {
            let create = super::routines::create_policy(planner.to, table, name);
            planner.change(
                File::Main,
                phase::POLICY,
                vec![Statement::new(create)],
                Ok(vec![Statement::new(format!(
                    "DROP POLICY {} ON {table};",
                    ident(name)
                ))]),
            );
        }
    }
}

/// `GRANT` and `REVOKE` between two sets of `(grantee, privilege)` on `object`.
pub(super) fn grants(
    planner: &mut Planner<'_>,
    kind: &str,
    object: &str,
    before: &std::collections::BTreeSet<(String, String)>,
    after: &std::collections::BTreeSet<(String, String)>,
) {
    let grant = |(grantee, privilege): &(String, String)| {
        Statement::new(format!(
            "GRANT {privilege} ON {kind} {object} TO {grantee};"
        ))
    };
    let revoke = |(grantee, privilege): &(String, String)| {
        Statement::new(format!(
            "REVOKE {privilege} ON {kind} {object} FROM {grantee};"
        ))
    };
    for added in after.difference(before) {
        planner.change(
            File::Main,
            phase::GRANT,
            vec![grant(added)],
            Ok(vec![revoke(added)]),
        );
    }
    for removed in before.difference(after) {
        planner.change(
            File::Main,
            phase::GRANT,
            vec![revoke(removed)],
            Ok(vec![grant(removed)]),
        );
    }
}

/// `COMMENT ON target IS ...` when it changed.
pub(super) fn comment(
    planner: &mut Planner<'_>,
    target: &str,
    before: &Option<String>,
    after: &Option<String>,
) {
    if before == after {
        return;
    }
    let text = |comment: &Option<String>| {
        comment
            .as_deref()
            .map_or_else(|| "NULL".to_owned(), literal)
    };
    planner.change(
        File::Main,
        phase::COMMENT,
        vec![Statement::new(format!(
            "COMMENT ON {target} IS {};",
            text(after)
        ))],
        Ok(vec![Statement::new(format!(
            "COMMENT ON {target} IS {};",
            text(before)
        ))]),
    );
}
