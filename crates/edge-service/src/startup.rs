//! Building and running the edge: pool, migrations, outbox worker, HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::{Server, ServerHandle};
use actix_web::http::header::{self, HeaderName};
use actix_web::middleware::{from_fn, Logger};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::sync::{broadcast, Notify};

use crate::cloud::CloudClient;
use crate::config::Settings;
use crate::db;
use crate::metrics::Metrics;
use crate::outbox::iam::IamClient;
use crate::outbox::{OutboxWorker, WorkerHandle};
use crate::request_id;
use crate::routes::{self, AppState};

/// A built, listening edge with its outbox worker running.
pub struct Application {
    port: u16,
    server: Server,
    worker: WorkerHandle,
    grace: Duration,
}

impl Application {
    /// Connects the pool, runs migrations, binds the listener and starts the outbox worker.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let url = settings.database.url.expose_secret().to_string();
        let size = settings.database.pool_size;
        let pool = tokio::task::spawn_blocking(move || -> anyhow::Result<db::DbPool> {
            let pool = db::build_pool(&url, size)?;
            let mut conn = pool.get().context("database.url: cannot connect")?;
            db::run_migrations(&mut conn)?;
            Ok(pool)
        })
        .await??;

        let metrics = Metrics::new().context("registering metrics")?;
        let timeout = settings.cloud_timeout();
        let cloud = CloudClient::new(
            &settings.cloud.base_url,
            &settings.cloud.edge_id,
            settings.cloud.edge_secret.clone(),
            timeout,
        )
        .context("cloud.base_url")?;
        let iam = match &settings.iam.bind_url {
            Some(url) => Some(IamClient::new(url, timeout).context("iam.bind_url")?),
            None => None,
        };
        let wake = Arc::new(Notify::new());
        let (settled, _) = broadcast::channel(1024);
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            iam_enabled: iam.is_some(),
            default_url: settings.messages.default_url.clone(),
            sync_wait: Duration::from_millis(settings.messages.sync_wait_ms),
            wake: wake.clone(),
            settled: settled.clone(),
        });
        let metrics_data = web::Data::new(metrics.clone());

        let addr = settings.bind_addr()?;
        let listener = TcpListener::bind(addr)
            .with_context(|| format!("server.bind: cannot listen on {addr}"))?;
        let port = listener.local_addr()?.port();
        let origins = settings.cors.allowed_origins.clone();
        let worker_cloud = cloud.fresh();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(cors(&origins))
                .wrap(
                    Logger::new("[%{x-request-id}i] %{method}xi %{path}xi %s %Dms")
                        .custom_request_replace("method", |req| req.method().to_string())
                        // The path without its query: the original bind callback carries the
                        // auth code in the query string.
                        .custom_request_replace("path", |req| req.path().to_string()),
                )
                .wrap(from_fn(request_id::middleware))
                .app_data(state.clone())
                // One cloud client per actix worker (see `CloudClient::fresh`).
                .app_data(web::Data::new(cloud.fresh()))
                .app_data(metrics_data.clone())
                .configure(routes::configure)
        })
        .listen(listener)?
        .shutdown_timeout(30)
        .run();

        let worker = OutboxWorker::new(
            pool,
            worker_cloud,
            iam,
            &settings.outbox,
            wake,
            settled,
            metrics,
        )
        .start();
        log::info!("edge-service listening on port {port}");
        Ok(Application {
            port,
            server,
            worker,
            grace: timeout + Duration::from_secs(5),
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server (gracefully with `stop(true)`).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGTERM/SIGINT or [`ServerHandle::stop`]): in-flight requests are
    /// drained, then the outbox worker finishes its current deliveries (or, past a grace
    /// period, abandons them, which rolls their claims back).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = self.server.await;
        log::info!("edge-service: server stopped, stopping the outbox worker");
        self.worker.shutdown(self.grace).await;
        served.context("HTTP server")
    }
}

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(vec!["GET", "POST", "DELETE"])
        .allowed_headers(vec![
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-authenticated-userid"),
        ])
        .expose_headers(vec![HeaderName::from_static("x-request-id")])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
