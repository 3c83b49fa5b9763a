//! How many migrations go to the server in one message: as many as the server took about
//! [`MESSAGE_TARGET`] to run before, measured on the server, so a slow link does not read as
//! slow migrations. Messages start at one migration and grow at most [`GROWTH`]-fold; slow
//! migrations still go one by one; rows streaming back as each commits keep the log current,
//! and a runner that dies mid-message leaves the server at most a second of it to finish
//! (`client_connection_check_interval`).

use std::time::Duration;

use crate::step::Step;

/// About this much server time to a message...
const MESSAGE_TARGET: Duration = Duration::from_millis(250);
/// ...growing at most this fast (slow migrations are one to a message anyway: they take the
/// target on their own)...
const GROWTH: usize = 16;
/// ...at most this many migrations (unless told otherwise)...
const MAX_PER_MESSAGE: usize = 1000;
/// ...and no more text than this, once it holds one.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// The size of the next message.
pub(super) struct Sizing {
    /// `--per-message N`: always at most N.
    fixed: Option<usize>,
    next: usize,
}

impl Sizing {
    pub fn new(per_message: Option<usize>) -> Self {
        Self {
            fixed: per_message,
            next: per_message.unwrap_or(1),
        }
    }

    /// How many of `steps`, from the first, go next: at most `limit` when given; one when the
    /// history table is still to be created (what landed is read there); a step that goes
    /// alone ends a message, or is one.
    pub fn chunk(&self, steps: &[Step<'_>], needs_setup: bool, limit: Option<usize>) -> usize {
        let limit = match (needs_setup, limit) {
            (true, _) => 1,
            (false, Some(limit)) => limit.min(self.next),
            (false, None) => self.next,
        };
        let mut bytes = 0;
        let mut count = 0;
        for step in steps.iter().take(limit) {
            let size = step.script().sql.len();
            if count > 0 && (step.goes_alone() || bytes + size > MAX_MESSAGE_BYTES) {
                break;
            }
            bytes += size;
            count += 1;
            if step.goes_alone() {
                break;
            }
        }
        count
    }

    /// `sent` migrations took `server_time` on the server.
    pub fn sent(&mut self, sent: usize, server_time: Duration) {
        if self.fixed.is_some() {
            return;
        }
        self.next = next_size(sent, server_time);
    }
}

/// How many migrations the next message holds, after `sent` took `took` on the server.
fn next_size(sent: usize, took: Duration) -> usize {
    let fit = match took.as_nanos() {
        0 => MAX_PER_MESSAGE,
        nanos => usize::try_from(MESSAGE_TARGET.as_nanos() * sent as u128 / nanos)
            .unwrap_or(MAX_PER_MESSAGE),
    };
    fit.min(sent * GROWTH).clamp(1, MAX_PER_MESSAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_grow_with_fast_migrations_and_shrink_with_slow_ones() {
        let ms = Duration::from_millis;
        assert_eq!(next_size(1, ms(1)), 16, "at most sixteenfold");
        assert_eq!(next_size(400, ms(40)), MAX_PER_MESSAGE, "capped");
        assert_eq!(next_size(100, ms(100)), 250, "about 250 ms of server time");
        assert_eq!(next_size(10, ms(5000)), 1, "slow ones go one by one");
        assert_eq!(next_size(4, Duration::ZERO), 64);
    }
}
