//! `cargo xtask migrate-status`: `migrate status` on the development database.

use xshell::Shell;

use crate::{flags, migrate_bin};

impl flags::MigrateStatus {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let mut args = vec!["status".to_owned()];
        if self.json {
            args.push("--json".to_owned());
        }
        migrate_bin::on_dev(sh, &args)
    }
}
