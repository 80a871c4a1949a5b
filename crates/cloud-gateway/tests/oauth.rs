//! The binding side: login redirect, DingTalk callback, one-time user records for the edges.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cloud_gateway::db;
use common::*;
use diesel::prelude::*;
use dingtalk_core::wire::EdgeUser;

#[tokio::test]
async fn login_redirects_to_the_dingtalk_authorize_page_with_a_state_for_the_prefix() {
    let app = spawn_app().await;
    let res = app.login(&app.portal_prefix()).await;
    assert_eq!(res.status(), 302);
    let to = location(&res);
    assert!(
        to.starts_with(&format!("{}/oauth2/auth?", app.sim.base_url())),
        "{to}"
    );
    assert_eq!(query_param(&to, "client_id").as_deref(), Some(SUITE_KEY));
    assert_eq!(query_param(&to, "response_type").as_deref(), Some("code"));
    assert_eq!(query_param(&to, "prompt").as_deref(), Some("consent"));
    assert_eq!(query_param(&to, "scope").as_deref(), Some("openid corpid"));
    assert_eq!(
        query_param(&to, "redirect_uri").unwrap(),
        format!("{PUBLIC_URL}/dingding/auth/user/callback")
    );
    let state = query_param(&to, "state").unwrap();
    let (prefix, nonce) = state.split_once("::").unwrap();
    assert_eq!(prefix, app.portal_prefix());
    assert!(nonce.len() >= 16);
}

#[tokio::test]
async fn the_binding_flow_hands_the_user_to_its_edge_exactly_once() {
    let app = spawn_app().await;
    let res = app.bind_flow(&app.portal_prefix(), "&user=zhangsan").await;
    assert_eq!(res.status(), 302);
    let to = location(&res);
    assert!(
        to.starts_with(&format!("{}/profile?", app.portal_prefix())),
        "{to}"
    );
    let state = query_param(&to, "state").unwrap();
    assert!(state.starts_with(&format!("{}::", app.portal_prefix())));
    let code = query_param(&to, "authCode").unwrap();

    // Only the hash of the code is stored.
    let mut conn = app.conn();
    let stored: Vec<String> = db::schema::auth_codes::table
        .select(db::schema::auth_codes::code_hash)
        .load(&mut conn)
        .unwrap();
    assert_eq!(stored, vec![db::auth_codes::hash_code(&code)]);

    let first = app.take_user(&code, EDGE).await;
    assert_eq!(first.status(), 200);
    let user: EdgeUser = first.json().await.unwrap();
    assert_eq!(user.user_id, "zhangsan");
    assert_eq!(user.union_id, "union-zhangsan");
    assert_eq!(user.corp_id, CORP);
    assert_eq!(user.nick, "张三");

    let second = app.take_user(&code, EDGE).await;
    error_body(second, 404).await;
}

#[tokio::test]
async fn another_edges_code_is_refused_with_403_and_stays_usable_for_its_edge() {
    let app = spawn_app().await;
    let code = app.auth_code_for("lisi").await;
    error_body(app.take_user(&code, OTHER_EDGE).await, 403).await;
    let res = app.take_user(&code, EDGE).await;
    assert_eq!(res.status(), 200);
    let user: EdgeUser = res.json().await.unwrap();
    assert_eq!(user.user_id, "lisi");
}

#[tokio::test]
async fn wrong_or_missing_edge_credentials_get_401_with_a_basic_challenge() {
    let app = spawn_app().await;
    let code = app.auth_code_for("zhangsan").await;
    for creds in [
        (EDGE.0, "wrong-secret"),
        (OTHER_EDGE.0, EDGE.1),
        ("nobody", EDGE.1),
    ] {
        let res = app.take_user(&code, creds).await;
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.starts_with("Basic realm=\"dingtalk-cloud\""),
            "{challenge}"
        );
        error_body(res, 401).await;
    }
    let res = app
        .client
        .get(app.url(&format!("/dingding/internal/user/{code}")))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("www-authenticate"));
    error_body(res, 401).await;
    // None of that consumed the code.
    assert_eq!(app.take_user(&code, EDGE).await.status(), 200);
}

#[tokio::test]
async fn an_expired_code_is_gone_and_swept() {
    let app = spawn_app_with(AppKind::Isv, |s| s.oauth.auth_code_ttl_secs = 1).await;
    let code = app.auth_code_for("wangwu").await;
    let expires_at: i64 = {
        let mut conn = app.conn();
        db::schema::auth_codes::table
            .select(db::schema::auth_codes::expires_at)
            .first(&mut conn)
            .unwrap()
    };
    wait_until(|| async { db::now_ms() > expires_at }).await;
    error_body(app.take_user(&code, EDGE).await, 404).await;

    let mut conn = app.conn();
    let swept = cloud_gateway::sweeper::sweep(&mut conn, db::now_ms()).unwrap();
    assert_eq!(swept.auth_codes, 1);
    assert_eq!(db::auth_codes::count(&mut conn).unwrap(), 0);
}

#[tokio::test]
async fn the_sweeper_keeps_unexpired_codes_and_deletes_taken_ones() {
    let app = spawn_app().await;
    let kept = app.auth_code_for("zhangsan").await;
    let taken = app.auth_code_for("lisi").await;
    assert_eq!(app.take_user(&taken, EDGE).await.status(), 200);
    let mut conn = app.conn();
    let swept = cloud_gateway::sweeper::sweep(&mut conn, db::now_ms()).unwrap();
    assert_eq!(swept.auth_codes, 1);
    assert_eq!(app.take_user(&kept, EDGE).await.status(), 200);
}

/// The hostile prefixes of dingtalk-core's matcher tests, aimed at this app's allowed prefix
/// `{sim}/portal` (`{host}` is its host and port).
const HOSTILE: &[&str] = &[
    // other hosts, look-alikes, userinfo
    "https://evil.example/portal",
    "{sim}.evil.com/portal",
    "http://evil.com/{host}/portal",
    "http://x@{host}/portal",
    "http://x:y@{host}/portal",
    "http://@{host}/portal",
    "http://{host}@evil.com/portal",
    "http://xn--80a.example/portal",
    // scheme and port changes
    "https://{host}/portal",
    "http://127.0.0.1:1/portal",
    "ftp://{host}/portal",
    "javascript:alert(1)",
    "JavaScript://{host}/portal%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/portal",
    "//{host}/portal",
    "{host}/portal",
    "/portal",
    "http:{host}/portal",
    "http:/{host}/portal",
    "http:///{host}/portal",
    // path prefix tricks and dot segments
    "{sim}/portalx",
    "{sim}/portal.evil",
    "{sim}/Portal",
    "{sim}/%70ortal",
    "{sim}/",
    "{sim}",
    "{sim}/portal/../admin",
    "{sim}/portal/x/../../admin",
    "{sim}/../portal",
    "{sim}/portal/../../portal",
    // percent-encoded dots and slashes, backslashes
    "{sim}/portal/%2e%2e/admin",
    "{sim}/portal/%2E%2E/admin",
    "{sim}/portal/.%2e/admin",
    "{sim}/portal%2fx",
    "{sim}/portal%2F..%2Fadmin",
    "{sim}/portal%5c..%5cadmin",
    "{sim}\\@evil.example/portal",
    "{sim}/portal\\..\\admin",
    "http:\\\\evil.com/portal",
    // whitespace and control characters
    "{sim}/por\ttal",
    "{sim}/portal\n/x",
    " {sim}/portal",
    "{sim}/portal ",
    "{sim}/portal\u{0}",
    "{sim}/portal\u{7f}",
    "{sim}/portal\u{2028}",
    // non-ASCII hosts that IDNA would fold into ASCII
    "http://１２７.0.0.1:{port}/portal",
    "http://127.0.0.1。evil.com/portal",
    // query and fragment injection
    "{sim}/portal?next=https://evil.example",
    "{sim}/portal?",
    "{sim}/portal#frag",
    "{sim}/portal#@evil.example",
    // empty and over-long
    "",
    "{long}",
];

fn hostile_inputs(app: &TestApp) -> Vec<String> {
    let sim = app.sim.base_url();
    let host = sim.trim_start_matches("http://").to_string();
    let port = host.rsplit(':').next().unwrap().to_string();
    let long = format!(
        "{sim}/portal/{}",
        "x".repeat(dingtalk_core::oauth::MAX_URL_LEN)
    );
    HOSTILE
        .iter()
        .map(|h| {
            h.replace("{sim}", &sim)
                .replace("{host}", &host)
                .replace("{port}", &port)
                .replace("{long}", &long)
        })
        .collect()
}

#[tokio::test]
async fn hostile_redirects_get_400_without_a_location_and_no_dingtalk_call() {
    let app = spawn_app().await;
    let inputs = hostile_inputs(&app);
    assert!(inputs.len() >= 50);
    for input in &inputs {
        let res = app.login(input).await;
        assert!(res.headers().get("location").is_none(), "{input}");
        error_body(res, 400).await;

        let state = format!("{input}::nonce");
        let res = app
            .user_callback(&[("authCode", "somecode"), ("state", &state)])
            .await;
        assert!(res.headers().get("location").is_none(), "{input}");
        error_body(res, 400).await;

        let res = app
            .user_callback(&[("error", "access_denied"), ("state", &state)])
            .await;
        assert!(res.headers().get("location").is_none(), "{input}");
        error_body(res, 400).await;
    }
    for state in ["no-separator", "::nonce-only"] {
        let res = app
            .user_callback(&[("authCode", "c"), ("state", state)])
            .await;
        assert!(res.headers().get("location").is_none());
        error_body(res, 400).await;
    }
    error_body(app.get("/dingding/auth/login").await, 400).await;
    error_body(app.user_callback(&[("authCode", "c")]).await, 400).await;
    assert_eq!(app.sim.calls(USER_TOKEN_PATH), 0);
}

#[tokio::test]
async fn an_account_outside_the_organization_gets_a_clear_403() {
    let app = spawn_app().await;
    let res = app.bind_flow(&app.portal_prefix(), "&user=outsider").await;
    assert!(res.headers().get("location").is_none());
    let body = error_body(res, 403).await;
    assert_eq!(
        body["errmsg"],
        "this DingTalk account is not a member of the organization"
    );
    let mut conn = app.conn();
    assert_eq!(db::auth_codes::count(&mut conn).unwrap(), 0);
}

#[tokio::test]
async fn a_dingtalk_error_is_passed_to_the_profile_page() {
    let app = spawn_app().await;
    let res = app.bind_flow(&app.portal_prefix(), "&deny=1").await;
    assert_eq!(res.status(), 302);
    let to = location(&res);
    assert!(
        to.starts_with(&format!("{}/profile?", app.portal_prefix())),
        "{to}"
    );
    assert_eq!(query_param(&to, "error").as_deref(), Some("access_denied"));
    assert!(query_param(&to, "state").is_some());
    assert!(query_param(&to, "authCode").is_none());
    assert_eq!(app.sim.calls(USER_TOKEN_PATH), 0);
}

#[tokio::test]
async fn an_invalid_login_code_gets_400() {
    let app = spawn_app().await;
    let state = format!("{}::n", app.portal_prefix());
    let res = app
        .user_callback(&[("authCode", "not-a-real-code"), ("state", &state)])
        .await;
    assert!(res.headers().get("location").is_none());
    error_body(res, 400).await;
    assert_eq!(app.sim.calls(USER_TOKEN_PATH), 1);
}

#[tokio::test]
async fn a_wrong_app_secret_during_login_is_a_502_with_dingtalks_message_not_a_400() {
    let app = spawn_app_with(AppKind::Isv, |s| {
        s.dingtalk.app_secret = secrecy::SecretString::from("not-the-suite-secret")
    })
    .await;
    let res = app.bind_flow(&app.portal_prefix(), "&user=zhangsan").await;
    assert!(res.headers().get("location").is_none());
    let body = error_body(res, 502).await;
    assert!(
        body["errmsg"].as_str().unwrap().contains("clientSecret"),
        "{body}"
    );
}

#[tokio::test]
async fn dingtalk_unreachable_during_login_gives_a_json_5xx() {
    let app = spawn_app().await;
    app.sim.add_fault(dingtalk_sim::Fault {
        path: USER_TOKEN_PATH.into(),
        kind: dingtalk_sim::FaultKind::Http500,
        errcode: None,
        times: 1,
    });
    let res = app.bind_flow(&app.portal_prefix(), "&user=zhangsan").await;
    let status = res.status().as_u16();
    assert!(status == 502 || status == 503, "{status}");
    error_body(res, status).await;
}

#[tokio::test]
async fn the_internal_mode_logs_in_with_the_app_key() {
    let app = spawn_app_with(AppKind::Internal, |_| {}).await;
    let res = app.login(&app.portal_prefix()).await;
    assert_eq!(
        query_param(&location(&res), "client_id").as_deref(),
        Some("dingdemoapp0001")
    );
    let code = app.auth_code_for("zhangsan").await;
    let res = app.take_user(&code, EDGE).await;
    assert_eq!(res.status(), 200);
    let user: EdgeUser = res.json().await.unwrap();
    assert_eq!(user.user_id, "zhangsan");
    assert_eq!(user.corp_id, CORP);
    let outsider = app.bind_flow(&app.portal_prefix(), "&user=outsider").await;
    error_body(outsider, 403).await;
}

#[tokio::test]
async fn concurrent_takes_of_one_code_hand_it_out_once() {
    let app = spawn_app().await;
    let code = app.auth_code_for("zhangsan").await;
    let takes = (0..8).map(|_| app.take_user(&code, EDGE));
    let statuses: Vec<u16> = futures::future::join_all(takes)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 404),
        "{statuses:?}"
    );
}
