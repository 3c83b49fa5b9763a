//! `migrate baseline`: recording migrations as applied without running them, for a database
//! that already has their schema, and refusing when it does not.

use crate::{MigrateCommand, embedded};
use sqlx::Executor;
use test_support::{TestDb, run};

/// A database that got the project's schema without migrations (by hand, or from a dump).
async fn schema_without_history() -> TestDb {
    let db = TestDb::new().await;
    let mut conn = db.connect().await;
    for migration in embedded().iter() {
        conn.execute(sqlx::AssertSqlSafe(migration.up.sql.clone()))
            .await
            .unwrap();
    }
    db
}

#[tokio::test]
async fn an_existing_schema_is_recorded_without_running_anything() {
    let db = schema_without_history().await;
    let before = db.schema_fingerprint().await;
    run(db.migrate(None).arg("baseline"))
        .assert_code(0)
        .assert_stderr_contains("recorded 3 migration(s) as applied without running them");
    let unrun = db
        .scalar::<i64>("SELECT count(*) FROM _sqlx_migrations WHERE execution_time = -1")
        .await;
    assert_eq!(unrun, embedded().len() as i64);
    run(db.migrate(None).arg("up"))
        .assert_code(0)
        .assert_stderr_contains("nothing to apply");
    run(db.migrate(None).arg("verify")).assert_code(0);
    let after = db.schema_fingerprint().await;
    let schema = |fingerprint: &str| -> Vec<String> {
        fingerprint
            .lines()
            .filter(|l| !l.contains("_sqlx_migrations") && !l.starts_with("row "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        schema(&before),
        schema(&after),
        "baseline ran nothing: only the history table is new"
    );
}

#[tokio::test]
async fn a_database_without_the_claimed_tables_is_refused() {
    let db = TestDb::new().await;
    let first = embedded().iter().next().unwrap().label();
    run(db.migrate(None).arg("baseline"))
        .assert_code(1)
        .assert_stderr_contains(&format!("the baseline claims table jobs (created by {first}), but the database has no such table"))
        .assert_stderr_contains("nothing was recorded");
    assert!(!db.table_exists("_sqlx_migrations").await);
}

#[tokio::test]
async fn a_history_with_rows_needs_force_and_baseline_to_stops_at_a_version() {
    let db = schema_without_history().await;
    let versions: Vec<i64> = embedded().iter().map(|m| m.version).collect();
    run(db
        .migrate(None)
        .args(["baseline", "--to", &versions[0].to_string()]))
    .assert_code(0);
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
            .await,
        1
    );

    run(db.migrate(None).arg("baseline"))
        .assert_code(1)
        .assert_stderr_contains("the history table already has 1 row(s)");
    run(db.migrate(None).args(["baseline", "--force"])).assert_code(0);
    run(db.migrate(None).arg("verify")).assert_code(0);
}
