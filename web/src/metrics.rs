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
    /// Requests being served now.
    pub in_flight: AtomicI64,
    /// Handler panics caught.
    pub panics: AtomicU64,
    /// Requests refused because the concurrency limit was reached.
    pub overloaded: AtomicU64,
    /// Requests that ran past the timeout.
    pub timeouts: AtomicU64,
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
        let gauges: [(&str, &str, f64); 4] = [
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
