//! Stopping the edge: SIGTERM lets the current delivery finish; SIGKILL in the middle of a
//! delivery leaves the row pending (its claim dies with the transaction) and it is delivered once
//! after the restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use dingtalk_sim::{Fault, FaultKind};
use serde_json::Value;

/// The sim holds the first template send for 3 s (then 504); the cloud retries and succeeds.
async fn setup_slow_first_send(sim: &dingtalk_sim::SimHandle) {
    sim.add_fault(Fault {
        path: TEMPLATE_PATH.into(),
        kind: FaultKind::Timeout,
        errcode: None,
        times: 1,
    });
}

#[tokio::test]
async fn sigterm_during_a_delivery_lets_it_finish_and_the_edge_exits_cleanly() {
    let db = TestDb::create();
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let cloud = Cloud::start(&sim, 0, &dir.path().join("cloud.db"), "", true).await;
    let port = free_port();
    let config = write_edge_config(&dir, &db, port);
    let log = dir.path().join("edge.log");
    let process = EdgeProcess::start(&config, &cloud.address, port, &log).await;
    let edge = Edge::remote(port);
    let code = auth_code(&cloud.address, &sim, "zhangsan").await;
    assert_eq!(edge.bind(TENANT, "s-1", &code).await.status(), 200);

    setup_slow_first_send(&sim).await;
    let body: Value = edge
        .send(&template_body(&["s-1"], "sigterm-1"))
        .await
        .json()
        .await
        .unwrap();
    let id = body["message_id"].as_str().unwrap().to_string();
    eventually(60, "the delivery is in flight", || async {
        sim.calls(TEMPLATE_PATH) >= 1
    })
    .await;

    let status = process.terminate().await;
    assert!(status.success(), "{status:?}");
    // The delivery in flight was finished and recorded before the exit.
    let mut conn = db.conn();
    assert_eq!(
        texts(
            &mut conn,
            &format!("SELECT status AS v FROM outbox WHERE message_id = '{id}'")
        ),
        ["delivered"]
    );
    assert_eq!(delivered_with(&sim, "sigterm-1").len(), 1);
}

#[tokio::test]
async fn sigkill_during_a_delivery_leaves_the_row_pending_and_it_arrives_once_after_restart() {
    let db = TestDb::create();
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let cloud = Cloud::start(&sim, 0, &dir.path().join("cloud.db"), "", true).await;
    let port = free_port();
    let config = write_edge_config(&dir, &db, port);
    let log = dir.path().join("edge.log");
    let process = EdgeProcess::start(&config, &cloud.address, port, &log).await;
    let edge = Edge::remote(port);
    let code = auth_code(&cloud.address, &sim, "zhangsan").await;
    assert_eq!(edge.bind(TENANT, "s-1", &code).await.status(), 200);

    setup_slow_first_send(&sim).await;
    let body: Value = edge
        .send(&template_body(&["s-1"], "sigkill-1"))
        .await
        .json()
        .await
        .unwrap();
    let id = body["message_id"].as_str().unwrap().to_string();
    eventually(60, "the delivery is in flight", || async {
        sim.calls(TEMPLATE_PATH) >= 1
    })
    .await;
    process.kill();

    // Killed mid-delivery: the claim died with the process, nothing is half-claimed.
    let mut conn = db.conn();
    assert_eq!(
        texts(
            &mut conn,
            &format!("SELECT status AS v FROM outbox WHERE message_id = '{id}'")
        ),
        ["pending"]
    );

    let _process = EdgeProcess::start(&config, &cloud.address, port, &log).await;
    edge.wait_status(&id, "delivered").await;
    // The cloud may have completed the first request after the edge died; the retry carried the
    // same Idempotency-Key, so DingTalk still got the message once.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(delivered_with(&sim, "sigkill-1").len(), 1);
}
