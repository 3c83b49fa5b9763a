//! `migrate`: the release-phase command and the only place migrations are applied or reverted.
//! The engine does the work (`migrate_engine`); this is its entrypoint for this build's
//! migrations: the flags, one line per problem, the exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    #[expect(
        clippy::disallowed_methods,
        reason = "migrate is the one entrypoint that migrates"
    )]
    migrate_engine::cli::main(&app::MIGRATIONS)
}
