//! `cargo xtask db-reset`: drops and recreates the development database, then migrates it.

use anyhow::{Context, bail};
use migrate_core::quote::ident;
use xshell::Shell;

use crate::{
    db::{DevDatabase, roles},
    flags, migrate_bin,
};

impl flags::DbReset {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let db = DevDatabase::locate()?;
        let name = db
            .migrator
            .database()
            .context("the migration URL names no database")?;
        if !db.migrator.is_local() && !self.force {
            bail!(
                "refusing to reset database {name:?} on {}: it is not on this machine. Pass --force if you mean it",
                db.migrator.host().unwrap_or("?")
            );
        }
        eprintln!("resetting database {name:?} on {}", db.migrator.redacted());
        db.server.admin_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            ident(&name)
        ))?;
        let created = db.server.create_database(&name)?;
        if db.server.is_managed() {
            roles::ensure(&db.server, created)?;
        }
        migrate_bin::run(sh, &db, &["up"])
    }
}
