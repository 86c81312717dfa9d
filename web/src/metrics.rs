//! Metrics in the Prometheus text format, for `GET /metrics`: HTTP requests (counts by route
//! and status, latency histograms up to the longest generation), the guard's refusals as
//! counters, in-flight requests, the process (`process_*`: CPU seconds, resident and virtual
//! memory, open file descriptors, start time, from `/proc/self`), the build
//! (`deskmate_build_info`), and the models' figures from [`models::metrics`] (calls by outcome,
//! tokens, time to first token, tokens per second, queue depth, chain fallbacks).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Latency bucket bounds in seconds: milliseconds for the API, minutes for generations (the
/// route timeout of a generation is `models.generation_timeout_secs`).
const BUCKETS: [f64; 18] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0, 600.0,
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
        let _ = writeln!(
            out,
            "# HELP deskmate_http_in_flight Requests being served.\n# TYPE deskmate_http_in_flight gauge\ndeskmate_http_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let counters: [(&str, &str, f64); 7] = [
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
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        }
        for (name, help, v) in extra {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP deskmate_build_info The running build (value 1).\n# TYPE deskmate_build_info gauge\ndeskmate_build_info{{version=\"{}\",profile=\"{}\",arch=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            std::env::consts::ARCH
        );
        process_metrics(&mut out);
        models::metrics::render(&mut out);
        out
    }
}

/// The process's `process_*` metrics (the names Prometheus client libraries use), read from
/// `/proc/self` on Linux; elsewhere none.
fn process_metrics(out: &mut String) {
    // /proc reports CPU times in clock ticks of USER_HZ, which is 100 on every Linux ABI.
    const TICKS: f64 = 100.0;
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // Fields after the command name (which may hold spaces) in its parentheses.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // After ")": state is field 0; utime 11, stime 12, starttime 19, vsize 20, rss pages 21.
    let cpu = (num(11) + num(12)) / TICKS;
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("btime ")
                    .map(|v| v.trim().parse::<f64>().ok())
            })
        })
        .flatten()
        .unwrap_or(0.0);
    let start = boot + num(19) / TICKS;
    let rss_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:")
                    .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            })
        })
        .unwrap_or(0.0);
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    let series: [(&str, &str, &str, f64); 5] = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            cpu,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            rss_kb * 1024.0,
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            num(20),
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            fds as f64,
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since the Unix epoch in seconds.",
            start,
        ),
    ];
    for (name, kind, help, v) in series {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
        );
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
