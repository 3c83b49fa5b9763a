//! Whether the database holds the schema this build was made for. The api and the workers
//! ask before serving; they never change the schema themselves.

use sqlx::PgPool;

use crate::migrations::{MigrationSet, State, StatusReport, read_history};

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
}

/// Reads the history table and compares it with `set`.
pub async fn check(pool: &PgPool, set: &MigrationSet) -> sqlx::Result<SchemaState> {
    let mut conn = pool.acquire().await?;
    let history = read_history(&mut conn).await?;
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
                "applied migrations {modified:?} differ from this build's files (edited after they ran)"
            ));
        }
        if !failed.is_empty() {
            reasons.push(format!("migrations {failed:?} are recorded as failed"));
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
