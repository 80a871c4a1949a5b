//! Shared helpers of the simulator's integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use dingtalk_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};

/// The demo simulator on port 0.
pub async fn sim() -> SimHandle {
    dingtalk_sim::spawn(SimConfig::for_tests()).await.unwrap()
}

/// A client that does not follow redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The login URL for the suite with these extra parameters.
pub fn login_url(sim: &SimHandle, client_id: &str, extra: &str) -> String {
    format!(
        "{}/oauth2/auth?redirect_uri={}&response_type=code&client_id={client_id}&scope=openid%20corpid&prompt=consent&state=st-1{extra}",
        sim.base_url(),
        "http%3A%2F%2Fapp.example%2Fcb%3Fx%3D1"
    )
}

/// Logs `user` in through the suite and returns the authCode from the redirect.
pub async fn login_code(sim: &SimHandle, client_id: &str, user: &str) -> String {
    let resp = http()
        .get(login_url(sim, client_id, &format!("&user={user}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let url = url::Url::parse(&location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "authCode")
        .map(|(_, v)| v.to_string())
        .expect("authCode in the redirect")
}

/// POSTs JSON and returns (status, body).
pub async fn post_json(url: &str, body: Value) -> (u16, Value) {
    let resp = http().post(url).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// GETs and returns (status, JSON body).
pub async fn get_json(url: &str) -> (u16, Value) {
    let resp = http().get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// An ISV corp token for the demo corp (v1.0 corpAccessToken).
pub async fn corp_token(sim: &SimHandle) -> String {
    let (status, body) = post_json(
        &format!("{}/v1.0/oauth2/corpAccessToken", sim.base_url()),
        json!({"suiteKey": "suitedemo0001", "suiteSecret": "demo-suite-secret",
               "authCorpId": "dingdemocorp001", "suiteTicket": sim.suite_ticket()}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["accessToken"].as_str().unwrap().to_string()
}
