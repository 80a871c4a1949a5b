//! Per-edge HTTP Basic authentication for the internal API. Credentials are compared in constant
//! time (SHA-256 of both sides, then `subtle`), and every edge is checked so the time does not
//! depend on which edge id matched.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::EdgeSettings;
use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated edge: its id.
#[derive(Debug, Clone)]
pub struct Edge(pub String);

/// The edge whose id and secret match `user` and `password`, in constant time per edge.
pub fn authenticate<'a>(edges: &'a [EdgeSettings], user: &str, password: &str) -> Option<&'a str> {
    let user_hash = Sha256::digest(user.as_bytes());
    let password_hash = Sha256::digest(password.as_bytes());
    let mut found = None;
    for edge in edges {
        let id_ok = Sha256::digest(edge.id.as_bytes()).ct_eq(&user_hash);
        let secret_ok =
            Sha256::digest(edge.secret.expose_secret().as_bytes()).ct_eq(&password_hash);
        if bool::from(id_ok & secret_ok) {
            found = Some(edge.id.as_str());
        }
    }
    found
}

fn parse_basic(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

impl FromRequest for Edge {
    type Error = ApiError;
    type Future = Ready<Result<Edge, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let result = (|| {
            let state = req.app_data::<web::Data<AppState>>()?;
            let (user, password) = parse_basic(req)?;
            authenticate(&state.settings.edges, &user, &password).map(|id| Edge(id.to_string()))
        })();
        ready(result.ok_or(ApiError::Unauthorized))
    }
}
