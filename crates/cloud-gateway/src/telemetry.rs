//! Request ids and request logging: every response carries `x-request-id` (taken from the request
//! when it is sane, else a new UUID), and the id is visible to everything running inside the
//! request's future ([`current_request_id`]), so error bodies and log lines carry it.
//!
//! The access log names the route pattern (`/dingding/internal/user/{auth_code}`), never the raw
//! path or query string, so auth codes and callback signatures are not logged.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use dingtalk_core::wire::REQUEST_ID_HEADER;

use crate::metrics::Metrics;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled by the current task, or `"-"` outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(|id| id.clone())
        .unwrap_or_else(|_| "-".to_string())
}

/// A request id from the client is kept when it is 1..=128 visible ASCII characters.
fn sane(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The request-id, logging and metrics middleware (`middleware::from_fn`).
pub async fn request_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let started = Instant::now();
    let method = req.method().to_string();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    REQUEST_ID
        .scope(id.clone(), async move {
            // Handlers turn their errors into responses, so an Err here is rare; it keeps its own
            // conversion (cloning the request up front would break routing).
            let mut res = next.call(req).await?.map_into_boxed_body();
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            let route = res
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_string());
            let status = res.status().as_u16();
            let elapsed = started.elapsed();
            if let Some(metrics) = metrics {
                metrics.observe_request(&method, &route, status, elapsed.as_secs_f64());
            }
            log::info!(
                "{method} {route} {status} {:.1}ms request_id={id}",
                elapsed.as_secs_f64() * 1000.0
            );
            Ok(res)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_clients_are_checked() {
        assert!(sane("abc-123"));
        assert!(!sane(""));
        assert!(!sane("has space"));
        assert!(!sane(&"x".repeat(129)));
    }

    #[tokio::test]
    async fn the_request_id_is_visible_inside_its_scope_only() {
        assert_eq!(current_request_id(), "-");
        let seen = REQUEST_ID
            .scope("rid-1".to_string(), async { current_request_id() })
            .await;
        assert_eq!(seen, "rid-1");
    }
}
