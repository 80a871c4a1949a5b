//! # dingtalk-sim
//!
//! A faithful local DingTalk: one address serves the paths of DingTalk's `login.`, `api.` and
//! `oapi.` hosts, pushes encrypted events to a callback URL, records work notifications, injects
//! faults, and serves the demo portal. Start it in-process on port 0 with [`spawn`].
//!
//! Modules: [`data`] (the world), `state` (codes, tokens, ticket, messages), `routes` (one file
//! per DingTalk host), `pusher` (encrypted event pushes), `faults` (injected failures).

mod body;
pub mod data;
mod faults;
mod pusher;
mod reply;
mod routes;
mod server;
mod state;

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use data::{SimCorp, SimData, SimInternalApp, SimSuite, SimUser};
pub use server::spawn;

use state::Shared;

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
    /// The cloud-gateway URL the portal calls (`/portal/config.json` `cloud_url`).
    pub portal_cloud_url: Option<String>,
    /// The edge-service URL the portal calls (`/portal/config.json` `edge_url`).
    pub portal_edge_url: Option<String>,
    /// The simulator's public base URL (default `http://<bound address>`); the portal's redirect
    /// prefix is `<public_url>/portal`.
    pub public_url: Option<String>,
    /// How long a `timeout` fault holds a request before answering 504 (30 s: longer than any
    /// sane client timeout).
    pub timeout_fault_hold: Duration,
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
            portal_cloud_url: None,
            portal_edge_url: None,
            public_url: None,
            timeout_fault_hold: Duration::from_secs(30),
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
    /// Answer HTTP 500 (`"http_500"` on the wire).
    #[serde(rename = "http_500", alias = "http500")]
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
    shared: Shared,
    server: actix_web::dev::ServerHandle,
    pusher: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl SimHandle {
    fn new(
        addr: SocketAddr,
        shared: Shared,
        server: actix_web::dev::ServerHandle,
        pusher: tokio::task::JoinHandle<()>,
    ) -> Self {
        SimHandle {
            addr,
            shared,
            server,
            pusher,
        }
    }

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
        self.shared.lock().suite_ticket.clone()
    }

    /// Replaces the suite ticket (the previous one stays valid until the next rotation), as a
    /// periodic push does; push it with [`SimHandle::push_now`].
    pub fn rotate_suite_ticket(&self) -> String {
        let mut st = self.shared.lock();
        st.rotate_ticket();
        st.suite_ticket.clone()
    }

    /// Work notifications received so far, oldest first.
    pub fn messages(&self) -> Vec<SimMessage> {
        self.shared.lock().messages.clone()
    }

    /// Forgets the received messages.
    pub fn clear_messages(&self) {
        self.shared.lock().messages.clear();
    }

    /// Adds a fault.
    pub fn add_fault(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// How many requests reached `path` (faulted ones included).
    pub fn calls(&self, path: &str) -> u64 {
        self.shared.lock().calls.get(path).copied().unwrap_or(0)
    }

    /// Sets (or replaces) the callback URL the pusher uses; the background pusher then delivers
    /// the ticket and the authorizations to it (retrying until acknowledged).
    pub fn set_callback_url(&self, url: &str) {
        {
            let mut st = self.shared.lock();
            st.callback_url = Some(url.to_string());
            st.initial_push_acked = false;
        }
        self.shared.wake_pusher.notify_one();
    }

    /// Whether the ticket and authorizations reached the current callback URL (acknowledged).
    pub fn initial_push_acknowledged(&self) -> bool {
        self.shared.lock().initial_push_acked
    }

    /// How many pushes the callback acknowledged so far.
    pub fn pushes_acknowledged(&self) -> u64 {
        self.shared.lock().pushes_acked
    }

    /// Moves the simulator's clock forward (auth codes and tokens expire by this clock; the
    /// `get_corp_token` window too).
    pub fn advance_clock(&self, by: Duration) {
        let mut st = self.shared.lock();
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        st.clock_offset_ms = st.clock_offset_ms.saturating_add(ms);
    }

    /// Pushes now and waits for the encrypted `success` (retrying a few times); Err with the reason
    /// when the callback never acknowledged. A ticket push re-sends the current ticket.
    pub async fn push_now(&self, kind: PushKind) -> anyhow::Result<()> {
        pusher::push(&self.shared, &[kind], 4)
            .await
            .map_err(anyhow::Error::msg)
    }

    /// Stops the server and the pusher.
    pub async fn stop(self) {
        self.pusher.abort();
        self.server.stop(false).await;
    }
}
