//! Exponential backoff with jitter for outbox retries.

use std::time::Duration;

use rand::Rng;

/// The delay before attempt `attempts + 1`, after `attempts` failed ones (≥ 1): the base delay
/// doubled per attempt, capped at `max`, then drawn uniformly from its upper half ("equal
/// jitter"), so replicas retrying the same failure spread out.
pub fn delay(attempts: i32, base: Duration, max: Duration) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let full = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    let half = full / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_within_jitter_bounds_and_stop_at_the_cap() {
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(1000);
        for (attempts, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            for _ in 0..50 {
                let d = delay(attempts, base, max).as_millis();
                assert!(d >= full / 2 && d <= full, "attempt {attempts}: {d}");
            }
        }
    }
}
