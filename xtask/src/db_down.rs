//! `cargo xtask db-down`: stops every server this project started (`--purge` deletes their data).

use xshell::Shell;

use crate::{
    db::{
        cluster::{self, Spec},
        docker, env_url,
    },
    flags,
    tools::postgres,
};

impl flags::DbDown {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        if env_url("DATABASE_URL").is_some() {
            eprintln!(
                "DATABASE_URL points at a server this project does not manage; nothing to stop"
            );
            return Ok(());
        }
        let mut stopped = cluster::down(&Spec::dev(), self.purge)?;
        stopped |= cluster::down(&Spec::scratch(None), self.purge)?;
        stopped |= cluster::down(&Spec::bench(), self.purge)?;
        for major in 15..=postgres::NEWEST {
            stopped |= cluster::down(&Spec::scratch(Some(major)), self.purge)?;
        }
        if docker::engine_answers() {
            docker::down(self.purge)?;
            stopped = true;
        }
        if !stopped {
            eprintln!("no development database is running");
        }
        Ok(())
    }
}
