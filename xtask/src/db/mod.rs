//! The PostgreSQL servers `cargo xtask` works with, and the development database on one of
//! them. Which server, in order:
//! 1. `DATABASE_URL` when set (environment or `.env`): used as it is, always;
//! 2. a Docker engine that answers: the `db` service of docker-compose.yml;
//! 3. installed PostgreSQL server binaries: throwaway clusters, one for development under
//!    `target/dev-postgres/`, one for scratch databases with its data in memory, one for
//!    benchmarks that commits durably.
//!
//! A [`Server`] is where scratch databases come and go (tests, checks, benchmarks); the
//! [`DevDatabase`] is the app's own database on the development server, with its two roles.

pub mod cluster;
pub mod docker;
pub mod roles;
pub mod schema;
pub mod scratch;
pub mod url;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};
use cluster::Spec;
use migrate_core::quote::{ident, literal};
use pg_cluster::process;

use crate::tools::postgres;
use url::PgUrl;

const NO_SERVER: &str = "no database available: DATABASE_URL is not set, no Docker engine answers, and no \
    PostgreSQL server binaries (initdb, pg_ctl) were found. Install one of them (Debian/Ubuntu: \
    `apt install postgresql`; macOS: `brew install postgresql@16`; or Docker with Compose v2), or set \
    DATABASE_URL to a server you have";

/// The database the app uses in development.
pub const APP_DATABASE: &str = "app";

/// A PostgreSQL server, and a role on it that may create databases and roles.
pub struct Server {
    pub kind: Kind,
    /// The test suite gets this one.
    pub admin: PgUrl,
}

/// Who runs a server.
pub enum Kind {
    /// Given by `DATABASE_URL`; this project does not manage it.
    External,
    Docker,
    Cluster(pg_cluster::Cluster),
}

/// The development database: the app's database on the development server, and the URLs of
/// its two roles.
pub struct DevDatabase {
    pub server: Server,
    /// What `migrate` connects with (`MIGRATION_DATABASE_URL`).
    pub migrator: PgUrl,
    /// What the api and workers connect with (`DATABASE_URL`).
    pub runtime: PgUrl,
}

impl Server {
    /// A server where scratch databases may be created and dropped (tests, checks).
    pub fn scratch() -> anyhow::Result<Self> {
        Self::pick(&Spec::scratch(None), None)
    }

    /// A server for benchmarks: `DATABASE_URL`'s, else docker compose's, else a throwaway
    /// cluster that commits durably, as production does.
    pub fn bench() -> anyhow::Result<Self> {
        Self::pick(&Spec::bench(), None)
    }

    /// A throwaway cluster for scratch databases, run with the server binaries in `bin_dir`
    /// (of major version `major`), whatever else is available.
    pub fn scratch_cluster(bin_dir: &Path, major: u32) -> anyhow::Result<Self> {
        Self::pick(&Spec::scratch(Some(major)), Some(bin_dir))
    }

    /// With `bin_dir`, a throwaway cluster run with those binaries; otherwise `DATABASE_URL`'s
    /// server, else docker compose's `db` service, else a throwaway cluster from the installed
    /// server binaries.
    fn pick(spec: &Spec, bin_dir: Option<&Path>) -> anyhow::Result<Self> {
        if bin_dir.is_none()
            && let Some(admin) = env_admin()?
        {
            return Ok(Self {
                kind: Kind::External,
                admin,
            });
        }
        let mut docker_failed = None;
        if bin_dir.is_none() && docker::engine_answers() {
            eprintln!(
                "{}: a Docker engine answers, so docker compose runs the `db` service",
                spec.purpose
            );
            match docker::up() {
                Ok(admin) => {
                    return Ok(Self {
                        kind: Kind::Docker,
                        admin,
                    });
                }
                Err(reason) => {
                    eprintln!(
                        "{}: docker compose cannot run the `db` service: {reason}",
                        spec.purpose
                    );
                    docker_failed = Some(reason);
                }
            }
        }
        let Some(bin_dir) = bin_dir
            .map(Path::to_owned)
            .or_else(pg_cluster::find_server_binaries)
        else {
            match docker_failed {
                Some(reason) => bail!(
                    "no database available: docker compose cannot run the `db` service ({reason}), and no \
                     PostgreSQL server binaries (initdb, pg_ctl) were found to fall back on. Fix that, or \
                     install the server (Debian/Ubuntu: `apt install postgresql`; macOS: `brew install \
                     postgresql@16`), or set DATABASE_URL to a server you have"
                ),
                None => bail!("{NO_SERVER}"),
            }
        };
        let why = match docker_failed {
            Some(_) => "docker compose cannot run it",
            None => "no DATABASE_URL and no Docker engine",
        };
        eprintln!(
            "{}: {why}; a throwaway cluster from {}",
            spec.purpose,
            bin_dir.display()
        );
        let cluster = cluster::up(spec, &bin_dir)?;
        let admin = PgUrl::parse(&cluster.admin_url())?;
        Ok(Self {
            kind: Kind::Cluster(cluster),
            admin,
        })
    }

    /// Whether this project runs the server, and so sets its roles up.
    pub fn is_managed(&self) -> bool {
        !matches!(self.kind, Kind::External)
    }

    /// A PostgreSQL client program (psql, pg_dump, pgbench) connected to `url` through `PG*`
    /// variables: the one beside the server's binaries when this project runs it; else the
    /// installed PostgreSQL 18 clients (pg_dump refuses a server newer than itself); else the
    /// one on PATH.
    pub fn client(&self, program: &str, url: &PgUrl) -> Command {
        let beside_server = match &self.kind {
            Kind::Cluster(cluster) => Some(cluster.tool(program)).filter(|p| p.is_absolute()),
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
        match self.kind {
            Kind::Docker => docker::psql(database),
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

    /// Creates database `name` when it is missing; returns whether it did.
    pub fn create_database(&self, name: &str) -> anyhow::Result<bool> {
        let exists = self.admin_sql(&format!(
            "SELECT 1 FROM pg_database WHERE datname = {}",
            literal(name)
        ))?;
        if !exists.trim().is_empty() {
            return Ok(false);
        }
        self.admin_sql(&format!("CREATE DATABASE {}", ident(name)))?;
        Ok(true)
    }
}

impl DevDatabase {
    /// Finds or starts the development server and makes sure the app's database exists, with
    /// its roles when this project manages the server.
    pub fn ensure() -> anyhow::Result<Self> {
        let db = Self::locate()?;
        if db.server.is_managed() {
            let created = db.server.create_database(&db.name())?;
            roles::ensure(&db.server, created)?;
        }
        Ok(db)
    }

    /// The development server and the app database's URLs, without creating anything.
    pub fn locate() -> anyhow::Result<Self> {
        let server = Server::pick(&Spec::dev(), None)?;
        let (migrator, runtime) = match env_url("DATABASE_URL") {
            Some(url) => {
                let runtime = PgUrl::parse(&url).context("DATABASE_URL")?;
                let migrator = match env_url("MIGRATION_DATABASE_URL") {
                    Some(url) => PgUrl::parse(&url).context("MIGRATION_DATABASE_URL")?,
                    None => runtime.clone(),
                };
                (migrator, runtime)
            }
            None => {
                let app = server.admin.with_database(APP_DATABASE);
                (
                    app.with_user(roles::MIGRATOR, &roles::password(roles::MIGRATOR)),
                    app.with_user(roles::RUNTIME, &roles::password(roles::RUNTIME)),
                )
            }
        };
        Ok(Self {
            server,
            migrator,
            runtime,
        })
    }

    /// The app database's name.
    pub fn name(&self) -> String {
        self.migrator
            .database()
            .unwrap_or_else(|| APP_DATABASE.to_owned())
    }
}

/// An explicit `DATABASE_URL` always wins: the admin URL is `TEST_DATABASE_URL`, else the
/// migrator's (`MIGRATION_DATABASE_URL`, else `DATABASE_URL`) on the maintenance database.
fn env_admin() -> anyhow::Result<Option<PgUrl>> {
    let Some(url) = env_url("DATABASE_URL") else {
        return Ok(None);
    };
    let runtime = PgUrl::parse(&url).context("DATABASE_URL")?;
    let admin = match (
        env_url("TEST_DATABASE_URL"),
        env_url("MIGRATION_DATABASE_URL"),
    ) {
        (Some(url), _) => PgUrl::parse(&url).context("TEST_DATABASE_URL")?,
        (None, Some(url)) => PgUrl::parse(&url)
            .context("MIGRATION_DATABASE_URL")?
            .with_database("postgres"),
        (None, None) => runtime.with_database("postgres"),
    };
    eprintln!(
        "database: DATABASE_URL is set, so it is used as given: {}",
        runtime.redacted()
    );
    Ok(Some(admin))
}

pub fn env_url(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}
