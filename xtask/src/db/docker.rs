//! The `db` service of docker-compose.yml, for machines with a Docker engine. Compose v2 is
//! found as the `docker compose` plugin or as a standalone `docker-compose` v2 (Compose v1 is
//! end of life and rejects the file). When the service cannot be had (no Compose v2, an image
//! that cannot be pulled, a port that is taken), [`up`] says why in one line, so that the
//! caller can fall back or name the fix; never a tool's raw error.

use std::process::{Command, Output};

use pg_cluster::process;

use super::{roles, url::PgUrl};

/// Port the compose file publishes the database on (`DB_PORT` changes it).
const DEFAULT_PORT: &str = "55433";
/// The image the compose file runs, unless `POSTGRES_IMAGE` says otherwise.
const DEFAULT_IMAGE: &str = "postgres:18.4";

/// Whether a Docker engine answers (the client alone is not enough).
pub fn engine_answers() -> bool {
    let mut docker = Command::new("docker");
    docker.args(["info", "--format", "{{.ServerVersion}}"]);
    process::succeeds(docker)
}

/// Compose v2 with `args`, as the plugin or the standalone binary, with the development
/// passwords where none are set; or why there is none.
pub fn compose(args: &[&str]) -> Result<Command, String> {
    let plugin = || {
        let mut docker = Command::new("docker");
        docker.arg("compose");
        docker
    };
    let standalone = || Command::new("docker-compose");
    let mut found = None;
    for make in [plugin as fn() -> Command, standalone] {
        let mut version = make();
        version.args(["version", "--short"]);
        if let Ok(output) = process::output(version)
            && output.status.success()
        {
            let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if version
                .trim_start_matches('v')
                .starts_with(|c: char| c >= '2')
            {
                found = Some(make);
                break;
            }
        }
    }
    let Some(make) = found else {
        return Err("Docker Compose v2 is not installed (neither the `docker compose` plugin nor a \
                    standalone docker-compose v2; Debian's docker-compose 1.x cannot read the compose file)"
            .to_owned());
    };
    let mut command = make();
    command.args(args);
    for (var, password) in roles::PASSWORDS {
        if std::env::var_os(var).is_none() {
            command.env(var, password);
        }
    }
    Ok(command)
}

/// Starts the service and waits for its healthcheck; returns the superuser URL, or in one
/// line why the service cannot be had.
pub fn up() -> Result<PgUrl, String> {
    let output = process::output(compose(&["up", "--detach", "--wait", "db"])?)
        .map_err(|e| format!("{e:#}"))?;
    if !output.status.success() {
        return Err(why(&output));
    }
    let port = std::env::var("DB_PORT").unwrap_or_else(|_| DEFAULT_PORT.to_owned());
    let url = PgUrl::parse(&format!("postgres://postgres@127.0.0.1:{port}/postgres"))
        .map_err(|e| e.to_string())?;
    Ok(url.with_user("postgres", &roles::password("postgres")))
}

/// One line from a failed `docker compose up`.
fn why(output: &Output) -> String {
    let said = String::from_utf8_lossy(&output.stderr);
    let image = std::env::var("POSTGRES_IMAGE").unwrap_or_else(|_| DEFAULT_IMAGE.to_owned());
    let port = std::env::var("DB_PORT").unwrap_or_else(|_| DEFAULT_PORT.to_owned());
    let has = |needles: &[&str]| needles.iter().any(|n| said.contains(n));
    if has(&[
        "pull access denied",
        "failed to resolve",
        "no such host",
        "dial tcp",
        "manifest unknown",
        "TLS handshake timeout",
        "toomanyrequests",
    ]) {
        format!(
            "the image {image} cannot be pulled (no registry answers); set POSTGRES_IMAGE to an image you have \
             or one from a registry mirror"
        )
    } else if has(&["port is already allocated", "address already in use"]) {
        format!("port {port} is taken on this machine; set DB_PORT to a free one")
    } else {
        let last = said
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        format!("`docker compose up db` failed: {}", last.trim())
    }
}

/// `docker compose` arguments that run psql as the superuser inside the `db` container; a
/// database (`-d`) and what to run follow.
pub const PSQL_IN_DB: [&str; 10] = [
    "exec",
    "-T",
    "db",
    "psql",
    "-X",
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
    "-U",
    "postgres",
];

/// psql as the superuser in `database`, inside the `db` container.
pub fn psql(database: &str) -> Command {
    let args: Vec<&str> = PSQL_IN_DB.iter().copied().chain(["-d", database]).collect();
    // `up` went through Compose v2 before anything asks for psql.
    compose(&args).unwrap_or_else(|_| {
        let mut docker = Command::new("docker");
        docker.arg("compose").args(args);
        docker
    })
}

/// Stops the service (`purge`: removes it and its volume).
pub fn down(purge: bool) -> anyhow::Result<()> {
    let args: &[&str] = if purge {
        &["down", "--volumes"]
    } else {
        &["stop", "db"]
    };
    match compose(args) {
        Ok(command) => process::run(command),
        Err(reason) => {
            eprintln!("not stopping docker compose's db: {reason}");
            Ok(())
        }
    }
}
