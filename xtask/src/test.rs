//! `cargo xtask test`: a server for scratch databases first, then the whole workspace's tests
//! with `TEST_DATABASE_URL` pointing at it (each database test creates and drops its own
//! database), then the documentation's examples.

use pg_cluster::process;
use xshell::{Shell, cmd};

use crate::{db::DevDatabase, flags};

impl flags::Test {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        if pg_cluster::find_pgbouncer().is_none() {
            anyhow::bail!(
                "the test suite needs PgBouncer (one test proves that migrating through a transaction \
                 pooler is refused): apt install pgbouncer, or brew install pgbouncer"
            );
        }
        let db = DevDatabase::scratch_server(sh)?;
        // xtask's own tests drive the app's binaries through `cargo xtask`, which builds them:
        // build them now, once, rather than inside a test while the others wait for cargo.
        crate::migrate::build_app(sh)?;
        let args = self.args;
        let nextest = process::succeeds(cmd!(sh, "cargo nextest --version"));
        let tests = if nextest {
            cmd!(sh, "cargo nextest run --workspace --no-fail-fast {args...}")
        } else {
            eprintln!("cargo-nextest is not installed; running `cargo test` (slower, same tests)");
            cmd!(sh, "cargo test --workspace --no-fail-fast {args...}")
        };
        process::run(tests.env("TEST_DATABASE_URL", db.admin.to_string()))?;
        if nextest {
            // nextest leaves the examples in the documentation to `cargo test`.
            process::run(cmd!(sh, "cargo test --workspace --doc --quiet"))?;
        }
        Ok(())
    }
}
