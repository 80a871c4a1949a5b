//! `/healthz` (the process answers), `/readyz` (the database is usable), `/metrics`.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;

use super::AppState;
use crate::db::outbox;
use crate::error::AppError;
use crate::metrics::Metrics;

/// Liveness.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "the process is up")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: 503 when the database cannot be used.
#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "the database is not usable", body = dingtalk_core::wire::ErrorBody)))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let pool = state.pool.clone();
    web::block(move || -> Result<(), AppError> {
        let mut conn = pool.get_timeout(Duration::from_secs(2))?;
        diesel::sql_query("SELECT 1").execute(&mut conn)?;
        Ok(())
    })
    .await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}

/// Prometheus text; the outbox gauges are computed now.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, AppError> {
    let pool = state.pool.clone();
    let stats = web::block(move || -> Result<_, AppError> {
        let mut conn = pool.get_timeout(Duration::from_secs(2))?;
        Ok(outbox::stats(&mut conn)?)
    })
    .await?;
    match stats {
        Ok(stats) => {
            let age = stats.oldest_pending.map_or(0.0, |t| {
                (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics.set_outbox(&stats.by_status, age);
        }
        Err(e) => log::warn!(
            "[{}] metrics: outbox statistics unavailable: {e}",
            crate::request_id::current()
        ),
    }
    let text = metrics
        .render()
        .map_err(|e| AppError::Database(format!("rendering metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}
