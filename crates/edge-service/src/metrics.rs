//! Prometheus metrics on the edge's own registry: requests and latency per route pattern,
//! delivery attempts by outcome, and (computed at scrape time from the database) the outbox depth
//! by status and the age of the oldest pending row.

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The edge's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    deliveries: IntCounterVec,
    outbox_rows: IntGaugeVec,
    oldest_pending: Gauge,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("edge".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route pattern and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route pattern",
            ),
            &["method", "route"],
        )?;
        let deliveries = IntCounterVec::new(
            Opts::new(
                "outbox_delivery_attempts_total",
                "Outbox delivery attempts by kind (send, iam) and outcome (delivered, retry, failed)",
            ),
            &["kind", "outcome"],
        )?;
        let outbox_rows = IntGaugeVec::new(
            Opts::new("outbox_rows", "Outbox rows by status"),
            &["status"],
        )?;
        let oldest_pending = Gauge::new(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox row in seconds (0 when none)",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(outbox_rows.clone()))?;
        registry.register(Box::new(oldest_pending.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            deliveries,
            outbox_rows,
            oldest_pending,
        })
    }

    /// Records one finished request. Methods outside the standard set are counted as `other`,
    /// so clients cannot grow the number of series without bound.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
        let method = if KNOWN.contains(&method) {
            method
        } else {
            "other"
        };
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// Records one delivery attempt.
    pub fn observe_delivery(&self, kind: &str, outcome: &str) {
        self.deliveries.with_label_values(&[kind, outcome]).inc();
    }

    /// Sets the outbox gauges (called at scrape time).
    pub fn set_outbox(&self, by_status: &[(String, i64)], oldest_pending_secs: f64) {
        for status in ["pending", "delivered", "failed"] {
            let n = by_status
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            self.outbox_rows.with_label_values(&[status]).set(n);
        }
        self.oldest_pending.set(oldest_pending_secs);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        String::from_utf8(buf).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_http_methods_are_counted_as_other() {
        let m = Metrics::new().unwrap();
        m.observe_request("GET", "/healthz", 200, 0.001);
        m.observe_request("BREW", "/healthz", 405, 0.001);
        m.observe_request("FOO123", "/healthz", 405, 0.001);
        let text = m.render().unwrap();
        assert!(text.contains(r#"method="GET""#), "{text}");
        assert!(
            text.contains(r#"method="other",route="/healthz",status="405"} 2"#),
            "{text}"
        );
        assert!(!text.contains("BREW") && !text.contains("FOO123"), "{text}");
    }
}
