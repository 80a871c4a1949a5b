//! The embedded portal, `/healthz` and the `serve` command (with `--data FILE`, stopped by SIGTERM).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use dingtalk_sim::{SimConfig, SimData};
use support::{get_json, http};

#[tokio::test]
async fn portal_pages_share_index_html_and_config_names_cloud_edge_and_prefix() {
    let sim = dingtalk_sim::spawn(SimConfig {
        portal_cloud_url: Some("http://127.0.0.1:8080".into()),
        portal_edge_url: Some("http://127.0.0.1:8081".into()),
        ..SimConfig::for_tests()
    })
    .await
    .unwrap();
    let base = sim.base_url();
    let index = http()
        .get(format!("{base}/portal/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(index.contains("<html"));
    for page in ["/portal", "/portal/profile"] {
        let resp = http().get(format!("{base}{page}")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{page}");
        assert_eq!(resp.text().await.unwrap(), index, "{page}");
    }
    let js = http()
        .get(format!("{base}/portal/app.js"))
        .send()
        .await
        .unwrap();
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    let (status, config) = get_json(&format!("{base}/portal/config.json")).await;
    assert_eq!(status, 200);
    assert_eq!(config["cloud_url"], "http://127.0.0.1:8080");
    assert_eq!(config["edge_url"], "http://127.0.0.1:8081");
    assert_eq!(config["redirect_prefix"], format!("{base}/portal"));
    sim.stop().await;
}

#[tokio::test]
async fn healthz_answers_ok_for_docker_and_scripts() {
    let sim = support::sim().await;
    let (status, body) = get_json(&format!("{}/healthz", sim.base_url())).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"status": "ok"}));
    sim.stop().await;
}

#[tokio::test]
async fn serve_loads_another_world_from_data_and_stops_on_sigterm() {
    let mut data = SimData::demo();
    data.corps[0].corp_id = "dingothercorp".into();
    data.corps[0].corp_name = "Other Corp".into();
    data.internal_apps[0].corp_id = "dingothercorp".into();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&data).unwrap()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dingtalk-sim"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(file.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    let page = http()
        .get(format!(
            "{base}/oauth2/auth?redirect_uri=http%3A%2F%2Fa.example%2Fcb&response_type=code&client_id=suitedemo0001&scope=openid&prompt=consent"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Other Corp"));
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit on SIGTERM: {status:?}");
}
