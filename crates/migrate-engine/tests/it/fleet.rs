//! `migrate fleet`: many databases (or tenant schemas), each migrated as `migrate up` would
//! migrate it alone. A broken target stops nothing else and leaves nothing behind; a rerun
//! does only what is left; shards and concurrent fleets never migrate a target twice.

use std::{collections::BTreeMap, path::Path};

use futures_util::future::join_all;
use serde_json::Value;
use test_support::{Migrations, Run, TestDb, run, spawned::Spawned};

use crate::{MIGRATE, migrate_at};

/// Two migrations; the first fails where a table `notes` already exists.
fn migrations() -> Migrations {
    Migrations::new(&[
        (
            "1_notes.up.sql",
            "CREATE TABLE notes (id bigint PRIMARY KEY);\n",
        ),
        (
            "2_tags.up.sql",
            "CREATE TABLE tags (id bigint PRIMARY KEY);\n",
        ),
    ])
}

async fn databases(count: usize) -> Vec<TestDb> {
    join_all((0..count).map(|_| TestDb::new())).await
}

/// A targets file listing `urls`, with a comment and a blank line.
fn targets_file(m: &Migrations, urls: &[String]) -> std::path::PathBuf {
    let path = m.root().join("targets.txt");
    std::fs::write(&path, format!("# the fleet\n\n{}\n", urls.join("\n"))).unwrap();
    path
}

fn fleet(m: &Migrations, action: &str, targets: &Path, extra: &[&str]) -> Run {
    // MIGRATION_DATABASE_URL is not needed with --targets: point it nowhere.
    let mut command = migrate_at("postgres://nobody@127.0.0.1:1/none", Some(m.path()));
    command
        .args(["fleet", action, "--targets"])
        .arg(targets)
        .arg("--json")
        .args(extra);
    run(&mut command)
}

/// Each target's report, by target name.
fn reports(run: &Run) -> BTreeMap<String, Value> {
    let body: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout, run.stderr));
    body["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["target"].as_str().unwrap().to_owned(), t.clone()))
        .collect()
}

fn outcomes(run: &Run) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for report in reports(run).values() {
        *counts
            .entry(report["outcome"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}

async fn applied_versions(db: &TestDb) -> Vec<i64> {
    if !db.table_exists("_sqlx_migrations").await {
        return Vec::new();
    }
    db.scalar("SELECT coalesce(array_agg(version ORDER BY version), '{}') FROM _sqlx_migrations")
        .await
}

async fn runs_recorded(db: &TestDb) -> i64 {
    db.scalar("SELECT count(*) FROM _migrate_runs").await
}

#[tokio::test]
async fn thirty_targets_one_broken_then_fixed_and_run_again() {
    let m = migrations();
    let dbs = databases(30).await;
    let broken = &dbs[17];
    broken.execute("CREATE TABLE notes (x int)").await;
    let targets = targets_file(&m, &dbs.iter().map(|d| d.url.clone()).collect::<Vec<_>>());

    let first = fleet(&m, "up", &targets, &["--parallel", "8"]);
    first.assert_code(1);
    assert_eq!(
        outcomes(&first),
        BTreeMap::from([("applied".into(), 29), ("failed".into(), 1)])
    );
    let report = &reports(&first)[&broken.url];
    assert_eq!(report["outcome"], "failed");
    assert!(
        report["error"].as_str().unwrap().contains("1_notes"),
        "{report}"
    );
    assert!(
        first.stderr.contains(&format!("error: {}: ", broken.url)),
        "the failure names the target:\n{}",
        first.stderr
    );
    for db in &dbs {
        if db.name == broken.name {
            assert_eq!(applied_versions(db).await, Vec::<i64>::new());
            assert!(!db.table_exists("tags").await, "nothing else touched");
        } else {
            assert_eq!(applied_versions(db).await, [1, 2], "{}", db.name);
            assert_eq!(runs_recorded(db).await, 1);
        }
    }

    broken.execute("DROP TABLE notes").await;
    let again = fleet(&m, "up", &targets, &["--parallel", "8"]);
    again.assert_code(0);
    assert_eq!(
        outcomes(&again),
        BTreeMap::from([("applied".into(), 1), ("up_to_date".into(), 29)])
    );
    assert_eq!(
        reports(&again)[&broken.url]["versions"],
        serde_json::json!([1, 2])
    );
    for db in &dbs {
        assert_eq!(applied_versions(db).await, [1, 2]);
        if db.name != broken.name {
            assert_eq!(
                runs_recorded(db).await,
                1,
                "an up-to-date target is only read"
            );
        }
    }
}

#[tokio::test]
async fn shards_cover_every_target_exactly_once() {
    let m = migrations();
    let dbs = databases(12).await;
    let targets = targets_file(&m, &dbs.iter().map(|d| d.url.clone()).collect::<Vec<_>>());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for shard in 0..3 {
        let done = fleet(&m, "up", &targets, &["--shard", &format!("{shard}/3")]);
        done.assert_code(0);
        for target in reports(&done).keys() {
            *seen.entry(target.clone()).or_default() += 1;
        }
    }
    let expected: BTreeMap<String, usize> = dbs.iter().map(|d| (d.url.clone(), 1)).collect();
    assert_eq!(seen, expected);
    for db in &dbs {
        assert_eq!(applied_versions(db).await, [1, 2]);
    }
    fleet(&m, "up", &targets, &["--shard", "3/3"])
        .assert_code(2)
        .assert_stderr_contains("is not I/N");
}

#[tokio::test]
async fn two_fleets_started_together_never_migrate_a_target_twice() {
    let m = Migrations::new(&[
        (
            "1_slow.up.sql",
            "SELECT pg_sleep(0.05);\nCREATE TABLE notes (id bigint);\n",
        ),
        ("2_tags.up.sql", "CREATE TABLE tags (id bigint);\n"),
    ]);
    let dbs = databases(10).await;
    let targets = targets_file(&m, &dbs.iter().map(|d| d.url.clone()).collect::<Vec<_>>());
    let start = || {
        let mut command = migrate_at("postgres://nobody@127.0.0.1:1/none", Some(m.path()));
        command
            .args(["fleet", "up", "--parallel", "4", "--targets"])
            .arg(&targets);
        Spawned::start(&mut command)
    };
    let (mut one, mut two) = (start(), start());
    assert_eq!(one.finished().await, Some(0), "{}", one.logs());
    assert_eq!(two.finished().await, Some(0), "{}", two.logs());
    for db in &dbs {
        assert_eq!(applied_versions(db).await, [1, 2]);
        let steps: i64 = db
            .scalar("SELECT count(*) FROM _migrate_steps WHERE direction = 'apply' AND outcome = 'done'")
            .await;
        assert_eq!(steps, 2, "each migration applied once on {}", db.name);
    }
}

#[tokio::test]
async fn a_failed_canary_starts_no_other_target() {
    let m = migrations();
    let dbs = databases(5).await;
    dbs[0].execute("CREATE TABLE notes (x int)").await;
    let targets = targets_file(&m, &dbs.iter().map(|d| d.url.clone()).collect::<Vec<_>>());
    let stopped = fleet(&m, "up", &targets, &["--canary", "1"]);
    stopped.assert_code(1);
    assert_eq!(
        outcomes(&stopped),
        BTreeMap::from([("failed".into(), 1), ("not_started".into(), 4)])
    );
    for db in &dbs[1..] {
        assert!(!db.table_exists("_sqlx_migrations").await, "untouched");
    }

    // --on-error stop, one at a time: the failure starts no other either.
    let stopped = fleet(
        &m,
        "up",
        &targets,
        &["--parallel", "1", "--on-error", "stop"],
    );
    stopped.assert_code(1);
    assert_eq!(outcomes(&stopped)["not_started"], 4);

    dbs[0].execute("DROP TABLE notes").await;
    fleet(&m, "up", &targets, &["--canary", "1"]).assert_code(0);
    let status = fleet(&m, "status", &targets, &[]);
    status.assert_code(0);
    assert_eq!(outcomes(&status), BTreeMap::from([("status".into(), 5)]));
    for report in reports(&status).values() {
        assert_eq!(report["applied"], 2);
        assert_eq!(report["pending"], serde_json::json!([]));
    }
}

/// Schemas of one database as tenants (`options=-csearch_path=...`): each has its own history,
/// and its own lock: holding one tenant's lock, or the database's, holds up no other tenant.
#[tokio::test]
async fn tenant_schemas_migrate_in_parallel_under_locks_of_their_own() {
    let m = migrations();
    let db = TestDb::new().await;
    db.execute("CREATE SCHEMA t1; CREATE SCHEMA t2; CREATE SCHEMA t3")
        .await;
    let tenant = |schema: &str| format!("{}?options=-csearch_path%3D{schema}", db.url);
    let targets = targets_file(&m, &["t1", "t2", "t3"].map(tenant));

    // The test holds the database's key (sqlx's) and tenant t2's.
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let key = |name: &str| 0x3d32_ad9e * i64::from(crc.checksum(name.as_bytes()));
    let mut holder = db.connect().await;
    for name in [db.name.clone(), format!("{}.t2", db.name)] {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key(&name))
            .execute(&mut holder)
            .await
            .unwrap();
    }
    let held = fleet(&m, "up", &targets, &["--lock-wait", "1s"]);
    held.assert_code(3);
    let by_target = reports(&held);
    assert_eq!(by_target[&tenant("t1")]["outcome"], "applied");
    assert_eq!(by_target[&tenant("t3")]["outcome"], "applied");
    assert_eq!(by_target[&tenant("t2")]["outcome"], "failed");
    drop(holder);

    fleet(&m, "up", &targets, &[]).assert_code(0);
    for schema in ["t1", "t2", "t3"] {
        let versions: i64 = db
            .scalar(&format!("SELECT count(*) FROM {schema}._sqlx_migrations"))
            .await;
        assert_eq!(versions, 2, "{schema}");
    }
    assert!(!db.table_exists("public._sqlx_migrations").await);

    let missing = targets_file(&m, &[tenant("t9")]);
    fleet(&m, "up", &missing, &[])
        .assert_code(1)
        .assert_stderr_contains("search_path starts with schema t9, which does not exist");
}

#[tokio::test]
async fn targets_can_come_from_a_query_and_bad_lists_are_refused() {
    let m = migrations();
    let dbs = databases(3).await;
    let registry = TestDb::new().await;
    registry
        .execute("CREATE TABLE tenants (url text NOT NULL)")
        .await;
    for db in &dbs {
        registry
            .execute(&format!("INSERT INTO tenants VALUES ('{}')", db.url))
            .await;
    }
    let mut command = migrate_at(&registry.url, Some(m.path()));
    command.args([
        "fleet",
        "up",
        "--targets-sql",
        "SELECT url FROM tenants ORDER BY url",
    ]);
    run(&mut command)
        .assert_code(0)
        .assert_stdout_contains("3 target(s): 3 applied");
    for db in &dbs {
        assert_eq!(applied_versions(db).await, [1, 2]);
    }

    let mut command = migrate_at(&registry.url, Some(m.path()));
    command.args(["fleet", "up", "--targets-sql", "SELECT 42"]);
    run(&mut command)
        .assert_code(1)
        .assert_stderr_contains("row 1 is not a URL");

    let listed = targets_file(&m, &[dbs[0].url.clone(), dbs[0].url.clone()]);
    fleet(&m, "up", &listed, &[])
        .assert_code(1)
        .assert_stderr_contains("targets.txt:4 lists ");
    let mut command = MIGRATE.command();
    command.args(["fleet", "up"]);
    run(&mut command).assert_code(2);
}
