//! `migrate current`, `status` and `verify`: read-only, no lock taken.

use app::migrations::{MigrationSet, State, StatusReport, read_history};
use serde_json::json;
use sqlx::PgConnection;

use crate::failure::{Failure, Result};

async fn report(conn: &mut PgConnection, set: &MigrationSet) -> Result<StatusReport> {
    let history = read_history(conn).await?;
    Ok(StatusReport::compare(set, &history))
}

pub async fn current(conn: &mut PgConnection, set: &MigrationSet) -> Result<()> {
    match report(conn, set).await?.latest_applied() {
        Some(entry) => println!("{} {}", entry.version, entry.name),
        None => println!("none"),
    }
    Ok(())
}

pub async fn status(conn: &mut PgConnection, set: &MigrationSet, as_json: bool) -> Result<()> {
    let report = report(conn, set).await?;
    if as_json {
        let current = report.latest_applied().map(|e| e.version);
        let body = json!({ "current": current, "migrations": report.entries });
        println!(
            "{}",
            serde_json::to_string_pretty(&body).expect("plain data serializes")
        );
        return Ok(());
    }
    let name_width = report
        .entries
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    println!(
        "{:<16} {:<name_width$} {:<9} APPLIED AT",
        "VERSION", "NAME", "STATE"
    );
    for e in &report.entries {
        let applied_at = e.applied_at.map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        );
        println!(
            "{:<16} {:<name_width$} {:<9} {applied_at}",
            e.version,
            e.name,
            e.state.as_str()
        );
    }
    let count = |state| report.with_state(state).count();
    println!(
        "\n{} migration(s): {} applied, {} pending, {} modified, {} missing, {} failed",
        report.entries.len(),
        count(State::Applied),
        count(State::Pending),
        count(State::Modified),
        count(State::Missing),
        count(State::Failed)
    );
    Ok(())
}

pub async fn verify(conn: &mut PgConnection, set: &MigrationSet) -> Result<()> {
    let report = report(conn, set).await?;
    if report.is_exact() {
        match report.latest_applied() {
            Some(latest) => println!(
                "ok: the database holds exactly this build's {} migration(s), latest {} {}",
                report.entries.len(),
                latest.version,
                latest.name
            ),
            None => println!("ok: this build has no migrations and the database has none applied"),
        }
        return Ok(());
    }
    let lines = report
        .entries
        .iter()
        .filter(|e| e.state != State::Applied)
        .map(|e| {
            let what = match e.state {
                State::Pending => "is pending: in this build, not applied (run migrate up)",
                State::Modified => {
                    "is modified: applied with another checksum (its file was edited after it ran)"
                }
                State::Missing => {
                    "is missing: applied, but not in this build (an older build, or a deleted file)"
                }
                State::Failed => "is failed: recorded with success = false",
                State::Applied => unreachable!("filtered out"),
            };
            format!("{}_{} {what}", e.version, e.name)
        })
        .collect();
    Err(Failure::lines(lines))
}
