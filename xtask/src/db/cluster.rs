//! The throwaway clusters of `cargo xtask`: the development cluster under
//! `target/dev-postgres/`, and a scratch cluster for tests and checks under
//! `target/test-postgres/`, whose data lives in memory (`/dev/shm`) where there is such a
//! place: DDL there is several times faster, and nothing in it outlives a run anyway. Both
//! trade durability for speed. The benchmarks' cluster (`target/bench-postgres/`) does not:
//! it commits as production does, so that what durability costs shows.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use pg_cluster::{Cluster, Owner, StopMode};

use crate::{project_root, target_dir};

/// Room for the herd test's connections and for one transaction creating 10 000 tables.
const SETTINGS: &str = "max_connections = 400\nmax_locks_per_transaction = 256\n";
/// No durability.
const FAST: &str = "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";

/// Which cluster: where it lives and the first port it tries.
pub struct Spec {
    name: String,
    /// What it is for, in messages.
    pub purpose: &'static str,
    in_memory: bool,
    /// Commits wait for the disk, as PostgreSQL's defaults have it.
    durable: bool,
    first_port: u16,
}

impl Spec {
    /// The development database's cluster: on disk, so its data survives a reboot.
    pub fn dev() -> Self {
        Self {
            name: "dev-postgres".into(),
            purpose: "database",
            in_memory: false,
            durable: false,
            first_port: 55432,
        }
    }

    /// Scratch databases for tests, checks and benchmarks; one cluster per major version
    /// other than the installed server's.
    pub fn scratch(major: Option<u32>) -> Self {
        Self {
            name: major.map_or_else(|| "test-postgres".into(), |m| format!("test-postgres-{m}")),
            purpose: "scratch databases",
            in_memory: true,
            durable: false,
            first_port: 55532 + major.map_or(0, |m| 10 * (m as u16 % 100)),
        }
    }

    /// The benchmarks' cluster: on disk, with PostgreSQL's durable defaults.
    pub fn bench() -> Self {
        Self {
            name: "bench-postgres".into(),
            purpose: "benchmarks",
            in_memory: false,
            durable: true,
            first_port: 55472,
        }
    }
}

/// Creates the cluster if it does not exist, and starts it if it is not running.
pub fn up(spec: &Spec, bin_dir: &Path) -> anyhow::Result<Cluster> {
    let (dir, data) = locations(spec)?;
    let mut cluster = Cluster::new(&dir, &data, bin_dir)?;
    cluster.init()?;
    let settings = match spec.durable {
        true => SETTINGS.to_owned(),
        false => format!("{SETTINGS}{FAST}"),
    };
    cluster.start(&settings, spec.first_port)?;
    Ok(cluster)
}

/// Stops the cluster if there is one; `purge` deletes it too. Returns whether one existed.
pub fn down(spec: &Spec, purge: bool) -> anyhow::Result<bool> {
    let (dir, data) = locations(spec)?;
    if !data.exists() {
        return Ok(false);
    }
    if let Some(bin_dir) = pg_cluster::find_server_binaries() {
        Cluster::new(&dir, &data, &bin_dir)?.stop(StopMode::Fast)?;
    }
    if purge {
        for path in [data.parent().unwrap_or(&data), dir.as_path()] {
            if path.exists() {
                eprintln!("deleting {}", path.display());
                std::fs::remove_dir_all(path)?;
            }
        }
    }
    Ok(true)
}

/// Where a cluster keeps its port file and log (`target/<name>/`), and its data: beside them,
/// or in memory for the scratch cluster. A checkout the cluster's owner cannot reach (under a
/// private home directory, say) moves to a directory of its own under the system temp dir.
fn locations(spec: &Spec) -> anyhow::Result<(PathBuf, PathBuf)> {
    let owner = Owner::find()?;
    let tag: u32 = project_root()
        .to_string_lossy()
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    let preferred = target_dir().join(&spec.name);
    let dir = if !owner.is_other_user() || reachable_by_others(&preferred) {
        preferred
    } else {
        let fallback = std::env::temp_dir().join(format!("app-{}-{tag:08x}", spec.name));
        eprintln!(
            "note: {} is not reachable by the `{}` user that runs the cluster; using {} instead",
            preferred.display(),
            owner.name(),
            fallback.display()
        );
        fallback
    };
    let memory = Path::new("/dev/shm");
    let data = if spec.in_memory && memory.is_dir() {
        memory
            .join(format!("app-{}-{tag:08x}", spec.name))
            .join("data")
    } else {
        dir.join("data")
    };
    Ok((dir, data))
}

fn reachable_by_others(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .filter(|p| p.exists())
        .all(|p| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}
