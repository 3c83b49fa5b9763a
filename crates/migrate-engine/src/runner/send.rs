//! One message on its way: sent, and read as it comes back. Each step's row arrives as its
//! transaction commits, and is logged then. When no row has come for half a lock timeout, the
//! second session looks for whoever blocks this one, so that a lock wait given up can name
//! them (a message that makes progress costs no look); and a stop request cancels the running
//! statement on the server (PostgreSQL then rolls its transaction back), rather than leaving
//! the server to finish a message nobody will read.

use std::time::Duration;

use futures_util::StreamExt;
use sqlx::{
    AssertSqlSafe, Column, Connection, Either, Executor, PgConnection, Row, postgres::PgRow,
};

use super::Runner;
use crate::{
    holder::Holder,
    message::{LANDED, Message},
    settings::DatabaseSettings,
    step::Step,
};

/// The shortest pause between two looks for a blocker.
const MIN_LOOK_EVERY: Duration = Duration::from_millis(20);

/// What came back.
#[derive(Debug, Default)]
pub(super) struct Reply {
    /// The execution time of each step that committed and said so, in order.
    pub landed: Vec<Duration>,
    /// What stopped the message, if something did.
    pub error: Option<sqlx::Error>,
    /// The last session seen blocking this one.
    pub blocker: Option<Holder>,
    /// The signal that had the message cancelled.
    pub interrupted: Option<&'static str>,
}

impl Runner<'_> {
    /// Sends `message`, which carries `steps`, and reads what comes back.
    pub(super) async fn send(&mut self, message: &Message, steps: &[Step<'_>]) -> Reply {
        let Runner {
            conn,
            monitor,
            pid,
            shutdown,
            limits,
            settings,
            ..
        } = self;
        let watching = monitor.is_some() && !limits.lock_timeout.is_zero();
        let every = (limits.lock_timeout / 2).max(MIN_LOOK_EVERY);
        let look = tokio::time::sleep(every);
        tokio::pin!(look);
        let mut reply = Reply::default();
        let mut rows = conn.fetch_many(AssertSqlSafe(message.sql().to_owned()));
        loop {
            tokio::select! {
                item = rows.next() => match item {
                    None => break,
                    Some(Ok(Either::Right(row))) if is_landed(&row) => {
                        let nanos: i64 = row.try_get(0).unwrap_or_default();
                        let took = Duration::from_nanos(nanos.max(0).unsigned_abs());
                        if let Some(step) = steps.get(reply.landed.len()) {
                            tracing::info!("{} {} in {took:.1?}", step.done(), step.migration().label());
                        }
                        reply.landed.push(took);
                        look.as_mut().reset(tokio::time::Instant::now() + every);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        reply.error = Some(error);
                        break;
                    }
                },
                () = &mut look, if watching => {
                    if let Some(monitor) = monitor.as_deref_mut()
                        && let Ok(Some(blocker)) = Holder::blocking(monitor, *pid).await
                    {
                        reply.blocker = Some(blocker);
                    }
                    look.as_mut().reset(tokio::time::Instant::now() + every);
                }
                signal = shutdown.wait(), if reply.interrupted.is_none() => {
                    reply.interrupted = Some(signal);
                    cancel(monitor.as_deref_mut(), settings, *pid).await;
                }
            }
        }
        reply
    }
}

/// Whether `row` is one that says a step committed.
fn is_landed(row: &PgRow) -> bool {
    row.columns().first().is_some_and(|c| c.name() == LANDED)
}

/// Cancels what session `pid` runs, from the monitor session, or from one opened for it.
async fn cancel(monitor: Option<&mut PgConnection>, settings: &DatabaseSettings, pid: i32) {
    let sql = format!("SELECT pg_cancel_backend({pid})");
    let cancelled = match monitor {
        Some(monitor) => monitor.execute(AssertSqlSafe(sql)).await.map(drop),
        None => match PgConnection::connect_with(&settings.connect_options("migrate cancel")).await
        {
            Ok(mut conn) => {
                let cancelled = conn.execute(AssertSqlSafe(sql)).await.map(drop);
                let _ = conn.close().await;
                cancelled
            }
            Err(e) => Err(e),
        },
    };
    if let Err(e) = cancelled {
        tracing::warn!(
            "could not cancel the running statement ({}); closing the connection ends it within a second",
            settings.redact(&e.to_string())
        );
    }
}
