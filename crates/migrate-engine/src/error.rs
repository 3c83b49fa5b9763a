//! How the engine fails: a kind that callers can act on (exit codes, retries), and one line per
//! problem, each naming the file, version or setting and what to do.

use migrate_core::FileProblems;

use crate::settings::ConfigError;

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Migration files that cannot be used; checked before connecting.
    Files,
    /// A setting: a URL, `.env`, `sqlx.toml`, a flag's value.
    Config,
    /// No usable connection: unreachable, refused, TLS, or a transaction pooler.
    Connect,
    /// Another runner held the migration lock longer than allowed.
    LockWait,
    /// Refused before changing anything: the history, the plan or the policy says no.
    Refused,
    /// A migration failed while it ran.
    Failed,
    /// The database answered with an error outside any migration.
    Database,
    /// SIGTERM or SIGINT asked `migrate` to stop.
    Interrupted,
}

/// A failure: its kind and its lines. Displayed one line per problem.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    lines: Vec<String>,
}

impl Error {
    /// A failure with one line.
    pub fn new(kind: ErrorKind, line: impl Into<String>) -> Self {
        Self::with_lines(kind, vec![line.into()])
    }

    /// A failure with several lines, one problem each.
    pub fn with_lines(kind: ErrorKind, lines: Vec<String>) -> Self {
        Self { kind, lines }
    }

    /// What went wrong, broadly.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// One problem each, ready to print after `error: `.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Stopped by `signal` (SIGTERM, SIGINT) before finishing; `consequence` says what that
    /// left, e.g. `nothing was changed`.
    pub fn interrupted(signal: &str, consequence: &str) -> Self {
        Self::new(
            ErrorKind::Interrupted,
            format!("stopped by {signal}: {consequence}; run migrate again to finish"),
        )
    }

    pub(crate) fn push(&mut self, line: String) {
        self.lines.push(line);
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.lines.join("\n"))
    }
}

impl std::error::Error for Error {}

impl From<FileProblems> for Error {
    fn from(problems: FileProblems) -> Self {
        Self::with_lines(
            ErrorKind::Files,
            problems.0.iter().map(ToString::to_string).collect(),
        )
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::new(ErrorKind::Config, e.to_string())
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::new(ErrorKind::Database, format!("database error: {e}"))
    }
}

/// Whether `error` is the server's, with SQLSTATE `code` (see `migrate_core::sqlstate`).
pub(crate) fn has_sqlstate(error: &sqlx::Error, code: &str) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|c| c == code)
}

/// The engine's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
