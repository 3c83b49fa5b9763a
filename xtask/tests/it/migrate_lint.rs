//! `cargo xtask migrate-lint` fails on destructive or locking changes unless marked, with a
//! reason, as intended.

use test_support::{Migrations, run};

use crate::xtask;

fn lint(fixture: &Migrations) -> test_support::Run {
    let source = fixture.path().display().to_string();
    run(&mut xtask(&["migrate-lint", "--all", "--source", &source]))
}

const CREATE: (&str, &str) = (
    "1_create_a.up.sql",
    "CREATE TABLE a (id bigint PRIMARY KEY, name text, old text);\n",
);

#[test]
fn destructive_and_locking_changes_are_reported_with_their_line() {
    let fixture = Migrations::new(&[
        CREATE,
        (
            "2_change_a.up.sql",
            "-- changes\nALTER TABLE a DROP COLUMN old;\nCREATE INDEX a_name_idx ON a (name);\nALTER TABLE a ADD COLUMN email text NOT NULL;\n",
        ),
    ]);
    let outcome = lint(&fixture);
    outcome.assert_failed_with("2_change_a.up.sql:2: ban-drop-column");
    outcome.assert_failed_with("2_change_a.up.sql:3: require-concurrent-index-creation");
    outcome.assert_failed_with("2_change_a.up.sql:4: adding-required-field");
}

#[test]
fn an_intended_change_passes_with_a_marker_and_a_reason() {
    let fixture = Migrations::new(&[
        CREATE,
        (
            "2_drop_a_old.up.sql",
            "-- squawk-ignore ban-drop-column: nothing reads `old` since release 12\nALTER TABLE a DROP COLUMN old;\n",
        ),
    ]);
    lint(&fixture).assert_code(0);
}

#[test]
fn a_marker_without_a_reason_is_refused() {
    let fixture = Migrations::new(&[
        CREATE,
        (
            "2_drop_a_old.up.sql",
            "-- squawk-ignore ban-drop-column\nALTER TABLE a DROP COLUMN old;\n",
        ),
    ]);
    lint(&fixture).assert_failed_with(
        "2_drop_a_old.up.sql:1: `squawk-ignore ban-drop-column` needs a reason",
    );
}

#[test]
fn the_project_migrations_are_clean() {
    run(&mut xtask(&["migrate-lint", "--all"])).assert_code(0);
}

#[test]
fn what_migrate_only_warns_about_is_refused_in_new_files() {
    let fixture = Migrations::new(&[
        CREATE,
        ("2_crlf.up.sql", "CREATE TABLE b (id int);\r\n"),
        ("3_commits.up.sql", "CREATE TABLE c (id int);\nCOMMIT;\n"),
        ("4_orphan.down.sql", "DROP TABLE d;\n"),
    ]);
    let outcome = lint(&fixture);
    outcome.assert_failed_with("2_crlf.up.sql: has CRLF line endings");
    outcome.assert_failed_with("3_commits.up.sql: line 2: `COMMIT` controls the transaction");
    outcome.assert_failed_with("4_orphan.down.sql: has no up file");
}
