//! `cargo xtask test`: a server for scratch databases first, then the whole workspace's tests
//! with `TEST_DATABASE_URL` pointing at it. Each database test creates and drops its own
//! database.

use xshell::{Shell, cmd};

use crate::{db::DevDatabase, flags};

/// Where PgBouncer may be installed; one test migrates through it.
const PGBOUNCER: &[&str] = &[
    "/usr/sbin/pgbouncer",
    "/usr/bin/pgbouncer",
    "/usr/local/bin/pgbouncer",
    "/opt/homebrew/bin/pgbouncer",
];

impl flags::Test {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        if !PGBOUNCER.iter().any(|p| std::path::Path::new(p).exists()) {
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
        let nextest = cmd!(sh, "cargo nextest --version")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run()
            .is_ok();
        let command = if nextest {
            cmd!(sh, "cargo nextest run --workspace --no-fail-fast {args...}")
        } else {
            eprintln!("cargo-nextest is not installed; running `cargo test` (slower, same tests)");
            cmd!(sh, "cargo test --workspace --no-fail-fast {args...}")
        };
        command
            .env("TEST_DATABASE_URL", db.admin.to_string())
            .run()?;
        Ok(())
    }
}
