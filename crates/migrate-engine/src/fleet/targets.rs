//! The databases of a fleet: one URL per line of a file (`#` comments), or the rows of a query;
//! each checked before anything runs, and a shard of them for one worker of many.

use std::{collections::HashMap, fmt, path::Path, str::FromStr};

use sqlx::{Connection, PgConnection, Row};

use crate::{
    error::{Error, ErrorKind, Result},
    settings::DatabaseSettings,
};

/// One database (or tenant schema) of the fleet.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where it came from: `targets.txt:7`, `row 7`.
    pub origin: String,
    /// How to connect.
    pub settings: DatabaseSettings,
    /// The URL with its password masked: how it is named in reports and logs.
    pub name: String,
}

impl Target {
    fn parse(origin: String, url: &str) -> Result<Self> {
        let settings = DatabaseSettings::parse("a fleet target", url)
            .map_err(|e| Error::new(ErrorKind::Config, format!("{origin}: {e}")))?;
        if settings.database_name().is_none() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{origin}: {} names no database: write it at the end of the URL (postgres://host/DATABASE)",
                    settings.redacted_url()
                ),
            ));
        }
        Ok(Self {
            origin,
            name: settings.redacted_url(),
            settings,
        })
    }

    /// Its host and port, for `--per-host`.
    pub fn host(&self) -> String {
        self.settings.host_and_port()
    }
}

/// The targets listed in `path`: one URL per line; blank lines and `#` comments (whole lines,
/// or after a space) are skipped. Every line is checked, and a repeated target refused.
pub fn from_file(path: &Path) -> Result<Vec<Target>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!("--targets {}: cannot read it: {e}", path.display()),
        )
    })?;
    let mut targets = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let url = match line.find(" #") {
            Some(comment) => &line[..comment],
            None => line,
        }
        .trim();
        if url.is_empty() || url.starts_with('#') {
            continue;
        }
        let origin = format!("{}:{}", path.display(), number + 1);
        targets.push(Target::parse(origin, url)?);
    }
    checked(targets, &format!("--targets {}", path.display()))
}

/// The targets `query` returns (one text column of URLs), run on `settings`' database.
pub async fn from_query(settings: &DatabaseSettings, query: &str) -> Result<Vec<Target>> {
    let mut conn = PgConnection::connect_with(&settings.connect_options("migrate fleet"))
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Connect,
                format!(
                    "--targets-sql: cannot connect with {} to run the query: {}",
                    settings.source,
                    settings.redact(&e.to_string())
                ),
            )
        })?;
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(query.to_owned()))
        .fetch_all(&mut conn)
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("--targets-sql: the query failed: {e}"),
            )
        })?;
    let _ = conn.close().await;
    let mut targets = Vec::new();
    for (number, row) in rows.iter().enumerate() {
        let origin = format!("row {}", number + 1);
        let url: String = row.try_get(0).map_err(|_| {
            Error::new(
                ErrorKind::Config,
                format!("--targets-sql: {origin} is not a URL: the query must return one text column of database URLs"),
            )
        })?;
        targets.push(Target::parse(origin, url.trim())?);
    }
    checked(targets, "--targets-sql")
}

/// `targets`, when there is at least one and none is listed twice.
fn checked(targets: Vec<Target>, from: &str) -> Result<Vec<Target>> {
    if targets.is_empty() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("{from} lists no database"),
        ));
    }
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for target in &targets {
        if let Some(first) = seen.insert(&target.name, &target.origin) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{} lists {} again, first at {first}: keep one",
                    target.origin, target.name
                ),
            ));
        }
    }
    Ok(targets)
}

/// `--shard I/N`: worker I (from 0) of N. A target's shard follows from its name alone, so
/// every target is in exactly one shard however the list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This worker, from 0.
    pub index: u32,
    /// How many workers share the fleet.
    pub count: u32,
}

impl Shard {
    /// Whether `target` is this shard's.
    pub fn holds(&self, target: &Target) -> bool {
        const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
        CRC.checksum(target.name.as_bytes()) % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(value: &str) -> std::result::Result<Self, String> {
        let bad = || {
            format!(
                "{value:?} is not I/N: a worker index from 0 and the number of workers, like 0/4 \
                 (in a Kubernetes Indexed Job: $(JOB_COMPLETION_INDEX)/N)"
            )
        };
        let (index, count) = value.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            index.trim().parse().map_err(|_| bad())?,
            count.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("targets.txt");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_file_lists_urls_with_comments_and_blank_lines() {
        let (_dir, path) = file(
            "# tenants\n\npostgres://app:s3cret@db1/tenant_1\n  postgres://db2:6432/tenant_2  # moved\n",
        );
        let targets = from_file(&path).unwrap();
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "postgres://app:***@db1/tenant_1",
                "postgres://db2:6432/tenant_2"
            ]
        );
        assert!(targets[0].origin.ends_with("targets.txt:3"));
        assert_eq!(targets[1].host(), "db2:6432");
    }

    #[test]
    fn bad_lists_are_refused_by_line_without_passwords() {
        let refused = |text: &str| {
            let (_dir, path) = file(text);
            from_file(&path).unwrap_err().lines().join("\n")
        };
        assert!(refused("# nothing\n").ends_with("lists no database"));
        let twice = refused("postgres://a:one@db/t1\npostgres://a:two@db/t1\n");
        assert!(
            twice.contains("targets.txt:2 lists ")
                && twice.contains("first at ")
                && twice.ends_with("targets.txt:1: keep one"),
            "{twice}"
        );
        assert!(
            !twice.contains("one@") && !twice.contains("two@"),
            "{twice}"
        );
        let bad = refused("postgres://db/t1\nmysql://u:pw@db/t2\n");
        assert!(
            bad.contains("targets.txt:2: ") && !bad.contains("pw@"),
            "{bad}"
        );
        assert!(refused("postgres://db\n").contains("names no database"));
    }

    #[test]
    fn shards_split_a_fleet_exactly() {
        let targets: Vec<Target> = (0..200)
            .map(|i| Target::parse(format!("row {i}"), &format!("postgres://db/t{i}")).unwrap())
            .collect();
        let shards: Vec<Shard> = (0..4).map(|i| format!("{i}/4").parse().unwrap()).collect();
        for target in &targets {
            assert_eq!(shards.iter().filter(|s| s.holds(target)).count(), 1);
        }
        for shard in &shards {
            let held = targets.iter().filter(|t| shard.holds(t)).count();
            assert!((25..=75).contains(&held), "shard {shard}: {held} of 200");
        }
        for bad in ["4/4", "1", "a/2", "0/0", "-1/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
