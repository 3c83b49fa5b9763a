//! `cargo xtask k8s-check`: the Helm chart in `deploy/helm/`, checked offline as a cluster
//! would take it. It is rendered with Helm 3 and Helm 4 (`helm lint --strict`, then `helm
//! template` with each set of values below), every manifest is validated with `--strict` against
//! the official schemas of several Kubernetes versions, and then [`rules`] asserts what no schema
//! knows: exit codes, probe paths, which pod may read which Secret, one image.

mod rules;

use std::{fs, path::Path};

use anyhow::{Context, bail};
use pg_cluster::process;
use xshell::{Shell, cmd};
use yaml_rust2::{Yaml, YamlLoader};

use crate::{
    flags, migrate_bin, project_root, target_dir,
    tools::{
        helm::{HELM_3, HELM_4},
        pypi::KUBERNETES_VALIDATE,
    },
};

/// The oldest version the chart supports (`kubeVersion` in Chart.yaml), one between, the newest
/// kubernetes-validate knows.
const KUBERNETES: [&str; 3] = ["1.30.0", "1.33.0", "1.37.0"];

/// Both roles' URLs: the chart makes their Secrets.
const URLS: &str = "database:
  migrator: {url: \"postgres://app_migrator:migrator-pw@db:5432/app\"}
  runtime: {url: \"postgres://app_runtime:runtime-pw@db:5432/app\"}
";

/// The renderings checked: a name, the values (YAML), and the Secrets each role's pods read.
struct Rendering {
    name: &'static str,
    values: &'static str,
    secrets: rules::Secrets,
}

const RENDERINGS: [Rendering; 2] = [
    Rendering {
        name: "urls",
        values: URLS,
        secrets: rules::Secrets {
            migrator: "release-migrator",
            runtime: "release-runtime",
            fleet: None,
        },
    },
    Rendering {
        name: "existing-secrets-and-fleet",
        values: "database:
  migrator: {existingSecret: db-migrator}
  runtime: {existingSecret: db-runtime}
fleet: {enabled: true, existingSecret: fleet-targets}
",
        secrets: rules::Secrets {
            migrator: "db-migrator",
            runtime: "db-runtime",
            fleet: Some("fleet-targets"),
        },
    },
];

/// Values the chart must refuse (a name, the values), and the start of what it says.
const REFUSED: [(&str, &str, &str); 2] = [
    (
        "no-urls",
        "{}",
        "set url (the chart makes the Secret) or existingSecret (the name of a Secret you made)",
    ),
    (
        "fleet-without-targets",
        "fleet: {enabled: true}",
        "fleet.enabled: set fleet.targets",
    ),
];

impl flags::K8sCheck {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let chart = self
            .chart
            .unwrap_or_else(|| project_root().join("deploy").join("helm"));
        let out = target_dir().join("k8s-check");
        fs::create_dir_all(&out)?;
        let validate = KUBERNETES_VALIDATE.install(sh)?;
        migrate_bin::build_app(sh)?;
        let facts = rules::Facts::of_the_app(sh)?;
        for helm in [HELM_3, HELM_4] {
            let binary = helm.install(sh)?;
            let version = helm.version;
            let urls = values_file(&out, "urls", URLS)?;
            process::run(cmd!(sh, "{binary} lint --strict {chart} -f {urls}"))?;
            for rendering in &RENDERINGS {
                let values = values_file(&out, rendering.name, rendering.values)?;
                let manifests =
                    process::read(cmd!(sh, "{binary} template release {chart} -f {values}"))?;
                let file = out.join(format!("helm-{version}-{}.yaml", rendering.name));
                fs::write(&file, &manifests)?;
                for kubernetes in KUBERNETES {
                    validated(sh, &validate, &file, kubernetes)?;
                }
                let objects = YamlLoader::load_from_str(&manifests)
                    .with_context(|| format!("{} is not YAML", file.display()))?
                    .into_iter()
                    .filter(|o| !o.is_null())
                    .collect::<Vec<Yaml>>();
                rules::check(&objects, &facts, &rendering.secrets)
                    .with_context(|| format!("Helm {version}, {}", file.display()))?;
            }
            for (name, values, message) in REFUSED {
                let refused = values_file(&out, name, values)?;
                // Each case lacks only what it names: the URLs come first, unless they are it.
                let base = if name == "no-urls" { &refused } else { &urls };
                let output = process::output(cmd!(
                    sh,
                    "{binary} template release {chart} -f {base} -f {refused}"
                ))?;
                let said = String::from_utf8_lossy(&output.stderr);
                if output.status.success() || !said.contains(message) {
                    bail!(
                        "Helm {version}: the chart must refuse {name} ({values}) saying {message:?}; it said: {said}"
                    );
                }
            }
            eprintln!(
                "k8s-check: Helm {version}: {} renderings valid for Kubernetes {}; the chart's rules hold",
                RENDERINGS.len(),
                KUBERNETES.join(", ")
            );
        }
        Ok(())
    }
}

/// `values` in `out/values-NAME.yaml`, for `helm -f`.
fn values_file(out: &Path, name: &str, values: &str) -> anyhow::Result<std::path::PathBuf> {
    let file = out.join(format!("values-{name}.yaml"));
    fs::write(&file, values)?;
    Ok(file)
}

/// kubernetes-validate `--strict` on every manifest of `file` for `kubernetes`: unknown fields
/// and missing required ones fail.
fn validated(sh: &Shell, validate: &Path, file: &Path, kubernetes: &str) -> anyhow::Result<()> {
    let output = process::output(
        cmd!(sh, "{validate} --strict --quiet -k {kubernetes} {file}")
            .env("PYTHONPATH", KUBERNETES_VALIDATE.python_path()),
    )?;
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || said.contains("ERROR") || said.contains("WARN") {
        bail!(
            "{} is not valid for Kubernetes {kubernetes}:\n{}",
            file.display(),
            said.trim()
        );
    }
    Ok(())
}
