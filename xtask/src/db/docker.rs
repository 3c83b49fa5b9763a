//! The `db` service of docker-compose.yml, for machines with a Docker engine.

use std::process::{Command, Stdio};

use xshell::{Shell, cmd};

use crate::pg_url::PgUrl;

/// Port the compose file publishes the database on (`DB_PORT` changes it).
const DEFAULT_PORT: &str = "55433";

/// Whether a Docker engine answers (the client alone is not enough).
pub fn engine_answers(_sh: &Shell) -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts the service and waits for its healthcheck; returns the superuser URL.
pub fn up(sh: &Shell) -> anyhow::Result<PgUrl> {
    cmd!(sh, "docker compose up --detach --wait db").run()?;
    let port = std::env::var("DB_PORT").unwrap_or_else(|_| DEFAULT_PORT.to_owned());
    PgUrl::parse(&format!(
        "postgres://postgres:postgres@127.0.0.1:{port}/postgres"
    ))
}

pub fn down(sh: &Shell, purge: bool) -> anyhow::Result<()> {
    if purge {
        cmd!(sh, "docker compose down --volumes").run()?;
    } else {
        cmd!(sh, "docker compose stop db").run()?;
    }
    Ok(())
}
