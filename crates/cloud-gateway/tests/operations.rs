//! Operations: request ids, health and readiness, metrics, the API document, JSON errors for
//! unknown routes, and restarts losing nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

#[tokio::test]
async fn every_response_carries_a_request_id_taken_from_the_request_or_generated() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");
    let generated = app.get("/healthz").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    // Errors carry the same id in the body.
    let res = app
        .client
        .get(app.url("/dingding/internal/user/x"))
        .header("x-request-id", "trace-err-1")
        .send()
        .await
        .unwrap();
    let body = error_body(res, 401).await;
    assert_eq!(body["request_id"], "trace-err-1");
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_is_503_while_the_database_is_locked_and_200_again_after() {
    let app = spawn_app_with(AppKind::Isv, |s| s.database.busy_timeout_ms = 200).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let mut locker = app.conn();
    locker.batch_execute("BEGIN EXCLUSIVE").unwrap();
    error_body(app.get("/readyz").await, 503).await;
    locker.batch_execute("ROLLBACK").unwrap();
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn unknown_routes_and_bad_query_strings_get_json_errors() {
    let app = spawn_app().await;
    error_body(app.get("/no/such/route").await, 404).await;
    let res = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert!(res.status().is_client_error());
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
}

#[tokio::test]
async fn metrics_expose_the_named_series() {
    let app = spawn_app().await;
    let code = app.auth_code_for("zhangsan").await;
    assert_eq!(app.take_user(&code, EDGE).await.status(), 200);
    let send = json!({"corp_id": CORP, "user_ids": ["zhangsan"], "message": "{\"message\":\"m\"}"});
    assert_eq!(app.send(&send, None).await.status(), 200);
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    for series in [
        "cloud_gateway_http_requests_total{method=\"GET\",route=\"/dingding/internal/user/{auth_code}\",status=\"200\"} 1",
        "cloud_gateway_http_request_duration_seconds_bucket{route=\"/dingding/auth/login\"",
        "cloud_gateway_dingtalk_calls_total{api=\"sendbytemplate\",outcome=\"ok\"} 1",
        "cloud_gateway_dingtalk_calls_total{api=\"getbyunionid\",outcome=\"ok\"} 1",
        "cloud_gateway_token_refreshes_total{kind=\"corpAccessToken\",outcome=\"ok\"}",
        "cloud_gateway_callback_events_total{event_type=\"SYNC_HTTP_PUSH_HIGH\"}",
        "cloud_gateway_suite_ticket_age_seconds ",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    // Raw paths (auth codes) never become labels.
    assert!(!text.contains(&code));
}

#[tokio::test]
async fn the_openapi_document_lists_the_routes_and_the_docs_page_is_served() {
    let app = spawn_app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/dingding/event/pushed",
        "/dingding/auth/login",
        "/dingding/auth/user/callback",
        "/dingding/internal/user/{auth_code}",
        "/dingding/internal/corp/{corp_id}",
        "/dingding/internal/suite/{suite_key}",
        "/dingding/internal/send/messages",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    assert_eq!(app.get("/docs").await.status(), 302);
}

#[tokio::test]
async fn a_restart_keeps_tickets_authorizations_codes_and_idempotency_records() {
    let mut app = spawn_app().await;
    let code = app.auth_code_for("zhangsan").await;
    let body = json!({"corp_id": CORP, "user_ids": ["lisi"], "msg": {"msgtype": "text", "text": {"content": "x"}}});
    let first: Value = app
        .send(&body, Some("restart-key"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(app.sim.messages().len(), 1);

    app.restart().await;

    assert_eq!(app.suite_status(SUITE_KEY).await.status(), 200);
    let corp: Value = app.corp_status(CORP).await.json().await.unwrap();
    assert_eq!(corp["status"], "active");
    assert_eq!(app.take_user(&code, EDGE).await.status(), 200);
    let replay = app.send(&body, Some("restart-key")).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.json::<Value>().await.unwrap(), first);
    assert_eq!(
        app.sim.messages().len(),
        1,
        "nothing re-sent after the restart"
    );
    // Sends still work with the stored ticket and authorization.
    assert_eq!(app.send(&body, None).await.status(), 200);
}
