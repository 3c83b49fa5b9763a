//! Recovery after a bad migration: every run that changes the schema records the server's WAL
//! position at its start (`migrate history`), and a point-in-time recovery to that position
//! (`recovery_target_lsn`) gives the database as it was just before the run.

use serde_json::Value;
use sqlx::{Connection, PgConnection};
use test_support::{Migrations, cluster::OwnCluster, run};

use crate::migrate_at;

async fn scalar<T>(url: &str, sql: &'static str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

#[tokio::test]
async fn recovery_to_a_run_s_recorded_position_gives_the_schema_before_it() {
    let server = OwnCluster::archiving();
    let admin = server.url("postgres");
    let mut conn = PgConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql("CREATE DATABASE app")
        .execute(&mut conn)
        .await
        .unwrap();
    let app = server.url("app");

    let good = Migrations::new(&[(
        "1_notes.up.sql",
        "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL);\n",
    )]);
    run(migrate_at(&app, Some(good.path())).arg("up")).assert_code(0);
    let mut db = PgConnection::connect(&app).await.unwrap();
    sqlx::raw_sql("INSERT INTO notes VALUES (1, 'kept')")
        .execute(&mut db)
        .await
        .unwrap();
    let backup = server.base_backup();

    // The bad one: it runs fine, and loses a column of data.
    good.write(
        "2_drop_body.up.sql",
        "ALTER TABLE notes DROP COLUMN body;\n",
    );
    run(migrate_at(&app, Some(good.path())).arg("up")).assert_code(0);
    let history = run(migrate_at(&app, Some(good.path())).args(["history", "--json"]));
    history.assert_code(0);
    let runs: Value = serde_json::from_str(&history.stdout).unwrap();
    let bad_run = &runs[0];
    assert!(
        bad_run["command"].as_str().unwrap().ends_with(" up"),
        "{bad_run}"
    );
    let lsn = bad_run["start_lsn"]
        .as_str()
        .expect("the run's WAL position")
        .to_owned();
    run(migrate_at(&app, Some(good.path())).arg("history"))
        .assert_code(0)
        .assert_stdout_contains(&format!("WAL {lsn}"));

    // Everything up to now into the archive.
    let segment: String = scalar(&admin, "SELECT pg_walfile_name(pg_switch_wal())").await;
    test_support::eventually("the WAL of the bad run is archived", || async {
        let archived: Option<String> =
            scalar(&admin, "SELECT last_archived_wal FROM pg_stat_archiver").await;
        archived.is_some_and(|a| a >= segment)
    })
    .await;

    let before = server
        .recover(&backup, &format!("recovery_target_lsn = '{lsn}'"))
        .await;
    let restored = before.url("app");
    let body: String = scalar(&restored, "SELECT body FROM notes WHERE id = 1").await;
    assert_eq!(body, "kept");
    let versions: Vec<i64> = scalar(
        &restored,
        "SELECT array_agg(version ORDER BY version) FROM _sqlx_migrations",
    )
    .await;
    assert_eq!(versions, [1], "the bad migration is not there");

    // The archive does hold the bad run: replayed to its end, the column is gone.
    let after = server.recover(&backup, "").await;
    let columns: i64 = scalar(
        &after.url("app"),
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'notes' AND column_name = 'body'",
    )
    .await;
    assert_eq!(columns, 0);
}
