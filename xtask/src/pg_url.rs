//! `postgres://` URLs, parsed just enough to redact them for logs, to tell whether they point
//! at this machine, and to hand libpq tools (psql, pg_dump) their connection through `PG*`
//! environment variables, so that no password shows up in a logged command line.

use std::fmt;

use anyhow::{Context, bail};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgUrl {
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    /// Query parameters, e.g. `sslmode=disable`, kept as given.
    pub params: Vec<(String, String)>,
}

impl PgUrl {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .context("a database URL must start with postgres:// or postgresql://")?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (user_info, host_port) = match authority.rsplit_once('@') {
            Some((info, host)) => (Some(info), host),
            None => (None, authority),
        };
        let (user, password) = match user_info.map(|i| i.split_once(':').unwrap_or((i, ""))) {
            Some((user, password)) => (
                Some(decode(user)?).filter(|u| !u.is_empty()),
                Some(decode(password)?).filter(|p| !p.is_empty()),
            ),
            None => (None, None),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host_port.starts_with('[') => {
                let port = port
                    .parse()
                    .with_context(|| format!("`{port}` is not a port number"))?;
                (host, Some(port))
            }
            _ => (host_port, None),
        };
        let params = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                Ok((decode(k)?, decode(v)?))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            user,
            password,
            host: Some(decode(host)?).filter(|h| !h.is_empty()),
            port,
            database: Some(decode(path)?).filter(|d| !d.is_empty()),
            params,
        })
    }

    /// The same server and credentials, another database.
    pub fn with_database(&self, database: &str) -> Self {
        Self {
            database: Some(database.to_owned()),
            ..self.clone()
        }
    }

    /// The same server and database, other credentials.
    pub fn with_user(&self, user: &str, password: &str) -> Self {
        Self {
            user: Some(user.to_owned()),
            password: Some(password.to_owned()),
            ..self.clone()
        }
    }

    /// Whether the host is this machine (a loopback name or address, or a Unix socket).
    pub fn is_local(&self) -> bool {
        match self.host.as_deref() {
            None => true,
            Some(host) => {
                host.starts_with('/')
                    || matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]")
                    || host.starts_with("127.")
                    || self
                        .params
                        .iter()
                        .any(|(k, v)| k == "host" && v.starts_with('/'))
            }
        }
    }

    /// `PG*` variables for psql and pg_dump.
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let mut env = Vec::new();
        let mut push = |key, value: &Option<String>| {
            if let Some(value) = value {
                env.push((key, value.clone()));
            }
        };
        push("PGHOST", &self.host);
        push("PGPORT", &self.port.map(|p| p.to_string()));
        push("PGUSER", &self.user);
        push("PGPASSWORD", &self.password);
        push("PGDATABASE", &self.database);
        for (key, value) in &self.params {
            let var = match key.as_str() {
                "host" => "PGHOST",
                "port" => "PGPORT",
                "user" => "PGUSER",
                "password" => "PGPASSWORD",
                "dbname" => "PGDATABASE",
                "sslmode" => "PGSSLMODE",
                "sslrootcert" => "PGSSLROOTCERT",
                "options" => "PGOPTIONS",
                "application_name" => "PGAPPNAME",
                _ => continue,
            };
            env.push((var, value.clone()));
        }
        env
    }

    pub fn redacted(&self) -> String {
        self.render(true)
    }

    fn render(&self, redact: bool) -> String {
        let mut out = String::from("postgres://");
        if let Some(user) = &self.user {
            out += &encode(user);
            if self.password.is_some() {
                out += if redact { ":***" } else { ":" };
                if !redact {
                    out += &encode(self.password.as_deref().unwrap_or_default());
                }
            }
            out.push('@');
        }
        out += &self.host.as_deref().map(encode).unwrap_or_default();
        if let Some(port) = self.port {
            out += &format!(":{port}");
        }
        out.push('/');
        out += &self.database.as_deref().map(encode).unwrap_or_default();
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| {
                let v = if redact && k == "password" {
                    "***".to_owned()
                } else {
                    encode(v)
                };
                format!("{}={v}", encode(k))
            })
            .collect();
        if !params.is_empty() {
            out += &format!("?{}", params.join("&"));
        }
        out
    }
}

/// The full URL, password included: for child processes' environments, never for printing.
impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

fn decode(text: &str) -> anyhow::Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .context("a `%` in the URL is not followed by two hex digits")?;
            out.push(
                u8::from_str_radix(hex, 16)
                    .with_context(|| format!("`%{hex}` is not a valid escape"))?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    match String::from_utf8(out) {
        Ok(s) => Ok(s),
        Err(_) => bail!("the URL decodes to invalid UTF-8"),
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_url() {
        let url =
            PgUrl::parse("postgres://app:p%40ss@db.internal:6543/app?sslmode=require").unwrap();
        assert_eq!(url.user.as_deref(), Some("app"));
        assert_eq!(url.password.as_deref(), Some("p@ss"));
        assert_eq!(url.host.as_deref(), Some("db.internal"));
        assert_eq!(url.port, Some(6543));
        assert_eq!(url.database.as_deref(), Some("app"));
        assert!(!url.is_local());
        assert_eq!(
            url.to_string(),
            "postgres://app:p%40ss@db.internal:6543/app?sslmode=require"
        );
    }

    #[test]
    fn redaction_hides_every_password() {
        let url = PgUrl::parse("postgresql://app:hunter2@localhost/app?password=hunter3").unwrap();
        let shown = url.redacted();
        assert!(!shown.contains("hunter"), "{shown}");
        assert!(url.is_local());
    }

    #[test]
    fn libpq_env_carries_the_connection() {
        let url = PgUrl::parse("postgres://u:pw@127.0.0.1:5433/db?sslmode=disable").unwrap();
        let env = url.libpq_env();
        assert!(env.contains(&("PGPASSWORD", "pw".to_owned())));
        assert!(env.contains(&("PGPORT", "5433".to_owned())));
        assert!(env.contains(&("PGSSLMODE", "disable".to_owned())));
    }

    #[test]
    fn socket_hosts_are_local() {
        assert!(
            PgUrl::parse("postgres:///app?host=/var/run/postgresql")
                .unwrap()
                .is_local()
        );
        assert!(PgUrl::parse("postgres://postgres@/app").unwrap().is_local());
    }

    #[test]
    fn bad_urls_are_refused() {
        assert!(PgUrl::parse("mysql://x").is_err());
        assert!(PgUrl::parse("postgres://h:notaport/db").is_err());
    }
}
