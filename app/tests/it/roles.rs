//! The two roles of `ops/roles.sql`: the migrator owns the schema; the runtime role reads and
//! writes rows, including in tables later migrations create, and can change nothing else.

use crate::{API, WORKER, migrate_at};
use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};
use test_support::{
    Migrations, TestDb, eventually, http::request, roles::Roles, run, spawned::Spawned,
};

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap()
}

/// The SQLSTATE of a statement that must fail.
async fn refused(conn: &mut PgConnection, sql: &'static str) -> String {
    let error = conn.execute(sql).await.expect_err(sql);
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_runtime_role_reads_and_writes_but_cannot_change_the_schema() {
    let roles;
    let db = TestDb::new().await;
    roles = Roles::set_up(&db).await;
    run(migrate_at(&roles.url(&db, &roles.migrator), None).arg("up")).assert_code(0);

    let mut runtime = connect(&roles.url(&db, &roles.runtime)).await;
    runtime
        .execute("INSERT INTO jobs (kind) VALUES ('echo')")
        .await
        .unwrap();
    runtime
        .execute("UPDATE jobs SET attempts = 1")
        .await
        .unwrap();
    runtime.execute("SELECT * FROM jobs").await.unwrap();
    runtime.execute("DELETE FROM jobs").await.unwrap();
    for readable in [
        "SELECT * FROM _sqlx_migrations",
        "SELECT * FROM _migrate_runs",
        "SELECT * FROM _migrate_steps",
    ] {
        runtime.execute(readable).await.unwrap();
    }

    for sql in [
        "CREATE TABLE sneaky (id int)",
        "ALTER TABLE jobs ADD COLUMN sneaky int",
        "DROP TABLE jobs",
        "TRUNCATE jobs",
        "CREATE INDEX sneaky ON jobs (kind)",
        "INSERT INTO _sqlx_migrations VALUES (1, 'forged', now(), true, '\\x00', 0)",
        "DELETE FROM _sqlx_migrations",
        "INSERT INTO _migrate_runs (command, build_version, build_commit, lock_wait_ms) VALUES ('forged', '', '', 0)",
        "UPDATE _migrate_runs SET outcome = 'succeeded'",
        "DELETE FROM _migrate_steps",
    ] {
        assert_eq!(
            refused(&mut runtime, sql).await,
            "42501",
            "{sql} must be refused (insufficient_privilege)"
        );
    }
}

#[tokio::test]
async fn tables_of_later_migrations_are_usable_by_the_runtime_role() {
    let roles;
    let db = TestDb::new().await;
    roles = Roles::set_up(&db).await; // before any migration exists
    let m = Migrations::new(&[(
        "1_create_notes.up.sql",
        "CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL);\n",
    )]);
    run(migrate_at(&roles.url(&db, &roles.migrator), Some(m.path())).arg("up")).assert_code(0);
    let mut runtime = connect(&roles.url(&db, &roles.runtime)).await;
    runtime
        .execute("INSERT INTO notes (body) VALUES ('hello')")
        .await
        .unwrap();
    let body: String = sqlx::query_scalar("SELECT body FROM notes")
        .fetch_one(&mut runtime)
        .await
        .unwrap();
    assert_eq!(body, "hello");
}

#[tokio::test]
async fn the_app_runs_as_the_runtime_role() {
    let roles;
    let db = TestDb::new().await;
    roles = Roles::set_up(&db).await;
    run(migrate_at(&roles.url(&db, &roles.migrator), None).arg("up")).assert_code(0);
    let runtime_url = roles.url(&db, &roles.runtime);

    let mut api = API.command();
    api.env("DATABASE_URL", &runtime_url)
        .args(["--listen", "127.0.0.1:0"]);
    let api = Spawned::listening(&mut api);
    api.wait_until_ready().await;
    let mut worker = WORKER.command();
    worker
        .env("DATABASE_URL", &runtime_url)
        .args(["--poll-interval-ms", "50"]);
    let _worker = Spawned::start(&mut worker);

    let created = request(
        api.addr(),
        "POST",
        "/jobs",
        Some(&json!({"kind": "sum", "payload": {"numbers": [2, 3]}})),
    )
    .await
    .unwrap();
    let id = created.json()["id"].as_i64().unwrap();
    let job = || async {
        request(api.addr(), "GET", &format!("/jobs/{id}"), None)
            .await
            .unwrap()
            .json()
    };
    eventually("the job has run", || async {
        job().await["status"] == "succeeded"
    })
    .await;
    assert_eq!(job().await["result"], json!({"sum": 5.0}));
}
