//! Each check of `cargo xtask migrate-check` fails on a fixture made to break it.

use test_support::{Migrations, run};

use crate::{fixture_args, xtask};

const A_UP: (&str, &str) = (
    "1_create_a.up.sql",
    "CREATE TABLE a (id int PRIMARY KEY, name text);\n",
);
const A_DOWN: (&str, &str) = ("1_create_a.down.sql", "DROP TABLE a;\n");
const INDEX_UP: (&str, &str) = (
    "2_index_a_name.up.sql",
    "CREATE INDEX a_name_idx ON a (name);\n",
);
const INDEX_DOWN: (&str, &str) = ("2_index_a_name.down.sql", "DROP INDEX a_name_idx;\n");

/// A good fixture with its schema.sql written by schema-dump.
fn good() -> Migrations {
    let fixture = Migrations::new(&[A_UP, A_DOWN, INDEX_UP, INDEX_DOWN]);
    let mut dump = xtask(&["schema-dump"]);
    dump.args(fixture_args(&fixture));
    run(&mut dump).assert_code(0);
    fixture
}

fn check(fixture: &Migrations, extra: &[&str]) -> test_support::Run {
    let mut command = xtask(&["migrate-check"]);
    command.args(fixture_args(fixture)).args(extra);
    run(&mut command)
}

#[test]
fn a_good_set_passes_every_check() {
    let fixture = good();
    let schema = std::fs::read_to_string(fixture.schema()).unwrap();
    assert!(
        schema.contains("CREATE INDEX a_name_idx ON public.a USING btree (name);"),
        "{schema}"
    );
    let outcome = check(&fixture, &[]);
    outcome.assert_code(0);
    for line in [
        "fresh        ok",
        "snapshot     ok",
        "round-trip   ok",
        "baseline     ok",
        "immutability ok (skipped: ",
    ] {
        assert!(
            outcome.stderr.contains(&format!("migrate-check: {line}")),
            "{line}:\n{}",
            outcome.stderr
        );
    }
}

#[test]
fn a_down_that_forgets_an_index_fails_the_round_trip_naming_it() {
    let fixture = Migrations::new(&[
        A_UP,
        A_DOWN,
        (
            "2_add_a_email.up.sql",
            "ALTER TABLE a ADD COLUMN email text;\nCREATE INDEX a_email_idx ON a (email);\n",
        ),
        (
            "2_add_a_email.down.sql",
            "ALTER TABLE a DROP COLUMN email CASCADE;\nCREATE INDEX a_forgotten ON a (name);\n",
        ),
    ]);
    let outcome = check(&fixture, &["--only", "round-trip"]);
    outcome
        .assert_failed_with("2_add_a_email: after its down the schema differs from before its up");
    outcome.assert_failed_with("+ index CREATE INDEX a_forgotten ON public.a USING btree (name)");
}

#[test]
fn a_failing_down_fails_the_round_trip() {
    let fixture = Migrations::new(&[
        A_UP,
        A_DOWN,
        INDEX_UP,
        ("2_index_a_name.down.sql", "DROP INDEX no_such_index;\n"),
    ]);
    check(&fixture, &["--only", "round-trip"])
        .assert_failed_with("2_index_a_name: its down failed");
}

#[test]
fn a_migration_that_does_not_apply_fails_fresh() {
    let fixture = Migrations::new(&[
        A_UP,
        ("2_broken.up.sql", "ALTER TABLE nowhere ADD COLUMN x int;\n"),
    ]);
    check(&fixture, &["--only", "fresh"])
        .assert_failed_with("migrate up on an empty database failed");
}

#[test]
fn a_snapshot_the_migrations_disagree_with_fails_naming_the_objects_and_migrate_diff() {
    let fixture = good();
    fixture.write("3_create_b.up.sql", "CREATE TABLE b (id int);\n");
    let outcome = check(&fixture, &["--only", "snapshot"]);
    outcome.assert_failed_with("schema.sql and the migrations disagree");
    outcome.assert_failed_with("only in the migrations: CREATE TABLE public.b");
    outcome.assert_failed_with("`cargo xtask migrate-diff NAME`");
}

#[test]
fn a_snapshot_that_misses_a_table_fails_the_baseline() {
    let fixture = good();
    // Loads fine, but has another table instead of the migrations' `a`.
    std::fs::write(fixture.schema(), "CREATE TABLE public.b (id integer);\n").unwrap();
    check(&fixture, &["--only", "baseline"])
        .assert_failed_with("the baseline claims table a (created by 1_create_a)");
}

#[test]
fn a_changed_or_deleted_migration_fails_immutability() {
    let fixture = Migrations::new(&[A_UP, A_DOWN, INDEX_UP, INDEX_DOWN]);
    let git = |args: &[&str]| crate::git(fixture.root(), args);
    git(&["init", "--quiet", "--initial-branch=main"]);
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "migrations"]);
    check(&fixture, &["--only", "immutability", "--against", "main"]).assert_code(0);

    fixture.write(
        A_UP.0,
        "CREATE TABLE a (id bigint PRIMARY KEY, name text);\n",
    );
    std::fs::remove_file(fixture.path().join(INDEX_DOWN.0)).unwrap();
    fixture.write("3_create_b.up.sql", "CREATE TABLE b (id int);\n"); // new: fine
    let outcome = check(&fixture, &["--only", "immutability", "--against", "main"]);
    outcome.assert_failed_with("migrations/1_create_a.up.sql changed after it landed on main");
    outcome.assert_failed_with(
        "migrations/2_index_a_name.down.sql was deleted after it landed on main",
    );
    assert!(!outcome.stderr.contains("3_create_b"), "{}", outcome.stderr);
}

#[test]
fn a_snapshot_that_does_not_load_fails_the_baseline_with_psql_s_message() {
    let fixture = good();
    std::fs::write(fixture.schema(), "CREATE TABLE public.a (id integer;\n").unwrap();
    let outcome = check(&fixture, &["--only", "baseline"]);
    outcome.assert_failed_with("schema.sql does not load into an empty database");
    outcome.assert_failed_with("syntax error");
}

#[test]
fn an_unknown_check_is_refused() {
    check(&good(), &["--only", "everything"])
        .assert_failed_with("--only \"everything\": the checks are fresh, round-trip");
}

#[test]
fn the_committed_schema_sql_is_what_every_client_and_server_dump() {
    // `cargo xtask test --postgres N` runs this against server N with the PostgreSQL 18 clients;
    // the default run, against the installed server with its own client.
    run(&mut xtask(&["migrate-check", "--only", "snapshot"]))
        .assert_code(0)
        .assert_stderr_contains("migrate-check: snapshot     ok");
}
