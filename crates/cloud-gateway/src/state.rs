//! The shared application state handed to every handler as `web::Data<AppState>`.

use std::sync::Arc;

use actix_web::web;
use diesel::sqlite::SqliteConnection;
use dingtalk_core::crypto::CallbackCrypto;
use dingtalk_core::oauth::RedirectAllowList;

use crate::config::Settings;
use crate::db::DbPool;
use crate::dingtalk::DingTalk;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    /// The validated settings.
    pub settings: Arc<Settings>,
    /// The SQLite pool.
    pub pool: DbPool,
    /// Callback crypto for the configured app.
    pub crypto: CallbackCrypto,
    /// Every edge's redirect prefixes, flattened.
    pub allow_list: RedirectAllowList,
    /// For each allow-list entry, the index of its edge in `settings.edges`.
    pub prefix_edge: Vec<usize>,
    /// DingTalk.
    pub dingtalk: DingTalk,
    /// Metrics.
    pub metrics: Metrics,
    /// Send requests in flight by (edge, Idempotency-Key), so a concurrent duplicate gets 409.
    pub sends_in_flight: Arc<std::sync::Mutex<std::collections::HashSet<(String, String)>>>,
}

impl AppState {
    /// The edge id owning the allow-list entry `index`.
    pub fn edge_of_prefix(&self, index: usize) -> Option<&str> {
        let edge = *self.prefix_edge.get(index)?;
        self.settings.edges.get(edge).map(|e| e.id.as_str())
    }

    /// Runs `query` with a pooled connection on actix's blocking threads.
    pub async fn db<T, E>(
        &self,
        query: impl FnOnce(&mut SqliteConnection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        ApiError: From<E>,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            query(&mut conn).map_err(ApiError::from)
        })
        .await?
    }
}
