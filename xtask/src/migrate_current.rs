//! `cargo xtask migrate-current`: `migrate current` on the development database.

use xshell::Shell;

use crate::{flags, migrate_bin};

impl flags::MigrateCurrent {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        migrate_bin::on_dev(sh, &["current".to_owned()])
    }
}
