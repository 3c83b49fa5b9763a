//! Many runners at once, with real processes: exactly one applies, the others wait and find
//! nothing left to do, and a runner kept waiting names who holds the lock.

use std::process::Stdio;

use crate::MigrateCommand;
use test_support::{Latch, Migrations, TestDb, run, spawned::Spawned};

const RUNNERS: usize = 20;
const TRIALS: usize = 5;
const MIGRATIONS: i64 = 10;

/// Migration 1 makes an audit table without a unique key and dawdles so that every runner
/// arrives while it works; each later one creates a type (the `pg_type_typname_nsp_index`
/// race) and a table, and appends its version to the audit table: a migration that ran twice
/// would leave a duplicate row.
fn herd_fixture() -> Migrations {
    let m = Migrations::new(&[(
        "1_create_audit.up.sql",
        "CREATE TABLE audit (version bigint NOT NULL);\nSELECT pg_sleep(0.3);\n",
    )]);
    for v in 2..=MIGRATIONS {
        m.write(
            &format!("{v}_create_thing_{v}.up.sql"),
            &format!(
                "CREATE TYPE mood_{v} AS ENUM ('calm', 'busy');\n\
                 CREATE TABLE thing_{v} (id int, mood mood_{v});\n\
                 INSERT INTO audit VALUES ({v});\n"
            ),
        );
    }
    m
}

#[tokio::test]
async fn runners_started_together_apply_every_migration_exactly_once() {
    let m = herd_fixture();
    for trial in 1..=TRIALS {
        let db = TestDb::new().await;
        let runners: Vec<_> = (0..RUNNERS)
            .map(|_| {
                db.migrate(Some(m.path()))
                    .arg("up")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<_> = runners
            .into_iter()
            .map(|r| r.wait_with_output().unwrap())
            .collect();
        let failed: Vec<String> = outputs
            .iter()
            .filter(|o| !o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect();
        assert!(
            failed.is_empty(),
            "trial {trial}: {} of {RUNNERS} runners failed:\n{}",
            failed.len(),
            failed.join("\n---\n")
        );

        let appliers = outputs
            .iter()
            .filter(|o| String::from_utf8_lossy(&o.stderr).contains("applied 1_create_audit"))
            .count();
        assert_eq!(appliers, 1, "trial {trial}: exactly one runner applies");
        let rows = db.scalar::<i64>("SELECT count(*) FROM audit").await;
        let distinct = db
            .scalar::<i64>("SELECT count(DISTINCT version) FROM audit")
            .await;
        assert_eq!(
            (rows, distinct),
            (MIGRATIONS - 1, MIGRATIONS - 1),
            "trial {trial}: each migration ran once"
        );
        assert_eq!(
            db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
                .await,
            MIGRATIONS
        );
        assert_eq!(db.advisory_locks().await, 0);
    }
}

#[tokio::test]
async fn a_runner_kept_waiting_names_the_holder_and_gives_up_with_exit_code_3() {
    let db = TestDb::new().await;
    let latch = Latch::hold(&db).await;
    let m = Migrations::new(&[(
        "1_slow.up.sql",
        &format!("{}CREATE TABLE a (id int);\n", latch.sql()),
    )]);
    // The holder takes the lock and stays in its migration until the latch is released.
    let mut holder = Spawned::start(db.migrate(Some(m.path())).arg("up"));
    latch.reached(&db).await;

    let waiter = run(db
        .migrate(Some(m.path()))
        .args(["up", "--lock-wait", "1500ms"]));
    waiter.assert_code(3);
    let holder_name = format!("application_name \"migrate pid={}", holder.id());
    waiter.assert_stderr_contains("waiting for the migration lock, held by pid");
    waiter.assert_stderr_contains(&holder_name);
    waiter.assert_stderr_contains(
        "gave up after waiting 1.5s (--lock-wait) for the migration lock, held by pid",
    );
    assert!(!db.table_exists("a").await, "the waiter changed nothing");

    latch.release().await;
    assert_eq!(holder.wait(), Some(0), "{}", holder.logs());
    assert!(db.table_exists("a").await);
}
