//! The HTTP routes, one file per resource.

pub mod callback;
pub mod health;
pub mod internal;
pub mod oauth;

use actix_web::web;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(callback::event_pushed)
        .service(oauth::login)
        .service(oauth::user_callback)
        .service(internal::take_user)
        .service(internal::corp_status)
        .service(internal::suite_status)
        .service(internal::send_messages)
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics);
}
