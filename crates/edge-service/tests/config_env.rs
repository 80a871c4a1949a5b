//! EDGE_SERVICE__SECTION__KEY environment variables override the file (its own test binary, so
//! that setting variables cannot disturb other tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edge_service::config::Settings;
use secrecy::ExposeSecret;

const FILE: &str = r#"
[server]
bind = "127.0.0.1:8081"
[database]
url = "postgres://postgres@127.0.0.1:5432/edge"
[cloud]
base_url = "http://127.0.0.1:8080"
edge_id = "demo-edge"
edge_secret = "from-the-file"
[messages]
default_url = "http://127.0.0.1:8090/portal/"
"#;

#[test]
fn environment_variables_override_the_file_and_bad_values_name_the_key() {
    std::env::set_var("EDGE_SERVICE__CLOUD__EDGE_SECRET", "from-the-env");
    std::env::set_var("EDGE_SERVICE__OUTBOX__MAX_AGE_SECS", "42");
    std::env::set_var(
        "EDGE_SERVICE__CORS__ALLOWED_ORIGINS",
        "http://a.example,http://b.example:8080",
    );
    std::env::set_var("EDGE_SERVICE__IAM__BIND_URL", "http://iam.example/bind");
    let s = Settings::from_toml_str(FILE).unwrap();
    assert_eq!(s.cloud.edge_secret.expose_secret(), "from-the-env");
    assert_eq!(s.outbox.max_age_secs, 42);
    assert_eq!(
        s.cors.allowed_origins,
        ["http://a.example", "http://b.example:8080"]
    );
    assert_eq!(s.iam.bind_url.as_deref(), Some("http://iam.example/bind"));
    assert!(!format!("{s:?}").contains("from-the-env"));

    std::env::set_var("EDGE_SERVICE__CLOUD__TIMEOUT_SECS", "0");
    let err = format!("{:#}", Settings::from_toml_str(FILE).unwrap_err());
    assert!(err.contains("cloud.timeout_secs"), "{err}");
    std::env::set_var("EDGE_SERVICE__CLOUD__TIMEOUT_SECS", "ten");
    let err = format!("{:#}", Settings::from_toml_str(FILE).unwrap_err());
    assert!(err.contains("timeout_secs"), "{err}");
}
