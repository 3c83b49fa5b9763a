//! Projects as sqlx users have them (`tests/fixtures/sqlx/<case>/`: migrations, maybe a
//! `sqlx.toml`): version 0, simple and reversible files mixed, hyphens, dots and non-ASCII
//! letters in names, a `-- no-transaction` file, CRLF files with `ignored-chars`, a
//! schema-qualified history table. For each, `migrate` and sqlx's own `Migrator` (the code of
//! `sqlx migrate run`) write the same history rows, and each accepts the other's history.

use std::path::{Path, PathBuf};

use sqlx::{
    _unstable::config::Config as SqlxConfig,
    migrate::{Migrator, ResolveWith},
};
use test_support::{TestDb, run};

use crate::migrate_at;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sqlx");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 3, "{cases:?}");
    cases
}

/// `migrate` on `db`, reading the case's migrations and `sqlx.toml`.
fn migrate(db: &TestDb, case: &Path) -> std::process::Command {
    let mut command = migrate_at(&db.url, Some(&case.join("migrations")));
    let config = case.join("sqlx.toml");
    if config.exists() {
        command.arg("--config").arg(config);
    }
    command
}

/// sqlx's `Migrator` for the case, configured as sqlx-cli configures it from `sqlx.toml`.
async fn sqlx_migrator(case: &Path, config: &SqlxConfig) -> Migrator {
    let source = ResolveWith(case.join("migrations"), config.migrate.to_resolve_config());
    let mut migrator = Migrator::new(source).await.unwrap();
    migrator.dangerous_set_table_name(config.migrate.table_name().to_owned());
    for schema in &config.migrate.create_schemas {
        migrator.create_schema(schema.to_string());
    }
    migrator
}

type Row = (i64, String, bool, Vec<u8>);

async fn history(
    db: &TestDb,
    table: &str,
) -> (Vec<Row>, Vec<(String, String, String, Option<String>)>) {
    let mut conn = db.connect().await;
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT version, description, success, checksum FROM {table} ORDER BY version"
    )))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let columns = sqlx::query_as(
        "SELECT column_name::text, data_type::text, is_nullable::text, column_default::text \
         FROM information_schema.columns WHERE (table_schema || '.' || table_name)::regclass = to_regclass($1) \
         ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    (rows, columns)
}

#[tokio::test]
#[expect(
    clippy::disallowed_methods,
    reason = "the test compares with sqlx's own migrator"
)]
async fn each_fixture_gets_sqlx_s_own_history_and_each_tool_accepts_the_other_s() {
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let config_path = case.join("sqlx.toml");
        let sqlx_config = SqlxConfig::try_from_path_or_default(config_path.clone()).unwrap();
        let ours = migrate_core::Config::load_or_default(&config_path).unwrap();
        assert_eq!(
            ours.table.as_sql(),
            sqlx_config.migrate.table_name(),
            "{name}"
        );
        assert_eq!(
            ours.ignored_chars, sqlx_config.migrate.ignored_chars,
            "{name}"
        );
        let schemas: Vec<String> = sqlx_config
            .migrate
            .create_schemas
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(ours.create_schemas, schemas, "{name}");
        if ours.ignored_chars.contains(&'\r') {
            let has_crlf = std::fs::read_dir(case.join("migrations"))
                .unwrap()
                .any(|f| std::fs::read(f.unwrap().path()).unwrap().contains(&b'\r'));
            assert!(has_crlf, "{name}: no CRLF file left: see .gitattributes");
        }
        let table = ours.table.as_sql();

        let (by_migrate, by_sqlx) = (TestDb::new().await, TestDb::new().await);
        run(migrate(&by_migrate, &case).arg("up")).assert_code(0);
        let migrator = sqlx_migrator(&case, &sqlx_config).await;
        migrator.run(&mut by_sqlx.connect().await).await.unwrap();

        let ours = history(&by_migrate, table).await;
        assert!(ours.0.len() >= 2 && ours.1.len() == 6, "{name}: {ours:?}");
        assert_eq!(
            ours,
            history(&by_sqlx, table).await,
            "{name}: rows and table as sqlx writes them"
        );
        assert_eq!(
            by_migrate.schema_fingerprint().await,
            by_sqlx.schema_fingerprint().await,
            "{name}"
        );

        // Each accepts the other's history: nothing to do, nothing changed.
        run(migrate(&by_sqlx, &case).arg("verify")).assert_code(0);
        run(migrate(&by_sqlx, &case).arg("up"))
            .assert_code(0)
            .assert_stderr_contains("nothing to apply");
        migrator.run(&mut by_migrate.connect().await).await.unwrap();
        assert_eq!(history(&by_migrate, table).await, ours, "{name}");
    }
}
