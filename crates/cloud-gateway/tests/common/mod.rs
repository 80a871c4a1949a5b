//! Test helpers: `spawn_app()` starts the simulator (as DingTalk and as the event pusher) and the
//! gateway on port 0 with a fresh SQLite file, and returns a `TestApp` with one method per route.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use cloud_gateway::config::Settings;
use cloud_gateway::startup::Application;
use dingtalk_core::crypto::CallbackCrypto;
use dingtalk_sim::{PushKind, SimConfig, SimHandle};
use serde_json::Value;

pub const SUITE_KEY: &str = "suitedemo0001";
pub const SUITE_SECRET: &str = "demo-suite-secret";
pub const TOKEN: &str = "demotoken";
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub const CORP: &str = "dingdemocorp001";
pub const EDGE: (&str, &str) = ("demo-edge", "demo-edge-secret");
pub const OTHER_EDGE: (&str, &str) = ("other-edge", "other-edge-secret");
pub const OTHER_PREFIX: &str = "https://other.example/app";
pub const PUBLIC_URL: &str = "https://cloud.example";
pub const TEMPLATE_PATH: &str = "/topapi/message/corpconversation/sendbytemplate";
pub const ASYNC_PATH: &str = "/topapi/message/corpconversation/asyncsend_v2";
pub const USER_TOKEN_PATH: &str = "/v1.0/oauth2/userAccessToken";

/// Which DingTalk app the gateway is configured as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    Isv,
    Internal,
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub sim: SimHandle,
    pub dir: tempfile::TempDir,
    pub db_path: PathBuf,
    pub client: reqwest::Client,
    pub handle: ServerHandle,
    pub settings: Settings,
}

pub fn settings_toml(kind: AppKind, sim_base: &str, db_path: &str) -> String {
    let app = match kind {
        AppKind::Isv => format!(
            "mode = \"isv\"\napp_key = \"{SUITE_KEY}\"\napp_secret = \"{SUITE_SECRET}\"\ntemplate_id = \"demo-template\"\n"
        ),
        AppKind::Internal => "mode = \"internal\"\napp_key = \"dingdemoapp0001\"\napp_secret = \"demo-app-secret\"\ncorp_id = \"dingdemocorp001\"\nagent_id = 100001\n".to_string(),
    };
    format!(
        r#"
[server]
bind = "127.0.0.1:0"
public_url = "{PUBLIC_URL}"
workers = 2

[database]
url = "{db_path}"

[dingtalk]
{app}callback_token = "{TOKEN}"
callback_aes_key = "{AES_KEY}"
api_base = "{sim_base}"
oapi_base = "{sim_base}"
login_base = "{sim_base}"
retry_max_attempts = 4
retry_max_elapsed_secs = 10

[oauth]
auth_code_ttl_secs = 300

[[edges]]
id = "{}"
secret = "{}"
redirect_prefixes = ["{sim_base}/portal"]

[[edges]]
id = "{}"
secret = "{}"
redirect_prefixes = ["{OTHER_PREFIX}"]
"#,
        EDGE.0, EDGE.1, OTHER_EDGE.0, OTHER_EDGE.1
    )
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppKind::Isv, |_| {}).await
}

pub async fn spawn_app_with(kind: AppKind, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let sim = dingtalk_sim::spawn(SimConfig::for_tests()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("cloud.db");
    let toml = settings_toml(kind, &sim.base_url(), db_path.to_str().unwrap());
    let mut settings = Settings::from_toml_str(&toml).unwrap();
    tweak(&mut settings);
    let (port, handle) = start(settings.clone()).await;
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let app = TestApp {
        address,
        port,
        sim,
        dir,
        db_path,
        client,
        handle,
        settings,
    };
    if kind == AppKind::Isv {
        app.sim
            .set_callback_url(&format!("{}/dingding/event/pushed", app.address));
        // The simulator's own first push runs in the background; let it land before the test
        // starts, so it cannot change what a test counts.
        let sim = &app.sim;
        wait_until(|| async { sim.initial_push_acknowledged() }).await;
        app.sim.push_now(PushKind::Ticket).await.unwrap();
        app.sim.push_now(PushKind::Authorization).await.unwrap();
    }
    app
}

/// Builds and starts an application; returns its port and handle.
pub async fn start(settings: Settings) -> (u16, ServerHandle) {
    let app = Application::build(settings).await.unwrap();
    let port = app.port();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    (port, handle)
}

pub fn crypto() -> CallbackCrypto {
    CallbackCrypto::new(TOKEN, AES_KEY, SUITE_KEY).unwrap()
}

/// Query and body of a callback carrying `msg`, signed with the configured token and key.
pub fn signed_callback(msg: &str) -> (String, String) {
    let sealed = crypto().seal(msg, "1700000000000", "nonce123");
    let query = format!(
        "signature={}&timestamp={}&nonce={}",
        sealed.msg_signature, sealed.time_stamp, sealed.nonce
    );
    let body = serde_json::json!({"encrypt": sealed.encrypt}).to_string();
    (query, body)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn portal_prefix(&self) -> String {
        format!("{}/portal", self.sim.base_url())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn login(&self, redirect: &str) -> reqwest::Response {
        self.client
            .get(self.url("/dingding/auth/login"))
            .query(&[("redirect", redirect)])
            .send()
            .await
            .unwrap()
    }

    pub async fn user_callback(&self, query: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .get(self.url("/dingding/auth/user/callback"))
            .query(query)
            .send()
            .await
            .unwrap()
    }

    /// Login → the simulator's login page with `extra` (e.g. `&user=zhangsan`) → the callback
    /// (sent to this app: `public_url` is a stand-in for the public host) → the final response.
    pub async fn bind_flow(&self, redirect: &str, extra: &str) -> reqwest::Response {
        let login = self.login(redirect).await;
        assert_eq!(login.status(), 302, "login must redirect");
        let to_sim = location(&login);
        let at_sim = self
            .client
            .get(format!("{to_sim}{extra}"))
            .send()
            .await
            .unwrap();
        assert_eq!(at_sim.status(), 302, "the simulator must redirect back");
        let back = location(&at_sim);
        let prefix = format!("{PUBLIC_URL}/dingding/auth/user/callback?");
        assert!(back.starts_with(&prefix), "{back}");
        self.client
            .get(format!(
                "{}/dingding/auth/user/callback?{}",
                self.address,
                &back[prefix.len()..]
            ))
            .send()
            .await
            .unwrap()
    }

    /// A whole binding flow for `user`; returns the one-time code from the profile redirect.
    pub async fn auth_code_for(&self, user: &str) -> String {
        let res = self
            .bind_flow(&self.portal_prefix(), &format!("&user={user}"))
            .await;
        assert_eq!(res.status(), 302);
        query_param(&location(&res), "authCode").expect("authCode in the profile redirect")
    }

    pub async fn take_user(&self, code: &str, creds: (&str, &str)) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/dingding/internal/user/{code}")))
            .basic_auth(creds.0, Some(creds.1))
            .send()
            .await
            .unwrap()
    }

    pub async fn corp_status(&self, corp: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/dingding/internal/corp/{corp}")))
            .basic_auth(EDGE.0, Some(EDGE.1))
            .send()
            .await
            .unwrap()
    }

    pub async fn suite_status(&self, suite: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/dingding/internal/suite/{suite}")))
            .basic_auth(EDGE.0, Some(EDGE.1))
            .send()
            .await
            .unwrap()
    }

    pub async fn send(&self, body: &Value, key: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/dingding/internal/send/messages"))
            .basic_auth(EDGE.0, Some(EDGE.1))
            .json(body);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        req.send().await.unwrap()
    }

    pub async fn post_callback(
        &self,
        query: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/dingding/event/pushed?{query}")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Stops this app and starts another on the same database file and settings.
    pub async fn restart(&mut self) {
        self.handle.stop(true).await;
        let (port, handle) = start(self.settings.clone()).await;
        self.port = port;
        self.address = format!("http://127.0.0.1:{port}");
        self.handle = handle;
        self.sim
            .set_callback_url(&format!("{}/dingding/event/pushed", self.address));
        let sim = &self.sim;
        wait_until(|| async { sim.initial_push_acknowledged() }).await;
    }

    pub fn conn(&self) -> diesel::SqliteConnection {
        use diesel::Connection;
        diesel::SqliteConnection::establish(self.db_path.to_str().unwrap()).unwrap()
    }
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_string()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Asserts the standard error body and returns it.
pub async fn error_body(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    let header_id = res
        .headers()
        .get("x-request-id")
        .expect("x-request-id on errors")
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = res.json().await.expect("a JSON error body");
    assert!(body["errcode"].is_i64(), "{body}");
    assert!(
        body["errmsg"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["request_id"], header_id, "{body}");
    body
}

/// Polls `check` every 50 ms for up to 10 s.
pub async fn wait_until<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not met within 10 s");
}
