//! The compose project the test runs: the project's own `docker-compose.yml` under a project
//! name of its own (`app-compose-test`), on ports of its own, so that a developer's stack and
//! database are never touched; and what the test asks of it.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use pg_cluster::process;
use serde_json::Value;

use super::images::BaseImages;
use crate::db::docker;

pub const PROJECT: &str = "app-compose-test";
const DB_PORT: &str = "55443";
const API_PORTS: &str = "18080-18089";
/// Generous bounds on what the stack takes to get somewhere: failures, not pace.
pub const PATIENCE: Duration = Duration::from_secs(180);

/// The stack of one release: which compose file (its directory is the build context), which
/// app image.
pub struct Stack<'a> {
    pub compose_file: PathBuf,
    pub image: String,
    pub base: &'a BaseImages,
    pub commit: String,
}

/// One container, as `docker compose ps` shows it.
#[derive(Debug, Clone)]
pub struct Container {
    pub name: String,
    pub service: String,
    pub state: String,
    pub health: String,
    pub exit_code: i64,
}

impl Stack<'_> {
    /// `docker compose ARGS` for this stack.
    pub fn compose(&self, args: &[&str]) -> anyhow::Result<Command> {
        let file = self.compose_file.display().to_string();
        let mut all = vec!["-p", PROJECT, "-f", &file];
        all.extend_from_slice(args);
        let mut command = docker::compose(&all).map_err(anyhow::Error::msg)?;
        command
            .env("APP_IMAGE", &self.image)
            .env("POSTGRES_IMAGE", &self.base.postgres)
            .env("RUST_IMAGE", &self.base.rust)
            .env("RUNTIME_IMAGE", &self.base.runtime)
            .env("GIT_COMMIT", &self.commit)
            .env("DB_PORT", DB_PORT)
            .env("API_PORTS", API_PORTS)
            .env("POSTGRES_PASSWORD", "compose-test-superuser")
            .env("APP_MIGRATOR_PASSWORD", "compose-test-migrator")
            .env("APP_RUNTIME_PASSWORD", "compose-test-runtime");
        Ok(command)
    }

    /// Runs `docker compose ARGS`, its output on the terminal.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<()> {
        process::run(self.compose(args)?)
    }

    /// Runs `docker compose ARGS` and returns what it said, whatever its exit status.
    pub fn output(&self, args: &[&str]) -> anyhow::Result<Output> {
        process::output(self.compose(args)?)
    }

    /// Every container of the project, stopped ones included.
    pub fn containers(&self) -> anyhow::Result<Vec<Container>> {
        let output = process::check(
            self.output(&["ps", "--all", "--format", "json"])?,
            "docker compose ps",
        )?;
        let text = String::from_utf8_lossy(&output.stdout);
        let mut containers = Vec::new();
        // One JSON object per line (Compose 2.21 and later), or one array.
        let values: Vec<Value> = match serde_json::from_str::<Value>(text.trim()) {
            Ok(Value::Array(items)) => items,
            _ => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(serde_json::from_str)
                .collect::<Result<_, _>>()
                .context("docker compose ps printed something other than JSON")?,
        };
        for value in values {
            let field = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
            containers.push(Container {
                name: field("Name"),
                service: field("Service"),
                state: field("State"),
                health: field("Health"),
                exit_code: value["ExitCode"].as_i64().unwrap_or(-1),
            });
        }
        Ok(containers)
    }

    /// The containers of `service`.
    pub fn of(&self, service: &str) -> anyhow::Result<Vec<Container>> {
        Ok(self
            .containers()?
            .into_iter()
            .filter(|c| c.service == service)
            .collect())
    }

    /// Waits until `done` holds of the containers, or fails after [`PATIENCE`] with them and
    /// their logs.
    pub fn wait_until(
        &self,
        what: &str,
        done: impl Fn(&[Container]) -> bool,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let containers = self.containers()?;
            if done(&containers) {
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                let logs = self.output(&["logs", "--no-color", "--tail", "40"])?;
                bail!(
                    "gave up after {PATIENCE:?} waiting until {what}; containers: {containers:#?}\n{}",
                    String::from_utf8_lossy(&logs.stdout)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The logs of `service`, all replicas.
    pub fn logs(&self, service: &str) -> anyhow::Result<String> {
        let output = self.output(&["logs", "--no-color", service])?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// SQL as the superuser in the app database, inside the db container; rows unaligned.
    pub fn sql(&self, sql: &str) -> anyhow::Result<String> {
        let args: Vec<&str> = docker::PSQL_IN_DB
            .iter()
            .copied()
            .chain(["-t", "-A", "-d", "app", "-c", sql])
            .collect();
        let output = self.output(&args)?;
        let output = process::check(output, &format!("psql -c {sql}"))?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The host ports the running api replicas publish, by replica number.
    pub fn api_ports(&self) -> anyhow::Result<BTreeMap<usize, u16>> {
        let mut ports = BTreeMap::new();
        for container in self.of("api")?.iter().filter(|c| c.state == "running") {
            // `<project>-api-<replica>`
            let index: usize = container
                .name
                .rsplit('-')
                .next()
                .and_then(|n| n.parse().ok())
                .with_context(|| format!("no replica number in {}", container.name))?;
            let replica = index.to_string();
            let output = self.output(&["port", "--index", &replica, "api", "8080"])?;
            let text = String::from_utf8_lossy(&output.stdout);
            let port = text
                .trim()
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .with_context(|| format!("api replica {replica} publishes no port: {text}"))?;
            ports.insert(index, port);
        }
        Ok(ports)
    }

    /// How many times each container restarted.
    pub fn restarts(&self) -> anyhow::Result<BTreeMap<String, i64>> {
        let mut restarts = BTreeMap::new();
        for container in self.containers()? {
            let mut inspect = Command::new("docker");
            inspect.args(["inspect", "--format", "{{.RestartCount}}", &container.name]);
            let count = process::read(inspect)?.trim().parse().unwrap_or(-1);
            restarts.insert(container.name, count);
        }
        Ok(restarts)
    }
}

/// The build context of a release: the project's tracked files copied to `dir`, with
/// `extra` migrations added.
pub fn release_context(root: &Path, dir: &Path, extra: &[(&str, &str)]) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let mut ls = Command::new("git");
    ls.args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .current_dir(root);
    for file in process::read(ls)?.lines() {
        let from = root.join(file);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = dir.join(file);
        std::fs::create_dir_all(to.parent().expect("a file has a parent"))?;
        std::fs::copy(&from, &to)?;
    }
    for (name, sql) in extra {
        std::fs::write(dir.join("migrations").join(name), sql)?;
    }
    Ok(dir.join("docker-compose.yml"))
}
