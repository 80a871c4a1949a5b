//! Operations: liveness, readiness (the database can be written), Prometheus metrics.

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::config::Mode;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "{\"status\":\"ok\"}")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database can take the write lock.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "{\"status\":\"ready\"}"),
        (status = 503, description = "the database is not usable", body = dingtalk_core::wire::ErrorBody),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .db(|conn| {
            db::check_writable(conn)
                .map_err(|e| ApiError::Unavailable(format!("database not writable: {e}")))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}

/// Prometheus text.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let age = match state.settings.dingtalk.mode {
        Mode::Internal => None,
        Mode::Isv => {
            let suite_key = state.settings.dingtalk.app_key.clone();
            let row = state
                .db(move |conn| db::callbacks::suite_ticket(conn, &suite_key))
                .await
                .ok()
                .flatten();
            // Milliseconds to seconds; precision loss is irrelevant for an age gauge.
            row.map(|r| (db::now_ms() - r.updated_at) as f64 / 1000.0)
        }
    };
    let text = state.metrics.render(age).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
