//! The app's `migrate` binary, as every command that migrates a database runs it (the
//! `migrate-*` commands on the development database; checks, schema dumps and benchmarks on
//! scratch databases): development and CI run the code production runs.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use pg_cluster::process;
use xshell::{Shell, cmd};

use crate::{
    Source,
    db::{DevDatabase, url::PgUrl},
    target_dir,
};

/// Builds the app's binaries (cargo skips this when nothing changed).
pub fn build_app(sh: &Shell) -> anyhow::Result<()> {
    process::run(cmd!(sh, "cargo build --package app --bins"))
}

/// One of the app's binaries, as `build_app` leaves it (`profile`: `debug` or `release`).
pub fn app_binary(profile: &str, name: &str) -> PathBuf {
    target_dir().join(profile).join(name)
}

/// `migrate ARGS` (of `profile`) migrating `url`, reading `source` when given. The URL travels
/// in the environment; `DATABASE_URL` is cleared so that nothing else is reached.
pub fn command(profile: &str, url: &PgUrl, source: Option<&Path>, args: &[&str]) -> Command {
    let mut migrate = Command::new(app_binary(profile, "migrate"));
    if let Some(source) = source {
        migrate.arg("--source").arg(source);
    }
    migrate
        .args(args)
        .env("MIGRATION_DATABASE_URL", url.to_string())
        .env_remove("DATABASE_URL");
    migrate
}

/// Builds and runs `migrate ARGS` against the development database.
pub fn run(sh: &Shell, db: &DevDatabase, args: &[&str]) -> anyhow::Result<()> {
    build_app(sh)?;
    let mut migrate = command("debug", &db.migrator, None, args);
    migrate.env("DATABASE_URL", db.runtime.to_string());
    process::run(migrate)
}

/// `migrate --source DIR [--config FILE] ARGS` on `url` (a scratch database).
pub fn on_source(url: &PgUrl, source: &Source, args: &[&str]) -> Command {
    let mut migrate = command("debug", url, Some(&source.dir), args);
    if let Some(config) = &source.config {
        migrate.arg("--config").arg(config);
    }
    migrate
}

/// Runs [`on_source`] quietly, returning what it said.
pub fn on(url: &PgUrl, source: &Source, args: &[&str]) -> anyhow::Result<Output> {
    let mut migrate = on_source(url, source, args);
    migrate.env("RUST_LOG", "warn");
    process::output(migrate)
}

/// Runs `migrate ARGS` against the development database, made available first.
pub fn on_dev(sh: &Shell, args: &[String]) -> anyhow::Result<()> {
    let db = DevDatabase::ensure()?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(sh, &db, &args)
}
