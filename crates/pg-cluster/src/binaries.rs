//! Where the PostgreSQL server binaries are: given (`PG_BIN`), on `PATH`, from `pg_config`, or
//! in the newest Debian-style `/usr/lib/postgresql/<version>/bin`; and the client programs.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

/// The variable naming a directory of server binaries to use instead of the installed ones.
pub const PG_BIN: &str = "PG_BIN";

/// The variable naming a directory of client programs (`pg_dump`, `psql`) to prefer: the
/// newest ones work with every older server.
pub const PG_CLIENTS: &str = "PG_CLIENTS";

/// A client program: from `PG_CLIENTS`, else beside the server binaries, else `name` for
/// `PATH` to resolve.
pub fn find_client(name: &str) -> PathBuf {
    std::env::var_os(PG_CLIENTS)
        .map(PathBuf::from)
        .into_iter()
        .chain(find_server_binaries())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The directory holding `initdb` and `pg_ctl`.
pub fn find_server_binaries() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(given) = std::env::var_os(PG_BIN) {
        return Some(PathBuf::from(given)).filter(|dir| has_tools(dir));
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    debian.sort();
    on_path
        .into_iter()
        .chain(from_pg_config)
        .chain(debian.into_iter().rev().map(|(_, dir)| dir))
        .chain([PathBuf::from("/usr/local/pgsql/bin")])
        .find(|dir| has_tools(dir))
        // A symlinked initdb (/usr/local/bin -> /usr/lib/postgresql/15/bin) leads to the real
        // directory, which also holds the matching psql and pg_dump.
        .map(|dir| {
            fs::canonicalize(dir.join("initdb"))
                .ok()
                .and_then(|p| Some(p.parent()?.to_owned()))
                .unwrap_or(dir)
        })
}

/// PgBouncer, where a package installs it.
pub fn find_pgbouncer() -> Option<PathBuf> {
    [
        "/usr/sbin/pgbouncer",
        "/usr/bin/pgbouncer",
        "/usr/local/bin/pgbouncer",
        "/opt/homebrew/bin/pgbouncer",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}
