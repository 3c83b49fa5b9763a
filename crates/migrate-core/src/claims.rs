//! Which tables a run of migrations leaves behind, as far as their plain DDL says: what
//! `migrate baseline` checks before recording migrations it did not run. Tables made in
//! `DO` blocks or functions are not seen.

use std::collections::BTreeMap;

use crate::{set::Migration, sql_text};

/// The tables `migrations` (in order) leave in place, each with the version that created it.
/// Names are as written (quotes and schema included), ready for `to_regclass`.
pub fn claimed_tables<'m>(
    migrations: impl IntoIterator<Item = &'m Migration>,
) -> Vec<(String, i64)> {
    let mut tables: BTreeMap<String, (String, i64)> = BTreeMap::new();
    for migration in migrations {
        for statement in sql_text::statements(&migration.up.sql) {
            let words = sql_text::words(statement.text);
            let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
            let is = |i: usize, word: &str| upper.get(i).is_some_and(|w| w == word);
            let skip_if_exists = |i: usize| {
                if is(i, "IF") && is(i + 1, "EXISTS") {
                    i + 2
                } else {
                    i
                }
            };
            if is(0, "CREATE") {
                let mut i = 1;
                while ["GLOBAL", "LOCAL", "UNLOGGED"].iter().any(|w| is(i, w)) {
                    i += 1;
                }
                if is(i, "TEMP") || is(i, "TEMPORARY") || !is(i, "TABLE") {
                    continue;
                }
                i += 1;
                if is(i, "IF") && is(i + 1, "NOT") && is(i + 2, "EXISTS") {
                    i += 3;
                }
                if let Some(name) = words.get(i) {
                    tables.insert(key(name), (name.clone(), migration.version));
                }
            } else if is(0, "DROP") && is(1, "TABLE") {
                let mut i = skip_if_exists(2);
                while let Some(name) = words.get(i) {
                    tables.remove(&key(name));
                    if words.get(i + 1).map(String::as_str) != Some(",") {
                        break;
                    }
                    i += 2;
                }
            } else if is(0, "ALTER") && is(1, "TABLE") {
                let mut i = skip_if_exists(2);
                if is(i, "ONLY") {
                    i += 1;
                }
                if is(i + 1, "RENAME")
                    && is(i + 2, "TO")
                    && let (Some(old), Some(new)) = (words.get(i), words.get(i + 3))
                    && let Some((_, version)) = tables.remove(&key(old))
                {
                    // A renamed table keeps the old one's schema unless the new name says otherwise.
                    let new = match old.rsplit_once('.') {
                        Some((schema, _)) if !new.contains('.') => format!("{schema}.{new}"),
                        _ => new.clone(),
                    };
                    tables.insert(key(&new), (new, version));
                }
            }
        }
    }
    tables.into_values().collect()
}

/// Unquoted names fold to lower case, as PostgreSQL folds them.
fn key(name: &str) -> String {
    if name.contains('"') {
        name.to_owned()
    } else {
        name.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{name::Kind, set::Script};

    fn migration(version: i64, sql: &str) -> Migration {
        Migration {
            version,
            name: format!("m{version}"),
            kind: Kind::Up,
            up: Script {
                file: String::new(),
                sql: sql.to_owned(),
                no_transaction: false,
                controls_transactions: false,
            },
            down: None,
            checksum: Vec::new(),
        }
    }

    #[test]
    fn follows_creates_drops_and_renames() {
        let migrations = [
            migration(
                1,
                "CREATE TABLE users (id int);\nCREATE TABLE IF NOT EXISTS app.audit (x int);\nCREATE TEMP TABLE scratch (x int);",
            ),
            migration(
                2,
                "create unlogged table Cache (k text); DROP TABLE IF EXISTS old_a, old_b;",
            ),
            migration(
                3,
                "ALTER TABLE users RENAME TO accounts;\nALTER TABLE accounts ADD COLUMN email text;\nCREATE TABLE \"Mixed\" (id int);",
            ),
            migration(4, "DROP TABLE cache;"),
        ];
        let mut claimed = claimed_tables(&migrations);
        claimed.sort();
        assert_eq!(
            claimed,
            [
                ("\"Mixed\"".to_owned(), 3),
                ("accounts".to_owned(), 1),
                ("app.audit".to_owned(), 1)
            ]
        );
    }
}
