//! The README and docs/ show what the repository holds: checked, not hoped for.

fn read(path: &str) -> String {
    std::fs::read_to_string(test_support::workspace_root().join(path)).unwrap()
}

#[test]
fn docs_roles_md_shows_ops_roles_sql_verbatim() {
    let doc = read("docs/roles.md");
    let roles = read("ops/roles.sql");
    assert!(
        doc.contains(&format!("```sql\n{roles}```")),
        "docs/roles.md must quote ops/roles.sql exactly; update it with the file"
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

/// Every `cargo xtask COMMAND` the README and docs/ name is a command `xtask/src/flags.rs`
/// declares, and every `migrate COMMAND` one that `migrate --help` lists.
#[test]
fn the_commands_the_docs_name_exist() {
    let flags = read("xtask/src/flags.rs");
    let migrate_help =
        std::process::Command::new(test_support::workspace_root().join("target/debug/migrate"))
            .arg("--help")
            .output()
            .expect("`cargo xtask test` builds migrate first");
    let migrate_help = String::from_utf8_lossy(&migrate_help.stdout).into_owned();
    let mut docs = vec!["README.md".to_owned()];
    for entry in std::fs::read_dir(test_support::workspace_root().join("docs")).unwrap() {
        docs.push(format!(
            "docs/{}",
            entry.unwrap().file_name().to_string_lossy()
        ));
    }
    let words = |text: &str, prefix: &str| -> Vec<String> {
        text.split(prefix)
            .skip(1)
            .filter_map(|rest| {
                let word: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '-' || c.is_ascii_digit())
                    .collect();
                word.starts_with(|c: char| c.is_ascii_lowercase())
                    .then_some(word)
            })
            .collect()
    };
    for doc in &docs {
        let text = read(doc);
        for command in words(&text, "cargo xtask ") {
            assert!(
                flags.contains(&format!("cmd {command} ")),
                "{doc} names `cargo xtask {command}`, which xtask/src/flags.rs does not declare"
            );
        }
        for command in words(&text, "`migrate ") {
            assert!(
                migrate_help.contains(&format!("\n  {command} ")),
                "{doc} names `migrate {command}`, which `migrate --help` does not list"
            );
        }
    }
}
