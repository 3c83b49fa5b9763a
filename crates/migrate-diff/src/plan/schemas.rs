//! Schemas and extensions: what every other object lives in or comes from.

use super::{File, Planner, Statement, comments::comment, phase};
use crate::catalog::ident;

pub(super) fn schemas(planner: &mut Planner<'_>) {
    for (name, schema) in &planner.to.schemas {
        let old = planner.from.schemas.get(name);
        if old.is_none() {
            planner.change(
                File::Main,
                phase::CREATE_SCHEMA,
                vec![Statement::new(format!("CREATE SCHEMA {};", ident(name)))],
                Ok(vec![Statement::new(format!(
                    "DROP SCHEMA {};",
                    ident(name)
                ))]),
            );
        }
        let before = old.and_then(|s| s.comment.clone());
        comment(
            planner,
            &format!("SCHEMA {}", ident(name)),
            &before,
            &schema.comment,
        );
    }
    for name in planner.from.schemas.keys() {
        if !planner.to.schemas.contains_key(name) {
            planner.change(
                File::Main,
                phase::DROP_SCHEMA,
                vec![Statement::dropping(
                    format!("DROP SCHEMA {};", ident(name)),
                    "not in schema.sql",
                )],
                Ok(vec![Statement::new(format!(
                    "CREATE SCHEMA {};",
                    ident(name)
                ))]),
            );
        }
    }
}

pub(super) fn extensions(planner: &mut Planner<'_>) {
    let create = |name: &str, schema: &str| {
        Statement::new(format!(
            "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {};",
            ident(name),
            ident(schema)
        ))
    };
    for (name, extension) in &planner.to.extensions {
        if !planner.from.extensions.contains_key(name) {
            planner.change(
                File::Main,
                phase::CREATE_EXTENSION,
                vec![create(name, &extension.schema)],
                Ok(vec![Statement::new(format!(
                    "DROP EXTENSION {};",
                    ident(name)
                ))]),
            );
        }
    }
    for (name, extension) in &planner.from.extensions {
        if !planner.to.extensions.contains_key(name) {
            if !planner.options.allow_drop {
                planner.refuse(format!(
                    "extension {name} is not in schema.sql: dropping it drops its types and functions; pass \
                     --allow-drop if that is intended"
                ));
                continue;
            }
            planner.change(
                File::Main,
                phase::DROP_EXTENSION,
                vec![Statement::dropping(
                    format!("DROP EXTENSION {};", ident(name)),
                    "--allow-drop: not in schema.sql",
                )],
                Ok(vec![create(name, &extension.schema)]),
            );
        }
    }
}
