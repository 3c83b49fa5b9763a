//! `--single-transaction`: every step in one transaction, all or nothing. A lock wait given up
//! retries the whole batch; a failure rolls all of it back.

use super::{Runner, send::Reply};
use crate::{
    error::{Error, Result},
    message::Message,
    retry,
    step::Step,
};

impl Runner<'_> {
    /// Runs `steps` in one transaction.
    pub async fn together(&mut self, steps: &[Step<'_>]) -> Result<()> {
        let mut attempt = 1;
        loop {
            if let Some(signal) = self.shutdown.requested() {
                return Err(Error::interrupted(signal, "nothing was changed"));
            }
            let message = Message::together(&self.frame(), steps, attempt);
            let Reply {
                landed,
                error,
                blocker,
                interrupted,
            } = self.send(&message, steps).await;
            let Some(error) = error else {
                self.history.created();
                return Ok(());
            };
            if error.as_database_error().is_none() {
                return Err(self.failure(&error, steps, None, attempt, None));
            }
            let located = super::failure::position(&error).and_then(|position| {
                message.locate(position, |index| steps[index].script().sql.clone())
            });
            let nothing_ran = interrupted.is_none() && super::failure::nothing_ran(&error, located);
            // Rows arrive only after the COMMIT; without them, the history says whether it
            // committed before the error (a cancel, say) took their place.
            let committed = !landed.is_empty()
                || (!nothing_ran && self.rollback_and_count(steps).await? == steps.len());
            if committed {
                self.history.created();
                return Ok(());
            }
            if let Some(signal) = interrupted {
                return Err(self.interrupted(steps[0], signal, attempt).await);
            }
            if retry::is_lock_timeout(&error) && attempt < self.lock_retries {
                self.pause_before_retry(steps, attempt, blocker.as_ref())
                    .await?;
                attempt += 1;
                continue;
            }
            let located = match located {
                Some(at) => Some((at.index, at.line)),
                None => self.find_failing(steps).await.map(|index| (index, 0)),
            };
            return Err(self
                .fail(steps, &error, located, attempt, blocker.as_ref())
                .await);
        }
    }
}
