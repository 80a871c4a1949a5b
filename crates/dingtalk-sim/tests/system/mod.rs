//! The whole system as processes, for the end-to-end and browser tests: the three binaries built
//! by `cargo build --workspace --bins` (found next to the test executable), each on a free port,
//! with configuration files in a temporary directory and a fresh PostgreSQL database created on
//! `$DATABASE_URL` (dropped again at the end). Everything started here is killed on drop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{json, Value};

/// The demo data's corp, edge credentials and users (ARCHITECTURE.md section 9).
pub const CORP_ID: &str = "dingdemocorp001";
pub const EDGE_ID: &str = "demo-edge";
pub const EDGE_SECRET: &str = "demo-edge-secret";
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

/// How long any awaited condition may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The directory holding the workspace's binaries (`target/debug`): the test executable lives
/// in `target/debug/deps`.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the deps directory");
    deps.parent()
        .expect("the target profile directory")
        .to_path_buf()
}

/// The path of one of the workspace's binaries; fails the test with the command that builds
/// them when it is missing.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    if !path.is_file() {
        panic!(
            "{} is missing: build the binaries first with `cargo build --workspace --bins` \
             (scripts/test.sh does)",
            path.display()
        );
    }
    path
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process whose output goes to a log file; killed on drop.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Proc {
    /// Starts `program args…` with extra environment variables, output appended to
    /// `<dir>/<name>.log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        envs: &[(&str, &str)],
        dir: &Path,
    ) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("the log file");
        let err = out.try_clone().expect("the log file, twice");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        Proc {
            name: name.to_string(),
            child: Some(child),
            log,
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Kills the process (SIGKILL, as a crash or a pulled plug would) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Polls `url` until it answers 2xx; fails with the log when the process exits or
    /// [`PATIENCE`] passes.
    pub async fn wait_ready(&mut self, http: &reqwest::Client, url: &str) {
        let start = Instant::now();
        loop {
            if !self.is_running() {
                panic!(
                    "{} exited during start-up; its log:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            if let Ok(r) = http.get(url).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            if start.elapsed() > PATIENCE {
                panic!(
                    "{} did not answer {url} in time; its log:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A fresh PostgreSQL database on the server of `$DATABASE_URL`, dropped on drop.
pub struct TestDb {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn create() -> TestDb {
        let admin_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let name = format!("e2e_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
            panic!(
                "cannot connect to PostgreSQL at $DATABASE_URL ({admin_url}): {e}. \
                 Start one or set DATABASE_URL (scripts/test.sh starts a throwaway one)."
            )
        });
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("CREATE DATABASE");
        let mut url = url::Url::parse(&admin_url).expect("DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        TestDb {
            admin_url,
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

/// An HTTP client that does not follow redirects (each hop is asserted).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// The three services, running.
pub struct System {
    // Processes first: they are stopped before the database is dropped.
    pub sim: Proc,
    pub cloud: Option<Proc>,
    pub edge: Option<Proc>,
    pub extra: Vec<Proc>,
    pub db: TestDb,
    pub dir: tempfile::TempDir,
    pub sim_port: u16,
    pub cloud_port: u16,
    pub edge_port: u16,
    pub http: reqwest::Client,
}

impl System {
    /// Starts dingtalk-sim, cloud-gateway and edge-service wired together, and waits until the
    /// cloud holds the suite ticket and the demo corp's authorization.
    pub async fn start() -> System {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = TestDb::create();
        let http = http_client();
        // Three distinct ports, held until all are chosen.
        let listeners: Vec<TcpListener> = (0..3)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port"))
            .collect();
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().expect("a bound address").port())
            .collect();
        drop(listeners);
        let (sim_port, cloud_port, edge_port) = (ports[0], ports[1], ports[2]);
        let sim_url = format!("http://127.0.0.1:{sim_port}");
        let cloud_url = format!("http://127.0.0.1:{cloud_port}");
        let edge_url = format!("http://127.0.0.1:{edge_port}");

        let mut sim = Proc::spawn(
            "dingtalk-sim",
            &binary("dingtalk-sim"),
            &[
                "serve".into(),
                "--bind".into(),
                format!("127.0.0.1:{sim_port}"),
                "--callback-url".into(),
                format!("{cloud_url}/dingding/event/pushed"),
                "--cloud-url".into(),
                cloud_url.clone(),
                "--edge-url".into(),
                edge_url.clone(),
            ],
            &[],
            dir.path(),
        );
        sim.wait_ready(&http, &format!("{sim_url}/portal/config.json"))
            .await;

        let mut system = System {
            sim,
            cloud: None,
            edge: None,
            extra: Vec::new(),
            db,
            dir,
            sim_port,
            cloud_port,
            edge_port,
            http,
        };
        system.start_cloud().await;
        system.edge = Some(
            system
                .spawn_edge("edge-service", edge_port, EDGE_SECRET)
                .await,
        );
        system
    }

    pub fn sim_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.sim_port)
    }

    pub fn cloud_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.cloud_port)
    }

    pub fn edge_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.edge_port)
    }

    /// The redirect prefix the cloud allows for the demo edge: the sim's portal.
    pub fn redirect_prefix(&self) -> String {
        format!("{}/portal", self.sim_url())
    }

    fn cloud_config(&self) -> PathBuf {
        let path = self.dir.path().join("cloud-gateway.toml");
        let sim = self.sim_url();
        let text = format!(
            r#"[server]
bind = "127.0.0.1:{port}"
public_url = "{cloud}"

[database]
url = "{db}"

[dingtalk]
mode = "isv"
app_key = "suitedemo0001"
app_secret = "demo-suite-secret"
template_id = "demo-template"
callback_token = "demotoken"
callback_aes_key = "{AES_KEY}"
api_base = "{sim}"
oapi_base = "{sim}"
login_base = "{sim}"
request_timeout_secs = 5

[oauth]
auth_code_ttl_secs = 300

[[edges]]
id = "{EDGE_ID}"
secret = "{EDGE_SECRET}"
redirect_prefixes = ["{prefix}"]
"#,
            port = self.cloud_port,
            cloud = self.cloud_url(),
            db = self.dir.path().join("cloud.db").display(),
            prefix = self.redirect_prefix(),
        );
        std::fs::write(&path, text).expect("writing the cloud's config");
        path
    }

    fn edge_config(&self, name: &str, port: u16, secret: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.toml"));
        let text = format!(
            r#"[server]
bind = "127.0.0.1:{port}"

[database]
url = "{db}"
pool_size = 6

[cloud]
base_url = "{cloud}"
edge_id = "{EDGE_ID}"
edge_secret = "{secret}"
timeout_secs = 5

[messages]
default_url = "{sim}/portal/"
sync_wait_ms = 2000

[outbox]
max_age_secs = 600
poll_interval_ms = 200
base_delay_ms = 200
max_delay_ms = 1000
batch_size = 2

[cors]
allowed_origins = ["{sim}"]
"#,
            db = self.db.url,
            cloud = self.cloud_url(),
            sim = self.sim_url(),
        );
        std::fs::write(&path, text).expect("writing the edge's config");
        path
    }

    /// Starts (or restarts, on the same port and SQLite file) the cloud, and waits until it has
    /// the suite ticket and the corp authorization the sim pushes.
    pub async fn start_cloud(&mut self) {
        let config = self.cloud_config();
        let mut cloud = Proc::spawn(
            "cloud-gateway",
            &binary("cloud-gateway"),
            &["--config".into(), config.display().to_string()],
            &[],
            self.dir.path(),
        );
        cloud
            .wait_ready(&self.http, &format!("{}/healthz", self.cloud_url()))
            .await;
        self.cloud = Some(cloud);
        for kind in ["ticket", "authorization"] {
            let r = self
                .http
                .post(format!("{}/_sim/push", self.sim_url()))
                .json(&json!({ "kind": kind }))
                .send()
                .await
                .expect("POST /_sim/push");
            assert_eq!(
                r.status(),
                200,
                "the cloud did not acknowledge the {kind} push"
            );
        }
        let corp = self
            .http
            .get(format!(
                "{}/dingding/internal/corp/{CORP_ID}",
                self.cloud_url()
            ))
            .basic_auth(EDGE_ID, Some(EDGE_SECRET))
            .send()
            .await
            .expect("GET corp");
        assert_eq!(corp.status(), 200, "the cloud does not know the demo corp");
    }

    /// Kills the cloud (SIGKILL).
    pub fn kill_cloud(&mut self) {
        if let Some(mut c) = self.cloud.take() {
            c.kill();
        }
    }

    /// Starts an edge on `port` against the system's database and cloud, with this secret.
    pub async fn spawn_edge(&self, name: &str, port: u16, secret: &str) -> Proc {
        let config = self.edge_config(name, port, secret);
        let mut edge = Proc::spawn(
            name,
            &binary("edge-service"),
            &["--config".into(), config.display().to_string()],
            &[],
            self.dir.path(),
        );
        edge.wait_ready(&self.http, &format!("http://127.0.0.1:{port}/healthz"))
            .await;
        edge
    }

    /// Walks the login as a browser would, logging in as `user` on the sim's page without a
    /// click: returns the last response (the cloud's answer to the callback).
    pub async fn login_as(&self, user: &str) -> reqwest::Response {
        let login = self
            .http
            .get(format!("{}/dingding/auth/login", self.cloud_url()))
            .query(&[("redirect", self.redirect_prefix())])
            .send()
            .await
            .expect("GET /dingding/auth/login");
        assert_eq!(login.status(), 302, "login should redirect to DingTalk");
        let to_sim = location(&login);
        assert!(
            to_sim.starts_with(&format!("{}/oauth2/auth?", self.sim_url())),
            "login redirects to the sim's authorize page, got {to_sim}"
        );
        let authorize = self
            .http
            .get(format!("{to_sim}&user={user}"))
            .send()
            .await
            .expect("GET /oauth2/auth");
        assert_eq!(authorize.status(), 302, "the sim logs {user} in");
        let callback = location(&authorize);
        assert!(
            callback.starts_with(&format!(
                "{}/dingding/auth/user/callback?",
                self.cloud_url()
            )),
            "the sim redirects to the cloud's callback, got {callback}"
        );
        self.http
            .get(callback)
            .send()
            .await
            .expect("GET the cloud's callback")
    }

    /// A successful login as `user`: the auth code from the profile redirect.
    pub async fn auth_code_for(&self, user: &str) -> String {
        let r = self.login_as(user).await;
        assert_eq!(
            r.status(),
            302,
            "the callback redirects to the profile page"
        );
        let profile = url::Url::parse(&location(&r)).expect("an absolute profile URL");
        assert_eq!(
            profile.as_str().split('?').next(),
            Some(format!("{}/profile", self.redirect_prefix()).as_str())
        );
        query_param(&profile, "authCode").expect("authCode on the profile URL")
    }

    /// `POST {edge}/dingding/local/bindings`.
    pub async fn bind(
        &self,
        edge_url: &str,
        staff_id: &str,
        tenant_id: &str,
        code: &str,
    ) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{edge_url}/dingding/local/bindings"))
            .json(&json!({"staff_id": staff_id, "tenant_id": tenant_id, "auth_code": code}))
            .send()
            .await
            .expect("POST bindings");
        status_and_json(r).await
    }

    /// `POST {edge}/dingding/local/send/messages`.
    pub async fn send(&self, tenant_id: &str, staff_ids: &[&str], data: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/dingding/local/send/messages", self.edge_url()))
            .json(&json!({"staff_ids": staff_ids, "tenant_id": tenant_id, "data": data}))
            .send()
            .await
            .expect("POST send/messages");
        status_and_json(r).await
    }

    /// `GET {edge}/dingding/local/messages/{id}`.
    pub async fn message_status(&self, id: &str) -> Value {
        let r = self
            .http
            .get(format!("{}/dingding/local/messages/{id}", self.edge_url()))
            .send()
            .await
            .expect("GET message status");
        let (status, body) = status_and_json(r).await;
        assert_eq!(status, 200, "message status: {body}");
        body
    }

    /// Polls the message's status until it is `delivered`; fails when it becomes `failed` or
    /// [`PATIENCE`] passes.
    pub async fn wait_delivered(&self, id: &str) -> Value {
        let start = Instant::now();
        loop {
            let s = self.message_status(id).await;
            match s["status"].as_str() {
                Some("delivered") => return s,
                Some("failed") => panic!("message {id} failed: {s}"),
                _ if start.elapsed() > PATIENCE => panic!("message {id} not delivered: {s}"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The work notifications the sim received (`GET /_sim/messages`).
    pub async fn sim_messages(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/_sim/messages", self.sim_url()))
            .send()
            .await
            .expect("GET /_sim/messages")
            .json()
            .await
            .expect("a JSON list")
    }

    /// The sim's messages whose template `message` variable contains `text`.
    pub async fn sim_messages_containing(&self, text: &str) -> Vec<Value> {
        self.sim_messages()
            .await
            .into_iter()
            .filter(|m| {
                m["data"]["message"]
                    .as_str()
                    .is_some_and(|s| s.contains(text))
            })
            .collect()
    }
}

/// The `Location` header.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location header on a {} answer", r.status()))
        .to_string()
}

/// A query parameter of a URL.
pub fn query_param(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The status and the JSON body (Null when the body is not JSON).
pub async fn status_and_json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
