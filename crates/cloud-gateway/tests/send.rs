//! Work-notification relay: batching, both send kinds, idempotency, DingTalk faults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use dingtalk_sim::{Fault, FaultKind};
use serde_json::{json, Value};

fn users(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user{i:03}")).collect()
}

fn template_body(n: usize) -> Value {
    json!({
        "corp_id": CORP,
        "user_ids": users(n),
        "message": json!({"message": "hello", "url": "http://example/x"}).to_string(),
    })
}

fn msg_body(user_ids: &[&str], text: &str) -> Value {
    json!({
        "corp_id": CORP,
        "user_ids": user_ids,
        "msg": {"msgtype": "text", "text": {"content": text}},
    })
}

fn fault(path: &str, kind: FaultKind, errcode: Option<i64>, times: u32) -> Fault {
    Fault {
        path: path.into(),
        kind,
        errcode,
        times,
    }
}

#[tokio::test]
async fn a_template_send_of_250_recipients_goes_out_in_three_batches() {
    let app = spawn_app().await;
    let res = app.send(&template_body(250), None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let task_ids: Vec<i64> = serde_json::from_value(body["task_ids"].clone()).unwrap();
    assert_eq!(task_ids.len(), 3);

    let messages = app.sim.messages();
    assert_eq!(messages.len(), 3);
    let sizes: Vec<usize> = messages.iter().map(|m| m.user_ids.len()).collect();
    assert_eq!(sizes, vec![100, 100, 50]);
    let all: Vec<String> = messages.iter().flat_map(|m| m.user_ids.clone()).collect();
    assert_eq!(all, users(250));
    for (m, id) in messages.iter().zip(&task_ids) {
        assert_eq!(m.api, "sendbytemplate");
        assert_eq!(m.task_id, *id);
        assert_eq!(m.corp_id, CORP);
        assert_eq!(m.agent_id, 100001);
        assert_eq!(m.template_id.as_deref(), Some("demo-template"));
        assert_eq!(m.data.as_ref().unwrap()["message"], "hello");
    }
}

#[tokio::test]
async fn a_msg_send_goes_through_asyncsend_v2() {
    let app = spawn_app().await;
    let res = app
        .send(&msg_body(&["zhangsan", "lisi"], "hi there"), None)
        .await;
    assert_eq!(res.status(), 200);
    let messages = app.sim.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].api, "asyncsend_v2");
    assert_eq!(messages[0].user_ids, vec!["zhangsan", "lisi"]);
    assert_eq!(
        messages[0].msg.as_ref().unwrap()["text"]["content"],
        "hi there"
    );
}

#[tokio::test]
async fn a_replay_with_the_same_key_returns_the_stored_result_and_sends_nothing() {
    let app = spawn_app().await;
    let body = msg_body(&["zhangsan"], "once");
    let first = app.send(&body, Some("key-1")).await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let second = app.send(&body, Some("key-1")).await;
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(app.sim.messages().len(), 1);
    // Without a key, nothing is deduplicated.
    assert_eq!(app.send(&body, None).await.status(), 200);
    assert_eq!(app.sim.messages().len(), 2);
}

#[tokio::test]
async fn the_same_key_with_another_body_gets_409() {
    let app = spawn_app().await;
    assert_eq!(
        app.send(&msg_body(&["zhangsan"], "a"), Some("key-2"))
            .await
            .status(),
        200
    );
    error_body(
        app.send(&msg_body(&["zhangsan"], "b"), Some("key-2")).await,
        409,
    )
    .await;
    assert_eq!(app.sim.messages().len(), 1);
}

#[tokio::test]
async fn a_transient_http_500_is_retried_and_heals() {
    let app = spawn_app().await;
    app.sim
        .add_fault(fault(TEMPLATE_PATH, FaultKind::Http500, None, 1));
    let res = app.send(&template_body(3), None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.sim.messages().len(), 1);
    assert_eq!(app.sim.calls(TEMPLATE_PATH), 2);
}

#[tokio::test]
async fn a_rate_limit_is_retried_and_heals() {
    let app = spawn_app().await;
    app.sim
        .add_fault(fault(ASYNC_PATH, FaultKind::Errcode, Some(90018), 1));
    let res = app.send(&msg_body(&["lisi"], "x"), None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.sim.messages().len(), 1);
    assert_eq!(app.sim.calls(ASYNC_PATH), 2);
}

#[tokio::test]
async fn a_permanent_dingtalk_error_is_a_502_with_its_errcode_and_is_remembered() {
    let app = spawn_app().await;
    app.sim
        .add_fault(fault(TEMPLATE_PATH, FaultKind::Errcode, Some(885001), 1));
    let res = app.send(&template_body(2), Some("key-3")).await;
    let body = error_body(res, 502).await;
    assert_eq!(body["errcode"], 885001);
    assert_eq!(
        app.sim.calls(TEMPLATE_PATH),
        1,
        "permanent errors are not retried"
    );
    // The final answer is stored: the replay does not call DingTalk again.
    let replay = app.send(&template_body(2), Some("key-3")).await;
    assert_eq!(replay.status(), 502);
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["errcode"], 885001);
    assert_eq!(app.sim.calls(TEMPLATE_PATH), 1);
    assert!(app.sim.messages().is_empty());

    app.sim
        .add_fault(fault(ASYNC_PATH, FaultKind::Errcode, Some(400002), 1));
    let body = error_body(app.send(&msg_body(&["lisi"], "x"), None).await, 502).await;
    assert_eq!(body["errcode"], 400002);
}

#[tokio::test]
async fn exhausted_transient_failures_give_503_and_are_not_remembered() {
    let app = spawn_app_with(AppKind::Isv, |s| s.dingtalk.retry_max_attempts = 2).await;
    app.sim
        .add_fault(fault(ASYNC_PATH, FaultKind::Http500, None, 2));
    let body = msg_body(&["wangwu"], "later");
    error_body(app.send(&body, Some("key-4")).await, 503).await;
    assert!(app.sim.messages().is_empty());
    // The edge's retry with the same key succeeds.
    assert_eq!(app.send(&body, Some("key-4")).await.status(), 200);
    assert_eq!(app.sim.messages().len(), 1);
}

#[tokio::test]
async fn bad_send_requests_get_400_and_unknown_corps_404() {
    let app = spawn_app().await;
    let empty = json!({"corp_id": CORP, "user_ids": [], "msg": {"msgtype": "text", "text": {"content": "x"}}});
    error_body(app.send(&empty, None).await, 400).await;
    let not_vars = json!({"corp_id": CORP, "user_ids": ["a"], "message": "not json"});
    error_body(app.send(&not_vars, None).await, 400).await;
    let neither = json!({"corp_id": CORP, "user_ids": ["a"]});
    error_body(app.send(&neither, None).await, 400).await;
    let both = json!({"corp_id": CORP, "user_ids": ["a"], "message": "{\"message\":\"m\"}",
        "msg": {"msgtype": "text", "text": {"content": "x"}}});
    let body = error_body(app.send(&both, None).await, 400).await;
    assert!(
        body["errmsg"].as_str().unwrap().contains("not both"),
        "{body}"
    );
    let res = app
        .client
        .post(app.url("/dingding/internal/send/messages"))
        .basic_auth(EDGE.0, Some(EDGE.1))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    error_body(res, 400).await;
    let unknown = json!({"corp_id": "ding-unknown", "user_ids": ["a"], "msg": {"msgtype": "text", "text": {"content": "x"}}});
    error_body(app.send(&unknown, None).await, 404).await;
    let res = app
        .client
        .post(app.url("/dingding/internal/send/messages"))
        .json(&template_body(1))
        .send()
        .await
        .unwrap();
    error_body(res, 401).await;
    assert!(app.sim.messages().is_empty());
}

#[tokio::test]
async fn a_relieved_corp_cannot_be_sent_to() {
    let app = spawn_app().await;
    app.sim
        .push_now(dingtalk_sim::PushKind::Relieve)
        .await
        .unwrap();
    error_body(app.send(&template_body(1), None).await, 404).await;
}

#[tokio::test]
async fn the_internal_mode_sends_both_kinds_through_asyncsend_v2() {
    let app = spawn_app_with(AppKind::Internal, |_| {}).await;
    let res = app
        .send(&msg_body(&["zhangsan"], "internal hi"), Some("k"))
        .await;
    assert_eq!(res.status(), 200);
    let res = app.send(&template_body(2), None).await;
    assert_eq!(res.status(), 200);
    let messages = app.sim.messages();
    assert_eq!(messages.len(), 2);
    assert!(messages
        .iter()
        .all(|m| m.api == "asyncsend_v2" && m.agent_id == 100001));
    assert_eq!(
        messages[0].msg.as_ref().unwrap()["text"]["content"],
        "internal hi"
    );
    assert_eq!(
        messages[1].msg.as_ref().unwrap()["text"]["content"],
        "hello\nhttp://example/x"
    );
    let other = json!({"corp_id": "ding-other", "user_ids": ["a"], "msg": {"msgtype": "text", "text": {"content": "x"}}});
    error_body(app.send(&other, None).await, 404).await;
}

#[tokio::test]
async fn a_dingtalk_timeout_gives_504_and_the_retry_with_the_same_key_sends_once() {
    let app = spawn_app_with(AppKind::Isv, |s| {
        s.dingtalk.request_timeout_secs = 1;
        s.dingtalk.retry_max_attempts = 1;
    })
    .await;
    app.sim
        .add_fault(fault(ASYNC_PATH, FaultKind::Timeout, None, 1));
    let body = msg_body(&["zhangsan"], "slow");
    error_body(app.send(&body, Some("key-t")).await, 504).await;
    assert!(app.sim.messages().is_empty());
    assert_eq!(app.send(&body, Some("key-t")).await.status(), 200);
    assert_eq!(app.sim.messages().len(), 1);
}

/// Starts an HTTP proxy in front of `upstream` that forwards everything, except that calls
/// `pass + 1 ..= pass + fail` of `path` are answered HTTP 500 (the simulator's own faults hit the
/// next calls, so they cannot single out a later batch). Returns the proxy's base URL.
fn flaky_proxy(upstream: String, path: &'static str, pass: u32, fail: u32) -> String {
    flaky_proxy_with(upstream, path, pass, fail, None)
}

/// Like [`flaky_proxy`], but the failing calls get DingTalk's `errcode` (HTTP 200) when given.
fn flaky_proxy_with(
    upstream: String,
    path: &'static str,
    pass: u32,
    fail: u32,
    errcode: Option<i64>,
) -> String {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    let seen = Arc::new(AtomicU32::new(0));
    let client = reqwest::Client::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let (upstream, seen, client) = (upstream.clone(), seen.clone(), client.clone());
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let (upstream, seen, client) = (upstream.clone(), seen.clone(), client.clone());
            async move {
                if req.path() == path {
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    if n >= pass && n < pass + fail {
                        return match errcode {
                            Some(code) => HttpResponse::Ok()
                                .json(json!({"errcode": code, "errmsg": "injected by the test"})),
                            None => {
                                HttpResponse::InternalServerError().body("injected by the test")
                            }
                        };
                    }
                }
                let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
                let mut forward = client
                    .request(method, format!("{upstream}{}", req.uri()))
                    .body(body.to_vec());
                if let Some(ct) = req.headers().get("content-type") {
                    forward = forward.header("content-type", ct.to_str().unwrap());
                }
                let res = forward.send().await.unwrap();
                let status = actix_web::http::StatusCode::from_u16(res.status().as_u16()).unwrap();
                let ct = res
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_else(|| "application/json".into());
                let bytes = res.bytes().await.unwrap();
                HttpResponse::build(status)
                    .content_type(ct)
                    .body(bytes.to_vec())
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

/// How many times each user id received a message.
fn deliveries_per_user(app: &TestApp) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for m in app.sim.messages() {
        for u in m.user_ids {
            *counts.entry(u).or_insert(0) += 1;
        }
    }
    counts
}

/// 250 recipients; the 2nd batch fails transiently more often than the retry policy allows, then
/// the edge retries with the same key (after a gateway restart when `restart`).
async fn a_retry_after_a_failed_second_batch_sends_only_the_missing_batches(restart: bool) {
    let mut app = spawn_app_with(AppKind::Isv, |s| {
        s.dingtalk.retry_max_attempts = 2;
        s.dingtalk.oapi_base = flaky_proxy(s.dingtalk.oapi_base.clone(), TEMPLATE_PATH, 1, 2);
    })
    .await;
    let body = template_body(250);
    error_body(app.send(&body, Some("key-batches")).await, 503).await;
    let first = app.sim.messages();
    assert_eq!(first.len(), 1, "only batch 1 was accepted");
    assert_eq!(first[0].user_ids, users(100));

    if restart {
        app.restart().await;
    }
    let res = app.send(&body, Some("key-batches")).await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    let task_ids: Vec<i64> = serde_json::from_value(answer["task_ids"].clone()).unwrap();
    assert_eq!(task_ids.len(), 3);
    assert_eq!(task_ids[0], first[0].task_id, "batch 1's task id is reused");

    let messages = app.sim.messages();
    assert_eq!(messages.len(), 3);
    let sent: Vec<i64> = messages.iter().map(|m| m.task_id).collect();
    assert_eq!(sent, task_ids);
    let counts = deliveries_per_user(&app);
    assert_eq!(counts.len(), 250);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert_eq!(counts.keys().cloned().collect::<Vec<_>>(), users(250));

    // The final answer is now stored: a third call replays it and sends nothing.
    let replay = app.send(&body, Some("key-batches")).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.json::<Value>().await.unwrap(), answer);
    assert_eq!(app.sim.messages().len(), 3);
}

#[tokio::test]
async fn a_retry_after_a_failed_second_batch_does_not_resend_the_first() {
    a_retry_after_a_failed_second_batch_sends_only_the_missing_batches(false).await;
}

#[tokio::test]
async fn accepted_batches_survive_a_restart_between_the_attempts() {
    a_retry_after_a_failed_second_batch_sends_only_the_missing_batches(true).await;
}

#[tokio::test]
async fn a_retry_with_the_same_key_but_another_body_after_a_partial_send_gets_409() {
    let app = spawn_app_with(AppKind::Isv, |s| {
        s.dingtalk.retry_max_attempts = 2;
        s.dingtalk.oapi_base = flaky_proxy(s.dingtalk.oapi_base.clone(), TEMPLATE_PATH, 1, 2);
    })
    .await;
    error_body(app.send(&template_body(250), Some("key-b2")).await, 503).await;
    assert_eq!(app.sim.messages().len(), 1);
    error_body(app.send(&template_body(150), Some("key-b2")).await, 409).await;
    assert_eq!(app.sim.messages().len(), 1);
}

#[tokio::test]
async fn a_permanent_failure_of_a_later_batch_is_still_the_stored_502() {
    let app = spawn_app_with(AppKind::Isv, |s| {
        let upstream = s.dingtalk.oapi_base.clone();
        s.dingtalk.oapi_base = flaky_proxy_with(upstream, TEMPLATE_PATH, 1, 1, Some(885001));
    })
    .await;
    let body = template_body(150);
    let res = error_body(app.send(&body, Some("key-b3")).await, 502).await;
    assert_eq!(res["errcode"], 885001);
    assert_eq!(
        app.sim.messages().len(),
        1,
        "batch 1 went out before the refusal"
    );
    // The 502 is the stored final answer: replayed, nothing sent again.
    let replay = app.send(&body, Some("key-b3")).await;
    assert_eq!(replay.status(), 502);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap()["errcode"], 885001);
    assert_eq!(app.sim.messages().len(), 1);
}
