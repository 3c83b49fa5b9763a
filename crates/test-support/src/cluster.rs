//! A PostgreSQL cluster of a test's own, for what the shared server cannot do: TLS with a
//! certificate authority the test made, a crash (`pg_ctl stop -m immediate`), or a
//! point-in-time recovery (WAL archived, a base backup, a copy recovered to a position). It is
//! started from the server binaries `cargo xtask test` chose (`PG_BIN`), or the installed
//! ones, and stopped when dropped.

use std::{fs, os::unix::fs::PermissionsExt, path::PathBuf};

use pg_cluster::{Cluster, StopMode, process};
use sqlx::Connection;

pub struct OwnCluster {
    cluster: Cluster,
    settings: String,
    _dir: tempfile::TempDir,
    /// Where an archiving cluster's WAL goes, in a directory of the test's.
    archive: Option<(tempfile::TempDir, PathBuf)>,
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
            archive: None,
        };
        own.restart();
        own
    }

    /// A cluster that archives its WAL (`wal_level = replica`, `archive_mode`), for
    /// [`OwnCluster::base_backup`] and [`OwnCluster::recover`].
    pub fn archiving() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        fs::create_dir_all(&archive).unwrap();
        let settings = format!(
            "wal_level = replica\narchive_mode = on\narchive_command = 'cp %p {}/%f'\n",
            archive.display()
        );
        let mut own = Self::start(&settings, &[]);
        own.cluster.owner().chown(dir.path()).unwrap();
        own.cluster.owner().chown(&archive).unwrap();
        own.archive = Some((dir, archive));
        own
    }

    /// `pg_basebackup` of the running server, into a directory of the test's; returns it.
    pub fn base_backup(&self) -> PathBuf {
        let (dir, _) = self.archive.as_ref().expect("an archiving cluster");
        let backup = dir.path().join(format!(
            "backup-{}",
            fs::read_dir(dir.path()).unwrap().count()
        ));
        // As new as the server, or newer (PG_CLIENTS): an older one refuses it.
        let mut command = self
            .cluster
            .owner()
            .command(crate::client_tool("pg_basebackup"));
        command
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-X",
                "none",
                "-c",
                "fast",
                "-p",
            ])
            .arg(self.port().to_string())
            .arg("-D")
            .arg(&backup);
        process::run(command).unwrap();
        backup
    }

    /// A new cluster from a copy of `backup`, replaying this cluster's archived WAL up to
    /// `target` (postgresql.conf lines such as `recovery_target_lsn = '0/3000060'`; none: all
    /// of it), then promoted. Returns once it accepts writes.
    pub async fn recover(&self, backup: &std::path::Path, target: &str) -> Self {
        let (_, archive) = self.archive.as_ref().expect("an archiving cluster");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut copy = std::process::Command::new("cp");
        copy.arg("-a").arg(backup).arg(&data);
        process::run(copy).unwrap();
        let bin_dir = pg_cluster::find_server_binaries().unwrap();
        let cluster = Cluster::new(dir.path(), &data, &bin_dir).unwrap();
        fs::write(data.join("recovery.signal"), "").unwrap();
        cluster.owner().chown(dir.path()).unwrap();
        cluster
            .owner()
            .chown(&data.join("recovery.signal"))
            .unwrap();
        let settings = format!(
            "restore_command = 'cp {}/%f %p'\nrecovery_target_action = 'promote'\n{target}\n",
            archive.display()
        );
        let mut own = Self {
            cluster,
            settings,
            _dir: dir,
            archive: None,
        };
        own.restart();
        let url = own.url("postgres");
        crate::eventually("the recovered server is promoted", || async {
            let Ok(mut conn) = sqlx::PgConnection::connect(&url).await else {
                return false;
            };
            sqlx::query_scalar::<_, bool>("SELECT NOT pg_is_in_recovery()")
                .fetch_one(&mut conn)
                .await
                .unwrap_or(false)
        })
        .await;
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
