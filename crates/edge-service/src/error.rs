//! The one error type of the edge's handlers. The variant decides the status; every error body is
//! `{errcode, errmsg, request_id}`; a 5xx never carries internal detail (that goes to the log,
//! once, here).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use dingtalk_core::wire::ErrorBody;

use crate::request_id;

/// What went wrong while handling a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input: the message says what to fix.
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there.
    #[error("{0}")]
    NotFound(String),
    /// The route exists, the method does not.
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// The body is larger than the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Conflicts with stored state.
    #[error("{0}")]
    Conflict(String),
    /// The cloud gateway could not be reached or failed (the detail is logged, not answered).
    #[error("the cloud gateway is unavailable, nothing was stored; retry later")]
    CloudUnavailable(String),
    /// The cloud gateway refused this edge's credentials: the edge is misconfigured.
    #[error("the cloud gateway refused this edge's credentials, nothing was stored; the operator should check cloud.edge_id and cloud.edge_secret")]
    CloudRefusedCredentials,
    /// The database could not be used (the detail is logged, not answered).
    #[error("the database is unavailable; retry later")]
    Database(String),
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound("not found".into()),
            other => AppError::Database(other.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Database(format!("connection pool: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Database(format!("blocking pool: {e}"))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::CloudRefusedCredentials => StatusCode::BAD_GATEWAY,
            AppError::CloudUnavailable(_) | AppError::Database(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let request_id = request_id::current();
        match self {
            AppError::CloudUnavailable(detail) | AppError::Database(detail) => {
                log::error!("[{request_id}] {status}: {self} ({detail})");
            }
            AppError::CloudRefusedCredentials => log::error!("[{request_id}] {status}: {self}"),
            _ => log::info!("[{request_id}] {status}: {self}"),
        }
        HttpResponse::build(status).json(ErrorBody {
            errcode: i64::from(status.as_u16()),
            errmsg: self.to_string(),
            request_id,
        })
    }
}
