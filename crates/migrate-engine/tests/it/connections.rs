//! How `migrate` treats its connection: unreachable servers, bad credentials, and proxies that
//! would move its statements between server sessions.

use std::time::{Duration, Instant};

use crate::MIGRATE;
use test_support::{Migrations, PATIENCE, TestDb, pgbouncer::PgBouncer, run, spawned::Spawned};

const CREATE_A: (&str, &str) = ("1_create_a.up.sql", "CREATE TABLE a (id int);\n");

#[tokio::test]
async fn pgbouncer_in_transaction_mode_is_refused_before_anything_changes() {
    let db = TestDb::new().await;
    let bouncer = PgBouncer::start(&db, "transaction");
    let m = Migrations::new(&[CREATE_A]);
    let refused = run(MIGRATE
        .command()
        .env("MIGRATION_DATABASE_URL", bouncer.url(&db))
        .arg("--source")
        .arg(m.path())
        .arg("up"));
    refused
        .assert_code(1)
        .assert_stderr_contains("goes through a transaction-pooling proxy");
    refused.assert_stderr_contains("Point MIGRATION_DATABASE_URL at PostgreSQL directly");
    assert!(!db.table_exists("_sqlx_migrations").await);
    assert!(!db.table_exists("a").await);
}

#[tokio::test]
async fn pgbouncer_in_session_mode_is_fine() {
    let db = TestDb::new().await;
    let bouncer = PgBouncer::start(&db, "session");
    let m = Migrations::new(&[CREATE_A]);
    run(MIGRATE
        .command()
        .env("MIGRATION_DATABASE_URL", bouncer.url(&db))
        .arg("--source")
        .arg(m.path())
        .arg("up"))
    .assert_code(0);
    assert!(db.table_exists("a").await);
}

#[test]
fn an_unreachable_server_is_retried_until_the_connect_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let failed = run(MIGRATE
        .command()
        .env(
            "MIGRATION_DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/app"),
        )
        .args(["status", "--connect-timeout", "1500ms"]));
    let waited = started.elapsed();
    failed.assert_code(1).assert_stderr_contains(&format!(
        "cannot reach the database at postgres://postgres@127.0.0.1:{port}/app after 1.5s"
    ));
    failed.assert_stderr_contains("retrying until 1.5s have passed");
    // Retried for the 1.5 s asked, not for the default 30 s.
    assert!(
        waited >= Duration::from_millis(1200) && waited < Duration::from_secs(25),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_server_that_comes_up_late_is_waited_for() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_A]);
    // A port that answers only after a while: a forwarder to the real server, started late.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let server = url::Url::parse(&test_support::server_url()).unwrap();
    let target = format!(
        "{}:{}",
        server.host_str().unwrap(),
        server.port().unwrap_or(5432)
    );
    let mut late = url::Url::parse(&db.url).unwrap();
    late.set_host(Some("127.0.0.1")).unwrap();
    late.set_port(Some(port)).unwrap();
    let mut command = MIGRATE.command();
    command
        .env("MIGRATION_DATABASE_URL", late.as_str())
        .arg("--source")
        .arg(m.path())
        .args(["up", "--connect-timeout", "60s"]);
    let mut migrating = Spawned::start(&mut command);
    migrating.wait_for_log("cannot reach the database").await;

    tokio::spawn(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        loop {
            let (mut client, _) = listener.accept().await.unwrap();
            let target = target.clone();
            tokio::spawn(async move {
                let mut upstream = tokio::net::TcpStream::connect(target).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    assert_eq!(migrating.finished().await, Some(0), "{}", migrating.logs());
    assert!(db.table_exists("a").await);
}

#[tokio::test]
async fn an_unknown_role_or_database_fails_at_once() {
    let db = TestDb::new().await;
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_username("no_such_role").unwrap();
    // Retried, each would wait ten minutes; failing at once, neither waits at all.
    let started = Instant::now();
    run(MIGRATE
        .command()
        .env("MIGRATION_DATABASE_URL", url.as_str())
        .args(["status", "--connect-timeout", "10m"]))
    .assert_code(1)
    .assert_stderr_contains("authentication failed for postgres://no_such_role@")
    .assert_stderr_contains("check the user and password in MIGRATION_DATABASE_URL");

    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_path("no_such_database");
    run(MIGRATE
        .command()
        .env("MIGRATION_DATABASE_URL", url.as_str())
        .args(["status", "--connect-timeout", "10m"]))
    .assert_code(1)
    .assert_stderr_contains("database \"no_such_database\" does not exist");
    assert!(
        started.elapsed() < PATIENCE,
        "no retrying: {:?}",
        started.elapsed()
    );
}

/// Docker and Kubernetes mount secrets as files: `MIGRATION_DATABASE_URL_FILE` names one. Its
/// contents are never printed, not even when they do not work.
#[tokio::test]
async fn the_url_can_come_from_a_file_and_is_never_printed() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_A]);
    let secrets = tempfile::tempdir().unwrap();
    let file = secrets.path().join("migration-url");
    std::fs::write(&file, format!("{}\n", db.url)).unwrap();
    run(MIGRATE
        .command()
        .env("MIGRATION_DATABASE_URL_FILE", &file)
        .arg("--source")
        .arg(m.path())
        .arg("up"))
    .assert_code(0);
    assert!(db.table_exists("a").await);

    let both = run(MIGRATE
        .command()
        .env("MIGRATION_DATABASE_URL_FILE", &file)
        .env("MIGRATION_DATABASE_URL", &db.url)
        .arg("status"));
    both.assert_code(1).assert_stderr_contains(
        "both MIGRATION_DATABASE_URL and MIGRATION_DATABASE_URL_FILE are set: keep one of them",
    );

    let missing = secrets.path().join("not-mounted");
    run(MIGRATE
        .command()
        .env("MIGRATION_DATABASE_URL_FILE", &missing)
        .arg("status"))
    .assert_code(1)
    .assert_stderr_contains(&format!(
        "MIGRATION_DATABASE_URL_FILE names {}, which cannot be read",
        missing.display()
    ));

    let mut wrong = url::Url::parse(&db.url).unwrap();
    wrong.set_username("no_such_role").unwrap();
    wrong.set_password(Some("file-secret-pw")).unwrap();
    std::fs::write(&file, wrong.as_str()).unwrap();
    let refused = run(MIGRATE
        .command()
        .env("MIGRATION_DATABASE_URL_FILE", &file)
        .args(["status", "--connect-timeout", "10m"]));
    refused
        .assert_code(1)
        .assert_stderr_contains("check the user and password in MIGRATION_DATABASE_URL_FILE");
    assert!(
        !refused.stderr.contains("file-secret-pw"),
        "{}",
        refused.stderr
    );
}
