//! Every route of the simulator, by DingTalk host: login (`login.`), the new API (`api.`), the
//! legacy API (`oapi.`), plus the simulator's own `/_sim/*`, `/healthz` and the demo `/portal/`.
// Validation helpers return the finished DingTalk error response as their `Err`.
#![allow(clippy::result_large_err)]

pub mod legacy_api;
pub mod login;
pub mod messages;
pub mod oauth_api;
pub mod portal;
pub mod sim_admin;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::reply::{api_error, legacy_error};

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    const CONV: &str = "/topapi/message/corpconversation";
    cfg.route("/oauth2/auth", web::get().to(login::authorize))
        .route(
            "/v1.0/oauth2/userAccessToken",
            web::post().to(oauth_api::user_access_token),
        )
        .route(
            "/v1.0/contact/users/{union_id}",
            web::get().to(oauth_api::user_profile),
        )
        .route(
            "/v1.0/oauth2/corpAccessToken",
            web::post().to(oauth_api::corp_access_token),
        )
        .route(
            "/v1.0/oauth2/accessToken",
            web::post().to(oauth_api::app_access_token),
        )
        .route(
            "/service/get_corp_token",
            web::post().to(legacy_api::get_corp_token),
        )
        .route("/gettoken", web::get().to(legacy_api::gettoken))
        .route(
            "/topapi/user/getbyunionid",
            web::post().to(legacy_api::get_by_unionid),
        )
        .route(
            &format!("{CONV}/sendbytemplate"),
            web::post().to(messages::send_by_template),
        )
        .route(
            &format!("{CONV}/asyncsend_v2"),
            web::post().to(messages::async_send_v2),
        )
        .route(
            &format!("{CONV}/getsendprogress"),
            web::post().to(messages::get_send_progress),
        )
        .route(
            &format!("{CONV}/getsendresult"),
            web::post().to(messages::get_send_result),
        )
        .route("/_sim/messages", web::get().to(sim_admin::list_messages))
        .route(
            "/_sim/messages",
            web::delete().to(sim_admin::clear_messages),
        )
        .route("/_sim/inbox", web::get().to(sim_admin::inbox))
        .route("/_sim/faults", web::post().to(sim_admin::add_fault))
        .route("/_sim/faults", web::delete().to(sim_admin::clear_faults))
        .route("/_sim/push", web::post().to(sim_admin::push))
        .route("/_sim/clock", web::post().to(sim_admin::advance_clock))
        .route("/_sim/state", web::get().to(sim_admin::state))
        .route("/healthz", web::get().to(healthz))
        .route("/portal", web::get().to(portal::serve))
        .route("/portal/{tail:.*}", web::get().to(portal::serve));
}

/// `GET /healthz`: liveness for docker and scripts, `{"status":"ok"}`.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Unknown paths: the new API's 404 shape under `/v1.0/`, else the legacy answer (HTTP 200,
/// errcode 22, as DingTalk's oapi host answers an unknown path).
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/v1.0/") {
        api_error(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )
    } else {
        legacy_error(22, "无效的请求路径，请检查请求URL")
    }
}
