//! Recording migrations as applied without running them, for a database that already has their
//! schema (made before the project used migrations, or loaded from `schema.sql`): the rows sqlx
//! writes for `Migrator::skip`, after checking that the tables they create are there.

use migrate_core::{Migration, claims::claimed_tables};
use sqlx::{AssertSqlSafe, Executor};

use crate::{
    engine::Engine,
    error::{Error, ErrorKind, Result},
    locked::Locked,
    message::{Frame, Limits, Message},
};

/// What `baseline` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct BaselineOptions {
    /// Record up to this version (default: every migration of the set).
    pub to: Option<i64>,
    /// Proceed although the history table already has rows (only missing ones are added).
    pub force: bool,
}

/// Records the set's migrations up to `options.to` that the history lacks; returns their versions.
pub(crate) async fn record(
    locked: &mut Locked<'_>,
    engine: &Engine<'_>,
    options: &BaselineOptions,
) -> Result<Vec<i64>> {
    let set = engine.set();
    let conn = &mut locked.session.conn;
    let history = locked.history.read(conn).await?;
    if !history.is_empty() && !options.force {
        return Err(Error::new(
            ErrorKind::Refused,
            format!(
                "the history table already has {} row(s); baseline is for databases that never used migrations. \
                 Pass --force to record the missing ones anyway; nothing was recorded",
                history.len()
            ),
        ));
    }
    let covered: Vec<&Migration> = set
        .iter()
        .filter(|m| options.to.is_none_or(|to| m.version <= to))
        .collect();
    let targets: Vec<&Migration> = covered
        .iter()
        .copied()
        .filter(|m| !history.iter().any(|a| a.version == m.version))
        .collect();
    let Some(last) = targets.last() else {
        tracing::info!("nothing to baseline: every migration in range is recorded already");
        return Ok(Vec::new());
    };

    let claimed = claimed_tables(covered.iter().copied());
    let names: Vec<String> = claimed.iter().map(|(name, _)| name.clone()).collect();
    let absent: Vec<String> = sqlx::query_scalar!(
        r#"SELECT name AS "name!" FROM unnest($1::text[]) AS t(name) WHERE to_regclass(name) IS NULL"#,
        &names
    )
    .fetch_all(&mut *conn)
    .await?;
    if !absent.is_empty() {
        let lines = claimed
            .iter()
            .filter(|(name, _)| absent.contains(name))
            .map(|(name, version)| {
                let label = set.get(*version).map_or_else(|| version.to_string(), Migration::label);
                format!("the baseline claims table {name} (created by {label}), but the database has no such table")
            })
            .chain(["this database does not match those migrations; nothing was recorded".to_owned()])
            .collect();
        return Err(Error::with_lines(ErrorKind::Refused, lines));
    }

    let frame = Frame {
        limits: Limits {
            lock_timeout: engine.policy().lock_timeout,
            statement_timeout: engine.policy().statement_timeout,
        },
        history: &locked.history,
        audit: locked.audit.as_ref(),
        before_commit: None,
    };
    let message = Message::baseline(&frame, &targets);
    conn.execute(AssertSqlSafe(message.sql().to_owned()))
        .await?;
    locked.history.created();
    tracing::info!(
        "recorded {} migration(s) as applied without running them; the database is at {}",
        targets.len(),
        last.label()
    );
    Ok(targets.iter().map(|m| m.version).collect())
}
