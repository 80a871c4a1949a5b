//! Accepting a send request: resolve staff ids through the tenant's bindings, group them per
//! corp, and store one outbox row per corp (and the idempotency key) in one transaction; and the
//! status of a message, aggregated over its rows.

use std::collections::{BTreeMap, HashSet};

use diesel::prelude::*;
use dingtalk_core::wire::{SendContent, SendRequest};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::models::{kind, status, OutboxRow};
use crate::db::{bindings, idempotency, outbox};
use crate::error::AppError;
use crate::validate;

/// `POST /dingding/local/send/messages` body: the original `{staff_ids, tenant_id, data, url?}`
/// (template send) or `{staff_ids, tenant_id, msg}` (a DingTalk message object).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SendMessages {
    /// Staff ids of the tenant to notify.
    pub staff_ids: Vec<String>,
    /// The tenant.
    pub tenant_id: String,
    /// Template send: the text (the local time is appended).
    #[serde(default)]
    pub data: Option<String>,
    /// Template send: the link (default `messages.default_url`).
    #[serde(default)]
    pub url: Option<String>,
    /// A DingTalk message object (`{"msgtype":"text","text":{"content":"…"}}`), sent as is.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub msg: Option<serde_json::Value>,
}

/// The answer to an accepted send request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SendAnswer {
    /// `success` (delivered to the cloud in time) or `queued` (delivery continues in the
    /// background; follow it at `GET /dingding/local/messages/{message_id}`).
    pub status: String,
    /// The message id.
    #[schema(value_type = String)]
    pub message_id: Uuid,
    /// Staff ids that have no binding in the tenant (nothing is sent to them).
    pub missing_staff_ids: Vec<String>,
    /// DingTalk task ids, when delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_ids: Option<Vec<i64>>,
}

/// `GET /dingding/local/messages/{message_id}` answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageStatus {
    /// The message id.
    #[schema(value_type = String)]
    pub message_id: Uuid,
    /// `queued`, `delivered` (every corp's row) or `failed` (some row failed for good).
    pub status: String,
    /// Delivery attempts over all rows.
    pub attempts: i64,
    /// The last error of a row that is not delivered.
    pub last_error: Option<String>,
    /// DingTalk task ids of the delivered rows.
    pub task_ids: Vec<i64>,
}

/// The result of [`accept`].
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The message id (an earlier one when the idempotency key was replayed).
    pub message_id: Uuid,
    /// Unbound staff ids.
    pub missing_staff_ids: Vec<String>,
    /// Whether rows were stored by this call (false on a replay).
    pub created: bool,
}

impl SendMessages {
    /// Checks the shape; builds the content with the local time appended to `data`.
    pub fn content(&self, default_url: &str) -> Result<SendContent, AppError> {
        validate::id("tenant_id", &self.tenant_id)?;
        if self.staff_ids.is_empty() {
            return Err(AppError::BadRequest(
                "staff_ids must list at least one staff id".into(),
            ));
        }
        if self.staff_ids.len() > 10_000 {
            return Err(AppError::BadRequest(
                "staff_ids: at most 10000 per request".into(),
            ));
        }
        for staff in &self.staff_ids {
            validate::id("staff_ids[]", staff)?;
        }
        if let Some(data) = &self.data {
            validate::text("data", data)?;
        }
        if let Some(url) = &self.url {
            validate::text("url", url)?;
        }
        if let Some(msg) = &self.msg {
            validate::json("msg", msg)?;
        }
        match (&self.data, &self.msg) {
            (Some(data), None) => {
                let time = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
                let url = self
                    .url
                    .as_deref()
                    .filter(|u| !u.is_empty())
                    .unwrap_or(default_url);
                let vars = serde_json::json!({ "message": format!("{data}\n{time}"), "url": url });
                Ok(SendContent::Template {
                    message: vars.to_string(),
                })
            }
            (None, Some(msg)) if msg.get("msgtype").is_some_and(|t| t.is_string()) => {
                Ok(SendContent::Msg { msg: msg.clone() })
            }
            (None, Some(_)) => Err(AppError::BadRequest(
                "msg must be a DingTalk message object with a string `msgtype`".into(),
            )),
            _ => Err(AppError::BadRequest(
                "give either `data` (template text) or `msg` (a DingTalk message object), not both"
                    .into(),
            )),
        }
    }
}

/// SHA-256 (hex) of a request body, for idempotency checks (keys sorted by serde_json).
pub fn request_hash(body: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

/// Stores the message in the outbox (one row per corp), in one transaction with its
/// idempotency key. 404 when no staff id is bound; 409 when the key was used for another body.
pub fn accept(
    conn: &mut PgConnection,
    req: &SendMessages,
    content: &SendContent,
    idempotency: Option<(&str, &str)>,
    request_id: &str,
) -> Result<Accepted, AppError> {
    conn.transaction(|conn| {
        if let Some((key, hash)) = idempotency {
            if let Some(found) = idempotency::find(conn, &req.tenant_id, key)? {
                return replay(found, hash);
            }
        }
        let mut staff_ids = req.staff_ids.clone();
        staff_ids.sort();
        staff_ids.dedup();
        let found = bindings::resolve(conn, &req.tenant_id, &staff_ids)?;
        if found.is_empty() {
            return Err(AppError::NotFound(format!(
                "none of the staff ids is bound to a DingTalk user in tenant `{}`",
                req.tenant_id
            )));
        }
        let bound: HashSet<&str> = found.iter().map(|b| b.staff_id.as_str()).collect();
        let missing: Vec<String> = staff_ids
            .iter()
            .filter(|s| !bound.contains(s.as_str()))
            .cloned()
            .collect();
        let message_id = Uuid::new_v4();
        if let Some((key, hash)) = idempotency {
            if !idempotency::insert(conn, &req.tenant_id, key, message_id, hash, &missing)? {
                // A concurrent request with the same key committed first.
                let found = idempotency::find(conn, &req.tenant_id, key)?
                    .ok_or_else(|| AppError::Database("idempotency key vanished".into()))?;
                return replay(found, hash);
            }
        }
        let mut per_corp: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for b in &found {
            per_corp
                .entry(b.corp_id.as_str())
                .or_default()
                .push(b.user_id.clone());
        }
        let mut rows = Vec::with_capacity(per_corp.len());
        for (corp_id, mut user_ids) in per_corp {
            user_ids.sort();
            user_ids.dedup();
            let payload = serde_json::to_value(SendRequest {
                corp_id: corp_id.to_string(),
                user_ids,
                content: content.clone(),
            })
            .map_err(|e| AppError::Database(format!("encoding the outbox payload: {e}")))?;
            rows.push(OutboxRow::pending(
                message_id,
                kind::SEND,
                corp_id,
                payload,
                request_id,
            ));
        }
        outbox::insert(conn, &rows)?;
        Ok(Accepted {
            message_id,
            missing_staff_ids: missing,
            created: true,
        })
    })
}

fn replay(found: idempotency::IdempotencyRecord, hash: &str) -> Result<Accepted, AppError> {
    if found.request_hash != hash {
        return Err(AppError::Conflict(
            "this Idempotency-Key was already used with another request body; use a new key".into(),
        ));
    }
    Ok(Accepted {
        message_id: found.message_id,
        missing_staff_ids: serde_json::from_value(found.missing_staff_ids).unwrap_or_default(),
        created: false,
    })
}

/// The status of a message over its rows; None when there is no such message.
pub fn status_of(conn: &mut PgConnection, message_id: Uuid) -> QueryResult<Option<MessageStatus>> {
    let rows = outbox::by_message(conn, message_id)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let overall = if rows.iter().any(|r| r.status == status::FAILED) {
        "failed"
    } else if rows.iter().all(|r| r.status == status::DELIVERED) {
        "delivered"
    } else {
        "queued"
    };
    Ok(Some(MessageStatus {
        message_id,
        status: overall.to_string(),
        attempts: rows.iter().map(|r| i64::from(r.attempts)).sum(),
        last_error: rows
            .iter()
            .filter(|r| r.status != status::DELIVERED)
            .find_map(|r| r.last_error.clone()),
        task_ids: rows
            .iter()
            .flat_map(|r| r.task_ids.iter().copied())
            .collect(),
    }))
}
