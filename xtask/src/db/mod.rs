//! The databases `cargo xtask` works with: the development database, and a server for scratch
//! databases (tests, checks, benchmarks). Which server, in order:
//! 1. `DATABASE_URL` when set (environment or `.env`): used as it is, always, for both;
//! 2. a Docker engine that answers: the `db` service of docker-compose.yml, for both;
//! 3. installed PostgreSQL server binaries: throwaway clusters, one for development under
//!    `target/dev-postgres/`, one for scratch databases with its data in memory.

mod cluster;
mod docker;
mod roles;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};
use cluster::Spec;
use pg_cluster::process;
use xshell::Shell;

use crate::{flags, pg_url::PgUrl, postgres};

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
    Cluster(pg_cluster::Cluster),
}

impl DevDatabase {
    /// Finds or starts the server and makes sure the app's database exists, with its roles
    /// when this project manages the server.
    pub fn ensure(sh: &Shell) -> anyhow::Result<Self> {
        let db = Self::server(sh, &Spec::dev(), None)?;
        if db.manages_roles() {
            let created = db.create_app_database()?;
            roles::ensure(&db, created)?;
        }
        Ok(db)
    }

    /// A server where scratch databases may be created and dropped (tests, checks, benches).
    /// Only `admin` matters.
    pub fn scratch_server(sh: &Shell) -> anyhow::Result<Self> {
        Self::server(sh, &Spec::scratch(None), None)
    }

    /// A server for benchmarks: `DATABASE_URL`'s, else docker compose's, else a throwaway
    /// cluster that commits durably, as production does.
    pub fn bench_server(sh: &Shell) -> anyhow::Result<Self> {
        Self::server(sh, &Spec::bench(), None)
    }

    /// A throwaway cluster for scratch databases, run with the server binaries in `bin_dir`
    /// (of major version `major`), whatever else is available.
    pub fn scratch_cluster(sh: &Shell, bin_dir: &Path, major: u32) -> anyhow::Result<Self> {
        Self::server(sh, &Spec::scratch(Some(major)), Some(bin_dir))
    }

    /// With `bin_dir`, a throwaway cluster run with those binaries; otherwise `DATABASE_URL`'s
    /// server, else docker compose's `db` service, else a throwaway cluster from the installed
    /// server binaries.
    fn server(sh: &Shell, spec: &Spec, bin_dir: Option<&Path>) -> anyhow::Result<Self> {
        if bin_dir.is_none()
            && let Some(db) = Self::from_env()?
        {
            return Ok(db);
        }
        let (server, admin) = if bin_dir.is_none() && docker::engine_answers() {
            eprintln!(
                "{}: a Docker engine answers, so docker compose runs the `db` service",
                spec.purpose
            );
            (Server::Docker, docker::up(sh)?)
        } else {
            let Some(bin_dir) = bin_dir
                .map(Path::to_owned)
                .or_else(pg_cluster::find_server_binaries)
            else {
                bail!("{NO_SERVER}")
            };
            eprintln!(
                "{}: no DATABASE_URL and no Docker engine; a throwaway cluster from {}",
                spec.purpose,
                bin_dir.display()
            );
            let cluster = cluster::up(spec, &bin_dir)?;
            let admin = PgUrl::parse(&cluster.admin_url())?;
            (Server::Cluster(cluster), admin)
        };
        let app = admin.with_database(APP_DATABASE);
        Ok(Self {
            server,
            migrator: app.with_user(roles::MIGRATOR, roles::MIGRATOR),
            runtime: app.with_user(roles::RUNTIME, roles::RUNTIME),
            admin,
        })
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

    /// A PostgreSQL client program (psql, pg_dump, pgbench) connected to `url` through `PG*`
    /// variables: the one beside the server's binaries when this project runs it; else the
    /// installed PostgreSQL 18 clients (pg_dump refuses a server newer than itself); else the
    /// one on PATH.
    pub fn client(&self, program: &str, url: &PgUrl) -> Command {
        let beside_server = match &self.server {
            Server::Cluster(cluster) => Some(cluster.tool(program)).filter(|p| p.is_absolute()),
            _ => None,
        };
        let path = beside_server
            .or_else(|| {
                postgres::installed_clients()
                    .map(|dir| dir.join(program))
                    .filter(|p| p.is_file())
            })
            .unwrap_or_else(|| PathBuf::from(program));
        let mut command = Command::new(path);
        command
            .envs(url.libpq_env())
            .env("PGOPTIONS", "-c client_min_messages=warning");
        command
    }

    /// psql on `url`: no `.psqlrc`, quiet, stopping at the first error.
    pub fn psql(&self, url: &PgUrl) -> Command {
        let mut psql = self.client("psql", url);
        psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
        psql
    }

    /// psql as the admin in `database`: in the container when docker compose runs the server
    /// (the host may have no PostgreSQL client), else here.
    fn admin_psql(&self, database: &str) -> Command {
        match self.server {
            Server::Docker => {
                let mut exec = Command::new("docker");
                exec.args([
                    "compose",
                    "exec",
                    "-T",
                    "db",
                    "psql",
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                ])
                .args(["-U", "postgres", "-d", database]);
                exec
            }
            _ => self.psql(&self.admin.with_database(database)),
        }
    }

    /// Runs `sql` as the admin in `database`; returns its rows, unaligned.
    pub fn admin_sql_in(&self, database: &str, sql: &str) -> anyhow::Result<String> {
        let mut psql = self.admin_psql(database);
        psql.args(["-t", "-A", "-c", sql]);
        process::read(psql).with_context(|| {
            format!(
                "psql failed on {} (is the PostgreSQL client installed?)",
                self.admin.redacted()
            )
        })
    }

    /// Runs a psql script (meta-commands such as `\connect` allowed) as the admin.
    pub fn admin_script(&self, script: &str) -> anyhow::Result<()> {
        let mut psql = self.admin_psql("postgres");
        psql.args(["-f", "-"]);
        let output = process::pipe(psql, script)?;
        if !output.status.success() {
            bail!(
                "psql failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// Runs `sql` as the admin in the maintenance database.
    pub fn admin_sql(&self, sql: &str) -> anyhow::Result<String> {
        self.admin_sql_in("postgres", sql)
    }

    /// Creates the app's database when it is missing; returns whether it did.
    fn create_app_database(&self) -> anyhow::Result<bool> {
        let name = self
            .migrator
            .database()
            .unwrap_or_else(|| APP_DATABASE.to_owned());
        let exists = self.admin_sql(&format!(
            "SELECT 1 FROM pg_database WHERE datname = {}",
            literal(&name)
        ))?;
        if !exists.trim().is_empty() {
            return Ok(false);
        }
        self.admin_sql(&format!("CREATE DATABASE {}", ident(&name)))?;
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
        let mut stopped = cluster::down(&Spec::dev(), self.purge)?;
        stopped |= cluster::down(&Spec::scratch(None), self.purge)?;
        stopped |= cluster::down(&Spec::bench(), self.purge)?;
        for major in 15..=postgres::NEWEST {
            stopped |= cluster::down(&Spec::scratch(Some(major)), self.purge)?;
        }
        if docker::engine_answers() {
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
        let db = DevDatabase::server(sh, &Spec::dev(), None)?;
        let name = db
            .migrator
            .database()
            .context("the migration URL names no database")?;
        if !db.migrator.is_local() && !self.force {
            bail!(
                "refusing to reset database {name:?} on {}: it is not on this machine. Pass --force if you mean it",
                db.migrator.host().unwrap_or("?")
            );
        }
        eprintln!("resetting database {name:?} on {}", db.migrator.redacted());
        db.admin_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            ident(&name)
        ))?;
        let created = db.create_app_database()?;
        if db.manages_roles() {
            roles::ensure(&db, created)?;
        }
        crate::migrate::run(sh, &db, &["up"])
    }
}
