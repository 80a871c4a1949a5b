//! Settings: the TOML file given by `--config`, then `CLOUD_GATEWAY__SECTION__KEY` environment
//! overrides, then [`Settings::validate`], whose messages name the offending key.
//!
//! Secrets are [`SecretString`]s: `Debug` of any settings struct shows `[REDACTED]` for them.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{bail, Context};
use dingtalk_core::client::ClientConfig;
use dingtalk_core::crypto::CallbackCrypto;
use dingtalk_core::oauth::{RedirectAllowList, STATE_SEPARATOR};
use dingtalk_core::retry::RetryPolicy;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The environment variable prefix (`CLOUD_GATEWAY__DINGTALK__APP_SECRET=…`).
pub const ENV_PREFIX: &str = "CLOUD_GATEWAY";

/// The environment prefix of per-edge overrides (`CLOUD_GATEWAY__EDGES__0__SECRET`).
const EDGES_ENV_PREFIX: &str = "CLOUD_GATEWAY__EDGES__";

/// All settings of the cloud gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[server]`.
    pub server: ServerSettings,
    /// `[database]`.
    pub database: DatabaseSettings,
    /// `[dingtalk]`.
    pub dingtalk: DingTalkSettings,
    /// `[oauth]`.
    #[serde(default)]
    pub oauth: OAuthSettings,
    /// `[sweeper]`.
    #[serde(default)]
    pub sweeper: SweeperSettings,
    /// `[[edges]]`: the intranet edges allowed to use the internal API.
    #[serde(default)]
    pub edges: Vec<EdgeSettings>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// `server.bind`: listen address (`127.0.0.1:8080`; port 0 picks a free port).
    pub bind: String,
    /// `server.public_url`: the URL DingTalk and browsers reach this service at.
    pub public_url: String,
    /// `server.max_body_bytes`: request body limit (default 256 KiB).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// `server.workers`: actix worker threads (default: actix's choice, the number of cores).
    #[serde(default)]
    pub workers: Option<usize>,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `database.url`: the SQLite file path.
    pub url: String,
    /// `database.pool_size` (default 8).
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
    /// `database.busy_timeout_ms`: how long a statement waits for a lock (default 5000).
    #[serde(default = "default_busy_timeout")]
    pub busy_timeout_ms: u32,
}

/// `dingtalk.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A third-party (ISV) suite: tickets from callbacks, a corp token per authorized corp.
    Isv,
    /// An internal app of one corp.
    Internal,
}

/// `[dingtalk]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DingTalkSettings {
    /// `dingtalk.mode`: `isv` or `internal`.
    pub mode: Mode,
    /// `dingtalk.app_key`: SuiteKey (isv) or AppKey (internal); also the OAuth client id.
    pub app_key: String,
    /// `dingtalk.app_secret`: SuiteSecret or AppSecret.
    pub app_secret: SecretString,
    /// `dingtalk.corp_id` (internal mode).
    #[serde(default)]
    pub corp_id: Option<String>,
    /// `dingtalk.agent_id` (internal mode).
    #[serde(default)]
    pub agent_id: Option<i64>,
    /// `dingtalk.template_id` (isv template sends).
    #[serde(default)]
    pub template_id: Option<String>,
    /// `dingtalk.callback_token`.
    pub callback_token: SecretString,
    /// `dingtalk.callback_aes_key`: the 43-character EncodingAESKey.
    pub callback_aes_key: SecretString,
    /// `dingtalk.callback_owner_key`: the key a callback payload must end with (default: the
    /// app key; internal apps made in the old console use the corp id).
    #[serde(default)]
    pub callback_owner_key: Option<String>,
    /// `dingtalk.api_base`.
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// `dingtalk.oapi_base`.
    #[serde(default = "default_oapi_base")]
    pub oapi_base: String,
    /// `dingtalk.login_base`.
    #[serde(default = "default_login_base")]
    pub login_base: String,
    /// `dingtalk.request_timeout_secs` (default 10).
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// `dingtalk.retry_max_attempts` (default 5).
    #[serde(default = "default_retry_attempts")]
    pub retry_max_attempts: u32,
    /// `dingtalk.retry_max_elapsed_secs` (default 20).
    #[serde(default = "default_retry_elapsed")]
    pub retry_max_elapsed_secs: u64,
}

/// `[oauth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSettings {
    /// `oauth.auth_code_ttl_secs`: lifetime of a one-time user record (default 300).
    #[serde(default = "default_ttl")]
    pub auth_code_ttl_secs: u64,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        OAuthSettings {
            auth_code_ttl_secs: default_ttl(),
        }
    }
}

/// `[sweeper]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweeperSettings {
    /// `sweeper.interval_secs`: how often expired records are deleted (default 60).
    #[serde(default = "default_sweep_interval")]
    pub interval_secs: u64,
}

impl Default for SweeperSettings {
    fn default() -> Self {
        SweeperSettings {
            interval_secs: default_sweep_interval(),
        }
    }
}

/// One `[[edges]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeSettings {
    /// `edges.id`: the HTTP Basic user name.
    pub id: String,
    /// `edges.secret`: the HTTP Basic password.
    pub secret: SecretString,
    /// `edges.redirect_prefixes`: the frontend prefixes this edge's users return to.
    pub redirect_prefixes: Vec<String>,
}

fn default_max_body() -> usize {
    256 * 1024
}
fn default_pool_size() -> u32 {
    8
}
fn default_busy_timeout() -> u32 {
    5000
}
fn default_api_base() -> String {
    ClientConfig::default().api_base
}
fn default_oapi_base() -> String {
    ClientConfig::default().oapi_base
}
fn default_login_base() -> String {
    ClientConfig::default().login_base
}
fn default_request_timeout() -> u64 {
    ClientConfig::default().request_timeout.as_secs()
}
fn default_retry_attempts() -> u32 {
    RetryPolicy::default().max_attempts
}
fn default_retry_elapsed() -> u64 {
    RetryPolicy::default().max_elapsed.as_secs()
}
fn default_ttl() -> u64 {
    300
}
fn default_sweep_interval() -> u64 {
    60
}

impl Settings {
    /// Parses and validates settings from a TOML string (no environment overrides).
    pub fn from_toml_str(toml: &str) -> anyhow::Result<Settings> {
        let raw = config::Config::builder()
            .add_source(config::File::from_str(toml, config::FileFormat::Toml))
            .build()
            .context("reading the settings")?;
        Self::finish(raw)
    }

    /// Reads the TOML file at `path`, applies `CLOUD_GATEWAY__SECTION__KEY` overrides (and
    /// `CLOUD_GATEWAY__EDGES__<index>__<KEY>` for the file's `[[edges]]`), validates.
    pub fn load(path: &Path) -> anyhow::Result<Settings> {
        Self::load_with_env(path, std::env::vars())
    }

    /// [`Settings::load`] with the given environment instead of the process's.
    pub fn load_with_env(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Settings> {
        let (edge_vars, other_vars): (Vec<_>, Vec<_>) = env
            .into_iter()
            .partition(|(name, _)| name.to_ascii_uppercase().starts_with(EDGES_ENV_PREFIX));
        let raw = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix(ENV_PREFIX)
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(other_vars.into_iter().collect())),
            )
            .build()
            .with_context(|| format!("reading the settings from {}", path.display()))?;
        let mut settings = Self::deserialize(raw)?;
        settings.apply_edge_overrides(&edge_vars)?;
        settings.validate()?;
        Ok(settings)
    }

    fn finish(raw: config::Config) -> anyhow::Result<Settings> {
        let settings = Self::deserialize(raw)?;
        settings.validate()?;
        Ok(settings)
    }

    fn deserialize(raw: config::Config) -> anyhow::Result<Settings> {
        raw.try_deserialize()
            .context("the settings are incomplete or malformed")
    }

    /// Applies `CLOUD_GATEWAY__EDGES__<index>__<ID|SECRET|REDIRECT_PREFIXES>` to the edges of
    /// the file (prefixes comma-separated), so edge secrets can stay out of the file.
    fn apply_edge_overrides(&mut self, vars: &[(String, String)]) -> anyhow::Result<()> {
        for (name, value) in vars {
            let upper = name.to_ascii_uppercase();
            let rest = upper.strip_prefix(EDGES_ENV_PREFIX).unwrap_or_default();
            let Some((index, key)) = rest.split_once("__") else {
                bail!("{name}: expected {EDGES_ENV_PREFIX}<index>__<KEY>");
            };
            let Some(edge) = index
                .parse::<usize>()
                .ok()
                .and_then(|i| self.edges.get_mut(i))
            else {
                bail!("{name}: edges[{index}] is not in the settings file");
            };
            match key {
                "ID" => edge.id = value.clone(),
                "SECRET" => edge.secret = SecretString::from(value.clone()),
                "REDIRECT_PREFIXES" => {
                    edge.redirect_prefixes = value
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect();
                }
                _ => bail!("{name}: an edge has the keys ID, SECRET and REDIRECT_PREFIXES"),
            }
        }
        Ok(())
    }

    /// Checks every setting; the error names the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.server
            .bind
            .parse::<SocketAddr>()
            .with_context(|| "server.bind must be an address like 127.0.0.1:8080".to_string())?;
        check_http_url("server.public_url", &self.server.public_url)?;
        if self.server.max_body_bytes < 1024 {
            bail!("server.max_body_bytes must be at least 1024");
        }
        if self.server.workers == Some(0) {
            bail!("server.workers must be at least 1");
        }
        if self.database.url.trim().is_empty() {
            bail!("database.url must be the path of the SQLite file");
        }
        if self.database.pool_size == 0 {
            bail!("database.pool_size must be at least 1");
        }
        let d = &self.dingtalk;
        if d.app_key.trim().is_empty() {
            bail!("dingtalk.app_key must not be empty");
        }
        if d.app_secret.expose_secret().is_empty() {
            bail!("dingtalk.app_secret must not be empty");
        }
        if d.callback_token.expose_secret().is_empty() {
            bail!("dingtalk.callback_token must not be empty");
        }
        if d.callback_aes_key.expose_secret().chars().count() != 43 {
            bail!("dingtalk.callback_aes_key must be 43 characters");
        }
        if CallbackCrypto::new("t", d.callback_aes_key.expose_secret(), &d.app_key).is_err() {
            bail!("dingtalk.callback_aes_key must be 43 characters of base64");
        }
        check_http_url("dingtalk.api_base", &d.api_base)?;
        check_http_url("dingtalk.oapi_base", &d.oapi_base)?;
        check_http_url("dingtalk.login_base", &d.login_base)?;
        if d.request_timeout_secs == 0 {
            bail!("dingtalk.request_timeout_secs must be at least 1");
        }
        if d.retry_max_attempts == 0 {
            bail!("dingtalk.retry_max_attempts must be at least 1");
        }
        match d.mode {
            Mode::Internal => {
                if d.corp_id.as_deref().is_none_or(|c| c.trim().is_empty()) {
                    bail!("dingtalk.corp_id is required when dingtalk.mode is \"internal\"");
                }
                if d.agent_id.is_none() {
                    bail!("dingtalk.agent_id is required when dingtalk.mode is \"internal\"");
                }
            }
            Mode::Isv => {
                if d.template_id.as_deref().is_none_or(|t| t.trim().is_empty()) {
                    bail!("dingtalk.template_id is required when dingtalk.mode is \"isv\"");
                }
            }
        }
        let ttl = self.oauth.auth_code_ttl_secs;
        if ttl == 0 || ttl > 3600 {
            bail!("oauth.auth_code_ttl_secs must be between 1 and 3600");
        }
        if self.sweeper.interval_secs == 0 {
            bail!("sweeper.interval_secs must be at least 1");
        }
        if self.edges.is_empty() {
            bail!("edges must list at least one [[edges]] entry");
        }
        let mut ids = HashSet::new();
        for (i, edge) in self.edges.iter().enumerate() {
            if edge.id.trim().is_empty() || edge.id.contains(':') {
                bail!("edges[{i}].id must be non-empty and contain no ':'");
            }
            if !ids.insert(edge.id.as_str()) {
                bail!("edges[{i}].id \"{}\" is listed twice", edge.id);
            }
            if edge.secret.expose_secret().len() < 8 {
                bail!("edges[{i}].secret must be at least 8 characters");
            }
            if edge.redirect_prefixes.is_empty() {
                bail!("edges[{i}].redirect_prefixes must list at least one prefix");
            }
            for (j, prefix) in edge.redirect_prefixes.iter().enumerate() {
                if RedirectAllowList::new(&[prefix]).is_err() {
                    bail!("edges[{i}].redirect_prefixes[{j}] is not an acceptable http(s) prefix");
                }
                // The OAuth state is "<prefix>::<nonce>", split at the first "::".
                if prefix.contains(STATE_SEPARATOR) {
                    bail!(
                        "edges[{i}].redirect_prefixes[{j}] must not contain \"::\" (the OAuth \
                         state separator; write an IPv6 host by name)"
                    );
                }
            }
        }
        Ok(())
    }

    /// The owner key callbacks are checked against.
    pub fn callback_owner_key(&self) -> &str {
        self.dingtalk
            .callback_owner_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or(&self.dingtalk.app_key)
    }

    /// The public URL without a trailing slash.
    pub fn public_url(&self) -> &str {
        self.server.public_url.trim_end_matches('/')
    }
}

fn check_http_url(key: &str, value: &str) -> anyhow::Result<()> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => bail!("{key} must be an absolute http(s) URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const EXAMPLE: &str = include_str!("../../../config/cloud-gateway.example.toml");

    #[test]
    fn the_example_file_is_valid() {
        let s = Settings::from_toml_str(EXAMPLE).unwrap();
        assert_eq!(s.dingtalk.mode, Mode::Isv);
        assert_eq!(s.oauth.auth_code_ttl_secs, 300);
        assert_eq!(s.edges[0].id, "demo-edge");
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let s = Settings::from_toml_str(EXAMPLE).unwrap();
        let dbg = format!("{s:?}");
        for secret in [
            "demo-suite-secret",
            "demotoken",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "demo-edge-secret",
        ] {
            assert!(!dbg.contains(secret), "{secret} leaked in Debug");
        }
    }

    #[test]
    fn a_short_aes_key_is_refused_naming_the_key() {
        let toml = EXAMPLE.replace("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "tooshort");
        let err = format!("{:#}", Settings::from_toml_str(&toml).unwrap_err());
        assert!(err.contains("dingtalk.callback_aes_key"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_refused_naming_it() {
        let toml = EXAMPLE.replace("[server]", "[server]\nbindd = \"x\"");
        let err = format!("{:#}", Settings::from_toml_str(&toml).unwrap_err());
        assert!(err.contains("bindd"), "{err}");
    }

    #[test]
    fn a_missing_key_is_refused_naming_it() {
        let toml = EXAMPLE.replace("app_key = \"suitedemo0001\"", "");
        let err = format!("{:#}", Settings::from_toml_str(&toml).unwrap_err());
        assert!(err.contains("app_key"), "{err}");
    }

    #[test]
    fn a_redirect_prefix_containing_the_state_separator_is_refused_naming_it() {
        let toml = EXAMPLE.replace("http://127.0.0.1:8090/portal", "http://[::1]:8090/portal");
        let err = format!("{:#}", Settings::from_toml_str(&toml).unwrap_err());
        assert!(err.contains("edges[0].redirect_prefixes[0]"), "{err}");
    }

    #[test]
    fn an_edge_secret_and_prefixes_can_come_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, EXAMPLE).unwrap();
        let env = [
            ("CLOUD_GATEWAY__EDGES__0__SECRET", "secret-from-env"),
            (
                "CLOUD_GATEWAY__EDGES__0__REDIRECT_PREFIXES",
                "https://a.example/portal, https://b.example/app",
            ),
            ("CLOUD_GATEWAY__DINGTALK__APP_SECRET", "app-secret-from-env"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let s = Settings::load_with_env(&path, env).unwrap();
        assert_eq!(s.edges[0].secret.expose_secret(), "secret-from-env");
        assert_eq!(
            s.edges[0].redirect_prefixes,
            ["https://a.example/portal", "https://b.example/app"]
        );
        assert_eq!(s.dingtalk.app_secret.expose_secret(), "app-secret-from-env");
    }

    #[test]
    fn an_edge_override_for_a_missing_edge_or_key_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, EXAMPLE).unwrap();
        for name in [
            "CLOUD_GATEWAY__EDGES__5__SECRET",
            "CLOUD_GATEWAY__EDGES__0__PASSWORD",
            "CLOUD_GATEWAY__EDGES__SECRET",
        ] {
            let env = [(name.to_string(), "x".to_string())];
            let err = format!("{:#}", Settings::load_with_env(&path, env).unwrap_err());
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn internal_mode_requires_corp_and_agent() {
        let toml = EXAMPLE.replace("mode = \"isv\"", "mode = \"internal\"");
        let err = format!("{:#}", Settings::from_toml_str(&toml).unwrap_err());
        assert!(err.contains("dingtalk.corp_id"), "{err}");
    }

    #[test]
    fn environment_variables_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, EXAMPLE).unwrap();
        // The only test in this binary touching this variable.
        std::env::set_var("CLOUD_GATEWAY__OAUTH__AUTH_CODE_TTL_SECS", "42");
        let s = Settings::load(&path).unwrap();
        std::env::remove_var("CLOUD_GATEWAY__OAUTH__AUTH_CODE_TTL_SECS");
        assert_eq!(s.oauth.auth_code_ttl_secs, 42);
    }
}
