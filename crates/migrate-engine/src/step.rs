//! One migration applied or reverted: what the runner sends, logs and records.

use migrate_core::{Migration, Script};

/// One migration applied or reverted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'m> {
    Apply(&'m Migration),
    Revert(&'m Migration),
}

/// What a step row of the audit trail says was done.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    Apply,
    Revert,
    Baseline,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "apply",
            Self::Revert => "revert",
            Self::Baseline => "baseline",
        }
    }
}

impl<'m> Step<'m> {
    pub fn migration(self) -> &'m Migration {
        match self {
            Step::Apply(m) | Step::Revert(m) => m,
        }
    }

    /// The file it runs.
    pub fn script(self) -> &'m Script {
        match self {
            Step::Apply(m) => &m.up,
            Step::Revert(m) => m
                .down
                .as_ref()
                .expect("reverts are planned for a down file only"),
        }
    }

    /// Sent on its own: outside a transaction, or in transactions of its own making.
    pub fn goes_alone(self) -> bool {
        let script = self.script();
        script.no_transaction || script.controls_transactions
    }

    pub fn direction(self) -> Direction {
        match self {
            Step::Apply(_) => Direction::Apply,
            Step::Revert(_) => Direction::Revert,
        }
    }

    /// `applying`, for what is under way.
    pub fn verb(self) -> &'static str {
        match self {
            Step::Apply(_) => "applying",
            Step::Revert(_) => "reverting",
        }
    }

    /// `applied`, for what is done.
    pub fn done(self) -> &'static str {
        match self {
            Step::Apply(_) => "applied",
            Step::Revert(_) => "reverted",
        }
    }
}

/// `20261121120000_create_jobs`, or `5 migrations (1..5)`.
pub(crate) fn describe(steps: &[Step<'_>]) -> String {
    match steps {
        [one] => one.migration().label(),
        many => format!(
            "{} migrations ({}..{})",
            many.len(),
            many[0].migration().version,
            many[many.len() - 1].migration().version
        ),
    }
}
