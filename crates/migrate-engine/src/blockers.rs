//! Who keeps a migration waiting for a table lock. While a message runs, a second session looks
//! now and then for the sessions blocking the runner's (`pg_blocking_pids`), so that each retry,
//! and the give-up, can name them: pid, application, state, since when.

use std::{future::Future, pin::pin, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// The shortest pause between two looks.
const MIN_LOOK_EVERY: Duration = Duration::from_millis(20);

/// A session that holds, or waits ahead for, a lock the runner waits for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Blocker {
    pid: i32,
    application_name: Option<String>,
    state: Option<String>,
    query_start: Option<DateTime<Utc>>,
    query: Option<String>,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}", self.pid)?;
        match self.application_name.as_deref() {
            Some("") | None => write!(f, " (no application_name")?,
            Some(name) => write!(f, " (application_name {name:?}")?,
        }
        if let Some(state) = &self.state {
            write!(f, ", {state}")?;
        }
        if let Some(start) = self.query_start {
            let ago = (Utc::now() - start).num_milliseconds() as f64 / 1000.0;
            write!(
                f,
                ", query started {} UTC, {ago:.1} s ago",
                start.format("%H:%M:%S")
            )?;
        }
        if let Some(query) = self.query.as_deref().filter(|q| !q.is_empty()) {
            let query: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
            let shown: String = query.chars().take(60).collect();
            let more = if shown.len() < query.len() { "..." } else { "" };
            write!(f, ": {shown}{more}")?;
        }
        write!(f, ")")
    }
}

/// Runs `work` (a message on the runner's session, `pid`) while `monitor` looks every
/// `lock_timeout / 2` for sessions blocking it; returns `work`'s outcome and the last blocker
/// seen. Without a monitor, or a lock timeout, it only runs `work`.
pub(crate) async fn watch<T>(
    work: impl Future<Output = T>,
    monitor: Option<&mut PgConnection>,
    pid: i32,
    lock_timeout: Duration,
) -> (T, Option<Blocker>) {
    let mut work = pin!(work);
    let (Some(monitor), false) = (monitor, lock_timeout.is_zero()) else {
        return (work.await, None);
    };
    let every = (lock_timeout / 2).max(MIN_LOOK_EVERY);
    let mut seen = None;
    loop {
        tokio::select! {
            done = &mut work => return (done, seen),
            () = tokio::time::sleep(every) => {
                if let Ok(Some(blocker)) = blocker_of(monitor, pid).await {
                    seen = Some(blocker);
                }
            }
        }
    }
}

/// The oldest session blocking `pid`, if any.
async fn blocker_of(monitor: &mut PgConnection, pid: i32) -> sqlx::Result<Option<Blocker>> {
    sqlx::query_as(
        "SELECT pid, application_name, state, query_start, query FROM pg_stat_activity \
         WHERE pid = ANY (pg_blocking_pids($1)) ORDER BY query_start NULLS LAST LIMIT 1",
    )
    .bind(pid)
    .fetch_optional(monitor)
    .await
}
