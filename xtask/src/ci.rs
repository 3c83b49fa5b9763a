//! `cargo xtask ci`: everything CI runs, in order, stopping at the first failure with a
//! summary of what passed. `.ci/run` and `.github/workflows/ci.yml` run exactly this.

use std::time::Instant;

use anyhow::bail;
use pg_cluster::process;
use xshell::{Shell, cmd};

use crate::flags;

type Step = fn(&Shell) -> anyhow::Result<()>;

const STEPS: [(&str, Step); 6] = [
    ("fmt", |sh| {
        process::run(cmd!(sh, "cargo fmt --all -- --check"))
    }),
    ("clippy", |sh| {
        process::run(cmd!(
            sh,
            "cargo clippy --workspace --all-targets --locked -- -D warnings"
        ))
    }),
    ("sqlx-check", |sh| flags::SqlxCheck.run(sh)),
    ("migrate-lint", |sh| {
        flags::MigrateLint {
            source: None,
            all: false,
            against: None,
        }
        .run(sh)
    }),
    ("migrate-check", |sh| {
        flags::MigrateCheck {
            source: None,
            schema: None,
            against: None,
            only: None,
        }
        .run(sh)
    }),
    ("test", |sh| flags::Test { args: Vec::new() }.run(sh)),
];

impl flags::Ci {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let mut passed: Vec<String> = Vec::new();
        for (name, step) in STEPS {
            eprintln!("\n==> ci: {name}");
            let started = Instant::now();
            if let Err(e) = step(sh) {
                eprintln!(
                    "\nci: FAILED at {name} after {:.0?}: {e:#}",
                    started.elapsed()
                );
                summary(&passed);
                bail!("ci failed at {name}");
            }
            passed.push(format!("{name} ({:.0?})", started.elapsed()));
        }
        eprintln!();
        summary(&passed);
        eprintln!("ci: all {} steps passed", STEPS.len());
        Ok(())
    }
}

fn summary(passed: &[String]) {
    if !passed.is_empty() {
        eprintln!("ci: passed: {}", passed.join(", "));
    }
}
