//! Operations: health, readiness, metrics, API docs, request ids, CORS, JSON errors everywhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;

#[tokio::test]
async fn healthz_and_readyz_answer_200_while_the_database_is_usable() {
    let app = spawn_app().await;
    assert_eq!(app.edge.get("/healthz").await.status(), 200);
    let res = app.edge.get("/readyz").await;
    assert_eq!(res.status(), 200);
    for path in ["/healthz", "/readyz"] {
        let head = app
            .edge
            .client
            .head(app.edge.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
    }
}

#[tokio::test]
async fn readyz_answers_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    // Drop the database under the running edge (terminating its connections).
    let admin_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    {
        use diesel::prelude::*;
        let mut admin = PgConnection::establish(&admin_url).unwrap();
        diesel::sql_query(format!("DROP DATABASE {} WITH (FORCE)", app.db.name))
            .execute(&mut admin)
            .unwrap();
    }
    let res = app.edge.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errcode"], 503);
    let msg = err["errmsg"].as_str().unwrap();
    assert!(!msg.contains("edge_test_"), "no internal detail: {msg}");
    assert_eq!(app.edge.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn metrics_show_requests_outbox_depth_deliveries_and_the_oldest_pending_age() {
    let app = spawn_app_with(|s| s.messages.sync_wait_ms = 0).await;
    app.bind_user("s-1", "zhangsan").await;
    let body: Value = app
        .edge
        .send(&template_body(&["s-1"], "metric-1"))
        .await
        .json()
        .await
        .unwrap();
    app.edge
        .wait_status(body["message_id"].as_str().unwrap(), "delivered")
        .await;
    app.cloud.stop().await;
    app.edge.send(&template_body(&["s-1"], "metric-2")).await;
    eventually(60, "a failed attempt", || async {
        app.count("SELECT count(*) AS n FROM outbox WHERE status = 'pending' AND attempts > 0") == 1
    })
    .await;

    let res = app.edge.get("/metrics").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .to_string()
    };
    assert!(line("edge_http_requests_total{method=\"POST\",route=\"/dingding/local/send/messages\",status=\"202\"}").ends_with(" 2"));
    assert!(text.contains("edge_http_request_duration_seconds_bucket{method=\"POST\",route=\"/dingding/local/bindings\""));
    assert!(line("edge_outbox_rows{status=\"delivered\"}").ends_with(" 1"));
    assert!(line("edge_outbox_rows{status=\"pending\"}").ends_with(" 1"));
    assert!(
        line("edge_outbox_delivery_attempts_total{kind=\"send\",outcome=\"delivered\"}")
            .ends_with(" 1")
    );
    assert!(text.contains("edge_outbox_delivery_attempts_total{kind=\"send\",outcome=\"retry\"}"));
    let age: f64 = line("edge_outbox_oldest_pending_age_seconds")
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(age > 0.0, "{age}");
}

#[tokio::test]
async fn the_openapi_document_and_the_docs_page_are_served() {
    let app = spawn_app().await;
    let doc: Value = app.edge.get("/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/dingding/local/bindings",
        "/dingding/local/auth/user/callback",
        "/dingding/local/bindings/{tenant_id}/{staff_id}",
        "/dingding/local/send/messages",
        "/dingding/local/messages/{message_id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    let docs = app.edge.get("/docs").await;
    assert_eq!(docs.status(), 302);
    let page = app.edge.get("/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    assert!(
        !html.contains("https://"),
        "assets must not come from a CDN"
    );
}

#[tokio::test]
async fn every_response_carries_the_request_id_given_or_generated() {
    let app = spawn_app().await;
    let res = app
        .edge
        .client
        .get(app.edge.url("/dingding/local/messages/nope"))
        .header("x-request-id", "req-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "req-abc-123");
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["request_id"], "req-abc-123");

    let res = app.edge.get("/healthz").await;
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(!generated.is_empty());
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_json_errors() {
    let app = spawn_app().await;
    let res = app
        .edge
        .client
        .get(app.edge.url("/nope"))
        .header("x-request-id", "fixed-id")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["x-request-id"], "fixed-id");
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errcode"], 404);
    assert_eq!(err["request_id"], "fixed-id");

    let res = app
        .edge
        .client
        .put(app.edge.url("/dingding/local/send/messages"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errcode"], 405);
}

#[tokio::test]
async fn cors_allows_the_configured_frontend_origin_only() {
    let app = spawn_app().await;
    let preflight = app
        .edge
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.edge.url("/dingding/local/send/messages"),
        )
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], ORIGIN);

    let res = app
        .edge
        .client
        .get(app.edge.url("/healthz"))
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], ORIGIN);
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");

    let other = app
        .edge
        .client
        .get(app.edge.url("/healthz"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_browser_preflight_from_another_origin_is_refused() {
    let app = spawn_app().await;
    let preflight = app
        .edge
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.edge.url("/dingding/local/send/messages"),
        )
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(
        preflight.status().is_client_error(),
        "{}",
        preflight.status()
    );
    assert!(preflight
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    assert!(preflight
        .headers()
        .get("access-control-allow-methods")
        .is_none());
    let err: Value = preflight.json().await.unwrap();
    assert_eq!(err["errcode"], 400);
    assert!(err["request_id"].is_string());
}

/// A cloud that accepts connections and never answers; counts the connections.
fn silent_cloud() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            open.push(stream);
        }
    });
    (format!("http://127.0.0.1:{port}"), accepted)
}

#[tokio::test]
async fn the_api_keeps_answering_while_every_outbox_slot_holds_a_connection() {
    use diesel::RunQueryDsl;
    let db = TestDb::create();
    let (cloud_url, accepted) = silent_cloud();
    let mut settings =
        edge_service::config::Settings::from_toml_str(&edge_toml(&db.url, &cloud_url)).unwrap();
    // The smallest pool the settings allow for two slots: one connection left for requests.
    settings.database.pool_size = 3;
    settings.outbox.batch_size = 2;
    settings.cloud.timeout_secs = 60;
    settings.messages.sync_wait_ms = 0;
    let edge = Edge::start(settings).await;
    diesel::sql_query(
        "INSERT INTO dingtalk_users (corp_id, user_id, union_id, open_id, nick) \
         VALUES ('dingdemocorp001', 'zhangsan', 'u', 'o', 'z')",
    )
    .execute(&mut db.conn())
    .unwrap();
    diesel::sql_query(
        "INSERT INTO bindings (tenant_id, staff_id, corp_id, user_id) \
         VALUES ('tenant-a', 's-1', 'dingdemocorp001', 'zhangsan')",
    )
    .execute(&mut db.conn())
    .unwrap();

    for i in 0..3 {
        let res = edge
            .send(&template_body(&["s-1"], &format!("held-{i}")))
            .await;
        assert_eq!(res.status(), 202);
    }
    // Both slots are delivering to the silent cloud, each inside its open transaction.
    eventually(60, "both slots in flight", || async {
        accepted.load(std::sync::atomic::Ordering::SeqCst) >= 2
            && count(
                &mut db.conn(),
                &format!(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{}' \
                     AND state = 'idle in transaction'",
                    db.name
                ),
            ) == 2
    })
    .await;

    for i in 0..5 {
        assert_eq!(edge.get("/readyz").await.status(), 200);
        let res = edge
            .send(&template_body(&["s-1"], &format!("more-{i}")))
            .await;
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.unwrap();
        let st = edge
            .message_status(body["message_id"].as_str().unwrap())
            .await;
        assert_eq!(st["status"], "queued");
        let list = edge
            .get(&format!("/dingding/local/bindings?tenant_id={TENANT}"))
            .await;
        assert_eq!(list.status(), 200);
    }
}

#[tokio::test]
async fn hostile_input_gets_json_4xx_answers_never_a_5xx() {
    let app = spawn_app().await;
    app.bind_user("s-1", "zhangsan").await;
    for query in [
        "tenant_id=t&limit=-1",
        "tenant_id=t&limit=0",
        "tenant_id=t&limit=1000000000000",
        "tenant_id=t&limit=100000000000000000000000000000",
        "tenant_id=t&limit=abc",
        "tenant_id=",
        "tenant_id=a%00b",
        "tenant_id=t&after=%00",
    ] {
        let res = app
            .edge
            .get(&format!("/dingding/local/bindings?{query}"))
            .await;
        assert_eq!(res.status(), 400, "{query}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["errcode"], 400, "{query}");
    }
    let many: Vec<String> = (0..10_001).map(|i| format!("s{i}")).collect();
    for body in [
        serde_json::json!({"staff_ids": [1, 2], "tenant_id": TENANT, "data": "x"}),
        serde_json::json!({"staff_ids": [null], "tenant_id": TENANT, "data": "x"}),
        serde_json::json!({"staff_ids": [""], "tenant_id": TENANT, "data": "x"}),
        serde_json::json!({"staff_ids": ["s-1"], "tenant_id": 7, "data": "x"}),
        serde_json::json!({"staff_ids": many, "tenant_id": TENANT, "data": "x"}),
        serde_json::json!({"staff_ids": ["s-1"], "tenant_id": "x".repeat(257), "data": "x"}),
        serde_json::json!([1, 2]),
    ] {
        let res = app.edge.send(&body).await;
        assert_eq!(res.status(), 400);
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["errcode"], 400, "{err}");
    }
    // Unicode ids are ids like any other.
    let res = app
        .edge
        .send(&serde_json::json!({"staff_ids": ["s-1", "员工-😀"], "tenant_id": TENANT, "data": "你好 😀"}))
        .await;
    assert!(
        res.status() == 200 || res.status() == 202,
        "{}",
        res.status()
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["missing_staff_ids"], serde_json::json!(["员工-😀"]));
    for path in [
        "/dingding/local/messages/00000000-0000-0000-0000-00000000000Z",
        "/dingding/local/messages/%00",
    ] {
        let res = app.edge.get(path).await;
        assert_eq!(res.status(), 400, "{path}");
    }
    let res = app
        .edge
        .client
        .delete(
            app.edge
                .url(&format!("/dingding/local/bindings/{TENANT}/%00")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
