//! Figure 5: giving each test a migrated database. Running every migration per test grows
//! with the number of migrations; copying a template migrated once (what the test helper in
//! `app/tests/support/template.rs` does) should not.

use anyhow::Context;
use pg_cluster::process;

use super::{
    Ctx,
    apply::time,
    report::{Section, median, show_ms},
};
use migrate_core::quote::ident;

const SIZES: [usize; 2] = [20, 200];

pub fn run(ctx: &Ctx<'_>) -> anyhow::Result<Section> {
    // The copy the test helper makes: file by file where fsync is off (and PostgreSQL has the
    // choice), else the server's default.
    let cheap_copy = "SELECT current_setting('server_version_num')::int >= 150000 AND current_setting('fsync') = 'off'";
    let strategy = if ctx.db.admin_sql(cheap_copy)?.trim() == "t" {
        " STRATEGY FILE_COPY"
    } else {
        ""
    };
    let mut section = Section::new(
        "Test database setup: a migrated database for each test",
        &[
            "migrations",
            "migrate each test's database",
            "build the template (once)",
            "copy the template per test",
            "speed-up",
        ],
    );
    for size in SIZES {
        let dir = ctx.generated_migrations(size)?;
        eprintln!("bench: test setup, {size} migrations");
        // Every test creates a database; without a template it then migrates it.
        let names: Vec<String> = (1..=ctx.runs)
            .map(|run| format!("bench_test_{size}_{run}"))
            .collect();
        let creates = create_databases(ctx, &names, None, strategy)?;
        let mut per_test = Vec::new();
        for (name, create) in names.iter().zip(creates) {
            let url = ctx.db.admin.with_database(name);
            per_test.push(create + time(ctx.migrate(&dir, &url, &["up"]), None)?);
            ctx.db
                .admin_sql(&format!("DROP DATABASE {} WITH (FORCE)", ident(name)))?;
        }

        let template = ctx.scratch("template")?;
        let build = time(ctx.migrate(&dir, &template.url, &["up"]), None)?;
        let copies: Vec<String> = (1..=ctx.runs)
            .map(|run| format!("bench_copy_{size}_{run}"))
            .collect();
        let copy_times = create_databases(ctx, &copies, Some(&template.name), strategy)?;
        for name in &copies {
            ctx.db
                .admin_sql(&format!("DROP DATABASE {} WITH (FORCE)", ident(name)))?;
        }
        section.row(vec![
            size.to_string(),
            show_ms(median(&per_test)),
            show_ms(build),
            show_ms(median(&copy_times)),
            format!("{:.0}×", median(&per_test) / median(&copy_times)),
        ]);
    }
    section.note(format!(
        "Medians of {} runs. Both columns include `CREATE DATABASE{}` as the test helper runs it, timed by \
         the server's session (psql's \\timing, one session); \"migrate each\" adds the whole `migrate up` process. \
         Opening the test's connection, a few ms, comes on top of both. The template is built once per set of \
         migrations.",
        ctx.runs,
        strategy
    ));
    Ok(section)
}

/// Creates each database in one psql session, returning each CREATE's time in ms.
fn create_databases(
    ctx: &Ctx<'_>,
    names: &[String],
    template: Option<&str>,
    strategy: &str,
) -> anyhow::Result<Vec<f64>> {
    let from = template
        .map(|t| format!(" TEMPLATE {}", ident(t)))
        .unwrap_or_default();
    let mut script = String::from("\\timing on\n");
    for name in names {
        script += &format!("CREATE DATABASE {}{from}{strategy};\n", ident(name));
    }
    let output = process::check(
        process::pipe(ctx.admin_psql(), &script)?,
        "creating databases",
    )?;
    let times: Vec<f64> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| {
            l.strip_prefix("Time: ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    if times.len() != names.len() {
        return Err(anyhow::anyhow!(
            "psql printed {} timings for {} databases",
            times.len(),
            names.len()
        ))
        .context(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    Ok(times)
}
