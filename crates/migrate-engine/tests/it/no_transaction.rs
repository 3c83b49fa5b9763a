//! `-- no-transaction` migrations: run alone, recorded after they succeed, never retried, and a
//! failure that leaves an INVALID index says exactly how to remove it.

use crate::MigrateCommand;
use test_support::{Migrations, TestDb, run};

#[tokio::test]
async fn a_failed_concurrent_index_is_reported_with_its_cleanup() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[
        (
            "1_create_t.up.sql",
            "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1), (1);\n",
        ),
        (
            "2_unique_t_x.up.sql",
            "-- no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY t_x_key ON t (x);\n",
        ),
    ]);
    let failed = run(db.migrate(Some(m.path())).arg("up"));
    failed.assert_code(1);
    failed.assert_stderr_contains("applying 2_unique_t_x failed");
    failed.assert_stderr_contains("23505 could not create unique index \"t_x_key\"");
    failed.assert_stderr_contains("it ran outside a transaction, so check what it left");
    failed.assert_stderr_contains("left the INVALID index public.t_x_key; remove it with `DROP INDEX CONCURRENTLY IF EXISTS public.t_x_key;`");
    assert!(
        !failed.stderr.contains("attempt"),
        "never retried: {}",
        failed.stderr
    );
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
            .await,
        1,
        "not recorded"
    );

    // The documented way out: clean up, fix the data, run again.
    let mut conn = db.connect().await;
    sqlx::Executor::execute(
        &mut conn,
        "DROP INDEX CONCURRENTLY IF EXISTS public.t_x_key",
    )
    .await
    .unwrap();
    sqlx::Executor::execute(
        &mut conn,
        "DELETE FROM t WHERE ctid <> (SELECT min(ctid) FROM t)",
    )
    .await
    .unwrap();
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    run(db.migrate(Some(m.path())).arg("verify")).assert_code(0);
}

#[tokio::test]
async fn a_concurrent_index_is_built_and_recorded() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[
        ("1_create_t.up.sql", "CREATE TABLE t (x int);\n"),
        (
            "2_index_t_x.up.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY t_x_idx ON t (x);\n",
        ),
        (
            "2_index_t_x.down.sql",
            "-- no-transaction\nDROP INDEX CONCURRENTLY t_x_idx;\n",
        ),
    ]);
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    assert!(
        db.scalar::<bool>("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_idx'::regclass")
            .await
    );
    run(db.migrate(Some(m.path())).args(["down", "--allow-down"])).assert_code(0);
    assert!(!db.table_exists("t_x_idx").await);
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
            .await,
        1
    );
}
