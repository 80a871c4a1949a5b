//! `idempotency_keys`: the `Idempotency-Key`s of accepted send requests, per tenant.

use diesel::prelude::*;
use uuid::Uuid;

use super::schema::idempotency_keys::dsl as k;

/// A stored key.
#[derive(Debug, Clone, Queryable)]
pub struct IdempotencyRecord {
    /// The message the key produced.
    pub message_id: Uuid,
    /// SHA-256 (hex) of the request body.
    pub request_hash: String,
    /// The staff ids that were not bound.
    pub missing_staff_ids: serde_json::Value,
}

/// Stores a key unless it exists; true when this call stored it. Waits for a concurrent
/// transaction inserting the same key, so a false is followed by a successful [`find`].
pub fn insert(
    conn: &mut PgConnection,
    tenant_id: &str,
    key: &str,
    message_id: Uuid,
    request_hash: &str,
    missing_staff_ids: &[String],
) -> QueryResult<bool> {
    let n = diesel::insert_into(k::idempotency_keys)
        .values((
            k::tenant_id.eq(tenant_id),
            k::key.eq(key),
            k::message_id.eq(message_id),
            k::request_hash.eq(request_hash),
            k::missing_staff_ids.eq(serde_json::json!(missing_staff_ids)),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(n == 1)
}

/// The stored key, if any.
pub fn find(
    conn: &mut PgConnection,
    tenant_id: &str,
    key: &str,
) -> QueryResult<Option<IdempotencyRecord>> {
    k::idempotency_keys
        .filter(k::tenant_id.eq(tenant_id))
        .filter(k::key.eq(key))
        .select((k::message_id, k::request_hash, k::missing_staff_ids))
        .first(conn)
        .optional()
}

/// Deletes keys created before `before`; returns how many.
pub fn delete_before(
    conn: &mut PgConnection,
    before: chrono::DateTime<chrono::Utc>,
) -> QueryResult<usize> {
    diesel::delete(k::idempotency_keys.filter(k::created_at.lt(before))).execute(conn)
}
