//! Timestamp versions, `YYYYMMDDHHMMSS` in UTC, as `sqlx migrate add` writes them: a new
//! migration's version, and the versions that follow one when a change spans several files.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

const FORMAT: &str = "%Y%m%d%H%M%S";

/// `time` as a version.
pub fn utc(time: DateTime<Utc>) -> i64 {
    time.format(FORMAT)
        .to_string()
        .parse()
        .expect("digits only")
}

/// The `n`th version after `version`: `n` seconds later for a timestamp, `n` more otherwise.
pub fn after(version: i64, n: usize) -> i64 {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    match NaiveDateTime::parse_from_str(&version.to_string(), FORMAT) {
        Ok(time) => (time + TimeDelta::seconds(n))
            .format(FORMAT)
            .to_string()
            .parse()
            .unwrap_or(version + n),
        Err(_) => version + n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(unix, 0).unwrap()
    }

    #[test]
    fn versions_are_utc_timestamps() {
        assert_eq!(utc(at(0)), 19700101000000);
        assert_eq!(utc(at(951_782_400)), 20000229000000); // a leap day
        assert_eq!(utc(at(1_795_268_096)), 20261121133456);
    }

    #[test]
    fn timestamps_count_seconds() {
        assert_eq!(after(20261202073058, 1), 20261202073059);
        assert_eq!(after(20261202073059, 1), 20261202073100);
        assert_eq!(after(20261202075959, 2), 20261202080001);
        assert_eq!(after(42, 3), 45);
    }
}
