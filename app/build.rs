//! Records `migrations/` for `sqlx::migrate!` (see `migrate_core::build_script`): cargo rebuilds
//! when a file is added, and `migrate` can name a file sqlx would silently skip.

fn main() {
    migrate_core::build_script::embed_migrations("../migrations");
}
