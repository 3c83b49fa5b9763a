//! Logging as every binary of the project does it: to stderr, filtered by `RUST_LOG` (default
//! `info`). `LOG_FORMAT=json` writes one JSON object per line (tracing-subscriber's JSON
//! output), what a cluster's log collector reads; `text`, the default, is colored on a
//! terminal. Messages never hold a password: URLs are masked where they are formatted.

use tracing_subscriber::EnvFilter;

/// The variable that picks the format.
pub const LOG_FORMAT: &str = "LOG_FORMAT";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `LOG_FORMAT`'s value: `text` (or unset, or empty) or `json`; anything else is an error
    /// naming the variable.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var(LOG_FORMAT).unwrap_or_default().trim() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "{LOG_FORMAT}={other:?} is not a log format: use text (the default) or json"
            )),
        }
    }
}

/// Installs the subscriber in the format `LOG_FORMAT` names, and returns that format; call
/// once, first thing in `main`. A bad `LOG_FORMAT` is returned, for `main` to print and exit
/// with.
pub fn init() -> Result<LogFormat, String> {
    let format = LogFormat::from_env()?;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx::query=error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
    Ok(format)
}
