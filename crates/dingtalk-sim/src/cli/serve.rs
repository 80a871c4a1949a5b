//! `dingtalk-sim serve`: the simulator as a process, stopped gracefully on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use dingtalk_sim::{SimConfig, SimData};

/// Serve settings.
#[derive(Debug, Parser)]
pub struct ServeArgs {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8090", env = "DINGTALK_SIM_BIND")]
    pub bind: SocketAddr,
    /// A JSON file with another world (the shape of the built-in demo data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where to push events (the cloud's `/dingding/event/pushed`).
    #[arg(long = "callback-url")]
    pub callback_url: Option<String>,
    /// Rotate and push the suite ticket (and authorizations) every N seconds.
    #[arg(long = "push-interval-secs")]
    pub push_interval_secs: Option<u64>,
    /// The cloud-gateway URL the portal calls.
    #[arg(long = "cloud-url")]
    pub cloud_url: Option<String>,
    /// The edge-service URL the portal calls.
    #[arg(long = "edge-url")]
    pub edge_url: Option<String>,
    /// Token lifetime in seconds.
    #[arg(long = "token-ttl-secs", default_value_t = 7200)]
    pub token_ttl_secs: i64,
    /// The simulator's public base URL (default http://<bind>).
    #[arg(long = "public-url")]
    pub public_url: Option<String>,
}

/// Runs the server until SIGTERM or Ctrl-C.
pub fn run(args: ServeArgs) -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
        .and_then(|rt| rt.block_on(serve(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("dingtalk-sim: {e:#}");
            eprintln!("dingtalk-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let data = match &args.data {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --data {}", path.display()))?;
            serde_json::from_str::<SimData>(&text)
                .with_context(|| format!("parsing --data {}", path.display()))?
        }
        None => SimData::demo(),
    };
    if args.token_ttl_secs <= 0 {
        anyhow::bail!("--token-ttl-secs must be positive");
    }
    let config = SimConfig {
        bind: args.bind,
        data,
        callback_url: args.callback_url,
        push_interval: args
            .push_interval_secs
            .filter(|s| *s > 0)
            .map(Duration::from_secs),
        token_ttl_secs: args.token_ttl_secs,
        portal_cloud_url: args.cloud_url,
        portal_edge_url: args.edge_url,
        public_url: args.public_url,
        ..SimConfig::for_tests()
    };
    let handle = dingtalk_sim::spawn(config).await?;
    println!("dingtalk-sim listening on {}", handle.base_url());
    shutdown_signal().await;
    log::info!("dingtalk-sim: stopping");
    handle.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
