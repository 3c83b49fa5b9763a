//! When a migration gives up waiting for a table lock (`lock_timeout`, SQLSTATE 55P03), it is
//! rolled back and tried again after a pause. Pauses grow, so a table that stays busy is not
//! hammered, and are jittered, so that runners and traffic do not fall into step.

use std::time::Duration;

use migrate_core::sqlstate;

use crate::error::has_sqlstate;

const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// The pause after attempt `attempt` (1-based): 0.25 s, 0.5 s, 1 s, ... capped at 5 s, each
/// scaled by a random 50–100 %. With the default 30 attempts of 100 ms, a migration gives up
/// after at most about 2 minutes; a lock released within 4 s is taken within 8 s.
pub(crate) fn pause(attempt: u32) -> Duration {
    base(attempt).mul_f64(0.5 + fastrand::f64() * 0.5)
}

fn base(attempt: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(1 << (attempt.max(1) - 1).min(10))
        .min(MAX_PAUSE)
}

/// Whether an error is a lock wait given up (the only error worth retrying as it is).
pub(crate) fn is_lock_timeout(error: &sqlx::Error) -> bool {
    has_sqlstate(error, sqlstate::LOCK_NOT_AVAILABLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_stay_bounded() {
        for attempt in 1..=20 {
            let pause = pause(attempt);
            let base = base(attempt);
            assert!(
                pause >= base / 2 && pause <= base,
                "attempt {attempt}: {pause:?}"
            );
            assert!(base <= MAX_PAUSE);
        }
        assert_eq!(base(1), FIRST_PAUSE);
        assert_eq!(base(2), FIRST_PAUSE * 2);
    }
}
