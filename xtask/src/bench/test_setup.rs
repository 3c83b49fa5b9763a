//! Figure 5: giving each test a migrated database. Running every migration per test grows
//! with the number of migrations; copying a template migrated once (what the test helper in
//! `app/tests/support/template.rs` does) should not.

use super::{
    Ctx,
    apply::time,
    report::{Section, median, show_ms},
};
use crate::db::ident;

const SIZES: [usize; 2] = [20, 200];

pub fn run(ctx: &Ctx<'_>) -> anyhow::Result<Section> {
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
    // The copy the test helper makes: file by file where fsync is off (and PostgreSQL has the
    // choice), else the server's default.
    let cheap_copy = "SELECT current_setting('server_version_num')::int >= 150000 AND current_setting('fsync') = 'off'";
    let strategy = if ctx.db.admin_sql(ctx.sh, cheap_copy)?.trim() == "t" {
        " STRATEGY FILE_COPY"
    } else {
        ""
    };
    for size in SIZES {
        let dir = ctx.generated_migrations(size)?;
        let mut per_test = Vec::new();
        for run in 1..=ctx.runs {
            eprintln!(
                "bench: test setup, {size} migrations, migrating per test, run {run}/{}",
                ctx.runs
            );
            let name = format!("bench_test_{size}_{run}");
            let create = time(
                &mut ctx.admin_psql(),
                Some(&format!("CREATE DATABASE {}{strategy};\n", ident(&name))),
            )?;
            let url = ctx.db.admin.with_database(&name);
            let migrate = time(&mut ctx.migrate(&dir, &url, &["up"]), None)?;
            per_test.push(create + migrate);
            ctx.db.admin_sql(
                ctx.sh,
                &format!("DROP DATABASE {} WITH (FORCE)", ident(&name)),
            )?;
        }

        let template = ctx.scratch("template")?;
        let build = time(&mut ctx.migrate(&dir, &template.url, &["up"]), None)?;
        let mut copies = Vec::new();
        for run in 1..=ctx.runs {
            eprintln!(
                "bench: test setup, {size} migrations, copying the template, run {run}/{}",
                ctx.runs
            );
            let name = format!("bench_copy_{size}_{run}");
            let sql = format!(
                "CREATE DATABASE {} TEMPLATE {}{strategy};\n",
                ident(&name),
                ident(&template.name)
            );
            copies.push(time(&mut ctx.admin_psql(), Some(&sql))?);
            ctx.db.admin_sql(
                ctx.sh,
                &format!("DROP DATABASE {} WITH (FORCE)", ident(&name)),
            )?;
        }
        section.row(vec![
            size.to_string(),
            show_ms(median(&per_test)),
            show_ms(build),
            show_ms(median(&copies)),
            format!("{:.0}×", median(&per_test) / median(&copies)),
        ]);
    }
    section.note(format!(
        "Medians of {} runs. Per test, both columns include starting a client process and CREATE DATABASE{}; \
         \"migrate each\" adds `migrate up`. The template is built once per set of migrations.",
        ctx.runs,
        if strategy.is_empty() { String::new() } else { format!(" ({})", strategy.trim()) }
    ));
    Ok(section)
}
