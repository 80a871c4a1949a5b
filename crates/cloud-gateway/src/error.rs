//! The one error type of the service. The variant decides the status; every error answers
//! `{errcode, errmsg, request_id}`; a 5xx says nothing internal. Errors are logged once, here,
//! where they become a response.

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use dingtalk_core::wire::ErrorBody;
use dingtalk_core::{DingTalkError, ErrorKind};

use crate::telemetry::current_request_id;

/// What went wrong while handling a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; the message says what to fix.
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing or wrong edge credentials.
    #[error("edge credentials are missing or wrong")]
    Unauthorized,
    /// 403: the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: nothing there.
    #[error("{0}")]
    NotFound(String),
    /// 409: the Idempotency-Key was used with another body.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is too large.
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 502 with DingTalk's own errcode: DingTalk refused the call for good.
    #[error("DingTalk refused the call: {errmsg}")]
    DingTalkRefused {
        /// DingTalk's errcode.
        errcode: i64,
        /// DingTalk's errmsg.
        errmsg: String,
    },
    /// 502/503/504: DingTalk could not be reached or kept failing.
    #[error("DingTalk call failed: {0}")]
    DingTalk(DingTalkError),
    /// 503: a dependency (the database, the suite ticket) is not available yet.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure (details logged, not returned).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A generic 500 from anything displayable; the detail is only logged.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        ApiError::Internal(err.to_string())
    }
}

impl From<DingTalkError> for ApiError {
    /// Permanent DingTalk errors carrying an errcode become 502 with that errcode.
    fn from(err: DingTalkError) -> Self {
        match &err {
            DingTalkError::Api {
                errcode, message, ..
            } if !err.is_retryable() => ApiError::DingTalkRefused {
                errcode: errcode.unwrap_or(502),
                errmsg: message.clone(),
            },
            _ => ApiError::DingTalk(err),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => ApiError::NotFound("not found".into()),
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::Unknown,
                ref info,
            ) if info.message().contains("locked") || info.message().contains("busy") => {
                ApiError::Unavailable(format!("database busy: {}", info.message()))
            }
            other => ApiError::Internal(format!("database: {other}")),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable(format!("database pool: {err}"))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        ApiError::Unavailable(format!("blocking pool: {err}"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::DingTalkRefused { .. } => StatusCode::BAD_GATEWAY,
            ApiError::DingTalk(err) => match err {
                DingTalkError::Transport { timeout: true, .. } => StatusCode::GATEWAY_TIMEOUT,
                e if matches!(e.kind(), ErrorKind::Transient | ErrorKind::RateLimited) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                _ => StatusCode::BAD_GATEWAY,
            },
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let request_id = current_request_id();
        let (errcode, errmsg) = match self {
            ApiError::DingTalkRefused { errcode, errmsg } => (*errcode, errmsg.clone()),
            ApiError::DingTalk(_) => (
                i64::from(status.as_u16()),
                "DingTalk could not be reached or kept failing; try again later".to_string(),
            ),
            ApiError::Unavailable(_) => (
                i64::from(status.as_u16()),
                "the service is temporarily unavailable; try again later".to_string(),
            ),
            ApiError::Internal(_) => (
                i64::from(status.as_u16()),
                "internal error; quote the request_id when reporting it".to_string(),
            ),
            other => (i64::from(status.as_u16()), other.to_string()),
        };
        if status.is_server_error() {
            log::error!("request_id={request_id}: {status}: {self}");
        } else {
            log::info!("request_id={request_id}: {status}: {errmsg}");
        }
        let mut builder = HttpResponse::build(status);
        builder.insert_header(ContentType::json());
        if matches!(self, ApiError::Unauthorized) {
            builder.insert_header((
                header::WWW_AUTHENTICATE,
                "Basic realm=\"dingtalk-cloud\", charset=\"UTF-8\"",
            ));
        }
        builder.json(ErrorBody {
            errcode,
            errmsg,
            request_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diesel_not_found_is_a_404() {
        let err: ApiError = diesel::result::Error::NotFound.into();
        assert_eq!(err.status_code(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn a_permanent_dingtalk_error_is_a_502_with_its_errcode() {
        let err: ApiError = DingTalkError::Api {
            endpoint: "/x".into(),
            status: 200,
            code: "885001".into(),
            errcode: Some(885001),
            message: "template not found".into(),
            kind: ErrorKind::Other,
            retry_after: None,
        }
        .into();
        assert_eq!(err.status_code(), StatusCode::BAD_GATEWAY);
        assert!(matches!(
            err,
            ApiError::DingTalkRefused {
                errcode: 885001,
                ..
            }
        ));
    }

    #[test]
    fn a_5xx_body_says_nothing_internal() {
        let err = ApiError::Internal("secret detail /var/db".into());
        let res = err.error_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = actix_web::body::to_bytes(res.into_body());
        let bytes = futures::executor::block_on(body).unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(!text.contains("secret detail"), "{text}");
    }
}
