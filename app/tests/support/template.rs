//! One migrated template database per set of migrations, copied for every test that needs the
//! project's schema: `CREATE DATABASE ... TEMPLATE` costs the same with 2 or 2000 migrations.
//!
//! The template's name carries a hash of the migrations' versions and checksums, so a changed
//! or added migration gets a new template. The first test process to need it builds it with
//! the real `migrate`, under an advisory lock: tests run in parallel processes, and the others
//! wait, then find it ready. Templates of other migration sets are dropped once a new one is
//! built.

use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};

use super::{app_command, run};

/// Serializes template builds across test processes.
const BUILD_LOCK: i64 = 0x7465_6d70_6c61_7465; // "template"

/// The template for this build's migrations, built if it does not exist yet.
pub async fn ensure(admin: &PgConnectOptions) -> String {
    let name = format!("tmpl_{:016x}", migrations_hash());
    let mut conn = PgConnection::connect_with(&admin.clone().database("postgres"))
        .await
        .unwrap();
    if is_ready(&mut conn, &name).await {
        return name;
    }
    conn.execute(sqlx::AssertSqlSafe(format!(
        "SELECT pg_advisory_lock({BUILD_LOCK})"
    )))
    .await
    .unwrap();
    if !is_ready(&mut conn, &name).await {
        build(&mut conn, &name).await;
    }
    conn.execute(sqlx::AssertSqlSafe(format!(
        "SELECT pg_advisory_unlock({BUILD_LOCK})"
    )))
    .await
    .unwrap();
    name
}

async fn is_ready(conn: &mut PgConnection, name: &str) -> bool {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)",
    )
    .bind(name)
    .fetch_one(conn)
    .await
    .unwrap()
}

async fn build(conn: &mut PgConnection, name: &str) {
    let building = format!("{name}_building");
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
    )))
    .await
    .unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{building}\""
    )))
    .await
    .unwrap();
    let mut url = url::Url::parse(&super::server_url()).unwrap();
    url.set_path(&building);
    run(app_command("migrate")
        .env("MIGRATION_DATABASE_URL", url.as_str())
        .arg("up"))
    .assert_code(0);
    // migrate has exited, so nobody is connected: the rename and the flag take effect at once.
    conn.execute(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
    )))
    .await
    .unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" WITH IS_TEMPLATE true"
    )))
    .await
    .unwrap();

    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'tmpl\\_%' AND datname <> $1",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for old in stale {
        // Best effort: another checkout's run may still be copying it.
        let _ = conn
            .execute(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE \"{old}\" WITH IS_TEMPLATE false"
            )))
            .await;
        let _ = conn
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{old}\""
            )))
            .await;
    }
}

/// How `CREATE DATABASE` should copy: file by file where that is cheap (PostgreSQL 15+ with
/// fsync off, like `cargo xtask`'s scratch cluster: ~20-40 ms against ~30-100 ms), otherwise
/// the server's default (WAL_LOG), whose copy does not force a checkpoint on a durable server.
pub async fn copy_strategy(conn: &mut PgConnection) -> &'static str {
    let (version, fsync): (String, String) =
        sqlx::query_as("SELECT current_setting('server_version_num'), current_setting('fsync')")
            .fetch_one(conn)
            .await
            .unwrap();
    if version.parse::<u32>().unwrap_or(0) >= 150_000 && fsync == "off" {
        " STRATEGY FILE_COPY"
    } else {
        ""
    }
}

/// FNV-1a over every embedded migration's version and checksum (up and down files).
fn migrations_hash() -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for migration in app::migrations::MigrationSet::embedded().unwrap().iter() {
        feed(&migration.version.to_le_bytes());
        feed(&migration.checksum);
        feed(
            migration
                .down
                .as_ref()
                .map_or(&b""[..], |d| d.sql.as_bytes()),
        );
    }
    hash
}
