//! `cargo xtask pg-install MAJOR`: a PostgreSQL server of that version, and the PostgreSQL 18
//! clients, under `target/tools/` (see [`crate::tools::postgres`]).

use xshell::Shell;

use crate::{
    flags,
    tools::postgres::{clients, server_bin},
};

impl flags::PgInstall {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let bin = server_bin(sh, self.major)?;
        clients(sh)?;
        println!("{}", bin.display());
        Ok(())
    }
}
