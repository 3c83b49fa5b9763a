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
    passwords: [String; 2],
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
            passwords: [MIGRATOR_PASSWORD.into(), RUNTIME_PASSWORD.into()],
            admin,
        }
    }

    /// Runs `ops/roles.sql` for `db` as operators do, with psql and its variables, both roles
    /// getting `password`.
    pub fn set_up_with_psql(db: &TestDb, password: &str) -> Self {
        let suffix = db.name.trim_start_matches("test_");
        let (migrator, runtime) = (format!("m_{suffix}"), format!("r_{suffix}"));
        let admin: PgConnectOptions = server_url().parse().unwrap();
        let output = std::process::Command::new(crate::client_tool("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
            .arg("-v")
            .arg(format!("database={}", db.name))
            .arg("-v")
            .arg(format!("migrator={migrator}"))
            .arg("-v")
            .arg(format!("runtime={runtime}"))
            .arg("-v")
            .arg(format!("migrator_password={password}"))
            .arg("-v")
            .arg(format!("runtime_password={password}"))
            .arg("-f")
            .arg(workspace_root().join("ops/roles.sql"))
            .env("PGHOST", admin.get_host())
            .env("PGPORT", admin.get_port().to_string())
            .env("PGUSER", admin.get_username())
            .env("PGDATABASE", "postgres")
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql -f ops/roles.sql: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Self {
            migrator,
            runtime,
            passwords: [password.into(), password.into()],
            admin,
        }
    }

    /// `db`'s URL for one of the roles.
    pub fn url(&self, db: &TestDb, role: &str) -> String {
        let mut url = url::Url::parse(&db.url).unwrap();
        url.set_username(role).unwrap();
        let password = if *role == self.migrator {
            &self.passwords[0]
        } else {
            &self.passwords[1]
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
