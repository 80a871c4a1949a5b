//! # dingtalk-core
//!
//! Everything the DingTalk gateway knows about DingTalk, and nothing about HTTP servers or
//! databases:
//!
//! - [`crypto`]: the callback crypto (AES-256-CBC, SHA-1 signature) and the ISV
//!   `get_corp_token` HMAC signature, byte-compatible with DingTalk.
//! - [`client`]: a [`client::DingTalkClient`] for every DingTalk call the services need, with
//!   injected base URLs and timeouts.
//! - [`error`]: typed DingTalk errors, classified so callers know whether a retry or a token
//!   refresh helps.
//! - [`retry`]: the bounded exponential-backoff retry policy.
//! - [`token`]: a token cache keyed by (app, corp) with early refresh and one refresh in flight
//!   per key.
//! - [`events`]: the decrypted callback events, parsed into typed values.
//! - [`oauth`]: the OAuth `state` and the redirect allow-list matcher.
//! - [`wire`]: the edge <-> cloud API types, used by both services so the contract cannot drift.
#![deny(missing_docs)]

pub mod client;
pub mod crypto;
pub mod error;
pub mod events;
pub mod oauth;
pub mod retry;
pub mod token;
pub mod wire;

pub use client::{ClientConfig, DingTalkClient};
pub use error::{DingTalkError, ErrorKind};
