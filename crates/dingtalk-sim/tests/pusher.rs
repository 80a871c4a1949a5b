//! The event pusher against a tiny callback receiver that answers like the cloud does (the
//! encrypted `success`), or answers garbage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use dingtalk_core::crypto::CallbackCrypto;
use dingtalk_core::events::{parse_event, BizData, CallbackEvent};
use dingtalk_sim::{PushKind, SimConfig};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use support::{post_json, sim};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Success,
    Garbage,
}

#[derive(Clone)]
struct Receiver {
    url: String,
    events: Arc<Mutex<Vec<String>>>,
}

fn crypto() -> CallbackCrypto {
    CallbackCrypto::new(
        "demotoken",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "suitedemo0001",
    )
    .unwrap()
}

async fn receive(
    req: HttpRequest,
    body: web::Json<Value>,
    events: web::Data<Arc<Mutex<Vec<String>>>>,
    mode: web::Data<Mode>,
) -> HttpResponse {
    let q: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap();
    let get = |k: &str| {
        q.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let c = crypto();
    let Ok(msg) = c.open(
        &get("signature"),
        &get("timestamp"),
        &get("nonce"),
        body["encrypt"].as_str().unwrap(),
    ) else {
        return HttpResponse::Forbidden().finish();
    };
    events.lock().unwrap().push(msg);
    match *mode.get_ref() {
        Mode::Success => HttpResponse::Ok().json(c.seal("success", "1700000000000", "abcdef")),
        Mode::Garbage => HttpResponse::Ok().body("ok"),
    }
}

async fn receiver(mode: Mode) -> Receiver {
    let events = Arc::new(Mutex::new(Vec::new()));
    let data = web::Data::new(events.clone());
    let mode = web::Data::new(mode);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(mode.clone())
            .route("/dingding/event/pushed", web::post().to(receive))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    tokio::spawn(server.run());
    Receiver {
        url: format!("http://{addr}/dingding/event/pushed"),
        events,
    }
}

fn parsed(r: &Receiver) -> Vec<CallbackEvent> {
    r.events
        .lock()
        .unwrap()
        .iter()
        .map(|m| parse_event(m).unwrap())
        .collect()
}

fn items(r: &Receiver) -> Vec<BizData> {
    parsed(r)
        .into_iter()
        .flat_map(|e| match e {
            CallbackEvent::SyncPush { items, .. } => {
                items.into_iter().map(|i| i.data).collect::<Vec<_>>()
            }
            other => panic!("unexpected event {other:?}"),
        })
        .collect()
}

fn tickets(r: &Receiver) -> Vec<String> {
    items(r)
        .into_iter()
        .filter_map(|d| match d {
            BizData::SuiteTicket { ticket } => Some(ticket.expose_secret().to_string()),
            _ => None,
        })
        .collect()
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn push_now_delivers_the_ticket_and_authorizations_in_dingtalk_format() {
    let r = receiver(Mode::Success).await;
    let sim = sim().await;
    sim.set_callback_url(&r.url);
    sim.push_now(PushKind::Ticket).await.unwrap();
    assert!(tickets(&r).contains(&sim.suite_ticket()));
    sim.push_now(PushKind::Authorization).await.unwrap();
    let auth = items(&r).into_iter().find_map(|d| match d {
        BizData::OrgSuiteAuth(a) => Some(a),
        _ => None,
    });
    let auth = auth.expect("an org_suite_auth item");
    assert_eq!(auth.corp_id, "dingdemocorp001");
    assert_eq!(auth.corp_name, "Demo Corp");
    assert_eq!(auth.agent_id, Some(100001));
    let raw = r.events.lock().unwrap().clone();
    assert!(raw.iter().all(|m| m.contains("SYNC_HTTP_PUSH_HIGH")));
    sim.stop().await;
}

#[tokio::test]
async fn the_start_push_reaches_the_callback_and_is_acknowledged() {
    let r = receiver(Mode::Success).await;
    let sim = dingtalk_sim::spawn(SimConfig {
        callback_url: Some(r.url.clone()),
        ..SimConfig::for_tests()
    })
    .await
    .unwrap();
    wait_for("the start push", || sim.initial_push_acknowledged()).await;
    let got = items(&r);
    assert!(tickets(&r).contains(&sim.suite_ticket()));
    assert!(got.iter().any(|d| matches!(d, BizData::OrgSuiteAuth(_))));
    sim.stop().await;
}

#[tokio::test]
async fn a_callback_that_answers_garbage_does_not_acknowledge() {
    let r = receiver(Mode::Garbage).await;
    let sim = sim().await;
    sim.set_callback_url(&r.url);
    let err = sim.push_now(PushKind::Ticket).await.unwrap_err();
    assert!(err.to_string().contains("encrypted"), "{err}");
    assert!(
        !r.events.lock().unwrap().is_empty(),
        "the callback did receive it"
    );
    let (status, body) = post_json(
        &format!("{}/_sim/push", sim.base_url()),
        json!({"kind": "ticket"}),
    )
    .await;
    assert_eq!(status, 502);
    assert!(body["errmsg"].as_str().unwrap().contains("encrypted"));
    assert!(!sim.initial_push_acknowledged());
    assert_eq!(sim.pushes_acknowledged(), 0);
    sim.stop().await;
}

#[tokio::test]
async fn periodic_pushes_rotate_the_ticket() {
    let r = receiver(Mode::Success).await;
    let sim = dingtalk_sim::spawn(SimConfig {
        callback_url: Some(r.url.clone()),
        push_interval: Some(Duration::from_millis(100)),
        ..SimConfig::for_tests()
    })
    .await
    .unwrap();
    wait_for("two different tickets", || {
        let mut t = tickets(&r);
        t.dedup();
        t.len() >= 2
    })
    .await;
    sim.stop().await;
}

#[tokio::test]
async fn relieve_revokes_corp_tokens_until_authorized_again() {
    let r = receiver(Mode::Success).await;
    let sim = sim().await;
    sim.set_callback_url(&r.url);
    let (status, _) = post_json(
        &format!("{}/_sim/push", sim.base_url()),
        json!({"kind": "relieve"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(items(&r).iter().any(
        |d| matches!(d, BizData::OrgSuiteRelieve { corp_id } if corp_id == "dingdemocorp001")
    ));
    let url = format!("{}/v1.0/oauth2/corpAccessToken", sim.base_url());
    let req = json!({"suiteKey": "suitedemo0001", "suiteSecret": "demo-suite-secret",
                     "authCorpId": "dingdemocorp001", "suiteTicket": sim.suite_ticket()});
    let (status, body) = post_json(&url, req.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalidAuthInfo"))
    );
    sim.push_now(PushKind::Authorization).await.unwrap();
    assert_eq!(post_json(&url, req).await.0, 200);
    sim.stop().await;
}
