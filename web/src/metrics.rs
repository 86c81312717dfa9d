//! Request metrics in the Prometheus text format, for `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Counters kept by the middleware.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    /// Requests being served now: those holding a place under the concurrency limit.
    pub in_flight: AtomicI64,
    /// Handler panics caught.
    pub panics: AtomicU64,
    /// Requests refused because the concurrency limit was reached (503).
    pub overloaded: AtomicU64,
    /// Requests that ran past the timeout (503).
    pub timeouts: AtomicU64,
    /// Requests whose body stalled or was not complete by the deadline (408).
    pub body_timeouts: AtomicU64,
    /// Connections closed because their request head was not complete in time.
    pub header_timeouts: AtomicU64,
    /// Requests refused by a user's rate limit (429).
    pub rate_limited: AtomicU64,
    /// Requests refused by a user's or an address's concurrency limit (429).
    pub concurrency_limited: AtomicU64,
}

impl Metrics {
    /// Records one finished request.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut r = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *r.entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        drop(r);
        let secs = elapsed.as_secs_f64();
        let mut l = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = l.entry(route.to_string()).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Renders everything, plus `extra` gauges given by the caller.
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP deskmate_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE deskmate_http_requests_total counter\n");
        for ((m, r, s), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "deskmate_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{s}\"}} {n}",
                escape(r)
            );
        }
        out.push_str("# HELP deskmate_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE deskmate_http_request_duration_seconds histogram\n");
        for (r, h) in self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let r = escape(r);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "deskmate_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "deskmate_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "deskmate_http_request_duration_seconds_sum{{route=\"{r}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "deskmate_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                h.count
            );
        }
        let gauges: [(&str, &str, f64); 8] = [
            (
                "deskmate_http_in_flight",
                "Requests being served.",
                self.in_flight.load(Ordering::Relaxed) as f64,
            ),
            (
                "deskmate_http_panics_total",
                "Handler panics caught.",
                self.panics.load(Ordering::Relaxed) as f64,
            ),
            (
                "deskmate_http_overloaded_total",
                "Requests refused at the concurrency limit.",
                self.overloaded.load(Ordering::Relaxed) as f64,
            ),
            (
                "deskmate_http_timeouts_total",
                "Requests that timed out.",
                self.timeouts.load(Ordering::Relaxed) as f64,
            ),
            (
                "deskmate_http_body_timeouts_total",
                "Requests answered 408: the body stalled or missed the deadline.",
                self.body_timeouts.load(Ordering::Relaxed) as f64,
            ),
            (
                "deskmate_http_header_timeouts_total",
                "Connections closed: the request head was not complete in time.",
                self.header_timeouts.load(Ordering::Relaxed) as f64,
            ),
            (
                "deskmate_http_rate_limited_total",
                "Requests answered 429 by a user's rate limit.",
                self.rate_limited.load(Ordering::Relaxed) as f64,
            ),
            (
                "deskmate_http_concurrency_limited_total",
                "Requests answered 429 by a user's or an address's concurrency limit.",
                self.concurrency_limited.load(Ordering::Relaxed) as f64,
            ),
        ];
        for (name, help, v) in gauges.iter().chain(extra.iter()) {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
