//! `cargo xtask bench`: how `migrate` behaves with many migrations and a busy database,
//! measured side by side with baselines in the same run, on scratch databases. Prints the
//! tables and writes them, with the machine and the commands, to BENCHMARKS.md.

mod apply;
mod diff;
mod fleet;
mod herd;
mod proxy;
mod report;
mod slow_link;
mod test_setup;
mod traffic;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};
use chrono::Utc;
use pg_cluster::process;
use xshell::{Shell, cmd};

use crate::{
    db::{Server, scratch::ScratchDb, url::PgUrl},
    flags, migrate_bin, project_root, target_dir,
};

const SQLX_CLI_VERSION: &str = "0.9.0";
const FIGURES: [&str; 7] = [
    "apply",
    "slow-link",
    "herd",
    "traffic",
    "test-setup",
    "diff",
    "fleet",
];

/// What every figure needs.
pub struct Ctx<'a> {
    pub db: &'a Server,
    /// Runs per measurement (some figures use fewer); the median is reported.
    pub runs: usize,
    /// `target/bench/`: generated migrations, logs.
    pub work: PathBuf,
}

impl<'a> Ctx<'a> {
    pub fn scratch(&self, purpose: &str) -> anyhow::Result<ScratchDb<'a>> {
        ScratchDb::create(self.db, purpose)
    }

    pub fn release_binary(&self, name: &str) -> PathBuf {
        migrate_bin::app_binary("release", name)
    }

    /// The release `migrate --source DIR ARGS` on `url`.
    pub fn migrate(&self, dir: &Path, url: &PgUrl, args: &[&str]) -> Command {
        migrate_bin::command("release", url, Some(dir), args)
    }

    /// psql on `url`, reading its script from stdin.
    pub fn psql(&self, url: &PgUrl) -> Command {
        let mut command = self.db.psql(url);
        command.args(["-f", "-"]);
        command
    }

    /// psql as the admin, in the maintenance database.
    pub fn admin_psql(&self) -> Command {
        self.psql(&self.db.admin.with_database("postgres"))
    }

    pub fn sqlx_cli(&self) -> PathBuf {
        target_dir()
            .join("tools")
            .join(format!("sqlx-cli-{SQLX_CLI_VERSION}"))
            .join("bin")
            .join("sqlx")
    }

    /// `count` one-table migrations (with down files) under `target/bench/`, made once.
    pub fn generated_migrations(&self, count: usize) -> anyhow::Result<PathBuf> {
        let dir = self.work.join(format!("migrations-{count}"));
        let done = dir.join(".complete");
        if done.exists() {
            return Ok(dir);
        }
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        for i in 1..=count {
            let stem = format!("{i:05}_create_bench_{i}");
            fs::write(
                dir.join(format!("{stem}.up.sql")),
                format!(
                    "CREATE TABLE bench_{i} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n"
                ),
            )?;
            fs::write(
                dir.join(format!("{stem}.down.sql")),
                format!("DROP TABLE bench_{i};\n"),
            )?;
        }
        fs::write(done, "")?;
        Ok(dir)
    }
}

impl flags::Bench {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let sizes: Vec<usize> = match &self.sizes {
            Some(list) => list
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse()
                        .with_context(|| format!("--sizes: {s:?} is not a number"))
                })
                .collect::<anyhow::Result<_>>()?,
            None => vec![100, 1000, 10_000],
        };
        let only: Vec<String> = self.only.as_deref().map_or_else(
            || FIGURES.map(String::from).to_vec(),
            |o| o.split(',').map(|s| s.trim().to_owned()).collect(),
        );
        if let Some(unknown) = only.iter().find(|f| !FIGURES.contains(&f.as_str())) {
            bail!("--only {unknown:?}: the figures are {}", FIGURES.join(", "));
        }
        let runs = self.runs.unwrap_or(5).max(1) as usize;
        let db = Server::bench()?;
        process::run(cmd!(
            sh,
            "cargo build --release --package app --bins --example sqlx_migrator"
        ))?;
        if self.with_sqlx_cli {
            install_sqlx_cli(sh)?;
        }
        let ctx = Ctx {
            db: &db,
            runs,
            work: target_dir().join("bench"),
        };
        fs::create_dir_all(&ctx.work)?;

        let mut sections = Vec::new();
        if only.iter().any(|f| f == "apply") {
            sections.extend(apply::run(&ctx, &sizes, self.with_sqlx_cli)?);
        }
        if only.iter().any(|f| f == "slow-link") {
            let fast = Server::scratch()?;
            sections.extend(slow_link::run(&ctx, &fast, self.with_sqlx_cli)?);
        }
        if only.iter().any(|f| f == "herd") {
            sections.push(herd::run(&ctx)?);
        }
        if only.iter().any(|f| f == "traffic") {
            sections.push(traffic::run(&ctx)?);
        }
        if only.iter().any(|f| f == "test-setup") {
            sections.push(test_setup::run(&ctx)?);
        }
        if only.iter().any(|f| f == "diff") {
            sections.push(diff::run(&ctx, sh)?);
        }
        if only.iter().any(|f| f == "fleet") {
            sections.push(fleet::run(&ctx, self.with_sqlx_cli)?);
        }

        let body: String = sections
            .iter()
            .map(|s| format!("{}\n", s.markdown()))
            .collect();
        println!("\n{body}");
        let mut reproduce = String::from("cargo xtask bench");
        for (flag, value) in [
            ("--sizes", self.sizes.as_deref()),
            ("--only", self.only.as_deref()),
        ] {
            if let Some(value) = value {
                reproduce += &format!(" {flag} {value}");
            }
        }
        if let Some(runs) = self.runs {
            reproduce += &format!(" --runs {runs}");
        }
        if self.with_sqlx_cli {
            reproduce += " --with-sqlx-cli";
        }
        let page = format!(
            "# Benchmarks\n\nWritten by `cargo xtask bench`; every figure was measured in the same run as its \
             baselines, on scratch databases, with release builds. Nothing is cached between runs.\n\n\
             ## Machine\n\n{}\n## Reproduce\n\n```sh\n{reproduce}\n```\n\n## Results\n\n{body}",
            machine(sh, &db)?
        );
        // A partial run leaves the committed page whole.
        let page_path = if only.len() == FIGURES.len() {
            project_root().join("BENCHMARKS.md")
        } else {
            ctx.work.join("BENCHMARKS.md")
        };
        fs::write(&page_path, page)?;
        eprintln!("wrote {}", page_path.display());
        Ok(())
    }
}

/// sqlx-cli, at the workspace's sqlx version, into `target/tools/` (several minutes, once).
fn install_sqlx_cli(sh: &Shell) -> anyhow::Result<()> {
    let root = target_dir()
        .join("tools")
        .join(format!("sqlx-cli-{SQLX_CLI_VERSION}"));
    if root.join("bin").join("sqlx").exists() {
        return Ok(());
    }
    process::run(cmd!(
        sh,
        "cargo install sqlx-cli --version {SQLX_CLI_VERSION} --locked --no-default-features --features rustls,postgres --root {root}"
    ))?;
    Ok(())
}

/// The machine, as BENCHMARKS.md describes it.
fn machine(sh: &Shell, db: &Server) -> anyhow::Result<String> {
    let first_line_with = |path: &str, key: &str| {
        fs::read_to_string(path)
            .ok()
            .and_then(|text| {
                text.lines().find(|l| l.starts_with(key)).map(|l| {
                    l.split_once([':', '='])
                        .map_or(l, |(_, v)| v)
                        .trim()
                        .trim_matches('"')
                        .to_owned()
                })
            })
            .unwrap_or_else(|| "unknown".into())
    };
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let postgres = db.admin_sql("SHOW server_version")?;
    let durability = db.admin_sql(
        "SELECT string_agg(name || ' = ' || setting, ', ' ORDER BY name) FROM pg_settings \
         WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')",
    )?;
    let rustc = process::read(cmd!(sh, "rustc --version")).unwrap_or_default();
    let commit =
        process::read(cmd!(sh, "git rev-parse --short HEAD")).unwrap_or_else(|_| "unknown".into());
    Ok(format!(
        "- date: {}, commit {}\n- CPU: {} ({cores} cores)\n- memory: {}\n- OS: {}\n\
         - PostgreSQL {} (`cargo xtask` database: {}; {})\n- {}\n",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        commit.trim(),
        first_line_with("/proc/cpuinfo", "model name"),
        first_line_with("/proc/meminfo", "MemTotal"),
        first_line_with("/etc/os-release", "PRETTY_NAME"),
        postgres.trim(),
        db.admin.redacted(),
        durability.trim(),
        rustc.trim(),
    ))
}
