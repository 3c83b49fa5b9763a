//! A binary of the workspace as a real process, and what it said.

use std::process::{Command, Stdio};

/// Variables that would make a spawned binary look elsewhere than where the test points it.
const INHERITED_SETTINGS: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "MIGRATION_DATABASE_URL",
    "MIGRATION_DATABASE_URL_FILE",
    "MIGRATE_ALLOW_DOWN",
    "MIGRATE_CONNECT_TIMEOUT",
    "MIGRATE_LOCK_WAIT",
    "MIGRATE_LOCK_TIMEOUT",
    "MIGRATE_LOCK_RETRIES",
    "MIGRATE_STATEMENT_TIMEOUT",
    "APP_LISTEN",
    "SCHEMA_WAIT_TIMEOUT",
    "SCHEMA_POLL_INTERVAL",
    "LOG_FORMAT",
    "RUST_LOG",
];

/// A binary, by path (`env!("CARGO_BIN_EXE_<name>")` in the test that knows it).
#[derive(Debug, Clone, Copy)]
pub struct Binary(pub &'static str);

impl Binary {
    /// The binary, isolated from the developer's environment and `.env` (it runs in the
    /// system's temporary directory).
    pub fn command(self) -> Command {
        let mut command = Command::new(self.0);
        for var in INHERITED_SETTINGS {
            command.env_remove(var);
        }
        command
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null());
        command
    }
}

impl Binary {
    /// This `migrate` binary with `url` as `MIGRATION_DATABASE_URL`, reading migrations from
    /// `source` when given.
    pub fn migrate_at(self, url: &str, source: Option<&std::path::Path>) -> Command {
        let mut command = self.command();
        command.env("MIGRATION_DATABASE_URL", url);
        if let Some(dir) = source {
            command.arg("--source").arg(dir);
        }
        command
    }
}

/// What a finished process said.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Exited non-zero, saying `text` on stderr.
    #[track_caller]
    pub fn assert_failed_with(&self, text: &str) -> &Self {
        assert!(
            !self.success(),
            "expected a failure; stderr:\n{}",
            self.stderr
        );
        self.assert_stderr_contains(text)
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }

    /// The lines starting with `error: `.
    pub fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect()
    }
}

/// Runs a command to completion.
pub fn run(command: &mut Command) -> Run {
    let output = command.output().expect("the binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
