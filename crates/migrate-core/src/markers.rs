//! Markers that accept a finding on purpose, with a reason, in a migration's own text:
//! `-- squawk-ignore ban-drop-column: nothing reads it since release 12` for the linter,
//! `-- rehearse-ignore table-rewrite: the table holds a few hundred rows` for the rehearsal.

/// A reason shorter than this is not a reason.
pub const MIN_REASON: usize = 10;

/// One `<tool>-ignore` marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// 1-based.
    pub line: usize,
    /// Where the marker starts in its line (at `<tool>-ignore`).
    pub column: usize,
    /// The rules it names, as written.
    pub rules: Vec<String>,
    /// What follows the `:`, trimmed; empty when there is none.
    pub reason: String,
}

impl Marker {
    /// Whether it says why, in enough words to be a reason.
    pub fn has_reason(&self) -> bool {
        self.reason.len() >= MIN_REASON
    }
}

/// Every `-- <tool>-ignore rule[, rule]: reason` marker in `text`.
pub fn markers(text: &str, tool: &str) -> Vec<Marker> {
    let keyword = format!("{tool}-ignore");
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let column = line.find(&keyword)?;
            line[..column].trim_end().ends_with("--").then_some(())?;
            let rest = &line[column + keyword.len()..];
            let (rules, reason) = rest.split_once(':').unwrap_or((rest, ""));
            Some(Marker {
                line: i + 1,
                column,
                rules: rules
                    .split([',', ' '])
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect(),
                reason: reason.trim().to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_carry_rules_and_reasons() {
        let text = "-- rehearse-ignore table-rewrite, access-exclusive: a few hundred rows at most\n\
                    ALTER TABLE t ALTER COLUMN x TYPE bigint;\n  -- squawk-ignore ban-drop-column\n";
        let found = markers(text, "rehearse");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rules, ["table-rewrite", "access-exclusive"]);
        assert!(found[0].has_reason());
        let squawk = markers(text, "squawk");
        assert_eq!((squawk[0].line, squawk[0].column), (3, 5));
        assert!(!squawk[0].has_reason());
        assert!(
            markers("SELECT 'squawk-ignore x';", "squawk").is_empty(),
            "only in comments"
        );
    }
}
