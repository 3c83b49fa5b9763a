//! Typed configuration, read from the environment (and from `.env` in development).
//!
//! URLs are parsed once into [`PgConnectOptions`]; everything that prints one goes through
//! [`redact_url`], so no password reaches a log, an error or a panic message.

use std::{env, str::FromStr};

use sqlx::postgres::PgConnectOptions;

/// The variable `migrate` reads first: a direct connection with the migrator role's rights.
pub const MIGRATION_DATABASE_URL: &str = "MIGRATION_DATABASE_URL";
/// The variable every process falls back to (and the only one the api and workers read).
pub const DATABASE_URL: &str = "DATABASE_URL";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set: export it or put it in .env (see .env.example)")]
    Missing(&'static str),
    #[error("{var} is not a valid PostgreSQL URL ({url}): {reason}")]
    Invalid {
        var: &'static str,
        url: String,
        reason: String,
    },
    #[error("cannot read .env: {0}")]
    DotEnv(String),
}

/// Where a process connects, and as whom.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// The variable the URL came from, for messages.
    pub source: &'static str,
    options: PgConnectOptions,
    redacted: String,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseSettings({}={})", self.source, self.redacted)
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
            match env::var(var) {
                Ok(url) if !url.trim().is_empty() => return Self::parse(var, &url),
                _ => continue,
            }
        }
        Err(ConfigError::Missing(match vars {
            [MIGRATION_DATABASE_URL, DATABASE_URL] => "MIGRATION_DATABASE_URL (or DATABASE_URL)",
            _ => DATABASE_URL,
        }))
    }

    pub fn parse(source: &'static str, url: &str) -> Result<Self, ConfigError> {
        let redacted = redact_url(url);
        let options = PgConnectOptions::from_str(url).map_err(|e| ConfigError::Invalid {
            var: source,
            url: redacted.clone(),
            reason: redact_secrets_in(&e.to_string(), url),
        })?;
        Ok(Self {
            source,
            options,
            redacted,
        })
    }

    /// Options for one connection, named so that `pg_stat_activity` shows who it is.
    pub fn connect_options(&self, application_name: &str) -> PgConnectOptions {
        self.options.clone().application_name(application_name)
    }

    /// The URL with its password masked: safe to print.
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    pub fn database_name(&self) -> Option<&str> {
        self.options.get_database()
    }
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

/// Masks the password of a `postgres://` URL (user-info and `?password=`), and of a
/// `key=value` connection string. Anything unparsable keeps only its scheme.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.has_host() || parsed.scheme().starts_with("postgres") => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            if parsed.query_pairs().any(|(k, _)| is_password_key(&k)) {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if is_password_key(&k) {
                            "***".into()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        _ if url.contains('=') && !url.contains("://") => url
            .split_whitespace()
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_password_key(k) => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://*** (unparsable URL hidden)"),
            None => "*** (unparsable URL hidden)".into(),
        },
    }
}

fn is_password_key(key: &str) -> bool {
    key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword")
}

/// Removes the password of `url` from a message produced by a library that saw the URL.
pub fn redact_secrets_in(message: &str, url: &str) -> String {
    let mut out = message.replace(url, &redact_url(url));
    if let Some(password) = url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
    {
        let decoded = percent_encoding::percent_decode_str(&password)
            .decode_utf8_lossy()
            .into_owned();
        for form in [password, decoded] {
            if form.len() >= 3 {
                out = out.replace(&form, "***");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_info_password() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/app"),
            "postgres://app:***@db.internal:5432/app"
        );
    }

    #[test]
    fn redacts_query_password_and_keeps_other_parameters() {
        let redacted =
            redact_url("postgresql://app@localhost/app?sslmode=disable&password=hunter2");
        assert!(!redacted.contains("hunter2"), "{redacted}");
        assert!(redacted.contains("sslmode=disable"), "{redacted}");
    }

    #[test]
    fn redacts_key_value_strings() {
        assert_eq!(
            redact_url("host=localhost password=hunter2 dbname=app"),
            "host=localhost password=*** dbname=app"
        );
    }

    #[test]
    fn url_without_password_is_unchanged() {
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/app"),
            "postgres://postgres@127.0.0.1:5432/app"
        );
    }

    #[test]
    fn invalid_url_error_never_shows_the_password() {
        let err = DatabaseSettings::parse(DATABASE_URL, "postgres://app:hunter2@host:notaport/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("DATABASE_URL"), "{err}");
    }

    #[test]
    fn secrets_are_removed_from_library_messages() {
        let url = "postgres://app:p%40ss@host/db";
        let msg = format!("failed for {url} with password p@ss");
        let clean = redact_secrets_in(&msg, url);
        assert!(
            !clean.contains("p@ss") && !clean.contains("p%40ss"),
            "{clean}"
        );
    }
}
