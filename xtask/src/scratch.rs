//! Scratch databases: created on the development server for one command, dropped afterwards.

use xshell::Shell;

use crate::{
    db::{DevDatabase, ident},
    pg_url::PgUrl,
};

pub struct ScratchDb<'a> {
    sh: &'a Shell,
    db: &'a DevDatabase,
    pub name: String,
    pub url: PgUrl,
}

impl<'a> ScratchDb<'a> {
    pub fn create(sh: &'a Shell, db: &'a DevDatabase, purpose: &str) -> anyhow::Result<Self> {
        let name = format!("scratch_{purpose}_{}", std::process::id());
        db.admin_sql(
            sh,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(&name)),
        )?;
        db.admin_sql(sh, &format!("CREATE DATABASE {}", ident(&name)))?;
        let url = db.admin.with_database(&name);
        Ok(Self { sh, db, name, url })
    }
}

impl Drop for ScratchDb<'_> {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(&self.name));
        if let Err(e) = self.db.admin_sql(self.sh, &drop) {
            eprintln!(
                "warning: could not drop scratch database {}: {e:#}",
                self.name
            );
        }
    }
}
