//! This application's `migrate`: the engine's command line on the migrations `sqlx::migrate!()`
//! embeds (the directory and the history table come from `sqlx.toml`).

use std::process::ExitCode;

use migrate_engine::Embedded;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();
static MIGRATIONS: Embedded = migrate_engine::embedded!(&MIGRATOR);

fn main() -> ExitCode {
    #[expect(
        clippy::disallowed_methods,
        reason = "this binary is the one entrypoint that migrates"
    )]
    migrate_engine::cli::main(&MIGRATIONS)
}
