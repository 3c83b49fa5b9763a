//! Figure 6: autogenerating a migration (`cargo xtask migrate-diff`) for a schema of the size a
//! team reaches: 120 tables with foreign keys and indexes, 40 views, 41 functions and 120
//! triggers. The edit adds columns, indexes, a table, a function and redefines views. The whole
//! command is timed (plan, proof by dumps, rehearsal, lint, schema.sql rewritten) beside its
//! floor: loading `schema.sql` once with psql. The goal: under 10 s.

use std::{fmt::Write as _, fs, path::Path, time::Instant};

use xshell::Shell;

use super::{
    Ctx,
    apply::time,
    report::{Section, median, ms, ratio, show_ms},
};
use crate::{db::url::PgUrl, flags};

const TABLES: usize = 120;
const VIEWS: usize = 40;
const GOAL_MS: f64 = 10_000.0;

pub fn run(ctx: &Ctx<'_>, sh: &Shell) -> anyhow::Result<Section> {
    let fixture = ctx.work.join("diff");
    let _ = fs::remove_dir_all(&fixture);
    fs::create_dir_all(fixture.join("migrations"))?;
    fs::write(
        fixture
            .join("migrations")
            .join("20260101000000_schema.up.sql"),
        schema(false),
    )?;
    fs::write(fixture.join("schema.sql"), schema(true))?;

    let floor_db = ctx.scratch("diff_floor")?;
    let runs = ctx.runs.min(3);
    let mut floor = Vec::new();
    let mut whole = Vec::new();
    // The first run builds `migrate` and installs squawk: it is not counted.
    for run in 0..=runs {
        eprintln!("bench: migrate-diff, run {run} of {runs}");
        let project = ctx.work.join("diff-run");
        let _ = fs::remove_dir_all(&project);
        fs::create_dir_all(project.join("migrations"))?;
        for file in ["migrations/20260101000000_schema.up.sql", "schema.sql"] {
            fs::copy(fixture.join(file), project.join(file))?;
        }
        let started = Instant::now();
        flags::MigrateDiff {
            name: "grow_the_schema".into(),
            rename: Vec::new(),
            allow_drop: false,
            source: Some(project.join("migrations")),
            schema: Some(project.join("schema.sql")),
        }
        .run(sh)?;
        let took = ms(started.elapsed());
        let written = fs::read_dir(project.join("migrations"))?.count();
        anyhow::ensure!(
            written > 1,
            "migrate-diff wrote no migration for the bench's edit"
        );
        if run > 0 {
            whole.push(took);
            floor.push(load(ctx, &floor_db.url, &fixture.join("schema.sql"))?);
        }
    }
    let mut section = Section::new(
        format!(
            "Autogenerate: `cargo xtask migrate-diff` on {TABLES} tables, {VIEWS} views, {} functions, {TABLES} triggers",
            VIEWS + 1
        ),
        &["step", "time", "vs loading schema.sql"],
    );
    let floor = median(&floor);
    section.row(vec![
        "psql -f schema.sql (the floor)".into(),
        show_ms(floor),
        "1.00×".into(),
    ]);
    let whole = median(&whole);
    section.row(vec![
        "migrate-diff: plan, proof by dumps, rehearsal, lint, schema.sql".into(),
        show_ms(whole),
        ratio(whole, floor),
    ]);
    section.note(format!(
        "Medians of {runs} runs after one warm-up. The goal is under {}: {}. The command builds four \
         scratch databases (the migrations, schema.sql, the migrations with the new files, their \
         rehearsal) and dumps three of them twice.",
        show_ms(GOAL_MS),
        if whole < GOAL_MS { "met" } else { "NOT met" }
    ));
    Ok(section)
}

/// psql loading `schema` into an emptied `url`; its time in ms.
fn load(ctx: &Ctx<'_>, url: &PgUrl, schema: &Path) -> anyhow::Result<f64> {
    let reset = "DROP SCHEMA public CASCADE; CREATE SCHEMA public;";
    time(ctx.psql(url), Some(reset))?;
    time(ctx.psql(url), Some(&fs::read_to_string(schema)?))
}

/// The bench's schema, before the edit or after it.
fn schema(edited: bool) -> String {
    let mut sql = String::from(
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\n\
         BEGIN\n    NEW.updated_at := now();\n    RETURN NEW;\nEND\n$$;\n\n",
    );
    for i in 1..=TABLES {
        let parent = if i > 1 {
            format!(",\n    parent_id bigint REFERENCES item_{} (id)", i - 1)
        } else {
            String::new()
        };
        let priority = if edited && i % 6 == 0 {
            ",\n    priority integer NOT NULL DEFAULT 0"
        } else {
            ""
        };
        let _ = write!(
            sql,
            "CREATE TABLE item_{i} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \
             name text NOT NULL,\n    created_at timestamptz NOT NULL DEFAULT now(),\n    \
             updated_at timestamptz{parent}{priority}\n);\n\
             CREATE TRIGGER item_{i}_touch BEFORE UPDATE ON item_{i} FOR EACH ROW EXECUTE FUNCTION touch();\n"
        );
        if i > 1 {
            let _ = writeln!(
                sql,
                "CREATE INDEX item_{i}_parent_id_idx ON item_{i} (parent_id);"
            );
        }
        if edited && i % 10 == 0 {
            let _ = writeln!(
                sql,
                "CREATE INDEX item_{i}_created_at_idx ON item_{i} (created_at);"
            );
        }
    }
    for i in 2..=VIEWS + 1 {
        let extra = if edited && i % 4 == 0 {
            ", c.created_at"
        } else {
            ""
        };
        let _ = write!(
            sql,
            "CREATE VIEW item_{i}_named AS\n    SELECT c.id, c.name, p.name AS parent_name{extra}\n    \
             FROM item_{i} c LEFT JOIN item_{} p ON p.id = c.parent_id;\n\
             CREATE FUNCTION item_{i}_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM item_{i} $$;\n",
            i - 1
        );
    }
    if edited {
        sql.push_str(
            "CREATE TABLE item_tag (\n    item_id bigint NOT NULL REFERENCES item_1 (id),\n    \
             tag text NOT NULL,\n    PRIMARY KEY (item_id, tag)\n);\n\
             CREATE FUNCTION item_tag_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM item_tag $$;\n",
        );
    }
    sql
}
