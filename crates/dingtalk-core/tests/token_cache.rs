//! The token cache: one fetch in flight per key, early refresh, default lifetime, invalidation,
//! failures not cached, and "refresh once and retry" on token-invalid errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dingtalk_core::error::{DingTalkError, ErrorKind};
use dingtalk_core::token::{AccessToken, TokenCache, TokenKey};
use secrecy::{ExposeSecret, SecretString};

fn key(app: &str, corp: &str) -> TokenKey {
    TokenKey {
        app: app.into(),
        corp: corp.into(),
    }
}

fn token(value: &str, expires_in: Option<i64>) -> AccessToken {
    AccessToken {
        token: SecretString::from(value.to_string()),
        expires_in,
    }
}

fn api_error(kind: ErrorKind, errcode: i64) -> DingTalkError {
    DingTalkError::Api {
        endpoint: "/test".into(),
        status: 200,
        code: errcode.to_string(),
        errcode: Some(errcode),
        message: "test".into(),
        kind,
        retry_after: None,
    }
}

/// A fetch closure numbering its tokens "t1", "t2", … and counting calls.
fn counting_fetch(
    calls: &Arc<AtomicUsize>,
    expires_in: Option<i64>,
) -> impl Fn() -> std::future::Ready<Result<AccessToken, DingTalkError>> {
    let calls = calls.clone();
    move || {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        std::future::ready(Ok(token(&format!("t{n}"), expires_in)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_callers_for_one_key_cause_exactly_one_fetch() {
    let cache = TokenCache::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (cache, calls, entered) = (cache.clone(), calls.clone(), entered.clone());
        tasks.push(tokio::spawn(async move {
            entered.fetch_add(1, Ordering::SeqCst);
            cache
                .get(&key("suite", "corp"), || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    // Hold the fetch open until every caller has asked for the token.
                    for _ in 0..100_000 {
                        if entered.load(Ordering::SeqCst) == 50 {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                    for _ in 0..20 {
                        tokio::task::yield_now().await;
                    }
                    Ok(token("shared", Some(7200)))
                })
                .await
        }));
    }
    for task in tasks {
        let got = task.await.unwrap().unwrap();
        assert_eq!(got.expose_secret(), "shared");
    }
    assert_eq!(entered.load(Ordering::SeqCst), 50);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats().refreshes, 1);
}

#[tokio::test]
async fn different_keys_fetch_independently_and_are_cached_separately() {
    let cache = TokenCache::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let fetch = counting_fetch(&calls, Some(7200));
    let a = cache.get(&key("suite", "corpA"), &fetch).await.unwrap();
    let b = cache.get(&key("suite", "corpB"), &fetch).await.unwrap();
    let c = cache.get(&key("other", "corpA"), &fetch).await.unwrap();
    assert_eq!(
        [a.expose_secret(), b.expose_secret(), c.expose_secret()],
        ["t1", "t2", "t3"]
    );
    let a2 = cache.get(&key("suite", "corpA"), &fetch).await.unwrap();
    let b2 = cache.get(&key("suite", "corpB"), &fetch).await.unwrap();
    assert_eq!([a2.expose_secret(), b2.expose_secret()], ["t1", "t2"]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn token_is_refreshed_once_inside_the_early_refresh_margin() {
    let cache = TokenCache::new(Duration::from_secs(300), Duration::from_secs(60));
    let calls = Arc::new(AtomicUsize::new(0));
    let fetch = counting_fetch(&calls, Some(7200));
    let k = key("app", "");
    assert_eq!(cache.get(&k, &fetch).await.unwrap().expose_secret(), "t1");
    tokio::time::advance(Duration::from_secs(7200 - 300 - 1)).await;
    assert_eq!(cache.get(&k, &fetch).await.unwrap().expose_secret(), "t1");
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(cache.get(&k, &fetch).await.unwrap().expose_secret(), "t2");
    assert_eq!(cache.get(&k, &fetch).await.unwrap().expose_secret(), "t2");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn margin_is_capped_at_half_of_a_short_lifetime() {
    let cache = TokenCache::new(Duration::from_secs(300), Duration::from_secs(60));
    let calls = Arc::new(AtomicUsize::new(0));
    let fetch = counting_fetch(&calls, Some(100));
    let k = key("app", "");
    cache.get(&k, &fetch).await.unwrap();
    tokio::time::advance(Duration::from_secs(49)).await;
    assert_eq!(cache.get(&k, &fetch).await.unwrap().expose_secret(), "t1");
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(cache.get(&k, &fetch).await.unwrap().expose_secret(), "t2");
}

#[tokio::test(start_paused = true)]
async fn missing_or_non_positive_expiry_uses_the_default_ttl() {
    for expires_in in [None, Some(0), Some(-5)] {
        // default_ttl 60 s, margin min(10 s, 30 s) = 10 s: usable for 50 s.
        let cache = TokenCache::new(Duration::from_secs(10), Duration::from_secs(60));
        assert_eq!(cache.usable_for(expires_in), Duration::from_secs(50));
        let calls = Arc::new(AtomicUsize::new(0));
        let fetch = counting_fetch(&calls, expires_in);
        let k = key("app", "corp");
        cache.get(&k, &fetch).await.unwrap();
        tokio::time::advance(Duration::from_secs(49)).await;
        assert_eq!(
            cache.get(&k, &fetch).await.unwrap().expose_secret(),
            "t1",
            "{expires_in:?}"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            cache.get(&k, &fetch).await.unwrap().expose_secret(),
            "t2",
            "{expires_in:?}"
        );
    }
}

#[tokio::test]
async fn invalidate_forces_a_refetch_for_that_key_only() {
    let cache = TokenCache::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let fetch = counting_fetch(&calls, Some(7200));
    cache.get(&key("a", "1"), &fetch).await.unwrap();
    cache.get(&key("a", "2"), &fetch).await.unwrap();
    cache.invalidate(&key("a", "1"));
    assert_eq!(
        cache
            .get(&key("a", "1"), &fetch)
            .await
            .unwrap()
            .expose_secret(),
        "t3"
    );
    assert_eq!(
        cache
            .get(&key("a", "2"), &fetch)
            .await
            .unwrap()
            .expose_secret(),
        "t2"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_failed_fetch_is_not_cached() {
    let cache = TokenCache::default();
    let k = key("a", "1");
    let err = cache
        .get(&k, || async {
            Err::<AccessToken, _>(api_error(ErrorKind::Other, 40096))
        })
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(40096));
    let got = cache
        .get(&k, || async { Ok(token("fresh", Some(7200))) })
        .await
        .unwrap();
    assert_eq!(got.expose_secret(), "fresh");
    let stats = cache.stats();
    assert_eq!((stats.refreshes, stats.refresh_failures), (2, 1));
}

#[tokio::test]
async fn with_token_refreshes_once_on_token_invalid_and_retries() {
    let cache = TokenCache::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let fetch = counting_fetch(&calls, Some(7200));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let result = cache
        .with_token(&key("a", "1"), &fetch, |t| {
            let seen = seen.clone();
            async move {
                let t = t.expose_secret().to_string();
                seen.lock().unwrap().push(t.clone());
                if t == "t1" {
                    Err(api_error(ErrorKind::TokenInvalid, 40014))
                } else {
                    Ok(format!("sent with {t}"))
                }
            }
        })
        .await
        .unwrap();
    assert_eq!(result, "sent with t2");
    assert_eq!(*seen.lock().unwrap(), vec!["t1", "t2"]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // The refreshed token is what the cache now holds.
    let cached = cache.get(&key("a", "1"), &fetch).await.unwrap();
    assert_eq!(cached.expose_secret(), "t2");
}

#[tokio::test]
async fn with_token_surfaces_the_second_token_invalid_without_looping() {
    let cache = TokenCache::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let fetch = counting_fetch(&calls, Some(7200));
    let ops = Arc::new(AtomicUsize::new(0));
    let err = cache
        .with_token(&key("a", "1"), &fetch, |_t| {
            let ops = ops.clone();
            async move {
                ops.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(api_error(ErrorKind::TokenInvalid, 42001))
            }
        })
        .await
        .unwrap_err();
    assert!(err.is_token_invalid());
    assert_eq!(err.errcode(), Some(42001));
    assert_eq!(ops.load(Ordering::SeqCst), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn with_token_does_not_refresh_on_other_errors() {
    let cache = TokenCache::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let fetch = counting_fetch(&calls, Some(7200));
    let ops = Arc::new(AtomicUsize::new(0));
    let err = cache
        .with_token(&key("a", "1"), &fetch, |_t| {
            let ops = ops.clone();
            async move {
                ops.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(api_error(ErrorKind::NotInOrg, 60121))
            }
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotInOrg);
    assert_eq!(ops.load(Ordering::SeqCst), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_calls_rejecting_the_same_stale_token_cause_one_refresh() {
    let cache = TokenCache::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let fetch = counting_fetch(&calls, Some(7200));
    let k = key("a", "1");
    cache.get(&k, &fetch).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (cache, fetch, k) = (cache.clone(), fetch_clone(&calls), k.clone());
        tasks.push(tokio::spawn(async move {
            cache
                .with_token(&k, fetch, |t| async move {
                    if t.expose_secret() == "t1" {
                        Err(api_error(ErrorKind::TokenInvalid, 40014))
                    } else {
                        Ok(t.expose_secret().to_string())
                    }
                })
                .await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "t2");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

fn fetch_clone(
    calls: &Arc<AtomicUsize>,
) -> impl Fn() -> std::future::Ready<Result<AccessToken, DingTalkError>> + Send + 'static {
    let calls = calls.clone();
    move || {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        std::future::ready(Ok(token(&format!("t{n}"), Some(7200))))
    }
}

#[test]
fn access_token_debug_never_shows_the_token() {
    let t = token("very-secret-token", Some(7200));
    let shown = format!("{t:?} {:?}", TokenCache::default());
    assert!(!shown.contains("very-secret-token"));
}

#[tokio::test]
async fn an_absurd_expiry_is_capped_instead_of_overflowing() {
    let cache = TokenCache::default();
    assert_eq!(
        cache.usable_for(Some(i64::MAX)),
        dingtalk_core::token::MAX_LIFETIME - Duration::from_secs(300)
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let fetch = counting_fetch(&calls, Some(i64::MAX));
    cache.get(&key("a", "1"), &fetch).await.unwrap();
    cache.get(&key("a", "1"), &fetch).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
