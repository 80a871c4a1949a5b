//! The DingTalk API client: one method per DingTalk call the services need, each making exactly
//! one HTTP request and mapping failures to [`DingTalkError`]. Retrying and token caching are
//! layered on top with [`crate::retry::RetryPolicy`] and [`crate::token::TokenCache`].
//!
//! SKELETON: bodies are filled in by the client work; signatures are the contract.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::DingTalkError;
use crate::token::AccessToken;

/// Where DingTalk is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://login.dingtalk.com` (browser login page).
    pub login_base: String,
    /// `https://api.dingtalk.com` (new API).
    pub api_base: String,
    /// `https://oapi.dingtalk.com` (legacy API).
    pub oapi_base: String,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub request_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            login_base: "https://login.dingtalk.com".into(),
            api_base: "https://api.dingtalk.com".into(),
            oapi_base: "https://oapi.dingtalk.com".into(),
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl ClientConfig {
    /// All three hosts at one base URL (the simulator).
    pub fn single_host(base: &str) -> Self {
        let base = base.trim_end_matches('/').to_string();
        ClientConfig {
            login_base: base.clone(),
            api_base: base.clone(),
            oapi_base: base,
            ..ClientConfig::default()
        }
    }
}

/// `POST /v1.0/oauth2/userAccessToken` answer.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAccessToken {
    /// The user access token. Secret.
    pub access_token: secrecy::SecretString,
    /// The refresh token. Secret.
    pub refresh_token: Option<secrecy::SecretString>,
    /// Lifetime in seconds.
    pub expire_in: Option<i64>,
    /// The org the user picked (scope `openid corpid`).
    pub corp_id: Option<String>,
}

/// `GET /v1.0/contact/users/me` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserProfile {
    /// `nick`.
    pub nick: String,
    /// `avatarUrl`.
    pub avatar_url: Option<String>,
    /// `mobile`.
    pub mobile: Option<String>,
    /// `openId`.
    pub open_id: String,
    /// `unionId`.
    pub union_id: String,
    /// `email`.
    pub email: Option<String>,
    /// `stateCode`.
    pub state_code: Option<String>,
}

/// `POST /topapi/user/getbyunionid` `result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionIdLookup {
    /// The org userid.
    pub userid: String,
    /// 0 internal employee, 1 external contact.
    pub contact_type: i64,
}

/// `sendbytemplate` request.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateSend<'a> {
    /// `agent_id`.
    pub agent_id: i64,
    /// `template_id`.
    pub template_id: &'a str,
    /// Recipients (joined with commas on the wire as `userid_list`).
    pub user_ids: &'a [String],
    /// `data`: JSON string of template variables.
    pub data: &'a str,
}

/// `asyncsend_v2` request.
#[derive(Debug, Clone, Serialize)]
pub struct AsyncSend<'a> {
    /// `agent_id`.
    pub agent_id: i64,
    /// Recipients (joined with commas on the wire as `userid_list`).
    pub user_ids: &'a [String],
    /// `msg`: the DingTalk message object.
    pub msg: &'a serde_json::Value,
}

/// `getsendprogress` `progress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SendProgress {
    /// 0–100.
    pub progress_in_percent: i64,
    /// 0 not started, 1 running, 2 done.
    pub status: i64,
}

/// `getsendresult` `send_result`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SendResultDetail {
    /// `invalid_user_id_list`.
    pub invalid_user_id_list: Vec<String>,
    /// `forbidden_user_id_list`.
    pub forbidden_user_id_list: Vec<String>,
    /// `failed_user_id_list`.
    pub failed_user_id_list: Vec<String>,
    /// `read_user_id_list`.
    pub read_user_id_list: Vec<String>,
    /// `unread_user_id_list`.
    pub unread_user_id_list: Vec<String>,
}

/// The DingTalk client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DingTalkClient {
    config: ClientConfig,
    http: reqwest::Client,
}

impl DingTalkClient {
    /// A client with its own `reqwest::Client` built from the config's timeouts.
    pub fn new(config: ClientConfig) -> Result<Self, DingTalkError> {
        let _ = &config;
        todo!()
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The browser authorize URL: `{login_base}/oauth2/auth?redirect_uri&response_type=code&client_id&scope=openid%20corpid&prompt=consent&state`.
    pub fn authorize_url(&self, client_id: &str, redirect_uri: &str, state: &str) -> String {
        let _ = (client_id, redirect_uri, state, &self.http);
        todo!()
    }

    /// `POST /v1.0/oauth2/userAccessToken` with grantType `authorization_code`.
    pub async fn user_access_token(
        &self,
        client_id: &str,
        client_secret: &str,
        code: &str,
    ) -> Result<UserAccessToken, DingTalkError> {
        let _ = (client_id, client_secret, code);
        todo!()
    }

    /// `GET /v1.0/contact/users/me` with the user access token.
    pub async fn user_me(&self, user_access_token: &str) -> Result<UserProfile, DingTalkError> {
        let _ = user_access_token;
        todo!()
    }

    /// ISV: `POST /v1.0/oauth2/corpAccessToken` (suiteKey, suiteSecret, authCorpId, suiteTicket).
    pub async fn corp_access_token(
        &self,
        suite_key: &str,
        suite_secret: &str,
        auth_corp_id: &str,
        suite_ticket: &str,
    ) -> Result<AccessToken, DingTalkError> {
        let _ = (suite_key, suite_secret, auth_corp_id, suite_ticket);
        todo!()
    }

    /// ISV legacy: `POST /service/get_corp_token?accessKey&timestamp&suiteTicket&signature` with
    /// body `{"auth_corpid"}`; the timestamp is now in ms and the signature is URL-encoded once.
    pub async fn get_corp_token(
        &self,
        suite_key: &str,
        suite_secret: &str,
        auth_corp_id: &str,
        suite_ticket: &str,
    ) -> Result<AccessToken, DingTalkError> {
        let _ = (suite_key, suite_secret, auth_corp_id, suite_ticket);
        todo!()
    }

    /// Internal app: `POST /v1.0/oauth2/accessToken` (appKey, appSecret).
    pub async fn app_access_token(
        &self,
        app_key: &str,
        app_secret: &str,
    ) -> Result<AccessToken, DingTalkError> {
        let _ = (app_key, app_secret);
        todo!()
    }

    /// Internal app legacy: `GET /gettoken?appkey&appsecret`.
    pub async fn gettoken(
        &self,
        app_key: &str,
        app_secret: &str,
    ) -> Result<AccessToken, DingTalkError> {
        let _ = (app_key, app_secret);
        todo!()
    }

    /// `POST /topapi/user/getbyunionid?access_token` body `{"unionid"}`.
    pub async fn get_by_unionid(
        &self,
        access_token: &str,
        unionid: &str,
    ) -> Result<UnionIdLookup, DingTalkError> {
        let _ = (access_token, unionid);
        todo!()
    }

    /// `POST /topapi/message/corpconversation/sendbytemplate`; returns the `task_id`.
    pub async fn send_by_template(
        &self,
        access_token: &str,
        req: &TemplateSend<'_>,
    ) -> Result<i64, DingTalkError> {
        let _ = (access_token, req);
        todo!()
    }

    /// `POST /topapi/message/corpconversation/asyncsend_v2`; returns the `task_id`.
    pub async fn async_send_v2(
        &self,
        access_token: &str,
        req: &AsyncSend<'_>,
    ) -> Result<i64, DingTalkError> {
        let _ = (access_token, req);
        todo!()
    }

    /// `POST /topapi/message/corpconversation/getsendprogress`.
    pub async fn get_send_progress(
        &self,
        access_token: &str,
        agent_id: i64,
        task_id: i64,
    ) -> Result<SendProgress, DingTalkError> {
        let _ = (access_token, agent_id, task_id);
        todo!()
    }

    /// `POST /topapi/message/corpconversation/getsendresult`.
    pub async fn get_send_result(
        &self,
        access_token: &str,
        agent_id: i64,
        task_id: i64,
    ) -> Result<SendResultDetail, DingTalkError> {
        let _ = (access_token, agent_id, task_id);
        todo!()
    }
}
