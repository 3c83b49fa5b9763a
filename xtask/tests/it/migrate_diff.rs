//! `cargo xtask migrate-diff`: each case is a pair of schemas, the one the migrations give and
//! the one `schema.sql` declares. migrate-diff proves every migration it writes (the dumps
//! match, the down files undo it, a second plan finds nothing); these tests check what it
//! wrote, that it keeps rows where rows are, and what it refuses.

use std::{path::Path, process::Command};

use test_support::{Migrations, Run, TestDb, run, workspace_root};

use crate::{fixture_args, xtask};

/// The migrations `before` (one file), and `after` as schema.sql.
fn case(before: &str, after: &str) -> Migrations {
    let fixture = Migrations::new(&[("1_before.up.sql", before)]);
    std::fs::write(fixture.schema(), after).unwrap();
    fixture
}

/// `cargo xtask migrate-diff NAME`; what it writes must pass the lint, or say why not.
fn diff(fixture: &Migrations, name: &str, extra: &[&str]) -> Run {
    let mut command = xtask(&["migrate-diff", name]);
    command.args(fixture_args(fixture)).args(extra);
    let run = run(&mut command);
    let findings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("migrate-diff: lint:"))
        .collect();
    assert!(
        findings.is_empty(),
        "unexplained lint findings: {findings:#?}"
    );
    run
}

/// The new migration files, name → text, in order.
fn written(fixture: &Migrations) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(fixture.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("1_"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn up_text(fixture: &Migrations) -> String {
    written(fixture)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".up.sql"))
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The app's `migrate`, as `cargo xtask test` builds it, on `db` with `source`.
fn migrate(db: &TestDb, source: &Path) -> Command {
    let mut command = Command::new(workspace_root().join("target/debug/migrate"));
    command
        .env("MIGRATION_DATABASE_URL", &db.url)
        .env_remove("DATABASE_URL")
        .arg("--source")
        .arg(source);
    command
}

/// A database at the `before` migration holding `rows` (SQL), then migrated to the end.
async fn with_rows(fixture: &Migrations, rows: &str) -> TestDb {
    let db = TestDb::new().await;
    run(migrate(&db, fixture.path()).args(["up", "--to", "1"])).assert_code(0);
    db.execute(rows).await;
    run(migrate(&db, fixture.path()).arg("up")).assert_code(0);
    db
}

#[tokio::test]
async fn an_fk_column_and_its_index_on_a_table_with_rows() {
    let fixture = case(
        "CREATE TABLE public.jobs (id bigint PRIMARY KEY, name text NOT NULL);\n",
        "CREATE TABLE public.owners (id bigint PRIMARY KEY, name text NOT NULL);\n\
         CREATE TABLE public.jobs (id bigint PRIMARY KEY, name text NOT NULL, owner_id bigint REFERENCES public.owners (id));\n\
         CREATE INDEX jobs_owner_id ON public.jobs (owner_id);\n",
    );
    diff(&fixture, "add_job_owners", &[]).assert_code(0);
    let files: Vec<String> = written(&fixture).into_iter().map(|(n, _)| n).collect();
    assert!(
        files.iter().any(|f| f.ends_with("_add_job_owners.up.sql")),
        "{files:?}"
    );
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("_create_jobs_owner_id.up.sql")),
        "{files:?}"
    );
    assert!(
        files.iter().any(|f| f.ends_with("_validate.up.sql")),
        "{files:?}"
    );
    let up = up_text(&fixture);
    assert!(
        up.contains("REFERENCES public.owners(id) NOT VALID;"),
        "{up}"
    );
    assert!(
        up.contains("CREATE INDEX CONCURRENTLY jobs_owner_id ON public.jobs"),
        "{up}"
    );
    assert!(
        up.contains("VALIDATE CONSTRAINT jobs_owner_id_fkey"),
        "{up}"
    );
    let db = with_rows(
        &fixture,
        "INSERT INTO jobs SELECT i, 'job ' || i FROM generate_series(1, 500) i",
    )
    .await;
    assert_eq!(db.scalar::<i64>("SELECT count(*) FROM jobs").await, 500);
}

#[tokio::test]
async fn an_enum_value_added_before_another_and_used_as_a_default() {
    let fixture = case(
        "CREATE TYPE public.mood AS ENUM ('calm', 'busy');\n\
         CREATE TABLE public.people (id bigint PRIMARY KEY, mood public.mood DEFAULT 'calm');\n",
        "CREATE TYPE public.mood AS ENUM ('calm', 'tired', 'busy');\n\
         CREATE TABLE public.people (id bigint PRIMARY KEY, mood public.mood DEFAULT 'tired');\n",
    );
    diff(&fixture, "add_tired_mood", &[]).assert_code(0);
    let files = written(&fixture);
    let (first, text) = &files[0];
    assert!(
        first.ends_with("_enum_values.up.sql"),
        "the values come first: {files:?}"
    );
    assert!(
        text.contains("ALTER TYPE public.mood ADD VALUE 'tired' BEFORE 'busy';"),
        "{text}"
    );
    assert!(up_text(&fixture).contains("SET DEFAULT 'tired'::public.mood"));
    let db = with_rows(&fixture, "INSERT INTO people VALUES (1, 'busy')").await;
    assert_eq!(
        db.scalar::<String>("SELECT mood::text FROM people").await,
        "busy"
    );
}

#[test]
fn an_enum_value_removed_while_in_use_is_refused() {
    let fixture = case(
        "CREATE TYPE public.mood AS ENUM ('calm', 'busy');\n\
         CREATE TABLE public.people (id bigint PRIMARY KEY, mood public.mood);\n",
        "CREATE TYPE public.mood AS ENUM ('calm');\n\
         CREATE TABLE public.people (id bigint PRIMARY KEY, mood public.mood);\n",
    );
    diff(&fixture, "drop_busy_mood", &[])
        .assert_code(1)
        .assert_stderr_contains(
            "type public.mood: schema.sql removes or reorders its values (calm, busy → calm)",
        )
        .assert_stderr_contains("column public.people.mood uses it");
    assert!(written(&fixture).is_empty(), "nothing is written");
}

#[test]
fn int_to_bigint_under_a_view_that_another_view_uses() {
    let fixture = case(
        "CREATE TABLE public.t (id integer PRIMARY KEY, name text);\n\
         CREATE VIEW public.v1 AS SELECT id, name FROM public.t;\n\
         CREATE VIEW public.v2 AS SELECT id FROM public.v1;\n",
        "CREATE TABLE public.t (id bigint PRIMARY KEY, name text);\n\
         CREATE VIEW public.v1 AS SELECT id, name FROM public.t;\n\
         CREATE VIEW public.v2 AS SELECT id FROM public.v1;\n",
    );
    diff(&fixture, "widen_t_id", &[]).assert_code(0);
    let up = up_text(&fixture);
    let at = |text: &str| {
        up.find(text)
            .unwrap_or_else(|| panic!("{text} missing:\n{up}"))
    };
    assert!(at("DROP VIEW public.v2;") < at("DROP VIEW public.v1;"));
    assert!(at("DROP VIEW public.v1;") < at("ALTER COLUMN id TYPE bigint"));
    assert!(at("ALTER COLUMN id TYPE bigint") < at("CREATE VIEW public.v1"));
    assert!(at("CREATE VIEW public.v1") < at("CREATE VIEW public.v2"));
    assert!(!up.contains("CASCADE"), "{up}");
}

#[test]
fn a_function_s_return_type_changed_under_a_dependent_view_and_trigger() {
    let before = "CREATE TABLE public.t (id bigint PRIMARY KEY, label text);\n\
        CREATE FUNCTION public.tidy(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower($1) $$;\n\
        CREATE VIEW public.tidy_labels AS SELECT id, public.tidy(label) AS label FROM public.t;\n\
        CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
        CREATE TRIGGER t_stamp BEFORE INSERT ON public.t FOR EACH ROW WHEN (public.tidy(NEW.label) IS NOT NULL) EXECUTE FUNCTION public.stamp();\n";
    let after = before.replace(
        "RETURNS text LANGUAGE sql",
        "RETURNS character varying LANGUAGE sql",
    );
    let fixture = case(before, &after);
    diff(&fixture, "tidy_returns_varchar", &[]).assert_code(0);
    let up = up_text(&fixture);
    let at = |text: &str| {
        up.find(text)
            .unwrap_or_else(|| panic!("{text} missing:\n{up}"))
    };
    assert!(at("DROP TRIGGER t_stamp") < at("DROP FUNCTION public.tidy(text)"));
    assert!(at("DROP VIEW public.tidy_labels") < at("DROP FUNCTION public.tidy(text)"));
    assert!(
        at("DROP FUNCTION public.tidy(text)") < at("CREATE OR REPLACE FUNCTION public.tidy(text)")
    );
    assert!(
        at("CREATE OR REPLACE FUNCTION public.tidy(text)") < at("CREATE VIEW public.tidy_labels")
    );
    assert!(at("CREATE OR REPLACE FUNCTION public.tidy(text)") < at("CREATE TRIGGER t_stamp"));
}

#[tokio::test]
async fn a_column_rename_needs_rename_and_keeps_the_rows() {
    let fixture = case(
        "CREATE TABLE public.jobs (id bigint PRIMARY KEY, last_error text);\n",
        "CREATE TABLE public.jobs (id bigint PRIMARY KEY, error_message text);\n",
    );
    diff(&fixture, "rename_last_error", &[])
        .assert_code(1)
        .assert_stderr_contains(
            "column public.jobs.last_error is gone and column public.jobs.error_message is new",
        )
        .assert_stderr_contains("--rename public.jobs.last_error=error_message");
    assert!(written(&fixture).is_empty());
    diff(
        &fixture,
        "rename_last_error",
        &["--rename", "public.jobs.last_error=error_message"],
    )
    .assert_code(0);
    assert!(
        up_text(&fixture)
            .contains("ALTER TABLE public.jobs RENAME COLUMN last_error TO error_message;"),
        "{}",
        up_text(&fixture)
    );
    let db = with_rows(&fixture, "INSERT INTO jobs VALUES (1, 'boom')").await;
    assert_eq!(
        db.scalar::<String>("SELECT error_message FROM jobs").await,
        "boom"
    );
}

#[test]
fn a_unique_constraint_becomes_a_partial_expression_index() {
    let fixture = case(
        "CREATE TABLE public.users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, deleted_at timestamptz);\n",
        "CREATE TABLE public.users (id bigint PRIMARY KEY, email text NOT NULL, deleted_at timestamptz);\n\
         CREATE UNIQUE INDEX users_live_email ON public.users (lower(email)) WHERE deleted_at IS NULL;\n",
    );
    diff(&fixture, "email_unique_while_live", &[]).assert_code(0);
    let up = up_text(&fixture);
    assert!(up.contains("DROP CONSTRAINT users_email_key;"), "{up}");
    assert!(
        up.contains("CREATE UNIQUE INDEX CONCURRENTLY users_live_email ON public.users USING btree (lower(email)) WHERE (deleted_at IS NULL);"),
        "{up}"
    );
}

#[tokio::test]
async fn set_not_null_on_a_table_with_rows_goes_through_a_validated_check() {
    let fixture = case(
        "CREATE TABLE public.jobs (id bigint PRIMARY KEY, kind text);\n",
        "CREATE TABLE public.jobs (id bigint PRIMARY KEY, kind text NOT NULL);\n",
    );
    diff(&fixture, "require_job_kind", &[]).assert_code(0);
    let up = up_text(&fixture);
    assert!(up.contains("CHECK (kind IS NOT NULL) NOT VALID;"), "{up}");
    assert!(
        up.contains("VALIDATE CONSTRAINT jobs_kind_not_null_check;"),
        "{up}"
    );
    assert!(up.contains("ALTER COLUMN kind SET NOT NULL;"), "{up}");
    let db = with_rows(
        &fixture,
        "INSERT INTO jobs SELECT i, 'k' FROM generate_series(1, 100) i",
    )
    .await;
    assert!(
        db.scalar::<bool>("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'jobs'::regclass AND attname = 'kind'")
            .await
    );
}

#[test]
fn row_level_security_a_policy_a_grant_and_a_column_comment() {
    let role = "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'diff_reader') THEN \
                CREATE ROLE diff_reader; END IF; END $$;\n";
    let fixture = case(
        &format!(
            "{role}CREATE TABLE public.notes (id bigint PRIMARY KEY, owner text NOT NULL, body text);\n"
        ),
        &format!(
            "{role}CREATE TABLE public.notes (id bigint PRIMARY KEY, owner text NOT NULL, body text);\n\
             ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;\n\
             CREATE POLICY own_notes ON public.notes FOR SELECT TO diff_reader USING (owner = current_user);\n\
             GRANT SELECT ON public.notes TO diff_reader;\n\
             COMMENT ON COLUMN public.notes.body IS 'what the owner wrote';\n"
        ),
    );
    diff(&fixture, "secure_notes", &[]).assert_code(0);
    let up = up_text(&fixture);
    for expected in [
        "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;",
        "CREATE POLICY own_notes ON public.notes AS PERMISSIVE FOR SELECT TO diff_reader",
        "GRANT SELECT ON TABLE public.notes TO diff_reader;",
        "COMMENT ON COLUMN public.notes.body IS 'what the owner wrote';",
    ] {
        assert!(up.contains(expected), "{expected}:\n{up}");
    }
}

#[test]
fn an_object_kind_the_planner_does_not_model_is_refused_by_name() {
    let fixture = case(
        "CREATE TABLE public.t (id bigint PRIMARY KEY);\n",
        "CREATE TABLE public.t (id bigint PRIMARY KEY);\n\
         CREATE AGGREGATE public.longest(text) (SFUNC = text_larger, STYPE = text);\n",
    );
    diff(&fixture, "add_longest", &[])
        .assert_code(1)
        .assert_stderr_contains(
            "aggregate public.longest(text): autogenerate does not plan this kind of object",
        );
    assert!(written(&fixture).is_empty());
}

#[test]
fn a_schema_only_reformatted_needs_no_migration() {
    let fixture = case(
        "CREATE TABLE public.jobs (id bigint PRIMARY KEY, name text NOT NULL DEFAULT 'x');\n",
        "-- the same, written otherwise\ncreate table JOBS (\n  ID    BIGINT   primary key,\n  NAME  TEXT not null default 'x'\n);\n",
    );
    diff(&fixture, "nothing_really", &[])
        .assert_code(0)
        .assert_stderr_contains("and the migrations agree: nothing to write");
    assert!(written(&fixture).is_empty());
}
