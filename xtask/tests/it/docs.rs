//! The README shows what the repository holds: checked, not hoped for.

fn read(path: &str) -> String {
    std::fs::read_to_string(test_support::workspace_root().join(path)).unwrap()
}

#[test]
fn the_readme_shows_ops_roles_sql_verbatim() {
    let readme = read("README.md");
    let roles = read("ops/roles.sql");
    assert!(
        readme.contains(&format!("```sql\n{roles}```")),
        "README.md must quote ops/roles.sql exactly; update the README with the file"
    );
}

#[test]
fn ci_runs_the_readme_s_test_command_last() {
    let readme = read("README.md");
    for command in ["cargo xtask up", "cargo xtask test", "cargo xtask ci"] {
        assert!(readme.contains(command), "README.md lacks `{command}`");
    }
    assert!(
        read(".ci/run").contains("\ncargo xtask ci\n"),
        ".ci/run must run `cargo xtask ci`"
    );
    assert!(
        read(".github/workflows/ci.yml").contains("cargo xtask ci"),
        "the workflow must run `cargo xtask ci`"
    );
    let steps = read("xtask/src/ci.rs");
    let (_, last) = steps
        .rsplit_once("ci.step(\"")
        .expect("ci.rs runs its steps as ci.step(\"name\", ...)");
    assert!(
        last.starts_with("test\"") && last.contains("flags::Test {"),
        "the last CI step must be the test command: {last}"
    );
    assert!(
        read(".ci/run").contains("\ncargo xtask test --postgres 18\n"),
        ".ci/run must run the suite on PostgreSQL 18 too"
    );
    assert!(
        read(".ci/run").contains("\ncargo xtask compose-test\n"),
        ".ci/run must run the image and the compose stack for real"
    );
}
