//! `cargo xtask db-up`: a development database, its roles, and its URLs.

use xshell::Shell;

use crate::{db::DevDatabase, flags};

impl flags::DbUp {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let db = DevDatabase::ensure()?;
        eprintln!(
            "database ready. Migrate with `cargo xtask migrate-up`; the URLs (passwords hidden):"
        );
        println!("MIGRATION_DATABASE_URL={}", db.migrator.redacted());
        println!("DATABASE_URL={}", db.runtime.redacted());
        Ok(())
    }
}
