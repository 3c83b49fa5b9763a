//! What a rehearsal found, and which of it is a problem: a failure always; a rewritten table
//! or a long `ACCESS EXCLUSIVE` lock unless the migration accepts it, in its own text, with
//! `-- rehearse-ignore table-rewrite: <reason>` or `-- rehearse-ignore access-exclusive: <reason>`.

use std::{collections::BTreeSet, path::PathBuf, time::Duration};

use migrate_core::Marker;

use super::{LockMode, Unfilled, observe::SAMPLE_EVERY};

/// The marker rule that accepts a rewritten table.
pub const TABLE_REWRITE: &str = "table-rewrite";
/// The marker rule that accepts a long `ACCESS EXCLUSIVE` lock.
pub const ACCESS_EXCLUSIVE: &str = "access-exclusive";

/// A table a migration rewrote (it has a new relfilenode afterwards).
#[derive(Debug, Clone)]
pub struct Rewrite {
    /// The table, as `regclass` prints it.
    pub table: String,
    /// Bytes before (`pg_table_size`).
    pub size_before: i64,
    /// Bytes after.
    pub size_after: i64,
}

/// The strongest lock a migration held on a table that existed before it.
#[derive(Debug, Clone)]
pub struct HeldLock {
    /// The table, as `regclass` prints it.
    pub table: String,
    /// The strongest mode seen.
    pub mode: LockMode,
    /// How long it was seen held (a lower bound, within a few milliseconds).
    pub held: Duration,
}

/// The rows a data-only dump brought.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The dump.
    pub file: PathBuf,
    /// The newest migration its data was taken at; the rehearsal starts after it.
    pub at: i64,
    /// Rows loaded.
    pub rows: u64,
    /// The tables it filled, which generated rows leave alone.
    pub tables: BTreeSet<String>,
}

/// What one migration did to tables with rows.
#[derive(Debug, Clone)]
pub struct Rehearsed {
    /// `20261121120000_create_jobs`.
    pub label: String,
    /// Its up file, as messages name it.
    pub file: String,
    /// Its `-- rehearse-ignore` markers.
    pub markers: Vec<Marker>,
    /// How long it took to apply.
    pub took: Duration,
    /// Tables that could not be filled before it ran.
    pub unfilled: Vec<Unfilled>,
    /// Tables it rewrote.
    pub rewrites: Vec<Rewrite>,
    /// The strongest lock on each table that existed before it, strongest first.
    pub locks: Vec<HeldLock>,
    /// Its error, naming the file and line, when it failed.
    pub failure: Option<String>,
}

impl Rehearsed {
    fn accepts(&self, rule: &str) -> bool {
        self.markers
            .iter()
            .any(|m| m.has_reason() && m.rules.iter().any(|r| r == rule))
    }

    /// One line per problem: its failure, a rewrite or a lock held too long that no marker
    /// accepts, a marker without a known rule or a reason.
    pub fn problems(&self, max_exclusive: Duration) -> Vec<String> {
        let mut problems: Vec<String> = self.failure.iter().cloned().collect();
        for marker in &self.markers {
            let known = |r: &String| r == TABLE_REWRITE || r == ACCESS_EXCLUSIVE;
            if marker.rules.is_empty() || !marker.rules.iter().all(known) || !marker.has_reason() {
                problems.push(format!(
                    "{} line {}: write `-- rehearse-ignore {TABLE_REWRITE}: <reason>` or `-- rehearse-ignore \
                     {ACCESS_EXCLUSIVE}: <reason>` (the rule, then at least {} characters of reason)",
                    self.file,
                    marker.line,
                    migrate_core::markers::MIN_REASON
                ));
            }
        }
        if !self.accepts(TABLE_REWRITE) {
            problems.extend(self.rewrites.iter().map(|r| {
                format!(
                    "{} rewrites {} ({}): every row is copied while all queries on it wait; change it without a \
                     rewrite (a nullable column, a constant default, a new column filled in batches), or accept it \
                     with `-- rehearse-ignore {TABLE_REWRITE}: <reason>`",
                    self.file,
                    r.table,
                    size(r.size_before)
                )
            }));
        }
        if !self.accepts(ACCESS_EXCLUSIVE) {
            problems.extend(self.long_exclusive(max_exclusive).map(|l| {
                format!(
                    "{} holds ACCESS EXCLUSIVE on {} for {} ms (more than {} ms): every query on it waits that \
                     long; move the slow work out of the transaction that takes the lock, or accept it with \
                     `-- rehearse-ignore {ACCESS_EXCLUSIVE}: <reason>`",
                    self.file,
                    l.table,
                    l.held.as_millis(),
                    max_exclusive.as_millis()
                )
            }));
        }
        problems
    }

    fn long_exclusive(&self, max: Duration) -> impl Iterator<Item = &HeldLock> {
        self.locks
            .iter()
            .filter(move |l| l.mode == LockMode::AccessExclusive && l.held > max)
    }

    /// The report: a line with its duration, then one per finding, indented.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!("{}  {:.1?}", self.label, self.took)];
        lines.extend(self.unfilled.iter().map(|u| {
            format!(
                "  could not fill {} (it stayed as it was): {}",
                u.table, u.reason
            )
        }));
        lines.extend(self.rewrites.iter().map(|r| {
            format!(
                "  rewrote {}: {} -> {}",
                r.table,
                size(r.size_before),
                size(r.size_after)
            )
        }));
        lines.extend(self.locks.iter().map(|l| {
            let brief = 2 * SAMPLE_EVERY;
            match l.held < brief {
                true => format!(
                    "  {} on {}, held briefly (under {} ms)",
                    l.mode,
                    l.table,
                    brief.as_millis()
                ),
                false => format!(
                    "  {} on {}, held {} ms",
                    l.mode,
                    l.table,
                    l.held.as_millis()
                ),
            }
        }));
        lines.extend(self.failure.iter().map(|f| format!("  FAILED: {f}")));
        lines
    }
}

/// What a rehearsal did, migration by migration.
#[derive(Debug, Clone, Default)]
pub struct Rehearsal {
    /// Generated rows per table.
    pub rows: u64,
    /// The longest `ACCESS EXCLUSIVE` lock that is not a problem.
    pub max_exclusive: Duration,
    /// The dump loaded before, if any.
    pub loaded: Option<Loaded>,
    /// The migrations rehearsed, in order; the last one failed if any did.
    pub migrations: Vec<Rehearsed>,
    /// Migrations after a failure, not rehearsed.
    pub not_rehearsed: usize,
}

impl Rehearsal {
    /// Every problem, one line each; none means the rehearsal passed.
    pub fn problems(&self) -> Vec<String> {
        self.migrations
            .iter()
            .flat_map(|m| m.problems(self.max_exclusive))
            .collect()
    }

    /// One line: how many were rehearsed, on what, and what was found.
    pub fn summary(&self) -> String {
        let on = match &self.loaded {
            Some(l) => format!(
                "{} rows from {} and {} generated rows per new table",
                l.rows,
                l.file.display(),
                self.rows
            ),
            None => format!("{} generated rows per table", self.rows),
        };
        let count = |f: fn(&Rehearsed) -> usize| self.migrations.iter().map(f).sum::<usize>();
        let mut summary = format!(
            "rehearsed {} migration(s) on {on}: {} failed, {} table rewrite(s), {} ACCESS EXCLUSIVE lock(s) over {} ms, \
             {} table(s) not filled",
            self.migrations.len(),
            count(|m| usize::from(m.failure.is_some())),
            count(|m| m.rewrites.len()),
            self.migrations
                .iter()
                .map(|m| m.long_exclusive(self.max_exclusive).count())
                .sum::<usize>(),
            self.max_exclusive.as_millis(),
            self.migrations
                .iter()
                .flat_map(|m| &m.unfilled)
                .map(|u| &u.table)
                .collect::<BTreeSet<_>>()
                .len(),
        );
        if self.not_rehearsed > 0 {
            summary += &format!("; {} after the failure not rehearsed", self.not_rehearsed);
        }
        summary
    }
}

/// Bytes as `pg_size_pretty` would say them.
fn size(bytes: i64) -> String {
    let mut value = bytes as f64;
    for unit in ["bytes", "kB", "MB", "GB"] {
        if value < 10240.0 {
            return format!("{value:.0} {unit}");
        }
        value /= 1024.0;
    }
    format!("{value:.0} TB")
}
