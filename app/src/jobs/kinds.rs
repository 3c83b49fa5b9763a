//! The kinds of job a worker can run, and what each does with its payload.

use std::time::Duration;

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Returns its payload.
    Echo,
    /// `{"numbers": [1, 2.5]}` → `{"sum": 3.5}`.
    Sum,
    /// `{"ms": 250}`: sleeps, then returns `{"slept_ms": 250}`. At most 60 s.
    Sleep,
    /// `{"failures": 2}`: fails its first two attempts, then succeeds. Exercises retries.
    Flaky,
}

const MAX_SLEEP_MS: u64 = 60_000;

impl JobKind {
    pub const ALL: [JobKind; 4] = [JobKind::Echo, JobKind::Sum, JobKind::Sleep, JobKind::Flaky];

    pub fn parse(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Echo => "echo",
            JobKind::Sum => "sum",
            JobKind::Sleep => "sleep",
            JobKind::Flaky => "flaky",
        }
    }

    /// Checks a payload before the job is queued, so a bad one is refused at the door
    /// rather than failing in a worker later.
    pub fn validate(self, payload: &Value) -> Result<(), String> {
        match self {
            JobKind::Echo => Ok(()),
            JobKind::Sum => numbers(payload).map(drop),
            JobKind::Sleep => sleep_ms(payload).map(drop),
            JobKind::Flaky => failures(payload).map(drop),
        }
    }

    /// Runs one attempt (1-based) of a job of this kind.
    pub async fn run(self, payload: &Value, attempt: i32) -> Result<Value, String> {
        match self {
            JobKind::Echo => Ok(payload.clone()),
            JobKind::Sum => Ok(json!({ "sum": numbers(payload)?.iter().sum::<f64>() })),
            JobKind::Sleep => {
                let ms = sleep_ms(payload)?;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(json!({ "slept_ms": ms }))
            }
            JobKind::Flaky => {
                let failures = failures(payload)?;
                if i64::from(attempt) <= failures {
                    Err(format!("planned failure {attempt} of {failures}"))
                } else {
                    Ok(json!({ "succeeded_on_attempt": attempt }))
                }
            }
        }
    }
}

fn numbers(payload: &Value) -> Result<Vec<f64>, String> {
    payload
        .get("numbers")
        .and_then(Value::as_array)
        .ok_or("payload must be {\"numbers\": [...]}")?
        .iter()
        .map(|n| n.as_f64().ok_or_else(|| format!("{n} is not a number")))
        .collect()
}

fn sleep_ms(payload: &Value) -> Result<u64, String> {
    match payload.get("ms").and_then(Value::as_u64) {
        Some(ms) if ms <= MAX_SLEEP_MS => Ok(ms),
        _ => Err(format!("payload must be {{\"ms\": 0..={MAX_SLEEP_MS}}}")),
    }
}

fn failures(payload: &Value) -> Result<i64, String> {
    match payload.get("failures").and_then(Value::as_i64) {
        Some(n) if (0..=100).contains(&n) => Ok(n),
        _ => Err("payload must be {\"failures\": 0..=100}".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(JobKind::parse("nope"), None);
    }

    #[test]
    fn payloads_are_validated_per_kind() {
        assert!(JobKind::Sum.validate(&json!({"numbers": [1, 2]})).is_ok());
        assert!(JobKind::Sum.validate(&json!({"numbers": ["x"]})).is_err());
        assert!(JobKind::Sleep.validate(&json!({"ms": 60_001})).is_err());
        assert!(JobKind::Flaky.validate(&json!({})).is_err());
    }

    #[tokio::test]
    async fn flaky_fails_the_planned_number_of_attempts() {
        let payload = json!({"failures": 1});
        assert!(JobKind::Flaky.run(&payload, 1).await.is_err());
        assert_eq!(
            JobKind::Flaky.run(&payload, 2).await,
            Ok(json!({"succeeded_on_attempt": 2}))
        );
    }

    #[tokio::test]
    async fn sum_adds_its_numbers() {
        let result = JobKind::Sum.run(&json!({"numbers": [1, 2.5]}), 1).await;
        assert_eq!(result, Ok(json!({"sum": 3.5})));
    }
}
