//! Throwaway PostgreSQL clusters started from the installed server binaries: the development
//! cluster under `target/dev-postgres/`, and a scratch cluster for tests, checks and benchmarks
//! under `target/test-postgres/`, whose data lives in memory (`/dev/shm`) where there is such a
//! place: DDL there is several times faster, and nothing in it outlives a run anyway. Both
//! listen on 127.0.0.1 only, trust local connections, and trade durability for speed.
//!
//! `initdb` and `postgres` refuse to run as root, so as root the cluster belongs to the
//! `postgres` user (or `nobody`), and the binaries run as that user.

use std::{
    fs,
    net::TcpListener,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};

use crate::{pg_url::PgUrl, project_root, target_dir};

/// A local, throwaway cluster: reachable from this machine only, no durability (fsync off),
/// room for the herd test's connections and for one transaction creating 10 000 tables.
const SETTINGS: &str = "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_connections = 400\n\
                        max_locks_per_transaction = 256\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";

/// Which cluster: where it lives and the first port it tries.
pub struct Spec {
    name: &'static str,
    in_memory: bool,
    first_port: u16,
}

/// The development database's cluster: on disk, so its data survives a reboot.
pub const DEV: Spec = Spec {
    name: "dev-postgres",
    in_memory: false,
    first_port: 55432,
};
/// Scratch databases for tests, checks and benchmarks.
pub const SCRATCH: Spec = Spec {
    name: "test-postgres",
    in_memory: true,
    first_port: 55532,
};

pub struct Cluster {
    /// Port file and log.
    dir: PathBuf,
    data: PathBuf,
    bin_dir: PathBuf,
    port: u16,
}

/// The directory holding `initdb` and `pg_ctl`: on PATH, from `pg_config --bindir`, or the
/// newest Debian-style `/usr/lib/postgresql/<version>/bin`.
pub fn find_server_binaries() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
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

impl Cluster {
    /// Initialises the cluster if it does not exist, and starts it if it is not running.
    pub fn up(spec: &Spec, bin_dir: PathBuf) -> anyhow::Result<Self> {
        let owner = Owner::find()?;
        let (dir, data) = locations(spec, &owner)?;
        if !data.join("PG_VERSION").exists() {
            for path in [&dir, data.parent().unwrap_or(&dir)] {
                fs::create_dir_all(path)?;
                owner.chown(path)?;
            }
            eprintln!(
                "creating a throwaway PostgreSQL cluster in {}",
                data.display()
            );
            run(owner
                .command(bin_dir.join("initdb"))
                .stdout(std::process::Stdio::null())
                .args([
                    "--auth=trust",
                    "--username=postgres",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ])
                .arg("-D")
                .arg(&data))?;
            let conf = data.join("postgresql.conf");
            let mut text = fs::read_to_string(&conf)?;
            text.push_str("\n# Settings of cargo xtask, rewritten before every start.\ninclude_if_exists = 'xtask.conf'\n");
            fs::write(&conf, text)?;
        }
        let port_file = dir.join("port");
        let mut cluster = Self {
            port: fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(0),
            dir,
            data,
            bin_dir,
        };
        if cluster.is_running(&owner) {
            if cluster.port == 0 {
                bail!(
                    "a cluster runs in {} but its port file is gone; stop it with `cargo xtask db-down`",
                    cluster.data.display()
                );
            }
            return Ok(cluster);
        }
        let settings = cluster.data.join("xtask.conf");
        fs::write(&settings, SETTINGS)?;
        owner.chown(&settings)?;
        cluster.port = free_port(cluster.port, spec.first_port)?;
        fs::write(&port_file, cluster.port.to_string())?;
        let log = cluster.dir.join("postgres.log");
        run(owner
            .command(cluster.bin_dir.join("pg_ctl"))
            .arg("-D")
            .arg(&cluster.data)
            .arg("-l")
            .arg(&log)
            .args([
                "-w",
                "-t",
                "60",
                "-o",
                &format!("-p {}", cluster.port),
                "start",
            ]))
        .with_context(|| format!("the cluster did not start; see {}", log.display()))?;
        eprintln!(
            "cluster running on 127.0.0.1:{} (log: {})",
            cluster.port,
            log.display()
        );
        Ok(cluster)
    }

    /// Stops the cluster if there is one; `purge` deletes it too. Returns whether one existed.
    pub fn down(spec: &Spec, purge: bool) -> anyhow::Result<bool> {
        let owner = Owner::find()?;
        let (dir, data) = locations(spec, &owner)?;
        if !data.exists() {
            return Ok(false);
        }
        if let Some(bin_dir) = find_server_binaries() {
            let cluster = Self {
                dir: dir.clone(),
                data: data.clone(),
                bin_dir,
                port: 0,
            };
            if cluster.is_running(&owner) {
                run(owner
                    .command(cluster.bin_dir.join("pg_ctl"))
                    .arg("-D")
                    .arg(&data)
                    .args(["-m", "fast", "-w", "stop"]))?;
            }
        }
        if purge {
            for path in [data.parent().unwrap_or(&data), dir.as_path()] {
                if path.exists() {
                    eprintln!("deleting {}", path.display());
                    fs::remove_dir_all(path)?;
                }
            }
        }
        Ok(true)
    }

    pub fn admin_url(&self) -> PgUrl {
        PgUrl::parse(&format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            self.port
        ))
        .expect("a well-formed URL")
    }

    /// A client tool (psql, pg_dump) matching the server, or the one on PATH.
    pub fn tool(&self, name: &str) -> PathBuf {
        let beside = self.bin_dir.join(name);
        if beside.is_file() {
            beside
        } else {
            PathBuf::from(name)
        }
    }

    fn is_running(&self, owner: &Owner) -> bool {
        owner
            .command(self.bin_dir.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .arg("status")
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

/// Where a cluster keeps its port file and log (`target/<name>/`), and its data: beside them,
/// or in memory for the scratch cluster. A checkout the cluster's owner cannot reach (under a
/// private home directory, say) moves to a directory of its own under the system temp dir.
fn locations(spec: &Spec, owner: &Owner) -> anyhow::Result<(PathBuf, PathBuf)> {
    let root = project_root();
    let tag: u32 = root
        .to_string_lossy()
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    let preferred = target_dir().join(spec.name);
    let dir = if owner.uid.is_none() || reachable_by_others(&preferred) {
        preferred
    } else {
        let fallback = std::env::temp_dir().join(format!("app-{}-{tag:08x}", spec.name));
        eprintln!(
            "note: {} is not reachable by the `{}` user that runs the cluster; using {} instead",
            preferred.display(),
            owner.name,
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
        .all(|p| fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// Who runs the server: ourselves, or, when we are root, an unprivileged user.
struct Owner {
    name: String,
    uid: Option<(u32, u32)>,
}

impl Owner {
    fn find() -> anyhow::Result<Self> {
        let euid = Command::new("id")
            .arg("-u")
            .output()
            .context("cannot run `id -u`")?;
        if String::from_utf8_lossy(&euid.stdout).trim() != "0" {
            return Ok(Self {
                name: "yourself".into(),
                uid: None,
            });
        }
        let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
        for candidate in ["postgres", "nobody"] {
            let entry = passwd
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.first() == Some(&candidate));
            if let Some(fields) = entry
                && let (Some(uid), Some(gid)) = (
                    fields.get(2).and_then(|u| u.parse().ok()),
                    fields.get(3).and_then(|g| g.parse().ok()),
                )
            {
                return Ok(Self {
                    name: candidate.into(),
                    uid: Some((uid, gid)),
                });
            }
        }
        bail!(
            "running as root, and neither a `postgres` nor a `nobody` user exists to run the cluster as"
        )
    }

    fn command(&self, program: PathBuf) -> Command {
        let mut command = Command::new(program);
        if let Some((uid, gid)) = self.uid {
            command.uid(uid).gid(gid).current_dir("/");
        }
        command
    }

    fn chown(&self, path: &Path) -> anyhow::Result<()> {
        if let Some((uid, gid)) = self.uid {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).with_context(|| {
                format!("cannot hand {} to the `{}` user", path.display(), self.name)
            })?;
        }
        Ok(())
    }
}

/// Runs a command, echoing it first like xshell does.
fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    eprintln!("$ {}", shown.join(" "));
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", shown[0]))?;
    if !status.success() {
        bail!("`{}` failed ({status})", shown.join(" "));
    }
    Ok(())
}

/// `preferred` when it is free, else the first free port from `first` on.
fn free_port(preferred: u16, first: u16) -> anyhow::Result<u16> {
    let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).is_ok();
    if preferred != 0 && free(preferred) {
        return Ok(preferred);
    }
    (first..first + 100).find(|&p| free(p)).with_context(|| {
        format!(
            "no free port between {first} and {} for the cluster",
            first + 99
        )
    })
}
