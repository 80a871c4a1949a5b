//! Binding staff to DingTalk users through the cloud's one-time auth codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use common::*;
use edge_service::config::Settings;
use serde_json::Value;

#[tokio::test]
async fn binding_with_a_valid_code_stores_the_user_and_the_binding() {
    let app = spawn_app().await;
    let code = app.auth_code("zhangsan").await;
    let res = app.edge.bind(TENANT, "s-001", &code).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "success");
    let b = &body["binding"];
    assert_eq!(b["tenant_id"], TENANT);
    assert_eq!(b["staff_id"], "s-001");
    assert_eq!(b["corp_id"], CORP);
    assert_eq!(b["user_id"], "zhangsan");
    assert_eq!(b["union_id"], "union-zhangsan");
    assert_eq!(b["nick"], "张三");
    assert!(b["bound_at"].is_string());

    let mut conn = app.db.conn();
    assert_eq!(
        texts(&mut conn, "SELECT nick AS v FROM dingtalk_users WHERE corp_id = 'dingdemocorp001' AND user_id = 'zhangsan'"),
        vec!["张三".to_string()]
    );
    assert_eq!(
        texts(
            &mut conn,
            "SELECT user_id AS v FROM bindings WHERE tenant_id = 'tenant-a' AND staff_id = 's-001'"
        ),
        vec!["zhangsan".to_string()]
    );
}

#[tokio::test]
async fn the_original_get_callback_binds_too_and_the_code_is_one_time() {
    let app = spawn_app().await;
    let code = app.auth_code("lisi").await;
    let path = format!(
        "/dingding/local/auth/user/callback?staff_id=s-002&tenant_id={TENANT}&auth_code={code}"
    );
    let res = app.edge.get(&path).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["binding"]["user_id"], "lisi");

    // The same code again: the cloud no longer knows it.
    let again = app.edge.get(&path).await;
    assert_eq!(again.status(), 404);
    let err: Value = again.json().await.unwrap();
    assert_eq!(err["errcode"], 404);
    assert!(err["request_id"].is_string());
}

#[tokio::test]
async fn a_dingtalk_user_bound_to_another_staff_of_the_tenant_gives_409() {
    let app = spawn_app().await;
    app.bind_user("s-001", "zhangsan").await;
    let code = app.auth_code("zhangsan").await;
    let res = app.edge.bind(TENANT, "s-002", &code).await;
    assert_eq!(res.status(), 409);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errcode"], 409);
    assert_eq!(app.count("SELECT count(*) AS n FROM bindings"), 1);

    // Another tenant may bind the same DingTalk user.
    let code = app.auth_code("zhangsan").await;
    assert_eq!(
        app.edge.bind("tenant-b", "s-002", &code).await.status(),
        200
    );
}

#[tokio::test]
async fn binding_a_staff_again_replaces_its_old_binding() {
    let app = spawn_app().await;
    app.bind_user("s-001", "zhangsan").await;
    let body = app.bind_user("s-001", "wangwu").await;
    assert_eq!(body["binding"]["user_id"], "wangwu");
    let mut conn = app.db.conn();
    assert_eq!(
        texts(
            &mut conn,
            "SELECT user_id AS v FROM bindings WHERE tenant_id = 'tenant-a'"
        ),
        vec!["wangwu".to_string()]
    );
    // zhangsan is free again for another staff.
    app.bind_user("s-009", "zhangsan").await;
}

#[tokio::test]
async fn an_unknown_code_gives_404_and_stores_nothing() {
    let app = spawn_app().await;
    let res = app.edge.bind(TENANT, "s-001", "no-such-code").await;
    assert_eq!(res.status(), 404);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errcode"], 404);
    assert_eq!(app.count("SELECT count(*) AS n FROM bindings"), 0);
}

#[tokio::test]
async fn with_the_cloud_down_binding_gives_503_and_stores_nothing() {
    let app = spawn_app().await;
    let code = app.auth_code("zhangsan").await;
    app.cloud.stop().await;
    let res = app.edge.bind(TENANT, "s-001", &code).await;
    assert_eq!(res.status(), 503);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errcode"], 503);
    let msg = err["errmsg"].as_str().unwrap();
    assert!(!msg.contains("127.0.0.1"), "no internal detail: {msg}");
    assert!(!msg.contains(&code), "no auth code: {msg}");
    assert_eq!(app.count("SELECT count(*) AS n FROM bindings"), 0);
    assert_eq!(app.count("SELECT count(*) AS n FROM dingtalk_users"), 0);
}

#[tokio::test]
async fn with_a_secret_the_cloud_refuses_binding_gives_502_naming_the_settings_and_stores_nothing()
{
    let app =
        spawn_app_with(|s| s.cloud.edge_secret = "not-the-edge-secret".to_string().into()).await;
    let code = app.auth_code("zhangsan").await;
    let res = app.edge.bind(TENANT, "s-001", &code).await;
    assert_eq!(res.status(), 502);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errcode"], 502);
    let msg = err["errmsg"].as_str().unwrap();
    assert!(msg.contains("credentials"), "says what was refused: {msg}");
    assert!(
        msg.contains("cloud.edge_id") && msg.contains("cloud.edge_secret"),
        "names the settings to check: {msg}"
    );
    assert!(!msg.contains("not-the-edge-secret"), "no secret: {msg}");
    assert_eq!(app.count("SELECT count(*) AS n FROM bindings"), 0);
    assert_eq!(app.count("SELECT count(*) AS n FROM dingtalk_users"), 0);
}

#[tokio::test]
async fn a_code_issued_for_another_edge_gives_403_stores_nothing_and_stays_usable_by_its_edge() {
    let db = TestDb::create();
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    // A second edge at the cloud, whose users return to another frontend.
    let other_edge = format!(
        "[[edges]]\nid = \"other-edge\"\nsecret = \"other-edge-secret\"\nredirect_prefixes = [\"{}/elsewhere\"]\n",
        sim.base_url()
    );
    let cloud = Cloud::start(&sim, 0, &dir.path().join("cloud.db"), &other_edge, true).await;
    // Issued for EDGE_ID (its prefix is `/portal`).
    let code = auth_code(&cloud.address, &sim, "zhangsan").await;
    let mut settings = Settings::from_toml_str(&edge_toml(&db.url, &cloud.address)).unwrap();
    settings.cloud.edge_id = "other-edge".into();
    settings.cloud.edge_secret = "other-edge-secret".to_string().into();
    let other = Edge::start(settings).await;

    let res = other.bind(TENANT, "s-001", &code).await;
    assert_eq!(res.status(), 403);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errcode"], 403);
    let msg = err["errmsg"].as_str().unwrap();
    assert!(msg.contains("another edge"), "says why: {msg}");
    assert_eq!(
        count(&mut db.conn(), "SELECT count(*) AS n FROM bindings"),
        0
    );
    assert_eq!(
        count(&mut db.conn(), "SELECT count(*) AS n FROM dingtalk_users"),
        0
    );

    // The code was not consumed: its own edge can still bind with it.
    let settings = Settings::from_toml_str(&edge_toml(&db.url, &cloud.address)).unwrap();
    let own = Edge::start(settings).await;
    let res = own.bind(TENANT, "s-001", &code).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn bad_bind_input_gets_a_json_400() {
    let app = spawn_app().await;
    for body in [
        "{not json",
        r#"{"staff_id": "s", "tenant_id": "t"}"#,
        r#"{"staff_id": "", "tenant_id": "t", "auth_code": "c"}"#,
        r#"{"staff_id": 5, "tenant_id": "t", "auth_code": "c"}"#,
        r#"{"staff_id": "a\u0000b", "tenant_id": "t", "auth_code": "c"}"#,
    ] {
        let res = app
            .edge
            .client
            .post(app.edge.url("/dingding/local/bindings"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["errcode"], 400, "{body}");
    }
    let res = app
        .edge
        .get("/dingding/local/auth/user/callback?staff_id=s")
        .await;
    assert_eq!(res.status(), 400);
}

type Received = Arc<Mutex<Vec<(Value, Option<String>, Option<String>, Option<String>)>>>;

async fn iam_receiver() -> (String, Received) {
    let received: Received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let store = store.clone();
        App::new().route(
            "/iam/bind",
            web::post().to(move |req: HttpRequest, body: web::Json<Value>| {
                let store = store.clone();
                async move {
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .map(|v| v.to_str().unwrap().to_string())
                    };
                    let (user, rid) = (header("x-authenticated-userid"), header("x-request-id"));
                    let key = header("idempotency-key");
                    store
                        .lock()
                        .unwrap()
                        .push((body.into_inner(), user, rid, key));
                    HttpResponse::Ok().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/iam/bind"), received)
}

#[tokio::test]
async fn the_iam_webhook_is_delivered_through_the_outbox_with_the_callers_identity() {
    let (iam_url, received) = iam_receiver().await;
    let app = spawn_app_with(|s| s.iam.bind_url = Some(iam_url.clone())).await;
    let code = app.auth_code("zhangsan").await;
    let res = app
        .edge
        .client
        .post(app.edge.url("/dingding/local/bindings"))
        .header("x-authenticated-userid", "admin-42")
        .header("x-request-id", "bind-iam-1")
        .json(&serde_json::json!({"staff_id": "s-001", "tenant_id": TENANT, "auth_code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    eventually(60, "the IAM webhook", || async {
        !received.lock().unwrap().is_empty()
    })
    .await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].0,
        serde_json::json!({"staff_id": "s-001", "tenant_id": TENANT, "dingding_id": "zhangsan", "name": "张三"})
    );
    assert_eq!(got[0].1.as_deref(), Some("admin-42"));
    assert_eq!(got[0].2.as_deref(), Some("bind-iam-1"));
    eventually(60, "the iam row delivered", || async {
        app.count("SELECT count(*) AS n FROM outbox WHERE kind = 'iam' AND status = 'delivered'")
            == 1
    })
    .await;
    // The receiver can drop repeats of an at-least-once delivery: the key is the outbox row id.
    let key = got[0].3.clone().expect("an Idempotency-Key header");
    let row = format!(
        "SELECT count(*) AS n FROM outbox WHERE kind = 'iam' AND id = '{}'",
        uuid::Uuid::parse_str(&key).expect("the key is a uuid")
    );
    assert_eq!(app.count(&row), 1);
}

#[tokio::test]
async fn bindings_are_listed_in_pages_and_can_be_removed() {
    let app = spawn_app().await;
    app.bind_user("s-1", "zhangsan").await;
    app.bind_user("s-2", "lisi").await;
    app.bind_user("s-3", "wangwu").await;

    let page: Value = app
        .edge
        .get(&format!(
            "/dingding/local/bindings?tenant_id={TENANT}&limit=2"
        ))
        .await
        .json()
        .await
        .unwrap();
    let staff: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["staff_id"].as_str().unwrap())
        .collect();
    assert_eq!(staff, ["s-1", "s-2"]);
    assert_eq!(page["next_after"], "s-2");
    let rest: Value = app
        .edge
        .get(&format!(
            "/dingding/local/bindings?tenant_id={TENANT}&limit=2&after=s-2"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["user_id"], "wangwu");
    assert!(rest["next_after"].is_null());

    let one: Value = app
        .edge
        .get(&format!(
            "/dingding/local/bindings?tenant_id={TENANT}&staff_id=s-2"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["items"][0]["nick"], "李四");

    let bad = app
        .edge
        .get(&format!(
            "/dingding/local/bindings?tenant_id={TENANT}&limit=501"
        ))
        .await;
    assert_eq!(bad.status(), 400);
    let missing = app.edge.get("/dingding/local/bindings").await;
    assert_eq!(missing.status(), 400);

    let url = app
        .edge
        .url(&format!("/dingding/local/bindings/{TENANT}/s-2"));
    assert_eq!(
        app.edge.client.delete(&url).send().await.unwrap().status(),
        204
    );
    assert_eq!(
        app.edge.client.delete(&url).send().await.unwrap().status(),
        404
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM bindings"), 2);
}

#[test]
fn the_user_and_the_binding_are_stored_in_one_transaction_or_not_at_all() {
    use edge_service::db::{self, bindings, models, outbox};
    let test_db = TestDb::create();
    let mut conn = test_db.conn();
    db::run_migrations(&mut conn).unwrap();
    // The IAM announcement, the last write of the bind, will fail: its row id is taken.
    let iam = models::OutboxRow::pending(
        uuid::Uuid::new_v4(),
        models::kind::IAM,
        CORP,
        serde_json::json!({}),
        "rid",
    );
    outbox::insert(&mut conn, std::slice::from_ref(&iam)).unwrap();
    let user = models::NewDingTalkUser {
        corp_id: CORP,
        user_id: "zhangsan",
        union_id: "union-zhangsan",
        open_id: "open-zhangsan",
        nick: "张三",
        email: None,
        avatar_url: None,
        mobile: None,
    };
    assert!(bindings::bind(&mut conn, TENANT, "s-001", &user, Some(&iam)).is_err());
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM dingtalk_users"),
        0
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM bindings"), 0);
}
