//! `cargo xtask compose-test`: the production shape, run for real. The image is built from the
//! project's `Dockerfile` and the stack run from its `docker-compose.yml` in a real Docker
//! engine, release after release:
//!
//! 1. release 1 comes up: db healthy, `migrate` once (exit 0), the api and two workers ready, a
//!    job through the api done by a worker, the image's commit in the audit trail;
//! 2. release 2's `migrate` is stopped (`docker stop`) inside a slow migration: it exits by
//!    itself (code 4), and within 2 s nothing of it is left on the server; the history holds
//!    what committed, and no more;
//! 3. release 2 rolls out with `--scale api=4 --scale worker=4`: its migrations are applied
//!    exactly once, every replica is ready, none restarted;
//! 4. `docker compose stop`: every container exits by itself within 2 s of SIGTERM;
//! 5. release 1 comes back (a rollback of the code): its `migrate` finds the database ahead and
//!    exits 0, and its api and workers serve.
//!
//! First, `cargo xtask` itself with an engine whose `db` service cannot be had ([`fallback`]).

mod fallback;
mod http;
mod images;
mod stack;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use pg_cluster::process;
use xshell::Shell;

use crate::{db::docker, flags, project_root, target_dir};
use stack::{Container, PATIENCE, Stack};

/// Release 2's migrations: a table, with a row that holds the next migration back until the
/// test deletes it (a slow migration the test ends when it chooses).
const RELEASE_2: [(&str, &str); 2] = [
    (
        "29990101000000_add_release_two_notes.up.sql",
        "CREATE TABLE release_two_notes (note text NOT NULL);\nINSERT INTO release_two_notes VALUES ('hold');\n",
    ),
    (
        "29990101000100_stamp_release_two_notes.up.sql",
        "DO $$\nBEGIN\n    WHILE EXISTS (SELECT FROM release_two_notes WHERE note = 'hold') LOOP\n        PERFORM pg_sleep(0.05);\n    END LOOP;\nEND\n$$;\nALTER TABLE release_two_notes ADD COLUMN stamped_at timestamptz;\n",
    ),
];
const SLOW: i64 = 29_990_101_000_100;
/// How a worker says it passed the gate: the database has its migrations (and maybe newer ones).
const WORKER_READY: &str = "; ready";

impl flags::ComposeTest {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        if !docker::engine_answers() {
            bail!(
                "compose-test needs a Docker engine, and none answers: start one (`dockerd`; .ci/run shows how \
                 to install Debian's docker.io and Compose v2)"
            );
        }
        docker::compose(&["version"]).map_err(anyhow::Error::msg)?;
        let base = images::base_images()?;
        let root = project_root();
        let commit = process::read({
            let mut git = Command::new("git");
            git.args(["rev-parse", "HEAD"]).current_dir(&root);
            git
        })
        .map_or_else(|_| "unknown".to_owned(), |c| c.trim().to_owned());
        let release_1 = Stack {
            compose_file: root.join("docker-compose.yml"),
            image: "app-compose-test:release-1".into(),
            base: &base,
            commit: commit.clone(),
        };
        let release_2 = Stack {
            compose_file: stack::release_context(
                &root,
                &target_dir().join("compose-test").join("release-2"),
                &RELEASE_2,
            )?,
            image: "app-compose-test:release-2".into(),
            base: &base,
            commit: format!("{commit}+release-2"),
        };
        let started = Instant::now();
        step("cargo xtask with a db service that cannot be had", || {
            fallback::falls_back(&base.postgres)
        })?;
        release_1.run(&["down", "--volumes", "--remove-orphans"])?;
        let outcome = scenarios(&release_1, &release_2);
        if self.keep {
            eprintln!(
                "compose-test: the stack is kept; `docker compose -p {} down --volumes` removes it",
                stack::PROJECT
            );
        } else {
            release_1.run(&["down", "--volumes", "--remove-orphans"])?;
        }
        outcome?;
        eprintln!(
            "compose-test: every scenario passed in {:.0?}",
            started.elapsed()
        );
        Ok(())
    }
}

fn scenarios(release_1: &Stack<'_>, release_2: &Stack<'_>) -> anyhow::Result<()> {
    step("release 1 comes up", || comes_up(release_1))?;
    step(
        "release 2's migrate is stopped inside a slow migration",
        || interrupted(release_2),
    )?;
    step("release 2 rolls out, four api and four workers", || {
        rolls_out(release_2)
    })?;
    step("docker compose stop: everything exits within 2 s", || {
        stops(release_2)
    })?;
    step("release 1 comes back: a rollback of the code", || {
        rolls_back(release_1)
    })
}

fn step(name: &str, run: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    eprintln!("\n==> compose-test: {name}");
    let started = Instant::now();
    run().with_context(|| format!("compose-test: {name}"))?;
    eprintln!("compose-test: {name}: ok ({:.0?})", started.elapsed());
    Ok(())
}

fn comes_up(stack: &Stack<'_>) -> anyhow::Result<()> {
    stack.run(&["build"])?;
    stack.run(&["up", "--detach"])?;
    stack.wait_until("migrate has run and the api and two workers run", |c| {
        exited(c, "migrate", 0) && running(c, "api") == 1 && running(c, "worker") == 2
    })?;
    let containers = stack.containers()?;
    ensure!(
        containers
            .iter()
            .any(|c| c.service == "db" && c.health == "healthy"),
        "db is not healthy: {containers:#?}"
    );
    ensure!(stack.of("migrate")?.len() == 1, "migrate ran once");
    serves(stack, 2)?;
    let recorded = stack.sql("SELECT build_commit FROM _migrate_runs ORDER BY id DESC LIMIT 1")?;
    ensure!(
        recorded == stack.commit,
        "the audit trail records commit {recorded:?}, not the image's {:?}",
        stack.commit
    );
    Ok(())
}

fn interrupted(stack: &Stack<'_>) -> anyhow::Result<()> {
    stack.run(&["build"])?;
    stack.run(&["up", "--detach", "--no-deps", "migrate"])?;
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migrate pid=%' \
                   AND state = 'active' AND query LIKE '%release_two_notes%'";
    wait_for_sql(stack, waiting, "1")?;
    let stopping = Instant::now();
    stack.run(&["stop", "--timeout", "2", "migrate"])?;
    let migrate = stack.of("migrate")?;
    ensure!(
        migrate.iter().all(|c| c.exit_code == 4),
        "migrate did not exit by itself with 4 (interrupted) within 2 s: {migrate:#?}\n{}",
        stack.logs("migrate")?
    );
    let left = "SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migrate%') \
                + (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')";
    while stack.sql(left)? != "0" {
        ensure!(
            stopping.elapsed() < Duration::from_secs(2),
            "2 s after the stop, migrate's session or lock is still on the server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let history = stack.sql(&format!(
        "SELECT count(*) FILTER (WHERE version = {SLOW}) || ' ' || \
                (SELECT outcome FROM _migrate_runs ORDER BY id DESC LIMIT 1) FROM _sqlx_migrations"
    ))?;
    ensure!(
        history == "0 interrupted",
        "the slow migration is recorded, or the run is not recorded as interrupted: {history}"
    );
    let stamped = stack
        .sql("SELECT count(*) FROM information_schema.columns WHERE column_name = 'stamped_at'")?;
    ensure!(stamped == "0", "the interrupted migration left its column");
    stack.sql("DELETE FROM release_two_notes WHERE note = 'hold'")?;
    Ok(())
}

fn rolls_out(stack: &Stack<'_>) -> anyhow::Result<()> {
    stack.run(&["up", "--detach", "--scale", "api=4", "--scale", "worker=4"])?;
    stack.wait_until(
        "migrate has run again and four api and four workers run",
        |c| exited(c, "migrate", 0) && running(c, "api") == 4 && running(c, "worker") == 4,
    )?;
    let applied = stack.sql(
        "SELECT string_agg(version || ':' || n, ',' ORDER BY version) FROM ( \
           SELECT version, count(*) AS n FROM _migrate_steps \
           WHERE direction = 'apply' AND outcome = 'done' AND version >= 29990101000000 GROUP BY version) s",
    )?;
    ensure!(
        applied == format!("29990101000000:1,{SLOW}:1"),
        "release 2's migrations are not applied exactly once each: {applied}"
    );
    serves(stack, 4)?;
    let restarted: Vec<_> = stack
        .restarts()?
        .into_iter()
        .filter(|(_, count)| *count != 0)
        .collect();
    ensure!(restarted.is_empty(), "containers restarted: {restarted:?}");
    Ok(())
}

fn stops(stack: &Stack<'_>) -> anyhow::Result<()> {
    // With a 2 s grace, a container that did not exit by itself is killed: exit code 137.
    stack.run(&["stop", "--timeout", "2"])?;
    let containers = stack.containers()?;
    let killed: Vec<&Container> = containers
        .iter()
        .filter(|c| c.state != "exited" || c.exit_code != 0)
        .collect();
    ensure!(
        killed.is_empty(),
        "not every container exited by itself with 0 within 2 s: {killed:#?}"
    );
    Ok(())
}

fn rolls_back(stack: &Stack<'_>) -> anyhow::Result<()> {
    stack.run(&["up", "--detach", "--scale", "api=1", "--scale", "worker=2"])?;
    stack.wait_until(
        "release 1's migrate has run and its api and workers run",
        |c| exited(c, "migrate", 0) && running(c, "api") == 1 && running(c, "worker") == 2,
    )?;
    let said = stack.logs("migrate")?;
    ensure!(
        said.contains("the database is ahead of this build"),
        "release 1's migrate did not say the database is ahead:\n{said}"
    );
    serves(stack, 2)
}

/// Every api replica is ready, at least `workers` workers said so, and a job posted through
/// the api is done by a worker.
fn serves(stack: &Stack<'_>, workers: usize) -> anyhow::Result<()> {
    let ports = stack.api_ports()?;
    for port in ports.values() {
        wait_for("the api is ready", || {
            Ok(http::request(*port, "GET", "/ready", None)?.0 == 200)
        })?;
    }
    wait_for("the workers are ready", || {
        Ok(stack.logs("worker")?.matches(WORKER_READY).count() >= workers)
    })?;
    let port = *ports
        .values()
        .next()
        .context("no api replica publishes a port")?;
    let (status, body) = http::request(
        port,
        "POST",
        "/jobs",
        Some(r#"{"kind": "sum", "payload": {"numbers": [1, 2, 3.5]}}"#),
    )?;
    ensure!(status == 201, "POST /jobs answered {status}: {body}");
    let id: serde_json::Value = serde_json::from_str(&body)?;
    let path = format!("/jobs/{}", id["id"]);
    wait_for("a worker has done the job", || {
        let (_, body) = http::request(port, "GET", &path, None)?;
        Ok(body.contains("\"succeeded\"") && body.contains("6.5"))
    })
}

fn exited(containers: &[Container], service: &str, code: i64) -> bool {
    let of: Vec<_> = containers.iter().filter(|c| c.service == service).collect();
    !of.is_empty()
        && of
            .iter()
            .all(|c| c.state == "exited" && c.exit_code == code)
}

fn running(containers: &[Container], service: &str) -> usize {
    containers
        .iter()
        .filter(|c| c.service == service && c.state == "running")
        .count()
}

fn wait_for_sql(stack: &Stack<'_>, sql: &str, expected: &str) -> anyhow::Result<()> {
    wait_for(&format!("{sql} gives {expected}"), || {
        Ok(stack.sql(sql)? == expected)
    })
}

/// Polls `done` until it holds; fails after [`PATIENCE`].
fn wait_for(what: &str, mut done: impl FnMut() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        match done() {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if started.elapsed() > PATIENCE => return Err(e),
            Err(_) => {}
        }
        ensure!(
            started.elapsed() < PATIENCE,
            "gave up after {PATIENCE:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
