//! # edge-service
//!
//! The intranet half of the DingTalk gateway: binds a tenant's staff to DingTalk users (taking
//! the user from the cloud gateway by one-time auth code) and sends them work notifications
//! through a durable PostgreSQL outbox, delivered to the cloud exactly once (idempotency key =
//! outbox row id) with retries, across restarts and replicas.
//!
//! Start it with [`startup::Application::build`] and [`config::Settings`].

pub mod cloud;
pub mod config;
pub mod db;
pub mod error;
pub mod messages;
pub mod metrics;
pub mod outbox;
pub mod request_id;
pub mod routes;
pub mod startup;
pub mod validate;
