//! Migration files as sqlx reads them: what sqlx would skip or refuse stops everything before
//! `migrate` connects, one line each; what sqlx applies is applied, with a warning where due.

use crate::{MIGRATE, MigrateCommand};
use test_support::{Migrations, TestDb, run};

#[tokio::test]
async fn files_sqlx_would_skip_or_refuse_stop_everything_before_anything_changes() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[
        ("1_create_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("2-create-b.up.sql", "CREATE TABLE b (id int);\n"),
        ("v3_create_c.up.sql", "CREATE TABLE c (id int);\n"),
        ("6_first.up.sql", "SELECT 1;\n"),
        ("6_second.up.sql", "SELECT 2;\n"),
        ("README.md", "notes\n"),
    ]);
    let refused = run(db.migrate(Some(m.path())).arg("status"));
    refused.assert_code(1);
    let errors = refused.errors().join("\n");
    for expected in [
        "2-create-b.up.sql: is not a migration file name, so sqlx skips it without a word",
        "v3_create_c.up.sql: version `v3` is not a 64-bit integer, so sqlx refuses the whole directory",
        "version 6 is used by several files (6_first.up.sql, 6_second.up.sql)",
        "README.md: is not a migration file name",
    ] {
        assert!(
            errors.contains(expected),
            "missing {expected:?} in:\n{errors}"
        );
    }
    assert_eq!(refused.errors().len(), 4, "one line per problem:\n{errors}");
    run(db.migrate(Some(m.path())).arg("up")).assert_code(1);
    assert!(!db.table_exists("_sqlx_migrations").await);
    assert!(!db.table_exists("a").await);
}

#[tokio::test]
async fn files_sqlx_applies_are_applied_with_a_warning_each() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[
        ("1_create_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("3_crlf.up.sql", "CREATE TABLE c (id int);\r\n"),
        ("4_empty.up.sql", "-- nothing yet\n"),
        ("5_orphan.down.sql", "DROP TABLE x;\n"),
        ("8_commits.up.sql", "CREATE TABLE d (id int);\nCOMMIT;\n"),
        ("9_create_e.up.sql", "CREATE TABLE e (id int);\n"),
        ("9_create_f.down.sql", "DROP TABLE f;\n"),
    ]);
    let applied = run(db.migrate(Some(m.path())).arg("up"));
    applied.assert_code(0);
    for expected in [
        "3_crlf.up.sql: has CRLF line endings",
        "4_empty.up.sql: holds no SQL statement",
        "5_orphan.down.sql: has no up file, so it is never used",
        "8_commits.up.sql: line 2: `COMMIT` controls the transaction",
        "9_create_f.down.sql: does not match its up file 9_create_e.up.sql",
    ] {
        applied.assert_stderr_contains(expected);
    }
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
            .await,
        5,
        "1, 3, 4, 8 and 9, as sqlx would"
    );
    assert!(db.table_exists("d").await);
    let again = run(db.migrate(Some(m.path())).arg("up"));
    again.assert_stderr_contains("nothing to apply");
    assert!(
        !again.stderr.contains("CRLF"),
        "applied files are not warned about again:\n{}",
        again.stderr
    );
}

#[tokio::test]
async fn a_no_transaction_file_with_several_statements_is_warned_about_then_fails_as_with_sqlx() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[
        ("1_create_a.up.sql", "CREATE TABLE a (id int);\n"),
        (
            "2_two_indexes.up.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON a (id);\nCREATE INDEX CONCURRENTLY j ON a (id);\n",
        ),
    ]);
    let failed = run(db.migrate(Some(m.path())).arg("up"));
    failed.assert_code(1);
    failed.assert_stderr_contains(
        "2_two_indexes.up.sql: a `-- no-transaction` migration should hold exactly one statement, found 2 (lines 2, 3)",
    );
    failed.assert_stderr_contains(
        "25001 CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
    );
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
            .await,
        1
    );
}

#[test]
fn files_are_checked_before_connecting() {
    let m = Migrations::new(&[("1-bad.up.sql", "SELECT 1;\n")]);
    let refused = run(MIGRATE
        .command()
        .env(
            "MIGRATION_DATABASE_URL",
            "postgres://nobody:pw@127.0.0.1:1/none",
        )
        .arg("--source")
        .arg(m.path())
        .arg("up"));
    refused
        .assert_code(1)
        .assert_stderr_contains("1-bad.up.sql: is not a migration file name");
    assert!(
        !refused.stderr.contains("cannot reach"),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_missing_url_is_a_clear_error() {
    run(MIGRATE.command().arg("current"))
        .assert_code(1)
        .assert_stderr_contains("MIGRATION_DATABASE_URL (or DATABASE_URL) is not set");
}

#[tokio::test]
async fn passwords_never_reach_the_output() {
    let db = TestDb::new().await;
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_password(Some("hunter2secret")).unwrap();
    url.set_path("no_such_database");
    let failed = run(MIGRATE
        .command()
        .env("MIGRATION_DATABASE_URL", url.as_str())
        .args(["status", "--connect-timeout", "1s"]));
    failed.assert_code(1);
    assert!(
        !failed.stderr.contains("hunter2secret") && !failed.stdout.contains("hunter2secret"),
        "{}",
        failed.stderr
    );
    failed.assert_stderr_contains("database \"no_such_database\" does not exist on postgres://");
    failed.assert_stderr_contains(":***@");
}
