//! `cargo xtask sqlx-prepare`: regenerates `.sqlx/`, the offline query data (see [`crate::sqlx_data`]).

use std::fs;

use xshell::Shell;

use crate::{
    flags, project_root,
    sqlx_data::{check_query_crates, compare, expand_online},
};

impl flags::SqlxPrepare {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let fresh = expand_online(check_query_crates(sh))?;
        let committed = project_root().join(".sqlx");
        let diff = compare(&committed, &fresh)?;
        if committed.exists() {
            fs::remove_dir_all(&committed)?;
        }
        fs::create_dir_all(&committed)?;
        for entry in fs::read_dir(&fresh)? {
            let entry = entry?;
            fs::copy(entry.path(), committed.join(entry.file_name()))?;
        }
        eprintln!(
            ".sqlx/ regenerated: {} queries ({} new, {} changed, {} removed)",
            fs::read_dir(&committed)?.count(),
            diff.missing.len(),
            diff.stale.len(),
            diff.leftover.len()
        );
        Ok(())
    }
}
