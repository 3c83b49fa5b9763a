//! The history `migrate` writes is sqlx's own: sqlx's `Migrator` (what sqlx-cli and
//! `sqlx::migrate!().run()` use) accepts it, and `migrate` accepts sqlx's.

use std::time::Duration;

use crate::{MigrateCommand, embedded};
use sqlx::migrate::{Migrate, Migrator};
use test_support::{Migrations, TestDb, run};

fn fixture() -> Migrations {
    Migrations::new(&[
        (
            "20240101000000_create_users.up.sql",
            "-- users\nCREATE TABLE users (id int);\n",
        ),
        (
            "20240101000000_create_users.down.sql",
            "DROP TABLE users;\n",
        ),
        (
            "20240102000000_add_users_name.sql",
            "ALTER TABLE users ADD COLUMN name text;",
        ),
        (
            "20240103000000_index_users_name.up.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY users_name_idx ON users (name);\n",
        ),
    ])
}

#[tokio::test]
#[expect(
    clippy::disallowed_methods,
    reason = "the test compares with sqlx's own migrator"
)]
async fn sqlx_accepts_the_history_migrate_writes() {
    let db = TestDb::new().await;
    let m = fixture();
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    let before = db.schema_fingerprint().await;

    let sqlx_migrator = Migrator::new(m.path()).await.unwrap();
    let mut conn = db.connect().await;
    sqlx_migrator
        .run(&mut conn)
        .await
        .expect("sqlx sees every migration as applied, unmodified");
    assert_eq!(
        db.schema_fingerprint().await,
        before,
        "sqlx had nothing left to do"
    );

    let rows: Vec<(i64, String, bool, i64)> =
        sqlx::query_as("SELECT version, description, success, execution_time FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let descriptions: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        descriptions,
        ["create users", "add users name", "index users name"]
    );
    assert!(rows.iter().all(|r| r.2 && r.3 > 0), "{rows:?}");
}

#[tokio::test]
#[expect(
    clippy::disallowed_methods,
    reason = "the test compares with sqlx's own migrator"
)]
async fn migrate_accepts_the_history_sqlx_writes() {
    let db = TestDb::new().await;
    let m = fixture();
    let mut conn = db.connect().await;
    Migrator::new(m.path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();

    run(db.migrate(Some(m.path())).arg("verify")).assert_code(0);
    run(db.migrate(Some(m.path())).arg("up"))
        .assert_code(0)
        .assert_stderr_contains("nothing to apply");
}

#[tokio::test]
async fn migrate_waits_for_sqlx_s_lock_because_the_key_is_the_same() {
    let db = TestDb::new().await;
    let m = fixture();
    let mut holder = db.connect().await;
    holder.lock().await.unwrap(); // sqlx's own `pg_advisory_lock`, as `Migrator::run` takes it

    let started = std::time::Instant::now();
    let blocked = run(db.migrate(Some(m.path())).args(["up", "--lock-wait", "1s"]));
    blocked.assert_code(3).assert_stderr_contains("held by pid");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(!db.table_exists("users").await);

    holder.unlock().await.unwrap();
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
}

#[tokio::test]
async fn embedded_checksums_and_descriptions_are_sqlx_s() {
    let set = embedded();
    let read_by_sqlx = Migrator::new(test_support::workspace_root().join("migrations"))
        .await
        .unwrap();
    for sqlx_set in [app::MIGRATIONS.migrator, &read_by_sqlx] {
        let ups: Vec<_> = sqlx_set
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .collect();
        assert_eq!(set.len(), ups.len());
        for (ours, theirs) in set.iter().zip(ups) {
            assert_eq!(
                (ours.version, ours.description()),
                (theirs.version, theirs.description.to_string())
            );
            assert_eq!(ours.checksum, theirs.checksum.to_vec(), "{}", ours.label());
        }
    }
}

#[tokio::test]
#[expect(
    clippy::disallowed_methods,
    reason = "the test compares with sqlx's own migrator"
)]
async fn sqlx_and_migrate_take_turns_on_a_database_with_the_audit_trail() {
    let db = TestDb::new().await;
    let m = fixture();
    run(db
        .migrate(Some(m.path()))
        .args(["up", "--to", "20240102000000"]))
    .assert_code(0);
    assert!(db.table_exists("_migrate_runs").await);

    let mut conn = db.connect().await;
    Migrator::new(m.path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .expect("sqlx applies the rest, the audit tables beside its own");
    assert!(db.table_exists("users_name_idx").await);
    run(db.migrate(Some(m.path())).arg("verify")).assert_code(0);
    let steps: i64 = db.scalar("SELECT count(*) FROM _migrate_steps").await;
    assert_eq!(steps, 2, "only migrate's own steps are in its audit trail");
    run(db.migrate(Some(m.path())).arg("status"))
        .assert_stdout_contains("index_users_name applied");
}
