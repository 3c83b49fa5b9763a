//! The `migrate` binary as a process: up, down, current, status, verify and dry runs, on the
//! project's own migrations and on fixtures.

use crate::MigrateCommand;
use test_support::{Migrations, TestDb, run};

const CREATE_A: (&str, &str) = ("1_create_a.up.sql", "CREATE TABLE a (id int);\n");
const DROP_A: (&str, &str) = ("1_create_a.down.sql", "DROP TABLE a;\n");
const CREATE_B: (&str, &str) = ("2_create_b.up.sql", "CREATE TABLE b (id int);\n");
const DROP_B: (&str, &str) = ("2_create_b.down.sql", "DROP TABLE b;\n");

#[tokio::test]
async fn up_applies_every_embedded_migration_and_a_second_up_does_nothing() {
    let db = TestDb::new().await;
    run(db.migrate(None).arg("up")).assert_code(0);
    assert!(db.table_exists("jobs").await);
    let applied = db
        .scalar::<i64>("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .await;
    let files = std::fs::read_dir(test_support::workspace_root().join("migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".up.sql")
        })
        .count();
    assert_eq!(applied as usize, files);

    let before = db.schema_fingerprint().await;
    run(db.migrate(None).arg("up"))
        .assert_code(0)
        .assert_stderr_contains("nothing to apply");
    assert_eq!(db.schema_fingerprint().await, before);
}

#[tokio::test]
async fn current_status_and_verify_follow_the_history() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_A, DROP_A, CREATE_B, DROP_B]);

    run(db.migrate(Some(m.path())).arg("current"))
        .assert_code(0)
        .assert_stdout_contains("none");
    let status = run(db.migrate(Some(m.path())).arg("status"));
    status.assert_code(0);
    assert_eq!(
        status.stdout.matches("pending").count(),
        3,
        "{}",
        status.stdout
    ); // 2 rows + summary
    let verify = run(db.migrate(Some(m.path())).arg("verify"));
    verify.assert_code(1);
    assert_eq!(
        verify.errors(),
        [
            "error: 1_create_a is pending: in this build, not applied (run migrate up)",
            "error: 2_create_b is pending: in this build, not applied (run migrate up)"
        ]
    );

    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    run(db.migrate(Some(m.path())).arg("current"))
        .assert_code(0)
        .assert_stdout_contains("2 create_b");
    run(db.migrate(Some(m.path())).arg("verify"))
        .assert_code(0)
        .assert_stdout_contains("ok:");

    let json = run(db.migrate(Some(m.path())).args(["status", "--json"]));
    json.assert_code(0);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["current"], 2);
    assert_eq!(value["migrations"][0]["state"], "applied");
    assert_eq!(value["migrations"][1]["name"], "create_b");
    assert!(value["migrations"][1]["applied_at"].is_string());
}

#[tokio::test]
async fn down_reverts_newest_first_one_step_by_default() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_A, DROP_A, CREATE_B, DROP_B]);
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);

    run(db.migrate(Some(m.path())).args(["down", "--allow-down"])).assert_code(0);
    assert!(db.table_exists("a").await && !db.table_exists("b").await);
    run(db.migrate(Some(m.path())).arg("current")).assert_stdout_contains("1 create_a");

    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    run(db
        .migrate(Some(m.path()))
        .args(["down", "--allow-down", "--steps", "2"]))
    .assert_code(0);
    assert!(!db.table_exists("a").await && !db.table_exists("b").await);
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
            .await,
        0
    );

    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    run(db
        .migrate(Some(m.path()))
        .args(["down", "--allow-down", "--to", "0"]))
    .assert_code(0);
    assert!(!db.table_exists("a").await);
    run(db.migrate(Some(m.path())).arg("current")).assert_stdout_contains("none");
}

#[tokio::test]
async fn the_project_migrations_revert_cleanly() {
    let db = TestDb::new().await;
    run(db.migrate(None).arg("up")).assert_code(0);
    run(db.migrate(None).args(["down", "--allow-down", "--to", "0"])).assert_code(0);
    assert!(!db.table_exists("jobs").await);
    run(db.migrate(None).arg("up")).assert_code(0);
    run(db.migrate(None).arg("verify")).assert_code(0);
}

#[tokio::test]
async fn down_without_a_down_file_is_refused_and_changes_nothing() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_A, DROP_A, CREATE_B]);
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    let before = db.schema_fingerprint().await;

    let down = run(db
        .migrate(Some(m.path()))
        .args(["down", "--allow-down", "--steps", "2"]));
    down.assert_code(1)
        .assert_stderr_contains("2_create_b.up.sql has no down file (2_create_b.down.sql)");
    down.assert_stderr_contains("nothing was reverted");
    assert_eq!(db.schema_fingerprint().await, before);
}

#[tokio::test]
async fn dry_runs_change_nothing_not_even_the_history_table() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_A, DROP_A, CREATE_B, DROP_B]);
    let dry = run(db.migrate(Some(m.path())).args(["up", "--dry-run"]));
    dry.assert_code(0)
        .assert_stdout_contains("would apply 1_create_a\nwould apply 2_create_b");
    assert!(!db.table_exists("_sqlx_migrations").await);
    assert!(!db.table_exists("a").await);

    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    let before = db.schema_fingerprint().await;
    let dry = run(db
        .migrate(Some(m.path()))
        .args(["down", "--to", "0", "--dry-run"]));
    dry.assert_code(0)
        .assert_stdout_contains("would revert 2_create_b\nwould revert 1_create_a");
    assert_eq!(db.schema_fingerprint().await, before);
}

#[tokio::test]
async fn up_to_stops_at_the_given_version_and_refuses_unknown_ones() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_A, CREATE_B]);
    run(db.migrate(Some(m.path())).args(["up", "--to", "1"])).assert_code(0);
    assert!(db.table_exists("a").await && !db.table_exists("b").await);
    run(db.migrate(Some(m.path())).args(["up", "--to", "7"]))
        .assert_code(1)
        .assert_stderr_contains("--to 7: no migration of this build has that version");
}

#[tokio::test]
async fn a_failing_migration_exits_non_zero_and_leaves_nothing_of_it_nor_the_lock() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[
        CREATE_A,
        (
            "2_broken.up.sql",
            "-- creates b, then fails\nCREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\nSELECT * FROM no_such_table;\n",
        ),
    ]);
    let failed = run(db.migrate(Some(m.path())).arg("up"));
    failed.assert_code(1);
    let error = failed.errors().join("\n");
    assert!(error.contains("applying 2_broken failed at"), "{error}");
    assert!(
        error.contains("2_broken.up.sql line 4: 42P01 relation \"no_such_table\" does not exist"),
        "{error}"
    );
    assert!(error.contains("nothing of it remains"), "{error}");

    assert!(
        db.table_exists("a").await,
        "the migration before it stays applied"
    );
    assert!(
        !db.table_exists("b").await,
        "nothing of the failed migration remains"
    );
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
            .await,
        1
    );
    assert_eq!(db.advisory_locks().await, 0, "the lock is free");

    m.write("2_broken.up.sql", "CREATE TABLE b (id int);\n");
    // Not willing to wait at all: it gets the lock, or exits 3.
    run(db.migrate(Some(m.path())).args(["up", "--lock-wait", "0s"])).assert_code(0);
    assert!(db.table_exists("b").await);
}

#[tokio::test]
async fn edited_and_missing_migrations_are_found_by_verify_and_refused_by_up() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_A, DROP_A, CREATE_B]);
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);

    m.write("1_create_a.up.sql", "CREATE TABLE a (id bigint);\n");
    run(db.migrate(Some(m.path())).arg("verify"))
        .assert_code(1)
        .assert_stderr_contains("1_create_a is modified");
    m.write("3_create_c.up.sql", "CREATE TABLE c (id int);\n");
    let before = db.schema_fingerprint().await;
    run(db.migrate(Some(m.path())).arg("up"))
        .assert_code(1)
        .assert_stderr_contains("1_create_a.up.sql: changed after it was applied")
        .assert_stderr_contains("nothing was applied");
    assert_eq!(db.schema_fingerprint().await, before);

    m.write("1_create_a.up.sql", CREATE_A.1);
    m.remove("2_create_b.up.sql");
    run(db.migrate(Some(m.path())).arg("verify"))
        .assert_code(1)
        .assert_stderr_contains("2_create_b is missing");
    run(db.migrate(Some(m.path())).arg("up"))
        .assert_code(1)
        .assert_stderr_contains("migration 2_create_b is applied but not in this build");
    run(db.migrate(Some(m.path())).args(["up", "--ignore-missing"])).assert_code(0);
    assert!(db.table_exists("c").await);
}

#[tokio::test]
async fn a_pending_migration_older_than_the_newest_applied_is_refused_unless_allowed() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_B]);
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    m.write(CREATE_A.0, CREATE_A.1);
    run(db.migrate(Some(m.path())).arg("up"))
        .assert_code(1)
        .assert_stderr_contains("version 1 is older than the newest applied migration 2");
    assert!(!db.table_exists("a").await);
    run(db
        .migrate(Some(m.path()))
        .args(["up", "--allow-out-of-order"]))
    .assert_code(0);
    assert!(db.table_exists("a").await);
}

#[tokio::test]
async fn a_failing_first_migration_leaves_not_even_the_history_table() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[("1_broken.up.sql", "CREATE TABLE a (id int);\nSELECT 1/0;\n")]);
    run(db.migrate(Some(m.path())).arg("up"))
        .assert_code(1)
        .assert_stderr_contains("22012 division by zero");
    assert!(!db.table_exists("a").await);
    assert!(
        !db.table_exists("_sqlx_migrations").await,
        "the database is exactly as it was"
    );
}

#[tokio::test]
async fn rows_recorded_as_failed_are_refused_until_repaired() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_A, DROP_A, CREATE_B]);
    run(db.migrate(Some(m.path())).args(["up", "--to", "1"])).assert_code(0);
    let mut conn = db.connect().await;
    sqlx::Executor::execute(
        &mut conn,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (2, 'create b', false, '\\x00', -1)",
    )
    .await
    .unwrap();
    let before = db.schema_fingerprint().await;
    run(db.migrate(Some(m.path())).arg("up"))
        .assert_code(1)
        .assert_stderr_contains("migration 2 (create_b) is recorded as failed in _sqlx_migrations")
        .assert_stderr_contains("DELETE FROM _sqlx_migrations WHERE version = 2");
    run(db.migrate(Some(m.path())).arg("verify"))
        .assert_code(1)
        .assert_stderr_contains("2_create_b is failed");
    run(db.migrate(Some(m.path())).args(["down", "--allow-down"]))
        .assert_code(1)
        .assert_stderr_contains("recorded as failed");
    assert_eq!(db.schema_fingerprint().await, before);
}
