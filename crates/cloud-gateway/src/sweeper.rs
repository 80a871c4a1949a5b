//! The sweeper: periodically deletes expired or taken one-time user records, idempotency records
//! and accepted-batch records older than 24 hours, and event log entries older than 7 days.

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
    /// Accepted-batch records of keyed sends.
    pub send_batches: usize,
    /// Event log entries.
    pub events: usize,
}

/// One sweep at `now` (unix ms).
pub fn sweep(conn: &mut SqliteConnection, now: i64) -> diesel::QueryResult<Swept> {
    Ok(Swept {
        auth_codes: db::auth_codes::sweep(conn, now)?,
        idempotency_records: db::idempotency::sweep(conn, now)?,
        send_batches: db::send_batches::sweep(conn, now)?,
        events: db::callbacks::sweep_events(conn, now)?,
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
                "sweeper: deleted {} one-time user records, {} idempotency records, {} batch records, {} events",
                swept.auth_codes,
                swept.idempotency_records,
                swept.send_batches,
                swept.events
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => log::warn!("sweeper: sweep failed: {e}"),
            Err(e) => log::warn!("sweeper: sweep task failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::{AuthCodeRow, IdempotencyRow, SendBatchRow};

    fn pool() -> (tempfile::TempDir, DbPool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db").to_string_lossy().into_owned();
        db::run_migrations(&path).unwrap();
        let pool = db::build_pool(&path, 1, 1000).unwrap();
        (dir, pool)
    }

    fn record(key: &str, created_at: i64) -> IdempotencyRow {
        IdempotencyRow {
            edge_id: "e".into(),
            idem_key: key.into(),
            request_hash: "h".into(),
            response_status: 200,
            response_body: "{}".into(),
            created_at,
        }
    }

    #[test]
    fn a_sweep_deletes_day_old_idempotency_and_batch_records_and_expired_codes_only() {
        let (_dir, pool) = pool();
        let mut conn = pool.get().unwrap();
        let now = db::now_ms();
        let day = db::idempotency::RETENTION_MS;
        db::idempotency::store(&mut conn, &record("old", now - day - 1)).unwrap();
        db::idempotency::store(&mut conn, &record("fresh", now - day + 60_000)).unwrap();
        for (hash, expires_at) in [("expired", now - 1), ("live", now + 60_000)] {
            db::auth_codes::insert(
                &mut conn,
                &AuthCodeRow {
                    code_hash: hash.into(),
                    edge_id: "e".into(),
                    user_json: "{}".into(),
                    created_at: now - 1000,
                    expires_at,
                    taken_at: None,
                },
            )
            .unwrap();
        }
        // An old record is no longer honoured even before it is swept.
        assert!(db::idempotency::find(&mut conn, "e", "old", now)
            .unwrap()
            .is_none());
        for (key, created_at) in [("old", now - day - 1), ("fresh", now - day + 60_000)] {
            let batch = SendBatchRow {
                edge_id: "e".into(),
                idem_key: key.into(),
                request_hash: "h".into(),
                batch_index: 0,
                task_id: 7,
                created_at,
            };
            db::send_batches::store(&mut conn, &batch).unwrap();
        }
        let swept = sweep(&mut conn, now).unwrap();
        assert_eq!(swept.idempotency_records, 1);
        assert_eq!(swept.send_batches, 1);
        assert_eq!(swept.auth_codes, 1);
        assert_eq!(
            db::send_batches::find(&mut conn, "e", "fresh", now)
                .unwrap()
                .len(),
            1
        );
        assert!(db::idempotency::find(&mut conn, "e", "fresh", now)
            .unwrap()
            .is_some());
        assert_eq!(db::auth_codes::count(&mut conn).unwrap(), 1);
        assert_eq!(sweep(&mut conn, now).unwrap(), Swept::default());
    }

    #[tokio::test]
    async fn the_periodic_sweeper_runs_by_itself() {
        let (_dir, pool) = pool();
        let now = db::now_ms();
        db::idempotency::store(
            &mut pool.get().unwrap(),
            &record("old", now - db::idempotency::RETENTION_MS - 1),
        )
        .unwrap();
        let task = tokio::spawn(run(pool.clone(), Duration::from_millis(20)));
        let mut gone = false;
        for _ in 0..200 {
            let mut conn = pool.get().unwrap();
            if db::idempotency::find(&mut conn, "e", "old", 0)
                .unwrap()
                .is_none()
            {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        task.abort();
        assert!(gone, "the sweeper never deleted the old record");
    }
}
