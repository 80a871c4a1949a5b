//! The internal API for edges (HTTP Basic per edge): take a one-time user, read a corp's or the
//! suite's status, and send work notifications (idempotent by `Idempotency-Key`).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use dingtalk_core::wire::{
    CorpAuthStatus, CorpStatus, EdgeUser, SuiteStatus, IDEMPOTENCY_KEY_HEADER,
};

use crate::auth::Edge;
use crate::db::{self, auth_codes::Take};
use crate::error::ApiError;
use crate::send;
use crate::state::AppState;

/// Takes the user of a one-time auth code, exactly once.
#[utoipa::path(
    get,
    path = "/dingding/internal/user/{auth_code}",
    tag = "internal",
    params(("auth_code" = String, Path, description = "the one-time code from the profile redirect")),
    security(("edge_basic" = [])),
    responses(
        (status = 200, body = EdgeUser),
        (status = 401, description = "edge credentials missing or wrong", body = dingtalk_core::wire::ErrorBody),
        (status = 403, description = "the code belongs to another edge", body = dingtalk_core::wire::ErrorBody),
        (status = 404, description = "unknown, expired or already taken", body = dingtalk_core::wire::ErrorBody),
    )
)]
#[get("/dingding/internal/user/{auth_code}")]
pub async fn take_user(
    edge: Edge,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let hash = db::auth_codes::hash_code(&path.into_inner());
    let edge_id = edge.0.clone();
    let taken = state
        .db(move |conn| db::auth_codes::take(conn, &hash, &edge_id, db::now_ms()))
        .await?;
    match taken {
        Take::Taken(json) => {
            let user: EdgeUser = serde_json::from_str(&json).map_err(ApiError::internal)?;
            log::info!("internal: edge {} took user {}", edge.0, user.user_id);
            Ok(HttpResponse::Ok().json(user))
        }
        Take::Gone => Err(ApiError::NotFound(
            "unknown, expired or already used auth code; log in again".into(),
        )),
        Take::OtherEdge => Err(ApiError::Forbidden(
            "this auth code was issued for another edge".into(),
        )),
    }
}

/// A corp's authorization status (never the permanent code).
#[utoipa::path(
    get,
    path = "/dingding/internal/corp/{corp_id}",
    tag = "internal",
    params(("corp_id" = String, Path, description = "the corp id")),
    security(("edge_basic" = [])),
    responses(
        (status = 200, body = CorpStatus),
        (status = 401, body = dingtalk_core::wire::ErrorBody),
        (status = 404, body = dingtalk_core::wire::ErrorBody),
    )
)]
#[get("/dingding/internal/corp/{corp_id}")]
pub async fn corp_status(
    _edge: Edge,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let corp_id = path.into_inner();
    let row = state
        .db(move |conn| db::callbacks::corp(conn, &corp_id))
        .await?
        .ok_or_else(|| ApiError::NotFound("this corp has not authorized the app".into()))?;
    Ok(HttpResponse::Ok().json(CorpStatus {
        corp_id: row.corp_id,
        corp_name: row.corp_name,
        agent_id: row.agent_id,
        status: if row.status == "active" {
            CorpAuthStatus::Active
        } else {
            CorpAuthStatus::Relieved
        },
        updated_at: db::rfc3339(row.updated_at),
    }))
}

/// The suite's ticket status (never the ticket).
#[utoipa::path(
    get,
    path = "/dingding/internal/suite/{suite_key}",
    tag = "internal",
    params(("suite_key" = String, Path, description = "the suite key")),
    security(("edge_basic" = [])),
    responses(
        (status = 200, body = SuiteStatus),
        (status = 401, body = dingtalk_core::wire::ErrorBody),
        (status = 404, body = dingtalk_core::wire::ErrorBody),
    )
)]
#[get("/dingding/internal/suite/{suite_key}")]
pub async fn suite_status(
    _edge: Edge,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let suite_key = path.into_inner();
    let row = state
        .db(move |conn| db::callbacks::suite_ticket(conn, &suite_key))
        .await?
        .ok_or_else(|| ApiError::NotFound("no suite ticket received for this suite key".into()))?;
    Ok(HttpResponse::Ok().json(SuiteStatus {
        suite_key: row.suite_key,
        corp_id: row.corp_id,
        ticket_updated_at: db::rfc3339(row.updated_at),
    }))
}

/// Sends a work notification (template variables or a whole message object).
#[utoipa::path(
    post,
    path = "/dingding/internal/send/messages",
    tag = "internal",
    request_body = dingtalk_core::wire::SendRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "same key and body within 24 h: the stored answer, nothing re-sent")),
    security(("edge_basic" = [])),
    responses(
        (status = 200, body = dingtalk_core::wire::SendResult),
        (status = 400, body = dingtalk_core::wire::ErrorBody),
        (status = 401, body = dingtalk_core::wire::ErrorBody),
        (status = 404, description = "corp not authorized", body = dingtalk_core::wire::ErrorBody),
        (status = 409, description = "Idempotency-Key reused with another body", body = dingtalk_core::wire::ErrorBody),
        (status = 502, description = "DingTalk refused: its errcode and errmsg", body = dingtalk_core::wire::ErrorBody),
        (status = 503, description = "DingTalk kept failing; retry", body = dingtalk_core::wire::ErrorBody),
    )
)]
#[post("/dingding/internal/send/messages")]
pub async fn send_messages(
    edge: Edge,
    req: HttpRequest,
    body: web::Json<dingtalk_core::wire::SendRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = match req.headers().get(IDEMPOTENCY_KEY_HEADER) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 255)
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
                    )
                })?
                .to_string(),
        ),
    };
    send::handle(&state, &edge.0, key, body.into_inner()).await
}
