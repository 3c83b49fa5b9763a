//! A normal run leaves the server nothing to alarm anyone: production teams alert on the
//! server's errors, so `migrate` never makes one (no read of a table that is not there yet, no
//! probe that fails), and says nothing of the notices its own bookkeeping would draw.

use test_support::{Migrations, TestDb, run};

use crate::MigrateCommand;

/// Transactions the server rolled back in `db`, errors included, as its statistics say once
/// every session that made them has ended.
async fn rollbacks(db: &TestDb) -> i64 {
    db.scalar::<i64>(
        "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()",
    )
    .await
}

#[tokio::test]
async fn a_normal_run_makes_no_error_on_the_server_and_no_noise() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[
        ("1_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("1_a.down.sql", "DROP TABLE a;\n"),
        (
            "2_index.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n",
        ),
    ]);
    let before = rollbacks(&db).await;
    for args in [
        &["up", "--to", "1"][..],
        &["up"],
        &["up"],
        &["status"],
        &["verify"],
        &["history"],
        &["down", "--allow-down", "--dry-run", "--to", "2"],
        &["baseline", "--force"],
    ] {
        let ran = run(db.migrate(Some(m.path())).args(args));
        ran.assert_code(0);
        for noise in ["NOTICE", "skipping", "already exists", "WARN"] {
            assert!(!ran.stderr.contains(noise), "{args:?}: {}", ran.stderr);
        }
    }
    assert_eq!(
        rollbacks(&db).await,
        before,
        "a transaction failed on the server"
    );
}
