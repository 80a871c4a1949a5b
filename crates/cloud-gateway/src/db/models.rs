//! Rows of the cloud database.

use diesel::prelude::*;

use super::schema::{
    auth_codes, corp_authorizations, idempotency_records, send_batches, suite_tickets,
};

/// A stored suite ticket (secret: never returned by the API).
#[derive(Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = suite_tickets, check_for_backend(diesel::sqlite::Sqlite))]
pub struct SuiteTicketRow {
    /// The suite key.
    pub suite_key: String,
    /// The ticket.
    pub ticket: String,
    /// The corp the push came from.
    pub corp_id: Option<String>,
    /// Unix ms, when it was stored.
    pub updated_at: i64,
    /// DingTalk's timestamp of the push (ms; `gmt_modified` or `TimeStamp`), 0 when absent.
    pub source_ts: i64,
}

impl std::fmt::Debug for SuiteTicketRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuiteTicketRow")
            .field("suite_key", &self.suite_key)
            .field("ticket", &"<redacted>")
            .field("corp_id", &self.corp_id)
            .field("updated_at", &self.updated_at)
            .field("source_ts", &self.source_ts)
            .finish()
    }
}

/// A corp's authorization (the permanent codes stay in the database).
#[derive(Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = corp_authorizations, check_for_backend(diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
pub struct CorpAuthorizationRow {
    /// The corp id.
    pub corp_id: String,
    /// The corp name.
    pub corp_name: String,
    /// The app's agent id in the corp.
    pub agent_id: Option<i64>,
    /// `active` or `relieved`.
    pub status: String,
    /// Secret.
    pub permanent_code: Option<String>,
    /// Secret.
    pub ch_permanent_code: Option<String>,
    /// Unix ms.
    pub updated_at: i64,
}

impl std::fmt::Debug for CorpAuthorizationRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorpAuthorizationRow")
            .field("corp_id", &self.corp_id)
            .field("corp_name", &self.corp_name)
            .field("agent_id", &self.agent_id)
            .field("status", &self.status)
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

/// A one-time user record.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_codes, check_for_backend(diesel::sqlite::Sqlite))]
pub struct AuthCodeRow {
    /// Hex SHA-256 of the code.
    pub code_hash: String,
    /// The edge it is bound to.
    pub edge_id: String,
    /// The EdgeUser JSON.
    pub user_json: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub expires_at: i64,
    /// Unix ms, once taken.
    pub taken_at: Option<i64>,
}

/// A stored final answer of a send.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = idempotency_records, check_for_backend(diesel::sqlite::Sqlite))]
pub struct IdempotencyRow {
    /// The edge.
    pub edge_id: String,
    /// The Idempotency-Key.
    pub idem_key: String,
    /// Hex SHA-256 of the canonical request.
    pub request_hash: String,
    /// HTTP status of the answer.
    pub response_status: i32,
    /// JSON body of the answer.
    pub response_body: String,
    /// Unix ms.
    pub created_at: i64,
}

/// A batch of a keyed send that DingTalk accepted.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = send_batches, check_for_backend(diesel::sqlite::Sqlite))]
pub struct SendBatchRow {
    /// The edge.
    pub edge_id: String,
    /// The Idempotency-Key.
    pub idem_key: String,
    /// Hex SHA-256 of the canonical request.
    pub request_hash: String,
    /// 0-based position of the batch in the request.
    pub batch_index: i32,
    /// DingTalk's task id.
    pub task_id: i64,
    /// Unix ms.
    pub created_at: i64,
}
