//! Sending work notifications: outbox, resolution through bindings, idempotency, status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use diesel::RunQueryDsl;
use serde_json::{json, Value};

#[tokio::test]
async fn a_message_is_stored_delivered_and_reaches_dingtalk_with_the_local_time_and_url() {
    let app = spawn_app().await;
    app.bind_user("s-1", "zhangsan").await;
    app.bind_user("s-2", "lisi").await;
    let res = app
        .edge
        .send(&template_body(&["s-1", "s-2"], "hello-delivered"))
        .await;
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert!(status == 200 || status == 202, "{status} {body}");
    let id = body["message_id"].as_str().unwrap().to_string();
    assert_eq!(body["missing_staff_ids"], json!([]));
    if status == 200 {
        assert_eq!(body["status"], "success");
        assert_eq!(body["task_ids"].as_array().unwrap().len(), 1);
    } else {
        assert_eq!(body["status"], "queued");
    }
    // One row for the one corp.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM outbox WHERE message_id = '{id}' AND kind = 'send'"
        )),
        1
    );
    let st = app.edge.wait_status(&id, "delivered").await;
    assert_eq!(st["task_ids"].as_array().unwrap().len(), 1);
    assert!(st["attempts"].as_i64().unwrap() >= 1);

    let got = app.delivered_with("hello-delivered");
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.corp_id, CORP);
    let mut users = m.user_ids.clone();
    users.sort();
    assert_eq!(users, ["lisi", "zhangsan"]);
    assert_eq!(m.template_id.as_deref(), Some("demo-template"));
    let data = m.data.as_ref().unwrap();
    let text = data["message"].as_str().unwrap();
    let (first, time) = text.split_once('\n').unwrap();
    assert_eq!(first, "hello-delivered");
    assert!(
        chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S").is_ok(),
        "{time}"
    );
    assert_eq!(data["url"], "http://127.0.0.1:8090/portal/");
}

#[tokio::test]
async fn the_answer_is_200_success_when_the_cloud_accepts_in_time() {
    let app = spawn_app_with(|s| s.messages.sync_wait_ms = 30_000).await;
    app.bind_user("s-1", "zhangsan").await;
    let res = app
        .edge
        .send(&json!({"staff_ids": ["s-1"], "tenant_id": TENANT, "data": "in-time", "url": "http://x.example/a"}))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "success");
    assert_eq!(body["task_ids"].as_array().unwrap().len(), 1);
    let got = app.delivered_with("in-time");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data.as_ref().unwrap()["url"], "http://x.example/a");
}

#[tokio::test]
async fn a_msg_object_is_sent_as_is() {
    let app = spawn_app().await;
    app.bind_user("s-1", "wangwu").await;
    let msg = json!({"msgtype": "text", "text": {"content": "raw-msg-object"}});
    let res = app
        .edge
        .send(&json!({"staff_ids": ["s-1"], "tenant_id": TENANT, "msg": msg}))
        .await;
    let body: Value = res.json().await.unwrap();
    let id = body["message_id"].as_str().unwrap();
    app.edge.wait_status(id, "delivered").await;
    let got: Vec<_> = app
        .sim
        .messages()
        .into_iter()
        .filter(|m| m.msg.as_ref() == Some(&msg))
        .collect();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].user_ids, ["wangwu"]);
}

#[tokio::test]
async fn messages_are_accepted_into_the_outbox_while_the_cloud_is_down() {
    let app = spawn_app_with(|s| s.messages.sync_wait_ms = 200).await;
    app.bind_user("s-1", "zhangsan").await;
    app.cloud.stop().await;
    let res = app.edge.send(&template_body(&["s-1"], "while-down")).await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "queued");
    let id = body["message_id"].as_str().unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM outbox WHERE message_id = '{id}' AND status = 'pending'"
        )),
        1
    );
    let payload = texts(
        &mut app.db.conn(),
        &format!("SELECT payload::text AS v FROM outbox WHERE message_id = '{id}'"),
    );
    let payload: Value = serde_json::from_str(&payload[0]).unwrap();
    assert_eq!(payload["corp_id"], CORP);
    assert_eq!(payload["user_ids"], json!(["zhangsan"]));
    assert!(payload["message"].as_str().unwrap().contains("while-down"));
}

#[tokio::test]
async fn unbound_staff_ids_are_listed_as_missing() {
    let app = spawn_app().await;
    app.bind_user("s-1", "zhangsan").await;
    let res = app
        .edge
        .send(&template_body(
            &["s-1", "ghost-1", "ghost-2"],
            "some-missing",
        ))
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["missing_staff_ids"], json!(["ghost-1", "ghost-2"]));
    let id = body["message_id"].as_str().unwrap();
    app.edge.wait_status(id, "delivered").await;
    assert_eq!(app.delivered_with("some-missing")[0].user_ids, ["zhangsan"]);
}

#[tokio::test]
async fn a_message_to_nobody_bound_gives_404_and_stores_nothing() {
    let app = spawn_app().await;
    app.bind_user("s-1", "zhangsan").await;
    let res = app
        .edge
        .send(&json!({"staff_ids": ["s-1"], "tenant_id": "other-tenant", "data": "x"}))
        .await;
    assert_eq!(res.status(), 404);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errcode"], 404);
    assert_eq!(app.count("SELECT count(*) AS n FROM outbox"), 0);
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_give_the_same_message_and_another_body_409() {
    let app = spawn_app().await;
    app.bind_user("s-1", "zhangsan").await;
    let body = template_body(&["s-1", "ghost"], "idempotent-text");
    let first: Value = app
        .edge
        .send_with_key(&body, "key-1")
        .await
        .json()
        .await
        .unwrap();
    let second = app.edge.send_with_key(&body, "key-1").await;
    assert!(second.status() == 200 || second.status() == 202);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["message_id"], second["message_id"]);
    assert_eq!(second["missing_staff_ids"], json!(["ghost"]));
    assert_eq!(app.count("SELECT count(*) AS n FROM outbox"), 1);

    let other = app
        .edge
        .send_with_key(&template_body(&["s-1"], "different"), "key-1")
        .await;
    assert_eq!(other.status(), 409);
    let err: Value = other.json().await.unwrap();
    assert_eq!(err["errcode"], 409);
    assert_eq!(app.count("SELECT count(*) AS n FROM outbox"), 1);

    app.edge
        .wait_status(first["message_id"].as_str().unwrap(), "delivered")
        .await;
    assert_eq!(app.delivered_with("idempotent-text").len(), 1);
}

#[tokio::test]
async fn a_message_the_cloud_never_takes_fails_after_max_age_with_its_last_error() {
    let app = spawn_app_with(|s| {
        s.outbox.max_age_secs = 2;
        s.messages.sync_wait_ms = 0;
    })
    .await;
    app.bind_user("s-1", "zhangsan").await;
    app.cloud.stop().await;
    let res = app.edge.send(&template_body(&["s-1"], "never")).await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    let st = app
        .edge
        .wait_status(body["message_id"].as_str().unwrap(), "failed")
        .await;
    assert!(st["attempts"].as_i64().unwrap() >= 2, "{st}");
    let err = st["last_error"].as_str().unwrap();
    assert!(err.contains("could not connect"), "{err}");
    assert!(st["task_ids"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_message_the_cloud_refuses_for_the_edges_credentials_stays_queued_naming_the_settings() {
    let app = spawn_app_with(|s| {
        s.cloud.edge_secret = "not-the-edge-secret".to_string().into();
        s.messages.sync_wait_ms = 0;
    })
    .await;
    // This edge cannot take codes from the cloud: store the binding directly.
    let user = edge_service::db::models::NewDingTalkUser {
        corp_id: CORP,
        user_id: "zhangsan",
        union_id: "union-zhangsan",
        open_id: "open-zhangsan",
        nick: "张三",
        email: None,
        avatar_url: None,
        mobile: None,
    };
    edge_service::db::bindings::bind(&mut app.db.conn(), TENANT, "s-1", &user, None).unwrap();
    let res = app
        .edge
        .send(&template_body(&["s-1"], "refused-creds"))
        .await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    let id = body["message_id"].as_str().unwrap().to_string();
    // The cloud answers 401; the row is retried (the operator may fix the config) and its last
    // error says which settings to check, never the secret.
    eventually(30, "a refused attempt is recorded", || async {
        app.edge.message_status(&id).await["last_error"].is_string()
    })
    .await;
    let st = app.edge.message_status(&id).await;
    assert_eq!(st["status"], "queued", "{st}");
    let err = st["last_error"].as_str().unwrap();
    assert!(err.contains("401"), "{err}");
    assert!(
        err.contains("cloud.edge_id") && err.contains("cloud.edge_secret"),
        "{err}"
    );
    assert!(!err.contains("not-the-edge-secret"), "{err}");
    assert!(delivered_with(&app.sim, "refused-creds").is_empty());
}

#[tokio::test]
async fn a_permanent_cloud_refusal_fails_the_message_at_once() {
    let app = spawn_app_with(|s| s.messages.sync_wait_ms = 0).await;
    app.bind_user("s-1", "zhangsan").await;
    // The corp removes the app: the cloud answers 404 (corp not authorized), which no retry heals.
    app.sim
        .push_now(dingtalk_sim::PushKind::Relieve)
        .await
        .unwrap();
    let body: Value = app
        .edge
        .send(&template_body(&["s-1"], "refused"))
        .await
        .json()
        .await
        .unwrap();
    let st = app
        .edge
        .wait_status(body["message_id"].as_str().unwrap(), "failed")
        .await;
    assert_eq!(st["attempts"], 1);
    assert!(st["last_error"].as_str().unwrap().contains("404"), "{st}");
    assert!(app.delivered_with("refused").is_empty());
}

#[tokio::test]
async fn bad_send_input_gets_a_json_400() {
    let app = spawn_app().await;
    for body in [
        json!({"tenant_id": TENANT, "data": "x"}),
        json!({"staff_ids": [], "tenant_id": TENANT, "data": "x"}),
        json!({"staff_ids": ["s"], "tenant_id": TENANT}),
        json!({"staff_ids": ["s"], "tenant_id": TENANT, "data": "x", "msg": {"msgtype": "text"}}),
        json!({"staff_ids": ["s"], "tenant_id": TENANT, "msg": "not an object"}),
        json!({"staff_ids": "s", "tenant_id": TENANT, "data": "x"}),
        json!({"staff_ids": ["s\u{0}"], "tenant_id": TENANT, "data": "x"}),
        json!({"staff_ids": ["s"], "tenant_id": TENANT, "data": "nul \u{0} inside"}),
        json!({"staff_ids": ["s"], "tenant_id": TENANT, "msg": {"msgtype": "text", "text": {"content": "\u{0}"}}}),
    ] {
        let res = app.edge.send(&body).await;
        assert_eq!(res.status(), 400, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["errcode"], 400);
        assert!(err["request_id"].is_string());
    }
}

#[tokio::test]
async fn an_oversized_body_gets_a_json_413() {
    let app = spawn_app().await;
    let body = template_body(&["s"], &"x".repeat(300 * 1024));
    let res = app.edge.send(&body).await;
    assert_eq!(res.status(), 413);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errcode"], 413);
}

#[tokio::test]
async fn message_status_answers_400_for_a_bad_id_and_404_for_an_unknown_one() {
    let app = spawn_app().await;
    assert_eq!(
        app.edge
            .get("/dingding/local/messages/not-a-uuid")
            .await
            .status(),
        400
    );
    let res = app
        .edge
        .get(&format!(
            "/dingding/local/messages/{}",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(res.status(), 404);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errcode"], 404);
}

#[tokio::test]
async fn retention_deletes_settled_rows_and_old_keys_but_never_pending_rows() {
    let app = spawn_app_with(|s| s.messages.sync_wait_ms = 0).await;
    app.bind_user("s-1", "zhangsan").await;
    let sent: Value = app
        .edge
        .send_with_key(&template_body(&["s-1"], "kept-short"), "k-old")
        .await
        .json()
        .await
        .unwrap();
    app.edge
        .wait_status(sent["message_id"].as_str().unwrap(), "delivered")
        .await;
    app.cloud.stop().await;
    app.edge
        .send(&template_body(&["s-1"], "still-pending"))
        .await;

    let pool = edge_service::db::build_pool(&app.db.url, 2).unwrap();
    let (rows, keys) = tokio::task::spawn_blocking(move || {
        edge_service::outbox::retention::sweep(&pool, std::time::Duration::ZERO)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!((rows, keys), (1, 1));
    assert_eq!(
        app.count("SELECT count(*) AS n FROM outbox WHERE status = 'pending'"),
        1
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM outbox"), 1);
    assert_eq!(app.count("SELECT count(*) AS n FROM idempotency_keys"), 0);
}

#[tokio::test]
async fn recipients_in_two_corps_give_one_outbox_row_per_corp_each_with_its_own_key() {
    let app = spawn_app_with(|s| s.messages.sync_wait_ms = 0).await;
    app.bind_user("s-1", "zhangsan").await;
    app.bind_user("s-2", "lisi").await;
    // A staff bound in a corp that never authorized the app (the cloud refuses it: 404).
    diesel::sql_query(
        "INSERT INTO dingtalk_users (corp_id, user_id, union_id, open_id, nick) \
         VALUES ('dingothercorp', 'zhao', 'union-zhao', 'open-zhao', 'zhao')",
    )
    .execute(&mut app.db.conn())
    .unwrap();
    diesel::sql_query(
        "INSERT INTO bindings (tenant_id, staff_id, corp_id, user_id) \
         VALUES ('tenant-a', 's-3', 'dingothercorp', 'zhao')",
    )
    .execute(&mut app.db.conn())
    .unwrap();

    let res = app
        .edge
        .send(&template_body(&["s-3", "s-2", "s-1"], "two-corps"))
        .await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    let id = body["message_id"].as_str().unwrap();
    let rows = texts(
        &mut app.db.conn(),
        &format!(
            "SELECT corp_id || ' ' || (payload->'user_ids')::text AS v FROM outbox \
             WHERE message_id = '{id}' ORDER BY corp_id"
        ),
    );
    assert_eq!(
        rows,
        [
            r#"dingdemocorp001 ["lisi", "zhangsan"]"#,
            r#"dingothercorp ["zhao"]"#
        ]
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(DISTINCT id) AS n FROM outbox WHERE message_id = '{id}'"
        )),
        2
    );

    // The authorized corp's row is delivered; the other fails; the message shows the failure.
    eventually(60, "both rows settled", || async {
        app.count(&format!(
            "SELECT count(*) AS n FROM outbox WHERE message_id = '{id}' AND status <> 'pending'"
        )) == 2
    })
    .await;
    let st = app.edge.message_status(id).await;
    assert_eq!(st["status"], "failed");
    assert!(st["last_error"].as_str().unwrap().contains("404"), "{st}");
    let got = app.delivered_with("two-corps");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].corp_id, CORP);
    let mut users = got[0].user_ids.clone();
    users.sort();
    assert_eq!(users, ["lisi", "zhangsan"]);
    assert_eq!(st["task_ids"].as_array().unwrap().len(), 1);
}
