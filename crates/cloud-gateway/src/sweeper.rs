//! The sweeper: periodically deletes expired or taken one-time user records and idempotency
//! records older than 24 hours.

use std::time::Duration;

use diesel::sqlite::SqliteConnection;

use crate::db::{self, DbPool};

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// One-time user records.
    pub auth_codes: usize,
    /// Idempotency records.
    pub idempotency_records: usize,
}

/// One sweep at `now` (unix ms).
pub fn sweep(conn: &mut SqliteConnection, now: i64) -> diesel::QueryResult<Swept> {
    Ok(Swept {
        auth_codes: db::auth_codes::sweep(conn, now)?,
        idempotency_records: db::idempotency::sweep(conn, now)?,
    })
}

/// Sweeps every `interval` until the task is aborted.
pub async fn run(pool: DbPool, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let pool = pool.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            sweep(&mut conn, db::now_ms()).map_err(|e| e.to_string())
        })
        .await;
        match result {
            Ok(Ok(swept)) if swept != Swept::default() => log::info!(
                "sweeper: deleted {} one-time user records and {} idempotency records",
                swept.auth_codes,
                swept.idempotency_records
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => log::warn!("sweeper: sweep failed: {e}"),
            Err(e) => log::warn!("sweeper: sweep task failed: {e}"),
        }
    }
}
