//! Tables: created, renamed, dropped, and, for a table on both sides, its columns
//! ([`super::columns`]), constraints and indexes ([`super::constraints`]), triggers, row-level
//! security and policies, grants ([`super::access`]) and comments.

use std::collections::BTreeMap;

use super::{
    File, Planner, Rename, Statement, access, columns,
    comments::comment,
    constraints::{self, add_constraint},
    order, phase,
};
use crate::catalog::{Name, Object, Table, ident};

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
        constraints::plan(planner, new, before, after);
        constraints::indexes(planner, new, before, after);
        triggers(planner, new, before, after);
        access::policies(planner, new, before, after);
        access::grants(
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
    access::policies(planner, name, &Table::default(), table);
    access::grants(
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
