//! The retry policy: which errors are retried, how long it waits, and when it gives up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dingtalk_core::error::{DingTalkError, ErrorKind};
use dingtalk_core::retry::RetryPolicy;
use tokio::time::Instant;

fn api(kind: ErrorKind, errcode: i64, retry_after: Option<Duration>) -> DingTalkError {
    DingTalkError::Api {
        endpoint: "/topapi/test".into(),
        status: 200,
        code: errcode.to_string(),
        errcode: Some(errcode),
        message: "test".into(),
        kind,
        retry_after,
    }
}

fn transport() -> DingTalkError {
    DingTalkError::Transport {
        endpoint: "/topapi/test".into(),
        message: "connection reset".into(),
        timeout: false,
    }
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        max_elapsed: Duration::from_secs(30),
    }
}

/// Runs `policy` over a sequence of outcomes (errors, then success when they run out), returning
/// the result and how many attempts were made.
async fn run_with(
    policy: &RetryPolicy,
    errors: Vec<DingTalkError>,
) -> (Result<&'static str, DingTalkError>, usize) {
    let attempts = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(std::sync::Mutex::new(errors.into_iter()));
    let result = policy
        .run("test call", || {
            let attempts = attempts.clone();
            let errors = errors.clone();
            async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                match errors.lock().unwrap().next() {
                    Some(err) => Err(err),
                    None => Ok("done"),
                }
            }
        })
        .await;
    (result, attempts.load(Ordering::SeqCst))
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_until_success() {
    let errors = vec![
        transport(),
        api(ErrorKind::Transient, -1, None),
        api(ErrorKind::RateLimited, 90018, None),
        DingTalkError::HttpStatus {
            endpoint: "/x".into(),
            status: 502,
            retry_after: None,
        },
    ];
    let (result, attempts) = run_with(&policy(), errors).await;
    assert_eq!(result.unwrap(), "done");
    assert_eq!(attempts, 5);
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_attempts_with_the_last_error() {
    let errors = (0..10)
        .map(|i| api(ErrorKind::Transient, -1 - i, None))
        .collect();
    let (result, attempts) = run_with(&policy(), errors).await;
    assert_eq!(attempts, 5);
    assert_eq!(result.unwrap_err().errcode(), Some(-5));
}

#[tokio::test(start_paused = true)]
async fn permanent_and_token_errors_are_not_retried() {
    for (kind, code) in [
        (ErrorKind::Other, 400002),
        (ErrorKind::NotInOrg, 60121),
        (ErrorKind::PermissionMissing, 60011),
        (ErrorKind::TokenInvalid, 40014),
    ] {
        let (result, attempts) = run_with(&policy(), vec![api(kind, code, None)]).await;
        assert_eq!(attempts, 1, "{kind:?}");
        assert_eq!(result.unwrap_err().kind(), kind);
    }
    let decode = DingTalkError::Decode {
        endpoint: "/x".into(),
        message: "garbage".into(),
    };
    let (_, attempts) = run_with(&policy(), vec![decode]).await;
    assert_eq!(attempts, 1);
}

#[tokio::test(start_paused = true)]
async fn policy_none_makes_one_attempt() {
    let (result, attempts) = run_with(&RetryPolicy::none(), vec![transport()]).await;
    assert_eq!(attempts, 1);
    assert!(result.is_err());
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let start = Instant::now();
    let errors = vec![api(
        ErrorKind::RateLimited,
        90018,
        Some(Duration::from_secs(7)),
    )];
    // max_delay is 2 s; the server asked for 7 s and gets them.
    let (result, attempts) = run_with(&policy(), errors).await;
    assert_eq!(result.unwrap(), "done");
    assert_eq!(attempts, 2);
    assert_eq!(start.elapsed(), Duration::from_secs(7));
    assert_eq!(
        policy().wait_before(
            1,
            &api(ErrorKind::RateLimited, 90018, Some(Duration::from_secs(7)))
        ),
        Duration::from_secs(7)
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_past_the_budget_stops_retrying() {
    let errors = vec![api(
        ErrorKind::RateLimited,
        90002,
        Some(Duration::from_secs(300)),
    )];
    let start = Instant::now();
    let (result, attempts) = run_with(&policy(), errors).await;
    assert_eq!(attempts, 1);
    assert_eq!(result.unwrap_err().errcode(), Some(90002));
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn total_time_stays_within_max_elapsed() {
    let policy = RetryPolicy {
        max_attempts: 100,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(4),
        max_elapsed: Duration::from_secs(10),
    };
    let attempts = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let result: Result<(), _> = policy
        .run("always busy", || {
            let attempts = attempts.clone();
            async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                // Each attempt itself takes 1 s.
                tokio::time::sleep(Duration::from_secs(1)).await;
                Err(api(ErrorKind::Transient, -1, Some(Duration::from_secs(3))))
            }
        })
        .await;
    assert_eq!(result.unwrap_err().errcode(), Some(-1));
    assert!(
        start.elapsed() <= Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    // 1 s attempt + 3 s wait, three times, is 12 s: the third wait is not made.
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
}

#[test]
fn backoff_is_within_zero_and_a_growing_cap() {
    let policy = RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(1000),
        max_elapsed: Duration::from_secs(60),
    };
    let caps: Vec<u64> = (1..=6)
        .map(|n| policy.backoff_cap(n).as_millis() as u64)
        .collect();
    assert_eq!(caps, vec![100, 200, 400, 800, 1000, 1000]);
    assert_eq!(policy.backoff_cap(1000), Duration::from_millis(1000));
    for retry in 1..=6 {
        let cap = policy.backoff_cap(retry);
        let samples: Vec<Duration> = (0..200).map(|_| policy.backoff(retry)).collect();
        assert!(samples.iter().all(|d| *d <= cap), "retry {retry}");
        // Full jitter: the samples spread over the range rather than sitting at the cap.
        let distinct: std::collections::HashSet<_> = samples.iter().collect();
        assert!(distinct.len() > 10, "retry {retry}");
    }
    // On average the waits grow with the retry number until the cap.
    let mean = |retry| {
        (0..2000)
            .map(|_| policy.backoff(retry).as_secs_f64())
            .sum::<f64>()
            / 2000.0
    };
    assert!(mean(1) < mean(3));
    assert!(mean(3) < mean(5));
}

#[tokio::test(start_paused = true)]
async fn an_absurd_retry_after_gives_up_instead_of_overflowing() {
    let errors = vec![api(ErrorKind::RateLimited, 90018, Some(Duration::MAX))];
    let (result, attempts) = run_with(&policy(), errors).await;
    assert_eq!(attempts, 1);
    assert_eq!(result.unwrap_err().errcode(), Some(90018));
}
