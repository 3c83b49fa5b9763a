//! `ops/roles.sql`, set up for one test database with role names of its own (roles belong to
//! the whole server, and tests run in parallel). The roles are dropped after the database.

use std::path::Path;

use sqlx::{Connection, Executor, PgConnection};

use super::{TestDb, admin_blocking, server_url};

pub struct Roles {
    pub migrator: String,
    pub runtime: String,
    admin: sqlx::postgres::PgConnectOptions,
}

impl Roles {
    /// Runs `ops/roles.sql` for `db`: the part before `\connect` in the maintenance database,
    /// the rest in `db`, as psql would.
    pub async fn set_up(db: &TestDb) -> Self {
        let suffix = db.name.trim_start_matches("test_");
        let (migrator, runtime) = (format!("m_{suffix}"), format!("r_{suffix}"));
        let template =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ops/roles.sql"))
                .unwrap();
        let sql = template
            .replace("{migrator_password}", "migrator-pw")
            .replace("{runtime_password}", "runtime-pw")
            .replace("{migrator}", &migrator)
            .replace("{runtime}", &runtime)
            .replace("{database}", &db.name);
        let (server_part, database_part) = sql
            .split_once(&format!("\\connect \"{}\"", db.name))
            .expect("a \\connect line");
        let admin: sqlx::postgres::PgConnectOptions = server_url().parse().unwrap();
        let mut conn = PgConnection::connect_with(&admin.clone().database("postgres"))
            .await
            .unwrap();
        conn.execute(sqlx::AssertSqlSafe(server_part.to_owned()))
            .await
            .unwrap();
        let mut conn = db.connect().await;
        conn.execute(sqlx::AssertSqlSafe(database_part.to_owned()))
            .await
            .unwrap();
        Self {
            migrator,
            runtime,
            admin,
        }
    }

    /// `migrate` on `db`, connecting as the migrator role.
    pub fn migrate(&self, db: &TestDb, source: Option<&Path>) -> std::process::Command {
        let mut command = db.migrate(source);
        command.env("MIGRATION_DATABASE_URL", self.url(db, &self.migrator));
        command
    }

    /// `db`'s URL for one of the roles.
    pub fn url(&self, db: &TestDb, role: &str) -> String {
        let mut url = url::Url::parse(&db.url).unwrap();
        url.set_username(role).unwrap();
        url.set_password(Some(if *role == self.migrator {
            "migrator-pw"
        } else {
            "runtime-pw"
        }))
        .unwrap();
        url.to_string()
    }
}

impl Drop for Roles {
    fn drop(&mut self) {
        let _ = admin_blocking(
            &self.admin,
            [&self.migrator, &self.runtime]
                .map(|role| format!("DROP ROLE IF EXISTS \"{role}\""))
                .to_vec(),
        );
    }
}
