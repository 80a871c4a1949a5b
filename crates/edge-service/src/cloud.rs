//! The client of the cloud gateway's internal API (HTTP Basic with the edge's id and secret,
//! `x-request-id` forwarded). Errors never carry URLs (an auth code is part of one) or secrets.

use std::time::Duration;

use dingtalk_core::error::{classify_legacy, ErrorKind};
use dingtalk_core::wire::{
    EdgeUser, ErrorBody, SendRequest, SendResult, IDEMPOTENCY_KEY_HEADER, REQUEST_ID_HEADER,
};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

/// What the operator reads when the cloud answers 401: the settings to check (never their values).
pub const CREDENTIALS_REFUSED: &str =
    "the cloud refused this edge's credentials (check cloud.edge_id and cloud.edge_secret)";

/// Why the cloud did not hand out a user.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Unknown, expired or already used code.
    #[error("the auth code is unknown, expired or already used; log in again")]
    NotFound,
    /// The code was issued for another edge.
    #[error("the auth code was issued for another edge; log in again through this edge's page")]
    Forbidden,
    /// The cloud refused this edge's id and secret (a configuration problem of this edge).
    #[error("{CREDENTIALS_REFUSED}")]
    CredentialsRefused,
    /// The cloud could not be reached, timed out or failed.
    #[error("{0}")]
    Unavailable(String),
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Accepted, with DingTalk's task ids.
    Delivered(Vec<i64>),
    /// Failed in a way that can heal: try again later.
    Retry(String),
    /// Failed for good.
    Permanent(String),
}

/// The cloud gateway, as the edge sees it.
///
/// A reqwest client's pooled connections are driven by tasks of the runtime that opened them;
/// give each runtime (each actix worker, the outbox worker) its own client with [`Self::fresh`],
/// so that a runtime shutting down never breaks another one's requests.
#[derive(Clone)]
pub struct CloudClient {
    http: reqwest::Client,
    base_url: url::Url,
    edge_id: String,
    edge_secret: SecretString,
    timeout: Duration,
}

impl CloudClient {
    /// A client with the given per-call timeout.
    pub fn new(
        base_url: &str,
        edge_id: &str,
        edge_secret: SecretString,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(CloudClient {
            http: http_client(timeout)?,
            base_url: url::Url::parse(base_url)?,
            edge_id: edge_id.to_string(),
            edge_secret,
            timeout,
        })
    }

    /// The same client with its own connection pool (see the type's docs).
    pub fn fresh(&self) -> CloudClient {
        CloudClient {
            // The builder succeeded once with these settings; should it not now, sharing the
            // existing pool is the lesser evil.
            http: http_client(self.timeout).unwrap_or_else(|_| self.http.clone()),
            ..self.clone()
        }
    }

    fn url(&self, segments: &[&str]) -> Result<url::Url, String> {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| "cloud.base_url cannot carry a path".to_string())?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// `GET /dingding/internal/user/{auth_code}`: the user behind a one-time code.
    pub async fn take_user(
        &self,
        auth_code: &str,
        request_id: &str,
    ) -> Result<EdgeUser, UserError> {
        let url = self
            .url(&["dingding", "internal", "user", auth_code])
            .map_err(UserError::Unavailable)?;
        let res = self
            .http
            .get(url)
            .basic_auth(&self.edge_id, Some(self.edge_secret.expose_secret()))
            .header(REQUEST_ID_HEADER, request_id)
            .send()
            .await
            .map_err(|e| UserError::Unavailable(transport_message(e)))?;
        match res.status() {
            StatusCode::OK => res.json::<EdgeUser>().await.map_err(|e| {
                UserError::Unavailable(format!(
                    "unreadable user from the cloud: {}",
                    e.without_url()
                ))
            }),
            StatusCode::NOT_FOUND => Err(UserError::NotFound),
            StatusCode::FORBIDDEN => Err(UserError::Forbidden),
            StatusCode::UNAUTHORIZED => Err(UserError::CredentialsRefused),
            other => Err(UserError::Unavailable(format!(
                "the cloud answered HTTP {other}"
            ))),
        }
    }

    /// `POST /dingding/internal/send/messages` with the outbox row id as the idempotency key.
    pub async fn send(&self, key: Uuid, request_id: &str, body: &SendRequest) -> Delivery {
        let url = match self.url(&["dingding", "internal", "send", "messages"]) {
            Ok(url) => url,
            Err(e) => return Delivery::Retry(e),
        };
        let res = self
            .http
            .post(url)
            .basic_auth(&self.edge_id, Some(self.edge_secret.expose_secret()))
            .header(IDEMPOTENCY_KEY_HEADER, key.to_string())
            .header(REQUEST_ID_HEADER, request_id)
            .json(body)
            .send()
            .await;
        let res = match res {
            Ok(res) => res,
            Err(e) => return Delivery::Retry(transport_message(e)),
        };
        let status = res.status();
        if status == StatusCode::OK {
            return match res.json::<SendResult>().await {
                Ok(result) => Delivery::Delivered(result.task_ids),
                Err(e) => Delivery::Retry(format!(
                    "unreadable answer from the cloud: {}",
                    e.without_url()
                )),
            };
        }
        let error: Option<ErrorBody> = res.json().await.ok();
        classify_send_failure(status.as_u16(), error.as_ref())
    }
}

/// An HTTP client for the edge's outgoing calls (the cloud, the IAM webhook): `timeout` per call,
/// connecting within at most 5 s, never following redirects.
pub(crate) fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Decides what a failed send answer means for the outbox row.
pub fn classify_send_failure(status: u16, error: Option<&ErrorBody>) -> Delivery {
    let detail = error.map_or_else(String::new, |e| {
        format!(": {} (errcode {})", e.errmsg, e.errcode)
    });
    let mut message = format!("cloud answered HTTP {status}{detail}");
    if matches!(status, 401 | 403) {
        message = format!("{message}: {CREDENTIALS_REFUSED}");
    }
    match status {
        // A DingTalk error relayed by the cloud: permanent unless the code can heal.
        502 => match error.map(|e| e.errcode).filter(|code| *code != 502) {
            Some(code) => match classify_legacy(code, None) {
                ErrorKind::Transient | ErrorKind::RateLimited | ErrorKind::TokenInvalid => {
                    Delivery::Retry(message)
                }
                _ => Delivery::Permanent(message),
            },
            None => Delivery::Retry(message),
        },
        // Configuration problems (credentials) heal when the operator fixes them. A 409 cannot
        // mean "same key, other body" for the edge (a row's body never changes), so it is the
        // cloud saying an earlier attempt with this key is still in progress: wait for it.
        401 | 403 | 408 | 409 | 429 => Delivery::Retry(message),
        500..=599 => Delivery::Retry(message),
        _ => Delivery::Permanent(message),
    }
}

/// A transport error without its URL.
pub fn transport_message(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    format!("cloud {kind}: {}", e.without_url())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(errcode: i64) -> ErrorBody {
        ErrorBody {
            errcode,
            errmsg: "x".into(),
            request_id: "r".into(),
        }
    }

    #[test]
    fn server_errors_and_rate_limits_are_retried() {
        for status in [500, 503, 504, 408, 409, 429, 401, 403] {
            assert!(
                matches!(classify_send_failure(status, None), Delivery::Retry(_)),
                "{status}"
            );
        }
    }

    #[test]
    fn a_refused_delivery_names_the_credential_settings_to_check() {
        for status in [401, 403] {
            let Delivery::Retry(message) = classify_send_failure(status, None) else {
                panic!("{status} is retried");
            };
            assert!(message.contains("credentials"), "{message}");
            assert!(message.contains("cloud.edge_id"), "{message}");
            assert!(message.contains("cloud.edge_secret"), "{message}");
        }
    }

    #[test]
    fn client_errors_and_permanent_dingtalk_errors_fail_at_once() {
        for status in [400, 404, 422] {
            assert!(
                matches!(classify_send_failure(status, None), Delivery::Permanent(_)),
                "{status}"
            );
        }
        assert!(matches!(
            classify_send_failure(502, Some(&body(33012))),
            Delivery::Permanent(_)
        ));
    }

    #[test]
    fn transient_dingtalk_errors_relayed_as_502_are_retried() {
        assert!(matches!(
            classify_send_failure(502, Some(&body(-1))),
            Delivery::Retry(_)
        ));
        assert!(matches!(
            classify_send_failure(502, Some(&body(90018))),
            Delivery::Retry(_)
        ));
        assert!(matches!(
            classify_send_failure(502, None),
            Delivery::Retry(_)
        ));
    }
}
