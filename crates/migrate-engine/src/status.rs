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
    pub(crate) fn compare(set: &MigrationSet, applied: &[AppliedMigration]) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{applied, foreign, set};

    #[test]
    fn every_migration_of_the_build_or_the_database_gets_its_state() {
        let set = set(&[
            ("1_a.sql", "SELECT 1;"),
            ("2_b.sql", "SELECT 2;"),
            ("3_c.sql", "SELECT 3;"),
            ("4_d.sql", "SELECT 4;"),
        ]);
        let mut edited = applied(&set, 2);
        edited.checksum = vec![7; 48];
        let mut failed = applied(&set, 3);
        failed.success = false;
        let history = [
            applied(&set, 1),
            edited,
            failed,
            foreign(5, "from_elsewhere"),
        ];
        let report = StatusReport::compare(&set, &history);
        let states: Vec<(i64, State)> = report
            .entries
            .iter()
            .map(|e| (e.version, e.state))
            .collect();
        assert_eq!(
            states,
            [
                (1, State::Applied),
                (2, State::Modified),
                (3, State::Failed),
                (4, State::Pending),
                (5, State::Missing),
            ]
        );
        assert_eq!(report.entries[4].name, "from_elsewhere");
        assert!(report.entries[3].applied_at.is_none());
        assert_eq!(report.latest_applied().map(|e| e.version), Some(5));
        assert!(!report.is_exact());
    }

    #[test]
    fn exact_means_every_migration_applied_and_nothing_else() {
        let set = set(&[("1_a.sql", "SELECT 1;"), ("2_b.sql", "SELECT 2;")]);
        let both = [applied(&set, 1), applied(&set, 2)];
        assert!(StatusReport::compare(&set, &both).is_exact());
        assert!(!StatusReport::compare(&set, &both[..1]).is_exact());
        let empty = StatusReport::compare(&set, &[]);
        assert_eq!(empty.latest_applied().map(|e| e.version), None);
        assert_eq!(empty.with_state(State::Pending).count(), 2);
    }
}
