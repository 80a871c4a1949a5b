//! The DingTalk API client: one method per DingTalk call the services need, each making exactly
//! one HTTP request and mapping failures to [`DingTalkError`]. Retrying and token caching are
//! layered on top with [`crate::retry::RetryPolicy`] and [`crate::token::TokenCache`].
//!
//! Token placement follows DingTalk: the legacy API (`oapi`) takes `?access_token=`, the new API
//! (`api`) takes the `x-acs-dingtalk-access-token` header. Responses are parsed leniently because
//! DingTalk sometimes sends numbers as strings. Error messages name the path called, never the
//! query string, so tokens, secrets and tickets stay out of logs.

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::crypto;
use crate::error::{classify_legacy, classify_new_api, DingTalkError};
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
    #[serde(default, deserialize_with = "lenient::opt_i64")]
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
    #[serde(deserialize_with = "lenient::i64_or_zero")]
    pub progress_in_percent: i64,
    /// 0 not started, 1 running, 2 done.
    #[serde(deserialize_with = "lenient::i64_or_zero")]
    pub status: i64,
}

/// `getsendresult` `send_result`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SendResultDetail {
    /// `invalid_user_id_list`.
    #[serde(deserialize_with = "lenient::strings")]
    pub invalid_user_id_list: Vec<String>,
    /// `forbidden_user_id_list`.
    #[serde(deserialize_with = "lenient::strings")]
    pub forbidden_user_id_list: Vec<String>,
    /// `failed_user_id_list`.
    #[serde(deserialize_with = "lenient::strings")]
    pub failed_user_id_list: Vec<String>,
    /// `read_user_id_list`.
    #[serde(deserialize_with = "lenient::strings")]
    pub read_user_id_list: Vec<String>,
    /// `unread_user_id_list`.
    #[serde(deserialize_with = "lenient::strings")]
    pub unread_user_id_list: Vec<String>,
}

/// The DingTalk client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DingTalkClient {
    config: ClientConfig,
    http: reqwest::Client,
}

/// Characters kept as they are in a query value: RFC 3986 unreserved (space becomes `%20`).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The new API's access-token header.
pub const ACCESS_TOKEN_HEADER: &str = "x-acs-dingtalk-access-token";

fn enc(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

fn join(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}

/// A response as received: status, `Retry-After` and body.
struct Raw {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// `{accessToken, expireIn}` (new API).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewToken {
    access_token: secrecy::SecretString,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    expire_in: Option<i64>,
}

impl From<NewToken> for AccessToken {
    fn from(t: NewToken) -> Self {
        AccessToken {
            token: t.access_token,
            expires_in: t.expire_in,
        }
    }
}

/// `{access_token, expires_in}` (legacy API).
#[derive(Deserialize)]
struct LegacyToken {
    access_token: secrecy::SecretString,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    expires_in: Option<i64>,
}

impl From<LegacyToken> for AccessToken {
    fn from(t: LegacyToken) -> Self {
        AccessToken {
            token: t.access_token,
            expires_in: t.expires_in,
        }
    }
}

#[derive(Deserialize)]
struct UnionIdResponse {
    result: UnionIdResult,
}

#[derive(Deserialize)]
struct UnionIdResult {
    #[serde(deserialize_with = "lenient::string")]
    userid: String,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    contact_type: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct TaskIdResponse {
    #[serde(deserialize_with = "lenient::i64")]
    task_id: i64,
}

#[derive(Deserialize)]
struct ProgressResponse {
    #[serde(default)]
    progress: SendProgress,
}

#[derive(Deserialize)]
struct SendResultResponse {
    #[serde(default)]
    send_result: SendResultDetail,
}

impl DingTalkClient {
    /// A client with its own `reqwest::Client` built from the config's timeouts.
    pub fn new(config: ClientConfig) -> Result<Self, DingTalkError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| transport_error("(client setup)", &e))?;
        Ok(DingTalkClient { config, http })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The browser authorize URL: `{login_base}/oauth2/auth?redirect_uri&response_type=code&client_id&scope=openid%20corpid&prompt=consent&state`.
    pub fn authorize_url(&self, client_id: &str, redirect_uri: &str, state: &str) -> String {
        format!(
            "{}?redirect_uri={}&response_type=code&client_id={}&scope=openid%20corpid&prompt=consent&state={}",
            join(&self.config.login_base, "/oauth2/auth"),
            enc(redirect_uri),
            enc(client_id),
            enc(state)
        )
    }

    /// `POST /v1.0/oauth2/userAccessToken` with grantType `authorization_code`.
    pub async fn user_access_token(
        &self,
        client_id: &str,
        client_secret: &str,
        code: &str,
    ) -> Result<UserAccessToken, DingTalkError> {
        let endpoint = "/v1.0/oauth2/userAccessToken";
        let body = json!({
            "clientId": client_id,
            "clientSecret": client_secret,
            "code": code,
            "grantType": "authorization_code",
        });
        self.api_post(endpoint, &body).await
    }

    /// `GET /v1.0/contact/users/me` with the user access token.
    pub async fn user_me(&self, user_access_token: &str) -> Result<UserProfile, DingTalkError> {
        let endpoint = "/v1.0/contact/users/me";
        let req = self
            .http
            .get(join(&self.config.api_base, endpoint))
            .header(ACCESS_TOKEN_HEADER, user_access_token);
        parse(endpoint, self.execute(endpoint, req).await?)
    }

    /// ISV: `POST /v1.0/oauth2/corpAccessToken` (suiteKey, suiteSecret, authCorpId, suiteTicket).
    pub async fn corp_access_token(
        &self,
        suite_key: &str,
        suite_secret: &str,
        auth_corp_id: &str,
        suite_ticket: &str,
    ) -> Result<AccessToken, DingTalkError> {
        let endpoint = "/v1.0/oauth2/corpAccessToken";
        let body = json!({
            "suiteKey": suite_key,
            "suiteSecret": suite_secret,
            "authCorpId": auth_corp_id,
            "suiteTicket": suite_ticket,
        });
        let t: NewToken = self.api_post(endpoint, &body).await?;
        Ok(t.into())
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
        let endpoint = "/service/get_corp_token";
        let timestamp = chrono::Utc::now().timestamp_millis().to_string();
        let signature = crypto::corp_token_signature(&timestamp, suite_ticket, suite_secret);
        // Built by hand: the signature must be URL-encoded exactly once, and reqwest's `query()`
        // would encode the already-encoded value again.
        let url = format!(
            "{}?accessKey={}&timestamp={}&suiteTicket={}&signature={}",
            join(&self.config.oapi_base, endpoint),
            crypto::url_encode(suite_key),
            timestamp,
            crypto::url_encode(suite_ticket),
            crypto::url_encode(&signature)
        );
        let req = self
            .http
            .post(url)
            .json(&json!({ "auth_corpid": auth_corp_id }));
        let t: LegacyToken = parse(endpoint, self.execute(endpoint, req).await?)?;
        Ok(t.into())
    }

    /// Internal app: `POST /v1.0/oauth2/accessToken` (appKey, appSecret).
    pub async fn app_access_token(
        &self,
        app_key: &str,
        app_secret: &str,
    ) -> Result<AccessToken, DingTalkError> {
        let endpoint = "/v1.0/oauth2/accessToken";
        let body = json!({ "appKey": app_key, "appSecret": app_secret });
        let t: NewToken = self.api_post(endpoint, &body).await?;
        Ok(t.into())
    }

    /// Internal app legacy: `GET /gettoken?appkey&appsecret`.
    pub async fn gettoken(
        &self,
        app_key: &str,
        app_secret: &str,
    ) -> Result<AccessToken, DingTalkError> {
        let endpoint = "/gettoken";
        let url = format!(
            "{}?appkey={}&appsecret={}",
            join(&self.config.oapi_base, endpoint),
            enc(app_key),
            enc(app_secret)
        );
        let t: LegacyToken = parse(endpoint, self.execute(endpoint, self.http.get(url)).await?)?;
        Ok(t.into())
    }

    /// `POST /topapi/user/getbyunionid?access_token` body `{"unionid"}`.
    pub async fn get_by_unionid(
        &self,
        access_token: &str,
        unionid: &str,
    ) -> Result<UnionIdLookup, DingTalkError> {
        let endpoint = "/topapi/user/getbyunionid";
        let r: UnionIdResponse = self
            .legacy_post(endpoint, access_token, &json!({ "unionid": unionid }))
            .await?;
        Ok(UnionIdLookup {
            userid: r.result.userid,
            contact_type: r.result.contact_type.unwrap_or(0),
        })
    }

    /// `POST /topapi/message/corpconversation/sendbytemplate`; returns the `task_id`.
    pub async fn send_by_template(
        &self,
        access_token: &str,
        req: &TemplateSend<'_>,
    ) -> Result<i64, DingTalkError> {
        let endpoint = "/topapi/message/corpconversation/sendbytemplate";
        let body = json!({
            "agent_id": req.agent_id,
            "template_id": req.template_id,
            "userid_list": req.user_ids.join(","),
            "data": req.data,
        });
        let r: TaskIdResponse = self.legacy_post(endpoint, access_token, &body).await?;
        Ok(r.task_id)
    }

    /// `POST /topapi/message/corpconversation/asyncsend_v2`; returns the `task_id`.
    pub async fn async_send_v2(
        &self,
        access_token: &str,
        req: &AsyncSend<'_>,
    ) -> Result<i64, DingTalkError> {
        let endpoint = "/topapi/message/corpconversation/asyncsend_v2";
        let body = json!({
            "agent_id": req.agent_id,
            "userid_list": req.user_ids.join(","),
            "msg": req.msg,
        });
        let r: TaskIdResponse = self.legacy_post(endpoint, access_token, &body).await?;
        Ok(r.task_id)
    }

    /// `POST /topapi/message/corpconversation/getsendprogress`.
    pub async fn get_send_progress(
        &self,
        access_token: &str,
        agent_id: i64,
        task_id: i64,
    ) -> Result<SendProgress, DingTalkError> {
        let endpoint = "/topapi/message/corpconversation/getsendprogress";
        let body = json!({ "agent_id": agent_id, "task_id": task_id });
        let r: ProgressResponse = self.legacy_post(endpoint, access_token, &body).await?;
        Ok(r.progress)
    }

    /// `POST /topapi/message/corpconversation/getsendresult`.
    pub async fn get_send_result(
        &self,
        access_token: &str,
        agent_id: i64,
        task_id: i64,
    ) -> Result<SendResultDetail, DingTalkError> {
        let endpoint = "/topapi/message/corpconversation/getsendresult";
        let body = json!({ "agent_id": agent_id, "task_id": task_id });
        let r: SendResultResponse = self.legacy_post(endpoint, access_token, &body).await?;
        Ok(r.send_result)
    }

    /// A new-API `POST {api}{endpoint}` with a JSON body.
    async fn api_post<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        body: &Value,
    ) -> Result<T, DingTalkError> {
        let req = self
            .http
            .post(join(&self.config.api_base, endpoint))
            .json(body);
        parse(endpoint, self.execute(endpoint, req).await?)
    }

    /// A legacy `POST {oapi}{endpoint}?access_token=` with a JSON body.
    async fn legacy_post<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        access_token: &str,
        body: &Value,
    ) -> Result<T, DingTalkError> {
        let url = format!(
            "{}?access_token={}",
            join(&self.config.oapi_base, endpoint),
            enc(access_token)
        );
        parse(
            endpoint,
            self.execute(endpoint, self.http.post(url).json(body))
                .await?,
        )
    }

    /// Sends one request and reads the whole response.
    async fn execute(
        &self,
        endpoint: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<Raw, DingTalkError> {
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(endpoint, &e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = resp
            .bytes()
            .await
            .map_err(|e| transport_error(endpoint, &e))?;
        Ok(Raw {
            status,
            retry_after,
            body: body.to_vec(),
        })
    }
}

/// A transport error without the URL (which may carry a token) in its message.
fn transport_error(endpoint: &str, e: &reqwest::Error) -> DingTalkError {
    let timeout = e.is_timeout();
    let mut message = String::from(if timeout {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    });
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    DingTalkError::Transport {
        endpoint: endpoint.to_string(),
        message,
        timeout,
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let secs = (when.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// Maps a response to `T` or a typed error (same rules for the legacy and the new API).
fn parse<T: DeserializeOwned>(endpoint: &str, raw: Raw) -> Result<T, DingTalkError> {
    let json = serde_json::from_slice::<Value>(&raw.body);
    if !(200..300).contains(&raw.status) {
        return Err(status_error(endpoint, &raw, json.as_ref().ok()));
    }
    let value = json.map_err(|e| DingTalkError::Decode {
        endpoint: endpoint.to_string(),
        message: format!("body is not JSON ({e})"),
    })?;
    if let Some(err) = legacy_error(endpoint, &raw, &value)? {
        return Err(err);
    }
    serde_json::from_value(value).map_err(|e| DingTalkError::Decode {
        endpoint: endpoint.to_string(),
        message: e.to_string(),
    })
}

/// The error for a non-2xx response: a new-API `code`, a legacy `errcode`, or just the status.
fn status_error(endpoint: &str, raw: &Raw, json: Option<&Value>) -> DingTalkError {
    if let Some(v) = json {
        if let Some(code) = v
            .get("code")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
        {
            return DingTalkError::Api {
                endpoint: endpoint.to_string(),
                status: raw.status,
                code: code.to_string(),
                errcode: None,
                message: text(v, "message").unwrap_or_default(),
                kind: classify_new_api(code, raw.status),
                retry_after: raw.retry_after,
            };
        }
        if let Ok(Some(err)) = legacy_error(endpoint, raw, v) {
            return err;
        }
    }
    // The IP-ban body (`{"status":1111,"wait":5,...}`) says how long to wait.
    let wait = json
        .and_then(|v| v.get("wait"))
        .and_then(lenient::value_i64)
        .and_then(|w| u64::try_from(w).ok())
        .map(Duration::from_secs);
    DingTalkError::HttpStatus {
        endpoint: endpoint.to_string(),
        status: raw.status,
        retry_after: raw.retry_after.or(wait),
    }
}

/// `Some(error)` when the body carries a non-zero legacy `errcode`.
fn legacy_error(
    endpoint: &str,
    raw: &Raw,
    v: &Value,
) -> Result<Option<DingTalkError>, DingTalkError> {
    let Some(errcode) = v.get("errcode").filter(|c| !c.is_null()) else {
        return Ok(None);
    };
    let errcode = lenient::value_i64(errcode).ok_or_else(|| DingTalkError::Decode {
        endpoint: endpoint.to_string(),
        message: "errcode is not a number".to_string(),
    })?;
    if errcode == 0 {
        return Ok(None);
    }
    let sub_code = text(v, "sub_code").filter(|s| !s.is_empty());
    let (code, message) = match (&sub_code, errcode) {
        (Some(sub), 88) => (
            sub.clone(),
            text(v, "sub_msg")
                .or_else(|| text(v, "errmsg"))
                .unwrap_or_default(),
        ),
        _ => (errcode.to_string(), text(v, "errmsg").unwrap_or_default()),
    };
    Ok(Some(DingTalkError::Api {
        endpoint: endpoint.to_string(),
        status: raw.status,
        code,
        errcode: Some(errcode),
        message,
        kind: classify_legacy(errcode, sub_code.as_deref()),
        retry_after: raw.retry_after,
    }))
}

/// A field as text, whether DingTalk sent it as a string or a number.
fn text(v: &Value, field: &str) -> Option<String> {
    match v.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Lenient deserializers: DingTalk sometimes sends numbers as strings (and null for lists).
mod lenient {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// A number or a numeric string as `i64`.
    pub fn value_i64(v: &Value) -> Option<i64> {
        match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let v = Value::deserialize(d)?;
        value_i64(&v).ok_or_else(|| D::Error::custom(format!("expected an integer, got {v}")))
    }

    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            v => value_i64(&v)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("expected an integer, got {v}"))),
        }
    }

    pub fn i64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(opt_i64(d)?.unwrap_or(0))
    }

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(D::Error::custom("expected a string")),
        }
    }

    pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(D::Error::custom("expected a list of strings")),
                })
                .collect(),
            // Some legacy answers send a comma-joined string instead of a list.
            Value::String(s) => Ok(s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()),
            _ => Err(D::Error::custom("expected a list of strings")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(status: u16, body: &str) -> Raw {
        Raw {
            status,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn authorize_url_encodes_every_value_and_uses_percent_20_for_spaces() {
        let client = DingTalkClient::new(ClientConfig::single_host("http://sim:1/")).unwrap();
        let url = client.authorize_url("suite key", "https://a.example/cb?x=1&y=2", "p::n/1");
        assert_eq!(
            url,
            "http://sim:1/oauth2/auth?redirect_uri=https%3A%2F%2Fa.example%2Fcb%3Fx%3D1%26y%3D2\
             &response_type=code&client_id=suite%20key&scope=openid%20corpid&prompt=consent\
             &state=p%3A%3An%2F1"
        );
        let parsed = url::Url::parse(&url).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("redirect_uri".into(), "https://a.example/cb?x=1&y=2".into())));
        assert!(pairs.contains(&("scope".into(), "openid corpid".into())));
    }

    #[test]
    fn numbers_sent_as_strings_are_accepted() {
        let r: UnionIdResponse = parse(
            "/x",
            raw(
                200,
                r#"{"errcode":"0","result":{"userid":"u1","contact_type":"1"}}"#,
            ),
        )
        .unwrap();
        assert_eq!(
            (r.result.userid.as_str(), r.result.contact_type),
            ("u1", Some(1))
        );
        let t: TaskIdResponse = parse("/x", raw(200, r#"{"errcode":0,"task_id":"42"}"#)).unwrap();
        assert_eq!(t.task_id, 42);
        let t: NewToken =
            parse("/x", raw(200, r#"{"accessToken":"a","expireIn":"7200"}"#)).unwrap();
        assert_eq!(t.expire_in, Some(7200));
        let p: ProgressResponse = parse(
            "/x",
            raw(
                200,
                r#"{"errcode":0,"progress":{"progress_in_percent":"100","status":"2"}}"#,
            ),
        )
        .unwrap();
        assert_eq!(
            p.progress,
            SendProgress {
                progress_in_percent: 100,
                status: 2
            }
        );
    }

    #[test]
    fn send_result_lists_accept_null_and_missing() {
        let r: SendResultResponse = parse(
            "/x",
            raw(
                200,
                r#"{"errcode":0,"send_result":{"invalid_user_id_list":null,"read_user_id_list":["a","b"]}}"#,
            ),
        )
        .unwrap();
        assert!(r.send_result.invalid_user_id_list.is_empty());
        assert_eq!(r.send_result.read_user_id_list, vec!["a", "b"]);
    }

    #[test]
    fn legacy_error_with_string_errcode_is_an_api_error() {
        let err = parse::<TaskIdResponse>("/x", raw(200, r#"{"errcode":"60121","errmsg":"no"}"#))
            .unwrap_err();
        assert_eq!(err.errcode(), Some(60121));
        assert_eq!(err.kind(), crate::ErrorKind::NotInOrg);
    }

    #[test]
    fn ip_ban_body_becomes_http_status_with_its_wait() {
        let err = parse::<TaskIdResponse>(
            "/x",
            raw(
                403,
                r#"{"status":1111,"wait":5,"source":"x5","punish":"deny"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::RateLimited);
        match err {
            DingTalkError::HttpStatus {
                status,
                retry_after,
                ..
            } => {
                assert_eq!(status, 403);
                assert_eq!(retry_after, Some(Duration::from_secs(5)));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn retry_after_parses_seconds_and_rejects_garbage() {
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT"),
            Some(Duration::ZERO)
        );
    }
}
