//! A token cache keyed by (app, corp): early refresh before expiry, at most one refresh in flight
//! per key, invalidation, and "refresh once and retry" for calls failing with token-invalid.
//!
//! SKELETON: bodies are filled in by the client work; signatures are the contract.

use std::future::Future;
use std::time::Duration;

use secrecy::SecretString;

use crate::error::DingTalkError;

/// The cache key: the app (SuiteKey or AppKey) and the corp (empty for app-level tokens).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    /// SuiteKey or AppKey.
    pub app: String,
    /// The corp the token is for.
    pub corp: String,
}

/// An access token with its lifetime as DingTalk stated it.
#[derive(Clone)]
pub struct AccessToken {
    /// The token. Secret.
    pub token: SecretString,
    /// `expireIn` / `expires_in` in seconds (None or non-positive: treated as a short default).
    pub expires_in: Option<i64>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Counters a service can export as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCacheStats {
    /// Token fetches started.
    pub refreshes: u64,
    /// Token fetches that failed.
    pub refresh_failures: u64,
}

/// The token cache. Cheap to clone (shared state).
#[derive(Clone)]
pub struct TokenCache {
    /// Refresh this long before the stated expiry.
    pub early_refresh: Duration,
    /// Lifetime assumed when DingTalk's expiry is missing or non-positive.
    pub default_ttl: Duration,
    // implementation state added by the client work
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new(Duration::from_secs(300), Duration::from_secs(60))
    }
}

impl TokenCache {
    /// A cache refreshing `early_refresh` before expiry and assuming `default_ttl` when the expiry
    /// is missing or non-positive (the margin is capped at half the lifetime).
    pub fn new(early_refresh: Duration, default_ttl: Duration) -> Self {
        TokenCache {
            early_refresh,
            default_ttl,
        }
    }

    /// The cached token for `key`, or the result of `fetch` (run at most once at a time per key;
    /// concurrent callers wait for that one fetch).
    pub async fn get<F, Fut>(&self, key: &TokenKey, fetch: F) -> Result<SecretString, DingTalkError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, DingTalkError>>,
    {
        let _ = (key, fetch);
        todo!()
    }

    /// Forgets the token for `key`.
    pub fn invalidate(&self, key: &TokenKey) {
        let _ = key;
        todo!()
    }

    /// Runs `op` with the token for `key`; if it fails with a token-invalid error, invalidates,
    /// fetches once more and retries `op` once.
    pub async fn with_token<T, F, Fut, Op, OpFut>(
        &self,
        key: &TokenKey,
        fetch: F,
        op: Op,
    ) -> Result<T, DingTalkError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<AccessToken, DingTalkError>>,
        Op: Fn(SecretString) -> OpFut,
        OpFut: Future<Output = Result<T, DingTalkError>>,
    {
        let _ = (key, fetch, op);
        todo!()
    }

    /// Counters since the cache was made.
    pub fn stats(&self) -> TokenCacheStats {
        todo!()
    }
}
