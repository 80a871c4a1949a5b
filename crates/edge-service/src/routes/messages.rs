//! `POST /dingding/local/send/messages` (store in the outbox, then wait briefly for delivery) and
//! `GET /dingding/local/messages/{message_id}`.

use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use dingtalk_core::wire::IDEMPOTENCY_KEY_HEADER;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

use super::{request_id, AppState};
use crate::error::AppError;
use crate::messages::{self, MessageStatus, SendAnswer, SendMessages};

/// Accepts a message: 200 when delivered to the cloud within `messages.sync_wait_ms`, else 202.
#[utoipa::path(post, path = "/dingding/local/send/messages", request_body = SendMessages,
    params(("Idempotency-Key" = Option<String>, Header, description = "same key and body: the same answer, nothing stored again")),
    responses(
        (status = 200, description = "delivered to the cloud", body = SendAnswer),
        (status = 202, description = "stored in the outbox, delivery continues", body = SendAnswer),
        (status = 400, body = dingtalk_core::wire::ErrorBody),
        (status = 404, description = "no staff id is bound", body = dingtalk_core::wire::ErrorBody),
        (status = 409, description = "Idempotency-Key reused with another body", body = dingtalk_core::wire::ErrorBody)))]
pub async fn send(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let raw = body.into_inner();
    let hash = messages::request_hash(&raw);
    let parsed: SendMessages = serde_json::from_value(raw)
        .map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))?;
    let key = match req.headers().get(IDEMPOTENCY_KEY_HEADER) {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.trim().is_empty() && k.len() <= 255 => Some(k.to_string()),
            _ => {
                return Err(AppError::BadRequest(
                    "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
                ))
            }
        },
    };
    let content = parsed.content(&state.default_url)?;
    let rid = request_id(&req);
    let pool = state.pool.clone();
    let rid2 = rid.clone();
    // Listen before the row exists, so that its delivery cannot go by unseen.
    let mut settled = state.settled.subscribe();
    let accepted = web::block(move || -> Result<_, AppError> {
        let mut conn = pool.get()?;
        let idem = key.as_deref().map(|k| (k, hash.as_str()));
        messages::accept(&mut conn, &parsed, &content, idem, &rid2)
    })
    .await??;
    if accepted.created {
        log::info!(
            "[{rid}] message {} stored in the outbox",
            accepted.message_id
        );
        state.wake.notify_waiters();
    }
    if accepted.created && state.sync_wait.is_zero() {
        return Ok(HttpResponse::Accepted().json(SendAnswer {
            status: "queued".into(),
            message_id: accepted.message_id,
            missing_staff_ids: accepted.missing_staff_ids,
            task_ids: None,
        }));
    }
    let deadline = Instant::now() + state.sync_wait;
    loop {
        // The message is stored: a database hiccup now means "queued", not an error (a client
        // retrying without an Idempotency-Key would send it twice).
        let current = load_status(&state, accepted.message_id)
            .await
            .ok()
            .flatten();
        let delivered = current.as_ref().is_some_and(|s| s.status == "delivered");
        let failed = current.as_ref().is_some_and(|s| s.status == "failed");
        let now = Instant::now();
        if delivered || failed || now >= deadline {
            let answer = SendAnswer {
                status: if delivered { "success" } else { "queued" }.into(),
                message_id: accepted.message_id,
                missing_staff_ids: accepted.missing_staff_ids,
                task_ids: current.filter(|_| delivered).map(|s| s.task_ids),
            };
            return Ok(if delivered {
                HttpResponse::Ok().json(answer)
            } else {
                HttpResponse::Accepted().json(answer)
            });
        }
        // Look again when one of this message's rows settles here, or now and then in case
        // another replica delivered it; not on every other row (a burst of waiting requests
        // would flood the database and slow the very deliveries they wait for).
        let wait = (deadline - now).min(OTHER_REPLICA_POLL);
        let _ =
            tokio::time::timeout(wait, own_row_settled(&mut settled, accepted.message_id)).await;
    }
}

/// How often a waiting send request looks whether another replica delivered its message.
const OTHER_REPLICA_POLL: Duration = Duration::from_millis(500);

/// Returns when a row of `message_id` reached a final status (or when some went by unseen).
async fn own_row_settled(settled: &mut broadcast::Receiver<Uuid>, message_id: Uuid) {
    loop {
        match settled.recv().await {
            Ok(id) if id == message_id => return,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return,
            Err(RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

async fn load_status(state: &AppState, id: Uuid) -> Result<Option<MessageStatus>, AppError> {
    let pool = state.pool.clone();
    web::block(move || -> Result<_, AppError> {
        let mut conn = pool.get()?;
        Ok(messages::status_of(&mut conn, id)?)
    })
    .await?
}

/// The delivery status of a message.
#[utoipa::path(get, path = "/dingding/local/messages/{message_id}", responses(
    (status = 200, body = MessageStatus),
    (status = 400, description = "not a UUID", body = dingtalk_core::wire::ErrorBody),
    (status = 404, body = dingtalk_core::wire::ErrorBody)))]
pub async fn status(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let raw = path.into_inner();
    let id = Uuid::parse_str(&raw)
        .map_err(|_| AppError::BadRequest("message_id must be a UUID".into()))?;
    match load_status(&state, id).await? {
        Some(s) => Ok(HttpResponse::Ok().json(s)),
        None => Err(AppError::NotFound(format!("no message {id}"))),
    }
}
