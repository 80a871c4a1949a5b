//! What the edge sends to the cloud: Basic credentials, the caller's x-request-id, and the outbox
//! row id as the Idempotency-Key on every attempt (checked against a recording fake cloud).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine;
use common::*;
use edge_service::config::Settings;
use serde_json::{json, Value};

#[derive(Clone, Debug)]
struct Seen {
    path: String,
    authorization: Option<String>,
    request_id: Option<String>,
    idempotency_key: Option<String>,
    body: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// A fake cloud: hands out zhangsan for any code; fails the first send with 503, then accepts.
async fn fake_cloud() -> (String, Log) {
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let store = log.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let store = store.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: String| {
            let store = store.clone();
            async move {
                let mut log = store.lock().unwrap();
                log.push(Seen {
                    path: req.path().to_string(),
                    authorization: header(&req, "authorization"),
                    request_id: header(&req, "x-request-id"),
                    idempotency_key: header(&req, "idempotency-key"),
                    body,
                });
                if req.path().starts_with("/dingding/internal/user/") {
                    return HttpResponse::Ok().json(json!({
                        "nick": "张三", "corp_id": CORP, "open_id": "open-zhangsan",
                        "union_id": "union-zhangsan", "user_id": "zhangsan", "email": null,
                        "avatar_url": null, "mobile": null, "staff_id": null, "tenant_id": null
                    }));
                }
                let sends = log
                    .iter()
                    .filter(|s| s.path == "/dingding/internal/send/messages")
                    .count();
                if sends == 1 {
                    HttpResponse::ServiceUnavailable()
                        .json(json!({"errcode": 503, "errmsg": "busy", "request_id": "x"}))
                } else {
                    HttpResponse::Ok().json(json!({"task_ids": [7]}))
                }
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}"), log)
}

#[tokio::test]
async fn the_edge_forwards_credentials_request_ids_and_a_stable_idempotency_key_to_the_cloud() {
    let db = TestDb::create();
    let (cloud_url, log) = fake_cloud().await;
    let mut settings = Settings::from_toml_str(&edge_toml(&db.url, &cloud_url)).unwrap();
    settings.messages.sync_wait_ms = 0;
    let edge = Edge::start(settings).await;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{EDGE_ID}:{EDGE_SECRET}"))
    );

    let res = edge
        .client
        .post(edge.url("/dingding/local/bindings"))
        .header("x-request-id", "bind-req-1")
        .json(&json!({"staff_id": "s-1", "tenant_id": TENANT, "auth_code": "code/with?odd&chars"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let user_call = log.lock().unwrap()[0].clone();
    assert_eq!(
        user_call.path,
        "/dingding/internal/user/code%2Fwith%3Fodd&chars"
    );
    assert_eq!(user_call.authorization.as_deref(), Some(basic.as_str()));
    assert_eq!(user_call.request_id.as_deref(), Some("bind-req-1"));

    let res = edge
        .client
        .post(edge.url("/dingding/local/send/messages"))
        .header("x-request-id", "send-req-1")
        .json(&template_body(&["s-1"], "contract"))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    let id = body["message_id"].as_str().unwrap().to_string();
    let status = edge.wait_status(&id, "delivered").await;
    assert_eq!(status["task_ids"], json!([7]));
    assert_eq!(status["attempts"], 2);

    let row_id = texts(
        &mut db.conn(),
        &format!("SELECT id::text AS v FROM outbox WHERE message_id = '{id}'"),
    )
    .remove(0);
    let sends: Vec<Seen> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.path == "/dingding/internal/send/messages")
        .cloned()
        .collect();
    assert_eq!(sends.len(), 2, "one failed attempt, one retry");
    for s in &sends {
        assert_eq!(s.idempotency_key.as_deref(), Some(row_id.as_str()));
        assert_eq!(s.request_id.as_deref(), Some("send-req-1"));
        assert_eq!(s.authorization.as_deref(), Some(basic.as_str()));
        let sent: Value = serde_json::from_str(&s.body).unwrap();
        assert_eq!(sent["corp_id"], CORP);
        assert_eq!(sent["user_ids"], json!(["zhangsan"]));
        let vars: Value = serde_json::from_str(sent["message"].as_str().unwrap()).unwrap();
        assert!(vars["message"].as_str().unwrap().starts_with("contract\n"));
    }
}
