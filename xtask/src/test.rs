//! `cargo xtask test`: a server for scratch databases first, then the whole workspace's tests
//! with `TEST_DATABASE_URL` pointing at it (each database test creates and drops its own
//! database), then the examples in the documentation.
//!
//! `--postgres VERSION` (or `--pg-bin DIR`) runs everything on a throwaway cluster of that
//! server, and tests that start a cluster of their own (TLS, crashes) use it too (`PG_BIN`).
//! A check that needs something this machine lacks (PgBouncer) is left out, and said so in the
//! last lines; with `CI=true` it is required instead.

use pg_cluster::process;
use xshell::{Shell, cmd};

use crate::{db::Server, flags, tools::postgres};

impl flags::Test {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let mut left_out = Vec::new();
        let mut filter: Vec<String> = Vec::new();
        if pg_cluster::find_pgbouncer().is_none() {
            if ci {
                anyhow::bail!(
                    "CI=true, and the PgBouncer tests need PgBouncer, which is not installed: apt install pgbouncer"
                );
            }
            left_out.push(
                "the PgBouncer tests (migrating through a transaction pooler is refused, a session pooler \
                 works): PgBouncer is not installed; `apt install pgbouncer` (or `brew install pgbouncer`) \
                 runs them",
            );
            filter.push("pgbouncer_".into());
        }

        let bin_dir = match (self.postgres, self.pg_bin) {
            (Some(major), _) => Some(postgres::server_bin(sh, major)?),
            (None, Some(dir)) => Some(dir),
            (None, None) => None,
        };
        let db = match &bin_dir {
            Some(bin) => {
                let major = postgres::major_of(bin)?;
                if major > 15 {
                    postgres::clients(sh)?; // pg_dump as new as the server
                }
                Server::scratch_cluster(bin, major)?
            }
            None => Server::scratch()?,
        };
        // xtask's own tests drive the app's binaries through `cargo xtask`, which builds them:
        // build them now, once, rather than inside a test while the others wait for cargo.
        crate::migrate_bin::build_app(sh)?;
        // Left-out tests are skipped by name after `--`, which both runners read the same way
        // and which narrows whatever filter the caller gave (nextest's `-E`s would widen it).
        let mut args = self.args;
        if !filter.is_empty() && !args.iter().any(|a| a == "--") {
            args.push("--".into());
        }
        for name in &filter {
            args.extend(["--skip".into(), name.into()]);
        }
        let nextest = process::succeeds(cmd!(sh, "cargo nextest --version"));
        let runner: &[&str] = if nextest {
            &["nextest", "run"]
        } else {
            eprintln!("cargo-nextest is not installed; running `cargo test` (slower, same tests)");
            &["test"]
        };
        let mut tests = cmd!(sh, "cargo {runner...} --workspace --no-fail-fast {args...}");
        tests = tests.env("TEST_DATABASE_URL", db.admin.to_string());
        if let Some(bin) = &bin_dir {
            tests = tests.env(pg_cluster::PG_BIN, bin);
        }
        if let Some(clients) = postgres::installed_clients() {
            tests = tests.env(pg_cluster::PG_CLIENTS, clients);
        }
        process::run(tests)?;
        if nextest {
            // nextest leaves the examples in the documentation to `cargo test`.
            process::run(cmd!(sh, "cargo test --workspace --doc --quiet"))?;
        }
        for what in &left_out {
            eprintln!("not run: {what}");
        }
        Ok(())
    }
}
