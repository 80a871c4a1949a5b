//! The outbox: what the edge must deliver (work notifications to the cloud, IAM announcements),
//! stored before a request is answered and delivered by [`worker`] with retries.

pub mod backoff;
pub mod iam;
pub mod retention;
pub mod worker;

pub use worker::{OutboxWorker, WorkerHandle};
