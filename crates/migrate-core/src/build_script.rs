//! For the `build.rs` of a crate that embeds its migrations with `sqlx::migrate!`:
//!
//! ```text
//! // build.rs
//! fn main() {
//!     migrate_core::build_script::embed_migrations("migrations");
//! }
//! ```
//!
//! - cargo rebuilds when a file is added to the directory or the crate's `sqlx.toml` changes
//!   (the macro alone sees neither; a `sqlx.toml` created later needs a `cargo clean -p`);
//! - every file name in the directory is recorded, so that `migrate` can name a file sqlx
//!   skipped silently (a typo must not make a migration vanish), with the `ignored-chars` of
//!   the crate's `sqlx.toml`;
//! - the git commit is recorded, for the audit of each run (`GIT_COMMIT` overrides it, for
//!   builds without a `.git`, such as a Docker build).

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
};

use crate::Config;

/// What the generated file is called in `OUT_DIR`; `migrate_engine::embedded!` includes it.
pub const FILE_LIST: &str = "migrate_files.rs";

/// Records `dir` (relative to the crate, as given to `sqlx::migrate!`) for the build. Panics,
/// as build scripts do, when the directory cannot be read.
pub fn embed_migrations(dir: &str) {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("run by cargo"));
    let path = manifest.join(dir);
    println!("cargo:rerun-if-changed={}", path.display());
    let config_path = manifest.join("sqlx.toml");
    watch_if_present(&config_path);

    let mut names: Vec<String> = fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    let shown = dir
        .split('/')
        .skip_while(|part| matches!(*part, "." | ".."))
        .collect::<Vec<_>>()
        .join("/");
    let config = Config::load_or_default(&config_path).unwrap_or_else(|e| panic!("{e}"));
    let ignored: String = config.ignored_chars.iter().collect();
    let out = PathBuf::from(env::var("OUT_DIR").expect("run by cargo")).join(FILE_LIST);
    fs::write(&out, format!("({shown:?}, &{names:?}, {ignored:?})")).expect("OUT_DIR is writable");

    println!("cargo:rerun-if-env-changed=GIT_COMMIT");
    let commit = env::var("GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git_commit(&manifest))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=MIGRATE_GIT_COMMIT={commit}");
}

/// HEAD's commit, watching the files that change when it moves.
fn git_commit(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "HEAD"])?;
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])?];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch])?);
    }
    watched.push(git(&["rev-parse", "--git-path", "packed-refs"])?);
    for path in watched {
        watch_if_present(&dir.join(path));
    }
    Some(commit)
}

/// Reruns the build script when `path` changes. Not for a missing file: cargo would rerun the
/// script, and rebuild the crate, on every build.
fn watch_if_present(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
