//! DingTalk's response shapes: the new API's `{code, message, requestid}` with an HTTP error
//! status, and the legacy API's HTTP 200 `{errcode, errmsg, request_id}`.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Value};

/// A fresh request id in DingTalk's style (uppercase UUID).
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

/// A new-API success: the body as given, with `x-acs-request-id`.
pub fn api_ok(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("x-acs-request-id", request_id()))
        .json(body)
}

/// A new-API error: `{"code","message","requestid"}` with this status.
pub fn api_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let rid = request_id();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    HttpResponse::build(status)
        .insert_header(("x-acs-request-id", rid.clone()))
        .json(json!({"code": code, "message": message, "requestid": rid}))
}

/// A legacy success: `errcode 0`, `errmsg "ok"`, `request_id`, plus the given fields.
pub fn legacy_ok(fields: Value) -> HttpResponse {
    let mut body = json!({"errcode": 0, "errmsg": "ok", "request_id": request_id()});
    if let (Some(obj), Value::Object(extra)) = (body.as_object_mut(), fields) {
        obj.extend(extra);
    }
    HttpResponse::Ok().json(body)
}

/// A legacy error: HTTP 200 `{"errcode","errmsg","request_id"}`.
pub fn legacy_error(errcode: i64, errmsg: &str) -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({"errcode": errcode, "errmsg": errmsg, "request_id": request_id()}))
}

/// A legacy authentication failure: errcode 88 with a `sub_code`.
pub fn legacy_auth_error(sub_code: &str, sub_msg: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "errcode": 88,
        "errmsg": "鉴权异常",
        "sub_code": sub_code,
        "sub_msg": sub_msg,
        "request_id": request_id(),
    }))
}

/// A small HTML page (login errors, fault bodies).
pub fn html(status: StatusCode, title: &str, body_html: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page(title, body_html))
}

/// Wraps body HTML in the simulator's page layout. `title` is escaped here.
pub fn page(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{css}</style></head><body><main>{body_html}</main></body></html>",
        t = escape(title),
        css = PAGE_CSS,
    )
}

/// Extra `<head>`-less refresh variant of [`page`].
pub fn page_with_refresh(title: &str, body_html: &str, refresh_secs: u32) -> String {
    page(title, body_html).replacen(
        "<meta charset=\"utf-8\">",
        &format!(
            "<meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"{refresh_secs}\">"
        ),
        1,
    )
}

const PAGE_CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f2f4f7;\
margin:0;color:#1f2329}main{max-width:560px;margin:40px auto;background:#fff;border-radius:10px;\
box-shadow:0 2px 12px rgba(0,0,0,.08);padding:28px 32px}h1{font-size:20px;margin:0 0 6px}\
h2{font-size:15px;color:#646a73;margin:22px 0 8px}p{color:#646a73}\
.account{display:flex;justify-content:space-between;align-items:center;padding:10px 14px;margin:6px 0;\
border:1px solid #dee0e3;border-radius:8px;text-decoration:none;color:inherit}\
.account:hover{border-color:#3370ff;background:#f0f4ff}.account small{color:#8f959e}\
.btn{display:inline-block;padding:9px 22px;border-radius:6px;text-decoration:none;margin-right:10px;\
border:1px solid #dee0e3;color:#1f2329}.btn.primary{background:#3370ff;border-color:#3370ff;color:#fff}\
.logo{color:#3370ff;font-weight:700;letter-spacing:.5px}.msg{border:1px solid #dee0e3;border-radius:8px;\
padding:10px 14px;margin:8px 0}.msg pre{white-space:pre-wrap;margin:6px 0 0;font-size:13px}\
code{background:#f2f3f5;padding:1px 4px;border-radius:4px}";

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
