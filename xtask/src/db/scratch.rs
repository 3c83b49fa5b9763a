//! Scratch databases: created for one command, dropped afterwards.

use std::sync::atomic::{AtomicU32, Ordering};

use migrate_core::quote::ident;

use super::{Server, url::PgUrl};

pub struct ScratchDb<'a> {
    db: &'a Server,
    pub name: String,
    pub url: PgUrl,
}

impl<'a> ScratchDb<'a> {
    pub fn create(db: &'a Server, purpose: &str) -> anyhow::Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "scratch_{purpose}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        db.admin_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            ident(&name)
        ))?;
        db.admin_sql(&format!("CREATE DATABASE {}", ident(&name)))?;
        let url = db.admin.with_database(&name);
        Ok(Self { db, name, url })
    }
}

impl Drop for ScratchDb<'_> {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(&self.name));
        if let Err(e) = self.db.admin_sql(&drop) {
            eprintln!(
                "warning: could not drop scratch database {}: {e:#}",
                self.name
            );
        }
    }
}
