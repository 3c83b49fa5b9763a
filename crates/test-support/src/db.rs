//! A database of its own for each test, dropped when the test ends, even when it panics.

use std::{
    str::FromStr,
    sync::atomic::{AtomicU32, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use migrate_core::history::{RUNS_TABLE, STEPS_TABLE};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, postgres::PgConnectOptions};

use crate::{server_url, template, with_database};

pub struct TestDb {
    pub name: String,
    /// Its URL, as the test server's user.
    pub url: String,
    admin: PgConnectOptions,
}

impl TestDb {
    /// An empty database.
    pub async fn new() -> Self {
        Self::create(None).await
    }

    /// A copy of a template database, built once per `key` by `build` (given the URL of the
    /// database to fill) and shared by every test process that asks for the same key.
    pub async fn from_template(key: u64, build: impl FnOnce(&str)) -> Self {
        let template = template::ensure(&admin_options(), key, build).await;
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
        let admin = admin_options();
        let mut conn = PgConnection::connect_with(&admin.clone().database("postgres"))
            .await
            .expect("cannot connect to the test server");
        let template = template
            .map(|t| format!(" TEMPLATE \"{t}\""))
            .unwrap_or_default();
        let strategy = template::copy_strategy(&mut conn).await;
        conn.execute(AssertSqlSafe(format!(
            "CREATE DATABASE \"{name}\"{template}{strategy}"
        )))
        .await
        .unwrap();
        Self {
            url: with_database(&server_url(), &name),
            name,
            admin,
        }
    }

    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect_with(&self.options()).await.unwrap()
    }

    pub fn options(&self) -> PgConnectOptions {
        self.admin.clone().database(&self.name)
    }

    /// Runs `sql` (one or several statements) and panics, naming it, if it fails.
    pub async fn execute(&self, sql: &str) {
        let mut conn = self.connect().await;
        conn.execute(AssertSqlSafe(sql.to_owned()))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub async fn scalar<T>(&self, sql: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        let mut conn = self.connect().await;
        sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Tables, columns and indexes of the public schema (the audit trail aside: a refused run
    /// is recorded there), and the history rows: compared before and after a command to prove
    /// it changed nothing.
    pub async fn schema_fingerprint(&self) -> String {
        let history = if self.table_exists("_sqlx_migrations").await {
            "UNION ALL SELECT 'row ' || version || ' ' || encode(checksum, 'hex') FROM _sqlx_migrations"
        } else {
            ""
        };
        self.scalar::<Option<String>>(&format!(
            "SELECT string_agg(item, E'\\n' ORDER BY item) FROM ( \
               SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type AS item \
               FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT IN ('{RUNS_TABLE}', '{STEPS_TABLE}') \
               UNION ALL SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes \
               WHERE schemaname = 'public' AND tablename NOT IN ('{RUNS_TABLE}', '{STEPS_TABLE}') \
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
        let drop = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if !admin_blocking(&self.admin, vec![drop]) && !std::thread::panicking() {
            panic!("could not drop test database {}", self.name);
        }
    }
}

fn admin_options() -> PgConnectOptions {
    PgConnectOptions::from_str(&server_url()).expect("TEST_DATABASE_URL is a valid URL")
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
                conn.execute(AssertSqlSafe(sql)).await?;
            }
            Ok::<_, sqlx::Error>(())
        })
    })
    .join();
    matches!(ran, Ok(Ok(())))
}
