//! The `db` service of docker-compose.yml, for machines with a Docker engine.

use std::process::Command;

use pg_cluster::process;
use xshell::{Shell, cmd};

use super::url::PgUrl;

/// Port the compose file publishes the database on (`DB_PORT` changes it).
const DEFAULT_PORT: &str = "55433";

/// Whether a Docker engine answers (the client alone is not enough).
pub fn engine_answers() -> bool {
    let mut docker = Command::new("docker");
    docker.args(["info", "--format", "{{.ServerVersion}}"]);
    process::succeeds(docker)
}

/// Starts the service and waits for its healthcheck; returns the superuser URL.
pub fn up(sh: &Shell) -> anyhow::Result<PgUrl> {
    process::run(cmd!(sh, "docker compose up --detach --wait db"))?;
    let port = std::env::var("DB_PORT").unwrap_or_else(|_| DEFAULT_PORT.to_owned());
    PgUrl::parse(&format!(
        "postgres://postgres:postgres@127.0.0.1:{port}/postgres"
    ))
}

/// psql as the superuser in `database`, inside the `db` container.
pub fn psql(database: &str) -> Command {
    let mut exec = Command::new("docker");
    exec.args([
        "compose",
        "exec",
        "-T",
        "db",
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
    ])
    .args(["-U", "postgres", "-d", database]);
    exec
}

pub fn down(sh: &Shell, purge: bool) -> anyhow::Result<()> {
    let command = if purge {
        cmd!(sh, "docker compose down --volumes")
    } else {
        cmd!(sh, "docker compose stop db")
    };
    process::run(command)
}
