//! Migrating a table that live traffic holds: each attempt waits at most `--lock-timeout`, is
//! rolled back and retried (SQLSTATE 55P03 only), so queries queued behind it never stall long;
//! each retry, and the give-up, names the session that blocks it.

use crate::MigrateCommand;
use sqlx::Executor;
use test_support::{Migrations, PATIENCE, TestDb, run, spawned::Spawned};

const CREATE_HOT: (&str, &str) = (
    "1_create_hot.up.sql",
    "CREATE TABLE hot (id int);\nINSERT INTO hot VALUES (1);\n",
);
const ALTER_HOT: (&str, &str) = (
    "2_add_hot_note.up.sql",
    "ALTER TABLE hot ADD COLUMN note text;\n",
);

async fn with_hot_table() -> (TestDb, Migrations) {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_HOT]);
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    m.write(ALTER_HOT.0, ALTER_HOT.1);
    (db, m)
}

#[tokio::test]
async fn a_busy_table_is_retried_until_the_migration_lands() {
    let (db, m) = with_hot_table().await;
    let mut reader = db.connect().await;
    reader.execute("BEGIN; SELECT * FROM hot;").await.unwrap();

    let mut migrating = Spawned::start(db.migrate(Some(m.path())).args([
        "up",
        "--lock-timeout",
        "200ms",
        "--lock-retries",
        "30",
    ]));
    migrating.wait_for_log(
        "applying 2_add_hot_note: attempt 1/30 gave up waiting for a table lock after 200ms (lock_timeout), blocked by pid",
    ).await;
    migrating.wait_for_log("rolled back, retrying in").await;
    reader.execute("COMMIT").await.unwrap();
    assert_eq!(migrating.wait(), Some(0), "{}", migrating.logs());
    assert!(db.scalar::<bool>("SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'hot' AND column_name = 'note')").await);
}

#[tokio::test]
async fn a_table_that_stays_busy_fails_after_the_last_attempt_and_changes_nothing() {
    let (db, m) = with_hot_table().await;
    let mut reader = db.connect().await;
    let reader_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut reader)
        .await
        .unwrap();
    reader.execute("BEGIN; SELECT * FROM hot;").await.unwrap();
    let before = db.schema_fingerprint().await;

    let failed = run(db.migrate(Some(m.path())).args([
        "up",
        "--lock-timeout",
        "100ms",
        "--lock-retries",
        "3",
    ]));
    failed.assert_code(1);
    failed.assert_stderr_contains("attempt 2/3 gave up waiting");
    failed.assert_stderr_contains("applying 2_add_hot_note failed");
    failed.assert_stderr_contains("55P03 canceling statement due to lock timeout");
    failed.assert_stderr_contains("still blocked after 3 attempts with lock_timeout 100ms");
    // The give-up names the blocking session: the reader, idle in its transaction.
    failed.assert_stderr_contains(&format!(
        "the last time by pid {reader_pid} (no application_name, client "
    ));
    failed.assert_stderr_contains("idle in transaction, query started");
    assert_eq!(db.schema_fingerprint().await, before);
    assert_eq!(db.advisory_locks().await, 0);
    reader.execute("COMMIT").await.unwrap();
}

#[tokio::test]
async fn a_statement_timeout_is_reported_and_not_retried() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[(
        "1_slow.up.sql",
        "CREATE TABLE a (id int);\nSELECT pg_sleep(600);\n",
    )]);
    let started = std::time::Instant::now();
    let failed = run(db
        .migrate(Some(m.path()))
        .args(["up", "--statement-timeout", "300ms"]));
    // Cancelled, not slept through (nor retried).
    failed
        .assert_code(1)
        .assert_stderr_contains("57014 canceling statement due to statement timeout");
    assert!(
        !failed.stderr.contains("attempt"),
        "not retried: {}",
        failed.stderr
    );
    assert!(started.elapsed() < PATIENCE, "{:?}", started.elapsed());
    assert!(!db.table_exists("a").await);
}
