//! The databases `cargo xtask` works with: the development database, and a server for scratch
//! databases (tests, checks, benchmarks). Which server, in order:
//! 1. `DATABASE_URL` when set (environment or `.env`): used as it is, always, for both;
//! 2. a Docker engine that answers: the `db` service of docker-compose.yml, for both;
//! 3. installed PostgreSQL server binaries: throwaway clusters, one for development under
//!    `target/dev-postgres/`, one for scratch databases with its data in memory.

mod cluster;
mod docker;
mod roles;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::{flags, pg_url::PgUrl};

const NO_SERVER: &str = "no database available: DATABASE_URL is not set, no Docker engine answers, and no \
    PostgreSQL server binaries (initdb, pg_ctl) were found. Install one of them (Debian/Ubuntu: \
    `apt install postgresql`; macOS: `brew install postgresql@16`; or Docker), or set DATABASE_URL \
    to a server you have";

/// The database the app uses in development.
pub const APP_DATABASE: &str = "app";

/// Where the development database is, and how to reach it.
pub struct DevDatabase {
    pub server: Server,
    /// Can create databases and roles on the server; the test suite gets this one.
    pub admin: PgUrl,
    /// What `migrate` connects with (`MIGRATION_DATABASE_URL`).
    pub migrator: PgUrl,
    /// What the api and workers connect with (`DATABASE_URL`).
    pub runtime: PgUrl,
}

pub enum Server {
    /// Given by `DATABASE_URL`; this project does not manage it.
    External,
    Docker,
    Cluster(cluster::Cluster),
}

impl DevDatabase {
    /// Finds or starts the server and makes sure the app's database exists, with its roles
    /// when this project manages the server.
    pub fn ensure(sh: &Shell) -> anyhow::Result<Self> {
        let db = Self::server(sh)?;
        if db.manages_roles() {
            let created = db.create_app_database(sh)?;
            roles::ensure(sh, &db, created)?;
        }
        Ok(db)
    }

    /// A server where scratch databases may be created and dropped (tests, checks, benches).
    /// Only `admin` matters.
    pub fn scratch_server(sh: &Shell) -> anyhow::Result<Self> {
        if let Some(db) = Self::from_env()? {
            return Ok(db);
        }
        let (server, admin) = start_server(
            sh,
            &cluster::SCRATCH,
            "scratch databases: on docker compose's `db` service",
            "scratch databases: on a throwaway cluster from",
        )?;
        Ok(Self {
            server,
            migrator: admin.clone(),
            runtime: admin.clone(),
            admin,
        })
    }

    /// Finds or starts the development server, without looking at the app's database.
    fn server(sh: &Shell) -> anyhow::Result<Self> {
        if let Some(db) = Self::from_env()? {
            return Ok(db);
        }
        let (server, admin) = start_server(
            sh,
            &cluster::DEV,
            "database: a Docker engine answers, so docker compose runs the `db` service",
            "database: no DATABASE_URL and no Docker engine; using a throwaway cluster from",
        )?;
        let app = admin.with_database(APP_DATABASE);
        let db = Self {
            server,
            migrator: app.with_user(roles::MIGRATOR, roles::MIGRATOR),
            runtime: app.with_user(roles::RUNTIME, roles::RUNTIME),
            admin,
        };
        Ok(db)
    }

    fn manages_roles(&self) -> bool {
        !matches!(self.server, Server::External)
    }

    /// An explicit `DATABASE_URL` always wins. `MIGRATION_DATABASE_URL` and
    /// `TEST_DATABASE_URL` may refine it.
    fn from_env() -> anyhow::Result<Option<Self>> {
        let Some(url) = env_url("DATABASE_URL") else {
            return Ok(None);
        };
        let runtime = PgUrl::parse(&url).context("DATABASE_URL")?;
        let migrator = match env_url("MIGRATION_DATABASE_URL") {
            Some(url) => PgUrl::parse(&url).context("MIGRATION_DATABASE_URL")?,
            None => runtime.clone(),
        };
        let admin = match env_url("TEST_DATABASE_URL") {
            Some(url) => PgUrl::parse(&url).context("TEST_DATABASE_URL")?,
            None => migrator.with_database("postgres"),
        };
        eprintln!(
            "database: DATABASE_URL is set, so it is used as given: {}",
            runtime.redacted()
        );
        Ok(Some(Self {
            server: Server::External,
            admin,
            migrator,
            runtime,
        }))
    }

    /// A PostgreSQL client tool (psql, pg_dump), matching the cluster's server when there is one.
    pub fn tool(&self, name: &str) -> std::path::PathBuf {
        match &self.server {
            Server::Cluster(cluster) => cluster.tool(name),
            _ => name.into(),
        }
    }

    /// Runs SQL on the server as the admin, in the maintenance database; returns its output.
    pub fn admin_sql(&self, sh: &Shell, sql: &str) -> anyhow::Result<String> {
        self.admin_sql_in(sh, "postgres", sql)
    }

    /// Runs SQL as the admin in `database`; returns its output.
    pub fn admin_sql_in(&self, sh: &Shell, database: &str, sql: &str) -> anyhow::Result<String> {
        eprintln!(
            "$ psql -c {sql:?}  ({})",
            self.admin.with_database(database).redacted()
        );
        self.psql(sh, database, &["-c", sql], None)
    }

    /// Runs a psql script (meta-commands such as `\connect` allowed) as the admin.
    pub fn admin_script(&self, sh: &Shell, script: &str) -> anyhow::Result<String> {
        eprintln!(
            "$ psql -f - < script ({} lines)  ({})",
            script.lines().count(),
            self.admin.redacted()
        );
        self.psql(sh, "postgres", &["-f", "-"], Some(script))
    }

    fn psql(
        &self,
        sh: &Shell,
        database: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> anyhow::Result<String> {
        let url = self.admin.with_database(database);
        let mut command = match self.server {
            // The host may have no PostgreSQL client; the container has one.
            Server::Docker => cmd!(
                sh,
                "docker compose exec -T db psql -U postgres -d {database}"
            ),
            _ => {
                let psql = self.tool("psql");
                cmd!(sh, "{psql}")
            }
        };
        command = command
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
            .args(args)
            .env("PGOPTIONS", "-c client_min_messages=warning")
            .quiet();
        for (key, value) in url.libpq_env() {
            command = command.env(key, value);
        }
        if let Some(stdin) = stdin {
            command = command.stdin(stdin);
        }
        command.read().with_context(|| {
            format!(
                "psql failed on {} (is the PostgreSQL client installed?)",
                url.redacted()
            )
        })
    }

    /// Creates the app's database when it is missing; returns whether it did.
    fn create_app_database(&self, sh: &Shell) -> anyhow::Result<bool> {
        let name = self.migrator.database.as_deref().unwrap_or(APP_DATABASE);
        let exists = self.admin_sql(
            sh,
            &format!(
                "SELECT 1 FROM pg_database WHERE datname = {}",
                literal(name)
            ),
        )?;
        if !exists.trim().is_empty() {
            return Ok(false);
        }
        self.admin_sql(sh, &format!("CREATE DATABASE {}", ident(name)))?;
        Ok(true)
    }
}

fn env_url(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl flags::DbUp {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let db = DevDatabase::ensure(sh)?;
        eprintln!(
            "database ready. Migrate with `cargo xtask migrate-up`; the URLs (passwords hidden):"
        );
        println!("MIGRATION_DATABASE_URL={}", db.migrator.redacted());
        println!("DATABASE_URL={}", db.runtime.redacted());
        Ok(())
    }
}

impl flags::DbDown {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        if env_url("DATABASE_URL").is_some() {
            eprintln!(
                "DATABASE_URL points at a server this project does not manage; nothing to stop"
            );
            return Ok(());
        }
        let mut stopped = cluster::Cluster::down(&cluster::DEV, self.purge)?;
        stopped |= cluster::Cluster::down(&cluster::SCRATCH, self.purge)?;
        if docker::engine_answers(sh) {
            docker::down(sh, self.purge)?;
            stopped = true;
        }
        if !stopped {
            eprintln!("no development database is running");
        }
        Ok(())
    }
}

impl flags::DbReset {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let db = DevDatabase::server(sh)?;
        let name = db
            .migrator
            .database
            .clone()
            .context("the migration URL names no database")?;
        if !db.migrator.is_local() && !self.force {
            bail!(
                "refusing to reset database {name:?} on {}: it is not on this machine. Pass --force if you mean it",
                db.migrator.host.as_deref().unwrap_or("?")
            );
        }
        eprintln!("resetting database {name:?} on {}", db.migrator.redacted());
        db.admin_sql(
            sh,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(&name)),
        )?;
        let created = db.create_app_database(sh)?;
        if db.manages_roles() {
            roles::ensure(sh, &db, created)?;
        }
        crate::migrate::run(sh, &db, &["up"])
    }
}

/// docker compose's `db` service where a Docker engine answers, else a throwaway cluster
/// from the installed server binaries; says which (`cluster_says` is followed by their path).
fn start_server(
    sh: &Shell,
    spec: &cluster::Spec,
    docker_says: &str,
    cluster_says: &str,
) -> anyhow::Result<(Server, PgUrl)> {
    if docker::engine_answers(sh) {
        eprintln!("{docker_says}");
        return Ok((Server::Docker, docker::up(sh)?));
    }
    let Some(bin_dir) = cluster::find_server_binaries() else {
        bail!("{NO_SERVER}")
    };
    eprintln!("{cluster_says} {}", bin_dir.display());
    let cluster = cluster::Cluster::up(spec, bin_dir)?;
    let admin = cluster.admin_url();
    Ok((Server::Cluster(cluster), admin))
}
