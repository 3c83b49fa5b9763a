//! `cargo xtask schema-dump`: rewrites `schema.sql`, the normalized schema after every migration.

use anyhow::Context;
use pg_cluster::process;
use xshell::Shell;

use crate::{
    Source,
    db::{Server, schema, scratch::ScratchDb},
    flags, migrate_bin, project_root,
};

impl flags::SchemaDump {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let source = Source::from_flag(self.source);
        let target = self
            .schema
            .unwrap_or_else(|| project_root().join("schema.sql"));
        let db = Server::scratch()?;
        migrate_bin::build_app(sh)?;
        let scratch = ScratchDb::create(&db, "dump")?;
        process::check(
            migrate_bin::on(&scratch.url, &source, &["up"])?,
            "migrate up",
        )?;
        std::fs::write(&target, schema::dump(&db, &scratch.url, &source.config()?)?)
            .with_context(|| format!("cannot write {}", target.display()))?;
        eprintln!("wrote {}", target.display());
        Ok(())
    }
}
