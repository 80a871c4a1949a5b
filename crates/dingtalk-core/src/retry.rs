//! The retry policy for DingTalk calls: exponential backoff with full jitter inside a bounded total
//! time, honouring `Retry-After`, only for errors that can heal.
//!
//! SKELETON: bodies are filled in by the client work; signatures are the contract.

use std::future::Future;
use std::time::Duration;

use crate::error::DingTalkError;

/// How transient DingTalk failures are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The first backoff; doubled each attempt.
    pub base_delay: Duration,
    /// The largest single backoff.
    pub max_delay: Duration,
    /// The whole call (attempts and waits) never takes longer than this: a retry whose wait would
    /// end past it is not made.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The backoff before retry number `retry` (1-based), with full jitter, before `Retry-After`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let _ = retry;
        todo!()
    }

    /// Runs `op` until it succeeds, fails with a non-retryable error, or the policy is exhausted.
    /// Each retry is logged with `what` and the attempt number.
    pub async fn run<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, DingTalkError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, DingTalkError>>,
    {
        let _ = (what, &mut op);
        todo!()
    }
}
