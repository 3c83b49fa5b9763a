//! Comments, on any object: the same statement sets and clears them.

use migrate_core::quote::nullable;

use super::{File, Planner, Statement, phase};

/// `COMMENT ON target IS ...` when it changed.
pub(super) fn comment(
    planner: &mut Planner<'_>,
    target: &str,
    before: &Option<String>,
    after: &Option<String>,
) {
    if before == after {
        return;
    }
    let text = |comment: &Option<String>| nullable(comment.as_deref());
    planner.change(
        File::Main,
        phase::COMMENT,
        vec![Statement::new(format!(
            "COMMENT ON {target} IS {};",
            text(after)
        ))],
        Ok(vec![Statement::new(format!(
            "COMMENT ON {target} IS {};",
            text(before)
        ))]),
    );
}
