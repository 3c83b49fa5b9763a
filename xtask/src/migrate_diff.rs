//! `cargo xtask migrate-diff NAME`: autogenerate, from `schema.sql`, the migration that gets the
//! migrations there, and prove it before keeping it.
//!
//! 1. Two scratch databases: one built by the migrations (`migrate up`), one from `schema.sql`.
//! 2. `migrate diff` plans the change between their catalogs and writes the files into
//!    `target/migrate-diff/new/` (one for new enum values, one per index built or dropped
//!    concurrently, the change, one validating what was added `NOT VALID`).
//! 3. The proof, before anything is kept: the migrations with the new files give exactly the
//!    schema `schema.sql` gives (their dumps, statement by statement, grants and comments
//!    included); their down files take it back to the dump from before; a second plan finds
//!    nothing left to do. A failed step writes nothing and names each object that differs.
//! 4. The new migrations are rehearsed on rows (`migrate rehearse`) and linted (squawk): those
//!    findings are about data and are reported, not refused.
//! 5. The files go into `migrations/`, and `schema.sql` is rewritten as the database prints it.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};
use chrono::Utc;
use migrate_core::{FileName, MigrationSet, name::check_new_name};
use pg_cluster::process;
use xshell::Shell;

use crate::{
    Source,
    db::{Server, schema, scratch::ScratchDb, url::PgUrl},
    flags, migrate_bin,
    migrate_create::next_version,
    migrate_lint, target_dir,
};

impl flags::MigrateDiff {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        check_new_name(&self.name).map_err(anyhow::Error::msg)?;
        let source = Source::from_flag(self.source.clone());
        let declared = self.schema.clone().unwrap_or_else(schema::default_path);
        let config = source.config()?;
        let set = MigrationSet::from_dir(&source.dir, config.clone())?;
        let db = Server::scratch()?;
        migrate_bin::build_app(sh)?;

        let current = ScratchDb::create(&db, "diff_from")?;
        process::check(
            migrate_bin::on(&current.url, &source, &["up"])?,
            "migrate up",
        )?;
        let wanted = ScratchDb::create(&db, "diff_to")?;
        schema::load(&db, &wanted.url, &declared)?;

        // A directory of this run's own: several may run at once (tests do).
        let work = target_dir()
            .join("migrate-diff")
            .join(std::process::id().to_string());
        let _ = fs::remove_dir_all(&work);
        let new_dir = work.join("new");
        fs::create_dir_all(&new_dir)?;
        let newest: Vec<i64> = set.iter().rev().take(2).map(|m| m.version).collect();
        let first = next_version(&newest, config.defaults.migration_versioning, Utc::now());
        let mut args = vec![
            "diff".to_owned(),
            "--out".to_owned(),
            new_dir.display().to_string(),
            "--name".to_owned(),
            self.name.clone(),
            "--version".to_owned(),
            first.number.to_string(),
        ];
        for rename in &self.rename {
            args.extend(["--rename".to_owned(), rename.clone()]);
        }
        if self.allow_drop {
            args.push("--allow-drop".to_owned());
        }
        let run = Run {
            sh,
            source: &source,
            declared: &declared,
            db: &db,
            current: &current,
            wanted: &wanted,
            work: &work,
        };
        let outcome = run.generate(&args, self.source.clone());
        let _ = fs::remove_dir_all(&work);
        outcome
    }
}

/// One run of the command: what it reads, where it works, its scratch databases.
struct Run<'a> {
    sh: &'a Shell,
    source: &'a Source,
    declared: &'a Path,
    db: &'a Server,
    current: &'a ScratchDb<'a>,
    wanted: &'a ScratchDb<'a>,
    work: &'a Path,
}

impl Run<'_> {
    /// Steps 2 to 5 of the module documentation; `migrations` is the `--source` flag.
    fn generate(&self, args: &[String], migrations: Option<PathBuf>) -> anyhow::Result<()> {
        let Run {
            sh,
            source,
            declared,
            db,
            current,
            wanted,
            work,
        } = *self;
        let new_dir = work.join("new");
        let planned = diff(source, &current.url, &wanted.url, args)?;
        if planned.contains("no difference") {
            eprintln!(
                "migrate-diff: {} and the migrations agree: nothing to write",
                declared.display()
            );
            return Ok(());
        }
        let new_files = files_in(&new_dir)?;
        let all = work.join("all");
        copy_dir(&source.dir, &all)?;
        copy_dir(&new_dir, &all)?;
        let combined = Source {
            dir: all,
            config: source.config.clone(),
        };

        let irreversible = prove(db, &combined, current, wanted, &new_files)?;

        let rehearsal = ScratchDb::create(db, "diff_rehearse")?;
        let rehearsed = migrate_bin::on(&rehearsal.url, &combined, &["rehearse", "--rows", "100"])?;
        let lint_paths: Vec<PathBuf> = new_files.iter().map(|f| combined.dir.join(f)).collect();
        let lint = migrate_lint::lint_files(sh, &combined, &lint_paths)?;

        for file in &new_files {
            fs::copy(new_dir.join(file), source.dir.join(file))
                .with_context(|| format!("cannot write {}", source.dir.join(file).display()))?;
            eprintln!("wrote {}", source.dir.join(file).display());
        }
        flags::SchemaDump {
            source: migrations,
            schema: Some(declared.to_owned()),
        }
        .run(sh)?;
        for note in irreversible {
            eprintln!("migrate-diff: note: {note}");
        }
        if !rehearsed.status.success() {
            eprintln!(
                "migrate-diff: the rehearsal on rows found this (about data, not the plan):\n{}",
                String::from_utf8_lossy(&rehearsed.stderr).trim_end()
            );
        }
        for finding in &lint {
            eprintln!("migrate-diff: lint: {finding}");
        }
        eprintln!(
            "migrate-diff: {} file(s) written and proven: the migrations now give {}",
            new_files.len(),
            declared.display()
        );
        Ok(())
    }
}

/// `migrate ARGS` (a `diff`) from `from` to `to`; what it printed. Refusals fail, one line each.
fn diff(source: &Source, from: &PgUrl, to: &PgUrl, args: &[String]) -> anyhow::Result<String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command: Command = migrate_bin::on_source(from, source, &args);
    command
        .env("MIGRATE_DIFF_FROM", from.to_string())
        .env("MIGRATE_DIFF_TO", to.to_string())
        .env("RUST_LOG", "warn");
    let output = process::output(command)?;
    let said = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let errors: Vec<&str> = said
            .lines()
            .filter_map(|l| l.strip_prefix("error: "))
            .collect();
        bail!("migrate-diff: nothing was written:\n{}", errors.join("\n"));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The proof (module documentation, step 3); returns what cannot be undone, and why.
fn prove(
    db: &Server,
    combined: &Source,
    current: &ScratchDb<'_>,
    wanted: &ScratchDb<'_>,
    new_files: &[String],
) -> anyhow::Result<Vec<String>> {
    let config = combined.config()?;
    let dump = |url: &PgUrl| schema::compared(db, url, &config);
    let after = ScratchDb::create(db, "diff_after")?;
    process::check(
        migrate_bin::on(&after.url, combined, &["up"])?,
        "migrate up with the new files",
    )?;
    let differences = schema::differences(&dump(&after.url)?, &dump(&wanted.url)?);
    if !differences.is_empty() {
        bail!(
            "migrate-diff: nothing was written: the planned migrations do not give what schema.sql declares; \
             write these by hand:\n{}",
            differences.join("\n")
        );
    }
    let again = diff(combined, &after.url, &wanted.url, &["diff".to_owned()])?;
    if !again.contains("no difference") {
        bail!("migrate-diff: nothing was written: a second plan still finds work:\n{again}");
    }

    // Down: the newest files that can be undone, undone, give the dump before them.
    let ups: Vec<&String> = new_files
        .iter()
        .filter(|f| f.ends_with(".up.sql"))
        .collect();
    let has_down = |up: &str| {
        new_files
            .iter()
            .any(|f| *f == up.replace(".up.sql", ".down.sql"))
    };
    let undoable = ups.iter().rev().take_while(|up| has_down(up)).count();
    let mut notes: Vec<String> = ups
        .iter()
        .filter(|up| !has_down(up))
        .map(|up| format!("{up} has no down file: its header says why"))
        .collect();
    if undoable > 0 {
        process::check(
            migrate_bin::on(
                &after.url,
                combined,
                &["down", "--allow-down", "--steps", &undoable.to_string()],
            )?,
            "migrate down of the new files",
        )?;
        let before = if undoable == ups.len() {
            dump(&current.url)?
        } else {
            let kept = ups[ups.len() - undoable - 1];
            let version = FileName::parse(kept)
                .ok()
                .flatten()
                .map(|f| f.version.to_string())
                .unwrap_or_default();
            let partial = ScratchDb::create(db, "diff_partial")?;
            process::check(
                migrate_bin::on(&partial.url, combined, &["up", "--to", &version])?,
                "migrate up to the last file that cannot be undone",
            )?;
            notes.push(format!("the down files were proven back to {kept}"));
            dump(&partial.url)?
        };
        let differences = schema::differences(&dump(&after.url)?, &before);
        if !differences.is_empty() {
            bail!(
                "migrate-diff: nothing was written: the down files do not give the schema from before:\n{}",
                differences.join("\n")
            );
        }
    }
    Ok(notes)
}

fn files_in(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut files: Vec<String> = fs::read_dir(dir)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<anyhow::Result<_>>()?;
    files.sort();
    Ok(files)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}
