//! The read side of the migrations, for the api and the workers: whether the database holds the
//! schema this build was made for. They wait at this gate before serving, and never change the
//! schema themselves; nothing here writes.

mod wait;

use serde::Serialize;
use sqlx::PgExecutor;

pub use wait::{GateError, Patience, wait_for_schema};

use migrate_core::MigrationSet;

use crate::{
    history::read_history,
    status::{State, StatusReport},
};

/// `migrate` notifies this channel after it changed the schema; waiting processes listen.
pub const SCHEMA_CHANGED_CHANNEL: &str = "app_schema_changed";

/// Where a process is at the gate, for `/ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum GateStatus {
    /// Not yet able to ask the database.
    DatabaseUnreachable,
    /// Migrations this build embeds are not applied yet.
    SchemaBehind {
        /// Their versions (`missing` in `/ready`'s JSON, as documented).
        #[serde(rename = "missing")]
        pending: Vec<i64>,
    },
    /// The history contradicts this build; the process refuses to start.
    SchemaMismatch {
        /// How, and what to do.
        detail: String,
    },
    /// Passed: the process serves.
    Open,
}

/// How the database's history compares with the migrations embedded in this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// Every embedded migration is applied, nothing else.
    Current,
    /// Every embedded migration is applied, and newer ones too: a rolling deploy where the
    /// new release migrated first. Safe to run.
    Ahead {
        /// The versions this build does not know.
        unknown: Vec<i64>,
    },
    /// Embedded migrations are not applied yet: `migrate up` has not run (or not finished).
    Behind {
        /// Their versions.
        pending: Vec<i64>,
    },
    /// An applied migration differs from this build's file, or is recorded as failed.
    Mismatch {
        /// How, and what to do.
        reason: String,
    },
}

impl SchemaState {
    /// Whether a process built with these migrations may serve.
    pub fn is_usable(&self) -> bool {
        matches!(self, SchemaState::Current | SchemaState::Ahead { .. })
    }

    /// What `/ready` says about this state.
    pub fn gate_status(&self) -> GateStatus {
        match self {
            SchemaState::Current | SchemaState::Ahead { .. } => GateStatus::Open,
            SchemaState::Behind { pending } => GateStatus::SchemaBehind {
                pending: pending.clone(),
            },
            SchemaState::Mismatch { reason } => GateStatus::SchemaMismatch {
                detail: reason.clone(),
            },
        }
    }
}

/// Reads the history table and compares it with `set`.
pub async fn check<E>(conn: &mut E, set: &MigrationSet) -> sqlx::Result<SchemaState>
where
    for<'e> &'e mut E: PgExecutor<'e>,
{
    let history = read_history(conn, set.config().table.as_sql()).await?;
    Ok(classify(
        &StatusReport::compare(set, &history),
        set.config().table.as_sql(),
    ))
}

/// What `report` means for a process that embeds its migrations; `table` names the history.
pub(crate) fn classify(report: &StatusReport, table: &str) -> SchemaState {
    let versions = |state| {
        report
            .with_state(state)
            .map(|e| e.version)
            .collect::<Vec<_>>()
    };
    let modified = versions(State::Modified);
    let failed = versions(State::Failed);
    if !modified.is_empty() || !failed.is_empty() {
        let mut reasons = Vec::new();
        if !modified.is_empty() {
            reasons.push(format!(
                "applied migrations {modified:?} differ from this build's files (edited after they \
                 ran): deploy a build whose migrations match the database (see `migrate status`)"
            ));
        }
        if !failed.is_empty() {
            reasons.push(format!(
                "migrations {failed:?} are recorded as failed in {table}: repair them \
                 (see `migrate status`) before starting"
            ));
        }
        return SchemaState::Mismatch {
            reason: reasons.join("; "),
        };
    }
    let pending = versions(State::Pending);
    if !pending.is_empty() {
        return SchemaState::Behind { pending };
    }
    let unknown = versions(State::Missing);
    if unknown.is_empty() {
        SchemaState::Current
    } else {
        SchemaState::Ahead { unknown }
    }
}
