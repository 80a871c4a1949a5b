//! End to end, as processes: the three binaries (`cargo build --workspace --bins`) on free ports,
//! wired together as the demo is, walked over HTTP the way a browser and an intranet app walk
//! them: the binding flow, the message flow, and the failures users meet (a hostile redirect
//! prefix, a reused auth code, a wrong edge secret, an account outside the org, the cloud down
//! while sending).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod system;

use std::time::{Duration, Instant};

use serde_json::Value;
use system::{location, query_param, status_and_json, System, PATIENCE};

fn assert_error_body(body: &Value, status: u16) {
    assert_eq!(body["errcode"], status, "errcode of {body}");
    assert!(
        body["errmsg"].as_str().is_some_and(|m| !m.is_empty()),
        "errmsg in {body}"
    );
    assert!(body["request_id"].is_string(), "request_id in {body}");
}

#[tokio::test]
async fn a_user_binds_through_the_cloud_login_and_the_edge_lists_and_removes_the_binding() {
    let sys = System::start().await;

    let callback = sys.login_as("zhangsan").await;
    assert_eq!(
        callback.status(),
        302,
        "the cloud redirects to the profile page"
    );
    let profile = url::Url::parse(&location(&callback)).unwrap();
    assert_eq!(
        format!(
            "{}{}",
            profile.origin().ascii_serialization(),
            profile.path()
        ),
        format!("{}/profile", sys.redirect_prefix())
    );
    let state = query_param(&profile, "state").expect("state on the profile URL");
    assert!(
        state.starts_with(&format!("{}::", sys.redirect_prefix())),
        "state carries the prefix: {state}"
    );
    let code = query_param(&profile, "authCode").expect("authCode on the profile URL");

    // The landing page exists: the sim serves the portal's profile page there.
    let page = sys.http.get(profile.as_str()).send().await.unwrap();
    assert_eq!(page.status(), 200);

    let (status, body) = sys.bind(&sys.edge_url(), "S-1001", "tenant-a", &code).await;
    assert_eq!(status, 200, "bind: {body}");
    assert_eq!(body["status"], "success", "{body}");
    let binding = body["binding"].to_string();
    for expected in ["S-1001", "tenant-a", "zhangsan", "dingdemocorp001"] {
        assert!(binding.contains(expected), "{expected} in {binding}");
    }

    let list = sys
        .http
        .get(format!("{}/dingding/local/bindings", sys.edge_url()))
        .query(&[("tenant_id", "tenant-a")])
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(list).await;
    assert_eq!(status, 200, "{body}");
    let listed = body.to_string();
    assert!(
        listed.contains("S-1001") && listed.contains("zhangsan"),
        "{listed}"
    );

    // The code was handed out once: binding with it again fails with 404 and stores nothing.
    let (status, body) = sys.bind(&sys.edge_url(), "S-2002", "tenant-a", &code).await;
    assert_eq!(status, 404, "a reused auth code: {body}");
    assert_error_body(&body, 404);

    // 张三 logs in again to bind a second staff id of the same tenant: one DingTalk account is
    // bound to at most one staff per tenant, so the edge answers 409.
    let again = sys.auth_code_for("zhangsan").await;
    let (status, body) = sys
        .bind(&sys.edge_url(), "S-3003", "tenant-a", &again)
        .await;
    assert_eq!(status, 409, "the same account for a second staff: {body}");
    assert_error_body(&body, 409);

    let removed = sys
        .http
        .delete(format!(
            "{}/dingding/local/bindings/tenant-a/S-1001",
            sys.edge_url()
        ))
        .send()
        .await
        .unwrap();
    assert!(
        removed.status().is_success(),
        "unbind: {}",
        removed.status()
    );
    let list = sys
        .http
        .get(format!("{}/dingding/local/bindings", sys.edge_url()))
        .query(&[("tenant_id", "tenant-a")])
        .send()
        .await
        .unwrap();
    let (_, body) = status_and_json(list).await;
    assert!(!body.to_string().contains("S-1001"), "still listed: {body}");
    assert!(
        !body.to_string().contains("S-2002") && !body.to_string().contains("S-3003"),
        "the reused code bound: {body}"
    );
}

#[tokio::test]
async fn a_message_to_a_bound_staff_is_delivered_to_their_dingtalk_inbox() {
    let sys = System::start().await;
    let code = sys.auth_code_for("lisi").await;
    let (status, body) = sys.bind(&sys.edge_url(), "S-7", "tenant-m", &code).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = sys
        .send("tenant-m", &["S-7", "S-unbound"], "e2e: the build is green")
        .await;
    assert!(status == 200 || status == 202, "send: {status} {body}");
    assert_eq!(
        body["missing_staff_ids"],
        serde_json::json!(["S-unbound"]),
        "{body}"
    );
    let id = body["message_id"].as_str().expect("message_id").to_string();

    let delivered = sys.wait_delivered(&id).await;
    assert!(
        delivered["attempts"].as_i64().unwrap_or(0) >= 1,
        "{delivered}"
    );
    assert!(
        delivered["task_ids"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{delivered}"
    );

    let received = sys.sim_messages_containing("e2e: the build is green").await;
    assert_eq!(received.len(), 1, "exactly one notification: {received:?}");
    assert_eq!(received[0]["user_ids"], serde_json::json!(["lisi"]));
    assert_eq!(received[0]["corp_id"], "dingdemocorp001");
    assert_eq!(received[0]["template_id"], "demo-template");

    // Nobody bound in this tenant: 404.
    let (status, body) = sys.send("tenant-nobody", &["S-7"], "nobody").await;
    assert_eq!(status, 404, "{body}");
    assert_error_body(&body, 404);
}

#[tokio::test]
async fn a_hostile_redirect_prefix_is_refused_with_400_and_no_redirect() {
    let sys = System::start().await;
    let prefix = sys.redirect_prefix();
    for hostile in [
        "https://evil.example/portal".to_string(),
        format!("{prefix}x"),
        format!("http://user@127.0.0.1:{}/portal", sys.sim_port),
        "javascript:alert(1)".to_string(),
    ] {
        let r = sys
            .http
            .get(format!("{}/dingding/auth/login", sys.cloud_url()))
            .query(&[("redirect", &hostile)])
            .send()
            .await
            .unwrap();
        assert!(
            r.headers().get("location").is_none(),
            "{hostile}: redirected"
        );
        let (status, body) = status_and_json(r).await;
        assert_eq!(status, 400, "login with {hostile}");
        assert_error_body(&body, 400);

        // The callback refuses a state naming that prefix too, before touching the code.
        let r = sys
            .http
            .get(format!("{}/dingding/auth/user/callback", sys.cloud_url()))
            .query(&[
                ("authCode", "whatever"),
                ("state", &format!("{hostile}::nonce")),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            r.headers().get("location").is_none(),
            "{hostile}: redirected"
        );
        let (status, body) = status_and_json(r).await;
        assert_eq!(status, 400, "callback with {hostile}");
        assert_error_body(&body, 400);
    }
}

#[tokio::test]
async fn a_dingtalk_account_outside_the_org_is_refused_with_403() {
    let sys = System::start().await;
    let r = sys.login_as("outsider").await;
    assert!(
        r.headers().get("location").is_none(),
        "no redirect for an outsider"
    );
    let (status, body) = status_and_json(r).await;
    assert_eq!(status, 403, "{body}");
    assert_error_body(&body, 403);
}

#[tokio::test]
async fn an_edge_with_a_wrong_secret_cannot_bind_and_stores_nothing() {
    let mut sys = System::start().await;
    let port = system::free_port();
    let rogue = sys
        .spawn_edge("edge-wrong-secret", port, "not-the-edge-secret")
        .await;
    sys.extra.push(rogue);
    let rogue_url = format!("http://127.0.0.1:{port}");

    let code = sys.auth_code_for("wangwu").await;
    let (status, body) = sys.bind(&rogue_url, "S-9", "tenant-w", &code).await;
    // The cloud answers 401; the edge answers 502 (the cloud refused its credentials, nothing
    // stored), naming the settings to check, and says the same to its operator in its log.
    assert_eq!(
        status, 502,
        "bind through an edge with a wrong secret: {body}"
    );
    assert_error_body(&body, 502);
    let errmsg = body["errmsg"].as_str().unwrap_or_default();
    assert!(
        errmsg.contains("cloud.edge_id") && errmsg.contains("cloud.edge_secret"),
        "the answer names the settings to check: {body}"
    );
    let rogue_log = std::fs::read_to_string(&sys.extra[0].log).unwrap();
    assert!(
        rogue_log.contains("cloud.edge_secret"),
        "the edge's log names the setting to fix:\n{rogue_log}"
    );
    for text in [body.to_string(), rogue_log] {
        assert!(
            !text.contains("not-the-edge-secret"),
            "the secret leaked: {text}"
        );
    }

    // Nothing stored, and the code was not consumed: the right edge can still use it.
    let list = sys
        .http
        .get(format!("{}/dingding/local/bindings", sys.edge_url()))
        .query(&[("tenant_id", "tenant-w")])
        .send()
        .await
        .unwrap();
    let (status, listed) = status_and_json(list).await;
    assert_eq!(status, 200, "{listed}");
    assert!(!listed.to_string().contains("S-9"), "stored: {listed}");
    let (status, body) = sys.bind(&sys.edge_url(), "S-9", "tenant-w", &code).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_message_sent_while_the_cloud_is_down_is_queued_and_delivered_once_it_is_back() {
    let mut sys = System::start().await;
    let code = sys.auth_code_for("zhangsan").await;
    let (status, body) = sys.bind(&sys.edge_url(), "S-42", "tenant-d", &code).await;
    assert_eq!(status, 200, "{body}");

    sys.kill_cloud();
    let (status, body) = sys
        .send("tenant-d", &["S-42"], "e2e: sent while down")
        .await;
    assert_eq!(status, 202, "accepted but not delivered: {body}");
    assert_eq!(body["status"], "queued", "{body}");
    let id = body["message_id"].as_str().expect("message_id").to_string();

    // The outbox keeps trying while the cloud is away.
    let start = Instant::now();
    loop {
        let s = sys.message_status(&id).await;
        assert_eq!(s["status"], "queued", "{s}");
        if s["attempts"].as_i64().unwrap_or(0) >= 2 {
            assert!(s["last_error"].is_string(), "{s}");
            break;
        }
        assert!(start.elapsed() < PATIENCE, "no retries: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sys
        .sim_messages_containing("e2e: sent while down")
        .await
        .is_empty());

    sys.start_cloud().await;
    sys.wait_delivered(&id).await;
    let received = sys.sim_messages_containing("e2e: sent while down").await;
    assert_eq!(received.len(), 1, "delivered exactly once: {received:?}");
    assert_eq!(received[0]["user_ids"], serde_json::json!(["zhangsan"]));
}
