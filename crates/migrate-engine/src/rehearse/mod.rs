//! Rehearsal: every migration applied, one by one, to tables that hold rows, on a scratch
//! database. `migrate-check` runs migrations on empty tables, where `ADD COLUMN ... NOT NULL`,
//! `SET NOT NULL`, a unique index, a cast or a new constraint always succeed; with rows they
//! fail, as they would in production. Others succeed but hurt: a rewritten table, or an
//! `ACCESS EXCLUSIVE` lock that every query on the table queues behind.
//!
//! Before each migration every table is topped up with generated rows ([`fill`]), or the
//! rows of a data-only dump are loaded once ([`dump`]); the migration then runs through the
//! same runner as `migrate up`, while a second session watches its locks ([`observe`]).

mod dump;
mod fill;
mod observe;
mod report;

pub use fill::Unfilled;
pub use observe::LockMode;
pub use report::{HeldLock, Loaded, Rehearsal, Rehearsed, Rewrite};

use std::{
    collections::BTreeSet,
    path::PathBuf,
    time::{Duration, Instant},
};

use migrate_core::{Migration, history::owned_tables};

use crate::{
    engine::Engine,
    error::{Error, ErrorKind, Result},
    locked::{Audited, Locked},
    session::Session,
    step::Step,
};

/// How to rehearse.
#[derive(Debug, Clone)]
pub struct RehearseOptions {
    /// Rows each table holds before each migration.
    pub rows: u64,
    /// A data-only dump (`pg_dump --data-only`, plain format) to load instead of generating
    /// rows for the tables it has.
    pub data: Option<PathBuf>,
    /// An `ACCESS EXCLUSIVE` lock on an existing table held longer than this is a problem.
    pub max_exclusive: Duration,
}

impl Default for RehearseOptions {
    fn default() -> Self {
        Self {
            rows: 1000,
            data: None,
            max_exclusive: Duration::from_millis(200),
        }
    }
}

impl Engine<'_> {
    /// Applies every migration to a new, empty database, each after filling every table with
    /// rows, and reports what each did (see the module documentation). Stops at the first
    /// migration that fails. Refuses a database that has tables: it writes rows into them.
    pub async fn rehearse(
        &self,
        session: &mut Session,
        options: &RehearseOptions,
    ) -> Result<Rehearsal> {
        if session.monitor.is_none() {
            return Err(Error::new(
                ErrorKind::Connect,
                "rehearse watches the migrations' locks from a second connection, and none could be opened",
            ));
        }
        self.locked(session, Audited::No, async |locked| {
            refuse_unless_empty(locked.session).await?;
            let mut rehearsal = Rehearsal {
                rows: options.rows,
                max_exclusive: options.max_exclusive,
                ..Rehearsal::default()
            };
            let mut keep = BTreeSet::new();
            let mut first = 0;
            if let Some(path) = &options.data {
                let loaded = self.load(locked, path).await?;
                first = self
                    .set()
                    .iter()
                    .take_while(|m| m.version <= loaded.at)
                    .count();
                keep.clone_from(&loaded.tables);
                rehearsal.loaded = Some(loaded);
            }
            for migration in self.set().iter().skip(first) {
                let rehearsed = self.rehearse_one(locked, migration, options, &keep).await?;
                let failed = rehearsed.failure.is_some();
                rehearsal.migrations.push(rehearsed);
                if failed {
                    break;
                }
            }
            rehearsal.not_rehearsed = self.set().len() - first - rehearsal.migrations.len();
            Ok(rehearsal)
        })
        .await
    }

    /// Applies the migrations `path`'s data was taken at, then loads it.
    async fn load(&self, locked: &mut Locked<'_>, path: &std::path::Path) -> Result<Loaded> {
        let dump = dump::Dump::open(path)?;
        let table = self.set().config().table.as_sql();
        let applied = dump.applied(&mut locked.session.conn, table).await?;
        let at = applied.iter().map(|(v, _)| *v).max().unwrap_or_default();
        let mut odd = Vec::new();
        for (version, checksum) in &applied {
            match self.set().get(*version) {
                None => odd.push(format!("{version} is not among these migrations")),
                Some(m) if m.checksum != *checksum => {
                    odd.push(format!("{} was applied there from another file", m.label()));
                }
                Some(_) => {}
            }
        }
        let expected: Vec<&Migration> = self.set().iter().filter(|m| m.version <= at).collect();
        for m in &expected {
            if !applied.iter().any(|(v, _)| *v == m.version) {
                odd.push(format!("{} is not applied there", m.label()));
            }
        }
        if !odd.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "--data {}: its history does not match these migrations up to {at}: {}; dump a database \
                     migrated with these files",
                    path.display(),
                    odd.join(", ")
                ),
            ));
        }
        let steps: Vec<Step<'_>> = self
            .set()
            .iter()
            .take(expected.len())
            .map(Step::Apply)
            .collect();
        locked.runner(self).each(&steps, None).await?;
        let loaded = dump
            .load(
                &mut locked.session.conn,
                &owned_tables(&self.set().config().table),
            )
            .await?;
        tracing::info!(
            "loaded {} rows into {} tables from {} (taken at migration {at})",
            loaded.rows,
            loaded.tables.len(),
            path.display()
        );
        Ok(Loaded {
            file: path.to_owned(),
            at,
            rows: loaded.rows,
            tables: loaded.tables,
        })
    }

    async fn rehearse_one(
        &self,
        locked: &mut Locked<'_>,
        migration: &Migration,
        options: &RehearseOptions,
        keep: &BTreeSet<String>,
    ) -> Result<Rehearsed> {
        let owned = owned_tables(&self.set().config().table);
        let conn = &mut locked.session.conn;
        let unfilled = fill::fill(conn, options.rows, &owned, keep).await?;
        let before = observe::tables(conn, &owned).await?;
        let pid = locked.session.pid;
        let mut runner = locked.runner(self);
        // The monitor watches the locks here, not who blocks: nothing else uses this database.
        let monitor = runner.monitor.take().expect("checked before rehearsing");
        runner.replay = true;
        runner.before_commit = Some(observe::NOTE_LOCKS);
        let started = Instant::now();
        let (outcome, seen) = observe::locks_during(
            runner.each(&[Step::Apply(migration)], Some(1)),
            monitor,
            pid,
        )
        .await;
        let took = started.elapsed();
        let conn = &mut locked.session.conn;
        let seen = match seen {
            Ok(seen) => observe::with_noted(conn, seen).await?,
            Err(e) => return Err(e.into()),
        };
        let failure = match outcome {
            Ok(()) => None,
            Err(e) if e.kind() == ErrorKind::Failed => Some(e.lines().join("; ")),
            Err(e) => return Err(e),
        };
        let after = observe::tables(conn, &owned).await?;
        let rewrites = before
            .values()
            .filter_map(|old| {
                let new = after.get(&old.oid)?;
                (old.filenode.is_some() && new.filenode.is_some() && old.filenode != new.filenode)
                    .then(|| Rewrite {
                        table: old.name.clone(),
                        size_before: old.size,
                        size_after: new.size,
                    })
            })
            .collect();
        let mut locks: Vec<HeldLock> = seen
            .into_iter()
            .filter_map(|(oid, seen)| {
                Some(HeldLock {
                    table: before.get(&oid)?.name.clone(),
                    mode: seen.mode,
                    held: seen.held(),
                })
            })
            .collect();
        locks.sort_by(|a, b| b.mode.cmp(&a.mode).then(b.held.cmp(&a.held)));
        Ok(Rehearsed {
            label: migration.label(),
            file: self.set().path_of(&migration.up),
            markers: migrate_core::markers(&migration.up.sql, "rehearse"),
            took,
            unfilled,
            rewrites,
            locks,
            failure,
        })
    }
}

/// Refuses a database with any table, or a history table: rehearsing writes rows.
async fn refuse_unless_empty(session: &mut Session) -> Result<()> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
         ORDER BY 1 LIMIT 3",
    )
    .fetch_all(&mut session.conn)
    .await?;
    if tables.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Refused,
        format!(
            "rehearse writes generated rows into every table, and {} already has tables ({}): point it at a \
             new, empty database (`cargo xtask migrate-rehearse` makes one)",
            session.settings.redacted_url(),
            tables.join(", ")
        ),
    ))
}
