//! Production-shaped rows from a data-only dump (`pg_dump --data-only`, plain format). The
//! dump's own copy of the history table says which migrations its data was taken at: those
//! are applied first, then the data is loaded, then the rest is rehearsed on it.

use std::{
    collections::BTreeSet,
    fs::File,
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
};

use migrate_core::sql_text::{statements, words};
use sqlx::{Executor, PgConnection};

use crate::error::{Error, ErrorKind, Result};

/// COPY data is sent in chunks of about this many bytes.
const CHUNK: usize = 1 << 20;

/// A data-only dump to load.
#[derive(Debug, Clone)]
pub(crate) struct Dump {
    path: PathBuf,
}

/// What loading a dump did.
#[derive(Debug, Clone, Default)]
pub(crate) struct Copied {
    /// The tables it filled, as `regclass` prints them.
    pub tables: BTreeSet<String>,
    pub rows: u64,
}

impl Dump {
    /// Checks that `path` is a plain-format dump.
    pub fn open(path: &Path) -> Result<Self> {
        let mut magic = [0u8; 5];
        let read = File::open(path)
            .and_then(|mut f| f.read(&mut magic))
            .map_err(|e| invalid(path, &format!("cannot be read ({e})")))?;
        if &magic[..read] == b"PGDMP" {
            return Err(invalid(
                path,
                "is a custom-format dump; convert it with `pg_restore --data-only -f dump.sql FILE`, \
                 or dump with `pg_dump --data-only --format=plain`",
            ));
        }
        Ok(Self {
            path: path.to_owned(),
        })
    }

    /// The migrations the dump's copy of the history table (`history`, as SQL) holds as
    /// applied: version and checksum.
    pub async fn applied(
        &self,
        conn: &mut PgConnection,
        history: &str,
    ) -> Result<Vec<(i64, Vec<u8>)>> {
        let schema = current_schema(conn).await?;
        let mut applied = Vec::new();
        let mut columns: Option<[usize; 3]> = None;
        for line in self.lines()? {
            let line = line.map_err(|e| invalid(&self.path, &format!("cannot be read ({e})")))?;
            match (&columns, copy_statement(&line)) {
                (None, Some((table, names))) if same_table(&table, history, &schema) => {
                    let at = |name: &str| names.iter().position(|n| n == name);
                    let (Some(version), Some(success), Some(checksum)) =
                        (at("version"), at("success"), at("checksum"))
                    else {
                        return Err(invalid(
                            &self.path,
                            &format!("copies {table} without its version, success and checksum"),
                        ));
                    };
                    columns = Some([version, success, checksum]);
                }
                (Some(_), _) if line == "\\." => break,
                (Some([version, success, checksum]), _) => {
                    let fields: Vec<&str> = line.split('\t').collect();
                    if fields.get(*success) != Some(&"t") {
                        continue;
                    }
                    // bytea in COPY text: `\\x` and hex digits.
                    let checksum = fields
                        .get(*checksum)
                        .and_then(|c| hex::decode(c.strip_prefix("\\\\x")?).ok());
                    match (fields.get(*version).and_then(|v| v.parse().ok()), checksum) {
                        (Some(version), Some(checksum)) => applied.push((version, checksum)),
                        _ => {
                            return Err(invalid(
                                &self.path,
                                &format!("has a history row it cannot read: {line:?}"),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        if applied.is_empty() {
            return Err(invalid(
                &self.path,
                &format!(
                    "holds no applied rows of {history}, so it cannot say which migrations its data fits: dump \
                     the whole database (`pg_dump --data-only --format=plain`), history table included"
                ),
            ));
        }
        Ok(applied)
    }

    /// Loads every table but those `migrate` keeps (`owned`: the history table, whose rows the
    /// migrations just wrote, and the audit trail, the dumped database's own), in one
    /// transaction; psql meta-commands (`\restrict`) are skipped and the dump's settings reset
    /// afterwards.
    pub async fn load(&self, conn: &mut PgConnection, owned: &[String]) -> Result<Copied> {
        conn.execute("BEGIN").await?;
        let outcome = self.load_in(conn, owned).await;
        match outcome {
            Ok(loaded) => {
                conn.execute("COMMIT; RESET ALL").await?;
                Ok(loaded)
            }
            Err(e) => {
                conn.execute("ROLLBACK; RESET ALL").await?;
                Err(e)
            }
        }
    }

    async fn load_in(&self, conn: &mut PgConnection, owned: &[String]) -> Result<Copied> {
        let schema = current_schema(conn).await?;
        let mut loaded = Copied::default();
        let mut statements = String::new();
        let mut lines = self.lines()?;
        while let Some(line) = lines.next() {
            let line = line.map_err(|e| invalid(&self.path, &format!("cannot be read ({e})")))?;
            let Some((table, _)) = copy_statement(&line) else {
                if !line.starts_with('\\') {
                    statements += &line;
                    statements.push('\n');
                }
                continue;
            };
            run_statements(conn, &std::mem::take(&mut statements), owned).await?;
            let skip = owned.iter().any(|name| same_table(&table, name, &schema));
            if !skip {
                let name: String = sqlx::query_scalar("SELECT $1::regclass::text")
                    .bind(&table)
                    .fetch_one(&mut *conn)
                    .await?;
                loaded.tables.insert(name);
            }
            let mut copy = if skip {
                None
            } else {
                Some(conn.copy_in_raw(&line).await?)
            };
            let mut chunk = Vec::with_capacity(CHUNK);
            for line in lines.by_ref() {
                let line =
                    line.map_err(|e| invalid(&self.path, &format!("cannot be read ({e})")))?;
                if line == "\\." {
                    break;
                }
                chunk.extend_from_slice(line.as_bytes());
                chunk.push(b'\n');
                if chunk.len() >= CHUNK
                    && let Some(copy) = copy.as_mut()
                {
                    copy.send(std::mem::take(&mut chunk)).await?;
                }
            }
            if let Some(mut copy) = copy {
                copy.send(chunk).await?;
                loaded.rows += copy.finish().await.map_err(|e| {
                    Error::new(
                        ErrorKind::Failed,
                        format!("{}: loading {table} failed: {e}", self.path.display()),
                    )
                })?;
            }
        }
        run_statements(conn, &statements, owned).await?;
        Ok(loaded)
    }

    fn lines(&self) -> Result<std::io::Lines<BufReader<File>>> {
        let file = File::open(&self.path)
            .map_err(|e| invalid(&self.path, &format!("cannot be read ({e})")))?;
        Ok(BufReader::new(file).lines())
    }
}

/// Runs the dump's statements between its COPY blocks (settings, `setval`), one by one,
/// skipping a setting this server does not know (a newer pg_dump writes `SET
/// transaction_timeout`, which PostgreSQL 16 and older refuse).
async fn run_statements(conn: &mut PgConnection, text: &str, owned: &[String]) -> Result<()> {
    for statement in statements(text) {
        if let Some(sequence) = statement
            .text
            .split("setval('")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            && owned.iter().any(|table| owns(table, sequence))
        {
            continue; // the sequence of an audit table, whose rows are not loaded
        }
        if let [set, ..] = statement.keywords.as_slice()
            && set == "SET"
        {
            let name = words(statement.text).into_iter().nth(1).unwrap_or_default();
            let known: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = lower($1))",
            )
            .bind(&name)
            .fetch_one(&mut *conn)
            .await?;
            if !known {
                tracing::warn!(
                    "skipped `{}` from the dump: this server has no such setting",
                    statement.text
                );
                continue;
            }
        }
        conn.execute(sqlx::AssertSqlSafe(statement.text.to_owned()))
            .await?;
    }
    Ok(())
}

/// `COPY table (a, b) FROM stdin;` → the table and its columns.
fn copy_statement(line: &str) -> Option<(String, Vec<String>)> {
    let rest = line.strip_prefix("COPY ")?.strip_suffix(" FROM stdin;")?;
    let (table, columns) = rest.split_once(" (")?;
    let columns = columns.strip_suffix(')')?;
    Some((
        table.to_owned(),
        columns
            .split(", ")
            .map(|c| c.trim_matches('"').to_owned())
            .collect(),
    ))
}

/// A table's name, as SQL writes it, in its parts: `public."My Table"` → `public`, `My Table`.
fn parts(name: &str) -> Vec<String> {
    let (mut parts, mut part, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                part.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut part)),
            c if quoted => part.push(c),
            c => part.extend(c.to_lowercase()),
        }
    }
    parts.push(part);
    parts
}

/// Whether `sequence` (a dumped name) is one `table` (as configured) owns: `<table>_...`.
fn owns(table: &str, sequence: &str) -> bool {
    let (table, sequence) = (parts(table), parts(sequence));
    let (Some(table), Some(sequence)) = (table.last(), sequence.last()) else {
        return false;
    };
    sequence.starts_with(&format!("{table}_"))
}

/// Whether the dump's (qualified) `table` is `name` (qualified, or in `schema`).
fn same_table(table: &str, name: &str, schema: &str) -> bool {
    let mut name = parts(name);
    if name.len() == 1 {
        name.insert(0, schema.to_owned());
    }
    parts(table) == name
}

async fn current_schema(conn: &mut PgConnection) -> Result<String> {
    Ok(sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(conn)
        .await?)
}

fn invalid(path: &Path, what: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("--data {}: {what}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_table_is_found_however_it_is_written() {
        assert!(same_table(
            "public._sqlx_migrations",
            "_sqlx_migrations",
            "public"
        ));
        assert!(same_table(
            "tracking.\"Schema History\"",
            "tracking.\"Schema History\"",
            "public"
        ));
        assert!(same_table(
            "public._sqlx_migrations",
            "PUBLIC._SQLX_MIGRATIONS",
            "x"
        ));
        assert!(!same_table(
            "other._sqlx_migrations",
            "_sqlx_migrations",
            "public"
        ));
        assert!(!same_table(
            "public.\"_SQLX_MIGRATIONS\"",
            "_sqlx_migrations",
            "public"
        ));
    }

    #[test]
    fn copy_statements_name_their_table_and_columns() {
        let (table, columns) =
            copy_statement("COPY public.\"Odd\" (id, \"Name\") FROM stdin;").unwrap();
        assert_eq!(table, "public.\"Odd\"");
        assert_eq!(columns, ["id", "Name"]);
        assert!(copy_statement("SELECT 1;").is_none());
    }
}
