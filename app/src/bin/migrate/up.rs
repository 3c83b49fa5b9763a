//! `migrate up`: apply pending migrations, oldest first, under the migration lock.

use std::time::Instant;

use app::migrations::{Migration, MigrationSet, State, StatusReport, read_history};
use sqlx::PgConnection;

use crate::{
    cli::{Options, UpArgs},
    failure::{Failure, Result},
    history::HistoryTable,
    lock::MigrationLock,
    runner::{Runner, Step},
};

pub async fn up(
    conn: &mut PgConnection,
    set: &MigrationSet,
    args: &UpArgs,
    options: &Options,
) -> Result<()> {
    crate::cli::require_known(set, args.to)?;
    if args.dry_run {
        // No lock and no history table: a dry run changes nothing at all.
        let pending = plan(conn, set, args).await?;
        print_plan("would apply", &pending);
        return Ok(());
    }
    let lock = MigrationLock::acquire(conn, options.lock_wait).await?;
    let outcome = apply_pending(conn, set, args, options).await;
    if outcome.is_ok() {
        lock.release(conn).await?;
    } // on failure the caller closes the connection, which releases the lock
    outcome
}

async fn apply_pending(
    conn: &mut PgConnection,
    set: &MigrationSet,
    args: &UpArgs,
    options: &Options,
) -> Result<()> {
    let pending = plan(conn, set, args).await?;
    let Some(last) = pending.last() else {
        tracing::info!("nothing to apply: the database already has every migration of this build");
        return Ok(());
    };
    let last = last.label();
    if args.single_transaction
        && let Some(m) = pending.iter().find(|m| m.up.no_transaction)
    {
        return Err(Failure::new(format!(
            "{}: a `-- no-transaction` migration cannot run inside --single-transaction; \
             apply up to the one before it, then run migrate up without the flag",
            set.origin().path_of(&m.up.file)
        )));
    }
    let history = HistoryTable::locate(conn).await?;
    let mut runner = Runner {
        conn,
        set,
        history,
        limits: options.limits(),
        lock_retries: options.lock_retries,
    };
    let started = Instant::now();
    if args.single_transaction {
        let steps: Vec<Step<'_>> = pending.iter().map(|m| Step::Apply(m)).collect();
        runner.run_in_transaction(&steps).await?;
    } else {
        runner
            .apply_each(&pending, args.per_message.map(usize::from))
            .await?;
    }
    tracing::info!(
        "applied {} migration(s) in {:.1?}; the database is at {last}",
        pending.len(),
        started.elapsed()
    );
    runner.announce().await
}

/// The migrations to apply, after refusing anything about the history that must be fixed first.
async fn plan<'s>(
    conn: &mut PgConnection,
    set: &'s MigrationSet,
    args: &UpArgs,
) -> Result<Vec<&'s Migration>> {
    let history = read_history(conn).await?;
    let report = StatusReport::compare(set, &history);
    let newest_applied = history
        .iter()
        .filter(|a| a.success)
        .map(|a| a.version)
        .max();
    let mut problems = Vec::new();
    for entry in &report.entries {
        let path = || {
            set.get(entry.version)
                .map(|m| set.origin().path_of(&m.up.file))
        };
        match entry.state {
            State::Failed => problems.push(format!(
                "migration {} ({}) is recorded as failed in _sqlx_migrations (left by another tool); \
                 check what it changed, then remove the row: DELETE FROM _sqlx_migrations WHERE version = {}",
                entry.version, entry.name, entry.version
            )),
            State::Modified => problems.push(format!(
                "{}: changed after it was applied (its checksum differs from the database's); restore the \
                 applied text (e.g. git checkout) and put the change in a new migration",
                path().unwrap_or_default()
            )),
            State::Missing if !args.ignore_missing => problems.push(format!(
                "migration {}_{} is applied but not in this build; run a build that has it, or pass --ignore-missing",
                entry.version, entry.name
            )),
            State::Pending if !args.allow_out_of_order && newest_applied.is_some_and(|n| entry.version < n) => {
                problems.push(format!(
                    "{}: version {} is older than the newest applied migration {}; give it a newer version \
                     (rename the file pair), or pass --allow-out-of-order",
                    path().unwrap_or_default(),
                    entry.version,
                    newest_applied.unwrap_or_default()
                ))
            }
            _ => {}
        }
    }
    if !problems.is_empty() {
        problems.push("nothing was applied".to_owned());
        return Err(Failure::lines(problems));
    }
    Ok(report
        .with_state(State::Pending)
        .filter(|e| args.to.is_none_or(|to| e.version <= to))
        .filter_map(|e| set.get(e.version))
        .collect())
}

pub fn print_plan(what: &str, migrations: &[&Migration]) {
    if migrations.is_empty() {
        println!("nothing to do");
    }
    for m in migrations {
        println!("{what} {}", m.label());
    }
}
