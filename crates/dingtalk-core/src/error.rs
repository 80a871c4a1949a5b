//! Typed DingTalk errors. Transport failures, HTTP status failures and DingTalk error codes are
//! kept apart, and each error says whether a retry or a token refresh can help.

use std::time::Duration;

/// How a DingTalk failure should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The access token is invalid or expired (40001, 40014, 42001, 88/40014, `InvalidAuthentication`,
    /// `accesstoken.expired`…): refresh the token once and retry.
    TokenInvalid,
    /// A rate limit (90018, 90002, 90001, 90003–90014, 90017, `Forbidden.AccessDenied.Qps*`,
    /// `system.busy`, HTTP 429): back off and retry.
    RateLimited,
    /// The user is not a member of the org (60121).
    NotInOrg,
    /// The app lacks a permission or IP whitelisting (60011, 60020, `Forbidden.AccessDenied.*Permission*`).
    PermissionMissing,
    /// A failure that can heal by itself (network, timeout, 5xx, errcode -1, 88 without sub_code, 15).
    Transient,
    /// Anything else: permanent, do not retry.
    Other,
}

/// An error from a DingTalk call.
#[derive(Debug, thiserror::Error)]
pub enum DingTalkError {
    /// The request did not complete: connection refused, reset, DNS, TLS, or a timeout.
    #[error("transport error calling {endpoint}: {message}")]
    Transport {
        /// The DingTalk path that was called (no query string, never a token).
        endpoint: String,
        /// What went wrong.
        message: String,
        /// Whether the failure was a timeout.
        timeout: bool,
    },
    /// DingTalk answered with a non-success HTTP status and no recognisable error body.
    #[error("HTTP {status} from {endpoint}")]
    HttpStatus {
        /// The DingTalk path that was called.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` delay, when the response carried one.
        retry_after: Option<Duration>,
    },
    /// DingTalk answered with an error code: a legacy `errcode` (with `sub_code`) or a new-API `code`.
    #[error("DingTalk error {code} from {endpoint}: {message}")]
    Api {
        /// The DingTalk path that was called.
        endpoint: String,
        /// The HTTP status of the response (200 for legacy errors).
        status: u16,
        /// The error code as DingTalk sent it: the legacy errcode (e.g. `"60121"`), the legacy
        /// `sub_code` when errcode was 88 and a sub_code was present, or the new API's `code`
        /// (e.g. `"InvalidAuthentication"`).
        code: String,
        /// The legacy numeric errcode, when there was one (the value returned to edges on 502).
        errcode: Option<i64>,
        /// DingTalk's message (`errmsg`, `sub_msg` or `message`).
        message: String,
        /// How to handle it.
        kind: ErrorKind,
        /// The `Retry-After` delay, when the response carried one.
        retry_after: Option<Duration>,
    },
    /// The response could not be parsed as the expected shape.
    #[error("unexpected response from {endpoint}: {message}")]
    Decode {
        /// The DingTalk path that was called.
        endpoint: String,
        /// What did not parse.
        message: String,
    },
}

impl DingTalkError {
    /// How this failure should be handled. A bare 4xx carrying `Retry-After` (e.g. the IP-ban
    /// answer with its `wait`) is a rate limit, whatever its status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DingTalkError::Transport { .. } => ErrorKind::Transient,
            DingTalkError::HttpStatus {
                status,
                retry_after: Some(_),
                ..
            } if *status < 500 => ErrorKind::RateLimited,
            DingTalkError::HttpStatus { status, .. } => classify_http_status(*status),
            DingTalkError::Api { kind, .. } => *kind,
            DingTalkError::Decode { .. } => ErrorKind::Other,
        }
    }

    /// Whether waiting and trying again can help (transient failures and rate limits).
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::Transient | ErrorKind::RateLimited)
    }

    /// Whether refreshing the access token and trying again can help.
    pub fn is_token_invalid(&self) -> bool {
        self.kind() == ErrorKind::TokenInvalid
    }

    /// The delay DingTalk asked for with `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DingTalkError::HttpStatus { retry_after, .. }
            | DingTalkError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The legacy numeric errcode, if DingTalk sent one.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            DingTalkError::Api { errcode, .. } => *errcode,
            _ => None,
        }
    }
}

/// Classifies an HTTP status without a recognisable DingTalk error body.
pub fn classify_http_status(status: u16) -> ErrorKind {
    match status {
        429 => ErrorKind::RateLimited,
        401 => ErrorKind::TokenInvalid,
        403 => ErrorKind::PermissionMissing,
        500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Other,
    }
}

/// Classifies a legacy `errcode` with its optional `sub_code`.
pub fn classify_legacy(errcode: i64, sub_code: Option<&str>) -> ErrorKind {
    match (errcode, sub_code.filter(|s| !s.is_empty())) {
        (88, None) => ErrorKind::Transient,
        (88, Some(sub)) => match sub.parse::<i64>() {
            Ok(code) if code != 88 => classify_legacy(code, None),
            _ => classify_new_api(sub, 200),
        },
        (-1 | 15, _) => ErrorKind::Transient,
        (40001 | 40014 | 42001 | 41001, _) => ErrorKind::TokenInvalid,
        (90001..=90014 | 90017 | 90018, _) => ErrorKind::RateLimited,
        (60121, _) => ErrorKind::NotInOrg,
        (60011 | 60020, _) => ErrorKind::PermissionMissing,
        _ => ErrorKind::Other,
    }
}

/// Classifies a new-API (`api.dingtalk.com`) error `code` with the response's HTTP status.
pub fn classify_new_api(code: &str, status: u16) -> ErrorKind {
    let lower = code.to_ascii_lowercase();
    if lower == "invalidauthentication"
        || lower == "accesstoken.expired"
        || lower.starts_with("authenticationfailed")
    {
        ErrorKind::TokenInvalid
    } else if lower.contains("qpslimit")
        || lower.contains("qpmlimit")
        || lower == "system.busy"
        || lower == "systembusy"
        || lower == "throttling"
        || status == 429
    {
        ErrorKind::RateLimited
    } else if lower.contains("permissiondenied") || lower.contains("ipnotinwhitelist") {
        ErrorKind::PermissionMissing
    } else if status >= 500 || lower == "server.error" || lower == "unknownerror" {
        ErrorKind::Transient
    } else {
        ErrorKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_codes_are_classified_as_the_api_document_says() {
        assert_eq!(classify_legacy(88, None), ErrorKind::Transient);
        assert_eq!(classify_legacy(88, Some("")), ErrorKind::Transient);
        assert_eq!(classify_legacy(88, Some("40014")), ErrorKind::TokenInvalid);
        assert_eq!(classify_legacy(88, Some("40000")), ErrorKind::Other);
        assert_eq!(classify_legacy(-1, None), ErrorKind::Transient);
        assert_eq!(classify_legacy(15, None), ErrorKind::Transient);
        for code in [40001, 40014, 42001, 41001] {
            assert_eq!(
                classify_legacy(code, None),
                ErrorKind::TokenInvalid,
                "{code}"
            );
        }
        for code in [90001, 90002, 90014, 90017, 90018] {
            assert_eq!(
                classify_legacy(code, None),
                ErrorKind::RateLimited,
                "{code}"
            );
        }
        assert_eq!(classify_legacy(60121, None), ErrorKind::NotInOrg);
        assert_eq!(classify_legacy(60011, None), ErrorKind::PermissionMissing);
        assert_eq!(classify_legacy(60020, None), ErrorKind::PermissionMissing);
        assert_eq!(classify_legacy(400002, None), ErrorKind::Other);
    }

    #[test]
    fn new_api_codes_are_classified_with_their_status() {
        assert_eq!(
            classify_new_api("InvalidAuthentication", 400),
            ErrorKind::TokenInvalid
        );
        assert_eq!(
            classify_new_api("Forbidden.AccessDenied.QpmLimitForAppkeyAndApi", 403),
            ErrorKind::RateLimited
        );
        assert_eq!(
            classify_new_api("Forbidden.AccessDenied.IpNotInWhiteList", 403),
            ErrorKind::PermissionMissing
        );
        assert_eq!(classify_new_api("server.error", 500), ErrorKind::Transient);
        assert_eq!(classify_new_api("whatever", 429), ErrorKind::RateLimited);
        assert_eq!(classify_new_api("invalidCode", 400), ErrorKind::Other);
    }

    #[test]
    fn a_bare_status_with_retry_after_is_a_rate_limit() {
        let err = |status, retry_after| DingTalkError::HttpStatus {
            endpoint: "/x".into(),
            status,
            retry_after,
        };
        assert_eq!(
            err(403, Some(Duration::from_secs(5))).kind(),
            ErrorKind::RateLimited
        );
        assert_eq!(err(403, None).kind(), ErrorKind::PermissionMissing);
        assert_eq!(
            err(503, Some(Duration::from_secs(5))).kind(),
            ErrorKind::Transient
        );
        assert_eq!(err(502, None).kind(), ErrorKind::Transient);
        assert!(!err(400, None).is_retryable());
    }
}
