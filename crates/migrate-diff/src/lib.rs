//! Plans the migration between two PostgreSQL schemas, from their catalogs: the migrations
//! (`migrate up`), and a database built from `schema.sql`, for `migrate diff` and
//! `cargo xtask migrate-diff`. No SQL is parsed: PostgreSQL prints every definition itself,
//! on both sides alike.
//!
//! - [`catalog`]: one query per kind of object, into a [`Catalog`];
//! - [`plan`]: the changes from one catalog to the other, each with its undoing, in dependency
//!   order, safe by construction (no CASCADE; nothing that holds data dropped unless allowed;
//!   indexes on existing tables built concurrently; constraints added `NOT VALID`, then
//!   validated), or every reason to refuse;
//! - [`render`]: the changes as migration files.
//!
//! What the planner does not model is refused by name; what it models is proven by the caller
//! (`cargo xtask migrate-diff`), which applies the files and compares schema dumps.

pub mod catalog;
pub mod plan;
pub mod render;

pub use catalog::{Catalog, read};
pub use plan::{Options, Rename, plan};
pub use render::{MigrationFile, render};
