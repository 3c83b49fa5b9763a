//! `migrate-rehearse`: every migration applied to tables that hold rows, on a scratch
//! database, by the app's own `migrate rehearse` (the engine's `rehearse` module says how):
//! what fails only with data, what rewrites a table, what holds ACCESS EXCLUSIVE too long.

use std::path::absolute;

use anyhow::Context;
use pg_cluster::process;
use xshell::Shell;

use crate::{
    Source,
    db::{Server, scratch::ScratchDb},
    flags, migrate_bin,
};

impl flags::MigrateRehearse {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let source = Source::from_flag(self.source);
        let mut args = vec!["rehearse".to_owned()];
        if let Some(rows) = self.rows {
            args.extend(["--rows".to_owned(), rows.to_string()]);
        }
        if let Some(data) = self.data {
            let data = absolute(&data).with_context(|| format!("--data {}", data.display()))?;
            args.extend(["--data".to_owned(), data.display().to_string()]);
        }
        if let Some(max) = self.max_exclusive {
            args.extend(["--max-exclusive".to_owned(), max]);
        }
        let db = Server::scratch()?;
        migrate_bin::build_app(sh)?;
        let scratch = ScratchDb::create(&db, "rehearse")?;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut rehearse = migrate_bin::on_source(&scratch.url, &source, &args);
        rehearse.env("RUST_LOG", "warn");
        process::run(rehearse)
    }
}
