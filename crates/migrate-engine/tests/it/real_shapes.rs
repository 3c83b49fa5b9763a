//! A project's worth of migrations in the shapes real projects have (301 of them: tables,
//! columns, seeded rows, enums, views over columns, functions and triggers whose `$$` bodies
//! hold semicolons, `DO` blocks, indexes built `CONCURRENTLY` outside a transaction, names with
//! hyphens and dots, version 0) goes up, all the way down, and up again, ending where it
//! started; sqlx's own `Migrator` records the same history for it. `cargo xtask test
//! --postgres VERSION` runs it on every supported server.

use sqlx::migrate::Migrator;
use test_support::{Migrations, TestDb, run};

use crate::MigrateCommand;

const GROUPS: usize = 30;

/// `(file name, up, down)` for one group of ten migrations on table `items_{g}`.
fn group(g: usize) -> Vec<(String, String, String)> {
    let t = format!("items_{g}");
    [
        (
            format!("create_{t}"),
            format!("CREATE TABLE {t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, qty int NOT NULL DEFAULT 0);"),
            format!("DROP TABLE {t};"),
        ),
        (
            format!("add-price-to-{t}"),
            format!("ALTER TABLE {t} ADD COLUMN price numeric(10, 2);"),
            format!("ALTER TABLE {t} DROP COLUMN price;"),
        ),
        (
            format!("seed_{t}"),
            format!("INSERT INTO {t} (name, qty) SELECT 'item ' || n, n FROM generate_series(1, 20) n;"),
            format!("DELETE FROM {t};"),
        ),
        (
            format!("status_enum_{g}"),
            format!("CREATE TYPE status_{g} AS ENUM ('new', 'done');\nALTER TABLE {t} ADD COLUMN status status_{g} NOT NULL DEFAULT 'new';"),
            format!("ALTER TABLE {t} DROP COLUMN status;\nDROP TYPE status_{g};"),
        ),
        (
            format!("{t}_named_view"),
            format!("CREATE VIEW {t}_named AS SELECT id, name, price FROM {t};"),
            format!("DROP VIEW {t}_named;"),
        ),
        (
            format!("total_function_{g}"),
            format!(
                "CREATE FUNCTION total_{g}() RETURNS bigint LANGUAGE plpgsql AS $$\nDECLARE t bigint;\nBEGIN\n    SELECT sum(qty) INTO t FROM {t};\n    RETURN coalesce(t, 0);\nEND;\n$$;"
            ),
            format!("DROP FUNCTION total_{g}();"),
        ),
        (
            format!("touch_trigger_{g}"),
            format!(
                "CREATE FUNCTION touch_{g}() RETURNS trigger LANGUAGE plpgsql AS $fn$\nBEGIN\n    NEW.qty := greatest(NEW.qty, 0);\n    RETURN NEW;\nEND;\n$fn$;\nCREATE TRIGGER touch_{g} BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION touch_{g}();"
            ),
            format!("DROP TRIGGER touch_{g} ON {t};\nDROP FUNCTION touch_{g}();"),
        ),
        (
            format!("audit_table_{g}"),
            format!(
                "DO $$\nBEGIN\n    IF to_regclass('audit_{g}') IS NULL THEN\n        EXECUTE 'CREATE TABLE audit_{g} (id int)';\n    END IF;\nEND\n$$;"
            ),
            format!("DROP TABLE audit_{g};"),
        ),
        (
            format!("index_{t}_name"),
            format!("-- no-transaction\nCREATE INDEX CONCURRENTLY {t}_name_idx ON {t} (name);"),
            format!("-- no-transaction\nDROP INDEX CONCURRENTLY {t}_name_idx;"),
        ),
        (
            format!("{t}.name.default"),
            format!("ALTER TABLE {t} ALTER COLUMN name SET DEFAULT 'unnamed';"),
            format!("ALTER TABLE {t} ALTER COLUMN name DROP DEFAULT;"),
        ),
    ]
    .into_iter()
    .map(|(name, up, down)| (name, up + "\n", down + "\n"))
    .collect()
}

fn project() -> Migrations {
    let m = Migrations::new(&[
        ("0_setup.up.sql", "CREATE SCHEMA extras;\n"),
        ("0_setup.down.sql", "DROP SCHEMA extras;\n"),
    ]);
    let mut version = 20240101000000_i64;
    for g in 1..=GROUPS {
        for (name, up, down) in group(g) {
            version += 1;
            m.write(&format!("{version}_{name}.up.sql"), &up);
            m.write(&format!("{version}_{name}.down.sql"), &down);
        }
    }
    m
}

/// Objects of the project, the history table aside.
async fn objects(db: &TestDb) -> i64 {
    db.scalar(
        "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace \
                   AND relname NOT IN ('_sqlx_migrations', '_sqlx_migrations_pkey') \
                   AND relname !~ '^_migrate_(runs|steps)') \
              + (SELECT count(*) FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e') \
              + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace) \
              + (SELECT count(*) FROM pg_namespace WHERE nspname = 'extras')",
    )
    .await
}

#[tokio::test]
#[expect(
    clippy::disallowed_methods,
    reason = "the test compares with sqlx's own migrator"
)]
async fn three_hundred_migrations_go_up_down_and_up_again() {
    let m = project();
    let db = TestDb::new().await;
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    run(db.migrate(Some(m.path())).arg("verify")).assert_code(0);
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
            .await,
        301
    );
    let migrated = db.schema_fingerprint().await;
    // Per group: a table, its sequence, key, index and view, an audit table, an enum, two functions.
    assert_eq!(objects(&db).await, 9 * GROUPS as i64 + 1);

    let by_sqlx = TestDb::new().await;
    Migrator::new(m.path())
        .await
        .unwrap()
        .run(&mut by_sqlx.connect().await)
        .await
        .unwrap();
    let rows = "SELECT string_agg(version || ' ' || description || ' ' || encode(checksum, 'hex'), E'\\n' ORDER BY version) \
                FROM _sqlx_migrations";
    assert_eq!(
        db.scalar::<String>(rows).await,
        by_sqlx.scalar::<String>(rows).await
    );

    run(db
        .migrate(Some(m.path()))
        .args(["down", "--allow-down", "--all"]))
    .assert_code(0);
    assert_eq!(objects(&db).await, 0, "everything reverted");
    assert_eq!(
        db.scalar::<i64>("SELECT count(*) FROM _sqlx_migrations")
            .await,
        0
    );

    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    run(db.migrate(Some(m.path())).arg("verify")).assert_code(0);
    let again = db.schema_fingerprint().await;
    let schema = |fingerprint: &str| -> Vec<String> {
        fingerprint
            .lines()
            .filter(|l| !l.starts_with("row "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        schema(&again),
        schema(&migrated),
        "the same schema as the first time"
    );
}
