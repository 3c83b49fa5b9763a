//! `cargo xtask k8s-check` passes on the project's chart, and fails, naming the rule, on a copy
//! of it broken the ways the rules are there for.

use std::path::Path;

use test_support::{run, workspace_root};

use crate::xtask;

/// A copy of deploy/helm with `from` replaced by `to` in `template` (which must contain it).
fn broken_chart(dir: &Path, template: &str, from: &str, to: &str) -> std::path::PathBuf {
    let (original, chart) = (workspace_root().join("deploy/helm"), dir.join("helm"));
    for entry in walkdir::WalkDir::new(&original) {
        let entry = entry.unwrap();
        let target = chart.join(entry.path().strip_prefix(&original).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    let path = chart.join("templates").join(template);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{template} has no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    chart
}

fn check(chart: Option<&Path>) -> test_support::Run {
    let mut command = xtask(&["k8s-check"]);
    if let Some(chart) = chart {
        command.arg("--chart").arg(chart);
    }
    run(&mut command)
}

#[test]
fn the_project_s_chart_passes() {
    check(None)
        .assert_code(0)
        .assert_stderr_contains("k8s-check: Helm 3.17.2: 2 renderings valid")
        .assert_stderr_contains("k8s-check: Helm 4.1.4: 2 renderings valid");
}

#[test]
fn a_chart_breaking_a_rule_fails_naming_it() {
    let cases = [
        (
            "_helpers.tpl",
            "values: [3, 4]",
            "values: [3]",
            "podFailurePolicy ends on {1, 2} and counts {3}",
        ),
        (
            "_helpers.tpl",
            "path: /ready",
            "path: /readyz",
            "readinessProbe asks /readyz, which app/src/probes.rs does not serve",
        ),
        (
            "_helpers.tpl",
            r#"(dict "ctx" $ctx "role" "runtime")"#,
            r#"(dict "ctx" $ctx "role" "migrator")"#,
            "Deployment release-api reads the Secrets {\"release-migrator\"}",
        ),
        (
            "migrate-job.yaml",
            "metadata:\n  name:",
            "metadata:\n  annotations:\n    helm.sh/hook: pre-upgrade\n  name:",
            "is a Helm hook",
        ),
        (
            "migrate-job.yaml",
            "backoffLimit:",
            "backofLimit:",
            "is not valid for Kubernetes 1.30.0",
        ),
    ];
    for (template, from, to, said) in cases {
        let dir = tempfile::tempdir().unwrap();
        let chart = broken_chart(dir.path(), template, from, to);
        check(Some(&chart))
            .assert_code(1)
            .assert_stderr_contains(said);
    }
}
