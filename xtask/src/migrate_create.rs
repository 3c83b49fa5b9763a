//! `migrate-create NAME`: a new migration pair whose version is newer than every existing one.
//!
//! The version is the UTC time (`YYYYMMDDHHMMSS`), or one more than the newest existing version
//! when that is later, decided while holding a lock on `migrations/`: two creates in the same
//! second, even at the same moment, get distinct versions.

use std::{
    fs::{self, File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail};
use xshell::Shell;

use crate::{flags, project_root};

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

impl flags::MigrateCreate {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let (up, down) = create(&project_root().join("migrations"), &self.name, unix_now())?;
        for path in [up, down] {
            println!(
                "created {}",
                path.strip_prefix(project_root()).unwrap_or(&path).display()
            );
        }
        eprintln!(
            "write the up file, write or delete the down file, then `cargo xtask migrate-up`"
        );
        Ok(())
    }
}

/// Checks a migration name; the error says how to pick a better one.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let example = "e.g. create_users, add_users_email_index, drop_legacy_sessions";
    if !(3..=60).contains(&name.len()) {
        bail!("migration name {name:?} must be 3 to 60 characters ({example})");
    }
    let snake = name.split('_').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }) && name.as_bytes()[0].is_ascii_lowercase();
    if !snake {
        bail!(
            "migration name {name:?} must be snake_case: lowercase letters, digits and single underscores, \
             starting with a letter ({example})"
        );
    }
    if name.split('_').all(|w| VAGUE_WORDS.contains(&w)) {
        bail!(
            "migration name {name:?} does not say what changes; name the change itself ({example})"
        );
    }
    Ok(())
}

/// Writes the pair in `dir` and returns their paths.
pub fn create(dir: &Path, name: &str, now_unix: u64) -> anyhow::Result<(PathBuf, PathBuf)> {
    check_name(name)?;
    // Held until the files exist, so concurrent creates see each other's versions.
    let lock = File::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", dir.display()))?;

    let mut newest = 0i64;
    for entry in fs::read_dir(dir)? {
        let file = entry?.file_name().to_string_lossy().into_owned();
        let Some((version, rest)) = file.split_once('_') else {
            continue;
        };
        let Ok(version) = version.parse::<i64>() else {
            continue;
        };
        let existing_name = rest
            .trim_end_matches(".sql")
            .trim_end_matches(".up")
            .trim_end_matches(".down");
        if existing_name == name {
            bail!(
                "a migration named {name:?} already exists ({file}); choose a name that says what this one changes"
            );
        }
        newest = newest.max(version);
    }
    let version = utc_version(now_unix).max(newest + 1);

    let up = dir.join(format!("{version}_{name}.up.sql"));
    let down = dir.join(format!("{version}_{name}.down.sql"));
    write_new(
        &up,
        &format!(
            "-- {version} {name}\n\
             -- Runs in one transaction with its history row. A statement that cannot run in a\n\
             -- transaction (CREATE INDEX CONCURRENTLY) needs `-- no-transaction` as the very first line,\n\
             -- and must be alone in its file.\n\n"
        ),
    )?;
    write_new(
        &down,
        &format!(
            "-- Revert {version} {name}: undo exactly what the up file does.\n\
             -- If it cannot be undone, delete this file: the migration is then irreversible.\n\n"
        ),
    )?;
    Ok((up, down))
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `YYYYMMDDHHMMSS` in UTC for a Unix time.
pub fn utc_version(unix: u64) -> i64 {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (
        (secs / 3600) as i64,
        (secs % 3600 / 60) as i64,
        (secs % 60) as i64,
    );
    ((((year * 100 + month) * 100 + day) * 100 + h) * 100 + m) * 100 + s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_utc_timestamps() {
        assert_eq!(utc_version(0), 19700101000000);
        assert_eq!(utc_version(951_782_400), 20000229000000); // a leap day
        assert_eq!(utc_version(1_795_268_096), 20261121133456);
    }

    #[test]
    fn names_must_be_descriptive_snake_case() {
        assert!(check_name("add_users_email_index").is_ok());
        assert!(check_name("create_v2_tables").is_ok());
        for bad in [
            "ab",
            "AddUsers",
            "add-users",
            "add__users",
            "_add",
            "add_",
            "9lives",
            &"x".repeat(61),
        ] {
            let err = check_name(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        for vague in [
            "fix",
            "changes",
            "update",
            "misc",
            "test",
            "wip",
            "fix_stuff",
            "misc_changes",
        ] {
            let err = check_name(vague).unwrap_err().to_string();
            assert!(err.contains("does not say what changes"), "{vague}: {err}");
        }
    }

    #[test]
    fn two_creates_in_the_same_second_get_distinct_increasing_versions() {
        let dir = tempdir();
        let now = 1_795_268_096;
        let (first, _) = create(&dir, "create_users", now).unwrap();
        let (second, _) = create(&dir, "add_users_email", now).unwrap();
        assert!(
            first.ends_with("20261121133456_create_users.up.sql"),
            "{}",
            first.display()
        );
        assert!(
            second.ends_with("20261121133457_add_users_email.up.sql"),
            "{}",
            second.display()
        );
    }

    #[test]
    fn a_version_is_newer_than_every_existing_one_even_with_a_slow_clock() {
        let dir = tempdir();
        fs::write(
            dir.join("20991231235959_from_the_future.up.sql"),
            "SELECT 1;\n",
        )
        .unwrap();
        let (up, down) = create(&dir, "create_users", 1_795_268_096).unwrap();
        assert!(
            up.ends_with("20991231235960_create_users.up.sql"),
            "{}",
            up.display()
        );
        assert!(
            down.ends_with("20991231235960_create_users.down.sql"),
            "{}",
            down.display()
        );
    }

    #[test]
    fn concurrent_creates_never_collide() {
        let dir = tempdir();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    create(&dir, &format!("create_table_{i}"), 1_795_268_096).unwrap()
                })
            })
            .collect();
        let mut versions: Vec<String> = threads
            .into_iter()
            .map(|t| t.join().unwrap().0.file_name().unwrap().to_string_lossy()[..14].to_owned())
            .collect();
        versions.sort();
        versions.dedup();
        assert_eq!(versions.len(), 8, "{versions:?}");
    }

    #[test]
    fn a_duplicate_name_is_refused() {
        let dir = tempdir();
        create(&dir, "create_users", 1_795_268_096).unwrap();
        let err = create(&dir, "create_users", 1_795_268_100)
            .unwrap_err()
            .to_string();
        assert!(err.contains("already exists"), "{err}");
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-create-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
