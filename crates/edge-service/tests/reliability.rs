//! Reliability (issue 4, point 5): a message accepted by the edge reaches DingTalk exactly once,
//! whether the cloud is down, the edge is killed, DingTalk fails, or two edges share a database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use dingtalk_sim::{Fault, FaultKind, SimHandle};
use edge_service::config::Settings;
use futures::StreamExt;
use serde_json::Value;

/// Waits until every `prefix-<i>` for i in 0..n has arrived, then asserts each arrived once.
async fn assert_each_arrives_once(sim: &SimHandle, prefix: &str, n: usize) {
    let count = || {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for m in sim.messages() {
            let text = message_text(&m);
            let first = text.split('\n').next().unwrap_or_default().to_string();
            if first.starts_with(prefix) {
                *seen.entry(first).or_default() += 1;
            }
        }
        seen
    };
    eventually(120, &format!("{n} messages {prefix}*"), || async {
        count().len() >= n
    })
    .await;
    // Give a doubled delivery the chance to show up: wait until the edge has nothing pending.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = count();
    assert_eq!(seen.len(), n, "distinct messages");
    for i in 0..n {
        let key = format!("{prefix}{i}");
        assert_eq!(seen.get(&key), Some(&1), "{key} must arrive exactly once");
    }
}

async fn wait_outbox_settled(db: &TestDb, n: i64) {
    eventually(120, "every outbox row delivered", || async {
        count(
            &mut db.conn(),
            "SELECT count(*) AS n FROM outbox WHERE kind = 'send' AND status = 'delivered'",
        ) == n
    })
    .await;
    assert_eq!(
        count(
            &mut db.conn(),
            "SELECT count(*) AS n FROM outbox WHERE status <> 'delivered'"
        ),
        0
    );
}

async fn send_many(edge: &Edge, prefix: &str, range: std::ops::Range<usize>) {
    let bodies: Vec<Value> = range
        .map(|i| template_body(&["s-1"], &format!("{prefix}{i}")))
        .collect();
    let statuses: Vec<u16> = futures::stream::iter(bodies)
        .map(|b| async move { edge.send(&b).await.status().as_u16() })
        .buffer_unordered(16)
        .collect()
        .await;
    for s in statuses {
        assert!(s == 200 || s == 202, "send answered {s}");
    }
}

fn settings(db: &TestDb, cloud_url: &str, tweak: impl FnOnce(&mut Settings)) -> Settings {
    let mut s = Settings::from_toml_str(&edge_toml(&db.url, cloud_url)).unwrap();
    s.messages.sync_wait_ms = 0;
    tweak(&mut s);
    s
}

#[tokio::test]
async fn messages_accepted_while_the_cloud_is_stopped_each_arrive_once_after_it_starts() {
    let db = TestDb::create();
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let cloud_db = dir.path().join("cloud.db");
    let port = free_port();
    let cloud = Cloud::start(&sim, port, &cloud_db, "", true).await;
    let edge = Edge::start(settings(&db, &cloud.address, |_| {})).await;
    let code = auth_code(&cloud.address, &sim, "zhangsan").await;
    assert_eq!(edge.bind(TENANT, "s-1", &code).await.status(), 200);
    cloud.stop().await;

    let prefix = "cloud-stopped-";
    let bodies: Vec<Value> = (0..200)
        .map(|i| template_body(&["s-1"], &format!("{prefix}{i}")))
        .collect();
    for b in &bodies {
        let res = edge.send(b).await;
        assert_eq!(res.status(), 202);
    }
    assert_eq!(
        count(
            &mut db.conn(),
            "SELECT count(*) AS n FROM outbox WHERE status = 'pending'"
        ),
        200
    );
    assert!(delivered_with(&sim, prefix).is_empty());

    // The cloud comes back on the same address with its stored ticket and authorization.
    let _cloud = Cloud::start(&sim, port, &cloud_db, "", false).await;
    // Every row delivered first: a doubled delivery would have reached the simulator by then.
    wait_outbox_settled(&db, 200).await;
    assert_each_arrives_once(&sim, prefix, 200).await;
}

#[tokio::test]
async fn an_edge_killed_with_pending_rows_resumes_them_after_a_restart_without_loss_or_doubles() {
    let db = TestDb::create();
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let cloud_db = dir.path().join("cloud.db");
    let cloud_port = free_port();
    let cloud = Cloud::start(&sim, cloud_port, &cloud_db, "", true).await;
    let edge_port = free_port();
    let config = write_edge_config(&dir, &db, edge_port);
    let log = dir.path().join("edge.log");
    let edge = Edge::remote(edge_port);

    let process = EdgeProcess::start(&config, &cloud.address, edge_port, &log).await;
    let code = auth_code(&cloud.address, &sim, "zhangsan").await;
    assert_eq!(edge.bind(TENANT, "s-1", &code).await.status(), 200);
    // An auth code in the original GET callback's query must not reach the log.
    let used = edge
        .get(&format!(
            "/dingding/local/auth/user/callback?staff_id=s-1&tenant_id={TENANT}&auth_code={code}"
        ))
        .await;
    assert_eq!(used.status(), 404);
    cloud.stop().await;
    let prefix = "killed-edge-";
    send_many(&edge, prefix, 0..50).await;
    eventually(60, "failed attempts recorded", || async {
        count(
            &mut db.conn(),
            "SELECT count(*) AS n FROM outbox WHERE attempts > 0",
        ) > 0
    })
    .await;
    process.kill();
    assert_eq!(
        count(
            &mut db.conn(),
            "SELECT count(*) AS n FROM outbox WHERE status = 'pending'"
        ),
        50
    );

    let cloud = Cloud::start(&sim, cloud_port, &cloud_db, "", false).await;
    let _process = EdgeProcess::start(&config, &cloud.address, edge_port, &log).await;
    // Every row delivered first: a doubled delivery would have reached the simulator by then.
    wait_outbox_settled(&db, 50).await;
    assert_each_arrives_once(&sim, prefix, 50).await;
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !log_text.contains("demo-edge-secret"),
        "the edge secret must never be logged"
    );
    assert!(!log_text.contains(&code), "auth codes must never be logged");
    assert!(log_text.contains("GET /dingding/local/auth/user/callback 404"));
}

#[tokio::test]
async fn dingtalk_failures_on_the_first_sends_still_deliver_every_message_exactly_once() {
    let db = TestDb::create();
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    // A short DingTalk timeout and few retries in the cloud, so failures reach the edge.
    let cloud = Cloud::start(
        &sim,
        0,
        &dir.path().join("cloud.db"),
        "request_timeout_secs = 1\nretry_max_attempts = 2\nretry_max_elapsed_secs = 5",
        true,
    )
    .await;
    let edge = Edge::start(settings(&db, &cloud.address, |_| {})).await;
    let code = auth_code(&cloud.address, &sim, "zhangsan").await;
    assert_eq!(edge.bind(TENANT, "s-1", &code).await.status(), 200);

    for (kind, errcode) in [
        (FaultKind::Http500, None),
        (FaultKind::Timeout, None),
        (FaultKind::Errcode, Some(90018)),
        (FaultKind::Errcode, Some(-1)),
    ] {
        sim.add_fault(Fault {
            path: TEMPLATE_PATH.into(),
            kind,
            errcode,
            times: 3,
        });
    }
    let prefix = "faulty-dingtalk-";
    send_many(&edge, prefix, 0..10).await;
    // Every row delivered first: a doubled delivery would have reached the simulator by then.
    wait_outbox_settled(&db, 10).await;
    assert_each_arrives_once(&sim, prefix, 10).await;
    assert!(sim.calls(TEMPLATE_PATH) >= 10 + 12, "every fault was hit");
    assert!(
        count(
            &mut db.conn(),
            "SELECT count(*) AS n FROM outbox WHERE attempts > 1"
        ) > 0,
        "some rows needed the edge's retry"
    );
}

fn deliveries_logged(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("(send): delivered"))
        .count()
}

#[tokio::test]
async fn two_edge_processes_on_one_database_deliver_a_burst_of_500_messages_once_each() {
    let db = TestDb::create();
    let sim = start_sim().await;
    let (dir_one, dir_two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cloud = Cloud::start(&sim, 0, &dir_one.path().join("cloud.db"), "", true).await;
    let (port_one, port_two) = (free_port(), free_port());
    let (log_one, log_two) = (
        dir_one.path().join("edge.log"),
        dir_two.path().join("edge.log"),
    );
    let config_one = write_edge_config(&dir_one, &db, port_one);
    let config_two = write_edge_config(&dir_two, &db, port_two);
    let _one_process = EdgeProcess::start(&config_one, &cloud.address, port_one, &log_one).await;
    let _two_process = EdgeProcess::start(&config_two, &cloud.address, port_two, &log_two).await;
    let (one, two) = (Edge::remote(port_one), Edge::remote(port_two));
    let code = auth_code(&cloud.address, &sim, "zhangsan").await;
    assert_eq!(one.bind(TENANT, "s-1", &code).await.status(), 200);

    let prefix = "burst-";
    tokio::join!(
        send_many(&one, prefix, 0..250),
        send_many(&two, prefix, 250..500)
    );
    // Every row delivered first: a doubled delivery would have reached the simulator by then.
    wait_outbox_settled(&db, 500).await;
    assert_each_arrives_once(&sim, prefix, 500).await;
    // Both processes took rows, and no row was delivered by both.
    let (by_one, by_two) = (deliveries_logged(&log_one), deliveries_logged(&log_two));
    assert_eq!(by_one + by_two, 500, "{by_one} + {by_two}");
    assert!(by_one > 0 && by_two > 0, "{by_one} + {by_two}");
}
