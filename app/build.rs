//! Makes cargo rebuild when `migrations/` changes (`sqlx::migrate!` alone does not see new
//! files), and records every file name there so `migrate` can refuse files that sqlx would
//! silently skip (a typo in a name must not make a migration vanish).

use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("../migrations");
    println!("cargo:rerun-if-changed={}", dir.display());

    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();

    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("migration_file_names.rs");
    fs::write(&out, format!("&{names:?}")).unwrap();
}
