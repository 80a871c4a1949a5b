//! The outbox worker: delivers due rows and records the outcome.
//!
//! Claiming: each delivery runs inside ONE database transaction. The row is locked with
//! `SELECT … FOR UPDATE SKIP LOCKED`, delivered, and its outcome written before the commit. Other
//! replicas skip the locked row, so no row is delivered twice at the same time; if this process
//! dies or is killed mid-delivery, PostgreSQL rolls the transaction back and the row is simply
//! pending again (no lease to expire, no half-claimed row). Should the commit itself be lost after
//! the cloud accepted the send, the next attempt carries the same `Idempotency-Key` (the row id)
//! and the cloud answers its stored result instead of sending again.
//!
//! `outbox.batch_size` slots deliver concurrently, each holding one pooled connection while it
//! delivers. Slots are woken by new rows ([`Notify`]) and poll every `outbox.poll_interval_ms`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, PooledConnection};
use dingtalk_core::wire::SendRequest;
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::backoff;
use super::iam::{IamClient, IamPayload};
use crate::cloud::{CloudClient, Delivery};
use crate::config::OutboxSettings;
use crate::db::models::{kind, OutboxRow};
use crate::db::{outbox, DbPool};
use crate::metrics::Metrics;

type Conn = PooledConnection<ConnectionManager<PgConnection>>;

/// Everything the worker needs.
#[derive(Clone)]
pub struct OutboxWorker {
    /// The pool.
    pub pool: DbPool,
    /// The cloud.
    pub cloud: CloudClient,
    /// The IAM webhook, when configured.
    pub iam: Option<IamClient>,
    /// `outbox.max_age_secs`.
    pub max_age: Duration,
    /// Poll interval.
    pub poll_interval: Duration,
    /// First retry delay.
    pub base_delay: Duration,
    /// Largest retry delay.
    pub max_delay: Duration,
    /// Concurrent deliveries.
    pub slots: u32,
    /// `outbox.retention_days`.
    pub retention: Duration,
    /// Notified when rows are inserted.
    pub wake: Arc<Notify>,
    /// Receives the message id of every row that reached a final status.
    pub settled: broadcast::Sender<Uuid>,
    /// Metrics.
    pub metrics: Metrics,
}

/// A running worker: stop it to let each slot finish its current delivery.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl WorkerHandle {
    /// Asks every slot to stop after its current delivery and waits up to `grace`; slots still
    /// busy then are aborted, which drops their connection and rolls their claim back.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            log::warn!("outbox worker: delivery still running after {grace:?}, aborting it (its row stays pending)");
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
    }
}

impl OutboxWorker {
    /// A worker with the `[outbox]` settings.
    pub fn new(
        pool: DbPool,
        cloud: CloudClient,
        iam: Option<IamClient>,
        s: &OutboxSettings,
        wake: Arc<Notify>,
        settled: broadcast::Sender<Uuid>,
        metrics: Metrics,
    ) -> Self {
        OutboxWorker {
            pool,
            cloud,
            iam,
            max_age: Duration::from_secs(s.max_age_secs),
            poll_interval: Duration::from_millis(s.poll_interval_ms),
            base_delay: Duration::from_millis(s.base_delay_ms),
            max_delay: Duration::from_millis(s.max_delay_ms),
            slots: s.batch_size,
            retention: Duration::from_secs(u64::from(s.retention_days) * 86_400),
            wake,
            settled,
            metrics,
        }
    }

    /// Starts the slots on the current tokio runtime.
    pub fn start(self) -> WorkerHandle {
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for slot in 0..self.slots {
            let worker = self.clone();
            let stop_rx = stop_rx.clone();
            tasks.spawn(async move { worker.run_slot(slot, stop_rx).await });
        }
        tasks.spawn(super::retention::run(
            self.pool.clone(),
            self.retention,
            stop_rx,
        ));
        WorkerHandle { stop, tasks }
    }

    async fn run_slot(self, slot: u32, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let worked = match self.deliver_one().await {
                Ok(worked) => worked,
                Err(e) => {
                    log::warn!("outbox slot {slot}: {e:#}");
                    false
                }
            };
            if worked {
                continue;
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(self.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Claims one due row, delivers it and records the outcome in the same transaction.
    /// Returns whether a row was found.
    pub async fn deliver_one(&self) -> anyhow::Result<bool> {
        let pool = self.pool.clone();
        let claimed = tokio::task::spawn_blocking(move || claim(&pool)).await??;
        let Some((conn, row)) = claimed else {
            return Ok(false);
        };
        let outcome = self.attempt(&row).await;
        let settled = self.record(conn, &row, outcome).await?;
        if settled {
            // Nobody waiting is fine.
            let _ = self.settled.send(row.message_id);
        }
        Ok(true)
    }

    async fn attempt(&self, row: &OutboxRow) -> Delivery {
        match row.kind.as_str() {
            kind::SEND => match serde_json::from_value::<SendRequest>(row.payload.clone()) {
                Ok(body) => self.cloud.send(row.id, &row.request_id, &body).await,
                Err(e) => Delivery::Permanent(format!("unreadable send payload: {e}")),
            },
            kind::IAM => match (
                &self.iam,
                serde_json::from_value::<IamPayload>(row.payload.clone()),
            ) {
                (Some(iam), Ok(payload)) => iam.deliver(row.id, &payload, &row.request_id).await,
                (None, _) => Delivery::Retry("iam.bind_url is no longer configured".into()),
                (_, Err(e)) => Delivery::Permanent(format!("unreadable IAM payload: {e}")),
            },
            other => Delivery::Permanent(format!("unknown outbox kind `{other}`")),
        }
    }

    /// Writes the outcome and commits; true when the row reached a final status.
    async fn record(
        &self,
        mut conn: Conn,
        row: &OutboxRow,
        outcome: Delivery,
    ) -> anyhow::Result<bool> {
        let attempts = row.attempts.saturating_add(1);
        let now = Utc::now();
        let deadline = row.created_at + chrono_duration(self.max_age);
        let rid = &row.request_id;
        // A retryable failure past the deadline fails the row.
        let outcome = match outcome {
            Delivery::Retry(e) if now >= deadline => {
                Delivery::Permanent(format!("gave up after outbox.max_age_secs: {e}"))
            }
            other => other,
        };
        let label = match &outcome {
            Delivery::Delivered(_) => {
                log::info!(
                    "[{rid}] outbox {} ({}): delivered, attempt {attempts}",
                    row.id,
                    row.kind
                );
                "delivered"
            }
            Delivery::Retry(e) => {
                log::warn!(
                    "[{rid}] outbox {} ({}): attempt {attempts} failed, will retry: {e}",
                    row.id,
                    row.kind
                );
                "retry"
            }
            Delivery::Permanent(e) => {
                log::error!(
                    "[{rid}] outbox {} ({}): failed for good after {attempts} attempts: {e}",
                    row.id,
                    row.kind
                );
                "failed"
            }
        };
        self.metrics.observe_delivery(&row.kind, label);
        let final_status = !matches!(outcome, Delivery::Retry(_));
        let next = next_attempt(
            now,
            deadline,
            backoff::delay(attempts, self.base_delay, self.max_delay),
        );
        let id = row.id;
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let written = match &outcome {
                Delivery::Delivered(task_ids) => {
                    outbox::mark_delivered(&mut conn, id, attempts, task_ids)
                }
                Delivery::Retry(e) => outbox::mark_retry(&mut conn, id, attempts, next, e),
                Delivery::Permanent(e) => outbox::mark_failed(&mut conn, id, attempts, e),
            };
            match written {
                Ok(()) => AnsiTransactionManager::commit_transaction(&mut *conn)?,
                Err(e) => {
                    let _ = AnsiTransactionManager::rollback_transaction(&mut *conn);
                    return Err(e.into());
                }
            }
            Ok(())
        })
        .await??;
        Ok(final_status)
    }
}

/// Opens a transaction and locks one due row; the connection is returned with the transaction
/// open only when a row was claimed.
fn claim(pool: &DbPool) -> anyhow::Result<Option<(Conn, OutboxRow)>> {
    let mut conn = pool.get()?;
    AnsiTransactionManager::begin_transaction(&mut *conn)?;
    match outbox::claim_due(&mut conn) {
        Ok(Some(row)) => Ok(Some((conn, row))),
        Ok(None) => {
            AnsiTransactionManager::rollback_transaction(&mut *conn)?;
            Ok(None)
        }
        Err(e) => {
            let _ = AnsiTransactionManager::rollback_transaction(&mut *conn);
            Err(e.into())
        }
    }
}

/// The next attempt: after the backoff delay, but never after the deadline (the last attempt
/// happens at the deadline, then the row fails).
fn next_attempt(now: DateTime<Utc>, deadline: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    (now + chrono_duration(delay)).min(deadline)
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_attempt_never_lies_beyond_the_deadline() {
        let now = Utc::now();
        let deadline = now + chrono::Duration::seconds(5);
        assert_eq!(
            next_attempt(now, deadline, Duration::from_secs(60)),
            deadline
        );
        assert_eq!(
            next_attempt(now, deadline, Duration::from_secs(1)),
            now + chrono::Duration::seconds(1)
        );
    }
}
