//! Branches that merge cleanly: a migration a branch adds with a version older than the newest
//! on main fails `migrate-check` at review time, and `migrate-rebase` gives the branch's
//! migrations new versions, on a real repository with two branches and a merge.

use std::fs;

use test_support::{Migrations, TestDb, run};

use crate::{git, xtask};

const A: (&str, &str) = (
    "20260101000000_create_a.up.sql",
    "CREATE TABLE a (id int);\n",
);
const B_UP: &str = "20260102000000_add_b.up.sql";
const B_DOWN: &str = "20260102000000_add_b.down.sql";
const C: (&str, &str) = (
    "20260103000000_add_c.sql",
    "ALTER TABLE a ADD COLUMN c int;\n",
);

/// main: a, then c; the `feature` branch, made before c, adds b (up and down); then main is
/// merged into it. b is now older than c, which main may have deployed.
fn merged_branch() -> Migrations {
    let repo = Migrations::new(&[A]);
    let git = |args: &[&str]| git(repo.root(), args);
    git(&["init", "--quiet", "--initial-branch=main"]);
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "a"]);
    git(&["checkout", "--quiet", "-b", "feature"]);
    repo.write(
        B_UP,
        "ALTER TABLE a ADD COLUMN b text;\r\n-- kept byte for byte\n",
    );
    repo.write(B_DOWN, "ALTER TABLE a DROP COLUMN b;\n");
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "b"]);
    git(&["checkout", "--quiet", "main"]);
    repo.write(C.0, C.1);
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "c"]);
    git(&["checkout", "--quiet", "feature"]);
    git(&["merge", "--quiet", "--no-edit", "main"]);
    repo
}

fn order_check(repo: &Migrations) -> test_support::Run {
    let source = repo.path().display().to_string();
    run(&mut xtask(&[
        "migrate-check",
        "--source",
        &source,
        "--only",
        "order",
        "--against",
        "main",
    ]))
}

fn rebase(repo: &Migrations) -> std::process::Command {
    let source = repo.path().display().to_string();
    xtask(&["migrate-rebase", "--source", &source, "--against", "main"])
}

fn names(repo: &Migrations) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(repo.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_branch_migration_older_than_main_s_newest_is_caught_and_rebased_after_it() {
    let repo = merged_branch();
    order_check(&repo)
        .assert_code(1)
        .assert_stderr_contains(
            "migrations/20260102000000_add_b.up.sql is older than migrations/20260103000000_add_c.sql, \
             the newest migration on main",
        )
        .assert_stderr_contains("run `cargo xtask migrate-rebase`");
    let (up, down) = (
        fs::read(repo.path().join(B_UP)).unwrap(),
        fs::read(repo.path().join(B_DOWN)).unwrap(),
    );

    let rebased = run(&mut rebase(&repo));
    rebased
        .assert_code(0)
        .assert_stdout_contains("renamed 20260102000000_add_b.up.sql -> ");
    let after = names(&repo);
    let (new_down, new_up) = (&after[2], &after[3]);
    assert_eq!(
        (after[0].as_str(), after[1].as_str()),
        (A.0, C.0),
        "main's files are untouched: {after:?}"
    );
    let version = new_up
        .strip_suffix("_add_b.up.sql")
        .expect("b keeps its name");
    assert!(
        version.parse::<i64>().unwrap() > 20260103000000,
        "{after:?}"
    );
    assert_eq!(
        new_down,
        &format!("{version}_add_b.down.sql"),
        "up and down together"
    );
    assert_eq!(
        fs::read(repo.path().join(new_up)).unwrap(),
        up,
        "byte-identical"
    );
    assert_eq!(fs::read(repo.path().join(new_down)).unwrap(), down);

    order_check(&repo).assert_code(0);
    run(&mut rebase(&repo))
        .assert_code(0)
        .assert_stderr_contains("nothing to rebase");
}

#[test]
fn a_migration_the_development_database_recorded_is_not_rebased() {
    let repo = merged_branch();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dev = runtime.block_on(async {
        let db = TestDb::new().await;
        db.execute(&migrate_core::history::create_table("_sqlx_migrations")).await;
        db.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (20260101000000, 'create a', true, '\\x00', 0), (20260102000000, 'add b', true, '\\x00', 0)",
        )
        .await;
        db
    });
    let before = names(&repo);
    run(rebase(&repo).env("DATABASE_URL", &dev.url))
        .assert_code(1)
        .assert_stderr_contains(
            "20260102000000_add_b.up.sql is recorded in the development database",
        )
        .assert_stderr_contains("cargo xtask migrate-down --to 20260101000000");
    assert_eq!(names(&repo), before, "nothing was renamed");
    runtime.block_on(async move { drop(dev) });
}
