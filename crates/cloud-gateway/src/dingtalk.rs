//! The gateway's use of DingTalk: the client, the token cache and the retry policy together, with
//! every call counted in the metrics. Corp tokens come from the suite ticket (isv) or the app
//! credentials (internal), cached per (app key, corp).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use dingtalk_core::client::{ClientConfig, UnionIdLookup, UserAccessToken, UserProfile};
use dingtalk_core::retry::RetryPolicy;
use dingtalk_core::token::{AccessToken, TokenCache, TokenKey};
use dingtalk_core::{DingTalkClient, DingTalkError};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{DingTalkSettings, Mode};
use crate::metrics::Metrics;

/// DingTalk as the gateway uses it. Cheap to clone.
#[derive(Clone)]
pub struct DingTalk {
    client: DingTalkClient,
    tokens: TokenCache,
    retry: RetryPolicy,
    settings: Arc<DingTalkSettings>,
    metrics: Metrics,
}

impl DingTalk {
    /// Builds the client from the settings.
    pub fn new(settings: &DingTalkSettings, metrics: Metrics) -> Result<Self, DingTalkError> {
        let client = DingTalkClient::new(ClientConfig {
            // The client joins paths to these without doubling a trailing slash.
            login_base: settings.login_base.clone(),
            api_base: settings.api_base.clone(),
            oapi_base: settings.oapi_base.clone(),
            connect_timeout: Duration::from_secs(3.min(settings.request_timeout_secs)),
            request_timeout: Duration::from_secs(settings.request_timeout_secs),
        })?;
        let retry = RetryPolicy {
            max_attempts: settings.retry_max_attempts,
            max_elapsed: Duration::from_secs(settings.retry_max_elapsed_secs),
            ..RetryPolicy::default()
        };
        Ok(DingTalk {
            client,
            tokens: TokenCache::default(),
            retry,
            settings: Arc::new(settings.clone()),
            metrics,
        })
    }

    /// The browser authorize URL.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        self.client
            .authorize_url(&self.settings.app_key, redirect_uri, state)
    }

    /// Exchanges a login code for a user token (not retried: a code is single-use).
    pub async fn user_access_token(&self, code: &str) -> Result<UserAccessToken, DingTalkError> {
        let result = self
            .client
            .user_access_token(
                &self.settings.app_key,
                self.settings.app_secret.expose_secret(),
                code,
            )
            .await;
        self.metrics.observe_call("userAccessToken", &result);
        result
    }

    /// The logged-in user's profile.
    pub async fn user_me(&self, user_token: &SecretString) -> Result<UserProfile, DingTalkError> {
        self.retry
            .run("users/me", || async {
                let result = self.client.user_me(user_token.expose_secret()).await;
                self.metrics.observe_call("users/me", &result);
                result
            })
            .await
    }

    /// The org userid of `unionid` in `corp_id`.
    pub async fn userid_by_unionid(
        &self,
        corp_id: &str,
        suite_ticket: Option<&str>,
        unionid: &str,
    ) -> Result<UnionIdLookup, DingTalkError> {
        self.with_corp_token(corp_id, suite_ticket, "getbyunionid", |token| async move {
            self.client
                .get_by_unionid(token.expose_secret(), unionid)
                .await
        })
        .await
    }

    /// Runs `op` with the corp token of `corp_id` (refreshed once on token-invalid), retried by
    /// the policy, each attempt counted under `api`.
    pub async fn with_corp_token<T, Op, Fut>(
        &self,
        corp_id: &str,
        suite_ticket: Option<&str>,
        api: &str,
        op: Op,
    ) -> Result<T, DingTalkError>
    where
        Op: Fn(SecretString) -> Fut,
        Fut: Future<Output = Result<T, DingTalkError>>,
    {
        let key = TokenKey {
            app: self.settings.app_key.clone(),
            corp: corp_id.to_string(),
        };
        self.retry
            .run(api, || {
                self.tokens.with_token(
                    &key,
                    || self.fetch_corp_token(corp_id, suite_ticket),
                    |token| {
                        let fut = op(token);
                        async move {
                            let result = fut.await;
                            self.metrics.observe_call(api, &result);
                            result
                        }
                    },
                )
            })
            .await
    }

    async fn fetch_corp_token(
        &self,
        corp_id: &str,
        suite_ticket: Option<&str>,
    ) -> Result<AccessToken, DingTalkError> {
        let s = &self.settings;
        let (kind, result) = match s.mode {
            Mode::Isv => (
                "corpAccessToken",
                self.client
                    .corp_access_token(
                        &s.app_key,
                        s.app_secret.expose_secret(),
                        corp_id,
                        suite_ticket.unwrap_or_default(),
                    )
                    .await,
            ),
            Mode::Internal => (
                "accessToken",
                self.client
                    .app_access_token(&s.app_key, s.app_secret.expose_secret())
                    .await,
            ),
        };
        self.metrics.observe_call(kind, &result);
        // A failure is logged by the token cache.
        self.metrics.observe_token_refresh(kind, result.is_ok());
        result
    }

    /// The underlying client (message sends).
    pub fn client(&self) -> &DingTalkClient {
        &self.client
    }
}
