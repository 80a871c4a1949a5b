//! Runs the whole flow with a capturing logger and checks that no configured secret (app secret,
//! AES key, callback token, edge secrets), suite ticket, permanent code or one-time code appears
//! in the gateway's log lines. Its own test binary, because the logger is process-global.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Mutex;

use common::*;
use dingtalk_sim::{Fault, FaultKind, PushKind};
use serde_json::json;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        // The simulator is the outside world, not the gateway: its lines are not checked.
        if record.target().starts_with("dingtalk_sim") {
            return;
        }
        LINES.lock().unwrap().push(format!(
            "{} {} [{}] {}",
            record.level(),
            record.target(),
            cloud_gateway::telemetry::current_request_id(),
            record.args()
        ));
    }
    fn flush(&self) {}
}

#[tokio::test]
async fn the_logs_of_a_whole_flow_contain_no_secret() {
    log::set_boxed_logger(Box::new(Capture)).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let app = spawn_app().await;
    app.sim.push_now(PushKind::Ticket).await.unwrap();
    let code = app.auth_code_for("zhangsan").await;
    let _ = app.take_user(&code, (EDGE.0, "wrong")).await;
    let _ = app.take_user(&code, OTHER_EDGE).await;
    assert_eq!(app.take_user(&code, EDGE).await.status(), 200);
    let _ = app.bind_flow(&app.portal_prefix(), "&user=outsider").await;
    let (q, b) = signed_callback(r#"{"EventType":"check_url"}"#);
    let _ = app
        .post_callback(&q.replace("signature=", "signature=f"), b)
        .await;
    let send = json!({"corp_id": CORP, "user_ids": ["lisi"], "message": "{\"message\":\"m\"}"});
    app.sim.add_fault(Fault {
        path: TEMPLATE_PATH.into(),
        kind: FaultKind::Errcode,
        errcode: Some(40014),
        times: 1,
    });
    assert_eq!(app.send(&send, Some("k1")).await.status(), 200);
    app.sim.add_fault(Fault {
        path: TEMPLATE_PATH.into(),
        kind: FaultKind::Errcode,
        errcode: Some(885001),
        times: 1,
    });
    assert_eq!(app.send(&send, Some("k2")).await.status(), 502);
    app.sim.push_now(PushKind::Relieve).await.unwrap();

    let lines = LINES.lock().unwrap().clone();
    let all = lines.join("\n");
    assert!(
        all.contains("/dingding/internal/user/{auth_code} 200"),
        "the access log is missing:\n{all}"
    );
    // Every access-log line carries its request id.
    for line in lines
        .iter()
        .filter(|l| l.contains("GET /dingding/") || l.contains("POST /dingding/"))
    {
        assert!(line.contains("request_id="), "{line}");
        assert!(!line.contains("[-]"), "{line}");
    }
    // Lines written while handling a request (handlers, the DingTalk calls, retries and token
    // refreshes of dingtalk-core) carry the request id of their request; only start-up and the
    // sweeper run outside any request.
    let about_requests: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(" cloud_gateway::") || l.contains(" dingtalk_core::"))
        .filter(|l| {
            !l.contains(" cloud_gateway::startup") && !l.contains(" cloud_gateway::sweeper")
        })
        .collect();
    assert!(
        about_requests
            .iter()
            .any(|l| l.contains(" dingtalk_core::")),
        "the token refresh after 40014 must be logged:\n{all}"
    );
    for line in about_requests {
        assert!(
            !line.contains("[-]"),
            "a handler line without request id: {line}"
        );
    }
    let ticket = app.sim.suite_ticket();
    for secret in [
        SUITE_SECRET,
        TOKEN,
        AES_KEY,
        EDGE.1,
        OTHER_EDGE.1,
        ticket.as_str(),
        "demo-permanent-",
        code.as_str(),
    ] {
        assert!(!all.contains(secret), "{secret} found in the logs:\n{all}");
    }
}
