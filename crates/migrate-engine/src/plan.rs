//! What `up` and `down` would do, decided from the history before anything changes: every
//! problem with the history is reported at once, and nothing runs while there is one.

use migrate_core::{Migration, MigrationSet};

use crate::{
    error::{Error, ErrorKind, Result},
    history::AppliedMigration,
    status::{State, StatusReport},
};

/// What `up` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Stop after this version (one of the set's).
    pub to: Option<i64>,
    /// Proceed although the database has migrations the set does not know.
    pub ignore_missing: bool,
    /// Apply pending migrations older than the newest applied one.
    pub allow_out_of_order: bool,
    /// All pending migrations in one transaction: all or nothing.
    pub single_transaction: bool,
    /// At most this many migrations to a message (default: as many as fit in about 25 ms).
    pub per_message: Option<usize>,
}

/// What `down` is asked to do: the newest applied migration by default.
#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// Revert this many migrations.
    pub steps: Option<u32>,
    /// Revert every migration newer than this version.
    pub to: Option<i64>,
    /// Revert every applied migration.
    pub all: bool,
    /// Production is forward-only: without this, `down` is refused (and the refusal recorded).
    pub allow_down: bool,
}

/// What `up` would do.
#[derive(Debug)]
pub(crate) struct UpPlan<'s> {
    /// The migrations to apply, oldest first.
    pub pending: Vec<&'s Migration>,
    /// Applied migrations newer than every one of the set: a newer release migrated, and this
    /// one is its rollback. They stay, and the database is said to be ahead.
    pub ahead: Vec<i64>,
}

impl UpPlan<'_> {
    /// The line saying the database is ahead, when it is.
    pub fn ahead_line(&self) -> Option<String> {
        let (first, last) = (self.ahead.first()?, self.ahead.last()?);
        let versions = if first == last {
            first.to_string()
        } else {
            format!("{first}..{last}")
        };
        Some(format!(
            "the database is ahead of this build: it also has {} newer migration(s) ({versions}) that a later \
             release applied; they stay, and this build runs on them (a rollback of the code)",
            self.ahead.len()
        ))
    }
}

/// `--to` must name one of the set's migrations.
pub(crate) fn require_known(set: &MigrationSet, to: Option<i64>) -> Result<()> {
    match to {
        Some(to) if set.get(to).is_none() => Err(Error::new(
            ErrorKind::Refused,
            format!(
                "--to {to}: no migration of this build has that version (see `migrate status`)"
            ),
        )),
        _ => Ok(()),
    }
}

/// The migrations `up` applies, oldest first. Applied migrations the set lacks are fine when
/// all of them are newer than its newest (the database is ahead); one from the middle of the
/// set's range (a deleted or renamed file) is refused unless `ignore_missing`.
pub(crate) fn up<'s>(
    set: &'s MigrationSet,
    history: &[AppliedMigration],
    options: &UpOptions,
) -> Result<UpPlan<'s>> {
    let report = StatusReport::compare(set, history);
    let newest_known = set.iter().map(|m| m.version).max();
    let is_ahead = |version: i64| newest_known.is_none_or(|newest| version > newest);
    let ahead: Vec<i64> = report
        .with_state(State::Missing)
        .map(|e| e.version)
        .filter(|&v| is_ahead(v))
        .collect();
    let table = set.config().table.as_sql();
    let newest_applied = history
        .iter()
        .filter(|a| a.success)
        .map(|a| a.version)
        .max();
    let mut problems = Vec::new();
    for entry in &report.entries {
        let path = || {
            set.get(entry.version)
                .map(|m| set.path_of(&m.up))
                .unwrap_or_default()
        };
        match entry.state {
            State::Failed => problems.push(format!(
                "migration {} ({}) is recorded as failed in {table} (left by another tool); \
                 check what it changed, then remove the row: DELETE FROM {table} WHERE version = {}",
                entry.version, entry.name, entry.version
            )),
            State::Modified => problems.push(format!(
                "{}: changed after it was applied (its checksum differs from the database's); restore the \
                 applied text (e.g. git checkout) and put the change in a new migration",
                path()
            )),
            State::Missing if !options.ignore_missing && !is_ahead(entry.version) => problems.push(format!(
                "migration {}_{} is applied but not in this build, among migrations it has (a deleted or renamed \
                 file?); restore the file, or pass --ignore-missing",
                entry.version, entry.name
            )),
            State::Pending
                if !options.allow_out_of_order && newest_applied.is_some_and(|n| entry.version < n) =>
            {
                problems.push(format!(
                    "{}: version {} is older than the newest applied migration {}; give it a newer version \
                     (rename the file pair), or pass --allow-out-of-order",
                    path(),
                    entry.version,
                    newest_applied.unwrap_or_default()
                ))
            }
            _ => {}
        }
    }
    let pending: Vec<&Migration> = report
        .with_state(State::Pending)
        .filter(|e| options.to.is_none_or(|to| e.version <= to))
        .filter_map(|e| set.get(e.version))
        .collect();
    if options.single_transaction
        && let Some(m) = pending.iter().find(|m| m.up.no_transaction)
    {
        problems.push(format!(
            "{}: a `-- no-transaction` migration cannot run inside --single-transaction; \
             apply up to the one before it, then run migrate up without the flag",
            set.path_of(&m.up)
        ));
    }
    refuse_any(problems, "nothing was applied")?;
    Ok(UpPlan { pending, ahead })
}

/// The migrations `down` reverts, newest first, after checking every one can be.
pub(crate) fn down<'s>(
    set: &'s MigrationSet,
    history: &[AppliedMigration],
    options: &DownOptions,
) -> Result<Vec<&'s Migration>> {
    let report = StatusReport::compare(set, history);
    let refuse = |line: String| Err(Error::new(ErrorKind::Refused, line));
    if let Some(failed) = report.with_state(State::Failed).next() {
        return refuse(format!(
            "migration {} is recorded as failed in {}; repair that first (see `migrate status`); nothing was reverted",
            failed.version,
            set.config().table
        ));
    }
    let applied: Vec<_> = report
        .entries
        .iter()
        .rev()
        .filter(|e| matches!(e.state, State::Applied | State::Modified | State::Missing))
        .collect();
    let chosen: Vec<_> = match (options.to, options.steps, options.all) {
        (_, _, true) => applied,
        (Some(to), _, _) => {
            let known = applied.iter().any(|e| e.version == to) || set.get(to).is_some() || to == 0;
            if !known {
                return refuse(format!(
                    "--to {to}: neither an applied migration nor one of this build (--all reverts everything); \
                     nothing was reverted"
                ));
            }
            applied.into_iter().filter(|e| e.version > to).collect()
        }
        (None, steps, _) => {
            let steps = steps.unwrap_or(1) as usize;
            if !applied.is_empty() && applied.len() < steps {
                return refuse(format!(
                    "--steps {steps}: only {} migration(s) are applied; nothing was reverted",
                    applied.len()
                ));
            }
            applied.into_iter().take(steps).collect()
        }
    };

    let mut problems = Vec::new();
    let mut targets = Vec::new();
    for entry in chosen {
        let Some(migration) = set.get(entry.version) else {
            problems.push(format!(
                "migration {}_{} is applied but not in this build, so its down file is unknown; \
                 revert it with the build that added it",
                entry.version, entry.name
            ));
            continue;
        };
        let path = set.path_of(&migration.up);
        if migration.down.is_none() {
            problems.push(format!(
                "{path} has no down file ({}_{}.down.sql), so it cannot be reverted; write one or undo it by hand",
                migration.version, migration.name
            ));
        } else if entry.state == State::Modified {
            problems.push(format!(
                "{path} changed after it was applied, so its down file may not undo what the database holds; \
                 restore the applied text first"
            ));
        } else {
            targets.push(migration);
        }
    }
    refuse_any(problems, "nothing was reverted")?;
    Ok(targets)
}

/// Every problem, and what it means, as one refusal; nothing when there is none.
fn refuse_any(mut problems: Vec<String>, consequence: &str) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    problems.push(consequence.to_owned());
    Err(Error::with_lines(ErrorKind::Refused, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{applied, foreign, set};

    fn three() -> MigrationSet {
        set(&[
            ("1_a.up.sql", "CREATE TABLE a ();"),
            ("1_a.down.sql", "DROP TABLE a;"),
            ("2_b.up.sql", "CREATE TABLE b ();"),
            ("2_b.down.sql", "DROP TABLE b;"),
            ("3_c.sql", "CREATE TABLE c ();"),
        ])
    }

    fn versions(migrations: &[&Migration]) -> Vec<i64> {
        migrations.iter().map(|m| m.version).collect()
    }

    fn refusal(result: Result<impl std::fmt::Debug>) -> String {
        result.expect_err("refused").to_string()
    }

    #[test]
    fn up_applies_what_is_pending_oldest_first_up_to_to() {
        let set = three();
        let plan = up(&set, &[applied(&set, 1)], &UpOptions::default()).unwrap();
        assert_eq!(versions(&plan.pending), [2, 3]);
        assert!(plan.ahead.is_empty());
        let to = UpOptions {
            to: Some(2),
            ..UpOptions::default()
        };
        assert_eq!(versions(&up(&set, &[], &to).unwrap().pending), [1, 2]);
        assert!(require_known(&set, Some(7)).is_err());
    }

    #[test]
    fn up_refuses_an_edited_a_failed_or_a_deleted_migration_naming_each() {
        let set = three();
        let mut edited = applied(&set, 1);
        edited.checksum = vec![1; 48];
        let mut failed = applied(&set, 2);
        failed.success = false;
        let refused = refusal(up(&set, &[edited, failed], &UpOptions::default()));
        assert!(
            refused.contains("migrations/1_a.up.sql: changed after it was applied"),
            "{refused}"
        );
        assert!(
            refused.contains("migration 2 (b) is recorded as failed"),
            "{refused}"
        );
        assert!(refused.ends_with("nothing was applied"), "{refused}");

        // 2 was applied, then its file deleted: a gap, not a newer release.
        let gap = crate::testing::set(&[("1_a.sql", "SELECT 1;"), ("3_c.sql", "SELECT 3;")]);
        let deleted = [applied(&gap, 1), foreign(2, "renamed"), applied(&gap, 3)];
        let refused = refusal(up(&gap, &deleted, &UpOptions::default()));
        assert!(
            refused.contains("migration 2_renamed is applied but not in this build"),
            "{refused}"
        );
        let ignoring = UpOptions {
            ignore_missing: true,
            ..UpOptions::default()
        };
        assert!(up(&gap, &deleted, &ignoring).unwrap().pending.is_empty());
    }

    #[test]
    fn a_database_ahead_of_the_build_is_a_rollback_and_applies_nothing() {
        let set = three();
        let history: Vec<_> = (1..=3)
            .map(|v| applied(&set, v))
            .chain([foreign(4, "next"), foreign(5, "after_next")])
            .collect();
        let plan = up(&set, &history, &UpOptions::default()).unwrap();
        assert!(plan.pending.is_empty());
        assert_eq!(plan.ahead, [4, 5]);
        let line = plan.ahead_line().unwrap();
        assert!(line.contains("2 newer migration(s) (4..5)"), "{line}");
    }

    #[test]
    fn up_refuses_out_of_order_unless_allowed_and_no_transaction_in_one_transaction() {
        let set = three();
        let history = [applied(&set, 1), applied(&set, 3)];
        let refused = refusal(up(&set, &history, &UpOptions::default()));
        assert!(
            refused.contains("version 2 is older than the newest applied migration 3"),
            "{refused}"
        );
        let allowed = UpOptions {
            allow_out_of_order: true,
            ..UpOptions::default()
        };
        assert_eq!(
            versions(&up(&set, &history, &allowed).unwrap().pending),
            [2]
        );

        let concurrent = crate::testing::set(&[
            ("1_a.sql", "CREATE TABLE a (id int);"),
            (
                "2_i.sql",
                "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON a (id);",
            ),
        ]);
        let together = UpOptions {
            single_transaction: true,
            ..UpOptions::default()
        };
        let refused = refusal(up(&concurrent, &[], &together));
        assert!(
            refused.contains("cannot run inside --single-transaction"),
            "{refused}"
        );
    }

    #[test]
    fn down_reverts_newest_first_as_asked_and_only_what_it_can() {
        let set = three();
        let history: Vec<_> = (1..=2).map(|v| applied(&set, v)).collect();
        let plan = |options: DownOptions| down(&set, &history, &options).map(|m| versions(&m));
        assert_eq!(plan(DownOptions::default()).unwrap(), [2]);
        let steps = DownOptions {
            steps: Some(2),
            ..DownOptions::default()
        };
        assert_eq!(plan(steps).unwrap(), [2, 1]);
        let to = DownOptions {
            to: Some(1),
            ..DownOptions::default()
        };
        assert_eq!(plan(to).unwrap(), [2]);
        let too_many = DownOptions {
            steps: Some(3),
            ..DownOptions::default()
        };
        assert!(refusal(plan(too_many)).contains("only 2 migration(s) are applied"));

        let all: Vec<_> = (1..=3).map(|v| applied(&set, v)).collect();
        let refused = refusal(down(&set, &all, &DownOptions::default()));
        assert!(refused.contains("3_c.sql has no down file"), "{refused}");
        let unknown = [applied(&set, 1), foreign(9, "gone")];
        let refused = refusal(down(&set, &unknown, &DownOptions::default()));
        assert!(
            refused.contains("9_gone is applied but not in this build"),
            "{refused}"
        );
    }
}
