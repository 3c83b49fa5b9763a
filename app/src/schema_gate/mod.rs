//! Whether the database holds the schema this build was made for. The api and the workers
//! wait at this gate before serving, and never change the schema themselves.

mod wait;

use serde::Serialize;
use sqlx::PgExecutor;

pub use wait::{GateError, wait_for_schema};

use crate::migrations::{MigrationSet, State, StatusReport, read_history};

/// `migrate` notifies this channel after it changed the schema; waiting processes listen.
pub const SCHEMA_CHANGED_CHANNEL: &str = "app_schema_changed";

/// Where a process is at the gate, for `/ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum GateStatus {
    /// Not yet able to ask the database.
    DatabaseUnreachable,
    /// Migrations this build embeds are not applied yet.
    SchemaBehind { missing: Vec<i64> },
    /// The history contradicts this build; the process refuses to start.
    SchemaMismatch { detail: String },
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
    Ahead { unknown: Vec<i64> },
    /// Embedded migrations are not applied yet: `migrate up` has not run (or not finished).
    Behind { missing: Vec<i64> },
    /// An applied migration differs from this build's file, or is recorded as failed.
    Mismatch { reason: String },
}

impl SchemaState {
    pub fn is_usable(&self) -> bool {
        matches!(self, SchemaState::Current | SchemaState::Ahead { .. })
    }

    /// What `/ready` says about this state.
    pub fn gate_status(&self) -> GateStatus {
        match self {
            SchemaState::Current | SchemaState::Ahead { .. } => GateStatus::Open,
            SchemaState::Behind { missing } => GateStatus::SchemaBehind {
                missing: missing.clone(),
            },
            SchemaState::Mismatch { reason } => GateStatus::SchemaMismatch {
                detail: reason.clone(),
            },
        }
    }
}

/// Reads the history table (one query) and compares it with `set`.
pub async fn check<'c>(
    executor: impl PgExecutor<'c>,
    set: &MigrationSet,
) -> sqlx::Result<SchemaState> {
    let history = read_history(executor).await?;
    Ok(classify(&StatusReport::compare(set, &history)))
}

pub fn classify(report: &StatusReport) -> SchemaState {
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
                "migrations {failed:?} are recorded as failed in _sqlx_migrations: repair them \
                 (see `migrate status`) before starting"
            ));
        }
        return SchemaState::Mismatch {
            reason: reasons.join("; "),
        };
    }
    let missing = versions(State::Pending);
    if !missing.is_empty() {
        return SchemaState::Behind { missing };
    }
    let unknown = versions(State::Missing);
    if unknown.is_empty() {
        SchemaState::Current
    } else {
        SchemaState::Ahead { unknown }
    }
}
