//! `migrate` told to stop (SIGTERM from `docker stop` or Kubernetes, SIGINT from Ctrl-C) while it
//! works: it cancels the statement running on the server, which rolls its migration back,
//! records the run as `interrupted`, releases the lock, and exits 4, without waiting for the
//! migration to end. Killed outright (`kill -9`), it cannot: the server notices the dead client
//! by itself (`client_connection_check_interval`) and ends its session.

use serde_json::Value;
use test_support::{
    Latch, Migrations, TestDb, eventually, run,
    spawned::{Signal, Spawned},
};

use crate::MigrateCommand;

/// Migration 1 is quick; migration 2 runs until the latch is released.
fn held_at_the_second(latch: &Latch) -> Migrations {
    Migrations::new(&[
        ("1_create_a.up.sql", "CREATE TABLE a (id int);\n"),
        (
            "2_create_b.up.sql",
            &format!(
                "CREATE TABLE b (id int);\n{}INSERT INTO b VALUES (1);\n",
                latch.sql()
            ),
        ),
    ])
}

/// Sessions of `migrate` still on the server, and advisory locks other than the latch's.
async fn left_behind(db: &TestDb) -> i64 {
    db.scalar::<i64>(
        "SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migrate%') \
              + (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
                 AND NOT (classid = 0 AND objid BETWEEN 700000 AND 799999999))",
    )
    .await
}

#[tokio::test]
async fn stopped_mid_migration_it_rolls_back_records_releases_and_exits_4() {
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let db = TestDb::new().await;
        let latch = Latch::hold(&db).await;
        let m = held_at_the_second(&latch);
        let mut runner = Spawned::start(db.migrate(Some(m.path())).arg("up"));
        latch.reached(&db).await;
        runner.signal(signal);
        // It exits while the migration it runs still waits at the latch: it did not wait for it.
        assert_eq!(runner.wait(), Some(4), "{signal}: {}", runner.logs());
        assert!(
            runner.logs().contains(&format!(
                "error: stopped by {signal}: applying 2_create_b was cancelled and rolled back"
            )),
            "{}",
            runner.logs()
        );
        eventually("nothing of migrate is left on the server", || async {
            left_behind(&db).await == 0
        })
        .await;
        assert!(db.table_exists("a").await, "the migration before stays");
        assert!(
            !db.table_exists("b").await,
            "the interrupted one was rolled back"
        );

        let runs = run(db.migrate(Some(m.path())).args(["history", "--json"]));
        let runs: Vec<Value> = serde_json::from_str(&runs.stdout).unwrap();
        assert_eq!(runs[0]["outcome"], "interrupted", "{runs:?}");
        let steps = runs[0]["steps"].as_array().unwrap();
        assert_eq!(steps.last().unwrap()["outcome"], "failed");
        latch.release().await;
        run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
        assert!(db.table_exists("b").await, "the next run completes it");
    }
}

#[tokio::test]
async fn stopped_while_waiting_for_the_lock_it_changes_nothing_and_exits_4() {
    use sqlx::migrate::Migrate;

    let db = TestDb::new().await;
    let m = Migrations::new(&[("1_create_a.up.sql", "CREATE TABLE a (id int);\n")]);
    let mut holder = db.connect().await;
    holder.lock().await.unwrap();
    let mut runner = Spawned::start(db.migrate(Some(m.path())).arg("up"));
    runner.wait_for_log("waiting for the migration lock").await;
    runner.signal(Signal::SIGTERM);
    assert_eq!(runner.wait(), Some(4), "{}", runner.logs());
    assert!(
        runner
            .logs()
            .contains("stopped by SIGTERM: nothing was changed")
    );
    assert!(!db.table_exists("a").await && !db.table_exists("_sqlx_migrations").await);
    holder.unlock().await.unwrap();
}

#[tokio::test]
async fn killed_mid_migration_its_session_ends_without_waiting_for_the_migration() {
    let db = TestDb::new().await;
    let latch = Latch::hold(&db).await;
    let m = held_at_the_second(&latch);
    let mut runner = Spawned::start(db.migrate(Some(m.path())).arg("up"));
    latch.reached(&db).await;
    runner.signal(Signal::SIGKILL);
    runner.wait();
    // The latch is still held: without the check, the session would wait for it forever.
    eventually(
        "the server has ended the killed runner's session",
        || async { left_behind(&db).await == 0 },
    )
    .await;
    assert!(!db.table_exists("b").await, "its migration was rolled back");
    latch.release().await;
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
}
