//! Quoting for SQL text built by hand: one rule for the engine and the tooling. Both assume
//! `standard_conforming_strings` (on by default since PostgreSQL 9.1), where only the quote
//! character itself needs doubling.

/// A string literal: `it's` → `'it''s'`.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A string literal, or `NULL`.
pub fn nullable(text: Option<&str>) -> String {
    text.map_or_else(|| "NULL".to_owned(), literal)
}

/// A `text[]` literal: `["a", "b"]` → `ARRAY['a','b']::text[]`.
pub fn text_array<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<String> = items.iter().map(|i| literal(i.as_ref())).collect();
    format!("ARRAY[{}]::text[]", items.join(","))
}

/// A quoted identifier: `Order "1"` → `"Order ""1"""`.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(ident("Order \"1\""), "\"Order \"\"1\"\"\"");
        assert_eq!(literal(""), "''");
        assert_eq!(nullable(None), "NULL");
        assert_eq!(nullable(Some("a'b")), "'a''b'");
        assert_eq!(text_array(&["x", "it's"]), "ARRAY['x','it''s']::text[]");
        assert_eq!(text_array::<&str>(&[]), "ARRAY[]::text[]");
    }
}
