//! How `migrate` fails: the lines to print and the exit code.

use std::process::ExitCode;

/// Exit code when another runner held the migration lock longer than `--lock-wait`.
pub const EXIT_LOCK_WAIT: u8 = 3;

#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    /// One line each; printed as `error: <line>`.
    pub lines: Vec<String>,
}

impl Failure {
    /// A failure with exit code 1.
    pub fn new(line: impl Into<String>) -> Self {
        Self::lines(vec![line.into()])
    }

    pub fn lines(lines: Vec<String>) -> Self {
        Self { code: 1, lines }
    }

    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::new(format!("database error: {e}"))
    }
}

impl From<app::migrations::FileProblems> for Failure {
    fn from(problems: app::migrations::FileProblems) -> Self {
        Failure::lines(problems.0.iter().map(ToString::to_string).collect())
    }
}

impl From<app::config::ConfigError> for Failure {
    fn from(e: app::config::ConfigError) -> Self {
        Failure::new(e.to_string())
    }
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;
