//! Quoting for SQL text built by hand: one rule for the engine and the tooling. Both assume
//! `standard_conforming_strings` (on by default since PostgreSQL 9.1), where only the quote
//! character itself needs doubling.

/// A string literal: `it's` → `'it''s'`.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
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
    }
}
