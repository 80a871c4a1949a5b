//! The request id: taken from the `x-request-id` request header (when it is a sane token) or
//! generated, echoed on every response, available to the code handling the request through
//! [`current`] so that log lines, error bodies and calls to the cloud carry it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use dingtalk_core::wire::REQUEST_ID_HEADER;

use crate::error::AppError;
use crate::metrics::Metrics;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The request id of the request being handled, or `-` outside of one.
pub fn current() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_string())
}

/// The request id stored in the request's extensions (for extractors and handlers).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Middleware: assigns the request id, runs the rest of the chain inside its scope, adds the
/// `x-request-id` response header, turns the CORS layer's plain-text refusals into JSON errors
/// and records the request metrics by route pattern.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    // Also as a request header, so the access log line carries a generated id too.
    if let Ok(value) = HeaderValue::from_str(&id) {
        req.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let started = std::time::Instant::now();
    let mut res = REQUEST_ID
        .scope(id.clone(), async move {
            next.call(req).await.map(json_cors_refusal)
        })
        .await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    if let Some(metrics) = metrics {
        let pattern = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_string());
        metrics.observe_request(
            &method,
            &pattern,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

/// A refusal of the CORS layer (origin, method or header not allowed) as a JSON error; any other
/// response as it is. Call inside the request id scope.
fn json_cors_refusal(res: ServiceResponse<impl MessageBody + 'static>) -> ServiceResponse<BoxBody> {
    let refusal = res
        .response()
        .error()
        .and_then(|e| e.as_error::<actix_cors::CorsError>())
        .map(|e| format!("CORS: {e}; allowed origins are set in cors.allowed_origins"));
    match refusal {
        Some(message) => {
            let (req, _) = res.into_parts();
            ServiceResponse::new(req, AppError::BadRequest(message).error_response())
        }
        None => res.map_into_boxed_body(),
    }
}
