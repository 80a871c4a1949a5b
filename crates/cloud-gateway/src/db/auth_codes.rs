//! One-time user records: stored by the SHA-256 of the auth code, bound to an edge, taken at most
//! once before they expire.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::models::AuthCodeRow;
use super::schema::auth_codes;

/// Hex SHA-256 of an auth code (what the database keys on; the code itself is never stored).
pub fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

/// Stores a new record.
pub fn insert(conn: &mut SqliteConnection, row: &AuthCodeRow) -> QueryResult<()> {
    diesel::insert_into(auth_codes::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The outcome of a take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take {
    /// The user JSON, now marked taken.
    Taken(String),
    /// Unknown, expired or already taken.
    Gone,
    /// It belongs to another edge (not consumed).
    OtherEdge,
}

/// Takes the record of `code_hash` for `edge_id` at `now`, atomically.
pub fn take(
    conn: &mut SqliteConnection,
    code_hash: &str,
    edge_id: &str,
    now: i64,
) -> QueryResult<Take> {
    conn.immediate_transaction(|conn| {
        let Some(row) = auth_codes::table
            .find(code_hash)
            .select(AuthCodeRow::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(Take::Gone);
        };
        if row.edge_id != edge_id {
            return Ok(Take::OtherEdge);
        }
        let updated = diesel::update(
            auth_codes::table
                .filter(auth_codes::code_hash.eq(code_hash))
                .filter(auth_codes::edge_id.eq(edge_id))
                .filter(auth_codes::taken_at.is_null())
                .filter(auth_codes::expires_at.gt(now)),
        )
        .set(auth_codes::taken_at.eq(now))
        .execute(conn)?;
        Ok(if updated == 1 {
            Take::Taken(row.user_json)
        } else {
            Take::Gone
        })
    })
}

/// Deletes expired and taken records; returns how many.
pub fn sweep(conn: &mut SqliteConnection, now: i64) -> QueryResult<usize> {
    diesel::delete(
        auth_codes::table.filter(
            auth_codes::expires_at
                .le(now)
                .or(auth_codes::taken_at.is_not_null()),
        ),
    )
    .execute(conn)
}

/// How many records exist (for tests and diagnostics).
pub fn count(conn: &mut SqliteConnection) -> QueryResult<i64> {
    auth_codes::table.count().get_result(conn)
}
