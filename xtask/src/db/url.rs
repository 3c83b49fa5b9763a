//! A `postgres://` URL as the tooling handles it: parsed by the `url` crate, printed through the
//! engine's one redaction rule, and handed to libpq tools (psql, pg_dump) in `PG*` variables,
//! never on a command line.

use std::fmt;

use anyhow::{Context, bail};
use migrate_core::redact::redact_url;
use percent_encoding::percent_decode_str;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgUrl(url::Url);

impl PgUrl {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let url =
            url::Url::parse(text).with_context(|| format!("{} is not a URL", redact_url(text)))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            bail!("a database URL must start with postgres:// or postgresql://");
        }
        Ok(Self(url))
    }

    /// The database, decoded.
    pub fn database(&self) -> Option<String> {
        Some(decode(self.0.path().trim_start_matches('/'))).filter(|d| !d.is_empty())
    }

    pub fn host(&self) -> Option<&str> {
        self.0.host_str().filter(|h| !h.is_empty())
    }

    /// The same server and credentials, another database.
    pub fn with_database(&self, database: &str) -> Self {
        let mut url = self.0.clone();
        url.set_path(database);
        Self(url)
    }

    /// The same server and database, other credentials.
    pub fn with_user(&self, user: &str, password: &str) -> Self {
        let mut url = self.0.clone();
        let _ = url.set_username(user);
        let _ = url.set_password(Some(password));
        Self(url)
    }

    /// The server's TCP address (port 5432 unless the URL says), resolved; none for a Unix
    /// socket.
    pub fn tcp_address(&self) -> anyhow::Result<std::net::SocketAddr> {
        use std::net::ToSocketAddrs;
        let socket = self
            .params()
            .any(|(k, v)| k == "host" && v.starts_with('/'));
        let Some(host) = self.host().filter(|_| !socket) else {
            bail!(
                "{} is reached through a Unix socket, not TCP",
                self.redacted()
            );
        };
        let port = self.0.port().unwrap_or(5432);
        (host.trim_matches(['[', ']']), port)
            .to_socket_addrs()?
            .next()
            .with_context(|| format!("{host} resolves to no address"))
    }

    /// The same database and credentials, through `127.0.0.1:port` (a proxy).
    pub fn via_local_port(&self, port: u16) -> Self {
        let mut url = self.0.clone();
        let _ = url.set_host(Some("127.0.0.1"));
        let _ = url.set_port(Some(port));
        Self(url)
    }

    /// Whether the server is this machine (a loopback name or address, or a Unix socket).
    pub fn is_local(&self) -> bool {
        let socket = self
            .params()
            .any(|(k, v)| k == "host" && v.starts_with('/'));
        socket
            || match self.host() {
                None => true,
                Some(host) => {
                    host == "localhost"
                        || host == "[::1]"
                        || host == "::1"
                        || host.starts_with("127.")
                }
            }
    }

    /// `PG*` variables for psql and pg_dump.
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let mut env = Vec::new();
        if let Some(host) = self.host() {
            env.push((
                "PGHOST",
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned(),
            ));
        }
        if let Some(port) = self.0.port() {
            env.push(("PGPORT", port.to_string()));
        }
        if !self.0.username().is_empty() {
            env.push(("PGUSER", decode(self.0.username())));
        }
        if let Some(password) = self.0.password() {
            env.push(("PGPASSWORD", decode(password)));
        }
        if let Some(database) = self.database() {
            env.push(("PGDATABASE", database));
        }
        for (key, value) in self.params() {
            let var = match key.as_str() {
                "host" => "PGHOST",
                "port" => "PGPORT",
                "user" => "PGUSER",
                "password" => "PGPASSWORD",
                "dbname" => "PGDATABASE",
                "sslmode" => "PGSSLMODE",
                "sslrootcert" => "PGSSLROOTCERT",
                "sslcert" => "PGSSLCERT",
                "sslkey" => "PGSSLKEY",
                "sslpassword" => continue, // libpq has no variable for it
                "options" => "PGOPTIONS",
                "application_name" => "PGAPPNAME",
                _ => continue,
            };
            env.push((var, value));
        }
        env
    }

    /// Safe to print: every password masked.
    pub fn redacted(&self) -> String {
        redact_url(self.0.as_str())
    }

    fn params(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.0
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
    }
}

/// The full URL, passwords included: for child processes' environments, never for printing.
impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_url_is_understood() {
        let url =
            PgUrl::parse("postgres://app:p%40ss@db.internal:6543/app?sslmode=require").unwrap();
        let env = url.libpq_env();
        for expected in [
            ("PGHOST", "db.internal"),
            ("PGPORT", "6543"),
            ("PGUSER", "app"),
            ("PGPASSWORD", "p@ss"),
            ("PGDATABASE", "app"),
            ("PGSSLMODE", "require"),
        ] {
            assert!(
                env.contains(&(expected.0, expected.1.to_owned())),
                "{expected:?} in {env:?}"
            );
        }
        assert!(!url.is_local());
        assert_eq!(
            url.to_string(),
            "postgres://app:p%40ss@db.internal:6543/app?sslmode=require"
        );
    }

    #[test]
    fn every_password_is_masked() {
        let url = PgUrl::parse(
            "postgresql://app:hunter2@localhost/app?password=hunter3&sslpassword=hunter4",
        )
        .unwrap();
        let shown = url.redacted();
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(url.is_local());
        let other = url.with_user("m", "secret").with_database("other");
        assert_eq!(other.database().as_deref(), Some("other"));
        assert!(!other.redacted().contains("secret"));
    }

    #[test]
    fn socket_hosts_are_local() {
        assert!(
            PgUrl::parse("postgres:///app?host=/var/run/postgresql")
                .unwrap()
                .is_local()
        );
    }

    #[test]
    fn bad_urls_are_refused() {
        assert!(PgUrl::parse("mysql://x").is_err());
        assert!(PgUrl::parse("postgres://h:notaport/db").is_err());
    }
}
