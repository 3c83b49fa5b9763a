//! The crate documentation's example embeds `tests/migrations/` the way an application does.

fn main() {
    migrate_core::build_script::embed_migrations("tests/migrations");
}
