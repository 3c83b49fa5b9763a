//! Who runs a cluster's programs. `initdb`, `postgres` and PgBouncer refuse to run as root, so
//! as root they run as the `postgres` user (or `nobody`), and what they touch is handed to it.

use std::{os::unix::process::CommandExt, path::Path, process::Command};

use anyhow::{Context, bail};
use nix::unistd::{Gid, Uid, User, chown, geteuid};

/// The user the server runs as: ourselves, or an unprivileged one when we are root.
#[derive(Debug, Clone)]
pub struct Owner {
    name: String,
    ids: Option<(Uid, Gid)>,
}

impl Owner {
    pub fn find() -> anyhow::Result<Self> {
        if !geteuid().is_root() {
            return Ok(Self {
                name: "yourself".into(),
                ids: None,
            });
        }
        for candidate in ["postgres", "nobody"] {
            if let Some(user) =
                User::from_name(candidate).context("cannot read the user database")?
            {
                return Ok(Self {
                    name: candidate.into(),
                    ids: Some((user.uid, user.gid)),
                });
            }
        }
        bail!(
            "running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as"
        )
    }

    /// The user's name, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether programs run as someone else than the current user.
    pub fn is_other_user(&self) -> bool {
        self.ids.is_some()
    }

    /// `program`, to be run as this user (from `/`, which every user may enter).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        if let Some((uid, gid)) = self.ids {
            command.uid(uid.as_raw()).gid(gid.as_raw()).current_dir("/");
        }
        command
    }

    /// Hands `path` to this user.
    pub fn chown(&self, path: &Path) -> anyhow::Result<()> {
        if let Some((uid, gid)) = self.ids {
            chown(path, Some(uid), Some(gid)).with_context(|| {
                format!("cannot hand {} to the `{}` user", path.display(), self.name)
            })?;
        }
        Ok(())
    }
}
