//! `cargo xtask migrate-lint` fails on destructive or locking changes unless marked, with a
//! reason, as intended.

mod support;

use support::{Fixture, run, xtask};

fn lint(fixture: &Fixture) -> support::Outcome {
    let source = fixture.migrations().display().to_string();
    run(&mut xtask(&["migrate-lint", "--all", "--source", &source]))
}

const CREATE: (&str, &str) = (
    "1_create_a.up.sql",
    "CREATE TABLE a (id bigint PRIMARY KEY, name text, old text);\n",
);

#[test]
fn destructive_and_locking_changes_are_reported_with_their_line() {
    let fixture = Fixture::new(&[
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
    let fixture = Fixture::new(&[
        CREATE,
        (
            "2_drop_a_old.up.sql",
            "-- squawk-ignore ban-drop-column: nothing reads `old` since release 12\nALTER TABLE a DROP COLUMN old;\n",
        ),
    ]);
    lint(&fixture).assert_ok();
}

#[test]
fn a_marker_without_a_reason_is_refused() {
    let fixture = Fixture::new(&[
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
    run(&mut xtask(&["migrate-lint", "--all"])).assert_ok();
}
