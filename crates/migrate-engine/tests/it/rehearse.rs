//! `migrate rehearse`: the production failures that only appear with rows, caught on a scratch
//! database. Each case of `tests/fixtures/rehearse/cases/` is a migration on the tables of
//! `base.sql` that applies cleanly to empty tables, and says in `-- expect error:` and
//! `-- expect report:` lines what the rehearsal must find with rows.

use std::path::{Path, PathBuf};

use test_support::{Migrations, TestDb, run};

use crate::{MigrateCommand, migrate_at};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rehearse")
}

/// `base.sql`, the case, then a migration that changes nothing (every table is filled again
/// before it, so a table the case creates is filled, or named).
fn migrations_for(case: &Path) -> Migrations {
    let read = |path: &Path| std::fs::read_to_string(path).unwrap();
    let name = case.file_name().unwrap().to_str().unwrap();
    Migrations::new(&[
        ("1_base.sql", &read(&fixtures().join("base.sql"))),
        (&format!("2_{name}"), &read(case)),
        ("3_then.sql", "SELECT 1;\n"),
    ])
}

fn expected<'t>(sql: &'t str, what: &str) -> Vec<&'t str> {
    let prefix = format!("-- expect {what}: ");
    sql.lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .collect()
}

#[tokio::test]
async fn every_case_passes_on_empty_tables_and_is_caught_with_rows() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "{cases:?}");
    for case in cases {
        let sql = std::fs::read_to_string(&case).unwrap();
        let (errors, reports) = (expected(&sql, "error"), expected(&sql, "report"));
        assert!(
            !errors.is_empty() || !reports.is_empty(),
            "{case:?} expects nothing"
        );
        let migrations = migrations_for(&case);

        let empty = TestDb::new().await;
        run(empty.migrate(Some(migrations.path())).arg("up")).assert_code(0);

        let scratch = TestDb::new().await;
        let rehearsal = run(scratch
            .migrate(Some(migrations.path()))
            .args(["rehearse", "--rows", "40"]));
        if errors.is_empty() {
            rehearsal.assert_code(0);
        } else {
            rehearsal.assert_code(1);
        }
        for error in errors {
            rehearsal.assert_failed_with(error);
        }
        for report in reports {
            rehearsal.assert_stdout_contains(report);
        }
    }
}

#[tokio::test]
async fn a_migration_after_a_failure_is_not_rehearsed_and_the_tables_keep_their_rows() {
    let migrations = migrations_for(&fixtures().join("cases/set_not_null.sql"));
    let scratch = TestDb::new().await;
    let rehearsal = run(scratch
        .migrate(Some(migrations.path()))
        .args(["rehearse", "--rows", "25"]));
    rehearsal
        .assert_code(1)
        .assert_stdout_contains("rehearsed 2 migration(s) on 25 generated rows per table: 1 failed")
        .assert_stdout_contains("1 after the failure not rehearsed");
    assert_eq!(
        scratch.scalar::<i64>("SELECT count(*) FROM orders").await,
        25
    );
    assert_eq!(
        scratch
            .scalar::<i64>("SELECT count(*) FROM accounts WHERE email IS NULL")
            .await,
        2,
        "every tenth row of a nullable column is NULL"
    );
}

#[tokio::test]
async fn a_database_with_tables_is_refused_untouched() {
    let db = TestDb::new().await;
    let m = Migrations::new(&[("1_create_jobs.sql", "CREATE TABLE jobs (id int);\n")]);
    run(db.migrate(Some(m.path())).arg("up")).assert_code(0);
    run(db.migrate(Some(m.path())).arg("rehearse"))
        .assert_code(1)
        .assert_failed_with("rehearse writes generated rows into every table, and")
        .assert_failed_with("point it at a new, empty database");
    assert_eq!(db.scalar::<i64>("SELECT count(*) FROM jobs").await, 0);
}

/// Production rows, through a real `pg_dump --data-only`: the rows say which migrations they
/// were taken at; the newer ones are rehearsed on them, and generated rows stay out of their
/// tables.
#[tokio::test]
async fn a_data_only_dump_is_loaded_at_its_version_and_the_rest_rehearsed_on_it() {
    let migrations = migrations_for(&fixtures().join("cases/set_not_null.sql"));
    let production = TestDb::new().await;
    run(production
        .migrate(Some(migrations.path()))
        .args(["up", "--to", "1"]))
    .assert_code(0);
    production
        .execute(
            "INSERT INTO accounts (email, status) SELECT 'user' || i || '@example.com', 'active' \
             FROM generate_series(1, 300) AS i",
        )
        .await;
    let dump = migrations.root().join("production.sql");
    let mut pg_dump = std::process::Command::new(test_support::client_tool("pg_dump"));
    pg_dump
        .args(["--data-only", "--file"])
        .arg(&dump)
        .arg(&production.url);
    run(&mut pg_dump).assert_code(0);

    // Every email is set in production: SET NOT NULL passes on those rows, not on generated ones.
    let scratch = TestDb::new().await;
    run(migrate_at(&scratch.url, Some(migrations.path()))
        .args(["rehearse", "--rows", "10", "--data"])
        .arg(&dump))
    .assert_code(0)
    .assert_stdout_contains("rehearsed 2 migration(s) on 300 rows from");
    assert_eq!(
        scratch.scalar::<i64>("SELECT count(*) FROM accounts").await,
        300
    );
    assert_eq!(
        scratch.scalar::<i64>("SELECT count(*) FROM orders").await,
        10,
        "not in the dump: generated"
    );

    let other = TestDb::new().await;
    std::fs::write(
        migrations.path().join("1_base.sql"),
        "CREATE TABLE elsewhere (id int);\n",
    )
    .unwrap();
    run(migrate_at(&other.url, Some(migrations.path()))
        .args(["rehearse", "--data"])
        .arg(&dump))
    .assert_code(1)
    .assert_failed_with("its history does not match these migrations up to 1");
}
