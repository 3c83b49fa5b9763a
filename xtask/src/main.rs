//! Project automation: `cargo xtask <command>` (`cargo xtask --help` lists them).
//!
//! One module per command, named after it; `flags.rs` declares them all. What they share
//! lives apart: `db/` (servers, scratch databases, schema dumps), `tools/` (programs installed
//! under `target/tools/`), `git/`, `migrate_bin` (the app's `migrate` binary) and `sqlx_data`.
//! Every child process goes through
//! `pg_cluster::process`, which prints it before it runs; database URLs and passwords travel in
//! environment variables, never on a command line.

// Commands, one module each, named after them.
mod bench;
mod ci;
mod compose_test;
mod db_down;
mod db_reset;
mod db_up;
mod deploy_lint;
mod k8s_check;
mod migrate_check;
mod migrate_create;
mod migrate_current;
mod migrate_diff;
mod migrate_down;
mod migrate_lint;
mod migrate_rebase;
mod migrate_rehearse;
mod migrate_status;
mod migrate_up;
mod pg_install;
mod schema_dump;
mod sqlx_check;
mod sqlx_prepare;
mod test;
mod up;

// What the commands share.
mod db;
mod flags;
mod git;
mod migrate_bin;
mod sqlx_data;
mod tools;

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
        flags::XtaskCmd::MigrateRehearse(cmd) => cmd.run(sh),
        flags::XtaskCmd::MigrateRebase(cmd) => cmd.run(sh),
        flags::XtaskCmd::MigrateDiff(cmd) => cmd.run(sh),
        flags::XtaskCmd::SchemaDump(cmd) => cmd.run(sh),
        flags::XtaskCmd::MigrateLint(cmd) => cmd.run(sh),
        flags::XtaskCmd::DeployLint(cmd) => cmd.run(sh),
        flags::XtaskCmd::K8sCheck(cmd) => cmd.run(sh),
        flags::XtaskCmd::Ci(cmd) => cmd.run(sh),
        flags::XtaskCmd::Bench(cmd) => cmd.run(sh),
        flags::XtaskCmd::SqlxPrepare(cmd) => cmd.run(sh),
        flags::XtaskCmd::SqlxCheck(cmd) => cmd.run(sh),
        flags::XtaskCmd::ComposeTest(cmd) => cmd.run(sh),
        flags::XtaskCmd::Test(cmd) => cmd.run(sh),
        flags::XtaskCmd::PgInstall(cmd) => cmd.run(sh),
    }
}

pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ is inside the workspace")
        .to_owned()
}

/// Where migrations are read from, and the `sqlx.toml` that goes with them.
pub struct Source {
    pub dir: PathBuf,
    pub config: Option<PathBuf>,
}

impl Source {
    /// `--source DIR` as given (with no configuration), or the project's `migrations/` with the
    /// app crate's `sqlx.toml` when it has one (what its `sqlx::migrate!` reads).
    pub fn from_flag(dir: Option<PathBuf>) -> Self {
        match dir {
            Some(dir) => Self { dir, config: None },
            None => {
                let config = project_root().join("app").join("sqlx.toml");
                Self {
                    dir: project_root().join("migrations"),
                    config: config.exists().then_some(config),
                }
            }
        }
    }

    /// The configuration: the file's, or sqlx's defaults.
    pub fn config(&self) -> anyhow::Result<Config> {
        match &self.config {
            Some(path) => Config::load(path).map_err(anyhow::Error::msg),
            None => Ok(Config::default()),
        }
    }
}

/// The project's configuration: the app crate's `sqlx.toml`, or sqlx's defaults.
pub fn project_config() -> anyhow::Result<Config> {
    Source::from_flag(None).config()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| project_root().join("target"), PathBuf::from)
}
