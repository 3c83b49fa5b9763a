//! What a branch adds to the migrations of its base ref. Two developers each add a migration
//! on a branch; the one merged second may carry an older version than one already on main,
//! and deployed: `migrate up` would then refuse it as out of order, at deploy time.
//! `migrate-check` finds that at review time, and `migrate-rebase` gives the branch's
//! migrations new versions.

use std::{collections::BTreeMap, path::Path};

use migrate_core::FileName;
use pg_cluster::process;
use xshell::{Shell, cmd};

use crate::git::{self, Base};

/// One migration of the branch that its base does not have.
#[derive(Debug, Clone)]
pub struct Added {
    pub version: i64,
    /// Its files by name: the up (or single) file first, then the down file.
    pub files: Vec<String>,
}

/// The branch's migrations compared with its base's.
pub struct Branch {
    pub base: Base,
    /// Every version on the base ref.
    pub base_versions: Vec<i64>,
    /// The base's newest migration: its version and up (or single) file.
    pub newest_on_base: Option<(i64, String)>,
    /// What the branch adds, oldest first.
    pub added: Vec<Added>,
}

impl Branch {
    /// Compares `dir` with the base ref (`against`, else `origin/main`, else `main`); the
    /// reason when there is nothing to compare with.
    pub fn of(
        sh: &Shell,
        dir: &Path,
        against: Option<&str>,
    ) -> anyhow::Result<Result<Self, String>> {
        let base = match git::base(sh, dir, against)? {
            Ok(base) => base,
            Err(why) => return Ok(Err(why)),
        };
        let (top, git_ref, relative) = (&base.top, &base.git_ref, &base.dir);
        let listed = process::read(cmd!(
            sh,
            "git -C {top} ls-tree --name-only {git_ref} -- {relative}/"
        ))?;
        let on_base = versions(listed.lines().filter_map(|path| path.rsplit('/').next()));
        let mut here: Vec<String> = std::fs::read_dir(dir)?
            .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
            .collect::<anyhow::Result<_>>()?;
        here.sort();
        let added = versions(here.iter().map(String::as_str))
            .into_iter()
            .filter(|(version, _)| !on_base.contains_key(version))
            .map(|(version, files)| Added { version, files })
            .collect();
        let newest_on_base = on_base
            .iter()
            .next_back()
            .map(|(version, files)| (*version, files[0].clone()));
        Ok(Ok(Self {
            base_versions: on_base.keys().copied().collect(),
            newest_on_base,
            added,
            base,
        }))
    }

    /// The branch's migrations older than the base's newest: they would run out of order.
    pub fn out_of_order(&self) -> Vec<&Added> {
        match &self.newest_on_base {
            Some((newest, _)) => self.added.iter().filter(|a| a.version < *newest).collect(),
            None => Vec::new(),
        }
    }
}

/// Migration files by version (sorted by name within one); other files are left out.
fn versions<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<i64, Vec<String>> {
    let mut by_version: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for name in names {
        if let Ok(Some(parsed)) = FileName::parse(name) {
            by_version
                .entry(parsed.version)
                .or_default()
                .push(name.to_owned());
        }
    }
    for files in by_version.values_mut() {
        files.sort_by_key(|f| f.ends_with(".down.sql")); // the up (or single) file first
    }
    by_version
}
