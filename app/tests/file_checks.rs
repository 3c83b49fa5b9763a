//! Bad migration files are refused before `migrate` connects, one line each, and nothing changes.

mod support;

use support::{Migrations, TestDb, app_command, run};

#[tokio::test]
async fn every_bad_file_is_reported_and_the_database_is_untouched() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[
        ("1_create_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("2-create-b.up.sql", "CREATE TABLE b (id int);\n"),
        ("3_crlf.up.sql", "CREATE TABLE c (id int);\r\n"),
        ("4_empty.up.sql", "-- nothing yet\n"),
        ("5_orphan.down.sql", "DROP TABLE x;\n"),
        ("6_first.up.sql", "SELECT 1;\n"),
        ("6_second.up.sql", "SELECT 2;\n"),
        (
            "7_two_indexes.up.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON a (id);\nCREATE INDEX CONCURRENTLY j ON a (id);\n",
        ),
        ("8_commits.up.sql", "CREATE TABLE d (id int);\nCOMMIT;\n"),
        ("9_create_e.up.sql", "CREATE TABLE e (id int);\n"),
        ("9_create_f.down.sql", "DROP TABLE f;\n"),
    ]);
    let refused = run(db.migrate(Some(m.path())).arg("up"));
    refused.assert_code(1);
    let errors = refused.errors().join("\n");
    for expected in [
        "2-create-b.up.sql: no `_` between version and name",
        "3_crlf.up.sql: has CRLF line endings",
        "4_empty.up.sql: holds no SQL statement",
        "5_orphan.down.sql: has no matching up file",
        "version 6 is used by several files (6_first.up.sql, 6_second.up.sql)",
        "7_two_indexes.up.sql: a `-- no-transaction` migration must hold exactly one statement, found 2 (lines 2, 3)",
        "8_commits.up.sql: line 2: `COMMIT` controls the transaction",
        "9_create_f.down.sql: does not match its up file 9_create_e.up.sql",
    ] {
        assert!(
            errors.contains(expected),
            "missing {expected:?} in:\n{errors}"
        );
    }
    assert_eq!(refused.errors().len(), 8, "one line per problem:\n{errors}");
    assert!(!db.table_exists("_sqlx_migrations").await);
    assert!(!db.table_exists("a").await);
}

#[test]
fn files_are_checked_before_connecting() {
    let m = Migrations::new(&[("1-bad.up.sql", "SELECT 1;\n")]);
    let refused = run(app_command("migrate")
        .env(
            "MIGRATION_DATABASE_URL",
            "postgres://nobody:pw@127.0.0.1:1/none",
        )
        .arg("--source")
        .arg(m.path())
        .arg("up"));
    refused
        .assert_code(1)
        .assert_stderr_contains("1-bad.up.sql: no `_`");
    assert!(
        !refused.stderr.contains("cannot reach"),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_missing_url_is_a_clear_error() {
    run(app_command("migrate").arg("current"))
        .assert_code(1)
        .assert_stderr_contains("MIGRATION_DATABASE_URL (or DATABASE_URL) is not set");
}

#[tokio::test]
async fn passwords_never_reach_the_output() {
    let db = TestDb::new().await;
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_password(Some("hunter2secret")).unwrap();
    url.set_path("no_such_database");
    let failed = run(app_command("migrate")
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
