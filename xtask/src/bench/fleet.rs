//! Figure 7: a fleet of 100 databases with the project's migrations. `migrate fleet up
//! --parallel 8` against a shell-style loop of `migrate up` per database (and sqlx-cli's loop),
//! on new databases, then again once they are up to date. The goal: at most 0.3× the loop.

use std::{fs, process::Command};

use migrate_core::quote::ident;
use pg_cluster::process;

use super::{
    Ctx,
    apply::time,
    report::{Section, median, ratio, show_ms},
};
use crate::{db::url::PgUrl, project_root};

const DATABASES: usize = 100;
const PARALLEL: &str = "8";
const GOAL: f64 = 0.3;

/// How one tool migrates the whole fleet.
enum Way {
    /// One `migrate fleet up` for all of them.
    Fleet,
    /// One process per database, one after the other.
    Loop(fn(&Ctx<'_>, &PgUrl) -> Command),
}

pub fn run(ctx: &Ctx<'_>, with_sqlx_cli: bool) -> anyhow::Result<Section> {
    let migrations = project_root().join("migrations");
    let mut ways: Vec<(&str, Way)> = vec![
        (
            "loop of `migrate up`",
            Way::Loop(|ctx, url| ctx.migrate(&project_root().join("migrations"), url, &["up"])),
        ),
        ("migrate fleet up --parallel 8", Way::Fleet),
    ];
    if with_sqlx_cli {
        ways.push((
            "loop of `sqlx migrate run`",
            Way::Loop(|ctx, url| {
                let mut command = Command::new(ctx.sqlx_cli());
                command
                    .args(["migrate", "run", "--source"])
                    .arg(project_root().join("migrations"))
                    .env("DATABASE_URL", url.to_string());
                command
            }),
        ));
    }
    let runs = ctx.runs.min(3);
    let mut section = Section::new(
        format!("Fleet: the project's migrations on {DATABASES} databases"),
        &[
            "tool",
            "new databases",
            "vs the loop",
            "all up to date",
            "vs the loop",
        ],
    );
    let mut baseline: Option<(f64, f64)> = None;
    for (name, way) in &ways {
        let (mut fresh, mut again) = (Vec::new(), Vec::new());
        for run in 0..runs {
            eprintln!("bench: fleet, {name}, run {}", run + 1);
            let names: Vec<String> = (0..DATABASES).map(|i| format!("bench_fleet_{i}")).collect();
            databases(ctx, &names, "DROP DATABASE IF EXISTS {} WITH (FORCE)")?;
            databases(ctx, &names, "CREATE DATABASE {}")?;
            let urls: Vec<PgUrl> = names
                .iter()
                .map(|n| ctx.db.admin.with_database(n))
                .collect();
            let targets = ctx.work.join("fleet-targets.txt");
            fs::write(
                &targets,
                urls.iter().map(|u| format!("{u}\n")).collect::<String>(),
            )?;
            for times in [&mut fresh, &mut again] {
                times.push(match way {
                    Way::Fleet => {
                        let mut command = ctx.migrate(
                            &migrations,
                            &ctx.db.admin,
                            &["fleet", "up", "--parallel", PARALLEL, "--targets"],
                        );
                        command.arg(&targets);
                        time(command, None)?
                    }
                    Way::Loop(command) => {
                        let mut total = 0.0;
                        for url in &urls {
                            total += time(command(ctx, url), None)?;
                        }
                        total
                    }
                });
            }
            databases(ctx, &names, "DROP DATABASE IF EXISTS {} WITH (FORCE)")?;
        }
        let (fresh, again) = (median(&fresh), median(&again));
        let (base_fresh, base_again) = *baseline.get_or_insert((fresh, again));
        section.row(vec![
            (*name).to_owned(),
            show_ms(fresh),
            ratio(fresh, base_fresh),
            show_ms(again),
            ratio(again, base_again),
        ]);
        if matches!(way, Way::Fleet) {
            section.note(format!(
                "Goal: `migrate fleet` at most {GOAL}× the loop on new databases: {} ({:.2}×).",
                if fresh / base_fresh <= GOAL {
                    "met"
                } else {
                    "NOT met"
                },
                fresh / base_fresh
            ));
        }
    }
    section.note(format!(
        "Medians of {runs} runs. Each run creates {DATABASES} empty databases, times the tool on them, then \
         times it again on the same databases, now up to date (where `migrate fleet` reads each history \
         once and takes no lock); the loops are the sum of one process per database."
    ));
    Ok(section)
}

/// `statement` (with `{}` for the name) for each of `names`, in one psql session.
fn databases(ctx: &Ctx<'_>, names: &[String], statement: &str) -> anyhow::Result<()> {
    let script: String = names
        .iter()
        .map(|n| format!("{};\n", statement.replace("{}", &ident(n))))
        .collect();
    process::check(
        process::pipe(ctx.admin_psql(), &script)?,
        "the fleet's databases",
    )?;
    Ok(())
}
