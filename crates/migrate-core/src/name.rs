//! Migration file names, read exactly as sqlx 0.9 reads them (`sqlx-core/src/migrate/source.rs`),
//! and the stricter rule for names of new migrations.
//!
//! sqlx splits a name at its first `_`: the left part is the version (anything `i64` parses,
//! `0` and negative numbers included), the right part must end in `.sql`. A name without `_`,
//! or not ending in `.sql`, is skipped without a word; a version that does not parse makes sqlx
//! refuse the whole directory.

/// What a file holds, from its suffix (sqlx's `MigrationType`, in the same order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `<version>_<name>.sql`: applied, never reverted.
    Simple,
    /// `<version>_<name>.up.sql`
    Up,
    /// `<version>_<name>.down.sql`
    Down,
}

impl Kind {
    pub fn suffix(self) -> &'static str {
        match self {
            Kind::Simple => ".sql",
            Kind::Up => ".up.sql",
            Kind::Down => ".down.sql",
        }
    }

    /// Whether files of this kind are applied (sqlx's `is_up_migration`).
    pub fn is_up(self) -> bool {
        self != Kind::Down
    }
}

/// A parsed migration file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    pub version: i64,
    /// The name as written in the file name, e.g. `follow-accept-id` or `create_users`.
    pub name: String,
    pub kind: Kind,
}

impl FileName {
    /// `Ok(None)` for a name sqlx skips silently; `Err` for one that makes sqlx refuse.
    pub fn parse(file: &str) -> Result<Option<Self>, String> {
        let Some((version, rest)) = file.split_once('_') else {
            return Ok(None);
        };
        if !rest.ends_with(".sql") {
            return Ok(None);
        }
        let version: i64 = version.parse().map_err(|_| {
            format!(
                "version `{version}` is not a 64-bit integer, so sqlx refuses the whole directory; \
                 name the file <version>_<name>.up.sql, e.g. 20261121120000_create_jobs.up.sql"
            )
        })?;
        let kind = if rest.ends_with(Kind::Up.suffix()) {
            Kind::Up
        } else if rest.ends_with(Kind::Down.suffix()) {
            Kind::Down
        } else {
            Kind::Simple
        };
        // `trim_end_matches`, as sqlx does: `a.sql.sql` is named `a`.
        let name = rest.trim_end_matches(kind.suffix()).to_owned();
        Ok(Some(Self {
            version,
            name,
            kind,
        }))
    }

    /// The description sqlx records in the history table: the name with `_` as spaces.
    pub fn description(&self) -> String {
        self.name.replace('_', " ")
    }

    /// The file name for a version, name and kind: `20261121120000_create_jobs.up.sql`.
    pub fn render(version: i64, name: &str, kind: Kind) -> String {
        format!("{version}_{name}{}", kind.suffix())
    }
}

/// Words that say nothing about what a migration changes; a name made only of them is refused.
const VAGUE_WORDS: &[&str] = &[
    "fix",
    "fixes",
    "change",
    "changes",
    "update",
    "updates",
    "misc",
    "test",
    "tests",
    "wip",
    "tmp",
    "temp",
    "stuff",
    "things",
    "migration",
    "migrations",
    "new",
    "todo",
    "patch",
    "edit",
    "edits",
    "more",
    "foo",
    "bar",
    "baz",
    "asdf",
    "draft",
    "final",
    "data",
    "db",
];

/// The rule for names of *new* migrations (existing ones are taken as sqlx takes them):
/// snake_case, 3 to 60 characters, saying what changes. The error says how to pick another.
pub fn check_new_name(name: &str) -> Result<(), String> {
    let example = "e.g. create_users, add_users_email_index, drop_legacy_sessions";
    if !(3..=60).contains(&name.len()) {
        return Err(format!(
            "migration name {name:?} must be 3 to 60 characters ({example})"
        ));
    }
    let snake = name.split('_').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }) && name.as_bytes()[0].is_ascii_lowercase();
    if !snake {
        return Err(format!(
            "migration name {name:?} must be snake_case: lowercase letters, digits and single underscores, \
             starting with a letter ({example})"
        ));
    }
    if name.split('_').all(|w| VAGUE_WORDS.contains(&w)) {
        return Err(format!(
            "migration name {name:?} does not say what changes; name the change itself ({example})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(file: &str) -> (i64, String, Kind) {
        let name = FileName::parse(file).unwrap().unwrap();
        (name.version, name.name, name.kind)
    }

    #[test]
    fn names_split_at_the_first_underscore_as_sqlx_does() {
        assert_eq!(
            parsed("20260602122008_follow-accept-id.up.sql"),
            (20260602122008, "follow-accept-id".into(), Kind::Up)
        );
        assert_eq!(parsed("0_setup.sql"), (0, "setup".into(), Kind::Simple));
        assert_eq!(
            parsed("3_add_v2.1_ünïcode.down.sql"),
            (3, "add_v2.1_ünïcode".into(), Kind::Down)
        );
        assert_eq!(
            parsed("-5_negative.sql"),
            (-5, "negative".into(), Kind::Simple)
        );
        assert_eq!(parsed("7_twice.sql.sql"), (7, "twice".into(), Kind::Simple));
        assert_eq!(
            FileName::parse("1_a_b.up.sql")
                .unwrap()
                .unwrap()
                .description(),
            "a b"
        );
    }

    #[test]
    fn names_sqlx_skips_or_refuses() {
        for skipped in [
            "README.md",
            "1-create.up.sql",
            "1_create.up.sql.bak",
            "1_create.SQL",
        ] {
            assert_eq!(FileName::parse(skipped), Ok(None), "{skipped}");
        }
        let refused = FileName::parse("v1_create.sql").unwrap_err();
        assert!(
            refused.contains("`v1` is not a 64-bit integer"),
            "{refused}"
        );
    }

    #[test]
    fn new_names_must_be_descriptive_snake_case() {
        assert!(check_new_name("add_users_email_index").is_ok());
        assert!(check_new_name("create_v2_tables").is_ok());
        for bad in [
            "ab",
            "AddUsers",
            "add-users",
            "add__users",
            "_add",
            "add_",
            "9lives",
        ] {
            let err = check_new_name(bad).unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        assert!(check_new_name(&"x".repeat(61)).is_err());
        for vague in [
            "fix",
            "changes",
            "update",
            "misc",
            "wip",
            "fix_stuff",
            "misc_changes",
        ] {
            let err = check_new_name(vague).unwrap_err();
            assert!(err.contains("does not say what changes"), "{vague}: {err}");
        }
    }
}
