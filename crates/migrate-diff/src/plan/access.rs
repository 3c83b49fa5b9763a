//! Who may see and change what: a table's row-level security and policies, and the grants on
//! any object.

use std::collections::BTreeSet;

use super::{File, Planner, Statement, phase};
use crate::catalog::{Name, Object, Table, ident};

/// Row-level security and its policies; a changed policy is made again
/// ([`super::routines`]).
pub(super) fn policies(planner: &mut Planner<'_>, table: &Name, before: &Table, after: &Table) {
    for (on, off, old, new) in [
        ("ENABLE", "DISABLE", before.row_security, after.row_security),
        (
            "FORCE",
            "NO FORCE",
            before.force_row_security,
            after.force_row_security,
        ),
    ] {
        if old != new {
            let (up, down) = if new { (on, off) } else { (off, on) };
            let set = |how: &str| {
                Statement::new(format!("ALTER TABLE {table} {how} ROW LEVEL SECURITY;"))
            };
            planner.change(
                File::Main,
                phase::POLICY,
                vec![set(up)],
                Ok(vec![set(down)]),
            );
        }
    }
    for (name, old) in &before.policies {
        if after.policies.get(name) != Some(old) {
            planner
                .recreate
                .insert(Object::Policy(table.clone(), name.clone()));
        }
    }
    for name in after.policies.keys() {
        if !before.policies.contains_key(name) {
            let create = super::routines::create_policy(planner.to, table, name);
            planner.change(
                File::Main,
                phase::POLICY,
                vec![Statement::new(create)],
                Ok(vec![Statement::new(format!(
                    "DROP POLICY {} ON {table};",
                    ident(name)
                ))]),
            );
        }
    }
}

/// `GRANT` and `REVOKE` between two sets of `(grantee, privilege)` on `object`.
pub(super) fn grants(
    planner: &mut Planner<'_>,
    kind: &str,
    object: &str,
    before: &BTreeSet<(String, String)>,
    after: &BTreeSet<(String, String)>,
) {
    let grant = |(grantee, privilege): &(String, String)| {
        Statement::new(format!(
            "GRANT {privilege} ON {kind} {object} TO {grantee};"
        ))
    };
    let revoke = |(grantee, privilege): &(String, String)| {
        Statement::new(format!(
            "REVOKE {privilege} ON {kind} {object} FROM {grantee};"
        ))
    };
    for added in after.difference(before) {
        planner.change(
            File::Main,
            phase::GRANT,
            vec![grant(added)],
            Ok(vec![revoke(added)]),
        );
    }
    for removed in before.difference(after) {
        planner.change(
            File::Main,
            phase::GRANT,
            vec![revoke(removed)],
            Ok(vec![grant(removed)]),
        );
    }
}
