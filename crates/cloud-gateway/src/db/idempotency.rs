//! Idempotency records of sends: the final answer per (edge, Idempotency-Key), kept 24 hours.

use diesel::prelude::*;

use super::models::IdempotencyRow;
use super::schema::idempotency_records;

/// How long a record is honoured, in milliseconds.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// The live record for (`edge_id`, `key`) at `now`, if any.
pub fn find(
    conn: &mut SqliteConnection,
    edge_id: &str,
    key: &str,
    now: i64,
) -> QueryResult<Option<IdempotencyRow>> {
    idempotency_records::table
        .find((edge_id, key))
        .filter(idempotency_records::created_at.gt(now - RETENTION_MS))
        .select(IdempotencyRow::as_select())
        .first(conn)
        .optional()
}

/// Stores (or replaces an expired) record.
pub fn store(conn: &mut SqliteConnection, row: &IdempotencyRow) -> QueryResult<()> {
    diesel::insert_into(idempotency_records::table)
        .values(row)
        .on_conflict((idempotency_records::edge_id, idempotency_records::idem_key))
        .do_update()
        .set(row)
        .execute(conn)
        .map(|_| ())
}

/// Deletes records older than 24 hours; returns how many.
pub fn sweep(conn: &mut SqliteConnection, now: i64) -> QueryResult<usize> {
    diesel::delete(
        idempotency_records::table.filter(idempotency_records::created_at.le(now - RETENTION_MS)),
    )
    .execute(conn)
}
