//! Building and running the application: migrations, the pool, the shared state, the HTTP server
//! on its own listener (port 0 allowed) and the sweeper task.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{middleware, web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use dingtalk_core::crypto::CallbackCrypto;
use dingtalk_core::oauth::RedirectAllowList;
use secrecy::ExposeSecret;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Settings;
use crate::db;
use crate::dingtalk::DingTalk;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::openapi::ApiDoc;
use crate::routes;
use crate::state::AppState;
use crate::sweeper;
use crate::telemetry::request_middleware;

/// A built application, listening, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    sweeper: tokio::task::JoinHandle<()>,
}

/// The shared state built from settings (migrations run first).
pub fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    db::run_migrations(&settings.database.url)?;
    let pool = db::build_pool(
        &settings.database.url,
        settings.database.pool_size,
        settings.database.busy_timeout_ms,
    )?;
    let d = &settings.dingtalk;
    let owner_key = settings.callback_owner_key().to_string();
    let crypto = CallbackCrypto::new(
        d.callback_token.expose_secret(),
        d.callback_aes_key.expose_secret(),
        &owner_key,
    )
    .map_err(|e| anyhow::anyhow!("dingtalk.callback_aes_key: {e}"))?;
    let mut prefixes = Vec::new();
    let mut prefix_edge = Vec::new();
    for (i, edge) in settings.edges.iter().enumerate() {
        for prefix in &edge.redirect_prefixes {
            prefixes.push(prefix.clone());
            prefix_edge.push(i);
        }
    }
    let allow_list = RedirectAllowList::new(&prefixes)
        .map_err(|e| anyhow::anyhow!("edges.redirect_prefixes: {e}"))?;
    let metrics = Metrics::new().context("registering the metrics")?;
    let dingtalk = DingTalk::new(d, metrics.clone()).context("building the DingTalk client")?;
    Ok(AppState {
        settings: Arc::new(settings),
        pool,
        crypto,
        allow_list,
        prefix_edge,
        dingtalk,
        metrics,
        sends_in_flight: Arc::default(),
    })
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    match err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            ApiError::PayloadTooLarge(limit).into()
        }
        JsonPayloadError::ContentType => {
            ApiError::BadRequest("the body must be JSON (Content-Type: application/json)".into())
                .into()
        }
        other => ApiError::BadRequest(format!("the JSON body is invalid: {other}")).into(),
    }
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("the query string is invalid: {err}")).into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("the path is invalid: {err}")).into()
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".into()))
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", "/docs/"))
        .finish()
}

impl Application {
    /// Runs migrations, builds the state, binds `server.bind`, starts the sweeper.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("server.bind: cannot listen on {}", settings.server.bind))?;
        let port = listener.local_addr()?.port();
        let workers = settings.server.workers;
        let max_body = settings.server.max_body_bytes;
        let sweep_every = Duration::from_secs(settings.sweeper.interval_secs);
        let state = build_state(settings)?;
        let pool = state.pool.clone();
        let metrics = web::Data::new(state.metrics.clone());
        let state = web::Data::new(state);
        let openapi = ApiDoc::openapi();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(middleware::from_fn(request_middleware))
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(max_body)
                        .error_handler(json_error),
                )
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .app_data(web::PathConfig::default().error_handler(path_error))
                .configure(routes::configure)
                .route("/docs", web::get().to(docs_redirect))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi.clone()))
                .default_service(web::to(not_found))
        })
        .shutdown_timeout(30)
        .listen(listener)
        .context("starting the HTTP server")?;
        if let Some(workers) = workers {
            server = server.workers(workers);
        }
        let server = server.run();
        let sweeper = tokio::spawn(sweeper::run(pool, sweep_every));
        log::info!("cloud-gateway listening on port {port}");
        Ok(Application {
            port,
            server,
            sweeper,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGTERM/SIGINT or the handle), draining in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.sweeper.abort();
        result
    }
}
