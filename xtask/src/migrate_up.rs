//! `cargo xtask migrate-up`: `migrate up` on the development database.

use xshell::Shell;

use crate::{flags, migrate_bin};

impl flags::MigrateUp {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let mut args = vec!["up".to_owned()];
        if let Some(to) = self.to {
            args.extend(["--to".to_owned(), to.to_string()]);
        }
        if self.dry_run {
            args.push("--dry-run".to_owned());
        }
        migrate_bin::on_dev(sh, &args)
    }
}
