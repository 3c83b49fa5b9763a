//! The development roles, from `ops/roles.sql`: a migrator that owns the schema and a runtime
//! role that only reads and writes rows (the same SQL an operator runs in production).

use anyhow::{Context, bail};
use migrate_core::roles::{self, Roles};

use migrate_core::quote::literal;

use super::{APP_DATABASE, Server};
use crate::project_root;

pub const MIGRATOR: &str = "app_migrator";
pub const RUNTIME: &str = "app_runtime";

/// The development passwords, as the compose file reads them (`.env` may set them); the role
/// names otherwise (local clusters trust local connections anyway).
pub const PASSWORDS: [(&str, &str); 3] = [
    ("POSTGRES_PASSWORD", "postgres"),
    ("APP_MIGRATOR_PASSWORD", MIGRATOR),
    ("APP_RUNTIME_PASSWORD", RUNTIME),
];

/// The password of `role` (or of the superuser, `postgres`) in development.
pub fn password(role: &str) -> String {
    let var = match role {
        MIGRATOR => "APP_MIGRATOR_PASSWORD",
        RUNTIME => "APP_RUNTIME_PASSWORD",
        _ => "POSTGRES_PASSWORD",
    };
    std::env::var(var).unwrap_or_else(|_| {
        PASSWORDS
            .iter()
            .find(|(v, _)| *v == var)
            .map_or(role, |(_, p)| p)
            .to_owned()
    })
}

/// Creates the roles and grants when they are missing, then checks that the migrator owns
/// everything in the schema (objects made before the roles existed would lock it out).
pub fn ensure(db: &Server, database_created: bool) -> anyhow::Result<()> {
    let present = db.admin_sql(&format!(
        "SELECT count(*) FROM pg_roles WHERE rolname IN ({}, {})",
        literal(MIGRATOR),
        literal(RUNTIME)
    ))?;
    if database_created || present.trim() != "2" {
        eprintln!(
            "setting up the roles {MIGRATOR} (owns the schema) and {RUNTIME} (reads and writes rows)"
        );
        let template = std::fs::read_to_string(project_root().join("ops/roles.sql"))
            .context("cannot read ops/roles.sql")?;
        let script = roles::render(
            &template,
            &Roles {
                migrator: MIGRATOR,
                migrator_password: &password(MIGRATOR),
                runtime: RUNTIME,
                runtime_password: &password(RUNTIME),
                database: APP_DATABASE,
            },
        )
        .map_err(anyhow::Error::msg)?;
        db.admin_script(&script).context("ops/roles.sql failed")?;
    }
    let foreign = db.admin_sql_in(
        APP_DATABASE,
        &format!(
            "SELECT string_agg(c.relname, ', ') FROM pg_class c \
             WHERE c.relnamespace = 'public'::regnamespace AND pg_get_userbyid(c.relowner) <> {}",
            literal(MIGRATOR)
        ),
    )?;
    if !foreign.trim().is_empty() {
        bail!(
            "the development database holds objects not owned by {MIGRATOR} ({}), made before the roles \
             existed; `cargo xtask db-reset` rebuilds it",
            foreign.trim()
        );
    }
    Ok(())
}
