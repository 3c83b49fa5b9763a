//! Which steps go to the server together, and the message that carries them.

use std::time::Duration;

use super::{Grouping, Runner, Step};
use crate::message::{EXECUTION_TIME_NANOS, Message};

/// About this much work to a message...
const MESSAGE_TARGET: Duration = Duration::from_millis(25);
/// ...at most this many migrations (unless told otherwise)...
const MAX_PER_MESSAGE: usize = 64;
/// ...and no more text than this, once it holds one.
const MAX_MESSAGE_BYTES: usize = 512 * 1024;

impl Runner<'_> {
    /// The next steps that go to the server together.
    pub(super) fn chunk<'s, 'm>(
        &self,
        steps: &'s [Step<'m>],
        grouping: Grouping,
        limit: usize,
    ) -> &'s [Step<'m>] {
        if grouping == Grouping::Together {
            return steps;
        }
        // The first message creates the history table, and goes alone: what landed is read there.
        let limit = if self.history.needs_setup() { 1 } else { limit };
        let mut bytes = 0;
        let mut count = 0;
        for step in steps.iter().take(limit) {
            let script = step.script();
            let alone = script.no_transaction || script.controls_transactions;
            if count > 0 && (alone || bytes + script.sql.len() > MAX_MESSAGE_BYTES) {
                break;
            }
            bytes += script.sql.len();
            count += 1;
            if alone {
                break;
            }
        }
        &steps[..count]
    }

    /// The message for `chunk`. Its transactions commit without waiting for the WAL flush,
    /// except the last one of the run (`ends_run`): that commit makes all of them durable.
    /// `attempt` is the first step's (those after it are on their first).
    pub(super) fn message(
        &self,
        chunk: &[Step<'_>],
        grouping: Grouping,
        ends_run: bool,
        attempt: u32,
    ) -> Message {
        let mut message = Message::default();
        for (index, &step) in chunk.iter().enumerate() {
            if index == 0 || grouping != Grouping::Together {
                let last = grouping == Grouping::Together || index + 1 == chunk.len();
                message.begin(&self.limits, ends_run && last);
                message.push(&self.history.setup());
            }
            message.push_migration(index, &step.script().sql);
            let attempts = if index == 0 { attempt } else { 1 };
            message.push(&self.bookkeeping(step, EXECUTION_TIME_NANOS, attempts));
            if index + 1 == chunk.len() || grouping != Grouping::Together {
                message.push(self.before_commit.unwrap_or_default());
                message.commit();
            }
        }
        message
    }
}

/// How many migrations the next message holds, after `sent` took `took`.
pub(super) fn next_size(sent: usize, took: Duration) -> usize {
    let fit = match took.as_nanos() {
        0 => MAX_PER_MESSAGE,
        nanos => usize::try_from(MESSAGE_TARGET.as_nanos() * sent as u128 / nanos)
            .unwrap_or(MAX_PER_MESSAGE),
    };
    fit.min(sent * 2).clamp(1, MAX_PER_MESSAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_grow_with_fast_migrations_and_shrink_with_slow_ones() {
        let ms = Duration::from_millis;
        assert_eq!(next_size(1, ms(1)), 2, "at most doubling");
        assert_eq!(next_size(40, ms(4)), MAX_PER_MESSAGE, "capped");
        assert_eq!(next_size(16, ms(16)), 25, "about 25 ms of work");
        assert_eq!(next_size(10, ms(500)), 1, "slow ones go one by one");
        assert_eq!(next_size(4, Duration::ZERO), 8);
    }
}
