//! `cargo xtask sqlx-check`: fails, naming the queries, when `.sqlx/` is stale, incomplete or has
//! leftovers (see [`crate::sqlx_data`]).

use xshell::Shell;

use crate::{
    flags,
    sqlx_data::{check, check_query_crates, expand_online},
};

impl flags::SqlxCheck {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        check(&expand_online(check_query_crates(sh))?)
    }
}
