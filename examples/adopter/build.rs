//! What the engine asks of an application's build script: record the migrations directory.

fn main() {
    migrate_core::build_script::embed_migrations("db/migrations");
}
