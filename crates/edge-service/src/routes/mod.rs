//! HTTP routes of the edge, the shared state they use, and the extractor error handlers that
//! turn bad JSON, queries and paths into JSON 400s.

pub mod bindings;
pub mod docs;
pub mod health;
pub mod messages;

use std::sync::Arc;
use std::time::Duration;

use actix_web::error::JsonPayloadError;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use tokio::sync::{broadcast, Notify};
use uuid::Uuid;

use crate::db::DbPool;
use crate::error::AppError;
use crate::request_id::RequestId;

/// Largest accepted JSON body.
pub const JSON_LIMIT: usize = 256 * 1024;

/// What handlers share.
pub struct AppState {
    /// The database.
    pub pool: DbPool,
    /// Whether binds are announced to the IAM webhook.
    pub iam_enabled: bool,
    /// `messages.default_url`.
    pub default_url: String,
    /// `messages.sync_wait_ms`.
    pub sync_wait: Duration,
    /// Wakes the outbox worker.
    pub wake: Arc<Notify>,
    /// The message ids of outbox rows reaching a final status (a waiting send request looks
    /// at its message again only when its own id goes by).
    pub settled: broadcast::Sender<Uuid>,
}

/// The request id assigned by the middleware.
pub fn request_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map_or_else(crate::request_id::current, |r| r.0.clone())
}

async fn method_not_allowed() -> Result<HttpResponse, AppError> {
    Err(AppError::MethodNotAllowed)
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound(
        "no such route; see /openapi.json for the API".into(),
    ))
}

/// Registers every route, the extractor configs and the JSON 404 default service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let json = web::JsonConfig::default()
        .limit(JSON_LIMIT)
        .error_handler(|err, _| match err {
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                AppError::PayloadTooLarge(format!("the body is larger than {JSON_LIMIT} bytes"))
                    .into()
            }
            other => AppError::BadRequest(format!("invalid JSON body: {other}")).into(),
        });
    let query = web::QueryConfig::default()
        .error_handler(|err, _| AppError::BadRequest(format!("invalid query: {err}")).into());
    let path = web::PathConfig::default()
        .error_handler(|err, _| AppError::BadRequest(format!("invalid path: {err}")).into());
    cfg.app_data(json)
        .app_data(query)
        .app_data(path)
        .service(
            web::resource("/dingding/local/bindings")
                .route(web::post().to(bindings::bind))
                .route(web::get().to(bindings::list))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/dingding/local/auth/user/callback")
                .route(web::get().to(bindings::bind_callback))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/dingding/local/bindings/{tenant_id}/{staff_id}")
                .route(web::delete().to(bindings::unbind))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/dingding/local/send/messages")
                .route(web::post().to(messages::send))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/dingding/local/messages/{message_id}")
                .route(web::get().to(messages::status))
                .default_service(web::to(method_not_allowed)),
        )
        // HEAD too: load balancers probe with it.
        .route("/healthz", web::get().to(health::healthz))
        .route("/healthz", web::head().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/readyz", web::head().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/docs", web::get().to(docs::redirect))
        .service(docs::swagger_ui())
        .default_service(web::to(not_found));
}
