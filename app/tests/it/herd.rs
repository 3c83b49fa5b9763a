//! A deploy's herd: 64 api and worker processes and one `migrate` start together on an empty
//! database. None may fail, and every one becomes ready once `migrate` has committed.
//! The latencies are printed here and measured properly by `cargo xtask bench`.

use std::time::{Duration, Instant};

use crate::{API, MigrateCommand, WORKER};
use chrono::{DateTime, Utc};
use test_support::{PATIENCE, TestDb, run, spawned::Spawned};

const PROCESSES: usize = 64;
const READY_LINE: &str = "schema: every migration of this build is applied; ready";

/// When the line containing `marker` was logged (the log's own timestamp).
fn logged_at(logs: &str, marker: &str) -> Option<DateTime<Utc>> {
    let line = logs.lines().find(|l| l.contains(marker))?;
    DateTime::parse_from_rfc3339(line.split_whitespace().next()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[tokio::test]
async fn a_herd_started_with_migrate_becomes_ready_without_a_failure() {
    let db = TestDb::new().await;
    let needed = (PROCESSES * 3) as i64;
    let max_connections: String = db.scalar("SELECT current_setting('max_connections')").await;
    assert!(
        max_connections.parse::<i64>().unwrap() >= needed,
        "this test needs max_connections >= {needed} (cargo xtask test's cluster has 400)"
    );

    let herd: Vec<Spawned> = (0..PROCESSES)
        .map(|i| {
            let mut command = if i % 2 == 0 { API } else { WORKER }.command();
            command
                .env("DATABASE_URL", &db.url)
                .args(["--listen", "127.0.0.1:0"]);
            Spawned::listening(&mut command)
        })
        .collect();
    let migrated = run(db.migrate(None).arg("up"));
    migrated.assert_code(0);
    let committed =
        logged_at(&migrated.stderr, "migration(s) in").expect("migrate logs its commit");

    let deadline = Instant::now() + PATIENCE;
    let mut latencies = Vec::new();
    for (i, process) in herd.iter().enumerate() {
        let ready_at = loop {
            if let Some(at) = logged_at(&process.logs(), READY_LINE) {
                break at;
            }
            assert!(
                Instant::now() < deadline,
                "process {i} never became ready:\n{}",
                process.logs()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        latencies.push((ready_at - committed).num_microseconds().unwrap() as f64 / 1000.0);
        process.wait_until_ready().await;
    }
    for (i, process) in herd.into_iter().enumerate() {
        assert!(
            process.is_running(),
            "process {i} exited:\n{}",
            process.logs()
        );
        assert!(
            !process.logs().contains("ERROR"),
            "process {i} logged an error:\n{}",
            process.logs()
        );
    }

    latencies.sort_by(f64::total_cmp);
    println!(
        "herd of {PROCESSES}: ready after migrate's commit: median {:.1} ms, max {:.1} ms",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
}
