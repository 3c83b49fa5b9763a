//! `cargo xtask` with Docker, as a newcomer has it: an engine that answers, but a `db` service
//! that cannot be had. Each case says why in one line, then falls back to a throwaway cluster
//! where server binaries are installed, or names the fix where they are not; never a tool's raw
//! error. Run with the real engine: `cargo xtask db-up` as a newcomer runs it, in a compose
//! project of its own.

use std::{net::TcpListener, process::Command};

use anyhow::ensure;
use pg_cluster::process;

/// The compose project these runs may create things in.
const PROJECT: &str = "app-compose-test-fallback";

/// What `cargo xtask db-up` says (stderr), and whether it succeeded, with `env` set.
fn db_up(env: &[(&str, &str)]) -> anyhow::Result<(bool, String)> {
    let mut xtask = Command::new(std::env::current_exe()?);
    xtask
        .arg("db-up")
        .env("COMPOSE_PROJECT_NAME", PROJECT)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATION_DATABASE_URL")
        .envs(env.iter().copied());
    let output = process::output(xtask)?;
    Ok((
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// Every case, with `postgres_image` an image the engine has.
pub fn falls_back(postgres_image: &str) -> anyhow::Result<()> {
    let outcome = cases(postgres_image);
    let mut down = Command::new("docker");
    down.args([
        "compose",
        "-p",
        PROJECT,
        "down",
        "--volumes",
        "--remove-orphans",
    ]);
    let _ = process::output(down);
    outcome
}

fn cases(postgres_image: &str) -> anyhow::Result<()> {
    let (ok, said) = db_up(&[("POSTGRES_IMAGE", "app-standin/never-built:0")])?;
    expect(
        ok,
        &said,
        "cannot be pulled (no registry answers); set POSTGRES_IMAGE",
    )?;

    let taken = TcpListener::bind("127.0.0.1:0")?;
    let port = taken.local_addr()?.port().to_string();
    let (ok, said) = db_up(&[("POSTGRES_IMAGE", postgres_image), ("DB_PORT", &port)])?;
    expect(
        ok,
        &said,
        &format!("port {port} is taken on this machine; set DB_PORT"),
    )?;
    drop(taken);

    // No Compose v2: a client without plugins, and no docker-compose on PATH.
    let bare = tempfile_dir("no-plugins")?;
    let without = [
        ("DOCKER_CONFIG", bare.as_str()),
        ("PATH", &path_without("docker-compose")),
    ];
    let mut plugin = Command::new("docker");
    plugin.args(["compose", "version"]).envs(without);
    if process::succeeds(plugin) {
        eprintln!(
            "compose-test: not checked: db-up without Compose v2, which is installed system-wide here \
             (not only under ~/.docker/cli-plugins)"
        );
    } else {
        let (ok, said) = db_up(&without)?;
        expect(ok, &said, "Docker Compose v2 is not installed")?;
    }

    let (ok, said) = db_up(&[
        ("POSTGRES_IMAGE", "app-standin/never-built:0"),
        (pg_cluster::PG_BIN, "/nonexistent"),
    ])?;
    ensure!(!ok, "db-up succeeded without a database:\n{said}");
    let errors: Vec<&str> = said.lines().filter(|l| l.starts_with("error: ")).collect();
    ensure!(
        errors.len() == 1
            && errors[0].contains("cannot be pulled")
            && errors[0].contains("apt install postgresql"),
        "without server binaries, one line that names the fix:\n{said}"
    );
    Ok(())
}

/// Said `why`, then fell back to a throwaway cluster, and succeeded; no raw tool error.
fn expect(ok: bool, said: &str, why: &str) -> anyhow::Result<()> {
    ensure!(
        said.contains("docker compose cannot run the `db` service: ") && said.contains(why),
        "db-up did not say {why:?}:\n{said}"
    );
    ensure!(
        ok && said.contains("a throwaway cluster from"),
        "db-up did not fall back to a throwaway cluster:\n{said}"
    );
    Ok(())
}

/// A new, empty directory under the system's temporary directory, as a string.
fn tempfile_dir(name: &str) -> anyhow::Result<String> {
    let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir.display().to_string())
}

/// `PATH` without the directories that hold `program`.
fn path_without(program: &str) -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<_> = std::env::split_paths(&path)
        .filter(|dir| !dir.join(program).exists())
        .collect();
    std::env::join_paths(kept)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}
