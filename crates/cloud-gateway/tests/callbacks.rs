//! DingTalk event callbacks: verification, decryption, persistence, acknowledgement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cloud_gateway::db;
use common::*;
use dingtalk_core::crypto::{CallbackCrypto, EncryptedMessage};
use dingtalk_sim::PushKind;
use serde_json::{json, Value};

/// The reply must be the encrypted, correctly signed `success`.
async fn assert_success_reply(res: reqwest::Response) {
    assert_eq!(res.status(), 200);
    let reply: EncryptedMessage = res.json().await.unwrap();
    let msg = crypto()
        .open(
            &reply.msg_signature,
            &reply.time_stamp,
            &reply.nonce,
            &reply.encrypt,
        )
        .unwrap();
    assert_eq!(msg, "success");
}

#[tokio::test]
async fn pushed_ticket_and_authorization_are_committed_before_the_acknowledgement() {
    let app = spawn_app().await;
    // push_now returned only after the encrypted success: the state is already there.
    let mut conn = app.conn();
    let ticket = db::callbacks::suite_ticket(&mut conn, SUITE_KEY)
        .unwrap()
        .unwrap();
    assert_eq!(ticket.ticket, app.sim.suite_ticket());
    let corp = db::callbacks::corp(&mut conn, CORP).unwrap().unwrap();
    assert_eq!(corp.status, "active");
    assert_eq!(corp.agent_id, Some(100001));
    assert_eq!(corp.corp_name, "Demo Corp");

    let res = app.corp_status(CORP).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], "active");
    assert_eq!(body["agent_id"], 100001);
    assert!(!text.contains("permanent"), "{text}");

    let res = app.suite_status(SUITE_KEY).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains(&app.sim.suite_ticket()), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["suite_key"], SUITE_KEY);
    assert!(body["ticket_updated_at"].is_string());

    error_body(app.corp_status("unknown-corp").await, 404).await;
    error_body(app.suite_status("unknown-suite").await, 404).await;
}

#[tokio::test]
async fn a_relieve_push_marks_the_corp_relieved() {
    let app = spawn_app().await;
    app.sim.push_now(PushKind::Relieve).await.unwrap();
    let body: Value = app.corp_status(CORP).await.json().await.unwrap();
    assert_eq!(body["status"], "relieved");
    app.sim.push_now(PushKind::Authorization).await.unwrap();
    let body: Value = app.corp_status(CORP).await.json().await.unwrap();
    assert_eq!(body["status"], "active");
}

#[tokio::test]
async fn legacy_events_without_a_suite_key_are_applied_for_the_configured_suite() {
    let app = spawn_app().await;
    // Encrypted for our suite key (the owner key), so they are ours even without `SuiteKey`.
    let (q, b) = signed_callback(
        &json!({"EventType": "suite_relieve", "AuthCorpId": CORP, "TimeStamp": "1"}).to_string(),
    );
    assert_success_reply(app.post_callback(&q, b).await).await;
    let body: Value = app.corp_status(CORP).await.json().await.unwrap();
    assert_eq!(body["status"], "relieved");

    // Not older than the simulator's ticket, so it replaces it.
    let ts = stored_ticket(&app).source_ts.to_string();
    let (q, b) = signed_callback(
        &json!({"EventType": "suite_ticket", "SuiteTicket": "keyless-ticket", "TimeStamp": ts})
            .to_string(),
    );
    assert_success_reply(app.post_callback(&q, b).await).await;
    let stored = db::callbacks::suite_ticket(&mut app.conn(), SUITE_KEY)
        .unwrap()
        .unwrap();
    assert_eq!(stored.ticket, "keyless-ticket");
}

#[tokio::test]
async fn a_bad_signature_is_rejected_with_403() {
    let app = spawn_app().await;
    let (query, body) = signed_callback(r#"{"EventType":"check_url"}"#);
    let tampered = query.replace("signature=", "signature=0");
    error_body(app.post_callback(&tampered, body.clone()).await, 403).await;
    let other = CallbackCrypto::new("another-token", AES_KEY, SUITE_KEY).unwrap();
    let sealed = other.seal(r#"{"EventType":"check_url"}"#, "1", "n");
    let q = format!("msg_signature={}&timeStamp=1&nonce=n", sealed.msg_signature);
    let b = json!({"encrypt": sealed.encrypt}).to_string();
    error_body(app.post_callback(&q, b).await, 403).await;
}

#[tokio::test]
async fn malformed_bodies_are_rejected_with_400() {
    let app = spawn_app().await;
    let (query, _) = signed_callback(r#"{"EventType":"check_url"}"#);
    for body in [
        "not json",
        "{}",
        r#"{"encrypt": 5}"#,
        r#"{"encrypt": ""}"#,
        "[]",
        "",
    ] {
        error_body(app.post_callback(&query, body).await, 400).await;
    }
    // Missing query parameters.
    let (_, body) = signed_callback(r#"{"EventType":"check_url"}"#);
    error_body(app.post_callback("", body).await, 400).await;
}

#[tokio::test]
async fn undecryptable_or_foreign_payloads_are_rejected_with_400() {
    let app = spawn_app().await;
    let c = crypto();
    // Correctly signed, but not base64 / not a whole block / another app's owner key.
    for encrypt in [
        "!!!not-base64!!!".to_string(),
        "QUJD".to_string(),
        CallbackCrypto::new(TOKEN, AES_KEY, "another-suite")
            .unwrap()
            .encrypt(r#"{"EventType":"check_url"}"#),
    ] {
        let signed = c.sign_encrypted(encrypt.clone(), "1", "n");
        let q = format!("signature={}&timestamp=1&nonce=n", signed.msg_signature);
        let b = json!({ "encrypt": encrypt }).to_string();
        error_body(app.post_callback(&q, b).await, 400).await;
    }
    // Decrypts, but is not an event.
    let (q, b) = signed_callback("this is not json");
    error_body(app.post_callback(&q, b).await, 400).await;
}

#[tokio::test]
async fn an_oversized_body_is_rejected_with_413() {
    let app = spawn_app().await;
    let (query, _) = signed_callback(r#"{"EventType":"check_url"}"#);
    let big = json!({"encrypt": "A".repeat(300 * 1024)}).to_string();
    error_body(app.post_callback(&query, big).await, 413).await;
}

#[tokio::test]
async fn check_url_and_unknown_events_are_acknowledged_and_recorded() {
    let app = spawn_app().await;
    // Only the events this test sends: a slow simulator push (SYNC_HTTP_PUSH_HIGH) that lands
    // late on a loaded machine must not change the count.
    let before = events_except_sim_pushes(&app);
    for msg in [
        r#"{"EventType":"check_url"}"#,
        r#"{"EventType":"something_new","Foo":1}"#,
        r#"{"EventType":"SYNC_HTTP_PUSH_MEDIUM","bizData":[{"biz_type":13,"biz_id":"u1","corp_id":"c","subscribe_id":"s_0","biz_data":"{\"syncAction\":\"user_add_org\"}"}]}"#,
    ] {
        let (q, b) = signed_callback(msg);
        assert_success_reply(app.post_callback(&q, b).await).await;
    }
    assert_eq!(events_except_sim_pushes(&app), before + 3);
}

#[tokio::test]
async fn the_same_push_twice_changes_nothing_and_is_acknowledged() {
    let app = spawn_app().await;
    // As new as the stored ticket (equal replaces); the simulator's next push is newer.
    let ts = stored_ticket(&app).source_ts;
    let msg = json!({"EventType": "suite_ticket", "SuiteKey": SUITE_KEY,
        "SuiteTicket": "replayed-ticket", "TimeStamp": ts})
    .to_string();
    let (q, b) = signed_callback(&msg);
    assert_success_reply(app.post_callback(&q, b.clone()).await).await;
    let mut conn = app.conn();
    let first = db::callbacks::suite_ticket(&mut conn, SUITE_KEY)
        .unwrap()
        .unwrap();
    assert_eq!(first.ticket, "replayed-ticket");
    let legacy_tickets = events_of_type(&app, "suite_ticket");

    // A newer ticket arrives, then the old push is replayed: the replay must not roll it back.
    app.sim.push_now(PushKind::Ticket).await.unwrap();
    assert_success_reply(app.post_callback(&q, b).await).await;
    let now = db::callbacks::suite_ticket(&mut conn, SUITE_KEY)
        .unwrap()
        .unwrap();
    assert_eq!(now.ticket, app.sim.suite_ticket());
    assert_eq!(events_of_type(&app, "suite_ticket"), legacy_tickets);
}

/// The stored ticket of the configured suite.
fn stored_ticket(app: &TestApp) -> db::models::SuiteTicketRow {
    db::callbacks::suite_ticket(&mut app.conn(), SUITE_KEY)
        .unwrap()
        .expect("a stored suite ticket")
}

/// A SyncHTTP push (biz_type 2) of `ticket` with `gmt_modified` (ms), as DingTalk sends it.
fn sync_ticket_push(ticket: &str, gmt_modified: i64) -> String {
    let biz_data = json!({"syncAction": "suite_ticket", "suiteTicket": ticket, "syncSeq": 1});
    json!({"EventType": "SYNC_HTTP_PUSH_HIGH", "bizData": [{
        "id": gmt_modified, "gmt_create": gmt_modified, "gmt_modified": gmt_modified,
        "subscribe_id": "1000001_0", "corp_id": "dingsimdeveloper", "biz_id": "1000001",
        "biz_type": 2, "biz_data": biz_data.to_string(), "open_cursor": 0, "status": 0,
    }]})
    .to_string()
}

#[tokio::test]
async fn an_older_ticket_arriving_late_does_not_replace_a_newer_one() {
    let app = spawn_app().await;
    // Hours ahead of the simulator's own pushes, so none of those can interfere.
    let base = stored_ticket(&app).source_ts + 3_600_000;
    let (t1, t2, t3) = (base, base + 3_600_000, base + 7_200_000);

    let (q, b) = signed_callback(&sync_ticket_push("ticket-t2", t2));
    assert_success_reply(app.post_callback(&q, b).await).await;
    assert_eq!(stored_ticket(&app).ticket, "ticket-t2");
    assert_eq!(stored_ticket(&app).source_ts, t2);

    // The older push crosses in late: acknowledged, but the newer ticket stays.
    let (q, b) = signed_callback(&sync_ticket_push("ticket-t1", t1));
    assert_success_reply(app.post_callback(&q, b).await).await;
    assert_eq!(stored_ticket(&app).ticket, "ticket-t2");

    // The legacy event follows the same rule: older or without a timestamp is ignored.
    for msg in [
        json!({"EventType": "suite_ticket", "SuiteKey": SUITE_KEY,
            "SuiteTicket": "legacy-older", "TimeStamp": (t2 - 1).to_string()}),
        json!({"EventType": "suite_ticket", "SuiteKey": SUITE_KEY,
            "SuiteTicket": "legacy-untimed"}),
    ] {
        let (q, b) = signed_callback(&msg.to_string());
        assert_success_reply(app.post_callback(&q, b).await).await;
        assert_eq!(stored_ticket(&app).ticket, "ticket-t2");
    }

    // A newer one replaces it, whichever kind of event carries it.
    let (q, b) = signed_callback(&sync_ticket_push("ticket-t3", t3));
    assert_success_reply(app.post_callback(&q, b).await).await;
    assert_eq!(stored_ticket(&app).ticket, "ticket-t3");
    assert_eq!(stored_ticket(&app).source_ts, t3);
    let legacy = json!({"EventType": "suite_ticket", "SuiteKey": SUITE_KEY,
        "SuiteTicket": "legacy-newer", "TimeStamp": (t3 + 1).to_string()});
    let (q, b) = signed_callback(&legacy.to_string());
    assert_success_reply(app.post_callback(&q, b).await).await;
    assert_eq!(stored_ticket(&app).ticket, "legacy-newer");
    assert_eq!(stored_ticket(&app).source_ts, t3 + 1);
}

/// Recorded events of one type.
fn events_of_type(app: &TestApp, event_type: &str) -> i64 {
    use cloud_gateway::db::schema::events;
    use diesel::prelude::*;
    events::table
        .filter(events::event_type.eq(event_type))
        .count()
        .get_result(&mut app.conn())
        .unwrap()
}

/// Recorded events other than the simulator's own `SYNC_HTTP_PUSH_HIGH` pushes.
fn events_except_sim_pushes(app: &TestApp) -> i64 {
    use cloud_gateway::db::schema::events;
    use diesel::prelude::*;
    events::table
        .filter(events::event_type.ne("SYNC_HTTP_PUSH_HIGH"))
        .count()
        .get_result(&mut app.conn())
        .unwrap()
}

#[tokio::test]
async fn a_ticket_for_another_suite_is_refused_and_not_stored() {
    let app = spawn_app().await;
    let msg = json!({"EventType": "suite_ticket", "SuiteKey": "suiteother0001",
        "SuiteTicket": "foreign-ticket", "TimeStamp": 1})
    .to_string();
    let (q, b) = signed_callback(&msg);
    error_body(app.post_callback(&q, b).await, 403).await;
    let mut conn = app.conn();
    let stored = db::callbacks::suite_ticket(&mut conn, SUITE_KEY)
        .unwrap()
        .unwrap();
    assert_eq!(stored.ticket, app.sim.suite_ticket());
    assert!(db::callbacks::suite_ticket(&mut conn, "suiteother0001")
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn an_internal_app_acknowledges_callbacks_encrypted_for_its_app_key() {
    let app = spawn_app_with(AppKind::Internal, |_| {}).await;
    let c = CallbackCrypto::new(TOKEN, AES_KEY, "dingdemoapp0001").unwrap();
    let sealed = c.seal(r#"{"EventType":"check_url"}"#, "1", "n");
    let q = format!("signature={}&timestamp=1&nonce=n", sealed.msg_signature);
    let res = app
        .post_callback(&q, json!({"encrypt": sealed.encrypt}).to_string())
        .await;
    assert_eq!(res.status(), 200);
    let reply: EncryptedMessage = res.json().await.unwrap();
    let msg = c
        .open(
            &reply.msg_signature,
            &reply.time_stamp,
            &reply.nonce,
            &reply.encrypt,
        )
        .unwrap();
    assert_eq!(msg, "success");
    // The suite's payloads are another app's here.
    let (q, b) = signed_callback(r#"{"EventType":"check_url"}"#);
    error_body(app.post_callback(&q, b).await, 400).await;
}
