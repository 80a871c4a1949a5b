//! Stopping the edge: SIGTERM lets the current delivery finish; SIGKILL in the middle of a
//! delivery leaves the row pending (its claim dies with the transaction) and it is delivered once
//! after the restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use dingtalk_sim::{Fault, FaultKind};
use serde_json::Value;

/// An edge process with a template send in flight: the sim holds the first template send for
/// 3 s (then 504); the cloud retries and succeeds.
struct InFlight {
    db: TestDb,
    sim: dingtalk_sim::SimHandle,
    cloud: Cloud,
    process: EdgeProcess,
    edge: Edge,
    /// The message in flight.
    id: String,
    port: u16,
    config: std::path::PathBuf,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// Starts the cloud and an edge process, binds `s-1` and sends `text` to it; returns once the
/// delivery reached DingTalk and is held there.
async fn a_delivery_in_flight(text: &str) -> InFlight {
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

    sim.add_fault(Fault {
        path: TEMPLATE_PATH.into(),
        kind: FaultKind::Timeout,
        errcode: None,
        times: 1,
    });
    let body: Value = edge
        .send(&template_body(&["s-1"], text))
        .await
        .json()
        .await
        .unwrap();
    let id = body["message_id"].as_str().unwrap().to_string();
    eventually(60, "the delivery is in flight", || async {
        sim.calls(TEMPLATE_PATH) >= 1
    })
    .await;
    InFlight {
        db,
        sim,
        cloud,
        process,
        edge,
        id,
        port,
        config,
        log,
        _dir: dir,
    }
}

#[tokio::test]
async fn sigterm_during_a_delivery_lets_it_finish_and_the_edge_exits_cleanly() {
    let f = a_delivery_in_flight("sigterm-1").await;

    let status = f.process.terminate().await;
    assert!(status.success(), "{status:?}");
    // The delivery in flight was finished and recorded before the exit.
    let mut conn = f.db.conn();
    assert_eq!(
        texts(
            &mut conn,
            &format!(
                "SELECT status AS v FROM outbox WHERE message_id = '{}'",
                f.id
            )
        ),
        ["delivered"]
    );
    assert_eq!(delivered_with(&f.sim, "sigterm-1").len(), 1);
}

#[tokio::test]
async fn sigkill_during_a_delivery_leaves_the_row_pending_and_it_arrives_once_after_restart() {
    let f = a_delivery_in_flight("sigkill-1").await;
    f.process.kill();

    // Killed mid-delivery: the claim died with the process, nothing is half-claimed.
    let mut conn = f.db.conn();
    assert_eq!(
        texts(
            &mut conn,
            &format!(
                "SELECT status AS v FROM outbox WHERE message_id = '{}'",
                f.id
            )
        ),
        ["pending"]
    );

    let _process = EdgeProcess::start(&f.config, &f.cloud.address, f.port, &f.log).await;
    f.edge.wait_status(&f.id, "delivered").await;
    // The cloud may have completed the first request after the edge died; the retry carried the
    // same Idempotency-Key, so DingTalk still got the message once.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(delivered_with(&f.sim, "sigkill-1").len(), 1);
}
