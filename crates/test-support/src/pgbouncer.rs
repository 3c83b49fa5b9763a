//! A real PgBouncer (Debian's `pgbouncer` package) in front of a test database.

use std::{
    net::{TcpListener, TcpStream},
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use pg_cluster::{Owner, find_pgbouncer};

use crate::{TestDb, server_url};

pub struct PgBouncer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PgBouncer {
    /// Starts PgBouncer with `pool_mode` (`transaction`, `session`) in front of `db`.
    pub fn start(db: &TestDb, pool_mode: &str) -> Self {
        let binary = find_pgbouncer()
            .expect("this test needs PgBouncer: apt install pgbouncer (or brew install pgbouncer)");
        let server = url::Url::parse(&server_url()).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let password = server
            .password()
            .map(|p| format!(" password={p}"))
            .unwrap_or_default();
        let config = format!(
            "[databases]\n{} = host={} port={} dbname={} user={}{password}\n\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = any\npool_mode = {pool_mode}\ndefault_pool_size = 4\n\
             ignore_startup_parameters = extra_float_digits,options\n\
             logfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\n",
            db.name,
            server.host_str().unwrap_or("127.0.0.1"),
            server.port().unwrap_or(5432),
            db.name,
            server.username(),
            dir = dir.path().display(),
        );
        let ini = dir.path().join("pgbouncer.ini");
        std::fs::write(&ini, config).unwrap();
        // PgBouncer refuses to run as root: it runs as the user PostgreSQL would.
        let owner = Owner::find().unwrap();
        owner.chown(dir.path()).unwrap();
        owner.chown(&ini).unwrap();
        let mut command = owner.command(binary);
        command
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().expect("pgbouncer starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    /// The URL of `db` through the pooler.
    pub fn url(&self, db: &TestDb) -> String {
        format!("postgres://pooled@127.0.0.1:{}/{}", self.port, db.name)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
