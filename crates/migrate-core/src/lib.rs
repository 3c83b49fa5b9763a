//! The rules about migrations that need no database, shared by the engine (`migrate-engine`)
//! and the project's tooling (`xtask`), so that each is written once:
//!
//! - [`name`]: file names and versions, exactly as sqlx 0.9 reads them, and the stricter rule
//!   for names of new migrations; [`version`]: timestamp versions for new ones;
//! - [`config`]: `sqlx.toml`'s `[migrate]` table;
//! - [`set`]: reading a directory (or embedded files) into a checked [`MigrationSet`], with
//!   sqlx's [`checksum`];
//! - [`checks`], [`sql_text`], [`claims`]: what a migration's text says;
//! - [`history`], [`roles`]: SQL texts both sides write; [`quote`]: how they quote;
//! - [`sqlstate`]: the server's error codes the engine acts on;
//! - [`redact`]: keeping passwords out of everything printed;
//! - [`build_script`]: the `build.rs` side of embedding migrations.

pub mod build_script;
pub mod checks;
pub mod checksum;
pub mod claims;
pub mod config;
pub mod history;
pub mod markers;
pub mod name;
pub mod problems;
pub mod quote;
pub mod redact;
pub mod roles;
pub mod set;
pub mod sql_text;
pub mod sqlstate;
pub mod version;

pub use config::{Config, TableName};
pub use markers::{Marker, markers};
pub use name::{FileName, Kind};
pub use problems::{FileProblem, FileProblems};
pub use set::{Migration, MigrationSet, Origin, RawFile, Script};

/// sqlx's marker, honoured only as a file's very first bytes: run it outside a transaction.
pub const NO_TRANSACTION_MARKER: &str = "-- no-transaction";
