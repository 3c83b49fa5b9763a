//! Where a process connects, read from the environment (and `.env` in development): typed once
//! into [`PgConnectOptions`], printed only with its passwords masked.

use std::{env, str::FromStr};

use migrate_core::redact::{redact_secrets_in, redact_url};
use sqlx::{ConnectOptions, postgres::PgConnectOptions};

/// The variable `migrate` reads first: a direct connection with the migrator role's rights.
pub const MIGRATION_DATABASE_URL: &str = "MIGRATION_DATABASE_URL";
/// The variable every process falls back to (and the only one the api and workers read).
pub const DATABASE_URL: &str = "DATABASE_URL";
/// Names a file holding `MIGRATION_DATABASE_URL`: how Docker and Kubernetes mount secrets.
pub const MIGRATION_DATABASE_URL_FILE: &str = "MIGRATION_DATABASE_URL_FILE";
/// Names a file holding `DATABASE_URL`.
pub const DATABASE_URL_FILE: &str = "DATABASE_URL_FILE";

/// A configuration problem: one line, naming the variable to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No variable holds a URL.
    #[error("{0} is not set: export it or put it in .env (see .env.example)")]
    Missing(&'static str),
    /// The URL does not parse.
    #[error("{var} is not a valid PostgreSQL URL ({url}): {reason}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// The URL, passwords masked.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `.env` exists but cannot be read.
    #[error("cannot read .env: {0}")]
    DotEnv(String),
    /// Both a variable and its `_FILE` form are set.
    #[error("both {0} and {0}_FILE are set: keep one of them")]
    Both(&'static str),
    /// The file a `_FILE` variable names cannot be read, or is empty.
    #[error("{var} names {path}, which {reason}: mount the secret there, or set {url_var} instead")]
    File {
        /// The `_FILE` variable.
        var: &'static str,
        /// The variable it stands for.
        url_var: &'static str,
        /// The file.
        path: String,
        /// What is wrong with it (never its contents).
        reason: String,
    },
}

/// Where a process connects, and as whom.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// The variable the URL came from, for messages.
    pub source: &'static str,
    options: PgConnectOptions,
    url: String,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DatabaseSettings({}={})",
            self.source,
            self.redacted_url()
        )
    }
}

impl DatabaseSettings {
    /// For `migrate`: `MIGRATION_DATABASE_URL`, falling back to `DATABASE_URL`.
    pub fn for_migrations() -> Result<Self, ConfigError> {
        Self::from_first_set(&[MIGRATION_DATABASE_URL, DATABASE_URL])
    }

    /// For the api and workers: `DATABASE_URL` (the runtime role).
    pub fn for_runtime() -> Result<Self, ConfigError> {
        Self::from_first_set(&[DATABASE_URL])
    }

    fn from_first_set(vars: &[&'static str]) -> Result<Self, ConfigError> {
        for &var in vars {
            if let Some((source, url)) = lookup(var)? {
                return Self::parse(source, &url);
            }
        }
        Err(ConfigError::Missing(match vars {
            [MIGRATION_DATABASE_URL, DATABASE_URL] => "MIGRATION_DATABASE_URL (or DATABASE_URL)",
            _ => DATABASE_URL,
        }))
    }

    /// Parses `url`; `source` names the variable it came from in messages.
    pub fn parse(source: &'static str, url: &str) -> Result<Self, ConfigError> {
        if !["postgres://", "postgresql://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            return Err(ConfigError::Invalid {
                var: source,
                url: redact_url(url),
                reason: "it must start with postgres:// or postgresql://".into(),
            });
        }
        let options = PgConnectOptions::from_str(url).map_err(|e| ConfigError::Invalid {
            var: source,
            url: redact_url(url),
            reason: redact_secrets_in(&e.to_string(), url),
        })?;
        Ok(Self {
            source,
            options,
            url: url.to_owned(),
        })
    }

    /// Options for one connection, named so that `pg_stat_activity` shows who it is.
    /// sqlx does not log statements on them: a migration is logged once, by name, and its
    /// text (which may be megabytes, or hold a role's password) never.
    pub fn connect_options(&self, application_name: &str) -> PgConnectOptions {
        self.options
            .clone()
            .application_name(application_name)
            .disable_statement_logging()
    }

    /// The URL with its passwords masked: safe to print.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// `message` with every form of this URL's passwords masked.
    pub fn redact(&self, message: &str) -> String {
        redact_secrets_in(message, &self.url)
    }

    /// The database the URL names.
    pub fn database_name(&self) -> Option<&str> {
        self.options.get_database()
    }

    /// The host the URL names.
    pub fn host(&self) -> &str {
        self.options.get_host()
    }

    /// `host:port`: one server.
    pub fn host_and_port(&self) -> String {
        format!("{}:{}", self.options.get_host(), self.options.get_port())
    }
}

/// `var`'s value, or the contents of the file `var_FILE` names; with the name of the variable
/// it came from. Neither set (or set empty): none. Both set: an error, rather than a guess.
fn lookup(var: &'static str) -> Result<Option<(&'static str, String)>, ConfigError> {
    let file_var = match var {
        MIGRATION_DATABASE_URL => MIGRATION_DATABASE_URL_FILE,
        _ => DATABASE_URL_FILE,
    };
    let direct = env::var(var).ok().filter(|v| !v.trim().is_empty());
    let file = env::var(file_var).ok().filter(|v| !v.trim().is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => Err(ConfigError::Both(var)),
        (Some(url), None) => Ok(Some((var, url))),
        (None, None) => Ok(None),
        (None, Some(path)) => {
            let failed = |reason: String| ConfigError::File {
                var: file_var,
                url_var: var,
                path: path.clone(),
                reason,
            };
            let text = std::fs::read_to_string(&path)
                .map_err(|e| failed(format!("cannot be read ({e})")))?;
            let url = text.trim();
            if url.is_empty() {
                return Err(failed("is empty".to_owned()));
            }
            Ok(Some((file_var, url.to_owned())))
        }
    }
}

/// `line` with the passwords of both URL variables (and of the files their `_FILE` forms name)
/// masked: the last line of defence before anything reaches a terminal.
pub(crate) fn redact_env_urls(line: &str) -> String {
    [MIGRATION_DATABASE_URL, DATABASE_URL]
        .into_iter()
        .filter_map(|var| lookup(var).ok().flatten())
        .fold(line.to_owned(), |line, (_, url)| {
            redact_secrets_in(&line, &url)
        })
}

/// Loads `.env` from the current directory or its parents, if there is one. Variables already
/// set win. A malformed file is an error rather than something silently ignored.
pub fn load_dotenv() -> Result<(), ConfigError> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(e) => Err(ConfigError::DotEnv(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_url_never_shows_its_password() {
        let err = DatabaseSettings::parse(DATABASE_URL, "postgres://app:hunter2@host:notaport/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("DATABASE_URL"), "{err}");
    }

    #[test]
    fn settings_print_without_passwords() {
        let settings = DatabaseSettings::parse(
            DATABASE_URL,
            "postgres://app:hunter2@db/app?sslmode=require",
        )
        .unwrap();
        assert_eq!(
            settings.redacted_url(),
            "postgres://app:***@db/app?sslmode=require"
        );
        assert!(!format!("{settings:?}").contains("hunter2"));
        assert_eq!(
            settings.redact("auth for hunter2 failed"),
            "auth for *** failed"
        );
    }
}
