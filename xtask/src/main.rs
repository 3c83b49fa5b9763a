//! Project automation: `cargo xtask <command>` (`cargo xtask --help` lists them).
//!
//! One module per command; `flags.rs` declares them all. Every child process goes through
//! `pg_cluster::process`, which prints it before it runs; database URLs and passwords travel in
//! environment variables, never on a command line.

mod bench;
mod ci;
mod db;
mod flags;
mod git;
mod migrate;
mod migrate_check;
mod migrate_create;
mod migrate_lint;
mod pg_url;
mod schema;
mod scratch;
mod sqlx_data;
mod stack;
mod test;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use migrate_core::Config;
use xshell::Shell;

fn main() -> ExitCode {
    let flags = flags::Xtask::from_env_or_exit();
    match run(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: flags::Xtask) -> anyhow::Result<()> {
    // DATABASE_URL & co. may come from .env, as they do for the app.
    if let Err(e) = dotenvy::from_path(project_root().join(".env"))
        && !e.not_found()
    {
        anyhow::bail!("cannot read .env: {e}");
    }
    let sh = &Shell::new()?;
    sh.change_dir(project_root());
    match flags.subcommand {
        flags::XtaskCmd::MigrateCreate(cmd) => cmd.run(sh),
        flags::XtaskCmd::MigrateUp(cmd) => cmd.run(sh),
        flags::XtaskCmd::MigrateDown(cmd) => cmd.run(sh),
        flags::XtaskCmd::MigrateCurrent(cmd) => cmd.run(sh),
        flags::XtaskCmd::MigrateStatus(cmd) => cmd.run(sh),
        flags::XtaskCmd::DbUp(cmd) => cmd.run(sh),
        flags::XtaskCmd::DbDown(cmd) => cmd.run(sh),
        flags::XtaskCmd::DbReset(cmd) => cmd.run(sh),
        flags::XtaskCmd::Up(cmd) => cmd.run(sh),
        flags::XtaskCmd::MigrateCheck(cmd) => cmd.run(sh),
        flags::XtaskCmd::SchemaDump(cmd) => cmd.run(sh),
        flags::XtaskCmd::MigrateLint(cmd) => cmd.run(sh),
        flags::XtaskCmd::Ci(cmd) => cmd.run(sh),
        flags::XtaskCmd::Bench(cmd) => cmd.run(sh),
        flags::XtaskCmd::SqlxPrepare(cmd) => cmd.run(sh),
        flags::XtaskCmd::SqlxCheck(cmd) => cmd.run(sh),
        flags::XtaskCmd::Test(cmd) => cmd.run(sh),
    }
}

pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ is inside the workspace")
        .to_owned()
}

/// The app crate's `sqlx.toml` (what its `sqlx::migrate!` reads), or sqlx's defaults.
pub fn project_config() -> anyhow::Result<Config> {
    Config::load_or_default(&project_root().join("app").join("sqlx.toml"))
        .map_err(anyhow::Error::msg)
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| project_root().join("target"), PathBuf::from)
}
