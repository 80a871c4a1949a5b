//! Decrypted callback events, parsed into typed values. Unknown events are kept, not rejected.
//!
//! SKELETON: `parse_event` is filled in by the events work; the types are the contract.

use secrecy::SecretString;

/// Why a decrypted callback message could not be parsed at all (not JSON, not an object, no
/// `EventType`). Unknown event types are *not* errors: they parse to [`CallbackEvent::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed event: {0}")]
pub struct EventError(pub String);

/// A corp's authorization of the app (`org_suite_auth`, `org_suite_change`).
/// `Debug` never shows the permanent codes.
#[derive(Clone)]
pub struct CorpAuthorization {
    /// The authorizing corp (`auth_corp_info.corpid`, falling back to the item's `corp_id`).
    pub corp_id: String,
    /// `auth_corp_info.corp_name` (empty when absent).
    pub corp_name: String,
    /// `auth_info.agent[0].agentid`, the agent id work notifications need.
    pub agent_id: Option<i64>,
    /// The deprecated `permanent_code`, when present. Secret.
    pub permanent_code: Option<SecretString>,
    /// The deprecated `ch_permanent_code`, when present. Secret.
    pub ch_permanent_code: Option<SecretString>,
}

impl std::fmt::Debug for CorpAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorpAuthorization")
            .field("corp_id", &self.corp_id)
            .field("corp_name", &self.corp_name)
            .field("agent_id", &self.agent_id)
            .field(
                "permanent_code",
                &self.permanent_code.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "ch_permanent_code",
                &self.ch_permanent_code.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// `SYNC_HTTP_PUSH_HIGH` or `SYNC_HTTP_PUSH_MEDIUM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPriority {
    /// `SYNC_HTTP_PUSH_HIGH`.
    High,
    /// `SYNC_HTTP_PUSH_MEDIUM`.
    Medium,
}

/// What one `bizData[]` item carries.
#[derive(Debug, Clone)]
pub enum BizData {
    /// biz_type 2: a new suite ticket.
    SuiteTicket {
        /// The suite ticket. Secret-ish: do not log it.
        ticket: SecretString,
    },
    /// biz_type 4 `org_suite_auth` or `org_suite_change`: the latest authorization.
    OrgSuiteAuth(CorpAuthorization),
    /// biz_type 4 `org_suite_relieve`: the corp removed the app.
    OrgSuiteRelieve {
        /// The corp that removed the app.
        corp_id: String,
    },
    /// Anything else, kept as it came (recorded and acknowledged).
    Other {
        /// The `syncAction`, when there was one.
        sync_action: Option<String>,
    },
}

/// One `bizData[]` item of a SyncHTTP push.
#[derive(Debug, Clone)]
pub struct SyncItem {
    /// `subscribe_id` ("<suiteId>_0").
    pub subscribe_id: String,
    /// `corp_id`.
    pub corp_id: String,
    /// `biz_id` (suite id, user id, …).
    pub biz_id: String,
    /// `biz_type` (2 suite ticket, 4 authorization, …).
    pub biz_type: i64,
    /// `gmt_modified` in ms since the epoch, 0 when absent.
    pub gmt_modified: i64,
    /// The parsed `biz_data`.
    pub data: BizData,
}

/// A decrypted callback event.
#[derive(Debug, Clone)]
pub enum CallbackEvent {
    /// `check_url`, `check_create_suite_url`, `check_update_suite_url`: answer `success`.
    CheckUrl {
        /// Which check.
        event_type: String,
    },
    /// Legacy `suite_ticket`.
    SuiteTicket {
        /// `SuiteKey`.
        suite_key: String,
        /// `SuiteTicket`. Secret-ish: do not log it.
        ticket: SecretString,
        /// `TimeStamp` (ms), 0 when absent.
        timestamp: i64,
    },
    /// Legacy `suite_relieve`.
    SuiteRelieve {
        /// `SuiteKey`.
        suite_key: String,
        /// `AuthCorpId`.
        corp_id: String,
    },
    /// `SYNC_HTTP_PUSH_HIGH` / `SYNC_HTTP_PUSH_MEDIUM` with its items.
    SyncPush {
        /// Which table the push came from.
        priority: SyncPriority,
        /// The items, in order.
        items: Vec<SyncItem>,
    },
    /// Any other `EventType`, kept.
    Unknown {
        /// The `EventType`.
        event_type: String,
    },
}

impl CallbackEvent {
    /// The event's type name, for metrics and logs (`check_url`, `suite_ticket`,
    /// `SYNC_HTTP_PUSH_HIGH`, …).
    pub fn event_type(&self) -> &str {
        match self {
            CallbackEvent::CheckUrl { event_type } | CallbackEvent::Unknown { event_type } => {
                event_type
            }
            CallbackEvent::SuiteTicket { .. } => "suite_ticket",
            CallbackEvent::SuiteRelieve { .. } => "suite_relieve",
            CallbackEvent::SyncPush {
                priority: SyncPriority::High,
                ..
            } => "SYNC_HTTP_PUSH_HIGH",
            CallbackEvent::SyncPush {
                priority: SyncPriority::Medium,
                ..
            } => "SYNC_HTTP_PUSH_MEDIUM",
        }
    }
}

/// Parses a decrypted callback message (the JSON string inside `encrypt`).
pub fn parse_event(msg: &str) -> Result<CallbackEvent, EventError> {
    let _ = msg;
    todo!()
}
