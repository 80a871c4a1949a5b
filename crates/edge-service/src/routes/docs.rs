//! `/openapi.json` (utoipa) and `/docs` (Swagger UI served from vendored assets).

use actix_web::HttpResponse;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::{bindings, health, messages};

/// The edge's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "edge-service",
        description = "Bindings of staff to DingTalk users and a durable outbox of work notifications"
    ),
    paths(
        bindings::bind,
        bindings::bind_callback,
        bindings::list,
        bindings::unbind,
        messages::send,
        messages::status,
        health::healthz,
        health::readyz,
        health::metrics,
    ),
    components(schemas(
        bindings::BindRequest,
        bindings::BindAnswer,
        bindings::BindingPage,
        crate::db::models::BindingView,
        crate::messages::SendMessages,
        crate::messages::SendAnswer,
        crate::messages::MessageStatus,
        dingtalk_core::wire::ErrorBody,
    ))
)]
pub struct ApiDoc;

/// The Swagger UI at `/docs/` with the document at `/openapi.json`.
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi())
}

/// `/docs` -> `/docs/`.
pub async fn redirect() -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("location", "/docs/"))
        .finish()
}
