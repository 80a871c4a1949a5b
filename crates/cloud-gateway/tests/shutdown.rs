//! The binary as a process: SIGTERM lets the request in flight finish, then the process exits 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use dingtalk_sim::{Fault, FaultKind, SimConfig};
use serde_json::json;

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls the child for its exit for up to 30 s.
async fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    panic!("cloud-gateway did not exit within 30 s of SIGTERM");
}

#[tokio::test]
async fn sigterm_lets_the_send_in_flight_finish_and_exits_cleanly() {
    let sim = dingtalk_sim::spawn(SimConfig {
        timeout_fault_hold: Duration::from_secs(2),
        ..SimConfig::for_tests()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("cloud.db");
    let port = free_port();
    let toml = settings_toml(AppKind::Isv, &sim.base_url(), db_path.to_str().unwrap())
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let config = dir.path().join("cloud.toml");
    std::fs::write(&config, toml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cloud-gateway"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let up = client.clone();
    let healthz = format!("{address}/healthz");
    wait_until(|| {
        let (up, healthz) = (up.clone(), healthz.clone());
        async move { up.get(&healthz).send().await.is_ok() }
    })
    .await;
    sim.set_callback_url(&format!("{address}/dingding/event/pushed"));
    wait_until(|| async { sim.initial_push_acknowledged() }).await;

    // The first send attempt is held by DingTalk for 2 s, then retried: the send is in flight
    // when SIGTERM arrives.
    sim.add_fault(Fault {
        path: TEMPLATE_PATH.into(),
        kind: FaultKind::Timeout,
        errcode: None,
        times: 1,
    });
    let send = tokio::spawn(
        client
            .post(format!("{address}/dingding/internal/send/messages"))
            .basic_auth(EDGE.0, Some(EDGE.1))
            .json(&json!({"corp_id": CORP, "user_ids": ["zhangsan"], "message": "{\"message\":\"bye\"}"}))
            .send(),
    );
    wait_until(|| async { sim.calls(TEMPLATE_PATH) >= 1 }).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let res = send.await.unwrap().unwrap();
    assert_eq!(res.status(), 200, "the request in flight must complete");
    assert_eq!(sim.messages().len(), 1);
    let status = wait_for_exit(&mut child).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(client.get(&healthz).send().await.is_err(), "still serving");
}
