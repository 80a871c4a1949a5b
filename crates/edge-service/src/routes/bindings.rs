//! Binding staff to DingTalk users: `POST /dingding/local/bindings`, the original
//! `GET /dingding/local/auth/user/callback`, listing and unbinding.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{request_id, AppState};
use crate::cloud::{CloudClient, UserError};
use crate::db::bindings::{self, BindError};
use crate::db::models::{kind, BindingView, NewDingTalkUser, OutboxRow};
use crate::error::AppError;
use crate::outbox::iam::{IamBind, IamPayload, AUTHENTICATED_USERID_HEADER};
use crate::validate;

/// What to bind: a staff of a tenant to the DingTalk user behind a one-time auth code.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
pub struct BindRequest {
    /// The local staff id.
    pub staff_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The `authCode` the cloud put on the frontend's `/profile` redirect.
    pub auth_code: String,
}

/// A successful bind.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BindAnswer {
    /// Always `success`.
    pub status: String,
    /// The stored binding.
    pub binding: BindingView,
}

/// `GET /dingding/local/bindings` query.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// The tenant (required).
    pub tenant_id: String,
    /// Only this staff.
    pub staff_id: Option<String>,
    /// Page size, 1..=500 (default 50).
    pub limit: Option<i64>,
    /// Start after this staff id (the previous page's `next_after`).
    pub after: Option<String>,
}

/// A page of bindings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BindingPage {
    /// Bindings ordered by staff id.
    pub items: Vec<BindingView>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<String>,
}

/// Binds a staff to the DingTalk user behind `auth_code`.
#[utoipa::path(post, path = "/dingding/local/bindings", request_body = BindRequest, responses(
    (status = 200, body = BindAnswer),
    (status = 400, description = "bad input", body = dingtalk_core::wire::ErrorBody),
    (status = 403, description = "the auth code was issued for another edge; nothing stored", body = dingtalk_core::wire::ErrorBody),
    (status = 404, description = "unknown, expired or used auth code", body = dingtalk_core::wire::ErrorBody),
    (status = 409, description = "the DingTalk user is bound to another staff of the tenant", body = dingtalk_core::wire::ErrorBody),
    (status = 502, description = "the cloud refused this edge's credentials (check cloud.edge_id and cloud.edge_secret); nothing stored", body = dingtalk_core::wire::ErrorBody),
    (status = 503, description = "the cloud cannot be reached, timed out or failed; nothing stored", body = dingtalk_core::wire::ErrorBody)))]
pub async fn bind(
    state: web::Data<AppState>,
    cloud: web::Data<CloudClient>,
    req: HttpRequest,
    body: web::Json<BindRequest>,
) -> Result<HttpResponse, AppError> {
    do_bind(state, &cloud, req, body.into_inner()).await
}

/// The original binding endpoint (same behaviour as `POST /dingding/local/bindings`).
#[utoipa::path(get, path = "/dingding/local/auth/user/callback", params(BindRequest), responses(
    (status = 200, body = BindAnswer),
    (status = 400, body = dingtalk_core::wire::ErrorBody),
    (status = 403, body = dingtalk_core::wire::ErrorBody),
    (status = 404, body = dingtalk_core::wire::ErrorBody),
    (status = 409, body = dingtalk_core::wire::ErrorBody),
    (status = 502, body = dingtalk_core::wire::ErrorBody),
    (status = 503, body = dingtalk_core::wire::ErrorBody)))]
pub async fn bind_callback(
    state: web::Data<AppState>,
    cloud: web::Data<CloudClient>,
    req: HttpRequest,
    query: web::Query<BindRequest>,
) -> Result<HttpResponse, AppError> {
    do_bind(state, &cloud, req, query.into_inner()).await
}

async fn do_bind(
    state: web::Data<AppState>,
    cloud: &CloudClient,
    req: HttpRequest,
    body: BindRequest,
) -> Result<HttpResponse, AppError> {
    validate::id("staff_id", &body.staff_id)?;
    validate::id("tenant_id", &body.tenant_id)?;
    validate::id("auth_code", &body.auth_code)?;
    let rid = request_id(&req);
    let user = cloud
        .take_user(&body.auth_code, &rid)
        .await
        .map_err(|e| match e {
            UserError::NotFound => AppError::NotFound(e.to_string()),
            UserError::Forbidden => AppError::Forbidden(e.to_string()),
            UserError::CredentialsRefused => AppError::CloudRefusedCredentials,
            UserError::Unavailable(detail) => AppError::CloudUnavailable(detail),
        })?;
    let iam_row = if state.iam_enabled {
        let payload = IamPayload {
            body: IamBind {
                staff_id: body.staff_id.clone(),
                tenant_id: body.tenant_id.clone(),
                dingding_id: user.user_id.clone(),
                name: user.nick.clone(),
            },
            authenticated_userid: req
                .headers()
                .get(AUTHENTICATED_USERID_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        let payload = serde_json::to_value(&payload)
            .map_err(|e| AppError::Database(format!("encoding the IAM payload: {e}")))?;
        Some(OutboxRow::pending(
            Uuid::new_v4(),
            kind::IAM,
            &user.corp_id,
            payload,
            &rid,
        ))
    } else {
        None
    };
    let pool = state.pool.clone();
    let queued_iam = iam_row.is_some();
    let view = web::block(move || -> Result<BindingView, AppError> {
        let mut conn = pool.get()?;
        let new_user = NewDingTalkUser {
            corp_id: &user.corp_id,
            user_id: &user.user_id,
            union_id: &user.union_id,
            open_id: &user.open_id,
            nick: &user.nick,
            email: user.email.as_deref(),
            avatar_url: user.avatar_url.as_deref(),
            mobile: user.mobile.as_deref(),
        };
        bindings::bind(
            &mut conn,
            &body.tenant_id,
            &body.staff_id,
            &new_user,
            iam_row.as_ref(),
        )
        .map_err(|e| match e {
            BindError::AlreadyBound(_) => AppError::Conflict(e.to_string()),
            BindError::Db(db) => db.into(),
        })
    })
    .await??;
    if queued_iam {
        state.wake.notify_waiters();
    }
    log::info!(
        "[{rid}] tenant {} staff {} bound to {}/{}",
        view.tenant_id,
        view.staff_id,
        view.corp_id,
        view.user_id
    );
    Ok(HttpResponse::Ok().json(BindAnswer {
        status: "success".into(),
        binding: view,
    }))
}

/// Lists a tenant's bindings, paged by staff id.
#[utoipa::path(get, path = "/dingding/local/bindings", params(ListQuery), responses(
    (status = 200, body = BindingPage),
    (status = 400, body = dingtalk_core::wire::ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    validate::id("tenant_id", &q.tenant_id)?;
    validate::opt_id("staff_id", q.staff_id.as_deref())?;
    validate::opt_id("after", q.after.as_deref())?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::BadRequest(
            "limit must be between 1 and 500".into(),
        ));
    }
    let pool = state.pool.clone();
    let items = web::block(move || -> Result<Vec<BindingView>, AppError> {
        let mut conn = pool.get()?;
        Ok(bindings::list(
            &mut conn,
            &q.tenant_id,
            q.staff_id.as_deref(),
            q.after.as_deref(),
            limit,
        )?)
    })
    .await??;
    let next_after = if i64::try_from(items.len()).unwrap_or(i64::MAX) == limit {
        items.last().map(|b| b.staff_id.clone())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(BindingPage { items, next_after }))
}

/// Removes a binding.
#[utoipa::path(delete, path = "/dingding/local/bindings/{tenant_id}/{staff_id}", responses(
    (status = 204, description = "unbound"),
    (status = 404, body = dingtalk_core::wire::ErrorBody)))]
pub async fn unbind(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (tenant_id, staff_id) = path.into_inner();
    validate::id("tenant_id", &tenant_id)?;
    validate::id("staff_id", &staff_id)?;
    let pool = state.pool.clone();
    let (t, s) = (tenant_id.clone(), staff_id.clone());
    let removed = web::block(move || -> Result<bool, AppError> {
        let mut conn = pool.get()?;
        Ok(bindings::delete(&mut conn, &t, &s)?)
    })
    .await??;
    if !removed {
        return Err(AppError::NotFound(format!(
            "staff `{staff_id}` of tenant `{tenant_id}` is not bound"
        )));
    }
    log::info!(
        "[{}] tenant {tenant_id} staff {staff_id} unbound",
        request_id(&req)
    );
    Ok(HttpResponse::NoContent().finish())
}
