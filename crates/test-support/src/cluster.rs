//! A PostgreSQL cluster of a test's own, for what the shared server cannot do: TLS with a
//! certificate authority the test made, or a crash (`pg_ctl stop -m immediate`). It is started
//! from the server binaries `cargo xtask test` chose (`PG_BIN`), or the installed ones, and
//! stopped when dropped.

use std::{fs, os::unix::fs::PermissionsExt};

use pg_cluster::{Cluster, StopMode};

pub struct OwnCluster {
    cluster: Cluster,
    settings: String,
    _dir: tempfile::TempDir,
}

impl OwnCluster {
    /// Creates a cluster, writes `files` into its data directory (readable by the server's user
    /// only, as PostgreSQL requires of keys), and starts it with `settings` (postgresql.conf).
    pub fn start(settings: &str, files: &[(&str, &[u8])]) -> Self {
        let bin_dir = pg_cluster::find_server_binaries().expect(
            "this test starts a PostgreSQL cluster of its own and needs the server binaries \
             (initdb, pg_ctl): apt install postgresql, or set PG_BIN",
        );
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let cluster = Cluster::new(dir.path(), &data, &bin_dir).unwrap();
        cluster.init().unwrap();
        for (name, content) in files {
            let path = data.join(name);
            fs::write(&path, content).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            cluster.owner().chown(&path).unwrap();
        }
        let mut own = Self {
            cluster,
            settings: settings.to_owned(),
            _dir: dir,
        };
        own.restart();
        own
    }

    /// The superuser's URL for `database`.
    pub fn url(&self, database: &str) -> String {
        crate::with_database(&self.cluster.admin_url(), database)
    }

    pub fn port(&self) -> u16 {
        self.cluster.port()
    }

    /// Stops the server as a crash would: no shutdown checkpoint, sessions cut.
    pub fn crash(&self) {
        self.cluster.stop(StopMode::Immediate).unwrap();
    }

    /// Starts the server again (after a crash, it recovers from its WAL first).
    pub fn restart(&mut self) {
        // A port of its own: tests start clusters in parallel processes.
        let first_port = 30_000 + u16::try_from(std::process::id() % 20_000).unwrap();
        self.cluster.start(&self.settings, first_port).unwrap();
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self.cluster.stop(StopMode::Immediate);
    }
}
