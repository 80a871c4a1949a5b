//! Settings: a TOML file, then `EDGE_SERVICE__<SECTION>__<KEY>` environment overrides, then
//! [`Settings::validate`], whose messages name the offending key. Secrets are
//! [`SecretString`]s and never appear in `Debug` output.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The prefix of environment overrides (`EDGE_SERVICE__CLOUD__EDGE_SECRET=…`).
pub const ENV_PREFIX: &str = "EDGE_SERVICE";

/// All settings of the edge.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[server]`.
    pub server: ServerSettings,
    /// `[database]`.
    pub database: DatabaseSettings,
    /// `[cloud]`.
    pub cloud: CloudSettings,
    /// `[messages]`.
    pub messages: MessageSettings,
    /// `[outbox]`.
    #[serde(default)]
    pub outbox: OutboxSettings,
    /// `[iam]`.
    #[serde(default)]
    pub iam: IamSettings,
    /// `[cors]`.
    #[serde(default)]
    pub cors: CorsSettings,
}

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// `server.bind`: address to listen on, e.g. `127.0.0.1:8081` (port 0 picks a free port).
    pub bind: String,
}

/// `[database]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `database.url`: `postgres://user:password@host:port/db` (may carry a password).
    pub url: SecretString,
    /// `database.pool_size`: maximum connections of the pool (default 10).
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
}

/// `[cloud]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudSettings {
    /// `cloud.base_url`: the cloud-gateway, e.g. `https://gw.example.com`.
    pub base_url: String,
    /// `cloud.edge_id`: this edge's id at the cloud.
    pub edge_id: String,
    /// `cloud.edge_secret`: this edge's secret at the cloud.
    pub edge_secret: SecretString,
    /// `cloud.timeout_secs`: timeout of each call to the cloud (default 10).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

/// `[messages]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSettings {
    /// `messages.default_url`: the template `url` when a request gives none.
    pub default_url: String,
    /// `messages.sync_wait_ms`: how long a send request waits for delivery before answering 202
    /// (default 3000).
    #[serde(default = "default_sync_wait_ms")]
    pub sync_wait_ms: u64,
}

/// `[outbox]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    /// `outbox.max_age_secs`: after this age a row that could not be delivered is failed
    /// (default 86400).
    #[serde(default = "default_max_age_secs")]
    pub max_age_secs: u64,
    /// `outbox.poll_interval_ms`: how often the worker looks for due rows without being woken
    /// (default 1000).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// `outbox.base_delay_ms`: first retry delay (default 1000); doubles with each attempt.
    #[serde(default = "default_base_delay_ms")]
    pub base_delay_ms: u64,
    /// `outbox.max_delay_ms`: largest retry delay (default 300000).
    #[serde(default = "default_max_delay_ms")]
    pub max_delay_ms: u64,
    /// `outbox.batch_size`: how many rows the worker delivers at the same time (default 4); each
    /// holds one database connection while it delivers.
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// `outbox.retention_days`: delivered and failed rows, and idempotency keys, older than this
    /// are deleted (default 30).
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            max_age_secs: default_max_age_secs(),
            poll_interval_ms: default_poll_interval_ms(),
            base_delay_ms: default_base_delay_ms(),
            max_delay_ms: default_max_delay_ms(),
            batch_size: default_batch_size(),
            retention_days: default_retention_days(),
        }
    }
}

/// `[iam]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamSettings {
    /// `iam.bind_url`: when set, every binding is announced there (POST, through the outbox).
    #[serde(default)]
    pub bind_url: Option<String>,
}

/// `[cors]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    /// `cors.allowed_origins`: browser origins allowed to call the edge, e.g.
    /// `["http://127.0.0.1:8090"]`.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

fn default_pool_size() -> u32 {
    10
}
fn default_timeout_secs() -> u64 {
    10
}
fn default_sync_wait_ms() -> u64 {
    3000
}
fn default_max_age_secs() -> u64 {
    86_400
}
fn default_poll_interval_ms() -> u64 {
    1000
}
fn default_base_delay_ms() -> u64 {
    1000
}
fn default_max_delay_ms() -> u64 {
    300_000
}
fn default_batch_size() -> u32 {
    4
}
fn default_retention_days() -> u32 {
    30
}

impl Settings {
    /// Reads the TOML file at `path`, applies `EDGE_SERVICE__SECTION__KEY` overrides, validates.
    pub fn load(path: &Path) -> anyhow::Result<Settings> {
        let source = config::File::from(path).format(config::FileFormat::Toml);
        Self::build(source).with_context(|| format!("configuration {}", path.display()))
    }

    /// Parses TOML text, applies `EDGE_SERVICE__SECTION__KEY` overrides, validates.
    pub fn from_toml_str(toml: &str) -> anyhow::Result<Settings> {
        Self::build(config::File::from_str(toml, config::FileFormat::Toml))
    }

    fn build<S>(source: S) -> anyhow::Result<Settings>
    where
        S: config::Source + Send + Sync + 'static,
    {
        let env = config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("cors.allowed_origins");
        let settings: Settings = config::Config::builder()
            .add_source(source)
            .add_source(env)
            .build()
            .context("reading settings")?
            .try_deserialize()
            .context("invalid settings")?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every value; the error names the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self
            .server
            .bind
            .to_socket_addrs()
            .map(|mut a| a.next().is_none())
            .unwrap_or(true)
        {
            bail!(
                "server.bind: `{}` is not a host:port address",
                self.server.bind
            );
        }
        let db = self.database.url.expose_secret();
        if !(db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            bail!("database.url: must be a postgres:// URL");
        }
        if self.database.pool_size == 0 {
            bail!("database.pool_size: must be at least 1");
        }
        check_http_url("cloud.base_url", &self.cloud.base_url)?;
        if self.cloud.edge_id.trim().is_empty() {
            bail!("cloud.edge_id: must not be empty");
        }
        if self.cloud.edge_secret.expose_secret().is_empty() {
            bail!("cloud.edge_secret: must not be empty");
        }
        if self.cloud.timeout_secs == 0 || self.cloud.timeout_secs > 300 {
            bail!("cloud.timeout_secs: must be between 1 and 300");
        }
        check_http_url("messages.default_url", &self.messages.default_url)?;
        if self.messages.sync_wait_ms > 60_000 {
            bail!("messages.sync_wait_ms: must be at most 60000");
        }
        let o = &self.outbox;
        if o.max_age_secs == 0 {
            bail!("outbox.max_age_secs: must be at least 1");
        }
        if o.poll_interval_ms == 0 {
            bail!("outbox.poll_interval_ms: must be at least 1");
        }
        if o.base_delay_ms == 0 {
            bail!("outbox.base_delay_ms: must be at least 1");
        }
        if o.max_delay_ms < o.base_delay_ms {
            bail!("outbox.max_delay_ms: must not be smaller than outbox.base_delay_ms");
        }
        if o.batch_size == 0 || o.batch_size > 64 {
            bail!("outbox.batch_size: must be between 1 and 64");
        }
        if o.retention_days == 0 {
            bail!("outbox.retention_days: must be at least 1");
        }
        if o.batch_size >= self.database.pool_size {
            bail!("outbox.batch_size: must be smaller than database.pool_size (requests need connections too)");
        }
        if let Some(url) = &self.iam.bind_url {
            check_http_url("iam.bind_url", url)?;
        }
        for origin in &self.cors.allowed_origins {
            let parsed = url::Url::parse(origin)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/");
            if parsed.is_none() || origin.ends_with('/') {
                bail!("cors.allowed_origins: `{origin}` is not an origin like http://host:port");
            }
        }
        Ok(())
    }

    /// The listen address (first resolution of `server.bind`).
    pub fn bind_addr(&self) -> anyhow::Result<SocketAddr> {
        self.server
            .bind
            .to_socket_addrs()
            .context("server.bind")?
            .next()
            .context("server.bind: resolves to no address")
    }

    /// `cloud.timeout_secs` as a duration.
    pub fn cloud_timeout(&self) -> Duration {
        Duration::from_secs(self.cloud.timeout_secs)
    }
}

fn check_http_url(key: &str, value: &str) -> anyhow::Result<()> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => bail!("{key}: `{value}` is not an http(s) URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
[server]
bind = "127.0.0.1:0"
[database]
url = "postgres://postgres:pw@127.0.0.1/edge"
[cloud]
base_url = "http://127.0.0.1:8080"
edge_id = "demo-edge"
edge_secret = "demo-edge-secret"
timeout_secs = 5
[messages]
default_url = "http://127.0.0.1:8090/portal/"
sync_wait_ms = 100
[outbox]
max_age_secs = 60
[cors]
allowed_origins = ["http://127.0.0.1:8090"]
"#;

    #[test]
    fn valid_settings_parse_with_defaults_for_tuning_keys() {
        let s = Settings::from_toml_str(VALID).unwrap();
        assert_eq!(s.cloud.edge_id, "demo-edge");
        assert_eq!(s.outbox.max_age_secs, 60);
        assert_eq!(s.outbox.batch_size, 4);
        assert_eq!(s.database.pool_size, 10);
        assert!(s.iam.bind_url.is_none());
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let s = Settings::from_toml_str(VALID).unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("demo-edge-secret"), "{debug}");
        assert!(!debug.contains(":pw@"), "{debug}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let toml = VALID
            .replace("[iam]", "")
            .replace("sync_wait_ms = 100", "sync_wait_ms = 100\nbogus = 1");
        let err = format!("{:#}", Settings::from_toml_str(&toml).unwrap_err());
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn invalid_values_name_the_key() {
        let cases = [
            (
                "base_url = \"http://127.0.0.1:8080\"",
                "base_url = \"nope\"",
                "cloud.base_url",
            ),
            ("timeout_secs = 5", "timeout_secs = 0", "cloud.timeout_secs"),
            (
                "edge_secret = \"demo-edge-secret\"",
                "edge_secret = \"\"",
                "cloud.edge_secret",
            ),
            (
                "max_age_secs = 60",
                "max_age_secs = 0",
                "outbox.max_age_secs",
            ),
            (
                "\"http://127.0.0.1:8090\"]",
                "\"http://127.0.0.1:8090/x\"]",
                "cors.allowed_origins",
            ),
            ("url = \"postgres", "url = \"mysql", "database.url"),
            (
                "max_age_secs = 60",
                "max_age_secs = 60\nbatch_size = 10",
                "outbox.batch_size: must be smaller than database.pool_size",
            ),
        ];
        for (from, to, key) in cases {
            let err = format!(
                "{:#}",
                Settings::from_toml_str(&VALID.replace(from, to)).unwrap_err()
            );
            assert!(err.contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../config/edge-service.example.toml");
        let s = Settings::load(&path).unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:8081");
        assert_eq!(s.cloud.base_url, "http://127.0.0.1:8080");
        assert_eq!(s.cors.allowed_origins, ["http://127.0.0.1:8090"]);
    }

    #[test]
    fn a_missing_key_is_named() {
        let err = format!(
            "{:#}",
            Settings::from_toml_str(&VALID.replace("edge_id = \"demo-edge\"", "")).unwrap_err()
        );
        assert!(err.contains("edge_id"), "{err}");
    }
}
