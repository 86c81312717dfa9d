//! Evaluation reports: `report.json` (stable field names, for dashboards and drift tracking) and
//! a self-contained `report.html` (no external assets) for people.

use crate::{CaseResult, EvalContext, EvalError, Metric, SuiteOutput, Threshold};
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where and on what a suite ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunMetadata {
    /// `git rev-parse HEAD` of the working directory, with `-dirty` if it has changes, or
    /// `unknown` outside a checkout.
    pub git_commit: String,
    /// The Deskmate version.
    pub deskmate_version: String,
    /// Model ids used.
    pub model_ids: Vec<String>,
    /// Host name.
    pub hostname: String,
    /// `linux-x86_64`.
    pub platform: String,
    /// Logical CPUs available.
    pub cpus: usize,
    /// Physical memory, GiB.
    pub memory_gib: f64,
}

impl RunMetadata {
    /// Reads the metadata of this machine and checkout.
    pub fn collect(model_ids: &[String]) -> RunMetadata {
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let commit = git(&["rev-parse", "HEAD"]).map(|c| {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{c}-dirty") } else { c }
        });
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map(|kb| (kb / 1024.0 / 1024.0 * 10.0).round() / 10.0)
            .unwrap_or(0.0);
        RunMetadata {
            git_commit: commit.unwrap_or_else(|| "unknown".into()),
            deskmate_version: env!("CARGO_PKG_VERSION").into(),
            model_ids: model_ids.to_vec(),
            hostname: std::fs::read_to_string("/etc/hostname")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into()),
            platform: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            memory_gib,
        }
    }
}

/// A suite's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Suite name.
    pub suite: String,
    /// What it measures.
    pub description: String,
    /// Start time, RFC 3339 UTC.
    pub started_at: String,
    /// Wall time, milliseconds.
    pub duration_ms: u64,
    /// Whether every gated metric and every case passed.
    pub passed: bool,
    /// Run metadata.
    pub metadata: RunMetadata,
    /// Metrics.
    pub metrics: Vec<Metric>,
    /// Cases.
    pub cases: Vec<CaseResult>,
    /// Notes.
    pub notes: Vec<String>,
    /// Charts (drawn as SVG in the HTML report).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub plots: Vec<crate::Plot>,
    /// A chain validation's cases as its production calls are monitored: the drift baseline
    /// once the report passed and was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::ValidationBaseline>,
}

impl Report {
    /// Assembles a report.
    pub fn new(
        suite: &str,
        description: &str,
        started: time::OffsetDateTime,
        elapsed: Duration,
        ctx: &EvalContext,
        out: SuiteOutput,
    ) -> Report {
        let passed = out.metrics.iter().all(|m| m.passed != Some(false))
            && out.cases.iter().all(|c| c.passed);
        Report {
            suite: suite.into(),
            description: description.into(),
            started_at: started
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            duration_ms: elapsed.as_millis() as u64,
            passed,
            metadata: RunMetadata::collect(&ctx.model_ids),
            metrics: out.metrics,
            cases: out.cases,
            notes: out.notes,
            plots: out.plots,
            baseline: out.baseline,
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// Renders the HTML report.
pub fn html(r: &Report) -> String {
    let mut h = String::new();
    let verdict = if r.passed {
        ("PASS", "pass")
    } else {
        ("FAIL", "fail")
    };
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Deskmate evaluation: {s}</title>\
         <style>body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0;width:100%}}th,td{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}\
         th{{background:#f3f3f3}}.pass{{color:#0a6b2d;font-weight:600}}.fail{{color:#b00020;font-weight:600}}\
         .num{{text-align:right;font-variant-numeric:tabular-nums}}code{{font-size:90%}}</style></head><body>\
         <h1>Evaluation: {s} <span class=\"{vc}\">{v}</span></h1><p>{d}</p>",
        s = esc(&r.suite),
        d = esc(&r.description),
        v = verdict.0,
        vc = verdict.1
    );
    let m = &r.metadata;
    let _ = write!(
        h,
        "<h2>Run</h2><table><tr><th>started (UTC)</th><td>{}</td></tr><tr><th>duration</th><td>{} ms</td></tr>\
         <tr><th>git commit</th><td><code>{}</code></td></tr><tr><th>Deskmate</th><td>{}</td></tr>\
         <tr><th>models</th><td>{}</td></tr><tr><th>machine</th><td>{} ({}, {} CPUs, {} GiB)</td></tr></table>",
        esc(&r.started_at),
        r.duration_ms,
        esc(&m.git_commit),
        esc(&m.deskmate_version),
        if m.model_ids.is_empty() {
            "none".to_string()
        } else {
            esc(&m.model_ids.join(", "))
        },
        esc(&m.hostname),
        esc(&m.platform),
        m.cpus,
        m.memory_gib
    );
    h.push_str("<h2>Metrics</h2><table><tr><th>metric</th><th>value</th><th>unit</th><th>threshold</th><th>result</th></tr>");
    for x in &r.metrics {
        let threshold = match x.threshold {
            Some(Threshold::AtLeast(t)) => format!("&ge; {}", fmt_value(t)),
            Some(Threshold::AtMost(t)) => format!("&le; {}", fmt_value(t)),
            None => "&mdash;".into(),
        };
        let result = match x.passed {
            Some(true) => "<span class=\"pass\">pass</span>",
            Some(false) => "<span class=\"fail\">fail</span>",
            None => "info",
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&x.name),
            fmt_value(x.value),
            esc(&x.unit),
            threshold,
            result
        );
    }
    h.push_str("</table>");
    if !r.cases.is_empty() {
        let failed = r.cases.iter().filter(|c| !c.passed).count();
        let _ = write!(
            h,
            "<h2>Cases ({} of {} passed)</h2><table><tr><th>case</th><th>result</th><th>detail</th></tr>",
            r.cases.len() - failed,
            r.cases.len()
        );
        for c in &r.cases {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                esc(&c.id),
                if c.passed { "pass" } else { "fail" },
                if c.passed { "pass" } else { "fail" },
                esc(&c.detail)
            );
        }
        h.push_str("</table>");
    }
    for p in &r.plots {
        h.push_str(&svg_plot(p));
    }
    if !r.notes.is_empty() {
        h.push_str("<h2>Notes</h2><ul>");
        for n in &r.notes {
            let _ = write!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul>");
    }
    h.push_str("</body></html>\n");
    h
}

/// One chart as an inline SVG figure: axes with their extremes labelled, one polyline and
/// legend entry per series.
pub fn svg_plot(p: &crate::Plot) -> String {
    const W: f64 = 640.0;
    const H: f64 = 320.0;
    const L: f64 = 70.0;
    const R: f64 = 160.0;
    const T: f64 = 20.0;
    const B: f64 = 40.0;
    const COLOURS: [&str; 6] = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
    ];
    let pts = p
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return String::new();
    }
    if x1 == x0 {
        x1 = x0 + 1.0;
    }
    if y1 == y0 {
        y1 = y0 + 1.0;
    }
    let sx = |x: f64| L + (x - x0) / (x1 - x0) * (W - L - R);
    let sy = |y: f64| H - B - (y - y0) / (y1 - y0) * (H - T - B);
    let mut s = format!(
        "<h2>{}</h2><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" \
         role=\"img\" aria-label=\"{}\" font-size=\"11\">\
         <line x1=\"{L}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#444\"/>\
         <line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{}\" stroke=\"#444\"/>\
         <text x=\"{L}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{T}\" text-anchor=\"end\" dy=\"8\">{}</text>\
         <text x=\"12\" y=\"{}\" transform=\"rotate(-90 12 {})\" text-anchor=\"middle\">{}</text>",
        esc(&p.title),
        esc(&p.title),
        H - B,
        W - R,
        H - B,
        H - B,
        H - B + 14.0,
        fmt_value(x0),
        W - R,
        H - B + 14.0,
        fmt_value(x1),
        (L + W - R) / 2.0,
        H - 6.0,
        esc(&p.x_label),
        L - 4.0,
        H - B,
        fmt_value(y0),
        L - 4.0,
        fmt_value(y1),
        H / 2.0,
        H / 2.0,
        esc(&p.y_label),
    );
    for (i, series) in p.series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = series
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{c}\" stroke-width=\"2\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            path.join(" "),
            W - R + 10.0,
            T + 14.0 * i as f64 + 4.0,
            W - R + 30.0,
            T + 14.0 * i as f64 + 4.0,
            W - R + 34.0,
            T + 14.0 * i as f64 + 8.0,
            esc(&series.name)
        );
    }
    s.push_str("</svg>");
    s
}

fn json_bytes(r: &Report) -> Vec<u8> {
    serde_json::to_vec_pretty(r).expect("report serialises")
}

/// The lowercase hex SHA-256 of the `report.json` that [`write`] writes for `r`: what the audit
/// log records to sign the report (`eval.report`).
pub fn json_sha256(r: &Report) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(json_bytes(r)))
}

/// Writes `report.json` and `report.html` into `dir`; returns their paths.
pub fn write(r: &Report, dir: &Path) -> Result<(PathBuf, PathBuf), EvalError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EvalError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let json = dir.join("report.json");
    let html_path = dir.join("report.html");
    std::fs::write(&json, json_bytes(r)).map_err(io(&json))?;
    std::fs::write(&html_path, html(r)).map_err(io(&html_path))?;
    Ok((json, html_path))
}
