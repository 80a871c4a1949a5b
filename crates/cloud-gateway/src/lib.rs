//! # cloud-gateway
//!
//! The public half of the DingTalk gateway: DingTalk event callbacks (suite tickets, corp
//! authorizations), the OAuth code exchange with one-time user records for the edges, and the
//! work-notification relay. See `ARCHITECTURE.md` section 4 for the HTTP contract.
//!
//! - [`config`]: settings (TOML file, `CLOUD_GATEWAY__SECTION__KEY` overrides, validation).
//! - [`startup`]: [`startup::Application`], which tests start on port 0.
//! - [`routes`]: the handlers; [`db`]: SQLite; [`send`]: the relay; [`sweeper`]: expiry.

pub mod auth;
pub mod config;
pub mod db;
pub mod dingtalk;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod send;
pub mod startup;
pub mod state;
pub mod sweeper;
pub mod telemetry;
