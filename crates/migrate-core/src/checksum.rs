//! The checksum sqlx records for a migration: SHA-384 of its text, without the characters
//! `sqlx.toml` tells it to ignore (`[migrate] ignored-chars`).

use std::collections::BTreeSet;

use sha2::{Digest, Sha384};

/// sqlx's checksum of `sql` (`checksum_with` in `sqlx-core/src/migrate/source.rs`).
pub fn checksum(sql: &str, ignored_chars: &BTreeSet<char>) -> Vec<u8> {
    let mut digest = Sha384::new();
    if ignored_chars.is_empty() {
        digest.update(sql);
    } else {
        for fragment in sql.split(|c| ignored_chars.contains(&c)) {
            digest.update(fragment);
        }
    }
    digest.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_characters_do_not_count() {
        let crlf = "CREATE TABLE t (id int);\r\n";
        let lf = "CREATE TABLE t (id int);\n";
        let none = BTreeSet::new();
        assert_ne!(checksum(crlf, &none), checksum(lf, &none));
        assert_eq!(checksum(crlf, &BTreeSet::from(['\r'])), checksum(lf, &none));
        assert_eq!(checksum(lf, &none).len(), 48);
    }
}
