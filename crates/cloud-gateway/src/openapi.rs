//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

/// The cloud gateway's API.
#[derive(OpenApi)]
#[openapi(
    info(title = "cloud-gateway", description = "DingTalk callbacks, OAuth code exchange, one-time user records and work-notification relay"),
    paths(
        routes::callback::event_pushed,
        routes::oauth::login,
        routes::oauth::user_callback,
        routes::internal::take_user,
        routes::internal::corp_status,
        routes::internal::suite_status,
        routes::internal::send_messages,
        routes::health::healthz,
        routes::health::readyz,
        routes::health::metrics,
    ),
    components(schemas(
        dingtalk_core::wire::EdgeUser,
        dingtalk_core::wire::CorpStatus,
        dingtalk_core::wire::CorpAuthStatus,
        dingtalk_core::wire::SuiteStatus,
        dingtalk_core::wire::SendRequest,
        dingtalk_core::wire::SendContent,
        dingtalk_core::wire::SendResult,
        dingtalk_core::wire::ErrorBody,
    )),
    modifiers(&EdgeBasic)
)]
pub struct ApiDoc;

/// Declares the `edge_basic` security scheme.
struct EdgeBasic;

impl Modify for EdgeBasic {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "edge_basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}
