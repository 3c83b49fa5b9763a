//! Just enough SQL lexing to split a migration into statements: quotes, `E''` strings,
//! dollar quoting, nested block comments, line comments and `BEGIN ATOMIC ... END` bodies.
//! It does not parse SQL; PostgreSQL does that when the migration runs.

/// One statement of a script, without its trailing `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    pub text: &'a str,
    /// 1-based line of the statement's first significant character.
    pub line: usize,
    /// Upper-cased leading keywords (up to three), skipping comments.
    pub keywords: Vec<String>,
}

/// Splits `sql` into its non-empty statements (comment-only pieces are not statements).
pub fn statements(sql: &str) -> Vec<Statement<'_>> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut first_significant: Option<usize> = None;
    // Leading keywords are the words before any other token: `CREATE INDEX CONCURRENTLY`.
    let mut keywords: Vec<String> = Vec::new();
    let mut leading = true;
    let mut prev_word = String::new();
    // Inside `BEGIN ATOMIC ... END`, `;` does not end the statement; `CASE ... END` nests.
    let mut atomic_depth = 0usize;
    let mut i = 0;

    while i < bytes.len() {
        if let Some(after) = skip_comment(bytes, i) {
            i = after;
            continue;
        }
        let c = bytes[i];
        match c {
            b';' if atomic_depth == 0 => {
                if let Some(first) = first_significant.take() {
                    out.push(statement(sql, first, i, std::mem::take(&mut keywords)));
                }
                leading = true;
                prev_word.clear();
                i += 1;
                continue;
            }
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }

        first_significant.get_or_insert(i);
        if !is_ident_start(c) {
            leading = false;
            prev_word.clear();
        }
        match c {
            b'\'' => {
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && (i < 2 || !is_ident_byte(bytes[i - 2]));
                i = skip_quoted(bytes, i, b'\'', escapes);
            }
            b'"' => i = skip_quoted(bytes, i, b'"', false),
            b'$' => match dollar_tag(bytes, i) {
                Some(tag_len) => i = skip_dollar_quoted(bytes, i, tag_len),
                None => i += 1,
            },
            c if is_ident_start(c) => {
                let end = (i..bytes.len())
                    .find(|&j| !is_ident_byte(bytes[j]))
                    .unwrap_or(bytes.len());
                let word = sql[i..end].to_ascii_uppercase();
                if leading && keywords.len() < 3 {
                    keywords.push(word.clone());
                }
                match word.as_str() {
                    "ATOMIC" if prev_word == "BEGIN" => atomic_depth += 1,
                    "CASE" if atomic_depth > 0 => atomic_depth += 1,
                    "END" if atomic_depth > 0 => atomic_depth -= 1,
                    _ => {}
                }
                prev_word = word;
                i = end;
            }
            _ => i += 1,
        }
    }
    if let Some(first) = first_significant {
        out.push(statement(sql, first, sql.len(), keywords));
    }
    out
}

/// The words of one statement, comments skipped: identifiers and keywords as written
/// (qualified names such as `app."Users"` kept whole), quoted identifiers with their quotes,
/// and every other character on its own. String literals are dropped.
pub fn words(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut words: Vec<String> = Vec::new();
    let mut i = 0;
    let mut joins_previous = false; // the last word ended with `.`: the next part belongs to it
    while i < bytes.len() {
        if let Some(after) = skip_comment(bytes, i) {
            i = after;
            continue;
        }
        let c = bytes[i];
        let start = i;
        match c {
            c if c.is_ascii_whitespace() => {
                i += 1;
                joins_previous = false;
                continue;
            }
            b'\'' => {
                i = skip_quoted(bytes, i, b'\'', false);
                continue;
            }
            b'$' if dollar_tag(bytes, i).is_some() => {
                i = skip_dollar_quoted(bytes, i, dollar_tag(bytes, i).unwrap_or(1));
                continue;
            }
            b'"' => i = skip_quoted(bytes, i, b'"', false),
            c if is_ident_start(c) => {
                i = (i..bytes.len())
                    .find(|&j| !is_ident_byte(bytes[j]))
                    .unwrap_or(bytes.len());
            }
            b'.' if !words.is_empty() => {
                words.last_mut().expect("checked").push('.');
                joins_previous = true;
                i += 1;
                continue;
            }
            _ => i += 1,
        }
        let word = &text[start..i];
        match words.last_mut() {
            Some(last) if joins_previous && (c == b'"' || is_ident_start(c)) => last.push_str(word),
            _ => words.push(word.to_owned()),
        }
        joins_previous = false;
    }
    words
}

fn statement(sql: &str, first: usize, end: usize, keywords: Vec<String>) -> Statement<'_> {
    Statement {
        text: sql[first..end].trim_end(),
        line: sql[..first].matches('\n').count() + 1,
        keywords,
    }
}

fn find_byte(needle: u8, bytes: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|&b| b == needle)
        .map(|p| from + p)
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_byte(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

/// The index after a comment starting at `i` (`-- ...` to the end of the line, or a block
/// comment), or `None` when none starts there.
fn skip_comment(bytes: &[u8], i: usize) -> Option<usize> {
    match (bytes[i], bytes.get(i + 1)) {
        (b'-', Some(b'-')) => Some(find_byte(b'\n', bytes, i).unwrap_or(bytes.len())),
        (b'/', Some(b'*')) => Some(skip_block_comment(bytes, i)),
        _ => None,
    }
}

/// Skips `/* ... */`, which nests in PostgreSQL. Returns the index after it (or the end).
fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Skips a quoted string or identifier starting at `i`; a doubled quote is an escaped quote.
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8, backslash_escapes: bool) -> usize {
    i += 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslash_escapes => i += 2,
            c if c == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Length of the `$tag$` opening a dollar-quoted string at `i`, if that is what it is.
fn dollar_tag(bytes: &[u8], i: usize) -> Option<usize> {
    if i > 0 && is_ident_byte(bytes[i - 1]) {
        return None; // part of an identifier such as `a$b`
    }
    let mut j = i + 1;
    if bytes.get(j).is_some_and(|c| c.is_ascii_digit()) {
        return None; // a parameter such as `$1`
    }
    while j < bytes.len()
        && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] >= 0x80)
    {
        j += 1;
    }
    (bytes.get(j) == Some(&b'$')).then_some(j + 1 - i)
}

fn skip_dollar_quoted(bytes: &[u8], i: usize, tag_len: usize) -> usize {
    let tag = &bytes[i..i + tag_len];
    let body = i + tag_len;
    bytes[body..]
        .windows(tag_len)
        .position(|w| w == tag)
        .map_or(bytes.len(), |p| body + p + tag_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        statements(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_and_drops_empty_pieces() {
        assert_eq!(
            texts("CREATE TABLE a (x int);\n\n;CREATE TABLE b (y int)"),
            ["CREATE TABLE a (x int)", "CREATE TABLE b (y int)"]
        );
    }

    #[test]
    fn comments_alone_are_not_statements() {
        assert!(statements("-- nothing here;\n/* nor; here */\n").is_empty());
    }

    #[test]
    fn semicolons_inside_quotes_and_comments_do_not_split() {
        let sql = "INSERT INTO t VALUES ('a;b', E'c\\';d', \"we;ird\"); -- x;y\n/* a /* nested; */ ; */ SELECT 1";
        assert_eq!(texts(sql).len(), 2, "{:?}", texts(sql));
    }

    #[test]
    fn dollar_quoted_bodies_are_one_statement() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $fn$ BEGIN RETURN 1; END; $fn$ LANGUAGE plpgsql;\nDO $$ BEGIN PERFORM 1; END $$;";
        assert_eq!(texts(sql).len(), 2);
    }

    #[test]
    fn parameters_and_identifiers_with_dollars_are_not_quotes() {
        assert_eq!(texts("PREPARE p AS SELECT $1; SELECT a$b FROM t;").len(), 2);
    }

    #[test]
    fn begin_atomic_bodies_keep_their_semicolons() {
        let sql = "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END; SELECT 2; END;\nSELECT 3;";
        assert_eq!(texts(sql).len(), 2, "{:?}", texts(sql));
    }

    #[test]
    fn reports_leading_keywords_and_lines() {
        let stmts =
            statements("-- header\n\ncreate index /* c */ concurrently i on t (x);\nCOMMIT;");
        assert_eq!(stmts[0].keywords, ["CREATE", "INDEX", "CONCURRENTLY"]);
        assert_eq!(stmts[0].line, 3);
        assert_eq!(stmts[1].keywords, ["COMMIT"]);
        assert_eq!(stmts[1].line, 4);
    }

    #[test]
    fn words_keep_qualified_and_quoted_names_whole() {
        assert_eq!(
            words("ALTER TABLE app.\"Users\" /* c */ RENAME TO people; -- x"),
            [
                "ALTER",
                "TABLE",
                "app.\"Users\"",
                "RENAME",
                "TO",
                "people",
                ";"
            ]
        );
        assert_eq!(words("DROP TABLE a , b"), ["DROP", "TABLE", "a", ",", "b"]);
        assert_eq!(
            words("INSERT INTO t VALUES ('a b')"),
            ["INSERT", "INTO", "t", "VALUES", "(", ")"]
        );
    }

    #[test]
    fn unterminated_quotes_swallow_the_rest_without_panicking() {
        assert_eq!(texts("SELECT 'oops; SELECT 2;").len(), 1);
        assert_eq!(texts("SELECT $x$ never closed").len(), 1);
        assert_eq!(texts("/* open").len(), 0);
    }
}
