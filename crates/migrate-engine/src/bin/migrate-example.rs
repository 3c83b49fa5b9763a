//! The crate documentation's example, built: a `migrate` binary as an adopter writes it, on
//! this crate's `tests/migrations/`. The engine's integration tests run it, mostly with
//! `--source`.

use std::process::ExitCode;

use migrate_engine::Embedded;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations");
static MIGRATIONS: Embedded = migrate_engine::embedded!(&MIGRATOR);

fn main() -> ExitCode {
    #[expect(
        clippy::disallowed_methods,
        reason = "this binary is the one entrypoint that migrates"
    )]
    migrate_engine::cli::main(&MIGRATIONS)
}
