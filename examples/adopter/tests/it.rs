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
