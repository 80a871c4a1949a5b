//! The simulator's mutable state (codes, tokens, suite ticket, messages, faults, counters),
//! shared between the HTTP handlers, the pusher and the [`crate::SimHandle`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::distributions::Alphanumeric;
use rand::Rng;
use tokio::sync::Notify;

use crate::data::{SimData, SimUser};
use crate::{Fault, SimMessage};

/// How long an OAuth `authCode` lives.
pub const AUTH_CODE_TTL_MS: i64 = 5 * 60 * 1000;
/// How long a user refresh token lives (30 days, like DingTalk).
pub const REFRESH_TOKEN_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// A random alphanumeric string of `len` characters.
pub fn random_string(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// An issued OAuth `authCode`.
#[derive(Debug, Clone)]
pub struct AuthCode {
    /// The `client_id` it was issued to.
    pub client_id: String,
    /// The user who logged in.
    pub user: SimUser,
    /// The org reported as `corpId`.
    pub corp_id: Option<String>,
    /// Expiry (sim clock, ms).
    pub expires_at: i64,
}

/// A user access token (or refresh token).
#[derive(Debug, Clone)]
pub struct UserToken {
    /// The app it was issued to.
    pub client_id: String,
    /// Whose token it is.
    pub user: SimUser,
    /// The org reported as `corpId`.
    pub corp_id: Option<String>,
    /// Expiry (sim clock, ms).
    pub expires_at: i64,
}

/// An app (corp) access token.
#[derive(Debug, Clone)]
pub struct AppToken {
    /// The corp it acts in.
    pub corp_id: String,
    /// The app's agent id in that corp.
    pub agent_id: i64,
    /// Expiry (sim clock, ms).
    pub expires_at: i64,
}

/// Everything that changes while the simulator runs.
#[derive(Debug)]
pub struct SimState {
    /// The world.
    pub data: SimData,
    /// Token lifetime in seconds.
    pub token_ttl_secs: i64,
    /// Where the pusher posts.
    pub callback_url: Option<String>,
    /// Whether the start push (ticket and authorizations) reached the current callback URL.
    pub initial_push_acked: bool,
    /// Milliseconds added to the wall clock ([`crate::SimHandle::advance_clock`]).
    pub clock_offset_ms: i64,
    /// Outstanding auth codes.
    pub codes: HashMap<String, AuthCode>,
    /// User access tokens.
    pub user_tokens: HashMap<String, UserToken>,
    /// User refresh tokens.
    pub refresh_tokens: HashMap<String, UserToken>,
    /// App access tokens (ISV corp tokens and internal-app tokens).
    pub app_tokens: HashMap<String, AppToken>,
    /// The current token of each internal app (returned again while valid).
    pub internal_current: HashMap<String, String>,
    /// The current suite ticket.
    pub suite_ticket: String,
    /// The ticket before the last rotation (still accepted).
    pub previous_ticket: Option<String>,
    /// Increases with each ticket (`syncSeq`).
    pub ticket_seq: u64,
    /// Corps that relieved (removed) the suite.
    pub relieved: HashSet<String>,
    /// Received work notifications.
    pub messages: Vec<SimMessage>,
    /// The next `task_id`.
    pub next_task_id: i64,
    /// Pending faults.
    pub faults: Vec<Fault>,
    /// Requests per path.
    pub calls: HashMap<String, u64>,
    /// Pushes acknowledged by the callback.
    pub pushes_acked: u64,
    /// Push attempts that were not acknowledged.
    pub pushes_failed: u64,
    /// The last reason a push was not acknowledged.
    pub last_push_error: Option<String>,
}

impl SimState {
    /// A fresh state for this world.
    pub fn new(data: SimData, token_ttl_secs: i64, callback_url: Option<String>) -> Self {
        SimState {
            data,
            token_ttl_secs,
            callback_url,
            initial_push_acked: false,
            clock_offset_ms: 0,
            codes: HashMap::new(),
            user_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            app_tokens: HashMap::new(),
            internal_current: HashMap::new(),
            suite_ticket: new_ticket(),
            previous_ticket: None,
            ticket_seq: 1,
            relieved: HashSet::new(),
            messages: Vec::new(),
            next_task_id: 100_000_001,
            faults: Vec::new(),
            calls: HashMap::new(),
            pushes_acked: 0,
            pushes_failed: 0,
            last_push_error: None,
        }
    }

    /// The simulator's clock in ms since the epoch (wall clock plus the test offset).
    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now()
            .timestamp_millis()
            .saturating_add(self.clock_offset_ms)
    }

    /// The token lifetime in ms.
    pub fn ttl_ms(&self) -> i64 {
        self.token_ttl_secs.saturating_mul(1000)
    }

    /// Whether `ticket` is the current or the previous suite ticket.
    pub fn ticket_valid(&self, ticket: &str) -> bool {
        !ticket.is_empty()
            && (ticket == self.suite_ticket || self.previous_ticket.as_deref() == Some(ticket))
    }

    /// Replaces the suite ticket; the old one stays valid until the next rotation.
    pub fn rotate_ticket(&mut self) {
        let old = std::mem::replace(&mut self.suite_ticket, new_ticket());
        self.previous_ticket = Some(old);
        self.ticket_seq += 1;
    }

    /// The suite's agent id in `corp_id`, or None when the corp is unknown or relieved the suite.
    pub fn authorized_agent(&self, corp_id: &str) -> Option<i64> {
        self.data
            .corp(corp_id)
            .filter(|_| !self.relieved.contains(corp_id))
            .map(|c| c.agent_id)
    }

    /// Issues a new app token for a corp and agent.
    pub fn issue_app_token(&mut self, corp_id: &str, agent_id: i64) -> String {
        let token = random_string(32);
        let expires_at = self.now_ms().saturating_add(self.ttl_ms());
        self.app_tokens.insert(
            token.clone(),
            AppToken {
                corp_id: corp_id.to_string(),
                agent_id,
                expires_at,
            },
        );
        token
    }

    /// A valid app token, or None when unknown or expired.
    pub fn app_token(&self, token: &str) -> Option<AppToken> {
        let now = self.now_ms();
        self.app_tokens
            .get(token)
            .filter(|t| t.expires_at > now)
            .cloned()
    }

    /// Seconds until an app token expires (at least 0).
    pub fn remaining_secs(&self, expires_at: i64) -> i64 {
        (expires_at.saturating_sub(self.now_ms()) / 1000).max(0)
    }
}

fn new_ticket() -> String {
    format!("simticket{}", random_string(40))
}

/// The state behind a lock, plus the pusher's wake-up signal. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shared {
    state: Arc<Mutex<SimState>>,
    /// Wakes the pusher (callback URL changed).
    pub wake_pusher: Arc<Notify>,
    /// How long a `timeout` fault holds a request.
    pub timeout_hold: Duration,
}

impl Shared {
    /// Wraps a state.
    pub fn new(state: SimState, timeout_hold: Duration) -> Self {
        Shared {
            state: Arc::new(Mutex::new(state)),
            wake_pusher: Arc::new(Notify::new()),
            timeout_hold,
        }
    }

    /// Locks the state (a poisoned lock is recovered: the state stays usable).
    pub fn lock(&self) -> MutexGuard<'_, SimState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Constant-time string equality (credentials and signatures).
pub fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
