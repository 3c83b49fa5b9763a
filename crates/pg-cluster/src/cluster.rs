//! A throwaway cluster: `initdb` once, `pg_ctl start` with settings rewritten before every
//! start, `pg_ctl stop` in the mode asked for. It listens on 127.0.0.1 only and trusts local
//! connections; its port is kept in a file beside its log so that a later run finds it.

use std::{
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::{Context, bail};

use crate::{owner::Owner, process};

/// How `pg_ctl stop` ends the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Ends sessions, then shuts down cleanly.
    Fast,
    /// Stops at once without a shutdown checkpoint: what a crash does.
    Immediate,
}

pub struct Cluster {
    /// Port file and log.
    dir: PathBuf,
    data: PathBuf,
    bin_dir: PathBuf,
    owner: Owner,
    port: u16,
}

impl Cluster {
    /// A cluster with its data in `data` and its log and port file in `dir`, run with the
    /// server binaries in `bin_dir`. Nothing is created yet.
    pub fn new(dir: &Path, data: &Path, bin_dir: &Path) -> anyhow::Result<Self> {
        let port = fs::read_to_string(dir.join("port"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0);
        Ok(Self {
            dir: dir.to_owned(),
            data: data.to_owned(),
            bin_dir: bin_dir.to_owned(),
            owner: Owner::find()?,
            port,
        })
    }

    /// Runs `initdb` unless the data directory holds a cluster; returns whether it did. The
    /// directory of the log and port file is made either way: `cargo clean` deletes it, and
    /// leaves data kept in memory (`/dev/shm`) behind.
    pub fn init(&self) -> anyhow::Result<bool> {
        for path in [&self.dir, self.data.parent().unwrap_or(&self.dir)] {
            fs::create_dir_all(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            self.owner.chown(path)?;
        }
        if self.data.join("PG_VERSION").exists() {
            return Ok(false);
        }
        eprintln!(
            "creating a throwaway PostgreSQL cluster in {}",
            self.data.display()
        );
        let mut initdb = self.owner.command(self.bin_dir.join("initdb"));
        initdb
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "-D",
            ])
            .arg(&self.data)
            .stdout(Stdio::null());
        process::run(initdb)?;
        let conf = self.data.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf)?;
        text.push_str("\n# Settings of the tooling, rewritten before every start.\ninclude_if_exists = 'tooling.conf'\n");
        fs::write(&conf, text)?;
        Ok(true)
    }

    /// Starts the server unless it runs, with `settings` (postgresql.conf lines) on top of
    /// listening on 127.0.0.1 only; the port is the last one used when free, else the first
    /// free one from `first_port`.
    pub fn start(&mut self, settings: &str, first_port: u16) -> anyhow::Result<()> {
        if self.is_running() {
            if self.port == 0 {
                bail!(
                    "a cluster runs in {} but its port file is gone; stop it (pg_ctl -D {} stop)",
                    self.data.display(),
                    self.data.display()
                );
            }
            return Ok(());
        }
        let conf = self.data.join("tooling.conf");
        fs::write(
            &conf,
            format!("listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n{settings}"),
        )?;
        self.owner.chown(&conf)?;
        self.port = free_port(self.port, first_port)?;
        let port_file = self.dir.join("port");
        fs::write(&port_file, self.port.to_string())
            .with_context(|| format!("cannot write {}", port_file.display()))?;
        let log = self.dir.join("postgres.log");
        let mut pg_ctl = self.pg_ctl();
        pg_ctl.arg("-l").arg(&log).args([
            "-w",
            "-t",
            "60",
            "-o",
            &format!("-p {}", self.port),
            "start",
        ]);
        process::run(pg_ctl)
            .with_context(|| format!("the cluster did not start; see {}", log.display()))?;
        eprintln!(
            "cluster running on 127.0.0.1:{} (log: {})",
            self.port,
            log.display()
        );
        Ok(())
    }

    /// Stops the server if it runs.
    pub fn stop(&self, mode: StopMode) -> anyhow::Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        let mut pg_ctl = self.pg_ctl();
        pg_ctl.args(["-m", mode, "-w", "stop"]);
        process::run(pg_ctl)
    }

    pub fn is_running(&self) -> bool {
        let mut pg_ctl = self.pg_ctl();
        pg_ctl
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        pg_ctl.status().is_ok_and(|s| s.success())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's URL, in the maintenance database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A client tool (psql, pg_dump) from the server's directory, else the one on PATH.
    pub fn tool(&self, name: &str) -> PathBuf {
        let beside = self.bin_dir.join(name);
        if beside.is_file() {
            beside
        } else {
            PathBuf::from(name)
        }
    }

    /// The user the server runs as, to hand it files (certificates, say).
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    fn pg_ctl(&self) -> std::process::Command {
        let mut pg_ctl = self.owner.command(self.bin_dir.join("pg_ctl"));
        pg_ctl.arg("-D").arg(&self.data);
        pg_ctl
    }
}

/// `preferred` when it is free, else the first free port from `first` on.
fn free_port(preferred: u16, first: u16) -> anyhow::Result<u16> {
    let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).is_ok();
    if preferred != 0 && free(preferred) {
        return Ok(preferred);
    }
    (first..first.saturating_add(100))
        .find(|&p| free(p))
        .with_context(|| format!("no free port from {first} on for the cluster"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stops the cluster however the test ends.
    struct Stopped<'a>(&'a Cluster);

    impl Drop for Stopped<'_> {
        fn drop(&mut self) {
            let _ = self.0.stop(StopMode::Immediate);
        }
    }

    #[test]
    fn a_cluster_whose_log_directory_was_deleted_starts_again() {
        let bin_dir = crate::find_server_binaries().expect(
            "this test starts a PostgreSQL cluster and needs the server binaries (initdb, \
             pg_ctl): apt install postgresql, or set PG_BIN",
        );
        let dir = tempfile::tempdir().unwrap();
        let (logs, data) = (dir.path().join("logs"), dir.path().join("data"));
        let mut cluster = Cluster::new(&logs, &data, &bin_dir).unwrap();
        assert!(cluster.init().unwrap());
        cluster.start("", 56100).unwrap();
        cluster.stop(StopMode::Fast).unwrap();
        fs::remove_dir_all(&logs).unwrap(); // what `cargo clean` does to a cluster in /dev/shm

        let mut again = Cluster::new(&logs, &data, &bin_dir).unwrap();
        assert!(!again.init().unwrap(), "the data is still there");
        again.start("", 56100).unwrap();
        let _stopped = Stopped(&again);
        assert!(again.is_running());
        assert!(logs.join("postgres.log").exists());
    }
}
