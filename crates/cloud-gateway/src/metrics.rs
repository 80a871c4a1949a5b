//! Prometheus metrics in the service's own registry: HTTP requests and latency per route pattern
//! and status, DingTalk calls by api and outcome, token refreshes, callback events by type, and
//! the suite ticket age (computed when scraped).

use dingtalk_core::DingTalkError;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Event types counted by name; anything else is counted as `other` (bounded label values).
const KNOWN_EVENTS: &[&str] = &[
    "check_url",
    "check_create_suite_url",
    "check_update_suite_url",
    "suite_ticket",
    "suite_relieve",
    "SYNC_HTTP_PUSH_HIGH",
    "SYNC_HTTP_PUSH_MEDIUM",
];

/// The HTTP methods counted under their own name; any other is counted as `other`.
const KNOWN_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// The service's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_latency: HistogramVec,
    dingtalk_calls: IntCounterVec,
    token_refreshes: IntCounterVec,
    callback_events: IntCounterVec,
    suite_ticket_age: Gauge,
}

impl Metrics {
    /// Registers every series in a fresh registry.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("cloud_gateway".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route pattern and status",
            ),
            &["method", "route", "status"],
        )?;
        let http_latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route pattern and status",
            ),
            &["route", "status"],
        )?;
        let dingtalk_calls = IntCounterVec::new(
            Opts::new(
                "dingtalk_calls_total",
                "DingTalk API calls by api and outcome",
            ),
            &["api", "outcome"],
        )?;
        let token_refreshes = IntCounterVec::new(
            Opts::new(
                "token_refreshes_total",
                "DingTalk access token fetches by outcome",
            ),
            &["kind", "outcome"],
        )?;
        let callback_events = IntCounterVec::new(
            Opts::new("callback_events_total", "Accepted callback events by type"),
            &["event_type"],
        )?;
        let suite_ticket_age = Gauge::new(
            "suite_ticket_age_seconds",
            "Age of the stored suite ticket of the configured suite (-1: none yet)",
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_latency.clone()))?;
        registry.register(Box::new(dingtalk_calls.clone()))?;
        registry.register(Box::new(token_refreshes.clone()))?;
        registry.register(Box::new(callback_events.clone()))?;
        registry.register(Box::new(suite_ticket_age.clone()))?;
        Ok(Metrics {
            registry,
            http_requests,
            http_latency,
            dingtalk_calls,
            token_refreshes,
            callback_events,
            suite_ticket_age,
        })
    }

    /// Counts one HTTP request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        // Clients may invent methods; only the standard ones become labels.
        let method = if KNOWN_METHODS.contains(&method) {
            method
        } else {
            "other"
        };
        let status = status.to_string();
        self.http_requests
            .with_label_values(&[method, route, &status])
            .inc();
        self.http_latency
            .with_label_values(&[route, &status])
            .observe(seconds);
    }

    /// Counts one DingTalk call attempt.
    pub fn observe_call<T>(&self, api: &str, result: &Result<T, DingTalkError>) {
        let outcome = match result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("{:?}", e.kind()).to_lowercase(),
        };
        self.dingtalk_calls
            .with_label_values(&[api, &outcome])
            .inc();
    }

    /// Counts one token fetch.
    pub fn observe_token_refresh(&self, kind: &str, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.token_refreshes
            .with_label_values(&[kind, outcome])
            .inc();
    }

    /// Counts one accepted callback event.
    pub fn observe_event(&self, event_type: &str) {
        let label = if KNOWN_EVENTS.contains(&event_type) {
            event_type
        } else {
            "other"
        };
        self.callback_events.with_label_values(&[label]).inc();
    }

    /// Renders the registry; `ticket_age_secs` is the suite ticket age at this moment.
    pub fn render(&self, ticket_age_secs: Option<f64>) -> Result<String, prometheus::Error> {
        self.suite_ticket_age.set(ticket_age_secs.unwrap_or(-1.0));
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_event_types_share_one_label() {
        let m = Metrics::new().unwrap();
        m.observe_event("whatever_an_attacker_invents");
        m.observe_event("suite_ticket");
        let text = m.render(Some(3.0)).unwrap();
        assert!(text.contains("cloud_gateway_callback_events_total{event_type=\"other\"} 1"));
        assert!(text.contains("cloud_gateway_callback_events_total{event_type=\"suite_ticket\"} 1"));
        assert!(text.contains("cloud_gateway_suite_ticket_age_seconds 3"));
    }

    #[test]
    fn invented_http_methods_share_one_label() {
        let m = Metrics::new().unwrap();
        m.observe_request("FOOBAR", "/healthz", 404, 0.001);
        m.observe_request("GET", "/healthz", 200, 0.001);
        let text = m.render(None).unwrap();
        assert!(text.contains(
            "cloud_gateway_http_requests_total{method=\"other\",route=\"/healthz\",status=\"404\"} 1"
        ));
        assert!(text.contains("method=\"GET\""));
        assert!(!text.contains("FOOBAR"), "{text}");
    }
}
