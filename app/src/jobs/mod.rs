//! Background jobs: the small real domain behind the api and the workers.
//!
//! The api queues a job (a kind and a JSON payload); a worker claims it with
//! `FOR UPDATE SKIP LOCKED`, runs it under a lease, and records the result or the error.
//! Failed attempts are retried with exponential backoff up to the job's `max_attempts`.

mod kinds;
mod store;

pub use kinds::JobKind;
pub use store::{ClaimedJob, FailOutcome, Job, JobStatus, JobStore};

/// Attempts a job gets unless its creator asks otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 3;
/// The most attempts a job may ask for.
pub const MAX_ATTEMPTS_LIMIT: i32 = 20;
