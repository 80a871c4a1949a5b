//! Starting the simulator: binds, builds the actix app (routes, fault layer, access log without
//! query strings), and starts the server and the pusher on the current tokio runtime.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::middleware::Logger;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::routes::portal::PortalConfig;
use crate::state::{Shared, SimState};
use crate::{faults, pusher, routes, SimConfig, SimHandle};

type Reply = Pin<Box<dyn Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>>>;

/// Starts the simulator (server and pusher) and returns once it is listening.
pub async fn spawn(config: SimConfig) -> anyhow::Result<SimHandle> {
    let listener = std::net::TcpListener::bind(config.bind)
        .with_context(|| format!("binding {}", config.bind))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let base_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    let shared = Shared::new(
        SimState::new(config.data, config.token_ttl_secs, config.callback_url),
        config.timeout_fault_hold,
    );
    let portal = web::Data::new(PortalConfig {
        cloud_url: config.portal_cloud_url,
        edge_url: config.portal_edge_url,
        redirect_prefix: format!("{base_url}/portal"),
    });
    let data = web::Data::new(shared.clone());
    let server = HttpServer::new(move || {
        let fault_shared = data.get_ref().clone();
        App::new()
            .app_data(data.clone())
            .app_data(portal.clone())
            .app_data(web::PayloadConfig::new(256 * 1024))
            .wrap_fn(move |req, srv| -> Reply {
                match faults::on_request(&fault_shared, req.path()) {
                    None => {
                        let fut = srv.call(req);
                        Box::pin(async move { fut.await.map(|r| r.map_into_boxed_body()) })
                    }
                    Some(fault) => {
                        let s = fault_shared.clone();
                        Box::pin(async move {
                            let resp = faults::respond(&s, &fault).await;
                            Ok(req.into_response(resp))
                        })
                    }
                }
            })
            // %U is the path without the query: access tokens never reach the log.
            .wrap(
                Logger::new("%{METHOD}xi %U %s %Dms")
                    .custom_request_replace("METHOD", |req| req.method().to_string()),
            )
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .context("listening")?
    .run();
    let server_handle = server.handle();
    tokio::spawn(server);
    let pusher = tokio::spawn(pusher::run(shared.clone(), config.push_interval));
    log::info!("dingtalk-sim listening on {base_url}");
    Ok(SimHandle::new(addr, shared, server_handle, pusher))
}
