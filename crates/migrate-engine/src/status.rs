//! Comparing the migrations of a build with a database's history.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use migrate_core::MigrationSet;

use crate::history::AppliedMigration;

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Recorded with the checksum of this build's file.
    Applied,
    /// In this build, not in the database.
    Pending,
    /// Recorded, but this build's file has another checksum: the file was edited.
    Modified,
    /// Recorded, but this build has no such migration.
    Missing,
    /// Recorded with `success = false`.
    Failed,
}

impl State {
    /// The word `migrate status` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Modified => "modified",
            State::Missing => "missing",
            State::Failed => "failed",
        }
    }
}

/// One migration of a [`StatusReport`].
#[derive(Debug, Clone, Serialize)]
pub struct StatusEntry {
    /// Its version.
    pub version: i64,
    /// Its name, as in its file name (from the history when the build lacks it).
    pub name: String,
    /// Where it stands.
    pub state: State,
    /// When it was recorded, if it was.
    pub applied_at: Option<DateTime<Utc>>,
    /// Who applied it (`role on host (run N)`), when the audit trail knows.
    pub applied_by: Option<String>,
}

/// Every migration known to the build or the database, by version.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct StatusReport {
    /// Oldest version first.
    pub entries: Vec<StatusEntry>,
}

impl StatusReport {
    /// Compares `set` with the history rows `applied`.
    pub fn compare(set: &MigrationSet, applied: &[AppliedMigration]) -> Self {
        let by_version: HashMap<i64, &AppliedMigration> =
            applied.iter().map(|a| (a.version, a)).collect();
        let mut entries: Vec<StatusEntry> = set
            .iter()
            .map(|m| {
                let row = by_version.get(&m.version).copied();
                let state = match row {
                    None => State::Pending,
                    Some(a) if !a.success => State::Failed,
                    Some(a) if a.checksum != m.checksum => State::Modified,
                    Some(_) => State::Applied,
                };
                StatusEntry {
                    version: m.version,
                    name: m.name.clone(),
                    state,
                    applied_at: row.map(|a| a.installed_on),
                    applied_by: None,
                }
            })
            .collect();
        entries.extend(
            applied
                .iter()
                .filter(|a| set.get(a.version).is_none())
                .map(|a| StatusEntry {
                    version: a.version,
                    name: a.description.replace(' ', "_"),
                    state: if a.success {
                        State::Missing
                    } else {
                        State::Failed
                    },
                    applied_at: Some(a.installed_on),
                    applied_by: None,
                }),
        );
        entries.sort_by_key(|e| e.version);
        Self { entries }
    }

    /// The entries in `state`.
    pub fn with_state(&self, state: State) -> impl Iterator<Item = &StatusEntry> {
        self.entries.iter().filter(move |e| e.state == state)
    }

    /// The database holds exactly this build's migrations, unmodified.
    pub fn is_exact(&self) -> bool {
        self.entries.iter().all(|e| e.state == State::Applied)
    }

    /// The newest migration recorded as successfully applied (whether in this build or not).
    pub fn latest_applied(&self) -> Option<&StatusEntry> {
        self.entries
            .iter()
            .rev()
            .find(|e| matches!(e.state, State::Applied | State::Modified | State::Missing))
    }
}
