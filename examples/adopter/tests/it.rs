//! Another application's `migrate`, built from its own migrations and `sqlx.toml`
//! (`db/migrations`, history in `tracking.schema_history`, CRLF ignored): the embedded set
//! carries the configuration, and the history it writes is the one sqlx's own migrator writes
//! from the same `sqlx::migrate!()`.

use test_support::{Binary, TestDb, run};

const MIGRATE: Binary = Binary(env!("CARGO_BIN_EXE_adopter-migrate"));
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

const HISTORY: &str = "SELECT string_agg(version || ' ' || description || ' ' || success || ' ' || encode(checksum, 'hex'), \
                       E'\\n' ORDER BY version) FROM tracking.schema_history";

fn migrate(db: &TestDb) -> std::process::Command {
    let mut command = MIGRATE.command();
    command.env("MIGRATION_DATABASE_URL", &db.url);
    command
}

#[tokio::test]
#[expect(
    clippy::disallowed_methods,
    reason = "the test compares with sqlx's own migrator"
)]
async fn the_embedded_set_carries_its_sqlx_toml_and_writes_sqlx_s_history() {
    let (ours, theirs) = (TestDb::new().await, TestDb::new().await);
    run(migrate(&ours).arg("up")).assert_code(0);
    assert!(ours.table_exists("tracking.schema_history").await);
    assert!(!ours.table_exists("_sqlx_migrations").await);
    MIGRATOR.run(&mut theirs.connect().await).await.unwrap();
    assert_eq!(
        ours.scalar::<String>(HISTORY).await,
        theirs.scalar::<String>(HISTORY).await
    );

    run(migrate(&theirs).arg("verify")).assert_code(0);
    MIGRATOR.run(&mut ours.connect().await).await.unwrap();
    let status = run(migrate(&ours).arg("status"));
    status
        .assert_code(0)
        .assert_stdout_contains("3 migration(s): 3 applied");
    status.assert_stdout_contains("create-accounts");
}

/// The service waits at the gate (its `/ready` says what is missing) and serves once the
/// adopter's `migrate up` has run; it never creates anything itself.
#[tokio::test]
async fn the_service_waits_for_migrate_then_is_ready() {
    let db = TestDb::new().await;
    let mut command = Binary(env!("CARGO_BIN_EXE_adopter-server")).command();
    command
        .env("DATABASE_URL", &db.url)
        .env("LISTEN", "127.0.0.1:0");
    let server = test_support::spawned::Spawned::listening(&mut command);
    server
        .wait_for_log("schema: waiting for `migrate up`")
        .await;
    let waiting = test_support::http::request(server.addr(), "GET", "/ready", None)
        .await
        .unwrap();
    assert_eq!(waiting.status, 503);
    assert_eq!(waiting.json()["reason"], "schema_behind");
    assert!(!db.table_exists("tracking.schema_history").await);

    run(migrate(&db).arg("up")).assert_code(0);
    server.wait_until_ready().await;
}
