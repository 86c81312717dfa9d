//! Extraction throughput: text-layer PDF pages, scanned pages (rasterize at 300 dpi + OCR),
//! FpML → CDM documents; peak RSS after each phase. A small harness (`harness = false`):
//!
//!     cargo bench -p connectors --bench extract
//!
//! `DESKMATE_BENCH_TEXT_PAGES` (default 50) and `DESKMATE_BENCH_SCAN_PAGES` (default 4) set the
//! sizes. The peer for the text layer is poppler's `pdftotext` on the same file, run from here.
//! Run it with `OMP_THREAD_LIMIT=1` as the service runs (Tesseract's OpenMP threads otherwise
//! double the time per scanned page on 2 cores).

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::Instant;

use connectors::cdm::CdmSchemas;
use connectors::document::{Input, Limits, PageMethod, extract_text};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size of this process, from /proc (Linux), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn pages_of(n: usize) -> Vec<Vec<String>> {
    let base = common::confirmation_pages();
    (0..n).map(|i| base[i % base.len()].clone()).collect()
}

fn main() {
    let text_pages = env_usize("DESKMATE_BENCH_TEXT_PAGES", 50);
    let scan_pages = env_usize("DESKMATE_BENCH_SCAN_PAGES", 4);
    let limits = Limits::default();
    println!(
        "cores: {}; OMP_THREAD_LIMIT={} (1 for OCR throughput, see document::ocr)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::var("OMP_THREAD_LIMIT").unwrap_or_else(|_| "unset".into())
    );

    // Text-layer PDF.
    let pdf = common::text_pdf(&pages_of(text_pages));
    let t = Instant::now();
    let doc = extract_text(
        Input::Bytes {
            bytes: &pdf,
            name: "bench.pdf",
        },
        &limits,
    )
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(doc.pages.iter().all(|p| p.method == PageMethod::TextLayer));
    println!(
        "text PDF: {text_pages} pages in {secs:.3} s = {:.1} pages/s, {:.1} ms/page; peak RSS {:.0} MiB",
        text_pages as f64 / secs,
        1000.0 * secs / text_pages as f64,
        peak_rss_mib()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let t = Instant::now();
    let status = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg(dir.path().join("bench.txt"))
        .status();
    if status.is_ok_and(|s| s.success()) {
        let peer = t.elapsed().as_secs_f64();
        println!(
            "  peer pdftotext (process incl.): {peer:.3} s = {:.1} pages/s; ours/peer time ratio {:.2}",
            text_pages as f64 / peer,
            secs / peer
        );
    }

    // Scanned PDF: every page rasterized at 300 dpi and OCR'd (chi_sim+eng).
    let scan = common::scanned_pdf(&common::text_pdf(&pages_of(scan_pages)), 300, 0.0);
    let t = Instant::now();
    let doc = extract_text(
        Input::Bytes {
            bytes: &scan,
            name: "scan.pdf",
        },
        &limits,
    )
    .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(doc.pages.iter().all(|p| p.method == PageMethod::Ocr));
    let words: usize = doc
        .pages
        .iter()
        .map(|p| p.lines.iter().map(|l| l.words.len()).sum::<usize>())
        .sum();
    let conf: f32 = doc.pages.iter().map(|p| p.confidence).sum::<f32>() / doc.pages.len() as f32;
    println!(
        "scanned PDF at 300 dpi: {scan_pages} pages in {secs:.2} s = {:.2} s/page ({words} words, mean confidence {conf:.2}); peak RSS {:.0} MiB",
        secs / scan_pages as f64,
        peak_rss_mib()
    );

    // FpML → CDM over the shared pairs (if the data is there).
    let root = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/cdm"
    ));
    if let Ok(schemas) = CdmSchemas::open(root.join("jsonschema-6.30.0")) {
        let t = Instant::now();
        let _ = schemas.validate_trade_state(&serde_json::json!({}));
        println!(
            "CDM schema compile: {:.2} s (once per process)",
            t.elapsed().as_secs_f64()
        );
        let mut files = Vec::new();
        for dir in std::fs::read_dir(root.join("fpml-cdm"))
            .into_iter()
            .flatten()
            .flatten()
        {
            for f in std::fs::read_dir(dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if f.path().to_string_lossy().ends_with(".fpml.xml") {
                    files.push(std::fs::read_to_string(f.path()).unwrap());
                }
            }
        }
        let t = Instant::now();
        for xml in &files {
            connectors::fpml::fpml_to_cdm(xml, &schemas).unwrap();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "FpML -> CDM (with enum validation): {} documents in {secs:.2} s = {:.1} ms/document; peak RSS {:.0} MiB",
            files.len(),
            1000.0 * secs / files.len().max(1) as f64,
            peak_rss_mib()
        );
    }
}
