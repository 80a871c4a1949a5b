//! The edge <-> cloud wire types. Both `cloud-gateway` (server) and `edge-service` (client) use
//! these, so the contract between them is defined once.

use serde::{Deserialize, Serialize};

/// Header carrying the idempotency key of a send request.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Header carrying the request id, taken from the request or generated, echoed on every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A DingTalk user as the cloud hands it to an edge, exactly once, by one-time auth code
/// (`GET /dingding/internal/user/{auth_code}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EdgeUser {
    /// Display name in DingTalk.
    pub nick: String,
    /// The organisation (corp) the user logged in with.
    pub corp_id: String,
    /// The user's openId for this app.
    pub open_id: String,
    /// The user's unionId (unique per developer account).
    pub union_id: String,
    /// The user's org `userid` inside `corp_id` (what work notifications are addressed to).
    pub user_id: String,
    /// E-mail, when DingTalk disclosed it.
    pub email: Option<String>,
    /// Avatar URL, when DingTalk disclosed it.
    pub avatar_url: Option<String>,
    /// Mobile number (masked for ISV apps), when DingTalk disclosed it.
    pub mobile: Option<String>,
    /// The staff id the frontend asked to bind, when it was known to the cloud (kept for the
    /// original API's shape; the edge fills it in).
    pub staff_id: Option<String>,
    /// The tenant id, as for `staff_id`.
    pub tenant_id: Option<String>,
}

/// Whether a corp's authorization of the app is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CorpAuthStatus {
    /// The corp has authorized the app.
    Active,
    /// The corp has removed the app (`org_suite_relieve`, `suite_relieve`).
    Relieved,
}

/// The public facts of a corp's authorization (`GET /dingding/internal/corp/{corp_id}`); never the
/// permanent code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CorpStatus {
    /// The corp id.
    pub corp_id: String,
    /// The corp's name.
    pub corp_name: String,
    /// The agent id of the app inside this corp, used for work notifications.
    pub agent_id: Option<i64>,
    /// Active or relieved.
    pub status: CorpAuthStatus,
    /// When the authorization last changed (RFC 3339).
    pub updated_at: String,
}

/// The public facts of a suite (`GET /dingding/internal/suite/{suite_key}`); never the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SuiteStatus {
    /// The suite key.
    pub suite_key: String,
    /// The corp the ticket push came from, when DingTalk said.
    pub corp_id: Option<String>,
    /// When the current suite ticket was received (RFC 3339).
    pub ticket_updated_at: String,
}

/// What to send: template variables (`sendbytemplate`) or a whole message object (`asyncsend_v2`).
/// A body must carry exactly one of `message` and `msg`; one with both is refused rather than
/// silently sent as a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged, try_from = "ContentFields")]
pub enum SendContent {
    /// Template send: `message` is a JSON string of template variables (all values strings).
    Template {
        /// JSON-encoded object of template variables.
        message: String,
    },
    /// `asyncsend_v2` send with this DingTalk message object (`{"msgtype":"text","text":{…}}`).
    Msg {
        /// The DingTalk message object.
        #[schema(value_type = Object)]
        msg: serde_json::Value,
    },
}

/// The content fields as they arrive, before [`SendContent`] checks that exactly one is there.
#[derive(Deserialize)]
struct ContentFields {
    message: Option<String>,
    msg: Option<serde_json::Value>,
}

impl TryFrom<ContentFields> for SendContent {
    type Error = &'static str;

    fn try_from(fields: ContentFields) -> Result<Self, Self::Error> {
        match (fields.message, fields.msg) {
            (Some(message), None) => Ok(SendContent::Template { message }),
            (None, Some(msg)) => Ok(SendContent::Msg { msg }),
            (Some(_), Some(_)) => Err("give either `message` or `msg`, not both"),
            (None, None) => Err("`message` (template variables) or `msg` is required"),
        }
    }
}

/// `POST /dingding/internal/send/messages` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SendRequest {
    /// The authorized corp to send in.
    pub corp_id: String,
    /// Org user ids of the recipients (any number; the cloud batches them by 100).
    pub user_ids: Vec<String>,
    /// The content.
    #[serde(flatten)]
    pub content: SendContent,
}

/// `POST /dingding/internal/send/messages` success body: one DingTalk task id per batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SendResult {
    /// DingTalk's task ids, one per batch of at most 100 recipients, in order.
    pub task_ids: Vec<i64>,
}

/// The one error body shape of every service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The HTTP status, or a more specific documented code (a DingTalk errcode on 502).
    pub errcode: i64,
    /// What went wrong and what to do.
    pub errmsg: String,
    /// The request id of the failed request.
    pub request_id: String,
}
