//! Corp and app tokens: v1.0 corpAccessToken, the signed legacy get_corp_token, v1.0
//! accessToken and gettoken, and how legacy calls answer bad tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use dingtalk_core::crypto::{corp_token_signature, url_encode};
use dingtalk_sim::SimHandle;
use serde_json::{json, Value};
use std::time::Duration;
use support::{corp_token, get_json, http, post_json, sim};

fn signed_url(
    sim: &SimHandle,
    access_key: &str,
    timestamp: &str,
    ticket: &str,
    signature: &str,
) -> String {
    format!(
        "{}/service/get_corp_token?accessKey={access_key}&timestamp={timestamp}&suiteTicket={}&signature={}",
        sim.base_url(),
        url_encode(ticket),
        url_encode(signature)
    )
}

async fn get_corp_token(sim: &SimHandle, timestamp: &str, signature: &str) -> Value {
    let url = signed_url(
        sim,
        "suitedemo0001",
        timestamp,
        &sim.suite_ticket(),
        signature,
    );
    let (status, body) = post_json(&url, json!({"auth_corpid": "dingdemocorp001"})).await;
    assert_eq!(status, 200, "legacy errors are HTTP 200: {body}");
    body
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn corp_access_token_returns_a_new_token_on_every_call() {
    let sim = sim().await;
    let a = corp_token(&sim).await;
    let b = corp_token(&sim).await;
    assert_ne!(a, b);
    sim.stop().await;
}

#[tokio::test]
async fn corp_access_token_errors_use_dingtalk_codes() {
    let sim = sim().await;
    let url = format!("{}/v1.0/oauth2/corpAccessToken", sim.base_url());
    let good = json!({"suiteKey": "suitedemo0001", "suiteSecret": "demo-suite-secret",
                      "authCorpId": "dingdemocorp001", "suiteTicket": sim.suite_ticket()});
    let cases = [
        ("suiteSecret", json!("nope"), "invalidSuiteKey"),
        ("suiteTicket", json!("stale"), "invalidSuiteTicket"),
        ("authCorpId", json!("dingothercorp"), "invalidAuthInfo"),
    ];
    for (field, value, code) in cases {
        let mut body = good.clone();
        body[field] = value;
        let (status, answer) = post_json(&url, body).await;
        assert_eq!(status, 400, "{field}");
        assert_eq!(answer["code"], code, "{field}");
        assert!(answer["requestid"].as_str().is_some());
    }
    sim.stop().await;
}

#[tokio::test]
async fn get_corp_token_accepts_a_correct_signature() {
    let sim = sim().await;
    let ts = now_ms().to_string();
    let sig = corp_token_signature(&ts, &sim.suite_ticket(), "demo-suite-secret");
    let body = get_corp_token(&sim, &ts, &sig).await;
    assert_eq!(body["errcode"], 0, "{body}");
    assert_eq!(body["errmsg"], "ok");
    assert_eq!(body["expires_in"], 7200);
    let token = body["access_token"].as_str().unwrap();
    // The token works for legacy calls in that corp.
    let (_, lookup) = post_json(
        &format!(
            "{}/topapi/user/getbyunionid?access_token={token}",
            sim.base_url()
        ),
        json!({"unionid": "union-zhangsan"}),
    )
    .await;
    assert_eq!(lookup["result"]["userid"], "zhangsan");
    sim.stop().await;
}

#[tokio::test]
async fn get_corp_token_rejects_a_bad_signature_with_853004() {
    let sim = sim().await;
    let ts = now_ms().to_string();
    let sig = corp_token_signature(&ts, &sim.suite_ticket(), "wrong-secret");
    let body = get_corp_token(&sim, &ts, &sig).await;
    assert_eq!(body["errcode"], 853004);
    assert!(body.get("access_token").is_none());
    // A signature encoded twice (its trailing "=" arrives as "%3D") is rejected too.
    let good = corp_token_signature(&ts, &sim.suite_ticket(), "demo-suite-secret");
    let url = signed_url(
        &sim,
        "suitedemo0001",
        &ts,
        &sim.suite_ticket(),
        &url_encode(&good),
    );
    let (_, body) = post_json(&url, json!({"auth_corpid": "dingdemocorp001"})).await;
    assert_eq!(body["errcode"], 853004);
    sim.stop().await;
}

#[tokio::test]
async fn get_corp_token_enforces_the_one_minute_clock_window() {
    let sim = sim().await;
    let stale = (now_ms() - 120_000).to_string();
    let sig = corp_token_signature(&stale, &sim.suite_ticket(), "demo-suite-secret");
    assert_eq!(get_corp_token(&sim, &stale, &sig).await["errcode"], 853002);
    let future = (now_ms() + 120_000).to_string();
    let sig = corp_token_signature(&future, &sim.suite_ticket(), "demo-suite-secret");
    assert_eq!(get_corp_token(&sim, &future, &sig).await["errcode"], 853002);
    let sig = corp_token_signature("yesterday", &sim.suite_ticket(), "demo-suite-secret");
    assert_eq!(
        get_corp_token(&sim, "yesterday", &sig).await["errcode"],
        853001
    );
    sim.stop().await;
}

#[tokio::test]
async fn get_corp_token_checks_access_key_and_ticket_and_takes_form_bodies() {
    let sim = sim().await;
    let ts = now_ms().to_string();
    let ticket = sim.suite_ticket();
    let sig = corp_token_signature(&ts, &ticket, "demo-suite-secret");
    let url = signed_url(&sim, "othersuite", &ts, &ticket, &sig);
    let (_, body) = post_json(&url, json!({"auth_corpid": "dingdemocorp001"})).await;
    assert_eq!(body["errcode"], 853003);

    let sig_old = corp_token_signature(&ts, "not-the-ticket", "demo-suite-secret");
    let url = signed_url(&sim, "suitedemo0001", &ts, "not-the-ticket", &sig_old);
    let (_, body) = post_json(&url, json!({"auth_corpid": "dingdemocorp001"})).await;
    assert_ne!(body["errcode"], 0);
    assert!(body.get("access_token").is_none());

    let url = signed_url(&sim, "suitedemo0001", &ts, &ticket, &sig);
    let resp = http()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("auth_corpid=dingdemocorp001")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errcode"], 0, "{body}");
    sim.stop().await;
}

#[tokio::test]
async fn the_previous_ticket_stays_valid_for_one_rotation() {
    let sim = sim().await;
    let first = sim.suite_ticket();
    let second = sim.rotate_suite_ticket();
    assert_ne!(first, second);
    let url = format!("{}/v1.0/oauth2/corpAccessToken", sim.base_url());
    let req = |t: &str| {
        json!({"suiteKey": "suitedemo0001", "suiteSecret": "demo-suite-secret",
                                "authCorpId": "dingdemocorp001", "suiteTicket": t})
    };
    assert_eq!(post_json(&url, req(&first)).await.0, 200);
    sim.rotate_suite_ticket();
    let (status, body) = post_json(&url, req(&first)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalidSuiteTicket"))
    );
    assert_eq!(post_json(&url, req(&second)).await.0, 200);
    sim.stop().await;
}

#[tokio::test]
async fn internal_app_tokens_are_reused_while_valid_in_both_flavours() {
    let sim = sim().await;
    let (status, v1) = post_json(
        &format!("{}/v1.0/oauth2/accessToken", sim.base_url()),
        json!({"appKey": "dingdemoapp0001", "appSecret": "demo-app-secret"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v1["expireIn"], 7200);
    let (status, legacy) = get_json(&format!(
        "{}/gettoken?appkey=dingdemoapp0001&appsecret=demo-app-secret",
        sim.base_url()
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(legacy["errcode"], 0);
    assert_eq!(legacy["errmsg"], "ok");
    assert_eq!(
        legacy["access_token"], v1["accessToken"],
        "same token while valid"
    );
    sim.advance_clock(Duration::from_secs(7201));
    let (_, later) = get_json(&format!(
        "{}/gettoken?appkey=dingdemoapp0001&appsecret=demo-app-secret",
        sim.base_url()
    ))
    .await;
    assert_ne!(
        later["access_token"], legacy["access_token"],
        "a new one after expiry"
    );
    sim.stop().await;
}

#[tokio::test]
async fn internal_app_token_errors_use_dingtalk_codes() {
    let sim = sim().await;
    let (status, body) = post_json(
        &format!("{}/v1.0/oauth2/accessToken", sim.base_url()),
        json!({"appKey": "dingdemoapp0001", "appSecret": "nope"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalidClientIdOrSecret"))
    );
    let (_, body) = get_json(&format!(
        "{}/gettoken?appkey=dingdemoapp0001&appsecret=nope",
        sim.base_url()
    ))
    .await;
    assert_eq!(body["errcode"], 40096);
    let (_, body) = get_json(&format!(
        "{}/gettoken?appkey=dingdemoapp0001",
        sim.base_url()
    ))
    .await;
    assert_eq!(body["errcode"], 40035);
    sim.stop().await;
}

#[tokio::test]
async fn legacy_calls_answer_bad_expired_and_missing_tokens_with_errcode_88() {
    let sim = sim().await;
    let base = format!("{}/topapi/user/getbyunionid", sim.base_url());
    let body = json!({"unionid": "union-zhangsan"});
    let (status, bad) = post_json(&format!("{base}?access_token=bogus"), body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(bad["errcode"], 88);
    assert_eq!(bad["sub_code"], "40014");
    assert!(bad["request_id"].as_str().is_some());
    let (_, missing) = post_json(&base, body.clone()).await;
    assert_eq!(missing["errcode"], 88);
    assert_eq!(missing["sub_code"], "40000");
    let token = corp_token(&sim).await;
    sim.advance_clock(Duration::from_secs(7201));
    let (_, expired) = post_json(&format!("{base}?access_token={token}"), body).await;
    assert_eq!(expired["sub_code"], "40014");
    sim.stop().await;
}
