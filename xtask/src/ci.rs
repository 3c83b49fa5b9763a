//! `cargo xtask ci`: the checks every change must pass, in order, stopping at the first failure
//! with a summary of what passed; the last is the README's test command. `.ci/run` and
//! `.github/workflows/ci.yml` run it, and then what needs more than one server or a Docker
//! engine (the suite on PostgreSQL 18, `compose-test`).
//!
//! clippy compiles the query crates with their macros online, so that `sqlx-check` then only
//! compares what they wrote with `.sqlx/` instead of compiling everything once more.

use std::time::Instant;

use anyhow::bail;
use pg_cluster::process;
use xshell::{Shell, cmd};

use crate::{flags, sqlx_data};

/// Rows per table in CI's rehearsal: enough for NULLs, duplicates and bad casts to show.
const REHEARSAL_ROWS: u64 = 100;

impl flags::Ci {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let mut ci = Steps::default();
        ci.step("fmt", || {
            process::run(cmd!(sh, "cargo fmt --all -- --check"))
        })?;
        let mut queries = None;
        ci.step("clippy", || {
            let clippy = cmd!(
                sh,
                "cargo clippy --workspace --all-targets --locked -- -D warnings"
            );
            queries = Some(sqlx_data::expand_online(clippy)?);
            Ok(())
        })?;
        ci.step("sqlx-check", || {
            sqlx_data::check(queries.as_deref().expect("clippy ran"))
        })?;
        ci.step("deploy-lint", || flags::DeployLint.run(sh))?;
        ci.step("k8s-check", || flags::K8sCheck { chart: None }.run(sh))?;
        ci.step("migrate-lint", || {
            flags::MigrateLint {
                source: None,
                all: false,
                against: None,
            }
            .run(sh)
        })?;
        ci.step("migrate-check", || {
            flags::MigrateCheck {
                source: None,
                schema: None,
                against: None,
                only: None,
            }
            .run(sh)
        })?;
        ci.step("migrate-rehearse", || {
            flags::MigrateRehearse {
                source: None,
                rows: Some(REHEARSAL_ROWS),
                data: None,
                max_exclusive: None,
            }
            .run(sh)
        })?;
        ci.step("test", || {
            flags::Test {
                args: Vec::new(),
                postgres: None,
                pg_bin: None,
            }
            .run(sh)
        })?;
        eprintln!();
        ci.summary();
        eprintln!("ci: all {} steps passed", ci.passed.len());
        Ok(())
    }
}

/// The steps run so far, with their times.
#[derive(Default)]
struct Steps {
    passed: Vec<String>,
}

impl Steps {
    fn step(&mut self, name: &str, run: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
        eprintln!("\n==> ci: {name}");
        let started = Instant::now();
        if let Err(e) = run() {
            eprintln!(
                "\nci: FAILED at {name} after {:.0?}: {e:#}",
                started.elapsed()
            );
            self.summary();
            bail!("ci failed at {name}");
        }
        self.passed
            .push(format!("{name} ({:.0?})", started.elapsed()));
        Ok(())
    }

    fn summary(&self) {
        if !self.passed.is_empty() {
            eprintln!("ci: passed: {}", self.passed.join(", "));
        }
    }
}
