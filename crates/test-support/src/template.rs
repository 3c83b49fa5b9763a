//! One template database per set of migrations, copied for every test that needs them:
//! `CREATE DATABASE ... TEMPLATE` costs the same with 2 or 2000 migrations.
//!
//! The template's name carries a key the caller computes from its migrations, so a changed or
//! added migration gets a new template. The first test process to need it builds it under an
//! advisory lock: tests run in parallel processes, and the others wait, then find it ready.
//! Templates with other keys are dropped once a new one is built.

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, postgres::PgConnectOptions};

use crate::{server_url, with_database};

/// Serializes template builds across test processes.
const BUILD_LOCK: i64 = 0x7465_6d70_6c61_7465; // "template"

/// The template for `key`, built by `build` if it does not exist yet.
pub(crate) async fn ensure(admin: &PgConnectOptions, key: u64, build: impl FnOnce(&str)) -> String {
    let name = format!("tmpl_{key:016x}");
    let mut conn = PgConnection::connect_with(&admin.clone().database("postgres"))
        .await
        .unwrap();
    if is_ready(&mut conn, &name).await {
        return name;
    }
    conn.execute(AssertSqlSafe(format!(
        "SELECT pg_advisory_lock({BUILD_LOCK})"
    )))
    .await
    .unwrap();
    if !is_ready(&mut conn, &name).await {
        let building = format!("{name}_building");
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{building}\""),
        ] {
            conn.execute(AssertSqlSafe(sql)).await.unwrap();
        }
        build(&with_database(&server_url(), &building));
        // The builder has exited, so nobody is connected: the rename and the flag take effect.
        for sql in [
            format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\""),
            format!("ALTER DATABASE \"{name}\" WITH IS_TEMPLATE true"),
        ] {
            conn.execute(AssertSqlSafe(sql)).await.unwrap();
        }
        drop_others(&mut conn, &name).await;
    }
    conn.execute(AssertSqlSafe(format!(
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

/// Drops the templates of other keys; best effort: another checkout's run may be copying one.
async fn drop_others(conn: &mut PgConnection, name: &str) {
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'tmpl\\_%' AND datname <> $1",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for old in stale {
        for sql in [
            format!("ALTER DATABASE \"{old}\" WITH IS_TEMPLATE false"),
            format!("DROP DATABASE IF EXISTS \"{old}\""),
        ] {
            let _ = conn.execute(AssertSqlSafe(sql)).await;
        }
    }
}

/// How `CREATE DATABASE` should copy: file by file where that is cheap (PostgreSQL 15+ with
/// fsync off, like `cargo xtask`'s scratch cluster), otherwise the server's default (WAL_LOG),
/// whose copy does not force a checkpoint on a durable server.
pub(crate) async fn copy_strategy(conn: &mut PgConnection) -> &'static str {
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
