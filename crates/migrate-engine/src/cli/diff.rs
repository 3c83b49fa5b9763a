//! `migrate diff`: the migration from one database's schema to another's, planned from their
//! catalogs (`migrate-diff`), reading both and changing neither. Printed, or written as
//! migration files with `--out`. Also drift detection: from production to a scratch database
//! built from the migrations, it shows what someone changed by hand.

use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Args;
use migrate_core::{FileName, MigrationSet, history::owned_tables, version};
use migrate_diff::{MigrationFile, Options, Rename};
use sqlx::{Connection, PgConnection};

use crate::{
    error::{Error, ErrorKind, Result},
    settings::DatabaseSettings,
};

/// `migrate diff`'s arguments.
#[derive(Debug, Args)]
pub(super) struct DiffArgs {
    /// The database as it is (e.g. a scratch database built by the migrations).
    #[arg(
        long,
        env = "MIGRATE_DIFF_FROM",
        value_name = "URL",
        hide_env_values = true
    )]
    from: String,
    /// The database as it should be (e.g. a scratch database loaded from schema.sql).
    #[arg(
        long,
        env = "MIGRATE_DIFF_TO",
        value_name = "URL",
        hide_env_values = true
    )]
    to: String,
    /// Write the migration files into DIR instead of printing them.
    #[arg(long, value_name = "DIR", requires = "name")]
    out: Option<PathBuf>,
    /// snake_case name of the migrations written (with --out).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The first version to write (default: the UTC time, newer than every file in DIR).
    #[arg(long, value_name = "VERSION")]
    version: Option<i64>,
    /// OLD=NEW: a table (`public.jobs=tasks`) or column (`public.jobs.last_error=error_message`)
    /// that is renamed, not dropped and added.
    #[arg(long = "rename", value_name = "OLD=NEW")]
    renames: Vec<String>,
    /// Let the plan drop tables, columns, types, functions and sequences.
    #[arg(long)]
    allow_drop: bool,
}

impl DiffArgs {
    pub async fn run(&self, set: &MigrationSet) -> Result<()> {
        let renames = self
            .renames
            .iter()
            .map(|r| Rename::parse(r))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::new(ErrorKind::Config, e))?;
        let exclude: Vec<String> = owned_tables(&set.config().table).to_vec();
        let from = catalog("--from", &self.from, &exclude).await?;
        let to = catalog("--to", &self.to, &exclude).await?;
        let options = Options {
            renames,
            allow_drop: self.allow_drop,
        };
        let changes = migrate_diff::plan(&from, &to, &options)
            .map_err(|lines| Error::with_lines(ErrorKind::Refused, with_end(lines)))?;
        if changes.is_empty() {
            println!("no difference: nothing to write");
            return Ok(());
        }
        let name = self.name.as_deref().unwrap_or("schema_change");
        let first = match (&self.out, self.version) {
            (_, Some(version)) => version,
            (Some(dir), None) => first_version(dir)?,
            (None, None) => version::utc(Utc::now()),
        };
        let files = migrate_diff::render(&changes, name, first);
        match &self.out {
            Some(dir) => write(dir, &files),
            None => {
                for file in &files {
                    println!("-- {}\n{}", file.up_file(), file.up);
                    if let Some(down) = &file.down {
                        println!("-- {}\n{down}", file.down_file());
                    }
                }
                Ok(())
            }
        }
    }
}

fn with_end(mut lines: Vec<String>) -> Vec<String> {
    lines.push("nothing was written".to_owned());
    lines
}

async fn catalog(
    flag: &'static str,
    url: &str,
    exclude: &[String],
) -> Result<migrate_diff::Catalog> {
    let settings = DatabaseSettings::parse(flag, url)?;
    let mut conn = PgConnection::connect_with(&settings.connect_options("migrate diff"))
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Connect,
                settings.redact(&format!(
                    "{flag}: cannot connect to {}: {e}",
                    settings.redacted_url()
                )),
            )
        })?;
    let catalog = migrate_diff::read(&mut conn, exclude).await?;
    let _ = conn.close().await;
    Ok(catalog)
}

/// The UTC time, or a second after the newest version in `dir`, whichever is later.
fn first_version(dir: &Path) -> Result<i64> {
    let newest = std::fs::read_dir(dir)
        .map_err(|e| Error::new(ErrorKind::Config, format!("--out {}: {e}", dir.display())))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            FileName::parse(&e.file_name().to_string_lossy())
                .ok()
                .flatten()
        })
        .map(|f| f.version)
        .max();
    let now = version::utc(Utc::now());
    Ok(match newest {
        Some(newest) if newest >= now => version::after(newest, 1),
        _ => now,
    })
}

/// Writes the files, refusing to overwrite any.
fn write(dir: &Path, files: &[MigrationFile]) -> Result<()> {
    for file in files {
        let mut pairs = vec![(file.up_file(), &file.up)];
        if let Some(down) = &file.down {
            pairs.push((file.down_file(), down));
        }
        for (name, text) in pairs {
            let path = dir.join(&name);
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Config,
                        format!("cannot write {}: {e}", path.display()),
                    )
                })?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
