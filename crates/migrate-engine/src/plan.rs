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

/// The migrations `up` applies, oldest first.
pub(crate) fn up<'s>(
    set: &'s MigrationSet,
    history: &[AppliedMigration],
    options: &UpOptions,
) -> Result<Vec<&'s Migration>> {
    let report = StatusReport::compare(set, history);
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
            State::Missing if !options.ignore_missing => problems.push(format!(
                "migration {}_{} is applied but not in this build; run a build that has it, or pass --ignore-missing",
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
    Ok(pending)
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
