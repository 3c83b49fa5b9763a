//! Running the xtask binary against the test server, and fixture directories for it.

#![allow(dead_code)] // each test file uses a part

use std::{
    path::{Path, PathBuf},
    process::Command,
};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// `cargo xtask ARGS` on the server tests may use (TEST_DATABASE_URL, as `cargo xtask test`
/// sets it), given as an explicit DATABASE_URL so no development database is started.
pub fn xtask(args: &[&str]) -> Command {
    let server = std::env::var("TEST_DATABASE_URL")
        .expect("these tests need PostgreSQL: run `cargo xtask test`, or set TEST_DATABASE_URL");
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .env("DATABASE_URL", &server)
        .env("TEST_DATABASE_URL", &server)
        .env_remove("MIGRATION_DATABASE_URL")
        .current_dir(root());
    command
}

pub struct Outcome {
    pub success: bool,
    pub stderr: String,
}

impl Outcome {
    #[track_caller]
    pub fn assert_failed_with(&self, text: &str) {
        assert!(
            !self.success,
            "expected a failure; stderr:\n{}",
            self.stderr
        );
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
    }

    #[track_caller]
    pub fn assert_ok(&self) {
        assert!(self.success, "expected success; stderr:\n{}", self.stderr);
    }
}

pub fn run(command: &mut Command) -> Outcome {
    let output = command.output().expect("xtask runs");
    Outcome {
        success: output.status.success(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A project-like directory: `migrations/` with `files`, and room for `schema.sql`.
pub struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("migrations")).unwrap();
        let fixture = Self { dir };
        for (name, sql) in files {
            fixture.write(name, sql);
        }
        fixture
    }

    pub fn write(&self, name: &str, sql: &str) {
        std::fs::write(self.migrations().join(name), sql).unwrap();
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    pub fn schema(&self) -> PathBuf {
        self.dir.path().join("schema.sql")
    }

    /// `--source` and `--schema` pointing here.
    pub fn args(&self) -> Vec<String> {
        vec![
            "--source".into(),
            self.migrations().display().to_string(),
            "--schema".into(),
            self.schema().display().to_string(),
        ]
    }
}
