//! Fault injection: every request is counted per path, and a pending [`Fault`] for that exact
//! path turns the next `times` calls into an HTTP 500, a held-then-504 request, or a DingTalk
//! error code in the API's own shape. `/_sim/*` paths are never faulted.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use crate::reply;
use crate::state::Shared;
use crate::{Fault, FaultKind};

/// Counts the call and takes one use of the first fault pending for `path`.
pub fn on_request(shared: &Shared, path: &str) -> Option<Fault> {
    let mut st = shared.lock();
    *st.calls.entry(path.to_string()).or_insert(0) += 1;
    if path.starts_with("/_sim/") {
        return None;
    }
    let idx = st
        .faults
        .iter()
        .position(|f| f.path == path && f.times > 0)?;
    let fault = st.faults[idx].clone();
    st.faults[idx].times -= 1;
    if st.faults[idx].times == 0 {
        st.faults.remove(idx);
    }
    log::info!("fault {:?} applied to {path}", fault.kind);
    Some(fault)
}

/// The response a fault produces (a `timeout` fault first waits `shared.timeout_hold`).
pub async fn respond(shared: &Shared, fault: &Fault) -> HttpResponse {
    match fault.kind {
        FaultKind::Http500 => reply::html(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 Internal Server Error",
            "<h1>500 Internal Server Error</h1><p>injected by dingtalk-sim</p>",
        ),
        FaultKind::Timeout => {
            tokio::time::sleep(shared.timeout_hold).await;
            reply::html(
                StatusCode::GATEWAY_TIMEOUT,
                "504 Gateway Time-out",
                "<h1>504 Gateway Time-out</h1><p>injected by dingtalk-sim</p>",
            )
        }
        FaultKind::Errcode => errcode_response(&fault.path, fault.errcode.unwrap_or(-1)),
    }
}

/// DingTalk's answer carrying `code` for this path: new-API paths (`/v1.0/…`) map the code to
/// the HTTP status and string code DingTalk uses; legacy paths answer HTTP 200 with `errcode`.
pub fn errcode_response(path: &str, code: i64) -> HttpResponse {
    if path.starts_with("/v1.0/") {
        let (status, name, message) = match code {
            90018 => (
                403,
                "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                "请求被拒绝，超过应用接口调用频率限制",
            ),
            90002 => (
                403,
                "Forbidden.AccessDenied.QpsLimitForApi",
                "请求被拒绝，超过接口调用频率限制",
            ),
            90001 | 90003..=90017 => (
                403,
                "Forbidden.AccessDenied.QpsLimitForApi",
                "请求被拒绝，接口调用被限流",
            ),
            -1 | 429 => (429, "system.busy", "系统繁忙"),
            40001 | 40014 | 42001 | 88 => (400, "InvalidAuthentication", "不合法的access_token"),
            60011 => (
                403,
                "Forbidden.AccessDenied.AccessTokenPermissionDenied",
                "没有调用该接口的权限",
            ),
            _ => (400, "Unknown", "injected error"),
        };
        let name = if name == "Unknown" {
            format!("errcode.{code}")
        } else {
            name.to_string()
        };
        return reply::api_error(status, &name, message);
    }
    let msg = match code {
        -1 => "系统繁忙",
        88 => "鉴权异常",
        90018 => "请求被拒绝，超过应用接口调用频率限制",
        90002 => "请求被拒绝，超过接口调用频率限制",
        40014 => "不合法的access_token",
        42001 => "access_token超时",
        60121 => "找不到该用户",
        _ => "injected error",
    };
    reply::legacy_error(code, msg)
}
