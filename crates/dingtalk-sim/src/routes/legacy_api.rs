//! The legacy API's (oapi.dingtalk.com) token and lookup calls: the signed ISV
//! `service/get_corp_token`, the internal app's `gettoken`, and `topapi/user/getbyunionid`.
//! Errors are HTTP 200 `{"errcode","errmsg","request_id"}`; token failures are errcode 88 with a
//! `sub_code`, as DingTalk answers them.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::body::Body;
use crate::reply::{legacy_auth_error, legacy_error, legacy_ok};
use crate::routes::oauth_api::internal_token;
use crate::state::{ct_eq, AppToken, Shared};

/// The clock window of signed calls (DingTalk: one minute).
const SIGNATURE_WINDOW_MS: u64 = 60_000;

/// The query as (key, value) pairs, decoded once.
pub fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
}

fn query_get(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Parses a legacy body (JSON or form); a bad body is errcode 400002.
pub fn parse(req: &HttpRequest, bytes: &[u8]) -> Result<Body, HttpResponse> {
    Body::parse(req, bytes)
        .ok_or_else(|| legacy_error(400002, "参数错误: 请求体不是合法的JSON或表单"))
}

/// The valid app token in `?access_token=`, or DingTalk's errcode 88 answer.
pub fn token(req: &HttpRequest, shared: &Shared) -> Result<AppToken, HttpResponse> {
    let value = query_get(&query_pairs(req), "access_token");
    if value.is_empty() {
        return Err(legacy_auth_error("40000", "access_token is blank"));
    }
    shared
        .lock()
        .app_token(&value)
        .ok_or_else(|| legacy_auth_error("40014", "不合法的access_token"))
}

/// `POST /service/get_corp_token?accessKey&timestamp&suiteTicket&signature` body `auth_corpid`.
pub async fn get_corp_token(
    req: HttpRequest,
    bytes: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let q = query_pairs(&req);
    let body = match parse(&req, &bytes) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let mut st = shared.lock();
    if !ct_eq(&query_get(&q, "accessKey"), &st.data.suite.suite_key) {
        return legacy_error(853003, "accessKey不合法");
    }
    let timestamp = query_get(&q, "timestamp");
    let Ok(ts) = timestamp.parse::<i64>() else {
        return legacy_error(853001, "timestamp格式不正确");
    };
    if st.now_ms().abs_diff(ts) > SIGNATURE_WINDOW_MS {
        return legacy_error(853002, "timestamp与服务器时间相差超过1分钟");
    }
    let ticket = query_get(&q, "suiteTicket");
    let expected = dingtalk_core::crypto::corp_token_signature(
        &timestamp,
        &ticket,
        &st.data.suite.suite_secret,
    );
    if !ct_eq(&query_get(&q, "signature"), &expected) {
        return legacy_error(853004, "签名不正确，signature需要urlEncode");
    }
    if !st.ticket_valid(&ticket) {
        return legacy_error(400002, "suiteTicket无效或已过期");
    }
    let corp_id = body.str("auth_corpid");
    let Some(agent_id) = st.authorized_agent(&corp_id) else {
        return legacy_error(400002, "企业未授权该应用 (auth_corpid)");
    };
    let token = st.issue_app_token(&corp_id, agent_id);
    legacy_ok(json!({"access_token": token, "expires_in": st.token_ttl_secs}))
}

/// `GET /gettoken?appkey&appsecret` (internal app): the same token while it is valid.
pub async fn gettoken(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let q = query_pairs(&req);
    let key = query_get(&q, "appkey");
    let secret = query_get(&q, "appsecret");
    if key.is_empty() || secret.is_empty() {
        return legacy_error(40035, "缺少参数 appkey 或 appsecret");
    }
    let mut st = shared.lock();
    match internal_token(&mut st, &key, &secret) {
        Some((token, expires_in)) => {
            legacy_ok(json!({"access_token": token, "expires_in": expires_in}))
        }
        None => legacy_error(40096, "不合法的appKey或appSecret"),
    }
}

/// `POST /topapi/user/getbyunionid?access_token` body `unionid`.
pub async fn get_by_unionid(
    req: HttpRequest,
    bytes: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let app = match token(&req, &shared) {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    let body = match parse(&req, &bytes) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let unionid = body.str("unionid");
    if unionid.is_empty() {
        return legacy_error(400002, "参数错误: unionid不能为空");
    }
    let st = shared.lock();
    let found = st
        .data
        .corp(&app.corp_id)
        .and_then(|c| c.users.iter().find(|u| u.unionid == unionid));
    match found {
        Some(u) => legacy_ok(json!({"result": {"userid": u.userid, "contact_type": 0}})),
        None => legacy_error(60121, "找不到该用户"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::SimConfig;

    #[tokio::test]
    async fn extreme_timestamps_and_clock_offsets_get_answers_not_panics() {
        let sim = crate::spawn(SimConfig::for_tests()).await.unwrap();
        let base = sim.base_url();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for ts in ["-9223372036854775808", "9223372036854775807"] {
            let url = format!(
                "{base}/service/get_corp_token?accessKey=suitedemo0001&timestamp={ts}\
                 &suiteTicket=x&signature=s"
            );
            let res = client
                .post(url)
                .json(&json!({"auth_corpid": "dingdemocorp001"}))
                .send()
                .await
                .unwrap();
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["errcode"], 853002, "{ts}: {body}");
        }
        // The clock pushed to the end of time: tokens and login codes are still issued.
        let res = client
            .post(format!("{base}/_sim/clock"))
            .json(&json!({"advance_secs": i64::MAX}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = client
            .post(format!("{base}/v1.0/oauth2/accessToken"))
            .json(&json!({"appKey": "dingdemoapp0001", "appSecret": "demo-app-secret"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = client
            .get(format!(
                "{base}/oauth2/auth?redirect_uri=http%3A%2F%2Fx.example%2Fcb&response_type=code\
                 &client_id=suitedemo0001&scope=openid&prompt=consent&state=s&user=zhangsan"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        sim.stop().await;
    }
}
