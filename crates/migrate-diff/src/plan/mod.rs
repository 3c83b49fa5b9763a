//! The plan between two catalogs: each difference becomes a [`Change`] with the statements that
//! make it and, where it can be undone, those that undo it; the changes are ordered by phase
//! and dependency, and grouped into migration files:
//!
//! 1. new enum values, in a migration of their own (a value cannot be used in the transaction
//!    that adds it);
//! 2. each index dropped from an existing table, `DROP INDEX CONCURRENTLY`, alone;
//! 3. the main migration, one transaction;
//! 4. each index created on an existing table, `CREATE INDEX CONCURRENTLY`, alone;
//! 5. the validation of the foreign keys and checks added `NOT VALID` to existing tables, and of
//!    the NOT NULL set through them.
//!
//! Never CASCADE: what depends on a changed object is dropped before and created again after,
//! in dependency order. Nothing that holds data is dropped without `allow_drop`; a drop and an
//! add of the same kind under the same parent are refused as ambiguous unless a rename says
//! what they are.

mod access;
mod columns;
mod comments;
mod constraints;
mod order;
mod relations;
mod routines;
mod schemas;
mod sequences;
mod types;

use std::collections::BTreeSet;

use crate::catalog::{Catalog, Name, Object};

/// What the plan may do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Renames: `schema.table=new` or `schema.table.column=new`.
    pub renames: Vec<Rename>,
    /// Tables, columns, types, functions, sequences may be dropped.
    pub allow_drop: bool,
}

/// `--rename OLD=NEW`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rename {
    Table {
        from: Name,
        to: String,
    },
    Column {
        table: Name,
        from: String,
        to: String,
    },
}

impl Rename {
    /// Parses `public.jobs=tasks` or `public.jobs.last_error=error_message`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (old, new) = text.split_once('=').ok_or_else(|| {
            format!("--rename {text}: write OLD=NEW, e.g. public.jobs.last_error=error_message")
        })?;
        let parts: Vec<&str> = old.split('.').collect();
        let new = new.trim();
        if new.is_empty() || new.contains('.') {
            return Err(format!(
                "--rename {text}: NEW is the new name alone, without a schema or table"
            ));
        }
        match parts.as_slice() {
            [schema, table] => Ok(Self::Table {
                from: Name::new(schema, table),
                to: new.to_owned(),
            }),
            [schema, table, column] => Ok(Self::Column {
                table: Name::new(schema, table),
                from: (*column).to_owned(),
                to: new.to_owned(),
            }),
            _ => Err(format!(
                "--rename {text}: OLD is schema.table or schema.table.column, e.g. public.jobs=tasks"
            )),
        }
    }
}

/// Which migration file a change goes to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum File {
    EnumValues,
    DropIndex(String),
    Main,
    CreateIndex(String),
    Validate,
}

/// One statement, with the squawk rule it knowingly breaks and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub ignore: Option<(&'static str, String)>,
}

impl Statement {
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            ignore: None,
        }
    }

    /// A `DROP` the user asked for (`--allow-drop`, or an object left out of schema.sql) or
    /// that is made again at once, marked with squawk's rule for its kind and `reason`.
    pub fn dropping(sql: impl Into<String>, reason: impl Into<String>) -> Self {
        let sql = sql.into();
        let rule = [
            ("DROP MATERIALIZED VIEW ", "ban-drop-view"),
            ("DROP VIEW ", "ban-drop-view"),
            ("DROP FUNCTION ", "ban-drop-function"),
            ("DROP PROCEDURE ", "ban-drop-function"),
            ("DROP TYPE ", "ban-drop-type"),
            ("DROP DOMAIN ", "ban-drop-domain"),
            ("DROP SEQUENCE ", "ban-drop-sequence"),
            ("DROP SCHEMA ", "ban-drop-schema"),
            ("DROP EXTENSION ", "ban-drop-extension"),
            ("DROP TABLE ", "ban-drop-table"),
        ]
        .into_iter()
        .find(|(prefix, _)| sql.starts_with(prefix))
        .or_else(|| {
            (sql.starts_with("ALTER TABLE ") && sql.contains(" DROP CONSTRAINT "))
                .then_some(("", "ban-drop-constraint"))
        });
        match rule {
            Some((_, rule)) => Self::new(sql).ignoring(rule, reason),
            None => Self::new(sql),
        }
    }

    /// The same, marked as knowingly breaking squawk's `rule`, for `reason`.
    pub fn ignoring(mut self, rule: &'static str, reason: impl Into<String>) -> Self {
        self.ignore = Some((rule, reason.into()));
        self
    }
}

/// One difference made good.
#[derive(Debug, Clone)]
pub struct Change {
    pub file: File,
    /// Order within the file: see the phases in [`phase`].
    pub phase: u16,
    pub up: Vec<Statement>,
    /// What undoes it; `Err` says why nothing can.
    pub down: Result<Vec<Statement>, String>,
}

/// The phases of a file, in order.
pub mod phase {
    pub const RENAME: u16 = 0;
    pub const DROP_TRIGGER: u16 = 10;
    pub const DROP_POLICY: u16 = 11;
    pub const DROP_VIEW: u16 = 12;
    pub const DROP_CONSTRAINT: u16 = 13;
    pub const DROP_FUNCTION: u16 = 14;
    pub const CREATE_SCHEMA: u16 = 20;
    pub const CREATE_EXTENSION: u16 = 21;
    pub const CREATE_TYPE: u16 = 22;
    pub const CREATE_SEQUENCE: u16 = 23;
    pub const CREATE_TABLE: u16 = 30;
    pub const ALTER_COLUMN: u16 = 31;
    pub const ALTER_SEQUENCE: u16 = 32;
    pub const CREATE_ROUTINE: u16 = 40;
    pub const ADD_CONSTRAINT: u16 = 50;
    pub const CREATE_INDEX: u16 = 51;
    pub const CREATE_TRIGGER: u16 = 52;
    pub const POLICY: u16 = 53;
    pub const GRANT: u16 = 54;
    pub const COMMENT: u16 = 55;
    pub const DROP_COLUMN: u16 = 60;
    pub const DROP_TABLE: u16 = 61;
    pub const DROP_SEQUENCE: u16 = 62;
    pub const DROP_TYPE: u16 = 63;
    pub const DROP_EXTENSION: u16 = 64;
    pub const DROP_SCHEMA: u16 = 65;
}

/// What the plan works from: both catalogs, the options, what it found to refuse, and the
/// objects a change forces to be dropped and made again.
pub(crate) struct Planner<'a> {
    pub from: &'a Catalog,
    pub to: &'a Catalog,
    pub options: &'a Options,
    pub changes: Vec<Change>,
    pub refusals: Vec<String>,
    /// Objects of `from` that must go before a change and come back after it.
    pub recreate: BTreeSet<Object>,
}

impl Planner<'_> {
    pub fn change(
        &mut self,
        file: File,
        phase: u16,
        up: Vec<Statement>,
        down: Result<Vec<Statement>, String>,
    ) {
        self.changes.push(Change {
            file,
            phase,
            up,
            down,
        });
    }

    pub fn refuse(&mut self, line: impl Into<String>) {
        self.refusals.push(line.into());
    }

    /// `object`, and everything in `from` that depends on it, to be dropped and made again.
    pub fn recreate_dependents_of(&mut self, object: Object) {
        let mut pending = vec![object];
        while let Some(object) = pending.pop() {
            for (dependent, referenced) in &self.from.depends {
                if *referenced == object && self.recreate.insert(dependent.clone()) {
                    pending.push(dependent.clone());
                }
            }
        }
    }
}

/// The plan from `from` to `to`: the changes in order, or every refusal, one line each.
pub fn plan(from: &Catalog, to: &Catalog, options: &Options) -> Result<Vec<Change>, Vec<String>> {
    let mut planner = Planner {
        from,
        to,
        options,
        changes: Vec::new(),
        refusals: Vec::new(),
        recreate: BTreeSet::new(),
    };
    let unmodeled: Vec<&String> = from.unmodeled.symmetric_difference(&to.unmodeled).collect();
    for object in unmodeled {
        planner.refuse(format!(
            "{object}: autogenerate does not plan this kind of object; write this change in a migration by hand \
             (`cargo xtask migrate-create`)"
        ));
    }
    schemas::schemas(&mut planner);
    schemas::extensions(&mut planner);
    types::plan(&mut planner);
    sequences::plan(&mut planner);
    relations::plan(&mut planner);
    routines::plan(&mut planner);
    if !planner.refusals.is_empty() {
        return Err(planner.refusals);
    }
    let mut changes = planner.changes;
    changes.sort_by(|a, b| (&a.file, a.phase).cmp(&(&b.file, b.phase)));
    Ok(changes)
}
