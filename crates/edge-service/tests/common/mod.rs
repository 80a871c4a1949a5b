//! Test helpers: a fresh PostgreSQL database per test, the simulator and the real cloud-gateway
//! in-process, the edge on port 0, and the real OAuth flow to obtain auth codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use dingtalk_sim::{PushKind, SimConfig, SimHandle, SimMessage};
use edge_service::config::Settings;
use edge_service::startup::Application;
use serde_json::Value;

pub const EDGE_ID: &str = "demo-edge";
pub const EDGE_SECRET: &str = "demo-edge-secret";
pub const CORP: &str = "dingdemocorp001";
pub const TENANT: &str = "tenant-a";
pub const TEMPLATE_PATH: &str = "/topapi/message/corpconversation/sendbytemplate";
pub const ORIGIN: &str = "http://127.0.0.1:8090";

/// A fresh database, dropped (best effort) when this is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestDb {
    pub fn create() -> TestDb {
        let admin_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("edge_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url).expect("connect to DATABASE_URL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&format!("/{name}"));
        TestDb {
            name,
            url: url.to_string(),
            admin_url,
        }
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

pub async fn start_sim() -> SimHandle {
    let config = SimConfig {
        timeout_fault_hold: Duration::from_secs(3),
        ..SimConfig::for_tests()
    };
    dingtalk_sim::spawn(config).await.unwrap()
}

/// A running cloud-gateway (in-process) with its SQLite file.
pub struct Cloud {
    pub port: u16,
    pub address: String,
    pub handle: ServerHandle,
}

pub fn cloud_toml(sim: &SimHandle, port: u16, db_path: &Path, extra_dingtalk: &str) -> String {
    let sim_base = sim.base_url();
    format!(
        r#"
[server]
bind = "127.0.0.1:{port}"
public_url = "https://cloud.example"

[database]
url = "{}"

[dingtalk]
mode = "isv"
app_key = "suitedemo0001"
app_secret = "demo-suite-secret"
template_id = "demo-template"
callback_token = "demotoken"
callback_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
api_base = "{sim_base}"
oapi_base = "{sim_base}"
login_base = "{sim_base}"
{extra_dingtalk}

[[edges]]
id = "{EDGE_ID}"
secret = "{EDGE_SECRET}"
redirect_prefixes = ["{sim_base}/portal"]
"#,
        db_path.display()
    )
}

impl Cloud {
    /// Starts the cloud on `port` (0: any) with the SQLite file `db_path`; when `authorize`,
    /// has the simulator push the suite ticket and the corp authorization to it.
    pub async fn start(
        sim: &SimHandle,
        port: u16,
        db_path: &Path,
        extra: &str,
        authorize: bool,
    ) -> Cloud {
        let settings =
            cloud_gateway::config::Settings::from_toml_str(&cloud_toml(sim, port, db_path, extra))
                .unwrap();
        let app = cloud_gateway::startup::Application::build(settings)
            .await
            .unwrap();
        let port = app.port();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        let address = format!("http://127.0.0.1:{port}");
        if authorize {
            sim.set_callback_url(&format!("{address}/dingding/event/pushed"));
            sim.push_now(PushKind::Ticket).await.unwrap();
            sim.push_now(PushKind::Authorization).await.unwrap();
        }
        Cloud {
            port,
            address,
            handle,
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// A free local port (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The edge settings used by the tests, as TOML (small backoff and poll settings).
pub fn edge_toml(db_url: &str, cloud_url: &str) -> String {
    format!(
        r#"
[server]
bind = "127.0.0.1:0"

[database]
url = "{db_url}"
pool_size = 8

[cloud]
base_url = "{cloud_url}"
edge_id = "{EDGE_ID}"
edge_secret = "{EDGE_SECRET}"
timeout_secs = 10

[messages]
default_url = "http://127.0.0.1:8090/portal/"
sync_wait_ms = 3000

[outbox]
max_age_secs = 600
poll_interval_ms = 100
base_delay_ms = 50
max_delay_ms = 400
batch_size = 4

[cors]
allowed_origins = ["{ORIGIN}"]
"#
    )
}

/// A running edge: in-process (with its server handle) or another process.
pub struct Edge {
    pub port: u16,
    pub address: String,
    pub handle: Option<ServerHandle>,
    pub client: reqwest::Client,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

impl Edge {
    pub async fn start(settings: Settings) -> Edge {
        let app = Application::build(settings).await.unwrap();
        let port = app.port();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        Edge {
            port,
            address: format!("http://127.0.0.1:{port}"),
            handle: Some(handle),
            client: client(),
        }
    }

    /// An edge running as another process on `port`.
    pub fn remote(port: u16) -> Edge {
        Edge {
            port,
            address: format!("http://127.0.0.1:{port}"),
            handle: None,
            client: client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn bind(&self, tenant: &str, staff: &str, code: &str) -> reqwest::Response {
        self.client
            .post(self.url("/dingding/local/bindings"))
            .json(&serde_json::json!({"staff_id": staff, "tenant_id": tenant, "auth_code": code}))
            .send()
            .await
            .unwrap()
    }

    pub async fn send(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/dingding/local/send/messages"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn send_with_key(&self, body: &Value, key: &str) -> reqwest::Response {
        self.client
            .post(self.url("/dingding/local/send/messages"))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn message_status(&self, id: &str) -> Value {
        let res = self.get(&format!("/dingding/local/messages/{id}")).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// Polls the message status until it is `want` (up to 60 s).
    pub async fn wait_status(&self, id: &str, want: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..600 {
            last = self.message_status(id).await;
            if last["status"] == want {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("message {id} never became {want}: {last}");
    }
}

/// Everything one test needs: database, simulator, cloud, edge.
pub struct TestApp {
    pub db: TestDb,
    pub sim: SimHandle,
    pub cloud: Cloud,
    pub cloud_dir: tempfile::TempDir,
    pub edge: Edge,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::create();
    let sim = start_sim().await;
    let cloud_dir = tempfile::tempdir().unwrap();
    let cloud = Cloud::start(&sim, 0, &cloud_dir.path().join("cloud.db"), "", true).await;
    let mut settings = Settings::from_toml_str(&edge_toml(&db.url, &cloud.address)).unwrap();
    tweak(&mut settings);
    let edge = Edge::start(settings).await;
    TestApp {
        db,
        sim,
        cloud,
        cloud_dir,
        edge,
    }
}

impl TestApp {
    /// A fresh one-time auth code for `user`, through the real OAuth flow.
    pub async fn auth_code(&self, user: &str) -> String {
        auth_code(&self.cloud.address, &self.sim, user).await
    }

    /// Binds `staff` of [`TENANT`] to `user`; asserts success.
    pub async fn bind_user(&self, staff: &str, user: &str) -> Value {
        let code = self.auth_code(user).await;
        let res = self.edge.bind(TENANT, staff, &code).await;
        assert_eq!(res.status(), 200, "binding {staff} to {user}");
        res.json().await.unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        count(&mut self.db.conn(), sql)
    }

    /// Sim messages whose template text contains `needle`.
    pub fn delivered_with(&self, needle: &str) -> Vec<SimMessage> {
        delivered_with(&self.sim, needle)
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `sql` must select one bigint column named `n`.
pub fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
}

#[derive(QueryableByName)]
struct One {
    #[diesel(sql_type = Text)]
    v: String,
}

/// `sql` must select text columns named `v`.
pub fn texts(conn: &mut PgConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(sql)
        .load::<One>(conn)
        .unwrap()
        .into_iter()
        .map(|o| o.v)
        .collect()
}

pub fn message_text(m: &SimMessage) -> String {
    m.data
        .as_ref()
        .and_then(|d| d.get("message"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .or_else(|| m.msg.as_ref().map(|v| v.to_string()))
        .unwrap_or_default()
}

pub fn delivered_with(sim: &SimHandle, needle: &str) -> Vec<SimMessage> {
    sim.messages()
        .into_iter()
        .filter(|m| message_text(m).contains(needle))
        .collect()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no location on {}", res.status()))
        .to_str()
        .unwrap()
        .to_string()
}

/// Walks the real flow: cloud login -> simulator (auto-login as `user`) -> cloud callback ->
/// the frontend's `/profile?authCode=…`.
pub async fn auth_code(cloud_address: &str, sim: &SimHandle, user: &str) -> String {
    let client = client();
    let login = client
        .get(format!("{cloud_address}/dingding/auth/login"))
        .query(&[("redirect", format!("{}/portal", sim.base_url()))])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 302, "cloud login must redirect");
    let at_sim = client
        .get(format!("{}&user={user}", location(&login)))
        .send()
        .await
        .unwrap();
    assert_eq!(at_sim.status(), 302, "the simulator must redirect back");
    // The cloud's public_url is a stand-in: send the callback to the cloud's real address.
    let callback = url::Url::parse(&location(&at_sim)).unwrap();
    let back = client
        .get(format!(
            "{cloud_address}{}?{}",
            callback.path(),
            callback.query().unwrap_or_default()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        back.status(),
        302,
        "the cloud callback must redirect to the profile"
    );
    let profile = url::Url::parse(&location(&back)).unwrap();
    profile
        .query_pairs()
        .find(|(k, _)| k == "authCode")
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| panic!("no authCode in {profile}"))
}

/// Polls `check` every 100 ms for up to `secs` seconds.
pub async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..secs * 10 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub fn template_body(staff: &[&str], data: &str) -> Value {
    serde_json::json!({"staff_ids": staff, "tenant_id": TENANT, "data": data})
}

pub fn temp_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

pub struct EdgeProcess {
    pub child: Child,
}

impl EdgeProcess {
    /// The edge binary with `config`, the cloud URL given by environment override; returns once
    /// it answers /healthz on `port`.
    pub async fn start(
        config: &std::path::Path,
        cloud_url: &str,
        port: u16,
        log: &std::path::Path,
    ) -> EdgeProcess {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_edge-service"))
            .arg("--config")
            .arg(config)
            // The file names another cloud: the environment overrides it.
            .env("EDGE_SERVICE__CLOUD__BASE_URL", cloud_url)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let health = format!("http://127.0.0.1:{port}/healthz");
        let http = client();
        eventually(60, "the edge binary answers /healthz", || {
            let http = http.clone();
            let health = health.clone();
            async move {
                http.get(&health)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            }
        })
        .await;
        EdgeProcess { child }
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for EdgeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl EdgeProcess {
    /// SIGTERM, then waits (up to 60 s) for the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the edge did not exit after SIGTERM");
    }
}

/// An edge config file for the binary listening on `port` (the cloud URL in it is a wrong one,
/// so tests prove the environment override).
pub fn write_edge_config(dir: &tempfile::TempDir, db: &TestDb, port: u16) -> PathBuf {
    let config = dir.path().join("edge.toml");
    let toml = edge_toml(&db.url, "http://127.0.0.1:9/not-this-one")
        .replace(
            "bind = \"127.0.0.1:0\"",
            &format!("bind = \"127.0.0.1:{port}\""),
        )
        .replace("sync_wait_ms = 3000", "sync_wait_ms = 0");
    std::fs::write(&config, toml).unwrap();
    config
}
