//! The retry policy for DingTalk calls: exponential backoff with full jitter inside a bounded total
//! time, honouring `Retry-After`, only for errors that can heal.
//!
//! Only errors for which [`DingTalkError::is_retryable`] holds are retried (network failures,
//! 5xx, errcode -1, the rate-limit codes, 88 without sub_code). Token-invalid errors are left to
//! [`crate::token::TokenCache::with_token`].

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

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

    /// The largest backoff before retry number `retry` (1-based): `base_delay * 2^(retry-1)`,
    /// capped at `max_delay`.
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(31);
        self.base_delay
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The backoff before retry number `retry` (1-based), with full jitter, before `Retry-After`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let cap = self.backoff_cap(retry);
        cap.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }

    /// The wait before retry number `retry` after `err`: DingTalk's `Retry-After` when it sent
    /// one, otherwise the jittered backoff. A `Retry-After` is never shortened (retrying earlier
    /// than asked only prolongs a ban); when it reaches past `max_elapsed`, [`RetryPolicy::run`]
    /// gives up instead of waiting.
    pub fn wait_before(&self, retry: u32, err: &DingTalkError) -> Duration {
        match err.retry_after() {
            Some(after) => after,
            None => self.backoff(retry),
        }
    }

    /// Runs `op` until it succeeds, fails with a non-retryable error, or the policy is exhausted.
    /// Each retry is logged with `what` and the attempt number.
    pub async fn run<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, DingTalkError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, DingTalkError>>,
    {
        let started = Instant::now();
        let max_attempts = self.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let err = match op().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !err.is_retryable() || attempt >= max_attempts {
                return Err(err);
            }
            let wait = self.wait_before(attempt, &err);
            if started.elapsed().saturating_add(wait) > self.max_elapsed {
                log::warn!(
                    "{what}: attempt {attempt}/{max_attempts} failed ({err}); \
                     not retrying, the next wait of {wait:?} would exceed the {:?} budget",
                    self.max_elapsed
                );
                return Err(err);
            }
            log::warn!(
                "{what}: attempt {attempt}/{max_attempts} failed ({err}); retrying in {wait:?}"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}
