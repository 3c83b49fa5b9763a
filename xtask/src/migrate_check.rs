//! `migrate-check`: what must hold for every migration before it merges, proven on scratch
//! databases with the app's own `migrate`:
//!
//! - fresh: every migration applies to an empty database;
//! - round-trip: for each migration with a down file, up → down → up, and the schema after the
//!   down equals the schema before the up (a down that forgets an index is named);
//! - snapshot: `schema.sql` is the schema after every migration (`schema-dump` rewrites it);
//! - immutability: no migration that is on main has changed or disappeared;
//! - order: every migration this branch adds is newer than the newest on main (else
//!   `migrate up` would refuse it where main is deployed; `migrate-rebase` fixes it);
//! - baseline: a database loaded from `schema.sql`, then `migrate baseline`, needs no `up` and
//!   passes `verify`.

use std::path::Path;

use anyhow::bail;
use migrate_core::MigrationSet;
use pg_cluster::process;
use xshell::Shell;

use crate::{
    Source,
    db::{
        Server,
        schema::{self, catalog, diff},
        scratch::ScratchDb,
    },
    flags,
    git::{self, branch::Branch},
    migrate_bin,
};

const CHECKS: [&str; 6] = [
    "fresh",
    "round-trip",
    "snapshot",
    "immutability",
    "order",
    "baseline",
];

impl flags::MigrateCheck {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let source = Source::from_flag(self.source);
        let snapshot = self.schema.unwrap_or_else(schema::default_path);
        if let Some(only) = &self.only
            && !CHECKS.contains(&only.as_str())
        {
            bail!("--only {only:?}: the checks are {}", CHECKS.join(", "));
        }
        let wants = |check: &str| self.only.as_deref().is_none_or(|only| only == check);
        let db = Server::scratch()?;
        migrate_bin::build_app(sh)?;

        let mut failed = Vec::new();
        let mut report = |check: &str, outcome: anyhow::Result<String>| match outcome {
            Ok(detail) => eprintln!("migrate-check: {check:<12} ok{detail}"),
            Err(e) => {
                eprintln!(
                    "migrate-check: {check:<12} FAILED\n{}",
                    indent(&format!("{e:#}"))
                );
                failed.push(check.to_owned());
            }
        };
        if wants("fresh") || wants("snapshot") {
            let fresh = ScratchDb::create(&db, "fresh")?;
            match migrate_fresh(&fresh, &source) {
                Ok(()) => {
                    if wants("fresh") {
                        report("fresh", Ok(String::new()));
                    }
                    if wants("snapshot") {
                        report(
                            "snapshot",
                            compare_snapshot(&db, &fresh, &source, &snapshot),
                        );
                    }
                }
                Err(e) => report("fresh", Err(e)),
            }
        }
        if wants("round-trip") {
            report("round-trip", round_trip(&db, &source));
        }
        if wants("immutability") {
            report(
                "immutability",
                immutability(sh, &source.dir, self.against.as_deref()),
            );
        }
        if wants("order") {
            report("order", order(sh, &source.dir, self.against.as_deref()));
        }
        if wants("baseline") {
            report("baseline", baseline(&db, &source, &snapshot));
        }
        if !failed.is_empty() {
            bail!("migrate-check failed: {}", failed.join(", "));
        }
        Ok(())
    }
}

/// Applies everything to an empty database.
fn migrate_fresh(scratch: &ScratchDb<'_>, source: &Source) -> anyhow::Result<()> {
    process::check(
        migrate_bin::on(&scratch.url, source, &["up"])?,
        "migrate up on an empty database",
    )?;
    Ok(())
}

/// `schema.sql`, the schema wanted, against what the migrations give (`fresh`): loaded and
/// dumped, statement by statement, so that how the file is written does not matter.
fn compare_snapshot(
    db: &Server,
    fresh: &ScratchDb<'_>,
    source: &Source,
    snapshot: &Path,
) -> anyhow::Result<String> {
    let config = source.config()?;
    let declared = ScratchDb::create(db, "declared")?;
    schema::load(db, &declared.url, snapshot)?;
    let dump = |url| schema::compared(db, url, &config);
    let differences = schema::differences(&dump(&fresh.url)?, &dump(&declared.url)?);
    if differences.is_empty() {
        return Ok(String::new());
    }
    bail!(
        "{} and the migrations disagree:\n{}\nwrite the migration that gets there with `cargo xtask migrate-diff NAME`; \
         or, if the migrations are right, rewrite the file with `cargo xtask schema-dump`",
        snapshot.display(),
        indent(&differences.join("\n"))
    )
}

fn round_trip(db: &Server, source: &Source) -> anyhow::Result<String> {
    let scratch = ScratchDb::create(db, "roundtrip")?;
    let mut problems = Vec::new();
    let mut irreversible = Vec::new();
    let set = MigrationSet::from_dir(&source.dir, source.config()?)?;
    for migration in set.iter() {
        let label = migration.label();
        let before = catalog(db, &scratch.url, &set)?;
        let to = migration.version.to_string();
        process::check(
            migrate_bin::on(&scratch.url, source, &["up", "--to", &to])?,
            &format!("applying {label}"),
        )?;
        if migration.down.is_none() {
            irreversible.push(label);
            continue;
        }
        let down = migrate_bin::on(&scratch.url, source, &["down", "--allow-down"])?;
        if !down.status.success() {
            problems.push(format!(
                "{label}: its down failed:\n{}",
                indent(String::from_utf8_lossy(&down.stderr).trim_end())
            ));
        } else {
            let after = catalog(db, &scratch.url, &set)?;
            let difference = diff(&before, &after);
            if !difference.is_empty() {
                problems.push(format!(
                    "{label}: after its down the schema differs from before its up \
                     (- missing now, + left behind):\n{}",
                    indent(&difference.join("\n"))
                ));
            }
        }
        // Continue from the migrated state whatever the down did.
        let again = migrate_bin::on(&scratch.url, source, &["up", "--to", &to])?;
        if !again.status.success() && problems.is_empty() {
            problems.push(format!("{label}: applying it again after its down failed"));
        }
        if !again.status.success() {
            break;
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(if irreversible.is_empty() {
        String::new()
    } else {
        format!(" (irreversible, no down file: {})", irreversible.join(", "))
    })
}

fn immutability(sh: &Shell, source: &Path, against: Option<&str>) -> anyhow::Result<String> {
    let base = match git::base(sh, source, against)? {
        Ok(base) => base,
        Err(why) if against.is_none() => {
            return Ok(format!(
                " (skipped: {why}; deployed databases still catch edits by checksum)"
            ));
        }
        Err(why) => bail!("{why}"),
    };
    let touched: Vec<String> = git::changes(sh, &base)?
        .into_iter()
        .filter_map(|(status, path)| match status {
            'M' | 'T' => Some(format!(
                "{path} changed after it landed on {}",
                base.git_ref
            )),
            'D' => Some(format!(
                "{path} was deleted after it landed on {}",
                base.git_ref
            )),
            _ => None,
        })
        .collect();
    if !touched.is_empty() {
        bail!(
            "{}\nmigrations on {} may have run anywhere: restore them (git checkout {} -- <file>) and put \
             the change in a new migration (cargo xtask migrate-create NAME)",
            touched.join("\n"),
            base.git_ref,
            base.git_ref
        );
    }
    Ok(format!(" (against {})", base.git_ref))
}

fn order(sh: &Shell, source: &Path, against: Option<&str>) -> anyhow::Result<String> {
    let branch = match Branch::of(sh, source, against)? {
        Ok(branch) => branch,
        Err(why) if against.is_none() => return Ok(format!(" (skipped: {why})")),
        Err(why) => bail!("{why}"),
    };
    let (git_ref, dir) = (&branch.base.git_ref, &branch.base.dir);
    let late = branch.out_of_order();
    let Some((newest, newest_file)) = branch.newest_on_base.as_ref().filter(|_| !late.is_empty())
    else {
        return Ok(format!(" (against {git_ref})"));
    };
    let lines: Vec<String> = late
        .iter()
        .map(|added| {
            format!(
                "{dir}/{} is older than {dir}/{newest_file}, the newest migration on {git_ref}: where {git_ref} is \
                 deployed, migrate up would refuse it as out of order",
                added.files[0]
            )
        })
        .collect();
    bail!(
        "{}\nrun `cargo xtask migrate-rebase` to give this branch's migrations versions after {newest}",
        lines.join("\n")
    )
}

fn baseline(db: &Server, source: &Source, snapshot: &Path) -> anyhow::Result<String> {
    let scratch = ScratchDb::create(db, "baseline")?;
    schema::load(db, &scratch.url, snapshot)?;
    process::check(
        migrate_bin::on(&scratch.url, source, &["baseline"])?,
        "migrate baseline",
    )?;
    let up = process::check(
        migrate_bin::on(&scratch.url, source, &["up", "--dry-run"])?,
        "migrate up --dry-run",
    )?;
    let pending = String::from_utf8_lossy(&up.stdout);
    if !pending.trim().ends_with("nothing to do") {
        bail!(
            "after baselining from {}, migrate up would still run:\n{}",
            snapshot.display(),
            indent(pending.trim())
        );
    }
    process::check(
        migrate_bin::on(&scratch.url, source, &["verify"])?,
        "migrate verify",
    )?;
    Ok(String::new())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
