//! Retention: delivered and failed outbox rows and idempotency keys older than
//! `outbox.retention_days` are deleted, hourly (pending rows are never touched).

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::db::{idempotency, outbox, DbPool};

/// How often the sweep runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// One sweep; returns (outbox rows, idempotency keys) deleted.
pub fn sweep(pool: &DbPool, retention: Duration) -> anyhow::Result<(usize, usize)> {
    let before = Utc::now() - chrono::Duration::from_std(retention)?;
    let mut conn = pool.get()?;
    let rows = outbox::delete_settled_before(&mut conn, before)?;
    let keys = idempotency::delete_before(&mut conn, before)?;
    Ok((rows, keys))
}

/// Sweeps now and then every [`SWEEP_EVERY`] until `stop` turns true.
pub async fn run(pool: DbPool, retention: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        let p = pool.clone();
        match tokio::task::spawn_blocking(move || sweep(&p, retention)).await {
            Ok(Ok((0, 0))) => {}
            Ok(Ok((rows, keys))) => {
                log::info!(
                    "retention: deleted {rows} settled outbox rows and {keys} idempotency keys"
                )
            }
            Ok(Err(e)) => log::warn!("retention: sweep failed: {e:#}"),
            Err(e) => log::warn!("retention: sweep task failed: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
