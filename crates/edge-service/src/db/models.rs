//! Row types of the edge's tables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::schema::{bindings, dingtalk_users, outbox};

/// A DingTalk user to insert or update (unique by corp id + user id).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = dingtalk_users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct NewDingTalkUser<'a> {
    /// The corp.
    pub corp_id: &'a str,
    /// The org userid.
    pub user_id: &'a str,
    /// unionId.
    pub union_id: &'a str,
    /// openId.
    pub open_id: &'a str,
    /// Display name.
    pub nick: &'a str,
    /// E-mail.
    pub email: Option<&'a str>,
    /// Avatar URL.
    pub avatar_url: Option<&'a str>,
    /// Mobile.
    pub mobile: Option<&'a str>,
}

/// A binding row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bindings)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct Binding {
    /// The tenant.
    pub tenant_id: String,
    /// The staff id inside the tenant.
    pub staff_id: String,
    /// The DingTalk corp.
    pub corp_id: String,
    /// The DingTalk org userid.
    pub user_id: String,
    /// When it was (last) bound.
    pub bound_at: DateTime<Utc>,
}

/// A binding with the bound user's DingTalk facts, as answered by the API.
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct BindingView {
    /// The tenant.
    pub tenant_id: String,
    /// The staff id inside the tenant.
    pub staff_id: String,
    /// The DingTalk corp.
    pub corp_id: String,
    /// The DingTalk org userid.
    pub user_id: String,
    /// The DingTalk display name.
    pub nick: String,
    /// The DingTalk unionId.
    pub union_id: String,
    /// When it was (last) bound.
    pub bound_at: DateTime<Utc>,
}

/// Delivery kinds of outbox rows.
pub mod kind {
    /// A work notification to the cloud.
    pub const SEND: &str = "send";
    /// An IAM bind webhook.
    pub const IAM: &str = "iam";
}

/// Statuses of outbox rows.
pub mod status {
    /// Waiting for (another) delivery attempt.
    pub const PENDING: &str = "pending";
    /// Delivered.
    pub const DELIVERED: &str = "delivered";
    /// Given up on; `last_error` says why.
    pub const FAILED: &str = "failed";
}

/// An outbox row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct OutboxRow {
    /// Row id, also the Idempotency-Key sent to the cloud.
    pub id: Uuid,
    /// The message (the request that created it) this row belongs to.
    pub message_id: Uuid,
    /// `send` or `iam`.
    pub kind: String,
    /// The corp the delivery is for.
    pub corp_id: String,
    /// What to deliver (a `SendRequest` for `send`, an `IamPayload` for `iam`).
    pub payload: serde_json::Value,
    /// The request id of the request that created it (forwarded on delivery).
    pub request_id: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Delivery attempts made.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// DingTalk task ids once delivered.
    pub task_ids: Vec<i64>,
    /// When the row was created.
    pub created_at: DateTime<Utc>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

impl OutboxRow {
    /// A new pending row, due now.
    pub fn pending(
        message_id: Uuid,
        kind: &str,
        corp_id: &str,
        payload: serde_json::Value,
        request_id: &str,
    ) -> Self {
        let now = Utc::now();
        OutboxRow {
            id: Uuid::new_v4(),
            message_id,
            kind: kind.to_string(),
            corp_id: corp_id.to_string(),
            payload,
            request_id: request_id.to_string(),
            status: status::PENDING.to_string(),
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            task_ids: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }
}
