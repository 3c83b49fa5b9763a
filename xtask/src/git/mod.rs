//! What git knows about a migrations directory: which ref to compare with, and what changed.

pub mod branch;

use std::path::{Path, PathBuf};

use pg_cluster::process;
use xshell::{Shell, cmd};

/// Where the directory sits in its repository, and the ref it is compared with.
pub struct Base {
    pub top: PathBuf,
    /// The directory, relative to the repository's top.
    pub dir: String,
    pub git_ref: String,
}

/// The explicit ref, else `origin/main`, else `main`. `None` (with the reason) when `dir` is
/// not in a git checkout or no such ref exists.
pub fn base(
    sh: &Shell,
    dir: &Path,
    explicit: Option<&str>,
) -> anyhow::Result<Result<Base, String>> {
    let dir = dir.canonicalize()?;
    let Ok(top) = process::read(cmd!(sh, "git -C {dir} rev-parse --show-toplevel")) else {
        return Ok(Err(format!("{} is not in a git checkout", dir.display())));
    };
    let top = PathBuf::from(top.trim());
    let relative = dir
        .strip_prefix(&top)
        .unwrap_or(&dir)
        .to_string_lossy()
        .into_owned();
    let candidates: Vec<String> = match explicit {
        Some(r) => vec![r.to_owned()],
        None => vec!["origin/main".to_owned(), "main".to_owned()],
    };
    for candidate in &candidates {
        let commit = format!("{candidate}^{{commit}}");
        if process::read(cmd!(sh, "git -C {top} rev-parse --verify --quiet {commit}")).is_ok() {
            return Ok(Ok(Base {
                top,
                dir: relative,
                git_ref: candidate.clone(),
            }));
        }
    }
    Ok(Err(format!(
        "no git ref {} to compare with",
        candidates.join(" or ")
    )))
}

/// Files of the directory that differ from the base ref, as `(status, path)`: `M`odified,
/// `D`eleted, `A`dded, `T`ype changed, or `?` untracked. Paths are relative to the repo's top.
pub fn changes(sh: &Shell, base: &Base) -> anyhow::Result<Vec<(char, String)>> {
    let (top, git_ref, dir) = (&base.top, &base.git_ref, &base.dir);
    let diff = process::read(cmd!(
        sh,
        "git -C {top} diff --no-renames --name-status {git_ref} -- {dir}"
    ))?;
    let untracked = process::read(cmd!(
        sh,
        "git -C {top} ls-files --others --exclude-standard -- {dir}"
    ))?;
    let mut changes: Vec<(char, String)> = diff
        .lines()
        .filter_map(|line| {
            let (status, path) = line.split_once('\t')?;
            Some((status.chars().next()?, path.to_owned()))
        })
        .collect();
    changes.extend(untracked.lines().map(|path| ('?', path.to_owned())));
    Ok(changes)
}
