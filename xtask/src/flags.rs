//! The commands of `cargo xtask`. The structs below the grammar are generated: edit the
//! grammar, then run `UPDATE_XFLAGS=1 cargo build -p xtask`.

#![allow(unused_qualifications)] // in the generated code

use std::{ffi::OsString, path::PathBuf};

xflags::xflags! {
    src "./src/flags.rs"

    /// Project automation. Database commands use DATABASE_URL when it is set (environment or
    /// .env); otherwise they start a development PostgreSQL (docker compose where a Docker engine
    /// answers, else a throwaway cluster under target/).
    cmd xtask {
        /// Write migrations/<version>_<name>.up.sql and .down.sql, or one <version>_<name>.sql:
        /// shaped like the newest migration unless sqlx.toml's [migrate.defaults] says otherwise.
        cmd migrate-create {
            /// snake_case, 3-60 characters, saying what changes (e.g. add_users_email_index).
            required name: String
        }
        /// Apply pending migrations to the development database (runs `migrate up`).
        cmd migrate-up {
            /// Stop after this version.
            optional --to version: i64
            /// Print what would be applied; change nothing.
            optional --dry-run
        }
        /// Revert migrations, newest first; one unless told otherwise (runs `migrate down`).
        cmd migrate-down {
            /// Revert this many migrations.
            optional --steps n: u32
            /// Revert every migration newer than this version.
            optional --to version: i64
            /// Revert every applied migration.
            optional --all
            /// Print what would be reverted; change nothing.
            optional --dry-run
        }
        /// Print the latest applied migration (runs `migrate current`).
        cmd migrate-current {}
        /// List every migration and its state (runs `migrate status`).
        cmd migrate-status {
            /// Print JSON.
            optional --json
        }
        /// Make a development database available and print its URLs.
        cmd db-up {}
        /// Stop the development database started by db-up.
        cmd db-down {
            /// Also delete its data.
            optional --purge
        }
        /// Drop and recreate the development database, then migrate it.
        cmd db-reset {
            /// Allow a database on a host other than this machine.
            optional --force
        }
        /// Run the app: database, migrations, then the api and workers (Ctrl-C stops all).
        cmd up {
            /// How many workers to start (default 2).
            optional --workers n: u32
        }
        /// Check migrations on scratch databases: fresh apply, up/down/up round trips, the
        /// schema.sql snapshot, immutability and order against main, and baselining from
        /// schema.sql.
        cmd migrate-check {
            /// Migrations to check (default: migrations/).
            optional --source dir: PathBuf
            /// The schema snapshot (default: schema.sql).
            optional --schema file: PathBuf
            /// The git ref whose migrations must not change, and whose newest one the
            /// branch's must follow (default: origin/main, else main).
            optional --against git_ref: String
            /// Run one check only: fresh, round-trip, snapshot, immutability, order or baseline.
            optional --only check: String
        }
        /// Rehearse every migration on tables that hold rows, on a scratch database (runs
        /// `migrate rehearse`): fails when one fails with data, rewrites a table or holds
        /// ACCESS EXCLUSIVE too long.
        cmd migrate-rehearse {
            /// Migrations to rehearse (default: migrations/).
            optional --source dir: PathBuf
            /// Rows in every table before each migration (default 1000).
            optional --rows n: u64
            /// A data-only dump (pg_dump --data-only, plain format) to load instead of
            /// generating rows for its tables.
            optional --data file: PathBuf
            /// Fail when ACCESS EXCLUSIVE is held on a table longer than this (default 200ms).
            optional --max-exclusive duration: String
        }
        /// Give the migrations this branch adds (up and down together, in order) versions
        /// newer than every migration on the base ref; contents stay byte-identical. Then
        /// rewrite the schema snapshot.
        cmd migrate-rebase {
            /// Migrations to rebase (default: migrations/).
            optional --source dir: PathBuf
            /// The schema snapshot to rewrite (default: schema.sql, with the default migrations).
            optional --schema file: PathBuf
            /// The base ref (default: origin/main, else main).
            optional --against git_ref: String
        }
        /// Write the migration that takes the migrations to schema.sql (the schema you want),
        /// planned from the two catalogs and proven before it is kept: the dumps match, the
        /// down files undo it, a second plan finds nothing. Then rewrite schema.sql.
        cmd migrate-diff {
            /// snake_case, 3-60 characters, saying what changes (e.g. add_jobs_priority).
            required name: String
            /// OLD=NEW: a renamed table (public.jobs=tasks) or column
            /// (public.jobs.last_error=error_message), kept with its data.
            repeated --rename rename: String
            /// Allow dropping tables, columns, types, functions and sequences.
            optional --allow-drop
            /// Migrations (default: migrations/).
            optional --source dir: PathBuf
            /// The schema you want (default: schema.sql).
            optional --schema file: PathBuf
        }
        /// Rewrite schema.sql: the normalized schema after every migration.
        cmd schema-dump {
            /// Migrations to apply (default: migrations/).
            optional --source dir: PathBuf
            /// Where to write (default: schema.sql).
            optional --schema file: PathBuf
        }
        /// Lint new and changed up migrations with squawk (installed under target/tools/).
        cmd migrate-lint {
            /// Migrations to lint (default: migrations/).
            optional --source dir: PathBuf
            /// Lint every up migration, not only new and changed ones.
            optional --all
            /// The git ref to compare with (default: origin/main, else main).
            optional --against git_ref: String
        }
        /// Lint the files CI and deploys read: hadolint on the Dockerfile, actionlint on the
        /// workflows (both installed under target/tools/).
        cmd deploy-lint {}
        /// Check the Helm chart (deploy/helm) offline: rendered with Helm 3 and 4, validated
        /// strictly against several Kubernetes versions' schemas, then the rules no schema
        /// knows (exit codes, probes, Secrets, one image).
        cmd k8s-check {
            /// The chart to check (default: deploy/helm).
            optional --chart dir: PathBuf
        }
        /// Everything CI runs, in order, stopping at the first failure: fmt, clippy,
        /// sqlx-check, deploy-lint, k8s-check, migrate-lint, migrate-check, migrate-rehearse,
        /// test.
        cmd ci {}
        /// Regenerate .sqlx/, the offline query data, from a freshly migrated scratch database.
        cmd sqlx-prepare {}
        /// Fail, naming the queries, when .sqlx/ is stale, incomplete or has leftovers.
        cmd sqlx-check {}
        /// Measure migrate against its baselines and write BENCHMARKS.md (takes minutes; with
        /// --only, target/bench/BENCHMARKS.md).
        cmd bench {
            /// Migration counts to apply (default 100,1000,10000).
            optional --sizes list: String
            /// Runs per measurement; medians are reported (default 5).
            optional --runs n: u32
            /// Only these figures: apply, slow-link, herd, traffic, test-setup, diff, fleet (comma-separated).
            optional --only list: String
            /// Also measure sqlx-cli (installed under target/tools/ on first use: minutes).
            optional --with-sqlx-cli
        }
        /// Build the image from the Dockerfile and run docker-compose.yml in a real Docker engine:
        /// the stack comes up, a release rolls out scaled, a stopped migrate leaves nothing behind,
        /// every container stops within 2 s, and a rollback serves. Needs a Docker engine and
        /// Compose v2; builds stand-in base images (debootstrap) where no registry answers.
        cmd compose-test {
            /// Leave the stack running afterwards, to look at it.
            optional --keep
        }
        /// Make sure a database is available, then run the whole test suite against it.
        cmd test {
            /// Run against PostgreSQL VERSION (15 to 18), installed under target/tools/ when missing.
            optional --postgres version: u32
            /// Run against the server binaries (initdb, pg_ctl, postgres) in DIR.
            optional --pg-bin dir: PathBuf
            /// Passed on to the test runner (e.g. a test name filter).
            repeated args: OsString
        }
        /// Install PostgreSQL MAJOR (15 to 18), and the PostgreSQL 18 clients, under target/tools/; print the server binaries' directory.
        cmd pg-install {
            required major: u32
        }
    }
}
// generated start
// The following code is generated by `xflags` macro.
// Run `env UPDATE_XFLAGS=1 cargo build` to regenerate.
#[derive(Debug)]
pub struct Xtask {
    pub subcommand: XtaskCmd,
}

#[derive(Debug)]
pub enum XtaskCmd {
    MigrateCreate(MigrateCreate),
    MigrateUp(MigrateUp),
    MigrateDown(MigrateDown),
    MigrateCurrent(MigrateCurrent),
    MigrateStatus(MigrateStatus),
    DbUp(DbUp),
    DbDown(DbDown),
    DbReset(DbReset),
    Up(Up),
    MigrateCheck(MigrateCheck),
    MigrateRehearse(MigrateRehearse),
    MigrateRebase(MigrateRebase),
    MigrateDiff(MigrateDiff),
    SchemaDump(SchemaDump),
    MigrateLint(MigrateLint),
    DeployLint(DeployLint),
    K8sCheck(K8sCheck),
    Ci(Ci),
    SqlxPrepare(SqlxPrepare),
    SqlxCheck(SqlxCheck),
    Bench(Bench),
    ComposeTest(ComposeTest),
    Test(Test),
    PgInstall(PgInstall),
}

#[derive(Debug)]
pub struct MigrateCreate {
    pub name: String,
}

#[derive(Debug)]
pub struct MigrateUp {
    pub to: Option<i64>,
    pub dry_run: bool,
}

#[derive(Debug)]
pub struct MigrateDown {
    pub steps: Option<u32>,
    pub to: Option<i64>,
    pub all: bool,
    pub dry_run: bool,
}

#[derive(Debug)]
pub struct MigrateCurrent;

#[derive(Debug)]
pub struct MigrateStatus {
    pub json: bool,
}

#[derive(Debug)]
pub struct DbUp;

#[derive(Debug)]
pub struct DbDown {
    pub purge: bool,
}

#[derive(Debug)]
pub struct DbReset {
    pub force: bool,
}

#[derive(Debug)]
pub struct Up {
    pub workers: Option<u32>,
}

#[derive(Debug)]
pub struct MigrateCheck {
    pub source: Option<PathBuf>,
    pub schema: Option<PathBuf>,
    pub against: Option<String>,
    pub only: Option<String>,
}

#[derive(Debug)]
pub struct MigrateRehearse {
    pub source: Option<PathBuf>,
    pub rows: Option<u64>,
    pub data: Option<PathBuf>,
    pub max_exclusive: Option<String>,
}

#[derive(Debug)]
pub struct MigrateRebase {
    pub source: Option<PathBuf>,
    pub schema: Option<PathBuf>,
    pub against: Option<String>,
}

#[derive(Debug)]
pub struct MigrateDiff {
    pub name: String,

    pub rename: Vec<String>,
    pub allow_drop: bool,
    pub source: Option<PathBuf>,
    pub schema: Option<PathBuf>,
}

#[derive(Debug)]
pub struct SchemaDump {
    pub source: Option<PathBuf>,
    pub schema: Option<PathBuf>,
}

#[derive(Debug)]
pub struct MigrateLint {
    pub source: Option<PathBuf>,
    pub all: bool,
    pub against: Option<String>,
}

#[derive(Debug)]
pub struct DeployLint;

#[derive(Debug)]
pub struct K8sCheck {
    pub chart: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Ci;

#[derive(Debug)]
pub struct SqlxPrepare;

#[derive(Debug)]
pub struct SqlxCheck;

#[derive(Debug)]
pub struct Bench {
    pub sizes: Option<String>,
    pub runs: Option<u32>,
    pub only: Option<String>,
    pub with_sqlx_cli: bool,
}

#[derive(Debug)]
pub struct ComposeTest {
    pub keep: bool,
}

#[derive(Debug)]
pub struct Test {
    pub args: Vec<OsString>,

    pub postgres: Option<u32>,
    pub pg_bin: Option<PathBuf>,
}

#[derive(Debug)]
pub struct PgInstall {
    pub major: u32,
}

impl Xtask {
    #[allow(dead_code)]
    pub fn from_env_or_exit() -> Self {
        Self::from_env_or_exit_()
    }

    #[allow(dead_code)]
    pub fn from_env() -> xflags::Result<Self> {
        Self::from_env_()
    }

    #[allow(dead_code)]
    pub fn from_vec(args: Vec<std::ffi::OsString>) -> xflags::Result<Self> {
        Self::from_vec_(args)
    }
}
// generated end
