//! Functions, procedures and views, and the triggers and policies that call them: created,
//! replaced in place where PostgreSQL allows it (`CREATE OR REPLACE` with the same result),
//! otherwise dropped and made again, together with everything that depends on them, in
//! dependency order: dependents are dropped first and made again last.

use std::collections::BTreeSet;

use super::{File, Planner, Statement, access, comments, order, phase};
use crate::catalog::{Catalog, Name, Object, View, ident};

pub(super) fn plan(planner: &mut Planner<'_>) {
    let (from, to) = (planner.from, planner.to);
    let mut created: BTreeSet<Object> = BTreeSet::new();
    let mut dropped: BTreeSet<Object> = BTreeSet::new();

    for (key, new) in &to.functions {
        let object = Object::Function(key.clone());
        match from.functions.get(key) {
            None => {
                created.insert(object);
            }
            Some(old) if old.definition != new.definition => {
                if old.result == new.result && old.procedure == new.procedure {
                    planner.change(
                        File::Main,
                        phase::CREATE_ROUTINE,
                        vec![Statement::new(format!("{};", new.definition))],
                        Ok(vec![Statement::new(format!("{};", old.definition))]),
                    );
                } else {
                    planner.recreate_dependents_of(object.clone());
                    planner.recreate.insert(object);
                }
            }
            Some(_) => {}
        }
        let old = from.functions.get(key).and_then(|f| f.comment.clone());
        let kind = if new.procedure {
            "PROCEDURE"
        } else {
            "FUNCTION"
        };
        comments::comment(
            planner,
            &format!("{kind} {}", new.signature()),
            &old,
            &new.comment,
        );
    }
    for (key, old) in &from.functions {
        if !to.functions.contains_key(key) {
            if !planner.options.allow_drop {
                planner.refuse(format!(
                    "function {} is not in schema.sql: pass --allow-drop if dropping it is intended",
                    old.signature()
                ));
                continue;
            }
            let object = Object::Function(key.clone());
            planner.recreate_dependents_of(object.clone());
            dropped.insert(object);
        }
    }
    for (name, new) in &to.views {
        let object = Object::View(name.clone());
        match from.views.get(name) {
            None => {
                created.insert(object);
            }
            Some(old)
                if old.definition != new.definition || old.materialized != new.materialized =>
            {
                planner.recreate_dependents_of(object.clone());
                planner.recreate.insert(object);
            }
            Some(old) => {
                access::grants(
                    planner,
                    "TABLE",
                    &name.to_string(),
                    &old.grants,
                    &new.grants,
                );
                let kind = if new.materialized {
                    "MATERIALIZED VIEW"
                } else {
                    "VIEW"
                };
                comments::comment(
                    planner,
                    &format!("{kind} {name}"),
                    &old.comment,
                    &new.comment,
                );
            }
        }
    }
    for name in from.views.keys() {
        if !to.views.contains_key(name) {
            let object = Object::View(name.clone());
            planner.recreate_dependents_of(object.clone());
            dropped.insert(object);
        }
    }

    // Everything made again goes, dependents first, then comes back, dependencies first.
    let recreate: Vec<Object> = planner.recreate.iter().cloned().collect();
    let going: BTreeSet<Object> = recreate
        .iter()
        .filter(|o| exists(from, o))
        .cloned()
        .chain(dropped)
        .collect();
    for object in order::topological(&going, &from.depends).into_iter().rev() {
        let reason = if exists(to, &object) {
            "made again below, in the same transaction, as schema.sql declares it"
        } else {
            "not in schema.sql"
        };
        let up = drop(from, &object)
            .into_iter()
            .map(|s| Statement::dropping(s.sql, reason))
            .collect();
        let (phase, down) = (drop_phase(&object), create(from, &object));
        planner.change(File::Main, phase, up, Ok(down));
    }
    let coming: BTreeSet<Object> = recreate
        .into_iter()
        .filter(|o| exists(to, o))
        .chain(created)
        .collect();
    for object in order::topological(&coming, &to.depends) {
        let phase = match object {
            Object::Trigger(..) => phase::CREATE_TRIGGER,
            Object::Policy(..) => phase::POLICY,
            _ => phase::CREATE_ROUTINE,
        };
        let (up, down) = (create(to, &object), drop(to, &object));
        planner.change(File::Main, phase, up, Ok(down));
    }
}

fn exists(catalog: &Catalog, object: &Object) -> bool {
    match object {
        Object::Function(key) => catalog.functions.contains_key(key),
        Object::View(name) => catalog.views.contains_key(name),
        Object::Trigger(table, name) => catalog
            .tables
            .get(table)
            .is_some_and(|t| t.triggers.contains_key(name)),
        Object::Policy(table, name) => catalog
            .tables
            .get(table)
            .is_some_and(|t| t.policies.contains_key(name)),
        _ => false,
    }
}

fn drop_phase(object: &Object) -> u16 {
    match object {
        Object::Trigger(..) => phase::DROP_TRIGGER,
        Object::Policy(..) => phase::DROP_POLICY,
        Object::View(_) => phase::DROP_VIEW,
        _ => phase::DROP_FUNCTION,
    }
}

/// The statements dropping `object` as `catalog` has it.
fn drop(catalog: &Catalog, object: &Object) -> Vec<Statement> {
    let sql = match object {
        Object::Function(key) => {
            let f = &catalog.functions[key];
            let kind = if f.procedure { "PROCEDURE" } else { "FUNCTION" };
            format!("DROP {kind} {};", f.signature())
        }
        Object::View(name) => {
            let kind = if catalog.views[name].materialized {
                "MATERIALIZED VIEW"
            } else {
                "VIEW"
            };
            format!("DROP {kind} {name};")
        }
        Object::Trigger(table, name) => format!("DROP TRIGGER {} ON {table};", ident(name)),
        Object::Policy(table, name) => format!("DROP POLICY {} ON {table};", ident(name)),
        _ => return Vec::new(),
    };
    vec![Statement::new(sql)]
}

/// The statements creating `object` as `catalog` has it, with what comes with it.
fn create(catalog: &Catalog, object: &Object) -> Vec<Statement> {
    match object {
        Object::Function(key) => {
            let f = &catalog.functions[key];
            let mut statements = vec![Statement::new(format!("{};", f.definition))];
            if let Some(comment) = &f.comment {
                let kind = if f.procedure { "PROCEDURE" } else { "FUNCTION" };
                statements.push(Statement::new(format!(
                    "COMMENT ON {kind} {} IS {};",
                    f.signature(),
                    migrate_core::quote::literal(comment)
                )));
            }
            statements
        }
        Object::View(name) => create_view(name, &catalog.views[name]),
        Object::Trigger(table, name) => vec![Statement::new(format!(
            "{};",
            catalog.tables[table].triggers[name].definition
        ))],
        Object::Policy(table, name) => vec![Statement::new(create_policy(catalog, table, name))],
        _ => Vec::new(),
    }
}

fn create_view(name: &Name, view: &View) -> Vec<Statement> {
    let body = view.definition.trim().trim_end_matches(';');
    let mut statements = vec![Statement::new(if view.materialized {
        format!("CREATE MATERIALIZED VIEW {name} AS\n{body}\nWITH DATA;")
    } else {
        format!("CREATE VIEW {name} AS\n{body};")
    })];
    statements.extend(
        view.indexes
            .values()
            .map(|i| Statement::new(format!("{i};"))),
    );
    for (grantee, privilege) in &view.grants {
        statements.push(Statement::new(format!(
            "GRANT {privilege} ON TABLE {name} TO {grantee};"
        )));
    }
    if let Some(comment) = &view.comment {
        let kind = if view.materialized {
            "MATERIALIZED VIEW"
        } else {
            "VIEW"
        };
        statements.push(Statement::new(format!(
            "COMMENT ON {kind} {name} IS {};",
            migrate_core::quote::literal(comment)
        )));
    }
    statements
}

/// `CREATE POLICY` for policy `name` of `table` in `catalog`.
pub(super) fn create_policy(catalog: &Catalog, table: &Name, name: &str) -> String {
    let policy = &catalog.tables[table].policies[name];
    let mut sql = format!(
        "CREATE POLICY {} ON {table} AS {} FOR {} TO {}",
        ident(name),
        if policy.permissive {
            "PERMISSIVE"
        } else {
            "RESTRICTIVE"
        },
        policy.command,
        policy.roles.join(", ")
    );
    if let Some(using) = &policy.using {
        sql += &format!(" USING ({using})");
    }
    if let Some(check) = &policy.check {
        sql += &format!(" WITH CHECK ({check})");
    }
    sql + ";"
}
