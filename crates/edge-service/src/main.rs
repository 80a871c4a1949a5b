//! `edge-service --config FILE`: reads the settings, starts the edge, serves until SIGTERM or
//! Ctrl-C (in-flight requests are drained; the outbox worker finishes or releases its delivery).

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use edge_service::config::Settings;
use edge_service::startup::Application;

/// The edge service of the DingTalk gateway.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The TOML settings file (values can be overridden with EDGE_SERVICE__SECTION__KEY).
    #[arg(long, value_name = "FILE", env = "EDGE_SERVICE_CONFIG")]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    let settings = Settings::load(&args.config)?;
    let app = Application::build(settings)
        .await
        .context("starting edge-service")?;
    app.run_until_stopped().await
}
