//! The browser login (`/oauth2/auth`), the code exchange and the user profile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use std::time::Duration;
use support::{get_json, http, login_code, login_url, post_json, sim};

#[tokio::test]
async fn login_with_user_parameter_redirects_with_auth_code_and_state() {
    let sim = sim().await;
    let resp = http()
        .get(login_url(&sim, "suitedemo0001", "&user=zhangsan"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let loc = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(loc.host_str(), Some("app.example"));
    assert_eq!(loc.path(), "/cb");
    let q: Vec<(String, String)> = loc.query_pairs().into_owned().collect();
    assert_eq!(
        q[0],
        ("x".into(), "1".into()),
        "the redirect_uri's own query is kept"
    );
    assert!(q.iter().any(|(k, v)| k == "authCode" && v.len() >= 16));
    assert!(q.contains(&("state".into(), "st-1".into())));
    sim.stop().await;
}

#[tokio::test]
async fn login_page_lists_every_account_and_escapes_what_it_echoes() {
    let sim = sim().await;
    let url = login_url(&sim, "suitedemo0001", "").replace("st-1", "%3Cscript%3Ex");
    let resp = http().get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    for name in ["张三", "李四", "王五", "Outsider", "Demo Corp"] {
        assert!(page.contains(name), "{name} missing");
    }
    assert!(!page.contains("<script>x"), "state echoed unescaped");
    // An account leads to a consent page whose Agree link logs that account in.
    let select = login_url(&sim, "suitedemo0001", "&select=union-lisi");
    let consent = http()
        .get(select)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(consent.contains("李四"));
    assert!(consent.contains("user=union-lisi"));
    assert!(consent.contains("deny=1"));
    sim.stop().await;
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_state() {
    let sim = sim().await;
    let resp = http()
        .get(login_url(&sim, "suitedemo0001", "&deny=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let loc = resp.headers()["location"].to_str().unwrap();
    assert!(loc.contains("error=access_denied"), "{loc}");
    assert!(loc.contains("state=st-1"));
    assert!(!loc.contains("authCode"));
    sim.stop().await;
}

#[tokio::test]
async fn unknown_client_id_gets_an_error_page_with_400() {
    let sim = sim().await;
    let resp = http()
        .get(login_url(&sim, "nosuchapp", "&user=zhangsan"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    sim.stop().await;
}

#[tokio::test]
async fn code_exchange_and_profile_use_dingtalk_field_names() {
    let sim = sim().await;
    let code = login_code(&sim, "suitedemo0001", "zhangsan").await;
    let (status, body) = post_json(
        &format!("{}/v1.0/oauth2/userAccessToken", sim.base_url()),
        json!({"clientId": "suitedemo0001", "clientSecret": "demo-suite-secret",
               "code": code, "grantType": "authorization_code"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expireIn"], 7200);
    assert_eq!(body["corpId"], "dingdemocorp001");
    assert!(body["refreshToken"].as_str().is_some());
    let token = body["accessToken"].as_str().unwrap();
    let resp = http()
        .get(format!("{}/v1.0/contact/users/me", sim.base_url()))
        .header("x-acs-dingtalk-access-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let me: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(me["nick"], "张三");
    assert_eq!(me["unionId"], "union-zhangsan");
    assert!(me["openId"].as_str().is_some());
    assert!(
        me["mobile"].as_str().unwrap().contains("****"),
        "ISV apps see masked mobiles"
    );
    for key in ["avatarUrl", "email", "stateCode"] {
        assert!(me.get(key).is_some(), "{key} missing");
    }
    sim.stop().await;
}

#[tokio::test]
async fn an_auth_code_works_only_once() {
    let sim = sim().await;
    let code = login_code(&sim, "dingdemoapp0001", "lisi").await;
    let url = format!("{}/v1.0/oauth2/userAccessToken", sim.base_url());
    let req = json!({"clientId": "dingdemoapp0001", "clientSecret": "demo-app-secret",
                     "code": code, "grantType": "authorization_code"});
    assert_eq!(post_json(&url, req.clone()).await.0, 200);
    let (status, body) = post_json(&url, req).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalidCode");
    assert!(body["requestid"].as_str().is_some());
    sim.stop().await;
}

#[tokio::test]
async fn an_auth_code_expires_after_five_minutes() {
    let sim = sim().await;
    let code = login_code(&sim, "suitedemo0001", "zhangsan").await;
    sim.advance_clock(Duration::from_secs(301));
    let (status, body) = post_json(
        &format!("{}/v1.0/oauth2/userAccessToken", sim.base_url()),
        json!({"clientId": "suitedemo0001", "clientSecret": "demo-suite-secret",
               "code": code, "grantType": "authorization_code"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalidCode");
    sim.stop().await;
}

#[tokio::test]
async fn wrong_client_secret_and_grant_type_are_rejected_in_dingtalk_shape() {
    let sim = sim().await;
    let code = login_code(&sim, "suitedemo0001", "zhangsan").await;
    let url = format!("{}/v1.0/oauth2/userAccessToken", sim.base_url());
    let (status, body) = post_json(
        &url,
        json!({"clientId": "suitedemo0001", "clientSecret": "wrong", "code": code,
               "grantType": "authorization_code"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalidClientIdOrSecret"))
    );
    let (status, body) = post_json(
        &url,
        json!({"clientId": "suitedemo0001", "clientSecret": "demo-suite-secret", "code": code,
               "grantType": "password"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("unsupported.grant.type"))
    );
    let resp = http()
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["code"].as_str().is_some() && body["message"].as_str().is_some());
    sim.stop().await;
}

#[tokio::test]
async fn profile_with_bad_expired_or_missing_token_is_rejected_like_dingtalk() {
    let sim = sim().await;
    let url = format!("{}/v1.0/contact/users/me", sim.base_url());
    let resp = http()
        .get(&url)
        .header("x-acs-dingtalk-access-token", "bogus")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "InvalidAuthentication");
    assert_eq!(body["message"], "不合法的access_token");

    let (status, body) = get_json(&url).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("AuthenticationFailed.MissingParameter"))
    );

    let code = login_code(&sim, "suitedemo0001", "wangwu").await;
    let (_, tok) = post_json(
        &format!("{}/v1.0/oauth2/userAccessToken", sim.base_url()),
        json!({"clientId": "suitedemo0001", "clientSecret": "demo-suite-secret",
               "code": code, "grantType": "authorization_code"}),
    )
    .await;
    sim.advance_clock(Duration::from_secs(7201));
    let resp = http()
        .get(&url)
        .header(
            "x-acs-dingtalk-access-token",
            tok["accessToken"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "InvalidAuthentication");
    sim.stop().await;
}
