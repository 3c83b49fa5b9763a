//! Sequences of their own (identity columns' sequences go with their columns): parameters,
//! `OWNED BY`, and a drop only with `--allow-drop`, since it loses the position.

use super::{File, Planner, Statement, phase};
use crate::catalog::{Name, Sequence, ident};

fn create_sequence(name: &Name, s: &Sequence) -> Statement {
    let cycle = if s.cycle { " CYCLE" } else { "" };
    Statement::new(format!(
        "CREATE SEQUENCE {name} AS {} START WITH {} INCREMENT BY {} MINVALUE {} MAXVALUE {} CACHE {}{cycle};",
        s.data_type, s.start, s.increment, s.min, s.max, s.cache
    ))
}

fn owned_by(name: &Name, owner: &Option<(Name, String)>) -> Statement {
    Statement::new(match owner {
        Some((table, column)) => {
            format!("ALTER SEQUENCE {name} OWNED BY {table}.{};", ident(column))
        }
        None => format!("ALTER SEQUENCE {name} OWNED BY NONE;"),
    })
}

pub(super) fn plan(planner: &mut Planner<'_>) {
    let identity = |s: &Sequence| s.identity;
    for (name, new) in planner.to.sequences.iter().filter(|(_, s)| !identity(s)) {
        match planner.from.sequences.get(name) {
            None => {
                planner.change(
                    File::Main,
                    phase::CREATE_SEQUENCE,
                    vec![create_sequence(name, new)],
                    Ok(vec![Statement::new(format!("DROP SEQUENCE {name};"))]),
                );
                if new.owned_by.is_some() {
                    planner.change(
                        File::Main,
                        phase::ALTER_SEQUENCE,
                        vec![owned_by(name, &new.owned_by)],
                        Ok(vec![owned_by(name, &None)]),
                    );
                }
            }
            Some(old) => {
                let params = |s: &Sequence| {
                    (
                        s.data_type.clone(),
                        s.start,
                        s.increment,
                        s.min,
                        s.max,
                        s.cache,
                        s.cycle,
                    )
                };
                if params(old) != params(new) {
                    let alter = |s: &Sequence| {
                        Statement::new(format!(
                            "ALTER SEQUENCE {name} AS {} START WITH {} INCREMENT BY {} MINVALUE {} MAXVALUE {} CACHE {} {}CYCLE;",
                            s.data_type,
                            s.start,
                            s.increment,
                            s.min,
                            s.max,
                            s.cache,
                            if s.cycle { "" } else { "NO " }
                        ))
                    };
                    planner.change(
                        File::Main,
                        phase::ALTER_SEQUENCE,
                        vec![alter(new)],
                        Ok(vec![alter(old)]),
                    );
                }
                if old.owned_by != new.owned_by {
                    planner.change(
                        File::Main,
                        phase::ALTER_SEQUENCE,
                        vec![owned_by(name, &new.owned_by)],
                        Ok(vec![owned_by(name, &old.owned_by)]),
                    );
                }
            }
        }
    }
    for (name, old) in planner.from.sequences.iter().filter(|(_, s)| !identity(s)) {
        if planner.to.sequences.contains_key(name) {
            continue;
        }
        // Owned by a column that goes with its table: it goes with them.
        if let Some((table, _)) = &old.owned_by
            && !planner.to.tables.contains_key(table)
        {
            continue;
        }
        if !planner.options.allow_drop {
            planner.refuse(format!(
                "sequence {name} is not in schema.sql: pass --allow-drop if dropping it (and its position) is intended"
            ));
            continue;
        }
        planner.change(
            File::Main,
            phase::DROP_SEQUENCE,
            vec![Statement::dropping(
                format!("DROP SEQUENCE {name};"),
                "--allow-drop: not in schema.sql",
            )],
            Ok(vec![create_sequence(name, old)]),
        );
    }
}
