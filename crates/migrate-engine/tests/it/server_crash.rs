//! The server itself crashes (`pg_ctl stop -m immediate` on a cluster of the test's own, with
//! durable settings): `migrate` commits every migration but the last of a run without waiting
//! for the WAL flush, so a crash mid-run may lose the last few migrations, but each whole, with
//! its history row; and once `migrate` has exited 0, nothing is lost. The WAL writer is slowed
//! down (`wal_writer_delay = 10s`) so that only commits that wait for the flush reach the disk.

use sqlx::{Connection, PgConnection};
use test_support::{Migrations, cluster::OwnCluster, eventually, run, spawned::Spawned};

use crate::migrate_at;

const SETTINGS: &str = "wal_writer_delay = '10s'\n";

/// `count` migrations, each creating table `t<version>`.
fn one_table_migrations(count: i64) -> Migrations {
    let m = Migrations::new(&[]);
    for v in 1..=count {
        m.write(
            &format!("{v}_create_t{v}.up.sql"),
            &format!("CREATE TABLE t{v} (id int);\n"),
        );
    }
    m
}

/// The recorded versions, and the versions whose table exists.
async fn recorded_and_present(url: &str) -> (Vec<i64>, Vec<i64>) {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let recorded = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
    let present = sqlx::query_scalar(
        "SELECT substr(relname, 2)::bigint AS v FROM pg_class \
         WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname ~ '^t[0-9]+$' ORDER BY v",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    (recorded, present)
}

#[tokio::test]
async fn a_crash_mid_run_keeps_or_loses_each_migration_whole_and_the_next_run_finishes() {
    let mut cluster = OwnCluster::start(SETTINGS, &[]);
    let url = cluster.url("postgres");
    let m = one_table_migrations(3000);
    let mut runner = Spawned::start(migrate_at(&url, Some(m.path())).arg("up"));
    eventually("migrate has applied 200 migrations", || async {
        recorded_and_present(&url).await.0.len() >= 200
    })
    .await;
    cluster.crash();
    assert_ne!(
        runner.wait(),
        Some(0),
        "migrate noticed the server went away:\n{}",
        runner.logs()
    );
    cluster.restart();

    let (recorded, present) = recorded_and_present(&url).await;
    assert_eq!(
        recorded, present,
        "every recorded migration is there, and nothing else"
    );
    assert!(recorded.len() < 3000, "the crash came mid-run");
    run(migrate_at(&url, Some(m.path())).arg("up")).assert_code(0);
    run(migrate_at(&url, Some(m.path())).arg("verify")).assert_code(0);
    let (recorded, present) = recorded_and_present(&url).await;
    assert_eq!((recorded.len(), present.len()), (3000, 3000));
}

#[tokio::test]
async fn once_migrate_exits_0_a_crash_loses_nothing() {
    let mut cluster = OwnCluster::start(SETTINGS, &[]);
    let url = cluster.url("postgres");
    let m = one_table_migrations(300);
    run(migrate_at(&url, Some(m.path())).arg("up")).assert_code(0);
    cluster.crash();
    cluster.restart();
    let (recorded, present) = recorded_and_present(&url).await;
    assert_eq!((recorded.len(), present.len()), (300, 300));
    run(migrate_at(&url, Some(m.path())).arg("verify")).assert_code(0);
}
