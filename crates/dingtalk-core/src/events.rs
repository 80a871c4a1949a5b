//! Decrypted callback events, parsed into typed values. Unknown events are kept, not rejected.
//!
//! Parsing is lenient where DingTalk is inconsistent: `biz_data` may be a JSON string or an
//! object, and numbers (`biz_type`, `agentid`, `gmt_modified`, `TimeStamp`) may come as strings.
//! Only a message that is not a JSON object with a string `EventType` is an error. Anything
//! incomplete inside a recognised event is kept rather than rejected, so it is acknowledged and
//! DingTalk does not re-push it forever:
//! - a legacy `suite_ticket` without `SuiteTicket`, or a `suite_relieve` without `AuthCorpId`,
//!   becomes [`CallbackEvent::Unknown`] with its event type;
//! - a `bizData[]` item whose `biz_data` is malformed (not JSON, not an object), or that lacks
//!   what its kind needs (a ticket, a corp id), becomes [`BizData::Other`]; the rest of the push
//!   is still parsed.

use secrecy::SecretString;
use serde_json::{Map, Value};

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
    /// `subscribe_id` (`<suiteId>_0`).
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
    let value: Value = serde_json::from_str(msg).map_err(|e| {
        EventError(format!(
            "not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let obj = value
        .as_object()
        .ok_or_else(|| EventError("not a JSON object".to_string()))?;
    let event_type = obj
        .get("EventType")
        .and_then(Value::as_str)
        .ok_or_else(|| EventError("no string EventType".to_string()))?;
    let unknown = || CallbackEvent::Unknown {
        event_type: event_type.to_string(),
    };
    Ok(match event_type {
        "check_url" | "check_create_suite_url" | "check_update_suite_url" => {
            CallbackEvent::CheckUrl {
                event_type: event_type.to_string(),
            }
        }
        "suite_ticket" => match non_empty_str(obj, "SuiteTicket") {
            Some(ticket) => CallbackEvent::SuiteTicket {
                suite_key: str_or_empty(obj, "SuiteKey"),
                ticket: SecretString::from(ticket),
                timestamp: int(obj, "TimeStamp").unwrap_or(0),
            },
            None => unknown(),
        },
        "suite_relieve" => match non_empty_str(obj, "AuthCorpId") {
            Some(corp_id) => CallbackEvent::SuiteRelieve {
                suite_key: str_or_empty(obj, "SuiteKey"),
                corp_id,
            },
            None => unknown(),
        },
        "SYNC_HTTP_PUSH_HIGH" => sync_push(SyncPriority::High, obj),
        "SYNC_HTTP_PUSH_MEDIUM" => sync_push(SyncPriority::Medium, obj),
        _ => unknown(),
    })
}

/// A SyncHTTP push: every `bizData[]` item, in order (a missing or non-array `bizData` is empty).
fn sync_push(priority: SyncPriority, obj: &Map<String, Value>) -> CallbackEvent {
    let items = obj
        .get("bizData")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(sync_item).collect())
        .unwrap_or_default();
    CallbackEvent::SyncPush { priority, items }
}

/// One `bizData[]` item; a non-object item is kept as an empty [`BizData::Other`].
fn sync_item(item: &Value) -> SyncItem {
    let empty = Map::new();
    let item = item.as_object().unwrap_or(&empty);
    let corp_id = str_or_empty(item, "corp_id");
    let biz_type = int(item, "biz_type").unwrap_or(0);
    let data = match biz_data(item) {
        Some(data) => parse_biz_data(biz_type, &data, &corp_id),
        None => BizData::Other { sync_action: None },
    };
    SyncItem {
        subscribe_id: str_or_empty(item, "subscribe_id"),
        biz_id: str_or_empty(item, "biz_id"),
        biz_type,
        gmt_modified: int(item, "gmt_modified").unwrap_or(0),
        corp_id,
        data,
    }
}

/// `biz_data` as an object, whether it came as an object or as a JSON-encoded string.
fn biz_data(item: &Map<String, Value>) -> Option<Map<String, Value>> {
    match item.get("biz_data")? {
        Value::Object(map) => Some(map.clone()),
        Value::String(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        },
        _ => None,
    }
}

/// Interprets `biz_data` by `biz_type` and `syncAction`.
fn parse_biz_data(biz_type: i64, data: &Map<String, Value>, item_corp_id: &str) -> BizData {
    let sync_action = non_empty_str(data, "syncAction");
    let other = |sync_action: Option<String>| BizData::Other { sync_action };
    match (biz_type, sync_action.as_deref()) {
        (2, Some("suite_ticket")) => match non_empty_str(data, "suiteTicket") {
            Some(ticket) => BizData::SuiteTicket {
                ticket: SecretString::from(ticket),
            },
            None => other(sync_action),
        },
        (4, Some("org_suite_auth" | "org_suite_change")) => {
            let auth = corp_authorization(data, item_corp_id);
            if auth.corp_id.is_empty() {
                other(sync_action)
            } else {
                BizData::OrgSuiteAuth(auth)
            }
        }
        (4, Some("org_suite_relieve")) => {
            let corp_id = data
                .get("auth_corp_info")
                .and_then(Value::as_object)
                .and_then(|info| non_empty_str(info, "corpid"))
                .or_else(|| non_empty_str(data, "corpId"))
                .unwrap_or_else(|| item_corp_id.to_string());
            if corp_id.is_empty() {
                other(sync_action)
            } else {
                BizData::OrgSuiteRelieve { corp_id }
            }
        }
        _ => other(sync_action),
    }
}

/// The authorization carried by `org_suite_auth` / `org_suite_change`.
fn corp_authorization(data: &Map<String, Value>, item_corp_id: &str) -> CorpAuthorization {
    let corp_info = data.get("auth_corp_info").and_then(Value::as_object);
    let corp_id = corp_info
        .and_then(|info| non_empty_str(info, "corpid"))
        .unwrap_or_else(|| item_corp_id.to_string());
    let corp_name = corp_info
        .and_then(|info| non_empty_str(info, "corp_name"))
        .unwrap_or_default();
    let agent_id = data
        .get("auth_info")
        .and_then(|info| info.get("agent"))
        .and_then(Value::as_array)
        .and_then(|agents| agents.first())
        .and_then(Value::as_object)
        .and_then(|agent| int(agent, "agentid"));
    CorpAuthorization {
        corp_id,
        corp_name,
        agent_id,
        permanent_code: non_empty_str(data, "permanent_code").map(SecretString::from),
        ch_permanent_code: non_empty_str(data, "ch_permanent_code").map(SecretString::from),
    }
}

/// A string field (a number is turned into its decimal text); `None` when absent or empty.
fn non_empty_str(obj: &Map<String, Value>, key: &str) -> Option<String> {
    let text = match obj.get(key)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// A string field, empty when absent.
fn str_or_empty(obj: &Map<String, Value>, key: &str) -> String {
    non_empty_str(obj, key).unwrap_or_default()
}

/// An integer field that may come as a number or as a string of digits.
fn int(obj: &Map<String, Value>, key: &str) -> Option<i64> {
    match obj.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
