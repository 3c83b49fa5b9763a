//! `migrate-up`, `migrate-down`, `migrate-current`, `migrate-status`: the app's own `migrate`
//! binary on the development database, so development runs the code production runs.

use std::{
    path::{Path, PathBuf},
    process::Output,
};

use xshell::{Shell, cmd};

use crate::{db::DevDatabase, flags, pg_url::PgUrl, target_dir};

/// Builds the app's binaries (cargo skips this when nothing changed).
pub fn build_app(sh: &Shell) -> anyhow::Result<()> {
    cmd!(sh, "cargo build --package app --bins").run()?;
    Ok(())
}

pub fn app_binary(name: &str) -> PathBuf {
    target_dir().join("debug").join(name)
}

/// Builds and runs `migrate ARGS` against the development database.
pub fn run(sh: &Shell, db: &DevDatabase, args: &[&str]) -> anyhow::Result<()> {
    build_app(sh)?;
    let migrate = app_binary("migrate");
    cmd!(sh, "{migrate} {args...}")
        .env("MIGRATION_DATABASE_URL", db.migrator.to_string())
        .env("DATABASE_URL", db.runtime.to_string())
        .run()?;
    Ok(())
}

/// Runs `migrate --source SOURCE ARGS` on `url` (a scratch database), returning what it said.
pub fn on(sh: &Shell, url: &PgUrl, source: &Path, args: &[&str]) -> anyhow::Result<Output> {
    let migrate = app_binary("migrate");
    eprintln!(
        "$ migrate --source {} {}  ({})",
        source.display(),
        args.join(" "),
        url.redacted()
    );
    Ok(cmd!(sh, "{migrate} --source {source} {args...}")
        .env("MIGRATION_DATABASE_URL", url.to_string())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .quiet()
        .ignore_status()
        .output()?)
}

/// `output` if it succeeded, else an error carrying what it printed.
pub fn require(output: Output, what: &str) -> anyhow::Result<Output> {
    if output.status.success() {
        return Ok(output);
    }
    anyhow::bail!(
        "{what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr).trim_end()
    )
}

impl flags::MigrateUp {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let mut args = vec!["up".to_owned()];
        if let Some(to) = self.to {
            args.extend(["--to".to_owned(), to.to_string()]);
        }
        if self.dry_run {
            args.push("--dry-run".to_owned());
        }
        run_with(sh, &args)
    }
}

impl flags::MigrateDown {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let mut args = vec!["down".to_owned()];
        if let Some(steps) = self.steps {
            args.extend(["--steps".to_owned(), steps.to_string()]);
        }
        if let Some(to) = self.to {
            args.extend(["--to".to_owned(), to.to_string()]);
        }
        if self.dry_run {
            args.push("--dry-run".to_owned());
        }
        run_with(sh, &args)
    }
}

impl flags::MigrateCurrent {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        run_with(sh, &["current".to_owned()])
    }
}

impl flags::MigrateStatus {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let mut args = vec!["status".to_owned()];
        if self.json {
            args.push("--json".to_owned());
        }
        run_with(sh, &args)
    }
}

fn run_with(sh: &Shell, args: &[String]) -> anyhow::Result<()> {
    let db = DevDatabase::ensure(sh)?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(sh, &db, &args)
}
