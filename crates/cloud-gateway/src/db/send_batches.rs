//! Accepted batches of keyed sends: DingTalk's task id per (edge, Idempotency-Key, request hash,
//! batch index), written as soon as DingTalk accepted the batch and kept 24 hours, so a retry
//! with the same key and body skips what was already sent.

use diesel::prelude::*;

use super::idempotency::RETENTION_MS;
use super::models::SendBatchRow;
use super::schema::send_batches;

/// The live accepted batches of (`edge_id`, `key`) at `now`, any request hash, by batch index.
pub fn find(
    conn: &mut SqliteConnection,
    edge_id: &str,
    key: &str,
    now: i64,
) -> QueryResult<Vec<SendBatchRow>> {
    send_batches::table
        .filter(send_batches::edge_id.eq(edge_id))
        .filter(send_batches::idem_key.eq(key))
        .filter(send_batches::created_at.gt(now - RETENTION_MS))
        .order(send_batches::batch_index)
        .select(SendBatchRow::as_select())
        .load(conn)
}

/// Records an accepted batch (replacing an expired record of the same batch).
pub fn store(conn: &mut SqliteConnection, row: &SendBatchRow) -> QueryResult<()> {
    diesel::replace_into(send_batches::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Deletes batch records older than 24 hours; returns how many.
pub fn sweep(conn: &mut SqliteConnection, now: i64) -> QueryResult<usize> {
    diesel::delete(send_batches::table.filter(send_batches::created_at.le(now - RETENTION_MS)))
        .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;

    fn row(key: &str, hash: &str, index: i32, created_at: i64) -> SendBatchRow {
        SendBatchRow {
            edge_id: "e".into(),
            idem_key: key.into(),
            request_hash: hash.into(),
            batch_index: index,
            task_id: 1000 + i64::from(index),
            created_at,
        }
    }

    #[test]
    fn batches_are_found_in_order_until_they_expire_and_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.db").to_string_lossy().into_owned();
        db::run_migrations(&path).unwrap();
        let mut conn = db::build_pool(&path, 1, 1000).unwrap().get().unwrap();
        let now = db::now_ms();
        store(&mut conn, &row("k", "h", 1, now)).unwrap();
        store(&mut conn, &row("k", "h", 0, now)).unwrap();
        store(&mut conn, &row("old", "h", 0, now - RETENTION_MS - 1)).unwrap();
        let found: Vec<(i32, i64)> = find(&mut conn, "e", "k", now)
            .unwrap()
            .iter()
            .map(|r| (r.batch_index, r.task_id))
            .collect();
        assert_eq!(found, vec![(0, 1000), (1, 1001)]);
        assert!(find(&mut conn, "e", "old", now).unwrap().is_empty());
        assert!(find(&mut conn, "other-edge", "k", now).unwrap().is_empty());
        assert_eq!(sweep(&mut conn, now).unwrap(), 1);
        assert_eq!(find(&mut conn, "e", "k", now).unwrap().len(), 2);
    }
}
