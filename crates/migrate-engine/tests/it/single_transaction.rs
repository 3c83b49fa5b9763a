//! `migrate up --single-transaction`: every pending migration in one transaction, all or nothing.

use crate::MigrateCommand;
use test_support::{Migrations, TestDb, run};

fn five(third: &str) -> Migrations {
    let m = Migrations::new(&[]);
    for v in 1..=5 {
        let sql = if v == 3 {
            third.to_owned()
        } else {
            format!("CREATE TABLE t{v} (id int);\n")
        };
        m.write(&format!("{v}_step_{v}.up.sql"), &sql);
    }
    m
}

#[tokio::test]
async fn all_pending_migrations_land_together() {
    let db = TestDb::new().await;
    let m = five("CREATE TABLE t3 (id int);\n");
    run(db
        .migrate(Some(m.path()))
        .args(["up", "--single-transaction"]))
    .assert_code(0);
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
            .await,
        5
    );
    run(db.migrate(Some(m.path())).arg("verify")).assert_code(0);
}

#[tokio::test]
async fn a_failure_names_its_migration_and_nothing_lands() {
    let db = TestDb::new().await;
    // No error position: the runner replays the batch step by step (then rolls back) to find it.
    let m = five("CREATE TABLE t3 (id int);\nSELECT 1 / 0;\n");
    let failed = run(db
        .migrate(Some(m.path()))
        .args(["up", "--single-transaction"]));
    failed.assert_code(1);
    failed.assert_stderr_contains("applying 3_step_3 failed");
    failed.assert_stderr_contains("22012 division by zero");
    failed.assert_stderr_contains(
        "the whole batch of 5 migrations was rolled back; nothing of it was applied",
    );
    assert!(!db.table_exists("t1").await && !db.table_exists("_sqlx_migrations").await);

    // With a position, the line is named too.
    let m = five("CREATE TABLE t3 (id int);\nSELECT * FROM nowhere;\n");
    run(db
        .migrate(Some(m.path()))
        .args(["up", "--single-transaction"]))
    .assert_code(1)
    .assert_stderr_contains("3_step_3.up.sql line 2: 42P01 relation \"nowhere\" does not exist");
}

#[tokio::test]
async fn a_no_transaction_migration_cannot_join_the_batch() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[
        ("1_create_t.up.sql", "CREATE TABLE t (x int);\n"),
        (
            "2_index_t.up.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY t_x ON t (x);\n",
        ),
    ]);
    run(db
        .migrate(Some(m.path()))
        .args(["up", "--single-transaction"]))
    .assert_code(1)
    .assert_stderr_contains(
        "2_index_t.up.sql: a `-- no-transaction` migration cannot run inside --single-transaction",
    );
    assert!(!db.table_exists("t").await);
}
