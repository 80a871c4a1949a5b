//! The new API's (api.dingtalk.com) token and profile calls: `userAccessToken`,
//! `contact/users/{unionId|me}`, `corpAccessToken` (ISV) and `accessToken` (internal app).
//! Errors are `{"code","message","requestid"}` with HTTP 4xx, as DingTalk answers them.

use actix_web::{web, HttpRequest, HttpResponse};
use dingtalk_core::client::ACCESS_TOKEN_HEADER;
use serde_json::json;

use crate::body::Body;
use crate::reply::{api_error, api_ok};
use crate::state::{ct_eq, random_string, Shared, SimState, UserToken, REFRESH_TOKEN_TTL_MS};

fn parse(req: &HttpRequest, bytes: &[u8]) -> Result<Body, HttpResponse> {
    Body::parse(req, bytes)
        .ok_or_else(|| api_error(400, "InvalidParameter", "请求体不是合法的JSON对象"))
}

/// Whether `client_id`/`secret` are the suite's or an internal app's credentials.
fn client_ok(st: &SimState, client_id: &str, secret: &str) -> bool {
    if client_id.is_empty() {
        return false;
    }
    if ct_eq(client_id, &st.data.suite.suite_key) {
        return ct_eq(secret, &st.data.suite.suite_secret);
    }
    st.data
        .internal_app(client_id)
        .is_some_and(|app| ct_eq(secret, &app.app_secret))
}

fn invalid_client() -> HttpResponse {
    api_error(
        400,
        "invalidClientIdOrSecret",
        "无效的clientId或者clientSecret",
    )
}

/// `POST /v1.0/oauth2/userAccessToken`.
pub async fn user_access_token(
    req: HttpRequest,
    bytes: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let body = match parse(&req, &bytes) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let client_id = body.str("clientId");
    let mut st = shared.lock();
    if !client_ok(&st, &client_id, &body.str("clientSecret")) {
        return invalid_client();
    }
    let now = st.now_ms();
    let grant = match body.str("grantType").as_str() {
        "authorization_code" => {
            let code = body.str("code");
            // Single use: the code is consumed even when it turns out to be unusable.
            match st.codes.remove(&code) {
                Some(c) if c.expires_at > now && c.client_id == client_id => UserToken {
                    client_id: c.client_id,
                    user: c.user,
                    corp_id: c.corp_id,
                    expires_at: 0,
                },
                _ => return api_error(400, "invalidCode", "不合法的临时授权码"),
            }
        }
        "refresh_token" => match st.refresh_tokens.get(&body.str("refreshToken")) {
            Some(t) if t.expires_at > now && t.client_id == client_id => t.clone(),
            _ => return api_error(400, "invalidRefreshToken", "不合法的refreshToken"),
        },
        _ => return api_error(400, "unsupported.grant.type", "不支持的grantType"),
    };
    let access = random_string(32);
    let refresh = random_string(32);
    let ttl = st.token_ttl_secs;
    let expires_at = now.saturating_add(st.ttl_ms());
    let corp_id = grant.corp_id.clone();
    st.user_tokens.insert(
        access.clone(),
        UserToken {
            expires_at,
            ..grant.clone()
        },
    );
    st.refresh_tokens.insert(
        refresh.clone(),
        UserToken {
            expires_at: now.saturating_add(REFRESH_TOKEN_TTL_MS),
            ..grant
        },
    );
    let mut out = json!({"accessToken": access, "refreshToken": refresh, "expireIn": ttl});
    if let (Some(corp), Some(obj)) = (corp_id, out.as_object_mut()) {
        obj.insert("corpId".into(), json!(corp));
    }
    api_ok(out)
}

/// `GET /v1.0/contact/users/{unionId}` (`me` for the token's user).
pub async fn user_profile(
    req: HttpRequest,
    path: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let Some(token) = req
        .headers()
        .get(ACCESS_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    else {
        return api_error(
            400,
            "AuthenticationFailed.MissingParameter",
            "缺少x-acs-dingtalk-access-token",
        );
    };
    let st = shared.lock();
    let now = st.now_ms();
    let Some(t) = st.user_tokens.get(token).filter(|t| t.expires_at > now) else {
        return api_error(400, "InvalidAuthentication", "不合法的access_token");
    };
    let who = path.into_inner();
    if who != "me" && who != t.user.unionid {
        return api_error(404, "invalidParameter.user.notFound", "用户不存在");
    }
    let u = &t.user;
    // ISV apps see masked mobiles, as on DingTalk.
    let mobile =
        if t.client_id == st.data.suite.suite_key && u.mobile.is_ascii() && u.mobile.len() >= 7 {
            format!("{}****{}", &u.mobile[..3], &u.mobile[u.mobile.len() - 4..])
        } else {
            u.mobile.clone()
        };
    api_ok(json!({
        "nick": u.nick,
        "avatarUrl": "",
        "mobile": mobile,
        "openId": u.openid,
        "unionId": u.unionid,
        "email": u.email,
        "stateCode": "86",
    }))
}

/// `POST /v1.0/oauth2/corpAccessToken` (ISV): a new token on every call.
pub async fn corp_access_token(
    req: HttpRequest,
    bytes: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let body = match parse(&req, &bytes) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let mut st = shared.lock();
    let suite = &st.data.suite;
    if !ct_eq(&body.str("suiteKey"), &suite.suite_key)
        || !ct_eq(&body.str("suiteSecret"), &suite.suite_secret)
    {
        return api_error(400, "invalidSuiteKey", "无效的suiteKey或suiteSecret");
    }
    if !st.ticket_valid(&body.str("suiteTicket")) {
        return api_error(400, "invalidSuiteTicket", "无效的suiteTicket");
    }
    let corp_id = body.str("authCorpId");
    let Some(agent_id) = st.authorized_agent(&corp_id) else {
        return api_error(400, "invalidAuthInfo", "企业未授权该应用");
    };
    let token = st.issue_app_token(&corp_id, agent_id);
    api_ok(json!({"accessToken": token, "expireIn": st.token_ttl_secs}))
}

/// The internal app's current token (the same one while valid) and its remaining seconds; None
/// when `app_key`/`app_secret` are not an internal app's credentials.
pub fn internal_token(st: &mut SimState, app_key: &str, app_secret: &str) -> Option<(String, i64)> {
    let app = st
        .data
        .internal_app(app_key)
        .filter(|a| ct_eq(app_secret, &a.app_secret))?
        .clone();
    if let Some(current) = st.internal_current.get(app_key) {
        if let Some(t) = st.app_token(current) {
            return Some((current.clone(), st.remaining_secs(t.expires_at)));
        }
    }
    let token = st.issue_app_token(&app.corp_id, app.agent_id);
    st.internal_current
        .insert(app_key.to_string(), token.clone());
    Some((token, st.token_ttl_secs))
}

/// `POST /v1.0/oauth2/accessToken` (internal app).
pub async fn app_access_token(
    req: HttpRequest,
    bytes: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let body = match parse(&req, &bytes) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let mut st = shared.lock();
    match internal_token(&mut st, &body.str("appKey"), &body.str("appSecret")) {
        Some((token, expire_in)) => api_ok(json!({"accessToken": token, "expireIn": expire_in})),
        None => invalid_client(),
    }
}
