//! Shared by the integration tests: a database of its own for each test, the app's binaries as
//! real processes, migration directories to feed them, and a minimal HTTP client.
//!
//! Tests need a PostgreSQL server where they may create databases: `TEST_DATABASE_URL`
//! (`cargo xtask test` sets it), else `DATABASE_URL`.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod http;
pub mod pgbouncer;
pub mod roles;
pub mod template;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    str::FromStr,
    sync::atomic::{AtomicU32, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};

/// Variables that would make a spawned binary look somewhere else than the test database.
const INHERITED_SETTINGS: &[&str] = &[
    "DATABASE_URL",
    "MIGRATION_DATABASE_URL",
    "MIGRATE_CONNECT_TIMEOUT",
    "MIGRATE_LOCK_WAIT",
    "MIGRATE_LOCK_TIMEOUT",
    "MIGRATE_LOCK_RETRIES",
    "MIGRATE_STATEMENT_TIMEOUT",
    "APP_LISTEN",
    "RUST_LOG",
];

pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .expect(
            "these tests need PostgreSQL: run `cargo xtask test`, or set TEST_DATABASE_URL to a \
             server where they may create databases",
        )
}

/// A database created for one test and dropped when it ends, even when the test panics.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin: PgConnectOptions,
}

impl TestDb {
    /// An empty database.
    pub async fn new() -> Self {
        Self::create(None).await
    }

    /// A database with every migration of this build applied, copied from a template that is
    /// built once per set of migrations (see `template.rs`).
    pub async fn migrated() -> Self {
        let admin =
            PgConnectOptions::from_str(&server_url()).expect("TEST_DATABASE_URL is a valid URL");
        let template = template::ensure(&admin).await;
        Self::create(Some(&template)).await
    }

    async fn create(template: Option<&str>) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin =
            PgConnectOptions::from_str(&server_url()).expect("TEST_DATABASE_URL is a valid URL");
        let mut conn = PgConnection::connect_with(&admin.clone().database("postgres"))
            .await
            .expect("cannot connect to the test server");
        let template = template
            .map(|t| format!(" TEMPLATE \"{t}\""))
            .unwrap_or_default();
        let strategy = template::copy_strategy(&mut conn).await;
        conn.execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{name}\"{template}{strategy}"
        )))
        .await
        .unwrap();
        let url = with_database(&server_url(), &name);
        Self { name, url, admin }
    }

    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect_with(&self.options()).await.unwrap()
    }

    pub fn options(&self) -> PgConnectOptions {
        self.admin.clone().database(&self.name)
    }

    /// A `migrate` process on this database, reading `source` when given.
    pub fn migrate(&self, source: Option<&Path>) -> Command {
        let mut command = app_command("migrate");
        command.env("MIGRATION_DATABASE_URL", &self.url);
        if let Some(dir) = source {
            command.arg("--source").arg(dir);
        }
        command
    }

    pub async fn scalar<T>(&self, sql: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        let mut conn = self.connect().await;
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Tables, columns and indexes of the public schema: compared before and after a command
    /// to prove it changed nothing.
    pub async fn schema_fingerprint(&self) -> String {
        let history = if self.table_exists("_sqlx_migrations").await {
            "UNION ALL SELECT 'row ' || version || ' ' || encode(checksum, 'hex') FROM _sqlx_migrations"
        } else {
            ""
        };
        self.scalar::<Option<String>>(&format!(
            "SELECT string_agg(item, E'\\n' ORDER BY item) FROM ( \
               SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type AS item \
               FROM information_schema.columns WHERE table_schema = 'public' \
               UNION ALL SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public' \
               {history} \
             ) s"
        ))
        .await
        .unwrap_or_default()
    }

    pub async fn table_exists(&self, table: &str) -> bool {
        self.scalar::<bool>(&format!("SELECT to_regclass('{table}') IS NOT NULL"))
            .await
    }

    /// Advisory locks held in this database: a runner that exits must leave none.
    pub async fn advisory_locks(&self) -> i64 {
        self.scalar::<i64>(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let dropped = admin_blocking(
            &self.admin,
            vec![format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            )],
        );
        if !dropped && !std::thread::panicking() {
            panic!("could not drop test database {}", self.name);
        }
    }
}

/// Runs `statements` in the maintenance database from a `Drop`: it runs inside the test's
/// runtime, so a thread with its own runtime does the blocking. True when all of them ran.
pub fn admin_blocking(admin: &PgConnectOptions, statements: Vec<String>) -> bool {
    let admin = admin.clone().database("postgres");
    let ran = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut conn = PgConnection::connect_with(&admin).await?;
            for sql in statements {
                conn.execute(sqlx::AssertSqlSafe(sql)).await?;
            }
            Ok::<_, sqlx::Error>(())
        })
    })
    .join();
    matches!(ran, Ok(Ok(())))
}

fn with_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    parsed.set_path(database);
    parsed.to_string()
}

/// One of the app's binaries, isolated from the developer's environment and `.env`.
pub fn app_command(binary: &str) -> Command {
    let path = match binary {
        "migrate" => env!("CARGO_BIN_EXE_migrate"),
        "api" => env!("CARGO_BIN_EXE_api"),
        "worker" => env!("CARGO_BIN_EXE_worker"),
        other => panic!("no binary {other}"),
    };
    let mut command = Command::new(path);
    for var in INHERITED_SETTINGS {
        command.env_remove(var);
    }
    command
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null());
    command
}

/// What a finished process said.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }

    /// The lines starting with `error: `.
    pub fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect()
    }
}

/// Runs a command to completion.
pub fn run(command: &mut Command) -> Run {
    let output: Output = command.output().expect("the binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A directory of migration files for `migrate --source`, deleted on drop.
pub struct Migrations {
    dir: tempfile::TempDir,
}

impl Migrations {
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let migrations = Self { dir };
        for (name, sql) in files {
            migrations.write(name, sql);
        }
        migrations
    }

    /// A copy of the project's own migrations/.
    pub fn project() -> Self {
        let migrations = Self::new(&[]);
        for entry in std::fs::read_dir(project_migrations()).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), migrations.path().join(entry.file_name())).unwrap();
        }
        migrations
    }

    pub fn write(&self, name: &str, sql: &str) {
        std::fs::write(self.dir.path().join(name), sql).unwrap();
    }

    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.dir.path().join(name)).unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

pub fn project_migrations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}
