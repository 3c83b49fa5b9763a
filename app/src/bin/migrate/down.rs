//! `migrate down`: revert applied migrations, newest first, under the migration lock.

use app::migrations::{Migration, MigrationSet, State, StatusReport, read_history};
use sqlx::PgConnection;

use crate::{
    cli::{DownArgs, Options},
    failure::{Failure, Result},
    history::HistoryTable,
    lock::MigrationLock,
    runner::{Runner, Step},
    up::print_plan,
};

pub async fn down(
    conn: &mut PgConnection,
    set: &MigrationSet,
    args: &DownArgs,
    options: &Options,
) -> Result<()> {
    if args.dry_run {
        let targets = plan(conn, set, args).await?;
        print_plan("would revert", &targets);
        return Ok(());
    }
    let lock = MigrationLock::acquire(conn, options.lock_wait).await?;
    let outcome = revert(conn, set, args, options).await;
    if outcome.is_ok() {
        lock.release(conn).await?;
    }
    outcome
}

async fn revert(
    conn: &mut PgConnection,
    set: &MigrationSet,
    args: &DownArgs,
    options: &Options,
) -> Result<()> {
    let targets = plan(conn, set, args).await?;
    if targets.is_empty() {
        tracing::info!("nothing to revert");
        return Ok(());
    }
    let history = HistoryTable::locate(conn).await?;
    let mut runner = Runner {
        conn,
        set,
        history,
        limits: options.limits(),
        lock_retries: options.lock_retries,
    };
    for migration in &targets {
        let took = runner.run(Step::Revert(migration)).await?;
        tracing::info!("reverted {} in {:.1?}", migration.label(), took);
    }
    runner.announce().await?;
    let history = read_history(runner.conn).await?;
    match history.iter().rev().find(|a| a.success) {
        Some(a) => tracing::info!(
            "the database is at {}_{}",
            a.version,
            a.description.replace(' ', "_")
        ),
        None => tracing::info!("no migration is applied any more"),
    }
    Ok(())
}

/// The migrations to revert, newest first, after checking every one can be.
async fn plan<'s>(
    conn: &mut PgConnection,
    set: &'s MigrationSet,
    args: &DownArgs,
) -> Result<Vec<&'s Migration>> {
    let history = read_history(conn).await?;
    let report = StatusReport::compare(set, &history);
    if let Some(failed) = report.with_state(State::Failed).next() {
        return Err(Failure::new(format!(
            "migration {} is recorded as failed in _sqlx_migrations; repair that first (see `migrate status`); nothing was reverted",
            failed.version
        )));
    }
    let applied: Vec<_> = report
        .entries
        .iter()
        .rev()
        .filter(|e| matches!(e.state, State::Applied | State::Modified | State::Missing))
        .collect();
    let chosen: Vec<_> = match (args.to, args.steps) {
        (Some(to), _) => {
            let known = to == 0 || applied.iter().any(|e| e.version == to) || set.get(to).is_some();
            if !known {
                return Err(Failure::new(format!(
                    "--to {to}: neither an applied migration nor one of this build (0 reverts everything); nothing was reverted"
                )));
            }
            applied.into_iter().filter(|e| e.version > to).collect()
        }
        (None, steps) => {
            let steps = steps.unwrap_or(1) as usize;
            if !applied.is_empty() && applied.len() < steps {
                return Err(Failure::new(format!(
                    "--steps {steps}: only {} migration(s) are applied; nothing was reverted",
                    applied.len()
                )));
            }
            applied.into_iter().take(steps).collect()
        }
    };

    let mut problems = Vec::new();
    let mut targets = Vec::new();
    for entry in chosen {
        let Some(migration) = set.get(entry.version) else {
            problems.push(format!(
                "migration {}_{} is applied but not in this build, so its down file is unknown; \
                 revert it with the build that added it",
                entry.version, entry.name
            ));
            continue;
        };
        let path = set.origin().path_of(&migration.up.file);
        if migration.down.is_none() {
            problems.push(format!(
                "{path} has no down file ({}_{}.down.sql), so it cannot be reverted; write one or undo it by hand",
                migration.version, migration.name
            ));
        } else if entry.state == State::Modified {
            problems.push(format!(
                "{path} changed after it was applied, so its down file may not undo what the database holds; \
                 restore the applied text first"
            ));
        } else {
            targets.push(migration);
        }
    }
    if !problems.is_empty() {
        problems.push("nothing was reverted".to_owned());
        return Err(Failure::lines(problems));
    }
    Ok(targets)
}
