//! `cargo xtask migrate-down`: `migrate down` on the development database, which may go back
//! (`--allow-down`: development is the approval production asks for).

use xshell::Shell;

use crate::{flags, migrate_bin};

impl flags::MigrateDown {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        // Development may go back: this is the approval production asks for.
        let mut args = vec!["down".to_owned(), "--allow-down".to_owned()];
        if let Some(steps) = self.steps {
            args.extend(["--steps".to_owned(), steps.to_string()]);
        }
        if let Some(to) = self.to {
            args.extend(["--to".to_owned(), to.to_string()]);
        }
        if self.all {
            args.push("--all".to_owned());
        }
        if self.dry_run {
            args.push("--dry-run".to_owned());
        }
        migrate_bin::on_dev(sh, &args)
    }
}
