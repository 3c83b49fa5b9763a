//! `migrate baseline`: record migrations as applied without running them, for a database that
//! already has their schema (made before the project used migrations, or from `schema.sql`).

use app::migrations::{Migration, MigrationSet, claimed_tables, read_history};
use sqlx::{AssertSqlSafe, Executor, PgConnection};

use crate::{
    batch::literal,
    cli::{BaselineArgs, Options},
    failure::{Failure, Result},
    history::HistoryTable,
    lock::MigrationLock,
    runner::announce,
};

pub async fn baseline(
    conn: &mut PgConnection,
    set: &MigrationSet,
    args: &BaselineArgs,
    options: &Options,
) -> Result<()> {
    crate::cli::require_known(set, args.to)?;
    let lock = MigrationLock::acquire(conn, options.lock_wait).await?;
    let outcome = record(conn, set, args).await;
    if outcome.is_ok() {
        lock.release(conn).await?;
    }
    outcome
}

async fn record(conn: &mut PgConnection, set: &MigrationSet, args: &BaselineArgs) -> Result<()> {
    let history = read_history(&mut *conn).await?;
    if !history.is_empty() && !args.force {
        return Err(Failure::new(format!(
            "the history table already has {} row(s); baseline is for databases that never used migrations. \
             Pass --force to record the missing ones anyway; nothing was recorded",
            history.len()
        )));
    }
    let covered: Vec<&Migration> = set
        .iter()
        .filter(|m| args.to.is_none_or(|to| m.version <= to))
        .collect();
    let targets: Vec<&Migration> = covered
        .iter()
        .copied()
        .filter(|m| !history.iter().any(|a| a.version == m.version))
        .collect();
    let Some(last) = targets.last() else {
        tracing::info!("nothing to baseline: every migration in range is recorded already");
        return Ok(());
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
        return Err(Failure::lines(lines));
    }

    let history = HistoryTable::locate(conn).await?;
    let rows: Vec<String> = targets
        .iter()
        .map(|m| {
            format!(
                "({}, {}, TRUE, decode('{}', 'hex'), -1)",
                m.version,
                literal(&m.description()),
                hex::encode(&m.checksum)
            )
        })
        .collect();
    let sql = format!(
        "BEGIN;\n{}INSERT INTO {} (version, description, success, checksum, execution_time) VALUES\n{};\nCOMMIT;",
        history.create_if_missing(),
        history.name,
        rows.join(",\n")
    );
    conn.execute(AssertSqlSafe(sql)).await?;
    tracing::info!(
        "recorded {} migration(s) as applied without running them; the database is at {}",
        targets.len(),
        last.label()
    );
    announce(conn).await
}
