//! `POST /dingding/event/pushed`: DingTalk's encrypted event callbacks. Verify (constant time),
//! decrypt, check the owner key, parse, commit, and only then answer the encrypted `success`.
//! Nothing a callback carries produces a 5xx; the raw payload is never logged.

use std::collections::HashMap;

use actix_web::{post, web, HttpRequest, HttpResponse};
use dingtalk_core::crypto::{CryptoError, EncryptedMessage};
use dingtalk_core::events::parse_event;
use futures::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::Mode;
use crate::db::{self, callbacks::Applied};
use crate::error::ApiError;
use crate::state::AppState;

/// The callback body limit (256 KiB).
pub const MAX_CALLBACK_BYTES: usize = 256 * 1024;

#[derive(Deserialize)]
struct Body {
    encrypt: Option<String>,
}

/// The first present value of `names` in the query.
fn param<'a>(query: &'a HashMap<String, String>, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| query.get(*n).map(String::as_str))
}

/// Reads the body up to `limit` bytes (413 beyond).
async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::BadRequest("the request body could not be read".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Receives an encrypted DingTalk event.
#[utoipa::path(
    post,
    path = "/dingding/event/pushed",
    tag = "callbacks",
    params(
        ("signature" = Option<String>, Query, description = "SHA-1 signature (also `msg_signature`)"),
        ("timestamp" = Option<String>, Query, description = "also `timeStamp`"),
        ("nonce" = Option<String>, Query, description = "nonce"),
    ),
    request_body(content = String, description = "{\"encrypt\": \"<base64>\"}", content_type = "application/json"),
    responses(
        (status = 200, description = "encrypted success {msg_signature, timeStamp, nonce, encrypt}"),
        (status = 400, description = "malformed or undecryptable", body = dingtalk_core::wire::ErrorBody),
        (status = 403, description = "bad signature or another suite's ticket", body = dingtalk_core::wire::ErrorBody),
        (status = 413, description = "body over 256 KiB", body = dingtalk_core::wire::ErrorBody),
    )
)]
#[post("/dingding/event/pushed")]
pub async fn event_pushed(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let raw = read_limited(&req, payload, MAX_CALLBACK_BYTES).await?;
    let body: Body = serde_json::from_slice(&raw)
        .map_err(|_| ApiError::BadRequest("the body must be JSON {\"encrypt\": \"…\"}".into()))?;
    let encrypt = body
        .encrypt
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::BadRequest("the body has no \"encrypt\" field".into()))?;
    let (Some(signature), Some(timestamp), Some(nonce)) = (
        param(&query, &["msg_signature", "signature"]),
        param(&query, &["timestamp", "timeStamp"]),
        param(&query, &["nonce"]),
    ) else {
        return Err(ApiError::BadRequest(
            "the query must carry signature (or msg_signature), timestamp (or timeStamp) and nonce"
                .into(),
        ));
    };
    let msg = state
        .crypto
        .open(signature, timestamp, nonce, &encrypt)
        .map_err(|e| match e {
            CryptoError::BadSignature => {
                ApiError::Forbidden("the callback signature does not match".into())
            }
            CryptoError::OwnerMismatch => {
                ApiError::BadRequest("the callback was encrypted for another app".into())
            }
            _ => ApiError::BadRequest("the callback could not be decrypted".into()),
        })?;
    let event = parse_event(&msg).map_err(|_| {
        ApiError::BadRequest("the decrypted callback is not a DingTalk event".into())
    })?;
    let dedup_key = hex::encode(Sha256::digest(msg.as_bytes()));
    let event_type = event.event_type().to_string();
    let suite_key = match state.settings.dingtalk.mode {
        Mode::Isv => state.settings.dingtalk.app_key.clone(),
        // Internal apps have no suite: no ticket can match.
        Mode::Internal => String::new(),
    };
    let applied = state
        .db(move |conn| {
            db::callbacks::apply_event(conn, &dedup_key, &event, &suite_key, db::now_ms())
        })
        .await?;
    match applied {
        Applied::ForeignSuite(other) => {
            log::warn!("callback: refused a {event_type} for suite {other}");
            return Err(ApiError::Forbidden(format!(
                "this gateway serves suite {}, not {other}",
                state.settings.dingtalk.app_key
            )));
        }
        Applied::Duplicate => log::info!("callback: duplicate {event_type}, acknowledged"),
        Applied::Stored => {
            state.metrics.observe_event(&event_type);
            log::info!("callback: stored {event_type}");
        }
    }
    let reply: EncryptedMessage = state.crypto.seal("success", timestamp, nonce);
    Ok(HttpResponse::Ok().json(reply))
}
