//! What the web benchmarks share: the workspace root, the CPU they ran on, the demo's market
//! data dated today, and latency percentiles.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The CPU's model name (`/proc/cpuinfo`).
pub fn cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The demo's market data dated today, as `deskmate up` writes it, in `dir`.
pub fn markets(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(workspace().join("demo/markets.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v.as_object_mut().unwrap().remove("_note");
    let today = time::OffsetDateTime::now_utc().date().to_string();
    for m in v["markets"].as_object_mut().unwrap().values_mut() {
        m["valuation_date"] = json!(today);
    }
    let path = dir.join("markets.json");
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    path
}

/// The `p` percentile of sorted latencies, in milliseconds (NaN when there are none).
pub fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}
