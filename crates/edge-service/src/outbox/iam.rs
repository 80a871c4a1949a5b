//! The optional IAM bind webhook: `POST {iam.bind_url}` with `{staff_id, tenant_id, dingding_id,
//! name}`, forwarding the binding caller's `x-authenticated-userid`. Queued in the outbox by the
//! bind transaction. Delivery is at least once; every attempt carries the outbox row id as
//! `Idempotency-Key`, so a receiver can drop repeats.

use std::time::Duration;

use dingtalk_core::wire::{IDEMPOTENCY_KEY_HEADER, REQUEST_ID_HEADER};
use serde::{Deserialize, Serialize};

use crate::cloud::Delivery;

/// The header naming the authenticated caller (set by the intranet's API gateway).
pub const AUTHENTICATED_USERID_HEADER: &str = "x-authenticated-userid";

/// The webhook body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamBind {
    /// The staff id.
    pub staff_id: String,
    /// The tenant id.
    pub tenant_id: String,
    /// The DingTalk org userid.
    pub dingding_id: String,
    /// The DingTalk nick.
    pub name: String,
}

/// What an `iam` outbox row stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamPayload {
    /// The body to post.
    pub body: IamBind,
    /// The caller's `x-authenticated-userid`, forwarded.
    pub authenticated_userid: Option<String>,
}

/// Posts IAM announcements.
#[derive(Clone)]
pub struct IamClient {
    http: reqwest::Client,
    url: String,
}

impl IamClient {
    /// A client for `iam.bind_url`.
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        Ok(IamClient {
            http: crate::cloud::http_client(timeout)?,
            url: url.to_string(),
        })
    }

    /// Delivers one announcement (outbox row `row_id`).
    pub async fn deliver(
        &self,
        row_id: uuid::Uuid,
        payload: &IamPayload,
        request_id: &str,
    ) -> Delivery {
        let mut req = self
            .http
            .post(&self.url)
            .header(IDEMPOTENCY_KEY_HEADER, row_id.to_string())
            .header(REQUEST_ID_HEADER, request_id)
            .json(&payload.body);
        if let Some(user) = &payload.authenticated_userid {
            req = req.header(AUTHENTICATED_USERID_HEADER, user);
        }
        match req.send().await {
            Ok(res) if res.status().is_success() => Delivery::Delivered(Vec::new()),
            Ok(res) => {
                let status = res.status().as_u16();
                let message = format!("IAM webhook answered HTTP {status}");
                if matches!(status, 408 | 429 | 500..=599) {
                    Delivery::Retry(message)
                } else {
                    Delivery::Permanent(message)
                }
            }
            Err(e) => Delivery::Retry(format!("IAM webhook unreachable: {}", e.without_url())),
        }
    }
}
