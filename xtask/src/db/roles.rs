//! The development roles, from `ops/roles.sql`: a migrator that owns the schema and a runtime
//! role that only reads and writes rows (the same SQL an operator runs in production).

use anyhow::{Context, bail};
use xshell::Shell;

use super::{APP_DATABASE, DevDatabase, literal};
use crate::project_root;

pub const MIGRATOR: &str = "app_migrator";
pub const RUNTIME: &str = "app_runtime";

/// `ops/roles.sql` with its placeholders filled in.
pub fn render(migrator: &str, runtime: &str, database: &str) -> anyhow::Result<String> {
    for name in [migrator, runtime, database] {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            bail!(
                "{name:?} cannot be used as a role or database name here: lowercase letters, digits, underscores"
            );
        }
    }
    let template = std::fs::read_to_string(project_root().join("ops/roles.sql"))
        .context("cannot read ops/roles.sql")?;
    // Development passwords are the role names; local clusters trust local connections anyway.
    Ok(template
        .replace("{migrator_password}", migrator)
        .replace("{runtime_password}", runtime)
        .replace("{migrator}", migrator)
        .replace("{runtime}", runtime)
        .replace("{database}", database))
}

/// Creates the roles and grants when they are missing, then checks that the migrator owns
/// everything in the schema (objects made before the roles existed would lock it out).
pub fn ensure(sh: &Shell, db: &DevDatabase, database_created: bool) -> anyhow::Result<()> {
    let present = db.admin_sql(
        sh,
        &format!(
            "SELECT count(*) FROM pg_roles WHERE rolname IN ({}, {})",
            literal(MIGRATOR),
            literal(RUNTIME)
        ),
    )?;
    if database_created || present.trim() != "2" {
        eprintln!(
            "setting up the roles {MIGRATOR} (owns the schema) and {RUNTIME} (reads and writes rows)"
        );
        db.admin_script(sh, &render(MIGRATOR, RUNTIME, APP_DATABASE)?)?;
    }
    let foreign = db.admin_sql_in(
        sh,
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
