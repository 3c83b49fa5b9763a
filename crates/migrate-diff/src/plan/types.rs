//! Enums and domains.
//!
//! A new enum value is added at its place (`BEFORE` or `AFTER` a neighbour) in a migration of
//! its own, before the one that may use it. Removing or reordering values would need the type
//! made again: refused while a column uses it.

use migrate_core::quote::literal;

use super::{File, Planner, Statement, comments::comment, phase};
use crate::catalog::{Domain, Enum, Name, Object, ident};

pub(super) fn plan(planner: &mut Planner<'_>) {
    enums(planner);
    domains(planner);
}

fn create_enum(name: &Name, labels: &[String]) -> Statement {
    let labels: Vec<String> = labels.iter().map(|l| literal(l)).collect();
    Statement::new(format!(
        "CREATE TYPE {name} AS ENUM ({});",
        labels.join(", ")
    ))
}

/// Whether a column of a table in `planner.from` has type `name` (or an array of it).
fn in_use(planner: &Planner<'_>, name: &Name) -> Option<String> {
    let shown = name.to_string();
    let bare = ident(&name.name);
    planner.from.tables.iter().find_map(|(table, t)| {
        t.columns.iter().find_map(|c| {
            let base = c.data_type.trim_end_matches("[]");
            (base == shown || base == bare).then(|| format!("{table}.{}", ident(&c.name)))
        })
    })
}

fn enums(planner: &mut Planner<'_>) {
    for (name, new) in &planner.to.enums {
        let Some(old) = planner.from.enums.get(name) else {
            planner.change(
                File::Main,
                phase::CREATE_TYPE,
                vec![create_enum(name, &new.labels)],
                Ok(vec![Statement::new(format!("DROP TYPE {name};"))]),
            );
            comment(planner, &format!("TYPE {name}"), &None, &new.comment);
            continue;
        };
        comment(planner, &format!("TYPE {name}"), &old.comment, &new.comment);
        if old.labels == new.labels {
            continue;
        }
        let kept: Vec<&String> = new
            .labels
            .iter()
            .filter(|l| old.labels.contains(l))
            .collect();
        let only_added = old.labels.iter().all(|l| new.labels.contains(l))
            && kept.iter().copied().eq(old.labels.iter());
        if only_added {
            add_values(planner, name, old, new);
            continue;
        }
        match in_use(planner, name) {
            Some(column) => planner.refuse(format!(
                "type {name}: schema.sql removes or reorders its values ({} → {}), which needs the type made \
                 again, and column {column} uses it; add the values you need instead, or migrate the column \
                 off the type by hand",
                old.labels.join(", "),
                new.labels.join(", ")
            )),
            None => {
                planner.recreate_dependents_of(Object::Type(name.clone()));
                planner.change(
                    File::Main,
                    phase::CREATE_TYPE,
                    vec![Statement::dropping(format!("DROP TYPE {name};"), "made again at once with its new values; no column uses it"), create_enum(name, &new.labels)],
                    Ok(vec![Statement::new(format!("DROP TYPE {name};")), create_enum(name, &old.labels)]),
                );
            }
        }
    }
    for (name, old) in &planner.from.enums {
        if !planner.to.enums.contains_key(name) {
            drop_type(planner, name, create_enum(name, &old.labels));
        }
    }
}

/// Each new value at its place, in the migration of enum values. There is no undoing it in
/// place: the type would have to be made again, and rows may hold the value.
fn add_values(planner: &mut Planner<'_>, name: &Name, old: &Enum, new: &Enum) {
    let mut up = Vec::new();
    for (index, label) in new.labels.iter().enumerate() {
        if old.labels.contains(label) {
            continue;
        }
        let place = match new.labels[index + 1..]
            .iter()
            .find(|l| old.labels.contains(l))
        {
            Some(next) => format!(" BEFORE {}", literal(next)),
            None => String::new(),
        };
        up.push(Statement::new(format!(
            "ALTER TYPE {name} ADD VALUE {}{place};",
            literal(label)
        )));
    }
    planner.change(
        File::EnumValues,
        phase::CREATE_TYPE,
        up,
        Err(format!(
            "an enum value cannot be removed in place: {name} would have to be made again, and rows may hold it"
        )),
    );
}

fn drop_type(planner: &mut Planner<'_>, name: &Name, recreate: Statement) {
    if !planner.options.allow_drop {
        planner.refuse(format!(
            "type {name} is not in schema.sql: pass --allow-drop if dropping it is intended"
        ));
        return;
    }
    planner.change(
        File::Main,
        phase::DROP_TYPE,
        vec![Statement::dropping(
            format!("DROP TYPE {name};"),
            "--allow-drop: not in schema.sql",
        )],
        Ok(vec![recreate]),
    );
}

fn create_domain(name: &Name, domain: &Domain) -> Vec<Statement> {
    let mut sql = format!("CREATE DOMAIN {name} AS {}", domain.base);
    if let Some(default) = &domain.default {
        sql += &format!(" DEFAULT {default}");
    }
    if domain.not_null {
        sql += " NOT NULL";
    }
    for (check, definition) in &domain.checks {
        sql += &format!(" CONSTRAINT {} {definition}", ident(check));
    }
    vec![Statement::new(format!("{sql};"))]
}

fn domains(planner: &mut Planner<'_>) {
    for (name, new) in &planner.to.domains {
        let Some(old) = planner.from.domains.get(name) else {
            planner.change(
                File::Main,
                phase::CREATE_TYPE,
                create_domain(name, new),
                Ok(vec![Statement::new(format!("DROP DOMAIN {name};"))]),
            );
            comment(planner, &format!("DOMAIN {name}"), &None, &new.comment);
            continue;
        };
        comment(
            planner,
            &format!("DOMAIN {name}"),
            &old.comment,
            &new.comment,
        );
        if old.base != new.base {
            planner.refuse(format!(
                "domain {name}: its base type changes ({} → {}); PostgreSQL cannot alter that, write it by hand",
                old.base, new.base
            ));
            continue;
        }
        let mut up = Vec::new();
        let mut down = Vec::new();
        if old.default != new.default {
            let set = |d: &Option<String>| match d {
                Some(d) => format!("ALTER DOMAIN {name} SET DEFAULT {d};"),
                None => format!("ALTER DOMAIN {name} DROP DEFAULT;"),
            };
            up.push(Statement::new(set(&new.default)));
            down.push(Statement::new(set(&old.default)));
        }
        if old.not_null != new.not_null {
            let set = |n: bool| {
                format!(
                    "ALTER DOMAIN {name} {} NOT NULL;",
                    if n { "SET" } else { "DROP" }
                )
            };
            up.push(Statement::new(set(new.not_null)));
            down.push(Statement::new(set(old.not_null)));
        }
        for (check, definition) in &old.checks {
            if new.checks.get(check) != Some(definition) {
                up.push(Statement::new(format!(
                    "ALTER DOMAIN {name} DROP CONSTRAINT {};",
                    ident(check)
                )));
                down.push(Statement::new(format!(
                    "ALTER DOMAIN {name} ADD CONSTRAINT {} {definition};",
                    ident(check)
                )));
            }
        }
        for (check, definition) in &new.checks {
            if old.checks.get(check) != Some(definition) {
                up.push(Statement::new(format!(
                    "ALTER DOMAIN {name} ADD CONSTRAINT {} {definition};",
                    ident(check)
                )));
                down.push(Statement::new(format!(
                    "ALTER DOMAIN {name} DROP CONSTRAINT {};",
                    ident(check)
                )));
            }
        }
        if !up.is_empty() {
            down.reverse();
            planner.change(File::Main, phase::CREATE_TYPE, up, Ok(down));
        }
    }
    for (name, old) in &planner.from.domains {
        if !planner.to.domains.contains_key(name) {
            let recreate = create_domain(name, old).remove(0);
            drop_type(planner, name, recreate);
        }
    }
}
