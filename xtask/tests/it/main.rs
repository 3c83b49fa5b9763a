//! xtask's integration tests: `cargo xtask` as a real process, on fixtures and on a real
//! PostgreSQL, and the repository files it keeps consistent (compose file, README, CI).

mod compose;
mod docs;
mod k8s_check;
mod migrate_check;
mod migrate_diff;
mod migrate_lint;
mod rebase;

use std::{path::Path, process::Command};

use test_support::workspace_root;

/// `cargo xtask ARGS` on the server tests may use (`TEST_DATABASE_URL`, as `cargo xtask test`
/// sets it), given as an explicit `DATABASE_URL` so that no development database is started.
pub fn xtask(args: &[&str]) -> Command {
    let server = std::env::var("TEST_DATABASE_URL")
        .expect("these tests need PostgreSQL: run `cargo xtask test`, or set TEST_DATABASE_URL");
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .env("DATABASE_URL", &server)
        .env("TEST_DATABASE_URL", &server)
        .env_remove("MIGRATION_DATABASE_URL")
        .current_dir(workspace_root());
    command
}

/// `--source` and `--schema` pointing into a fixture.
pub fn fixture_args(fixture: &test_support::Migrations) -> Vec<String> {
    vec![
        "--source".into(),
        fixture.path().display().to_string(),
        "--schema".into(),
        fixture.schema().display().to_string(),
    ]
}

/// `git ARGS` in `root`, which must succeed.
pub fn git(root: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-C"])
        .arg(root)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}
