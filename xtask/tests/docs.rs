//! The README shows what the repository holds: checked, not hoped for.

use std::{fs, path::Path};

fn read(path: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)).unwrap()
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
fn the_readme_names_the_two_commands_ci_runs() {
    let readme = read("README.md");
    let ci = read(".ci/run");
    for command in ["cargo xtask up", "cargo xtask test"] {
        assert!(readme.contains(command), "README.md lacks `{command}`");
    }
    assert!(
        ci.contains("cargo xtask test"),
        ".ci/run must run the README's test command"
    );
}
