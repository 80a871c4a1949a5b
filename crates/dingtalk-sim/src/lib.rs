//! # dingtalk-sim
//!
//! A faithful local DingTalk: one address serves the paths of DingTalk's `login.`, `api.` and
//! `oapi.` hosts, pushes encrypted events to a callback URL, records work notifications, injects
//! faults, and serves the demo portal. Start it in-process on port 0 with [`spawn`].
//!
//! SKELETON: the types and signatures here are the contract other crates' tests rely on.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A DingTalk user of the simulated world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimUser {
    /// Org userid (only meaningful for members of a corp).
    pub userid: String,
    /// unionId.
    pub unionid: String,
    /// openId.
    pub openid: String,
    /// Display name.
    pub nick: String,
    /// Mobile.
    #[serde(default)]
    pub mobile: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
}

/// A corp that has authorized the suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimCorp {
    /// corpId.
    pub corp_id: String,
    /// Corp name.
    pub corp_name: String,
    /// The suite's agent id in this corp.
    pub agent_id: i64,
    /// Members.
    pub users: Vec<SimUser>,
}

/// The ISV suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimSuite {
    /// SuiteKey (also the OAuth client id and the callback owner key).
    pub suite_key: String,
    /// SuiteSecret.
    pub suite_secret: String,
    /// Callback token.
    pub callback_token: String,
    /// Callback EncodingAESKey (43 characters).
    pub callback_aes_key: String,
    /// The suite id (`subscribe_id` is "<suite_id>_0").
    pub suite_id: String,
}

/// An internal (enterprise) app of one corp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimInternalApp {
    /// AppKey (also the OAuth client id).
    pub app_key: String,
    /// AppSecret.
    pub app_secret: String,
    /// The corp it belongs to.
    pub corp_id: String,
    /// Its agent id.
    pub agent_id: i64,
}

/// The simulated world: one suite, its corps, an optional internal app, and accounts outside
/// every corp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimData {
    /// The ISV suite.
    pub suite: SimSuite,
    /// Authorizing corps.
    pub corps: Vec<SimCorp>,
    /// Internal apps.
    #[serde(default)]
    pub internal_apps: Vec<SimInternalApp>,
    /// DingTalk accounts that belong to no corp (getbyunionid answers 60121).
    #[serde(default)]
    pub outsiders: Vec<SimUser>,
}

impl SimData {
    /// The demo data set of ARCHITECTURE.md section 9 (suite `suitedemo0001`, corp
    /// `dingdemocorp001` with zhangsan, lisi, wangwu; outsider `outsider`; internal app
    /// `dingdemoapp0001` / `demo-app-secret` in the same corp, agent 100001).
    pub fn demo() -> Self {
        todo!()
    }
}

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen (`127.0.0.1:0` in tests).
    pub bind: SocketAddr,
    /// The world.
    pub data: SimData,
    /// Where to push events (the cloud's `/dingding/event/pushed`), if anywhere.
    pub callback_url: Option<String>,
    /// How often to push the suite ticket and authorizations again (None: only at start and on demand).
    pub push_interval: Option<Duration>,
    /// Token lifetime in seconds reported by the token APIs (7200 like DingTalk).
    pub token_ttl_secs: i64,
}

impl SimConfig {
    /// Port 0 on loopback, demo data, no callback, no periodic push, 7200 s tokens.
    pub fn for_tests() -> Self {
        SimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data: SimData::demo(),
            callback_url: None,
            push_interval: None,
            token_ttl_secs: 7200,
        }
    }
}

/// A work notification the simulator accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimMessage {
    /// The task id returned to the caller.
    pub task_id: i64,
    /// `sendbytemplate` or `asyncsend_v2`.
    pub api: String,
    /// The corp whose token was used.
    pub corp_id: String,
    /// `agent_id`.
    pub agent_id: i64,
    /// The recipients (`userid_list` split at commas).
    pub user_ids: Vec<String>,
    /// `template_id` (template sends).
    pub template_id: Option<String>,
    /// `data` parsed from its JSON string (template sends).
    pub data: Option<serde_json::Value>,
    /// `msg` (asyncsend_v2).
    pub msg: Option<serde_json::Value>,
    /// When it arrived (RFC 3339).
    pub received_at: String,
}

/// What a fault does to the next `times` calls of `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer HTTP 500.
    Http500,
    /// Hold the request past any sane client timeout (the connection is kept open, then dropped).
    Timeout,
    /// Answer with this DingTalk error code in the API's own error shape.
    Errcode,
}

/// An injected failure (`POST /_sim/faults`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// The request path it applies to (e.g. `/topapi/message/corpconversation/sendbytemplate`).
    pub path: String,
    /// What happens.
    pub kind: FaultKind,
    /// The code for `errcode` faults (e.g. 90018, -1, 88, 40014).
    #[serde(default)]
    pub errcode: Option<i64>,
    /// For how many of the next calls (default 1).
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// What `push_now` / `POST /_sim/push` pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    /// A SYNC_HTTP_PUSH_HIGH with a biz_type 2 suite ticket.
    Ticket,
    /// A SYNC_HTTP_PUSH_HIGH with an `org_suite_auth` for each corp.
    Authorization,
    /// A SYNC_HTTP_PUSH_HIGH with an `org_suite_relieve` for each corp.
    Relieve,
}

/// A running simulator. Dropping it does not stop the server; call [`SimHandle::stop`].
pub struct SimHandle {
    addr: SocketAddr,
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The current suite ticket (what the pusher sends and the token APIs accept).
    pub fn suite_ticket(&self) -> String {
        todo!()
    }

    /// Work notifications received so far, oldest first.
    pub fn messages(&self) -> Vec<SimMessage> {
        todo!()
    }

    /// Forgets the received messages.
    pub fn clear_messages(&self) {
        todo!()
    }

    /// Adds a fault.
    pub fn add_fault(&self, fault: Fault) {
        let _ = fault;
        todo!()
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        todo!()
    }

    /// How many requests reached `path` (faulted ones included).
    pub fn calls(&self, path: &str) -> u64 {
        let _ = path;
        todo!()
    }

    /// Sets (or replaces) the callback URL the pusher uses.
    pub fn set_callback_url(&self, url: &str) {
        let _ = url;
        todo!()
    }

    /// Pushes now and waits for the encrypted `success` (retrying a few times); Err with the reason
    /// when the callback never acknowledged.
    pub async fn push_now(&self, kind: PushKind) -> anyhow::Result<()> {
        let _ = kind;
        todo!()
    }

    /// Stops the server and the pusher.
    pub async fn stop(self) {
        todo!()
    }
}

/// Starts the simulator (server and pusher) and returns once it is listening.
pub async fn spawn(config: SimConfig) -> anyhow::Result<SimHandle> {
    let _ = config;
    todo!()
}
