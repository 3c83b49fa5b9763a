//! The audit trail: every run that changes, or tries to change, the schema is recorded with
//! who ran it and from which build, each step with its outcome; failures survive their
//! rollback, a refused `down` is recorded, and a run killed with `kill -9` is reported by the
//! next one. Runs that only read record nothing.

use serde_json::Value;
use test_support::{
    Latch, Migrations, TestDb, run,
    spawned::{Signal, Spawned},
};

use crate::MigrateCommand;

const CREATE_A: (&str, &str) = ("1_create_a.up.sql", "CREATE TABLE a (id int);\n");
const DROP_A: (&str, &str) = ("1_create_a.down.sql", "DROP TABLE a;\n");
const CREATE_B: (&str, &str) = ("2_create_b.up.sql", "CREATE TABLE b (id int);\n");
const DROP_B: (&str, &str) = ("2_create_b.down.sql", "DROP TABLE b;\n");

/// `migrate history --json` on `db`.
fn history(db: &TestDb, m: &Migrations) -> Vec<Value> {
    let shown = run(db.migrate(Some(m.path())).args(["history", "--json"]));
    shown.assert_code(0);
    serde_json::from_str(&shown.stdout).unwrap()
}

fn steps(run: &Value) -> Vec<(i64, &str, &str)> {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["version"].as_i64().unwrap(),
                s["direction"].as_str().unwrap(),
                s["outcome"].as_str().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_run_is_recorded_with_who_ran_it_from_which_build_and_each_step() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_A, DROP_A, CREATE_B, DROP_B]);
    run(db.migrate(Some(m.path())).arg("status")).assert_code(0);
    run(db.migrate(Some(m.path())).args(["up", "--dry-run"])).assert_code(0);
    assert!(
        !db.table_exists("_migrate_runs").await,
        "reading runs record nothing"
    );

    run(db.migrate(Some(m.path())).arg("up").env("USER", "deployer")).assert_code(0);
    let runs = history(&db, &m);
    assert_eq!(runs.len(), 1);
    let up = &runs[0];
    assert_eq!(up["outcome"], "succeeded");
    assert!(up["command"].as_str().unwrap().ends_with(" up"), "{up}");
    assert_eq!(up["os_user"], "deployer");
    assert_eq!(up["build_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        up["application_name"]
            .as_str()
            .unwrap()
            .starts_with("migrate pid=")
    );
    let role: String = db.scalar("SELECT current_user::text").await;
    assert_eq!(up["database_role"], role.as_str());
    assert!(up["finished_at"].is_string() && up["lock_wait_ms"].is_i64());
    assert_eq!(steps(up), [(1, "apply", "done"), (2, "apply", "done")]);
    let checksum: String = db
        .scalar("SELECT encode(checksum, 'hex') FROM _sqlx_migrations WHERE version = 2")
        .await;
    assert_eq!(up["steps"][1]["checksum"], checksum.as_str());
    assert_eq!(up["steps"][1]["attempts"], 1);

    run(db.migrate(Some(m.path())).arg("status"))
        .assert_stdout_contains(&format!("{role} on "))
        .assert_stdout_contains("(run 1)");
    run(db.migrate(Some(m.path())).arg("history"))
        .assert_stdout_contains("run 1 ")
        .assert_stdout_contains("succeeded")
        .assert_stdout_contains("applied 2_create_b in");
}

#[tokio::test]
async fn a_failure_is_recorded_after_its_rollback() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[
        CREATE_A,
        ("2_broken.up.sql", "CREATE TABLE b (id int);\nSELEC 1;\n"),
    ]);
    run(db.migrate(Some(m.path())).arg("up")).assert_code(1);
    assert!(!db.table_exists("b").await);

    let runs = history(&db, &m);
    assert_eq!(runs[0]["outcome"], "failed");
    assert_eq!(
        steps(&runs[0]),
        [(1, "apply", "done"), (2, "apply", "failed")]
    );
    let error = runs[0]["steps"][1]["error"].as_str().unwrap();
    assert!(
        error.contains("2_broken.up.sql line 2") && error.contains("42601"),
        "{error}"
    );
    assert!(
        runs[0]["error"]
            .as_str()
            .unwrap()
            .contains("2_broken.up.sql line 2")
    );
}

#[tokio::test]
async fn down_is_refused_unless_allowed_and_the_refusal_is_recorded() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[CREATE_A, DROP_A, CREATE_B, DROP_B]);
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    let before = db.schema_fingerprint().await;

    run(db.migrate(Some(m.path())).arg("down"))
        .assert_code(1)
        .assert_failed_with("migrate down is refused: this database is forward-only")
        .assert_failed_with("--allow-down (or set MIGRATE_ALLOW_DOWN=1)");
    run(db
        .migrate(Some(m.path()))
        .arg("down")
        .env("MIGRATE_ALLOW_DOWN", "0"))
    .assert_code(1);
    assert_eq!(db.schema_fingerprint().await, before, "nothing changed");

    run(db
        .migrate(Some(m.path()))
        .arg("down")
        .env("MIGRATE_ALLOW_DOWN", "1"))
    .assert_code(0);
    run(db.migrate(Some(m.path())).args(["down", "--allow-down"])).assert_code(0);
    assert!(!db.table_exists("a").await);

    let runs = history(&db, &m);
    let outcomes: Vec<&str> = runs
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["succeeded", "succeeded", "refused", "refused", "succeeded"]
    );
    assert!(runs[2]["error"].as_str().unwrap().contains("forward-only"));
    assert!(steps(&runs[2]).is_empty());
    assert_eq!(steps(&runs[1]), [(2, "revert", "done")]);
    assert_eq!(steps(&runs[0]), [(1, "revert", "done")]);
}

#[tokio::test]
async fn a_baseline_is_recorded_step_by_step() {
    let db = TestDb::new().await;
    db.execute("CREATE TABLE a (id int); CREATE TABLE b (id int)")
        .await;
    let m = Migrations::new(&[CREATE_A, CREATE_B]);
    run(db.migrate(Some(m.path())).arg("baseline")).assert_code(0);
    let runs = history(&db, &m);
    assert_eq!(
        steps(&runs[0]),
        [(1, "baseline", "done"), (2, "baseline", "done")]
    );
}

#[tokio::test]
async fn a_run_killed_with_kill_9_is_reported_unfinished_by_the_next_one() {
    let db = TestDb::new().await;
    let latch = Latch::hold(&db).await;
    let m = Migrations::new(&[
        (
            "1_slow.up.sql",
            &format!("CREATE TABLE a (id int);\n{}", latch.sql()),
        ),
        CREATE_B,
    ]);
    let mut runner = Spawned::start(db.migrate(Some(m.path())).arg("up"));
    latch.reached(&db).await;
    runner.signal(Signal::SIGKILL); // while its first migration runs on the server
    runner.wait();
    latch.release().await;

    let next = run(db.migrate(Some(m.path())).arg("up"));
    next.assert_code(0)
        .assert_stderr_contains("run 1 (`migrate --source")
        .assert_stderr_contains("never finished: it was killed or lost its connection");
    let runs = history(&db, &m);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1]["outcome"], "unfinished");
    assert!(runs[1]["finished_at"].is_null());
    assert_eq!(runs[0]["outcome"], "succeeded");
    // The server finishes a migration whose client vanished, or rolls it back: each one is
    // recorded once, by the run that applied it.
    let mut applied: Vec<(i64, &str, &str)> = steps(&runs[1]);
    applied.extend(steps(&runs[0]));
    applied.sort();
    assert_eq!(applied, [(1, "apply", "done"), (2, "apply", "done")]);

    let again = run(db.migrate(Some(m.path())).arg("up"));
    again.assert_code(0);
    assert!(
        !again.stderr.contains("never finished"),
        "reported once: {}",
        again.stderr
    );
}
