//! `sqlx.toml`, read as sqlx 0.9 reads it (`sqlx-core/src/config/migrate.rs`): the `[migrate]`
//! table decides where the history is kept, which schemas to create, which characters the
//! checksums ignore, and how new migrations are named. Unknown keys are an error (sqlx
//! refuses them too, except under `[migrate.defaults]`, where a typo would pass unseen).
//!
//! `[common]`, `[drivers]` and `[macros]` belong to sqlx's query macros; they are accepted as
//! they are.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

use serde::Deserialize;

/// The history table sqlx uses when `table-name` is not set.
pub const DEFAULT_TABLE: &str = "_sqlx_migrations";

/// The `[migrate]` configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Where the history is kept (`table-name`).
    pub table: TableName,
    /// Schemas created before migrating (`create-schemas`), as written.
    pub create_schemas: Vec<String>,
    /// Characters left out of checksums (`ignored-chars`).
    pub ignored_chars: BTreeSet<char>,
    /// The migrations directory (`migrations-dir`), relative to the crate for
    /// `sqlx::migrate!` and to the current directory for command-line tools.
    pub migrations_dir: Option<String>,
    pub defaults: Defaults,
    /// The file it came from; `None` for the defaults.
    pub path: Option<PathBuf>,
}

/// `[migrate.defaults]`: how `cargo xtask migrate-create` names and shapes new migrations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Defaults {
    pub migration_type: MigrationType,
    pub migration_versioning: Versioning,
}

/// `migration-type`: whether a new migration gets a down file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationType {
    /// Like the newest existing migration; a reversible pair when there is none.
    #[default]
    Inferred,
    Simple,
    Reversible,
}

/// `migration-versioning`: how a new migration's version is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Versioning {
    /// Sequential when the newest two versions are consecutive, else a timestamp.
    #[default]
    Inferred,
    Timestamp,
    Sequential,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct File {
    common: toml::Table,
    drivers: toml::Table,
    macros: toml::Table,
    migrate: Migrate,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
struct Migrate {
    create_schemas: BTreeSet<String>,
    table_name: Option<String>,
    migrations_dir: Option<String>,
    ignored_chars: BTreeSet<char>,
    defaults: Defaults,
}

impl Config {
    /// Reads `path`, which must exist.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = fs::read_to_string(path).map_err(|e| {
            format!(
                "{}: cannot read the sqlx configuration: {e}",
                path.display()
            )
        })?;
        Self::parse(&text, path)
    }

    /// Reads `path` when it exists, else the defaults.
    pub fn load_or_default(path: &Path) -> Result<Self, String> {
        if path.exists() {
            Self::load(path)
        } else {
            Ok(Self::default())
        }
    }

    /// Parses the text of a `sqlx.toml`; `path` names it in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| {
            let place = e
                .span()
                .map(|span| format!(" line {}", text[..span.start].matches('\n').count() + 1))
                .unwrap_or_default();
            let message = e.message().replace('\n', " ");
            format!("{}{place}: {message}", path.display())
        })?;
        let _ = (file.common, file.drivers, file.macros); // sqlx's own; not ours to judge
        let migrate = file.migrate;
        let table = match migrate.table_name {
            Some(name) => TableName::parse(&name)
                .map_err(|e| format!("{}: [migrate] table-name: {e}", path.display()))?,
            None => TableName::default(),
        };
        Ok(Self {
            table,
            create_schemas: migrate.create_schemas.into_iter().collect(),
            ignored_chars: migrate.ignored_chars,
            migrations_dir: migrate.migrations_dir,
            defaults: migrate.defaults,
            path: Some(path.to_owned()),
        })
    }

    /// The migrations directory, relative to `base`: `migrations-dir`, else `migrations`.
    pub fn migrations_dir_in(&self, base: &Path) -> PathBuf {
        base.join(self.migrations_dir.as_deref().unwrap_or("migrations"))
    }
}

/// The history table's name as configured: as sqlx writes it into its SQL, optionally
/// schema-qualified and quoted (`tracking."Schema History"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    raw: String,
    /// Where the schema part ends in `raw` (the position of the `.`), when qualified.
    dot: Option<usize>,
}

impl Default for TableName {
    fn default() -> Self {
        Self {
            raw: DEFAULT_TABLE.to_owned(),
            dot: None,
        }
    }
}

impl TableName {
    /// `name` or `schema.name`, each part an identifier, bare or in double quotes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let (mut start, mut quoted) = (0, false);
        for (i, c) in text.char_indices() {
            match c {
                '"' => quoted = !quoted,
                '.' if !quoted => {
                    parts.push(start..i);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(start..text.len());
        let well_formed = |part: &str| {
            if let Some(inner) = part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                !inner.is_empty() && !inner.replace("\"\"", "").contains('"')
            } else {
                let mut chars = part.chars();
                chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                    && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
            }
        };
        if quoted || parts.len() > 2 || !parts.iter().all(|p| well_formed(&text[p.clone()])) {
            return Err(format!(
                "`{text}` is not a table name; write `name` or `schema.name` (quote a part with \"...\")"
            ));
        }
        Ok(Self {
            raw: text.to_owned(),
            dot: (parts.len() == 2).then(|| parts[0].end),
        })
    }

    /// The name as written, for SQL text (sqlx interpolates it as it is).
    pub fn as_sql(&self) -> &str {
        &self.raw
    }

    /// The schema part as written, when the name is qualified.
    pub fn schema(&self) -> Option<&str> {
        self.dot.map(|dot| &self.raw[..dot])
    }

    /// Another table beside this one: `name` in the same schema, as written.
    pub fn sibling(&self, name: &str) -> String {
        match self.schema() {
            Some(schema) => format!("{schema}.{name}"),
            None => name.to_owned(),
        }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("sqlx.toml"))
    }

    #[test]
    fn every_migrate_key_is_read() {
        let config = parse(
            "[common]\ndatabase-url-var = \"X\"\n[migrate]\ntable-name = \"tracking.history\"\n\
             create-schemas = [\"tracking\"]\nignored-chars = [\"\\r\", \"\\uFEFF\"]\nmigrations-dir = \"db/migrations\"\n\
             [migrate.defaults]\nmigration-type = \"simple\"\nmigration-versioning = \"sequential\"\n",
        )
        .unwrap();
        assert_eq!(config.table.as_sql(), "tracking.history");
        assert_eq!(config.table.schema(), Some("tracking"));
        assert_eq!(config.table.sibling("audit"), "tracking.audit");
        assert_eq!(config.create_schemas, ["tracking"]);
        assert_eq!(config.ignored_chars, BTreeSet::from(['\r', '\u{FEFF}']));
        assert_eq!(config.migrations_dir.as_deref(), Some("db/migrations"));
        assert_eq!(config.defaults.migration_type, MigrationType::Simple);
        assert_eq!(config.defaults.migration_versioning, Versioning::Sequential);
    }

    #[test]
    fn an_empty_file_means_sqlx_s_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config.table.as_sql(), DEFAULT_TABLE);
        assert_eq!(config.table.schema(), None);
        assert_eq!(config.defaults, Defaults::default());
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let err = parse("[migrate]\n\ntable_name = \"x\"\n").unwrap_err();
        assert!(
            err.starts_with("sqlx.toml line 3: unknown field `table_name`"),
            "{err}"
        );
        let err = parse("[migrate.defaults]\nmigration-typ = \"simple\"\n").unwrap_err();
        assert!(err.contains("unknown field `migration-typ`"), "{err}");
        let err = parse("[migrations]\n").unwrap_err();
        assert!(err.contains("unknown field `migrations`"), "{err}");
        let err = parse("[migrate.defaults]\nmigration-type = \"both\"\n").unwrap_err();
        assert!(err.contains("unknown variant `both`"), "{err}");
    }

    #[test]
    fn table_names_may_be_qualified_and_quoted() {
        let name = TableName::parse("\"My Schema\".\"My.History\"").unwrap();
        assert_eq!(name.schema(), Some("\"My Schema\""));
        assert_eq!(name.sibling("runs"), "\"My Schema\".runs");
        for bad in ["a.b.c", "", "a.", "\"open", "1abc", "a b"] {
            assert!(TableName::parse(bad).is_err(), "{bad}");
        }
    }
}
