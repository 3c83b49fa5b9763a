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

/// A history table in a schema of its own (sqlx.toml `table-name = "tracking.schema_history"`,
/// as `examples/adopter/` has it): the runtime role can read it, so the schema gate works, and
/// cannot write it; the migrator's new schemas and their tables reach it as `public`'s do.
#[tokio::test]
async fn a_history_table_in_a_schema_of_its_own_is_readable_by_the_runtime_role() {
    let roles;
    let db = TestDb::new().await;
    roles = Roles::set_up(&db).await;
    let m = Migrations::new(&[(
        "1_notes.up.sql",
        "CREATE SCHEMA notes;\nCREATE TABLE notes.notes (id bigserial PRIMARY KEY, body text);\n",
    )]);
    let config = m.root().join("sqlx.toml");
    std::fs::write(
        &config,
        "[migrate]\ntable-name = \"tracking.schema_history\"\ncreate-schemas = [\"tracking\"]\n",
    )
    .unwrap();
    run(migrate_at(&roles.url(&db, &roles.migrator), Some(m.path()))
        .arg("--config")
        .arg(&config)
        .arg("up"))
    .assert_code(0);

    let set = migrate_engine::MigrationSet::from_dir(
        m.path(),
        migrate_engine::Config::load(&config).unwrap(),
    )
    .unwrap();
    let mut runtime = connect(&roles.url(&db, &roles.runtime)).await;
    assert_eq!(
        migrate_engine::gate::check(&mut runtime, &set)
            .await
            .unwrap(),
        migrate_engine::gate::SchemaState::Current
    );
    for write in [
        "DELETE FROM tracking.schema_history",
        "INSERT INTO tracking._migrate_runs (command) VALUES ('x')",
    ] {
        assert_eq!(refused(&mut runtime, write).await, "42501", "{write}");
    }
    runtime
        .execute("INSERT INTO notes.notes (body) VALUES ('hello')")
        .await
        .unwrap();
}

/// Operators run `ops/roles.sql` with psql's variables: a password with quotes, slashes,
/// ampersands, backslashes and dollars works as given, and the roles work as with any other.
#[tokio::test]
async fn ops_roles_sql_takes_any_password_through_psql_variables() {
    let roles;
    let db = TestDb::new().await;
    let password = r#"it's / & \ $1 $$ "q" :'x'"#;
    roles = Roles::set_up_with_psql(&db, password);
    let set: bool = db
        .scalar(&format!(
            "SELECT count(*) = 2 FROM pg_authid WHERE rolname IN ('{}', '{}') AND rolpassword IS NOT NULL",
            roles.migrator, roles.runtime
        ))
        .await;
    assert!(set, "both roles have a password");
    run(migrate_at(&roles.url(&db, &roles.migrator), None).arg("up")).assert_code(0);
    let mut runtime = connect(&roles.url(&db, &roles.runtime)).await;
    runtime
        .execute("INSERT INTO jobs (kind) VALUES ('echo')")
        .await
        .unwrap();
    assert_eq!(refused(&mut runtime, "DROP TABLE jobs").await, "42501");
}
