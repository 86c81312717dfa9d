//! Upload-and-extract through its public API: key terms with evidence from text, PDFs and
//! scans (English and Chinese), conflicts and cross-checks, CDM documents and their extension,
//! FpML inputs, bad input, the review flow (approval, corrections, four-eyes, export) and the
//! model fallback's plumbing.
//!
//! OCR tests need `pdftoppm` and Tesseract (installed by `./x up`); they say so and skip when
//! those are missing. The model tests need the SmolLM2 fixture (`deskmate models install
//! --fixtures`); the default 1.5B model's test is `#[ignore]`d (run it with `--ignored`).

mod bad_input;
mod cdm;
mod documents;
mod model;
mod text;

use extraction::{Extractor, FileResult, Settings};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The shared data set.
pub fn shared(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/")).join(rel)
}

/// One extractor for the whole test binary (the CDM schemas compile once per process anyway).
pub fn extractor() -> &'static Extractor {
    static E: OnceLock<Extractor> = OnceLock::new();
    E.get_or_init(|| Extractor::new(Settings::default()))
}

/// Extracts text given as a string (read as a plain-text file).
pub fn extract_text(text: &str) -> FileResult {
    extractor().extract(text.as_bytes(), "test.txt")
}

/// Whether `pdftoppm` and Tesseract's language data are installed (OCR tests skip otherwise).
pub fn ocr_available() -> bool {
    let pdftoppm = std::process::Command::new("pdftoppm")
        .arg("-v")
        .output()
        .is_ok();
    let tess = [
        "/usr/share/tesseract-ocr/5/tessdata/eng.traineddata",
        "/usr/share/tesseract-ocr/4.00/tessdata/eng.traineddata",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).is_file());
    if !(pdftoppm && tess) {
        let why = "pdftoppm or Tesseract's eng data is not installed (./x up installs them)";
        // `./x test` (CI) sets DESKMATE_REQUIRE_ALL: there missing OCR tools fail the test.
        assert!(std::env::var_os("DESKMATE_REQUIRE_ALL").is_none(), "{why}");
        eprintln!("skipping: {why}");
    }
    pdftoppm && tess
}

/// The value of a key-terms leaf (`notional.amount`).
pub fn leaf<'a>(kt: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(kt, |v, k| v.get(k))
}

/// Asserts the key terms hold exactly the given leaves (other leaves may exist only if listed
/// in `also`).
pub fn check(r: &FileResult, want: &[(&str, Value)]) {
    for (path, v) in want {
        let got = leaf(&r.key_terms, path);
        assert!(
            got.is_some_and(|g| g == v || (g.as_f64().is_some() && g.as_f64() == v.as_f64())),
            "{}: {path} = {got:?}, expected {v}\nkey terms: {}\nnotices: {:?}\nproblems: {:?}",
            r.name,
            r.key_terms,
            r.notices,
            r.problems
        );
    }
}
