//! The cloud-gateway binary: read the settings, set up logging, build and run the application.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use cloud_gateway::config::Settings;
use cloud_gateway::startup::Application;
use cloud_gateway::telemetry::current_request_id;

/// DingTalk gateway, the public half.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The TOML settings file (overridable by CLOUD_GATEWAY__SECTION__KEY variables).
    #[arg(long, value_name = "FILE", env = "CLOUD_GATEWAY_CONFIG")]
    config: PathBuf,
}

#[actix_web::main]
async fn main() {
    if let Err(err) = run().await {
        // `{:#}` prints the whole chain: "the settings are incomplete…: missing field `app_key`".
        eprintln!("cloud-gateway: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            writeln!(
                buf,
                "{} {:<5} {} [{}] {}",
                buf.timestamp_millis(),
                record.level(),
                record.target(),
                current_request_id(),
                record.args()
            )
        })
        .init();
    let cli = Cli::parse();
    let settings = Settings::load(&cli.config)?;
    let app = Application::build(settings).await?;
    app.run_until_stopped().await?;
    Ok(())
}
