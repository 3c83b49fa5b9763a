//! `migrate-rebase`: gives the migrations this branch adds (up and down together, in their
//! order) fresh versions newer than every migration on the base ref, so that they run after
//! what main has deployed. Files are renamed, never rewritten (contents and checksums stay
//! byte-identical); migrations on the base ref are never touched. A migration the development
//! database has recorded would be orphaned there by its new version, so that is refused until
//! it is reverted. The schema snapshot is rewritten: the order of migrations can show in it
//! (the order of columns two branches add to one table).

use std::{collections::BTreeSet, fs};

use anyhow::{Context, bail};
use chrono::Utc;
use pg_cluster::process;
use xshell::Shell;

use crate::{
    Source,
    db::{DevDatabase, schema},
    flags,
    git::branch::{Added, Branch},
    migrate_bin,
    migrate_create::next_version,
};

impl flags::MigrateRebase {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let default_snapshot = self.source.is_none().then(schema::default_path);
        let snapshot = self.schema.or(default_snapshot);
        let source = Source::from_flag(self.source);
        let branch = Branch::of(sh, &source.dir, self.against.as_deref())?
            .map_err(|why| anyhow::anyhow!("{why}: nothing to rebase onto"))?;
        let git_ref = &branch.base.git_ref;
        if branch.out_of_order().is_empty() {
            eprintln!(
                "nothing to rebase: every migration this branch adds is newer than those on {git_ref}"
            );
            return Ok(());
        }
        refuse_recorded(sh, &source, &branch.added)?;

        let versioning = source.config()?.defaults.migration_versioning;
        let now = Utc::now();
        let mut taken: BTreeSet<i64> = branch.base_versions.iter().copied().collect();
        let mut renames = Vec::new();
        for added in &branch.added {
            let newest: Vec<i64> = taken.iter().rev().take(2).copied().collect();
            let version = next_version(&newest, versioning, now);
            taken.insert(version.number);
            for file in &added.files {
                let (_, rest) = file
                    .split_once('_')
                    .expect("a migration file name has a `_`");
                renames.push((file.clone(), format!("{version}_{rest}")));
            }
        }
        for (old, new) in &renames {
            let target = source.dir.join(new);
            if target.exists() {
                bail!(
                    "{} exists already; nothing more was renamed",
                    target.display()
                );
            }
            fs::rename(source.dir.join(old), &target)
                .with_context(|| format!("cannot rename {old} to {new}"))?;
            println!("renamed {old} -> {new}");
        }
        if let Some(snapshot) = snapshot.filter(|s| s.exists()) {
            flags::SchemaDump {
                source: Some(source.dir.clone()),
                schema: Some(snapshot),
            }
            .run(sh)?;
        }
        eprintln!(
            "this branch's migrations now follow those on {git_ref}; commit the renamed files"
        );
        Ok(())
    }
}

/// Refuses when the development database has recorded one of `added`: under a new version it
/// would look missing there, and the new one pending.
fn refuse_recorded(sh: &Shell, source: &Source, added: &[Added]) -> anyhow::Result<()> {
    let db = DevDatabase::ensure()?;
    migrate_bin::build_app(sh)?;
    let mut status = migrate_bin::command(
        "debug",
        &db.migrator,
        Some(&source.dir),
        &["status", "--json"],
    );
    if let Some(config) = &source.config {
        status.arg("--config").arg(config);
    }
    status.env("RUST_LOG", "warn");
    let output = process::check(
        process::output(status)?,
        "migrate status on the development database",
    )?;
    let status: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("reading migrate status --json")?;
    let recorded: Vec<i64> = status["migrations"]
        .as_array()
        .context("migrate status --json lists no migrations")?
        .iter()
        .filter(|e| e["state"] != "pending")
        .filter_map(|e| e["version"].as_i64())
        .collect();
    let Some(first) = added.iter().find(|a| recorded.contains(&a.version)) else {
        return Ok(());
    };
    let before = recorded
        .iter()
        .copied()
        .filter(|&v| v < first.version)
        .max();
    let down = before.map_or_else(|| "--all".to_owned(), |v| format!("--to {v}"));
    bail!(
        "{} is recorded in the development database ({}): revert it first with `cargo xtask migrate-down {down}`, \
         then run migrate-rebase again; nothing was renamed",
        first.files[0],
        db.migrator.redacted()
    )
}
