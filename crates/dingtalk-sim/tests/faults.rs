//! Injected faults: they hit the next K calls of exactly that path, then the path heals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use dingtalk_sim::{Fault, FaultKind};
use serde_json::{json, Value};
use std::time::Duration;
use support::{corp_token, http, post_json, sim};

#[tokio::test]
async fn http_500_fault_hits_the_next_k_calls_then_heals() {
    let sim = sim().await;
    let token = corp_token(&sim).await;
    let path = "/topapi/user/getbyunionid";
    sim.add_fault(Fault {
        path: path.into(),
        kind: FaultKind::Http500,
        errcode: None,
        times: 2,
    });
    let url = format!("{}{path}?access_token={token}", sim.base_url());
    for _ in 0..2 {
        let resp = http()
            .post(&url)
            .json(&json!({"unionid": "union-zhangsan"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 500);
        assert!(resp.text().await.unwrap().contains("<html"));
    }
    let (status, body) = post_json(&url, json!({"unionid": "union-zhangsan"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["userid"], "zhangsan");
    assert_eq!(sim.calls(path), 3);
    sim.stop().await;
}

#[tokio::test]
async fn errcode_faults_use_each_api_s_own_error_shape() {
    let sim = sim().await;
    let base = sim.base_url();
    let add = |path: &str, code: i64| json!({"path": path, "kind": "errcode", "errcode": code, "times": 1});
    for (path, code) in [
        ("/v1.0/oauth2/corpAccessToken", 90018),
        ("/topapi/user/getbyunionid", 88),
        ("/gettoken", -1),
    ] {
        let (status, _) = post_json(&format!("{base}/_sim/faults"), add(path, code)).await;
        assert_eq!(status, 201);
    }
    let (status, body) = post_json(
        &format!("{base}/v1.0/oauth2/corpAccessToken"),
        json!({"suiteKey": "suitedemo0001", "suiteSecret": "demo-suite-secret",
               "authCorpId": "dingdemocorp001", "suiteTicket": sim.suite_ticket()}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["code"],
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
    );
    assert!(body["requestid"].as_str().is_some());

    let (status, body) = post_json(
        &format!("{base}/topapi/user/getbyunionid?access_token=whatever"),
        json!({"unionid": "union-zhangsan"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["errcode"], 88);
    assert!(
        body.get("sub_code").is_none(),
        "88 without sub_code: {body}"
    );

    let resp = http()
        .get(format!(
            "{base}/gettoken?appkey=dingdemoapp0001&appsecret=demo-app-secret"
        ))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errcode"], -1);
    // Healed.
    let resp = http()
        .get(format!(
            "{base}/gettoken?appkey=dingdemoapp0001&appsecret=demo-app-secret"
        ))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errcode"], 0);
    sim.stop().await;
}

#[tokio::test]
async fn timeout_fault_holds_the_request_past_the_client_timeout() {
    let sim = sim().await;
    let path = "/v1.0/oauth2/accessToken";
    sim.add_fault(Fault {
        path: path.into(),
        kind: FaultKind::Timeout,
        errcode: None,
        times: 1,
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let url = format!("{}{path}", sim.base_url());
    let body = json!({"appKey": "dingdemoapp0001", "appSecret": "demo-app-secret"});
    let err = client.post(&url).json(&body).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let resp = client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    sim.stop().await;
}

#[tokio::test]
async fn faults_can_be_cleared_and_bad_fault_requests_are_400() {
    let sim = sim().await;
    let base = sim.base_url();
    let (status, _) = post_json(
        &format!("{base}/_sim/faults"),
        json!({"path": "/gettoken", "kind": "http_500", "times": 5}),
    )
    .await;
    assert_eq!(status, 201);
    let resp = http()
        .delete(format!("{base}/_sim/faults"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let resp = http()
        .get(format!(
            "{base}/gettoken?appkey=dingdemoapp0001&appsecret=demo-app-secret"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, body) =
        post_json(&format!("{base}/_sim/faults"), json!({"kind": "explode"})).await;
    assert_eq!(status, 400);
    assert!(body["errmsg"].as_str().is_some() && body["request_id"].as_str().is_some());
    let (status, _) = post_json(
        &format!("{base}/_sim/faults"),
        json!({"path": "/gettoken", "kind": "errcode"}),
    )
    .await;
    assert_eq!(status, 400, "an errcode fault needs its code");
    sim.stop().await;
}
