//! `LOG_FORMAT=json`: `migrate`, the api and the worker write one JSON object per line, what a
//! cluster's log collector reads, and no field holds a password; a bad value is refused.

use serde_json::Value;
use test_support::{Migrations, TestDb, roles::Roles, run, spawned::Spawned};

use crate::{API, WORKER, migrate_at};

const JSON: (&str, &str) = ("LOG_FORMAT", "json");

/// Every line of `log` as a JSON object with a timestamp, a level and a message; none holds
/// `secrets`.
fn json_lines(log: &str, secrets: &[&str]) -> Vec<Value> {
    assert!(!log.trim().is_empty(), "nothing was logged");
    for secret in secrets {
        assert!(!log.contains(secret), "a password was logged:\n{log}");
    }
    log.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
            for field in ["timestamp", "level", "message"] {
                assert!(value.get(field).is_some(), "no {field} in {line}");
            }
            value
        })
        .collect()
}

#[tokio::test]
async fn migrate_the_api_and_the_worker_log_json_without_passwords() {
    let db = TestDb::new().await;
    let roles = Roles::set_up(&db).await;
    let migrator = roles.url(&db, &roles.migrator);
    let runtime = roles.url(&db, &roles.runtime);
    let secrets = ["migrator-pw", "runtime-pw"];

    let failing = Migrations::new(&[("1_broken.up.sql", "SELECT 1 / 0;\n")]);
    let failed = run(migrate_at(&migrator, Some(failing.path()))
        .env(JSON.0, JSON.1)
        .arg("up"));
    failed.assert_code(1);
    let lines = json_lines(&failed.stderr, &secrets);
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "ERROR" && l["message"].as_str().unwrap().contains("1_broken")),
        "no error line naming the migration:\n{}",
        failed.stderr
    );

    let applied = run(migrate_at(&migrator, None).env(JSON.0, JSON.1).arg("up"));
    applied.assert_code(0);
    json_lines(&applied.stderr, &secrets);

    for binary in [API, WORKER] {
        let mut command = binary.command();
        command
            .env("DATABASE_URL", &runtime)
            .env(JSON.0, JSON.1)
            .args(["--listen", "127.0.0.1:0"]);
        let mut process = Spawned::listening(&mut command);
        process.wait_until_ready().await;
        assert_eq!(process.terminate(), Some(0), "{}", process.logs());
        json_lines(&process.logs(), &secrets);
    }
}

#[test]
fn an_unknown_log_format_is_refused_naming_the_variable() {
    for binary in [crate::MIGRATE, API] {
        let mut command = binary.command();
        command
            .env("LOG_FORMAT", "xml")
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none");
        if binary.0 == crate::MIGRATE.0 {
            command.arg("status");
        }
        run(&mut command).assert_code(2).assert_stderr_contains(
            "LOG_FORMAT=\"xml\" is not a log format: use text (the default) or json",
        );
    }
}
