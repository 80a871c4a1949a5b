//! A token cache keyed by (app, corp): early refresh before expiry, at most one refresh in flight
//! per key, invalidation, and "refresh once and retry" for calls failing with token-invalid.
//!
//! Each key has a slot guarded by a `tokio::sync::Mutex`: the caller holding it fetches, every
//! other caller for that key waits and then reads the fresh token. A failed fetch stores
//! nothing, so the next caller fetches again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

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

/// The longest lifetime the cache believes: a day.
pub const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A cached token and when to stop using it.
struct Cached {
    token: SecretString,
    refresh_at: Instant,
    generation: u64,
}

/// One key's state: the token (behind the async lock that also serialises fetches) and a
/// generation bumped by [`TokenCache::invalidate`].
#[derive(Default)]
struct Slot {
    generation: AtomicU64,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

#[derive(Default)]
struct Shared {
    slots: Mutex<HashMap<TokenKey, Arc<Slot>>>,
    refreshes: AtomicU64,
    refresh_failures: AtomicU64,
}

/// The token cache. Cheap to clone (shared state).
#[derive(Clone)]
pub struct TokenCache {
    /// Refresh this long before the stated expiry.
    pub early_refresh: Duration,
    /// Lifetime assumed when DingTalk's expiry is missing or non-positive.
    pub default_ttl: Duration,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("early_refresh", &self.early_refresh)
            .field("default_ttl", &self.default_ttl)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
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
            shared: Arc::default(),
        }
    }

    /// How long a token with DingTalk's stated `expires_in` is used before it is refreshed:
    /// the lifetime (or `default_ttl` when missing or non-positive) minus
    /// `min(early_refresh, lifetime / 2)`. A stated lifetime beyond [`MAX_LIFETIME`] is treated
    /// as `MAX_LIFETIME` (DingTalk's tokens live 7200 s).
    pub fn usable_for(&self, expires_in: Option<i64>) -> Duration {
        let lifetime = match expires_in.and_then(|s| u64::try_from(s).ok()) {
            Some(secs) if secs > 0 => Duration::from_secs(secs).min(MAX_LIFETIME),
            _ => self.default_ttl.min(MAX_LIFETIME),
        };
        lifetime - self.early_refresh.min(lifetime / 2)
    }

    fn slot(&self, key: &TokenKey) -> Arc<Slot> {
        let mut slots = match self.shared.slots.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        slots.entry(key.clone()).or_default().clone()
    }

    /// The cached token for `key`, or the result of `fetch` (run at most once at a time per key;
    /// concurrent callers wait for that one fetch).
    pub async fn get<F, Fut>(&self, key: &TokenKey, fetch: F) -> Result<SecretString, DingTalkError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, DingTalkError>>,
    {
        let slot = self.slot(key);
        let mut cached = slot.cached.lock().await;
        // Read after taking the lock: an invalidation that happened while we waited counts.
        let generation = slot.generation.load(Ordering::SeqCst);
        if let Some(c) = cached.as_ref() {
            if c.generation == generation && Instant::now() < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        *cached = None;
        self.shared.refreshes.fetch_add(1, Ordering::Relaxed);
        let fetched_at = Instant::now();
        match fetch().await {
            Ok(token) => {
                *cached = Some(Cached {
                    token: token.token.clone(),
                    refresh_at: fetched_at + self.usable_for(token.expires_in),
                    generation,
                });
                Ok(token.token)
            }
            Err(err) => {
                self.shared.refresh_failures.fetch_add(1, Ordering::Relaxed);
                log::warn!(
                    "token fetch for app {} corp {} failed: {err}",
                    key.app,
                    key.corp
                );
                Err(err)
            }
        }
    }

    /// Forgets the token for `key`.
    pub fn invalidate(&self, key: &TokenKey) {
        self.slot(key).generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Forgets the token for `key` only if it is still `used`: when many calls fail with the same
    /// stale token, the first one to get here causes the refresh and the others reuse it.
    async fn invalidate_if_current(&self, key: &TokenKey, used: &SecretString) {
        let slot = self.slot(key);
        let cached = slot.cached.lock().await;
        let generation = slot.generation.load(Ordering::SeqCst);
        if let Some(c) = cached.as_ref() {
            if c.generation == generation && c.token.expose_secret() != used.expose_secret() {
                return;
            }
        }
        slot.generation.fetch_add(1, Ordering::SeqCst);
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
        let token = self.get(key, &fetch).await?;
        match op(token.clone()).await {
            Err(err) if err.is_token_invalid() => {
                log::warn!(
                    "token for app {} corp {} was rejected ({err}); refreshing once",
                    key.app,
                    key.corp
                );
                self.invalidate_if_current(key, &token).await;
                let token = self.get(key, &fetch).await?;
                op(token).await
            }
            other => other,
        }
    }

    /// Counters since the cache was made.
    pub fn stats(&self) -> TokenCacheStats {
        TokenCacheStats {
            refreshes: self.shared.refreshes.load(Ordering::Relaxed),
            refresh_failures: self.shared.refresh_failures.load(Ordering::Relaxed),
        }
    }
}
