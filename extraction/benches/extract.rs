//! End-to-end extraction: seconds per document and pages per second for the IRS letter and the
//! SEC excerpts as text (plain file), text PDF, clean scan (300 dpi) and poor scan (200 dpi,
//! skew, blur, speckle), rules only, CDM built and validated; peak RSS after each phase. A small
//! harness (`harness = false`):
//!
//!     OMP_THREAD_LIMIT=1 cargo bench -p extraction --bench extract
//!
//! The first document pays for compiling the CDM validator (reported apart). The peer for the
//! scanned documents is the OCR alone (`connectors::document::extract_text` on the same file),
//! so the share of time spent outside OCR shows. `DESKMATE_BENCH_REPEAT` (default 3) repeats
//! the text phases. Scans need `pdftoppm` and Tesseract; without them those phases are skipped.

use std::path::{Path, PathBuf};
use std::time::Instant;

use connectors::document::{Input, extract_text};
use extraction::score::{load_expected, source_text};
use extraction::synth::{self, Degrade};
use extraction::{Extractor, Settings};

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

fn main() {
    let repeat: usize = std::env::var("DESKMATE_BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let shared = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"));
    let expected =
        load_expected(include_str!("../../evals/data/extraction/expected.json")).unwrap();
    let texts: Vec<(String, String)> = expected
        .iter()
        .map(|e| (e.id.clone(), source_text(&shared, &e.source).unwrap()))
        .collect();
    let settings = Settings::default();
    let extractor = Extractor::new(settings.clone());
    println!(
        "cores: {}; OMP_THREAD_LIMIT={}; {} documents",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::var("OMP_THREAD_LIMIT").unwrap_or_else(|_| "unset".into()),
        texts.len()
    );
    let t = Instant::now();
    let first = extractor.extract(texts[0].1.as_bytes(), "warm-up");
    println!(
        "first document (compiles the CDM validator): {:.2} s, of which CDM {:.2} s; peak RSS {:.0} MiB",
        t.elapsed().as_secs_f64(),
        first.timings.cdm_ms / 1000.0,
        peak_rss_mib()
    );
    let pdftoppm = settings.limits.pdftoppm.clone();
    let scans = std::process::Command::new(&pdftoppm)
        .arg("-v")
        .output()
        .is_ok();
    for (variant, how) in [
        ("text", None),
        ("text PDF", None),
        ("clean scan", Some(Degrade::CLEAN)),
        ("poor scan", Some(Degrade::POOR)),
    ] {
        let docs: Vec<Vec<u8>> = texts
            .iter()
            .map(|(_, t)| match (variant, how) {
                ("text", _) => Some(t.clone().into_bytes()),
                (_, None) => Some(synth::text_pdf(t)),
                (_, Some(d)) if scans => synth::scan(&synth::text_pdf(t), d, &pdftoppm).ok(),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default();
        if docs.is_empty() {
            println!(
                "{variant}: skipped ({} not available)",
                Path::new(&pdftoppm).display()
            );
            continue;
        }
        let rounds = if how.is_some() { 1 } else { repeat };
        let (mut secs, mut pages, mut n, mut read) = (0.0, 0usize, 0usize, 0.0);
        for _ in 0..rounds {
            for (i, d) in docs.iter().enumerate() {
                let t = Instant::now();
                let r = extractor.extract(d, &texts[i].0);
                secs += t.elapsed().as_secs_f64();
                read += r.timings.read_ms / 1000.0;
                pages += r.pages.max(1);
                n += 1;
            }
        }
        println!(
            "{variant}: {n} documents, {pages} pages in {secs:.2} s = {:.3} s/document, {:.2} pages/s, {:.0} ms/page (reading {:.0}%); peak RSS {:.0} MiB",
            secs / n as f64,
            pages as f64 / secs,
            1000.0 * secs / pages as f64,
            100.0 * read / secs,
            peak_rss_mib()
        );
        if how.is_some() {
            // Peer: the OCR alone on the same files.
            let t = Instant::now();
            for d in &docs {
                let _ = extract_text(
                    Input::Bytes {
                        bytes: d,
                        name: "peer",
                    },
                    &settings.limits,
                );
            }
            println!(
                "  peer, OCR alone: {:.3} s/document",
                t.elapsed().as_secs_f64() / docs.len() as f64
            );
        }
    }
}
