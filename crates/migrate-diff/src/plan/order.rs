//! Dependency order: what is referenced comes before what references it.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Catalog, Name, Object};

/// `objects`, each after those of them it depends on (by `depends`, transitively through
/// objects outside the list too); a cycle is broken in name order.
pub(super) fn topological(
    objects: &BTreeSet<Object>,
    depends: &BTreeSet<(Object, Object)>,
) -> Vec<Object> {
    // Edges among the listed objects, through unlisted ones as well.
    let mut needs: BTreeMap<&Object, BTreeSet<&Object>> = BTreeMap::new();
    for object in objects {
        let mut seen = BTreeSet::new();
        let mut pending = vec![object];
        while let Some(current) = pending.pop() {
            for (dependent, referenced) in depends {
                if dependent == current && seen.insert(referenced) {
                    pending.push(referenced);
                }
            }
        }
        needs.insert(
            object,
            seen.into_iter()
                .filter(|o| objects.contains(*o) && *o != object)
                .collect(),
        );
    }
    let mut ordered: Vec<Object> = Vec::new();
    let mut done: BTreeSet<&Object> = BTreeSet::new();
    while done.len() < objects.len() {
        let ready: Vec<&Object> = objects
            .iter()
            .filter(|o| !done.contains(o) && needs[o].iter().all(|n| done.contains(n)))
            .collect();
        let next = if ready.is_empty() {
            // A cycle: take the first one left, in name order.
            vec![
                objects
                    .iter()
                    .find(|o| !done.contains(o))
                    .expect("one is left"),
            ]
        } else {
            ready
        };
        for object in next {
            done.insert(object);
            ordered.push(object.clone());
        }
    }
    ordered
}

/// `tables`, each after the tables its foreign keys reference.
pub(super) fn tables_by_references(catalog: &Catalog, tables: &[Name]) -> Vec<Name> {
    let objects: BTreeSet<Object> = tables.iter().cloned().map(Object::Table).collect();
    topological(&objects, &catalog.depends)
        .into_iter()
        .filter_map(|o| match o {
            Object::Table(name) => Some(name),
            _ => None,
        })
        .collect()
}
