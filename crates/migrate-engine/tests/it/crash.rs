//! `kill -9` of a runner, with real processes, at several points: each migration is then either
//! fully applied and recorded, or absent, and the next run completes.

use std::time::Duration;

use crate::MigrateCommand;
use test_support::{
    Latch, Migrations, TestDb, eventually, run,
    spawned::{Signal, Spawned},
};

const COUNT: i64 = 30;

/// 30 migrations, each creating a table and appending its version to an audit table that has
/// no unique key, with a pause so that kills land inside migrations too. A killed runner's
/// session goes on for up to a second (`client_connection_check_interval`): a fifth of a second
/// each keeps that to a few migrations, so the kills leave several partial states.
fn fixture() -> Migrations {
    let m = Migrations::new(&[(
        "1_create_audit.up.sql",
        "CREATE TABLE audit (version bigint NOT NULL);\n",
    )]);
    for v in 2..=COUNT {
        m.write(
            &format!("{v}_create_t{v}.up.sql"),
            &format!("CREATE TABLE t{v} (id int);\nSELECT pg_sleep(0.2);\nINSERT INTO audit VALUES ({v});\n"),
        );
    }
    m
}

fn kill_9(runner: &mut Spawned) {
    runner.signal(Signal::SIGKILL);
    runner.wait();
}

/// The server keeps running what a killed client sent; wait until its session is gone.
async fn wait_for_sessions_of(db: &TestDb, pid: u32) {
    let sql = format!(
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name LIKE 'migrate pid={pid} %'"
    );
    eventually("the killed runner's sessions have ended", || {
        db.scalar::<bool>(&sql)
    })
    .await;
}

/// How many migrations the history holds.
async fn applied(db: &TestDb) -> i64 {
    if !db.table_exists("_sqlx_migrations").await {
        return 0;
    }
    db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
        .await
}

/// Every migration is all there (table, audit row, history row) or not there at all.
async fn assert_all_or_nothing(db: &TestDb) {
    if !db.table_exists("_sqlx_migrations").await {
        assert!(
            !db.table_exists("audit").await,
            "a table without its history row"
        );
        return;
    }
    let torn = db
        .scalar::<i64>(&format!(
            "SELECT count(*) FROM generate_series(2, {COUNT}) v \
             WHERE (to_regclass('t' || v) IS NOT NULL) <> EXISTS (SELECT 1 FROM _sqlx_migrations WHERE version = v) \
                OR (SELECT count(*) FROM audit a WHERE a.version = v) \
                   <> (SELECT count(*) FROM _sqlx_migrations h WHERE h.version = v)"
        ))
        .await;
    assert_eq!(torn, 0, "some migration is half applied or applied twice");
}

#[tokio::test]
async fn killed_at_random_moments_every_migration_is_all_or_nothing() {
    let db = TestDb::new().await;
    let m = fixture();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut partial_states = std::collections::BTreeSet::new();
    for _ in 0..12 {
        // Kill once the runner has got a little further than the last one, a moment later:
        // inside a migration (each sleeps 200 ms) or between two.
        let target = applied(&db).await + rng.i64(1..=2);
        if target >= COUNT {
            break;
        }
        let mut runner = Spawned::start(db.migrate(Some(m.path())).arg("up"));
        eventually("the runner has got further", || async {
            applied(&db).await >= target || !runner.is_running()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(rng.u64(0..200))).await;
        let pid = runner.id();
        kill_9(&mut runner);
        wait_for_sessions_of(&db, pid).await;
        assert_all_or_nothing(&db).await;
        let applied = applied(&db).await;
        if applied < COUNT {
            partial_states.insert(applied);
        }
    }
    assert!(
        partial_states.len() >= 3,
        "the kills did not land mid-run often enough: {partial_states:?}"
    );
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    run(db.migrate(Some(m.path())).arg("verify")).assert_code(0);
    assert_all_or_nothing(&db).await;
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM audit").await,
        COUNT - 1
    );
}

#[tokio::test]
async fn killed_inside_a_long_migration_it_lands_whole_or_not_at_all() {
    let db = TestDb::new().await;
    let latch = Latch::hold(&db).await;
    let m = Migrations::new(&[
        ("1_create_a.up.sql", "CREATE TABLE a (id int);\n"),
        (
            "2_slow.up.sql",
            &format!(
                "CREATE TABLE b (id int);\n{}INSERT INTO b VALUES (1);\n",
                latch.sql()
            ),
        ),
    ]);
    let mut runner = Spawned::start(db.migrate(Some(m.path())).arg("up"));
    latch.reached(&db).await;
    let pid = runner.id();
    kill_9(&mut runner);
    latch.release().await;
    wait_for_sessions_of(&db, pid).await;

    let recorded = db
        .scalar::<i64>("SELECT count(*) FROM _sqlx_migrations WHERE version = 2")
        .await;
    let rows = if db.table_exists("b").await {
        db.scalar::<i64>("SELECT count(*) FROM b").await
    } else {
        0
    };
    assert!(
        (recorded, rows) == (1, 1) || ((recorded, rows) == (0, 0) && !db.table_exists("b").await),
        "half applied: recorded {recorded}, rows {rows}"
    );
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    assert_eq!(db.scalar::<i64>("SELECT count(*) FROM b").await, 1);
    run(db.migrate(Some(m.path())).arg("verify")).assert_code(0);
}

#[tokio::test]
async fn killed_while_waiting_for_the_lock_it_changes_nothing() {
    use sqlx::migrate::Migrate;

    let db = TestDb::new().await;
    let m = Migrations::new(&[("1_create_a.up.sql", "CREATE TABLE a (id int);\n")]);
    let mut holder = db.connect().await;
    holder.lock().await.unwrap();
    let mut runner = Spawned::start(db.migrate(Some(m.path())).arg("up"));
    runner.wait_for_log("waiting for the migration lock").await;
    let pid = runner.id();
    kill_9(&mut runner);
    wait_for_sessions_of(&db, pid).await;
    assert!(!db.table_exists("_sqlx_migrations").await && !db.table_exists("a").await);

    holder.unlock().await.unwrap();
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    assert!(db.table_exists("a").await);
}
