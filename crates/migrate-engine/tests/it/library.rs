//! The engine as a library, the way an adopter's own tooling drives it: what `lib.rs` exports
//! is enough to apply, inspect, revert and baseline, and to wait at the schema gate.

use std::time::Duration;

use migrate_core::{Config, MigrationSet};
use migrate_engine::{
    BaselineOptions, DownOptions, Engine, ErrorKind, Policy, RunInfo, Session, State, UpOptions,
    gate::{self, GateStatus, Patience, SchemaState},
    settings::DatabaseSettings,
    shutdown::Shutdown,
};
use sqlx::postgres::PgPoolOptions;
use test_support::{Migrations, TestDb};

fn set(m: &Migrations) -> MigrationSet {
    MigrationSet::from_dir(m.path(), Config::default()).unwrap()
}

async fn session(db: &TestDb) -> Session {
    let settings = DatabaseSettings::parse("TEST_DATABASE_URL", &db.url).unwrap();
    Session::connect_watched(&settings, Duration::from_secs(10), &Shutdown::manual())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_adopter_applies_inspects_reverts_and_baselines_through_the_api() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[
        ("1_a.up.sql", "CREATE TABLE a (id int);\n"),
        ("1_a.down.sql", "DROP TABLE a;\n"),
        ("2_b.sql", "CREATE TABLE b (id int);\n"),
    ]);
    let set = set(&m);
    let info = RunInfo {
        command: "my-deploy-tool".into(),
        ..RunInfo::default()
    };
    #[expect(clippy::disallowed_methods, reason = "this test is a migrating tool")]
    {
        let engine = Engine::new(&set, Policy::default()).recording(info);
        let mut session = session(&db).await;
        let to_one = UpOptions {
            to: Some(1),
            ..UpOptions::default()
        };
        assert_eq!(engine.up(&mut session, &to_one).await.unwrap(), [1]);
        let status = engine.status(&mut session).await.unwrap();
        let states: Vec<State> = status.entries.iter().map(|e| e.state).collect();
        assert_eq!(states, [State::Applied, State::Pending]);
        assert_eq!(
            engine
                .up(&mut session, &UpOptions::default())
                .await
                .unwrap(),
            [2]
        );

        let refused = engine
            .down(&mut session, &DownOptions::default())
            .await
            .unwrap_err();
        assert_eq!(
            refused.kind(),
            ErrorKind::Refused,
            "forward-only by default"
        );
        let allowed = DownOptions {
            to: Some(0),
            allow_down: true,
            ..DownOptions::default()
        };
        let no_down = engine.down(&mut session, &allowed).await.unwrap_err();
        assert!(
            no_down.to_string().contains("2_b.sql has no down file"),
            "{no_down}"
        );

        let runs = engine.runs(&mut session, 10).await.unwrap();
        let outcomes: Vec<&str> = runs.iter().map(|r| r.outcome.as_str()).collect();
        assert_eq!(outcomes, ["refused", "refused", "succeeded", "succeeded"]);
        assert!(runs.iter().all(|r| r.command == "my-deploy-tool"));
        assert!(
            runs[0].start_lsn.is_some(),
            "each run records where the WAL was"
        );
        session.close().await;

        let adopted = TestDb::new().await;
        adopted
            .execute("CREATE TABLE a (id int); CREATE TABLE b (id int);")
            .await;
        let mut session = self::session(&adopted).await;
        let recorded = engine
            .baseline(&mut session, &BaselineOptions::default())
            .await
            .unwrap();
        assert_eq!(recorded, [1, 2]);
        assert!(engine.status(&mut session).await.unwrap().is_exact());
        session.close().await;
    }
}

#[tokio::test]
async fn an_adopter_s_service_waits_at_the_gate_until_the_schema_is_there() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[("1_a.sql", "CREATE TABLE a (id int);\n")]);
    let set = set(&m);
    let settings = DatabaseSettings::parse("DATABASE_URL", &db.url).unwrap();
    let pool = PgPoolOptions::new().connect_lazy_with(settings.connect_options("service"));
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(
        gate::check(&mut *conn, &set).await.unwrap(),
        SchemaState::Behind { pending: vec![1] }
    );
    drop(conn);

    let (status, mut watched) = tokio::sync::watch::channel(GateStatus::DatabaseUnreachable);
    let patience = Patience {
        timeout: test_support::PATIENCE,
        poll: Duration::from_secs(3600),
    };
    let waiting = gate::wait_for_schema(&pool, &settings, &set, patience, &status);
    let migrating = async {
        watched
            .wait_for(|s| matches!(s, GateStatus::SchemaBehind { .. }))
            .await
            .unwrap();
        let mut session = session(&db).await;
        #[expect(clippy::disallowed_methods, reason = "the test plays `migrate`")]
        Engine::new(&set, Policy::default())
            .up(&mut session, &UpOptions::default())
            .await
            .unwrap();
        session.close().await;
    };
    let (passed, ()) = tokio::join!(waiting, migrating);
    assert_eq!(passed.unwrap(), SchemaState::Current);
}
