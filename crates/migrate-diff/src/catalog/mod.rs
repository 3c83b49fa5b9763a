//! A database's schema as its catalog describes it, read with one query per kind of object.
//! Nothing is parsed: PostgreSQL prints every definition itself (`pg_get_constraintdef`,
//! `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_functiondef`, `pg_get_triggerdef`,
//! `format_type`, `pg_get_expr`), so two databases that hold the same schema describe it the
//! same way, however it was written.
//!
//! Left out: the system schemas, objects that belong to an extension, and the tables named in
//! `exclude` (the migration history and the audit trail).

mod functions;
mod keywords;
mod read;
mod tables;
mod types;
mod unmodeled;
mod views;

use std::collections::{BTreeMap, BTreeSet};

pub use read::read;

/// A schema-qualified name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    pub schema: String,
    pub name: String,
}

impl Name {
    pub fn new(schema: &str, name: &str) -> Self {
        Self {
            schema: schema.to_owned(),
            name: name.to_owned(),
        }
    }
}

impl std::fmt::Display for Name {
    /// As SQL: `public.jobs`, `"My Schema"."Odd Name"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", ident(&self.schema), ident(&self.name))
    }
}

/// An identifier as PostgreSQL would print it: quoted only when it must be.
pub fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain && !is_reserved(name) {
        name.to_owned()
    } else {
        migrate_core::quote::ident(name)
    }
}

/// Whether `name` is a keyword PostgreSQL will not take bare.
fn is_reserved(name: &str) -> bool {
    keywords::RESERVED.binary_search(&name).is_ok()
}

/// Everything the planner knows of a database.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub schemas: BTreeMap<String, Schema>,
    pub extensions: BTreeMap<String, Extension>,
    pub enums: BTreeMap<Name, Enum>,
    pub domains: BTreeMap<Name, Domain>,
    pub sequences: BTreeMap<Name, Sequence>,
    pub tables: BTreeMap<Name, Table>,
    pub views: BTreeMap<Name, View>,
    /// By name and identity arguments: `public.touch()`.
    pub functions: BTreeMap<String, Function>,
    /// Objects of kinds the planner does not model, described (`aggregate public.agg(int)`):
    /// a difference among them is refused by name.
    pub unmodeled: BTreeSet<String>,
    /// What depends on what, as `pg_depend` (and function bodies) say: `(dependent, referenced)`.
    pub depends: BTreeSet<(Object, Object)>,
}

/// An object other objects may depend on, for ordering.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Object {
    Type(Name),
    Table(Name),
    View(Name),
    Sequence(Name),
    Function(String),
    /// A table's trigger.
    Trigger(Name, String),
    /// A table's policy.
    Policy(Name, String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub schema: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enum {
    pub labels: Vec<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// `format_type` of the base type.
    pub base: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// Constraint name → `pg_get_constraintdef`.
    pub checks: BTreeMap<String, String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    /// The column it belongs to (`OWNED BY`), if any: table and column.
    pub owned_by: Option<(Name, String)>,
    /// Made for an identity column: it comes and goes with it.
    pub identity: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// In their physical order.
    pub columns: Vec<Column>,
    /// Name → constraint (primary key, unique, check, foreign key, exclusion).
    pub constraints: BTreeMap<String, Constraint>,
    /// Name → index, those that no constraint owns.
    pub indexes: BTreeMap<String, Index>,
    /// Name → trigger.
    pub triggers: BTreeMap<String, Trigger>,
    pub row_security: bool,
    pub force_row_security: bool,
    /// Name → policy.
    pub policies: BTreeMap<String, Policy>,
    /// `(grantee, privilege)`, with `PUBLIC` for everyone; the owner's own are left out.
    pub grants: BTreeSet<(String, String)>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `format_type`: `bigint`, `character varying(80)`, `public.mood`.
    pub data_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// `a` (ALWAYS) or `d` (BY DEFAULT) for an identity column.
    pub identity: Option<char>,
    /// The expression of a generated column, and `s` (stored) or `v` (virtual).
    pub generated: Option<(String, char)>,
    /// A collation other than the type's default.
    pub collation: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// `p`, `u`, `c`, `f` or `x`.
    pub kind: char,
    /// `pg_get_constraintdef`: `FOREIGN KEY (job_id) REFERENCES public.jobs(id) ON DELETE CASCADE`.
    pub definition: String,
    pub validated: bool,
    /// A foreign key's table.
    pub references: Option<Name>,
    /// The index of a primary key, unique or exclusion constraint (`pg_get_indexdef`).
    pub index: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// `pg_get_indexdef`: `CREATE UNIQUE INDEX users_email ON public.users USING btree (lower(email))`.
    pub definition: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// `pg_get_triggerdef`.
    pub definition: String,
    /// The function it calls.
    pub function: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub permissive: bool,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub check: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    pub materialized: bool,
    /// `pg_get_viewdef`.
    pub definition: String,
    /// A materialized view's indexes: name → definition.
    pub indexes: BTreeMap<String, String>,
    pub grants: BTreeSet<(String, String)>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: Name,
    /// `pg_get_function_identity_arguments`: what, with the name, identifies it.
    pub arguments: String,
    pub procedure: bool,
    /// `pg_get_function_result`; none for a procedure.
    pub result: Option<String>,
    /// `pg_get_functiondef`: a whole `CREATE OR REPLACE FUNCTION` statement.
    pub definition: String,
    pub comment: Option<String>,
}

impl Function {
    /// `public.touch()`, as `DROP FUNCTION` and `COMMENT ON FUNCTION` name it.
    pub fn signature(&self) -> String {
        format!("{}({})", self.name, self.arguments)
    }
}
