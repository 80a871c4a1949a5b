//! Relaying work notifications: validate, resolve the corp's agent id, split recipients into
//! batches of at most 100, send each through the retry policy and the token cache, and keep the
//! final answer (success or permanent DingTalk error) by Idempotency-Key for 24 hours. Transient
//! failures are not recorded as answers, so the edge's retry can still succeed.
//!
//! With an Idempotency-Key, each batch's task id is also committed as soon as DingTalk accepted
//! it, before the next batch is sent. A retry with the same key and body (after a transient
//! failure, a disconnect or a restart) skips the batches already accepted and reuses their task
//! ids, so no recipient is notified twice and the answer still lists every batch in order.
//!
//! Internal apps have no template send: a template request `{"message": …, "url": …}` is sent as
//! `{"msgtype":"text","text":{"content": "<message>\n<url>"}}` through `asyncsend_v2`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use dingtalk_core::client::{AsyncSend, TemplateSend};
use dingtalk_core::wire::{ErrorBody, SendContent, SendRequest, SendResult};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::config::Mode;
use crate::db::{self, models::IdempotencyRow, models::SendBatchRow};
use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry::current_request_id;

/// Recipients per DingTalk call.
pub const BATCH_SIZE: usize = 100;

/// What DingTalk is asked to do for each batch.
enum Payload {
    Template { template_id: String, data: String },
    Msg(serde_json::Value),
}

/// Where the accepted batches of a keyed send are recorded, and those accepted before.
struct BatchLog {
    edge_id: String,
    key: String,
    request_hash: String,
    /// Task ids of batches accepted by earlier attempts, by batch index.
    accepted: HashMap<usize, i64>,
}

/// Removes the in-flight marker when the request ends, however it ends.
struct InFlight<'a> {
    state: &'a AppState,
    key: Option<(String, String)>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            if let Ok(mut set) = self.state.sends_in_flight.lock() {
                set.remove(&key);
            }
        }
    }
}

fn validate(req: &SendRequest) -> Result<(), ApiError> {
    if req.corp_id.trim().is_empty() {
        return Err(ApiError::BadRequest("corp_id must not be empty".into()));
    }
    if req.user_ids.is_empty() {
        return Err(ApiError::BadRequest(
            "user_ids must list at least one user".into(),
        ));
    }
    if req
        .user_ids
        .iter()
        .any(|u| u.trim().is_empty() || u.contains(','))
    {
        return Err(ApiError::BadRequest(
            "user_ids must be non-empty DingTalk user ids without commas".into(),
        ));
    }
    match &req.content {
        SendContent::Template { message } => {
            let vars: serde_json::Value = serde_json::from_str(message).map_err(|_| {
                ApiError::BadRequest("message must be a JSON string of template variables".into())
            })?;
            if !vars.is_object() {
                return Err(ApiError::BadRequest(
                    "message must encode a JSON object of template variables".into(),
                ));
            }
        }
        SendContent::Msg { msg } => {
            if !msg.get("msgtype").is_some_and(|t| t.is_string()) {
                return Err(ApiError::BadRequest(
                    "msg must be a DingTalk message object with a msgtype".into(),
                ));
            }
        }
    }
    Ok(())
}

/// The text message an internal app sends for template variables.
fn template_as_text(message: &str) -> serde_json::Value {
    let vars: serde_json::Value = serde_json::from_str(message).unwrap_or_default();
    let text = |k: &str| vars.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let mut content = text("message").unwrap_or_else(|| message.to_string());
    if let Some(url) = text("url").filter(|u| !u.is_empty()) {
        content.push('\n');
        content.push_str(&url);
    }
    serde_json::json!({"msgtype": "text", "text": {"content": content}})
}

/// Handles one send request for `edge_id`.
pub async fn handle(
    state: &AppState,
    edge_id: &str,
    key: Option<String>,
    req: SendRequest,
) -> Result<HttpResponse, ApiError> {
    validate(&req)?;
    let request_hash = hex::encode(Sha256::digest(
        serde_json::to_vec(&req).map_err(ApiError::internal)?,
    ));
    let mut guard = InFlight { state, key: None };
    if let Some(key) = &key {
        if let Some(stored) = find_record(state, edge_id, key).await? {
            if stored.request_hash != request_hash {
                return Err(ApiError::Conflict(
                    "this Idempotency-Key was used with another request body".into(),
                ));
            }
            log::info!("send: edge {edge_id}: replaying the stored answer for a repeated key");
            let status = StatusCode::from_u16(u16::try_from(stored.response_status).unwrap_or(500))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(HttpResponse::build(status)
                .insert_header(("Idempotent-Replayed", "true"))
                .content_type("application/json")
                .body(stored.response_body));
        }
        let marker = (edge_id.to_string(), key.clone());
        let inserted = state
            .sends_in_flight
            .lock()
            .map_err(ApiError::internal)?
            .insert(marker.clone());
        if !inserted {
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is in progress; retry later".into(),
            ));
        }
        guard.key = Some(marker);
    }
    let log = match &key {
        Some(key) => Some(batch_log(state, edge_id, key, &request_hash).await?),
        None => None,
    };

    let outcome = deliver(state, &req, log.as_ref()).await;
    let (status, body) = match &outcome {
        Ok(result) => (
            StatusCode::OK,
            serde_json::to_string(result).map_err(ApiError::internal)?,
        ),
        Err(err @ ApiError::DingTalkRefused { errcode, errmsg }) => {
            let body = ErrorBody {
                errcode: *errcode,
                errmsg: errmsg.clone(),
                request_id: current_request_id(),
            };
            (
                err.status_code(),
                serde_json::to_string(&body).map_err(ApiError::internal)?,
            )
        }
        // Transient failures and refusals of our own (404 corp) are not final for DingTalk.
        Err(_) => return outcome.map(|_| HttpResponse::Ok().finish()),
    };
    if let Some(key) = key {
        let row = IdempotencyRow {
            edge_id: edge_id.to_string(),
            idem_key: key,
            request_hash,
            response_status: i32::from(status.as_u16()),
            response_body: body.clone(),
            created_at: db::now_ms(),
        };
        state
            .db(move |conn| db::idempotency::store(conn, &row))
            .await?;
    }
    drop(guard);
    match outcome {
        Ok(result) => {
            log::info!(
                "send: edge {edge_id}: corp {} {} recipients in {} batches",
                req.corp_id,
                req.user_ids.len(),
                result.task_ids.len()
            );
            Ok(HttpResponse::Ok().json(result))
        }
        Err(err) => Err(err),
    }
}

async fn find_record(
    state: &AppState,
    edge_id: &str,
    key: &str,
) -> Result<Option<IdempotencyRow>, ApiError> {
    let (edge_id, key) = (edge_id.to_string(), key.to_string());
    state
        .db(move |conn| db::idempotency::find(conn, &edge_id, &key, db::now_ms()))
        .await
}

/// The batches of (`edge_id`, `key`) accepted by earlier attempts; 409 when they were sent for
/// another request body.
async fn batch_log(
    state: &AppState,
    edge_id: &str,
    key: &str,
    request_hash: &str,
) -> Result<BatchLog, ApiError> {
    let (edge, k) = (edge_id.to_string(), key.to_string());
    let rows = state
        .db(move |conn| db::send_batches::find(conn, &edge, &k, db::now_ms()))
        .await?;
    if rows.iter().any(|r| r.request_hash != request_hash) {
        return Err(ApiError::Conflict(
            "this Idempotency-Key was used with another request body".into(),
        ));
    }
    let accepted: HashMap<usize, i64> = rows
        .iter()
        .filter_map(|r| Some((usize::try_from(r.batch_index).ok()?, r.task_id)))
        .collect();
    if !accepted.is_empty() {
        log::info!(
            "send: edge {edge_id}: {} batches were accepted by an earlier attempt with this key",
            accepted.len()
        );
    }
    Ok(BatchLog {
        edge_id: edge_id.to_string(),
        key: key.to_string(),
        request_hash: request_hash.to_string(),
        accepted,
    })
}

/// Commits that DingTalk accepted batch `index` as `task_id`.
async fn record_batch(
    state: &AppState,
    log: &BatchLog,
    index: usize,
    task_id: i64,
) -> Result<(), ApiError> {
    let row = SendBatchRow {
        edge_id: log.edge_id.clone(),
        idem_key: log.key.clone(),
        request_hash: log.request_hash.clone(),
        batch_index: i32::try_from(index).map_err(ApiError::internal)?,
        task_id,
        created_at: db::now_ms(),
    };
    state
        .db(move |conn| db::send_batches::store(conn, &row))
        .await
}

/// The agent id and suite ticket for the corp (404 when the corp is not usable).
async fn target(state: &AppState, corp_id: &str) -> Result<(i64, Option<String>), ApiError> {
    let settings = &state.settings.dingtalk;
    match settings.mode {
        Mode::Internal => {
            if settings.corp_id.as_deref() != Some(corp_id) {
                return Err(ApiError::NotFound(
                    "this gateway's internal app does not belong to that corp".into(),
                ));
            }
            let agent = settings.agent_id.ok_or_else(|| {
                ApiError::Internal("internal mode without dingtalk.agent_id".into())
            })?;
            Ok((agent, None))
        }
        Mode::Isv => {
            let (corp, suite_key) = (corp_id.to_string(), settings.app_key.clone());
            let (auth, ticket) = state
                .db(move |conn| db::callbacks::corp_and_ticket(conn, &corp, &suite_key))
                .await?;
            let not_found = || ApiError::NotFound("this corp has not authorized the app".into());
            let auth = auth
                .filter(|a| a.status == "active")
                .ok_or_else(not_found)?;
            let agent = auth.agent_id.ok_or_else(not_found)?;
            let ticket = ticket.map(|t| t.ticket).ok_or_else(|| {
                ApiError::Unavailable("no suite ticket received from DingTalk yet".into())
            })?;
            Ok((agent, Some(ticket)))
        }
    }
}

async fn deliver(
    state: &AppState,
    req: &SendRequest,
    log: Option<&BatchLog>,
) -> Result<SendResult, ApiError> {
    let (agent_id, ticket) = target(state, &req.corp_id).await?;
    let settings = &state.settings.dingtalk;
    let payload = match (&req.content, settings.mode) {
        (SendContent::Template { message }, Mode::Isv) => Payload::Template {
            template_id: settings.template_id.clone().unwrap_or_default(),
            data: message.clone(),
        },
        (SendContent::Template { message }, Mode::Internal) => {
            Payload::Msg(template_as_text(message))
        }
        (SendContent::Msg { msg }, _) => Payload::Msg(msg.clone()),
    };
    let mut task_ids = Vec::new();
    for (index, batch) in req.user_ids.chunks(BATCH_SIZE).enumerate() {
        if let Some(task_id) = log.and_then(|l| l.accepted.get(&index)) {
            task_ids.push(*task_id);
            continue;
        }
        let client = state.dingtalk.client();
        let task_id = match &payload {
            Payload::Template { template_id, data } => {
                state
                    .dingtalk
                    .with_corp_token(
                        &req.corp_id,
                        ticket.as_deref(),
                        "sendbytemplate",
                        |token| async move {
                            let send = TemplateSend {
                                agent_id,
                                template_id,
                                user_ids: batch,
                                data,
                            };
                            client.send_by_template(token.expose_secret(), &send).await
                        },
                    )
                    .await?
            }
            Payload::Msg(msg) => {
                state
                    .dingtalk
                    .with_corp_token(
                        &req.corp_id,
                        ticket.as_deref(),
                        "asyncsend_v2",
                        |token| async move {
                            let send = AsyncSend {
                                agent_id,
                                user_ids: batch,
                                msg,
                            };
                            client.async_send_v2(token.expose_secret(), &send).await
                        },
                    )
                    .await?
            }
        };
        if let Some(log) = log {
            record_batch(state, log, index, task_id).await?;
        }
        task_ids.push(task_id);
    }
    Ok(SendResult { task_ids })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_template_sends_become_text_with_the_url() {
        let msg =
            template_as_text(r#"{"message":"hello\n2026-01-01 10:00:00","url":"http://x/y"}"#);
        assert_eq!(msg["msgtype"], "text");
        assert_eq!(
            msg["text"]["content"],
            "hello\n2026-01-01 10:00:00\nhttp://x/y"
        );
    }

    #[test]
    fn empty_recipients_are_refused() {
        let req = SendRequest {
            corp_id: "c".into(),
            user_ids: vec![],
            content: SendContent::Template {
                message: "{}".into(),
            },
        };
        assert!(matches!(validate(&req), Err(ApiError::BadRequest(_))));
    }
}
