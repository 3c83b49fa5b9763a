//! `sqlx-prepare` and `sqlx-check`: the offline query data in `.sqlx/`, which lets the workspace
//! build with `SQLX_OFFLINE=true` and no database.
//!
//! The query macros write that data themselves when they expand online with
//! `SQLX_OFFLINE_DIR` set, so no sqlx-cli is needed: build against a scratch database holding
//! the migrated schema, collect what the macros wrote, compare or replace.
//!
//! The scratch schema comes from psql applying the up files, not from the app's `migrate`:
//! when a query changes, the app (migrate included) does not compile offline until this
//! command has run. The scratch database is a compile-time fixture, dropped afterwards; every
//! real database is migrated by `migrate`.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use migrate_core::{MigrationSet, history};
use pg_cluster::process;
use walkdir::WalkDir;
use xshell::{Cmd, Shell, cmd};

use crate::{
    db::{Server, scratch::ScratchDb},
    project_config, project_root, target_dir,
};

/// The crates whose queries are checked at compile time.
const QUERY_CRATES: [&str; 2] = ["app", "crates/migrate-engine"];

/// `cargo check` of the crates that hold query macros.
pub fn check_query_crates(sh: &Shell) -> Cmd<'_> {
    cmd!(
        sh,
        "cargo check --package app --package migrate-engine --lib --bins"
    )
}

/// Compares `.sqlx/` with the query data the macros wrote to `fresh`; fails naming every
/// query that differs.
pub fn check(fresh: &Path) -> anyhow::Result<()> {
    let diff = compare(&project_root().join(".sqlx"), fresh)?;
    if diff.is_clean() {
        eprintln!(".sqlx/ is up to date");
        return Ok(());
    }
    for (what, files) in [
        ("missing (a query has no offline data)", &diff.missing),
        ("stale (the query's data changed)", &diff.stale),
        ("leftover (no query uses it)", &diff.leftover),
    ] {
        for (file, query) in files {
            eprintln!("{what}: .sqlx/{file}: {query}");
        }
    }
    bail!(
        ".sqlx/ does not match the code's queries; run `cargo xtask sqlx-prepare` and commit .sqlx/"
    )
}

/// Runs `cargo` (a check, or clippy, that compiles the query crates) with the query macros
/// online against a scratch database holding the migrated schema; returns the directory the
/// macros wrote their data to. `cargo xtask ci` has clippy do this, rather than compile the
/// crates once more: the variables that switch the macros online change every crate's
/// fingerprint.
pub fn expand_online(cargo: Cmd<'_>) -> anyhow::Result<PathBuf> {
    let db = Server::scratch()?;
    let scratch = ScratchDb::create(&db, "sqlx")?;
    apply_migrations(&db, &scratch)?;

    let out = target_dir().join("sqlx-offline-data");
    if out.exists() {
        fs::remove_dir_all(&out)?;
    }
    fs::create_dir_all(&out)?;
    // The macros do not tell cargo which variables they read: touch the sources so that
    // they expand again, now online.
    for crate_dir in QUERY_CRATES {
        for entry in WalkDir::new(project_root().join(crate_dir).join("src")) {
            let entry = entry?;
            if entry.path().extension().is_some_and(|e| e == "rs") {
                fs::File::options()
                    .append(true)
                    .open(entry.path())?
                    .set_modified(std::time::SystemTime::now())?;
            }
        }
    }
    let check = cargo
        .env("SQLX_OFFLINE", "false")
        .env("DATABASE_URL", scratch.url.to_string())
        .env("SQLX_OFFLINE_DIR", &out);
    process::run(check).context(
        "the build failed: see above (a query that does not fit the migrated schema fails it too)",
    )?;
    Ok(out)
}

/// The schema the queries are checked against: every up migration applied with psql, then
/// sqlx's history table (the engine's queries read it).
fn apply_migrations(db: &Server, scratch: &ScratchDb<'_>) -> anyhow::Result<()> {
    let config = project_config()?;
    let set = MigrationSet::from_dir(&project_root().join("migrations"), config.clone())?;
    eprintln!(
        "applying {} migrations with psql to the scratch database {}, then sqlx's history table",
        set.len(),
        scratch.name
    );
    for migration in set.iter() {
        let mut psql = db.psql(&scratch.url);
        if !migration.up.no_transaction {
            psql.arg("--single-transaction");
        }
        psql.args(["-f", "-"]);
        process::check(
            process::pipe(psql, &migration.up.sql)?,
            &set.path_of(&migration.up),
        )?;
    }
    let mut psql = db.psql(&scratch.url);
    psql.args(["-f", "-"]);
    process::check(
        process::pipe(psql, &history::create_table(config.table.as_sql()))?,
        "the history table",
    )?;
    Ok(())
}

#[derive(Default)]
pub struct Diff {
    pub missing: Vec<(String, String)>,
    pub stale: Vec<(String, String)>,
    pub leftover: Vec<(String, String)>,
}

impl Diff {
    fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.stale.is_empty() && self.leftover.is_empty()
    }
}

/// Compares the committed data with freshly generated data, file by file.
pub fn compare(committed: &Path, fresh: &Path) -> anyhow::Result<Diff> {
    let read = |dir: &Path| -> anyhow::Result<BTreeMap<String, String>> {
        let mut files = BTreeMap::new();
        if dir.exists() {
            for entry in fs::read_dir(dir)? {
                let entry = entry?;
                files.insert(
                    entry.file_name().to_string_lossy().into_owned(),
                    fs::read_to_string(entry.path())?,
                );
            }
        }
        Ok(files)
    };
    let (old, new) = (read(committed)?, read(fresh)?);
    let mut diff = Diff::default();
    for (file, text) in &new {
        match old.get(file) {
            None => diff.missing.push((file.clone(), query_of(text))),
            Some(old_text) if old_text != text => diff.stale.push((file.clone(), query_of(text))),
            Some(_) => {}
        }
    }
    for (file, text) in &old {
        if !new.contains_key(file) {
            diff.leftover.push((file.clone(), query_of(text)));
        }
    }
    Ok(diff)
}

/// The start of the query text recorded in a data file, to name the query in messages.
fn query_of(json: &str) -> String {
    let data: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let query = data["query"].as_str().unwrap_or("?");
    let query: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
    if query.chars().count() > 90 {
        format!("{}...", query.chars().take(90).collect::<String>())
    } else {
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_names_missing_stale_and_leftover_queries() {
        let base = std::env::temp_dir().join(format!("sqlx-compare-{}", std::process::id()));
        let (committed, fresh) = (base.join("committed"), base.join("fresh"));
        for dir in [&committed, &fresh] {
            fs::create_dir_all(dir).unwrap();
        }
        let data = |query: &str, nullable: bool| {
            format!(
                "{{\n  \"db_name\": \"PostgreSQL\",\n  \"query\": \"{query}\",\n  \"nullable\": [{nullable}]\n}}"
            )
        };
        fs::write(committed.join("query-same.json"), data("SELECT 1", false)).unwrap();
        fs::write(fresh.join("query-same.json"), data("SELECT 1", false)).unwrap();
        fs::write(
            committed.join("query-stale.json"),
            data("SELECT name FROM t", false),
        )
        .unwrap();
        fs::write(
            fresh.join("query-stale.json"),
            data("SELECT name FROM t", true),
        )
        .unwrap();
        fs::write(
            fresh.join("query-new.json"),
            data("SELECT id\\n FROM jobs", false),
        )
        .unwrap();
        fs::write(
            committed.join("query-old.json"),
            data("DELETE FROM gone", false),
        )
        .unwrap();

        let diff = compare(&committed, &fresh).unwrap();
        fs::remove_dir_all(&base).unwrap();
        assert_eq!(
            diff.missing,
            [(
                "query-new.json".to_owned(),
                "SELECT id FROM jobs".to_owned()
            )]
        );
        assert_eq!(
            diff.stale,
            [(
                "query-stale.json".to_owned(),
                "SELECT name FROM t".to_owned()
            )]
        );
        assert_eq!(
            diff.leftover,
            [("query-old.json".to_owned(), "DELETE FROM gone".to_owned())]
        );
        assert!(!diff.is_clean());
    }
}
