//! The api and workers wait at the schema gate: they start only when the database holds every
//! migration they embed, wake as soon as `migrate` finishes, refuse a contradicting history,
//! and never change the schema themselves.

use std::time::Instant;

use crate::{API, MigrateCommand, WORKER, embedded, migrated};
use serde_json::{Value, json};
use test_support::{
    Migrations, PATIENCE, TestDb, eventually, http::request, run, spawned::Spawned,
};

/// Logged once a process has looked at the history and found migrations pending.
const WAITING: &str = "schema: waiting for `migrate up`";

fn api(url: &str, extra_env: &[(&str, &str)]) -> Spawned {
    let mut command = API.command();
    command
        .env("DATABASE_URL", url)
        .args(["--listen", "127.0.0.1:0"]);
    command.envs(extra_env.iter().copied());
    Spawned::listening(&mut command)
}

fn worker(url: &str, extra_env: &[(&str, &str)]) -> Spawned {
    let mut command = WORKER.command();
    command
        .env("DATABASE_URL", url)
        .args(["--listen", "127.0.0.1:0", "--poll-interval-ms", "50"]);
    command.envs(extra_env.iter().copied());
    Spawned::listening(&mut command)
}

async fn ready(process: &Spawned) -> (u16, Value) {
    let response = request(process.addr(), "GET", "/ready", None)
        .await
        .unwrap();
    (response.status, response.json())
}

fn embedded_versions() -> Vec<i64> {
    embedded().iter().map(|m| m.version).collect()
}

/// The project's migrations, with the first one's text changed: same version, other checksum.
fn project_with_first_edited() -> Migrations {
    let m = Migrations::project();
    let first = embedded().iter().next().unwrap().clone();
    m.write(
        &first.up.file,
        &format!("{}-- edited after it ran\n", first.up.sql),
    );
    m
}

#[tokio::test]
async fn processes_wait_for_migrate_and_wake_as_soon_as_it_finishes() {
    let db = TestDb::new().await;
    // They would look again only in an hour: only migrate's notification can wake them.
    let no_poll = [("SCHEMA_POLL_INTERVAL", "1h")];
    let api = api(&db.url, &no_poll);
    let worker = worker(&db.url, &no_poll);
    for process in [&api, &worker] {
        process.wait_for_log(WAITING).await;
        assert_eq!(
            request(process.addr(), "GET", "/health", None)
                .await
                .unwrap()
                .status,
            200
        );
        let (status, body) = ready(process).await;
        assert_eq!(status, 503);
        assert_eq!(
            body,
            json!({"status": "not_ready", "reason": "schema_behind", "missing": embedded_versions()})
        );
    }
    let refused = request(api.addr(), "POST", "/jobs", Some(&json!({"kind": "echo"})))
        .await
        .unwrap();
    assert_eq!(refused.status, 503, "{}", refused.body);

    run(db.migrate(None).arg("up")).assert_code(0);
    for process in [&api, &worker] {
        process.wait_until_ready().await;
    }
    let created = request(api.addr(), "POST", "/jobs", Some(&json!({"kind": "echo"})))
        .await
        .unwrap();
    assert_eq!(created.status, 201);
}

#[tokio::test]
async fn a_worker_claims_nothing_until_the_schema_is_complete() {
    let db = TestDb::new().await;
    let first = Migrations::project();
    let all = embedded();
    for m in all.iter().skip(1) {
        first.remove(&m.up.file);
        if let Some(down) = &m.down {
            first.remove(&down.file);
        }
    }
    run(db.migrate(Some(first.path())).arg("up")).assert_code(0);
    let mut conn = db.connect().await;
    sqlx::Executor::execute(
        &mut conn,
        "INSERT INTO jobs (kind, payload) VALUES ('echo', '{}')",
    )
    .await
    .unwrap();

    let worker = worker(&db.url, &[]);
    worker.wait_for_log(WAITING).await;
    assert_eq!(
        db.scalar::<String>("SELECT status FROM jobs").await,
        "queued",
        "{}",
        worker.logs()
    );

    run(db.migrate(None).arg("up")).assert_code(0);
    eventually("the worker has run the job", || async {
        db.scalar::<String>("SELECT status FROM jobs").await == "succeeded"
    })
    .await;
}

#[tokio::test]
async fn an_edited_migration_makes_them_refuse_to_start() {
    let db = TestDb::new().await;
    run(db
        .migrate(Some(project_with_first_edited().path()))
        .arg("up"))
    .assert_code(0);
    let first = embedded_versions()[0];
    for binary in [API, WORKER] {
        let refused = run(binary
            .command()
            .env("DATABASE_URL", &db.url)
            .args(["--listen", "127.0.0.1:0"]));
        refused.assert_code(1);
        refused.assert_stderr_contains(&format!(
            "refusing to start: applied migrations [{first}] differ from this build's files"
        ));
    }
}

#[tokio::test]
async fn failed_history_rows_make_them_refuse_to_start() {
    let db = migrated().await;
    let mut conn = db.connect().await;
    sqlx::Executor::execute(&mut conn, "UPDATE _sqlx_migrations SET success = false WHERE version = (SELECT max(version) FROM _sqlx_migrations)")
        .await
        .unwrap();
    run(API
        .command()
        .env("DATABASE_URL", &db.url)
        .args(["--listen", "127.0.0.1:0"]))
    .assert_code(1)
    .assert_stderr_contains("are recorded as failed in _sqlx_migrations");
}

#[tokio::test]
async fn a_database_ahead_of_the_build_is_a_rolling_deploy_and_fine() {
    let db = TestDb::new().await;
    let newer = Migrations::project();
    newer.write(
        "29991231000000_from_the_next_release.up.sql",
        "CREATE TABLE next_release (id int);\n",
    );
    run(db.migrate(Some(newer.path())).arg("up")).assert_code(0);
    let api = api(&db.url, &[]);
    api.wait_until_ready().await;
    api.wait_for_log("also has migrations [29991231000000] that this build does not know")
        .await;
}

#[tokio::test]
async fn they_give_up_after_schema_wait_timeout() {
    let db = TestDb::new().await;
    let started = Instant::now();
    run(WORKER
        .command()
        .env("DATABASE_URL", &db.url)
        .env("SCHEMA_WAIT_TIMEOUT", "1s"))
    .assert_code(1)
    .assert_stderr_contains("gave up after 1s (SCHEMA_WAIT_TIMEOUT) waiting for migrations");
    // Far sooner than the default five minutes, however busy the machine.
    assert!(started.elapsed() < PATIENCE, "{:?}", started.elapsed());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("postgres://postgres@127.0.0.1:{port}/app");
    let mut api = api(&unreachable, &[("SCHEMA_WAIT_TIMEOUT", "2s")]);
    let (status, body) = ready(&api).await;
    assert_eq!(
        (status, body),
        (
            503,
            json!({"status": "not_ready", "reason": "database_unreachable"})
        )
    );
    assert_eq!(api.wait(), Some(1), "{}", api.logs());
    assert!(
        api.logs().contains("the database is unreachable"),
        "{}",
        api.logs()
    );
}

#[tokio::test]
async fn stopped_while_waiting_they_exit_cleanly() {
    let db = TestDb::new().await;
    let mut api = api(&db.url, &[]);
    let mut worker = worker(&db.url, &[]);
    assert_eq!(worker.terminate(), Some(0), "{}", worker.logs());
    assert_eq!(api.terminate(), Some(0), "{}", api.logs());
}

#[tokio::test]
async fn the_api_and_worker_never_change_the_schema_even_when_they_could() {
    // Connected as a role that may create anything, on an empty database, they only wait.
    let db = TestDb::new().await;
    let api = api(&db.url, &[]);
    let worker = worker(&db.url, &[]);
    let refused = request(api.addr(), "POST", "/jobs", Some(&json!({"kind": "echo"})))
        .await
        .unwrap();
    assert_eq!(refused.status, 503, "{}", refused.body);
    for process in [&api, &worker] {
        process.wait_for_log(WAITING).await;
    }
    let objects = db
        .scalar::<i64>(
            "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace) \
                  + (SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace) \
                  + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace) \
                  + (SELECT count(*) FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' AND nspname NOT IN ('public', 'information_schema'))",
        )
        .await;
    assert_eq!(
        objects,
        0,
        "api:\n{}\nworker:\n{}",
        api.logs(),
        worker.logs()
    );
}

#[tokio::test]
async fn the_runtime_url_can_come_from_a_file_as_secrets_are_mounted() {
    let db = migrated().await;
    let secrets = tempfile::tempdir().unwrap();
    let file = secrets.path().join("database-url");
    std::fs::write(&file, format!("{}\n", db.url)).unwrap();
    let mut command = API.command();
    command
        .env("DATABASE_URL_FILE", &file)
        .args(["--listen", "127.0.0.1:0"]);
    let api = Spawned::listening(&mut command);
    api.wait_until_ready().await;
    let password = url::Url::parse(&db.url)
        .unwrap()
        .password()
        .map(str::to_owned);
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        assert!(!api.logs().contains(&password), "{}", api.logs());
    }
}
