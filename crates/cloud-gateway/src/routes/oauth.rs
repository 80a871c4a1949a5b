//! The browser OAuth flow: `GET /dingding/auth/login` sends the browser to DingTalk with
//! `state = <prefix>::<nonce>`; `GET /dingding/auth/user/callback` checks the prefix against the
//! edges' allow-list before anything else, exchanges the code, resolves the org userid, stores a
//! one-time record bound to the edge and sends the browser to `<prefix>/profile`.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use dingtalk_core::oauth::{OAuthState, RedirectAllowList};
use dingtalk_core::wire::EdgeUser;
use dingtalk_core::{DingTalkError, ErrorKind};
use rand::distributions::{Alphanumeric, DistString};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::config::Mode;
use crate::db::{self, models::AuthCodeRow};
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /dingding/auth/login` query.
#[derive(Deserialize, IntoParams)]
pub struct LoginQuery {
    /// The frontend prefix to return to; must be allow-listed for an edge.
    pub redirect: Option<String>,
}

/// `GET /dingding/auth/user/callback` query (what DingTalk appends).
#[derive(Deserialize, IntoParams)]
pub struct CallbackQuery {
    /// The login code.
    #[serde(rename = "authCode", alias = "code")]
    pub auth_code: Option<String>,
    /// `<prefix>::<nonce>`.
    pub state: Option<String>,
    /// Set by DingTalk when the user refused or something failed.
    pub error: Option<String>,
}

/// The allow-listed, normalized prefix and the edge it belongs to.
fn allowed(state: &AppState, prefix: &str) -> Result<(String, String), ApiError> {
    let refuse = || ApiError::BadRequest("the redirect prefix is not allowed for any edge".into());
    let index = state.allow_list.matches(prefix).map_err(|_| refuse())?;
    let edge = state.edge_of_prefix(index).ok_or_else(refuse)?.to_string();
    let normalized = RedirectAllowList::normalize(prefix).map_err(|_| refuse())?;
    Ok((normalized, edge))
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `<prefix>/profile?<pairs>`, URL-encoded.
fn profile_url(prefix: &str, pairs: &[(&str, &str)]) -> Result<String, ApiError> {
    let mut url = url::Url::parse(&format!("{prefix}/profile"))
        .map_err(|_| ApiError::BadRequest("the redirect prefix is not a URL".into()))?;
    url.query_pairs_mut().extend_pairs(pairs);
    Ok(url.to_string())
}

/// Starts a DingTalk login.
#[utoipa::path(
    get,
    path = "/dingding/auth/login",
    tag = "oauth",
    params(LoginQuery),
    responses(
        (status = 302, description = "to DingTalk's authorize page"),
        (status = 400, description = "redirect missing or not allow-listed", body = dingtalk_core::wire::ErrorBody),
    )
)]
#[get("/dingding/auth/login")]
pub async fn login(
    query: web::Query<LoginQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let prefix = query
        .redirect
        .as_deref()
        .ok_or_else(|| ApiError::BadRequest("the redirect query parameter is required".into()))?;
    let (normalized, _edge) = allowed(&state, prefix)?;
    let oauth_state = OAuthState::new(&normalized).encode();
    let redirect_uri = format!(
        "{}/dingding/auth/user/callback",
        state.settings.public_url()
    );
    Ok(redirect(
        &state.dingtalk.authorize_url(&redirect_uri, &oauth_state),
    ))
}

/// Where DingTalk sends the browser back after login.
#[utoipa::path(
    get,
    path = "/dingding/auth/user/callback",
    tag = "oauth",
    params(CallbackQuery),
    responses(
        (status = 302, description = "to <prefix>/profile?state&authCode (or &error)"),
        (status = 400, description = "bad state, prefix not allow-listed, or an invalid code", body = dingtalk_core::wire::ErrorBody),
        (status = 403, description = "the account is not a member of the organization", body = dingtalk_core::wire::ErrorBody),
        (status = 502, description = "DingTalk refused", body = dingtalk_core::wire::ErrorBody),
        (status = 503, description = "DingTalk unreachable or no suite ticket yet", body = dingtalk_core::wire::ErrorBody),
    )
)]
#[get("/dingding/auth/user/callback")]
pub async fn user_callback(
    query: web::Query<CallbackQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let raw_state = query
        .state
        .as_deref()
        .ok_or_else(|| ApiError::BadRequest("the state query parameter is required".into()))?;
    let parsed = OAuthState::parse(raw_state)
        .map_err(|_| ApiError::BadRequest("state must be \"<redirect prefix>::<nonce>\"".into()))?;
    let (prefix, edge_id) = allowed(&state, &parsed.prefix)?;
    if let Some(error) = query.error.as_deref() {
        log::info!("oauth: DingTalk reported a login error for edge {edge_id}");
        let to = profile_url(&prefix, &[("state", raw_state), ("error", error)])?;
        return Ok(redirect(&to));
    }
    let code = query
        .auth_code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::BadRequest("the authCode query parameter is required".into()))?;

    let user = resolve_user(&state, code).await?;
    let one_time = Alphanumeric.sample_string(&mut rand::thread_rng(), 40);
    let now = db::now_ms();
    let ttl_ms = i64::try_from(state.settings.oauth.auth_code_ttl_secs)
        .unwrap_or(300)
        .saturating_mul(1000);
    let row = AuthCodeRow {
        code_hash: db::auth_codes::hash_code(&one_time),
        edge_id: edge_id.clone(),
        user_json: serde_json::to_string(&user).map_err(ApiError::internal)?,
        created_at: now,
        expires_at: now.saturating_add(ttl_ms),
        taken_at: None,
    };
    state
        .db(move |conn| db::auth_codes::insert(conn, &row))
        .await?;
    log::info!(
        "oauth: user {} of corp {} logged in for edge {edge_id}",
        user.user_id,
        user.corp_id
    );
    let to = profile_url(&prefix, &[("state", raw_state), ("authCode", &one_time)])?;
    Ok(redirect(&to))
}

/// Code → user token → profile → corp → org userid.
async fn resolve_user(state: &AppState, code: &str) -> Result<EdgeUser, ApiError> {
    let dt = &state.dingtalk;
    let settings = &state.settings.dingtalk;
    let token = dt.user_access_token(code).await.map_err(|e| match &e {
        // Only a refused code is the user's to fix; a refused app secret is ours (502).
        DingTalkError::Api { code, status, .. }
            if code.eq_ignore_ascii_case("invalidCode") || *status == 409 =>
        {
            ApiError::BadRequest(
                "DingTalk refused the login code (invalid, used or expired); log in again".into(),
            )
        }
        _ => ApiError::from(e),
    })?;
    let profile = dt.user_me(&token.access_token).await?;
    let corp_id = match settings.mode {
        Mode::Internal => {
            let own = settings.corp_id.clone().unwrap_or_default();
            match token.corp_id.as_deref() {
                Some(c) if !c.is_empty() && c != own => {
                    return Err(ApiError::Forbidden(
                        "this DingTalk account logged in with another organization".into(),
                    ))
                }
                _ => own,
            }
        }
        Mode::Isv => token
            .corp_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "DingTalk did not say which organization was chosen; log in again and pick one"
                        .into(),
                )
            })?,
    };
    let ticket = match settings.mode {
        Mode::Internal => None,
        Mode::Isv => Some(authorized_ticket(state, &corp_id).await?),
    };
    let lookup = dt
        .userid_by_unionid(&corp_id, ticket.as_deref(), &profile.union_id)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::NotInOrg => ApiError::Forbidden(
                "this DingTalk account is not a member of the organization".into(),
            ),
            _ => ApiError::from(e),
        })?;
    Ok(EdgeUser {
        nick: profile.nick,
        corp_id,
        open_id: profile.open_id,
        union_id: profile.union_id,
        user_id: lookup.userid,
        email: profile.email.filter(|s| !s.is_empty()),
        avatar_url: profile.avatar_url.filter(|s| !s.is_empty()),
        mobile: profile.mobile.filter(|s| !s.is_empty()),
        staff_id: None,
        tenant_id: None,
    })
}

/// ISV: the corp must have authorized the app; returns the stored suite ticket.
async fn authorized_ticket(state: &AppState, corp_id: &str) -> Result<String, ApiError> {
    let (corp, suite_key) = (corp_id.to_string(), state.settings.dingtalk.app_key.clone());
    let (auth, ticket) = state
        .db(move |conn| db::callbacks::corp_and_ticket(conn, &corp, &suite_key))
        .await?;
    if auth.is_none_or(|a| a.status != "active") {
        return Err(ApiError::Forbidden(
            "this organization has not authorized the app".into(),
        ));
    }
    ticket
        .map(|t| t.ticket)
        .ok_or_else(|| ApiError::Unavailable("no suite ticket received from DingTalk yet".into()))
}
