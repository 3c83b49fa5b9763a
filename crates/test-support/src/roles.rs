//! `ops/roles.sql`, set up for one test database with role names of its own (roles belong to
//! the whole server, and tests run in parallel). The roles are dropped after the test.

use migrate_core::roles::{self, Roles as Names};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, postgres::PgConnectOptions};

use crate::{TestDb, admin_blocking, server_url, workspace_root};

const MIGRATOR_PASSWORD: &str = "migrator-pw";
const RUNTIME_PASSWORD: &str = "runtime-pw";

pub struct Roles {
    pub migrator: String,
    pub runtime: String,
    admin: PgConnectOptions,
}

impl Roles {
    /// Runs `ops/roles.sql` for `db`: the part before `\connect` in the maintenance database,
    /// the rest in `db`, as psql would.
    pub async fn set_up(db: &TestDb) -> Self {
        let suffix = db.name.trim_start_matches("test_");
        let (migrator, runtime) = (format!("m_{suffix}"), format!("r_{suffix}"));
        let template = std::fs::read_to_string(workspace_root().join("ops/roles.sql")).unwrap();
        let sql = roles::render(
            &template,
            &Names {
                migrator: &migrator,
                migrator_password: MIGRATOR_PASSWORD,
                runtime: &runtime,
                runtime_password: RUNTIME_PASSWORD,
                database: &db.name,
            },
        )
        .unwrap();
        let (server_part, database_part) = sql
            .split_once(&format!("\\connect \"{}\"", db.name))
            .expect("a \\connect line");
        let admin: PgConnectOptions = server_url().parse().unwrap();
        let mut conn = PgConnection::connect_with(&admin.clone().database("postgres"))
            .await
            .unwrap();
        conn.execute(AssertSqlSafe(server_part.to_owned()))
            .await
            .unwrap();
        db.execute(database_part).await;
        Self {
            migrator,
            runtime,
            admin,
        }
    }

    /// `db`'s URL for one of the roles.
    pub fn url(&self, db: &TestDb, role: &str) -> String {
        let mut url = url::Url::parse(&db.url).unwrap();
        url.set_username(role).unwrap();
        let password = if *role == self.migrator {
            MIGRATOR_PASSWORD
        } else {
            RUNTIME_PASSWORD
        };
        url.set_password(Some(password)).unwrap();
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
