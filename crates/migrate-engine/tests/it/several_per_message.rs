//! `migrate up` sends consecutive migrations several to a message, each in its own
//! transaction. The outcome must be exactly that of sending them one by one: those before a
//! failure land, the failing one and those after it do not, and each records its own time.

use crate::MigrateCommand;
use sqlx::Executor;
use test_support::{Migrations, TestDb, run, spawned::Spawned};

/// `1_step_1` .. `5_step_5`, each creating `t<v>`, with `special` replacing the given ones.
fn five(special: &[(i64, &str)]) -> Migrations {
    let m = Migrations::new(&[]);
    for v in 1..=5 {
        let sql = special
            .iter()
            .find(|(version, _)| *version == v)
            .map_or_else(
                || format!("CREATE TABLE t{v} (id int);\n"),
                |(_, sql)| (*sql).to_owned(),
            );
        m.write(&format!("{v}_step_{v}.up.sql"), &sql);
    }
    m
}

/// A failure says what failed and nothing else: no warning about a ROLLBACK sent outside a
/// transaction (a message that did not parse leaves none open).
fn assert_no_noise(failed: &test_support::Run) {
    assert!(!failed.stderr.contains("WARN"), "{}", failed.stderr);
}

async fn applied(db: &TestDb) -> Vec<i64> {
    let mut conn = db.connect().await;
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_failure_mid_message_keeps_the_migrations_before_it() {
    let db = TestDb::new().await;
    // 1 goes alone (it creates the history table); 2..5 share a message; 3 fails with no
    // error position, so the history table tells where it stopped.
    let m = five(&[(3, "CREATE TABLE t3 (id int);\nSELECT 1 / 0;\n")]);
    let failed = run(db
        .migrate(Some(m.path()))
        .args(["up", "--per-message", "10"]));
    failed.assert_code(1);
    failed.assert_stderr_contains("applied 2_step_2 in");
    failed.assert_stderr_contains("applying 3_step_3 failed");
    failed.assert_stderr_contains("22012 division by zero");
    failed.assert_stderr_contains("it was rolled back; nothing of it remains");
    assert_no_noise(&failed);
    assert!(
        !failed.stderr.contains("applied 4_step_4"),
        "{}",
        failed.stderr
    );
    assert_eq!(applied(&db).await, [1, 2]);
    assert!(db.table_exists("t2").await);
    assert!(!db.table_exists("t3").await && !db.table_exists("t4").await);
    assert_eq!(db.advisory_locks().await, 0);

    m.write("3_step_3.up.sql", "CREATE TABLE t3 (id int);\n");
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    assert_eq!(applied(&db).await, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn a_migration_that_does_not_parse_is_reported_after_the_ones_before_it_land() {
    let db = TestDb::new().await;
    // PostgreSQL parses a whole message before running any of it: 2 and 3 must still land.
    let m = five(&[(4, "CREATE TABLE t4 (id int);\nSELEC 1;\n")]);
    let failed = run(db
        .migrate(Some(m.path()))
        .args(["up", "--per-message", "10"]));
    failed.assert_code(1);
    failed.assert_stderr_contains("applying 4_step_4 failed at");
    failed
        .assert_stderr_contains("4_step_4.up.sql line 2: 42601 syntax error at or near \"SELEC\"");
    assert_no_noise(&failed);
    assert_eq!(applied(&db).await, [1, 2, 3]);
    assert!(db.table_exists("t3").await && !db.table_exists("t4").await);
}

#[tokio::test]
async fn a_lock_timeout_mid_message_retries_from_the_blocked_migration() {
    let db = TestDb::new().await;
    let m = five(&[(3, "ALTER TABLE t1 ADD COLUMN note text;\n")]);
    run(db.migrate(Some(m.path())).args(["up", "--to", "1"])).assert_code(0);
    let mut reader = db.connect().await;
    reader.execute("BEGIN; SELECT * FROM t1;").await.unwrap();

    let mut migrating = Spawned::start(db.migrate(Some(m.path())).args([
        "up",
        "--per-message",
        "10",
        "--lock-timeout",
        "100ms",
        "--lock-retries",
        "50",
    ]));
    migrating
        .wait_for_log("applying 3_step_3: attempt 1/50 gave up waiting for a table lock")
        .await;
    reader.execute("COMMIT").await.unwrap();
    assert_eq!(migrating.wait(), Some(0), "{}", migrating.logs());
    assert!(
        !migrating.logs().contains("applying 2_step_2: attempt"),
        "{}",
        migrating.logs()
    );
    assert_eq!(applied(&db).await, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn each_migration_records_its_own_execution_time() {
    for flags in [
        &["up", "--per-message", "10"][..],
        &["up", "--single-transaction"],
    ] {
        let db = TestDb::new().await;
        let m = five(&[(2, "CREATE TABLE t2 (id int);\nSELECT pg_sleep(0.5);\n")]);
        run(db.migrate(Some(m.path())).args(flags)).assert_code(0);
        let millis = |v: i64| {
            let db = &db;
            async move {
                db.scalar::<i64>(&format!(
                    "SELECT execution_time / 1000000 FROM _sqlx_migrations WHERE version = {v}"
                ))
                .await
            }
        };
        assert!(millis(2).await >= 500, "{flags:?}: 2 slept 0.5 s");
        for v in [3, 4, 5] {
            assert!(
                millis(v).await < 500,
                "{flags:?}: {v} has no time of its own"
            );
        }
    }
}
