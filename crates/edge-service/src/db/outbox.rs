//! `outbox`: durable deliveries. Rows are claimed with `FOR UPDATE SKIP LOCKED` inside the
//! transaction that also records the outcome (see `crate::outbox::worker`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::models::{status, OutboxRow};
use super::schema::outbox::dsl as o;

/// Inserts new rows.
pub fn insert(conn: &mut PgConnection, rows: &[OutboxRow]) -> QueryResult<()> {
    diesel::insert_into(o::outbox).values(rows).execute(conn)?;
    Ok(())
}

/// Locks the oldest due pending row, skipping rows other transactions hold. Call inside a
/// transaction; the lock lasts until it ends.
pub fn claim_due(conn: &mut PgConnection) -> QueryResult<Option<OutboxRow>> {
    o::outbox
        .filter(o::status.eq(status::PENDING))
        .filter(o::next_attempt_at.le(diesel::dsl::now))
        .order(o::next_attempt_at.asc())
        .select(OutboxRow::as_select())
        .limit(1)
        .for_update()
        .skip_locked()
        .first(conn)
        .optional()
}

/// Marks a row delivered with the cloud's task ids.
pub fn mark_delivered(
    conn: &mut PgConnection,
    id: Uuid,
    attempts: i32,
    task_ids: &[i64],
) -> QueryResult<()> {
    diesel::update(o::outbox.find(id))
        .set((
            o::status.eq(status::DELIVERED),
            o::attempts.eq(attempts),
            o::task_ids.eq(task_ids),
            o::last_error.eq(None::<String>),
            o::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub fn mark_retry(
    conn: &mut PgConnection,
    id: Uuid,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> QueryResult<()> {
    diesel::update(o::outbox.find(id))
        .set((
            o::attempts.eq(attempts),
            o::next_attempt_at.eq(next_attempt_at),
            o::last_error.eq(error),
            o::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Gives up on a row.
pub fn mark_failed(
    conn: &mut PgConnection,
    id: Uuid,
    attempts: i32,
    error: &str,
) -> QueryResult<()> {
    diesel::update(o::outbox.find(id))
        .set((
            o::status.eq(status::FAILED),
            o::attempts.eq(attempts),
            o::last_error.eq(error),
            o::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The rows of one message, oldest first.
pub fn by_message(conn: &mut PgConnection, message_id: Uuid) -> QueryResult<Vec<OutboxRow>> {
    o::outbox
        .filter(o::message_id.eq(message_id))
        .order(o::created_at.asc())
        .select(OutboxRow::as_select())
        .load(conn)
}

/// Outbox statistics for the metrics.
#[derive(Debug, Clone)]
pub struct OutboxStats {
    /// Row counts by status.
    pub by_status: Vec<(String, i64)>,
    /// When the oldest pending row was created.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// Row counts by status, and when the oldest pending row was created.
pub fn stats(conn: &mut PgConnection) -> QueryResult<OutboxStats> {
    let by_status = o::outbox
        .group_by(o::status)
        .select((o::status, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?;
    let oldest = o::outbox
        .filter(o::status.eq(status::PENDING))
        .select(diesel::dsl::min(o::created_at))
        .first::<Option<DateTime<Utc>>>(conn)?;
    Ok(OutboxStats {
        by_status,
        oldest_pending: oldest,
    })
}

/// Deletes delivered and failed rows last changed before `before`; returns how many.
pub fn delete_settled_before(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(
        o::outbox
            .filter(o::status.ne(status::PENDING))
            .filter(o::updated_at.lt(before)),
    )
    .execute(conn)
}
