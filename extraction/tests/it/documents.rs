//! The same confirmations as text PDFs and as scans (OCR): key terms survive rendering and
//! scanning, and evidence carries word boxes.

use super::text::{CHINESE_VANILLA, EQUITY_OPTION};
use super::{check, extractor, leaf, ocr_available};
use connectors::document::Format;
use extraction::FileStatus;
use extraction::synth::{self, Degrade};
use serde_json::json;
use std::path::Path;

#[test]
fn a_text_pdf_keeps_every_term_and_gives_boxes() {
    let pdf = synth::text_pdf(EQUITY_OPTION);
    let r = extractor().extract(&pdf, "option.pdf");
    assert_eq!(r.format, Some(Format::Pdf));
    assert_eq!(
        r.status,
        FileStatus::Extracted,
        "{:?} {:?} {:?}",
        r.conflicts,
        r.problems,
        r.notices
    );
    check(
        &r,
        &[
            ("trade_date", json!("2026-02-27")),
            ("strike.value", json!(420)),
            ("premium.amount", json!(2350000)),
            ("buyer", json!("party_b")),
        ],
    );
    let strike = r.fields.iter().find(|f| f.field == "strike.value").unwrap();
    let b = strike.evidence[0]
        .boxes
        .first()
        .expect("a text layer has word boxes");
    assert!(b.x1 > b.x0 && b.y1 > b.y0 && b.x1 <= 612.0, "{b:?}");
}

#[test]
fn a_degraded_scan_is_read_by_ocr() {
    if !ocr_available() {
        return;
    }
    let scan = synth::scan(
        &synth::text_pdf(EQUITY_OPTION),
        Degrade::POOR,
        Path::new("pdftoppm"),
    )
    .unwrap();
    let r = extractor().extract(&scan, "option-scan.pdf");
    assert_eq!(r.ocr_pages, r.pages, "{:?}", r.notices);
    assert!(r.status.has_terms(), "{:?} {:?}", r.status, r.error);
    check(
        &r,
        &[
            ("product_type", json!("equity_option")),
            ("trade_date", json!("2026-02-27")),
            ("expiration_date", json!("2027-02-26")),
            ("strike.value", json!(420)),
            ("strike.currency", json!("HKD")),
            ("number_of_options", json!(100000)),
        ],
    );
    // OCR evidence: pixel boxes and the OCR confidence folded into the value's confidence.
    let td = r.fields.iter().find(|f| f.field == "trade_date").unwrap();
    let ev = &td.evidence[0];
    assert!(!ev.boxes.is_empty());
    assert!(
        ev.confidence < 0.95 && ev.confidence > 0.3,
        "{}",
        ev.confidence
    );
}

#[test]
fn a_chinese_scan() {
    if !ocr_available() {
        return;
    }
    let scan = synth::scan(
        &synth::text_pdf(CHINESE_VANILLA),
        Degrade::CLEAN,
        Path::new("pdftoppm"),
    )
    .unwrap();
    let r = extractor().extract(&scan, "chinese-scan.pdf");
    assert!(
        r.status.has_terms(),
        "{:?} {:?} {:?}",
        r.status,
        r.error,
        r.notices
    );
    check(
        &r,
        &[
            ("product_type", json!("equity_option")),
            ("trade_date", json!("2026-01-05")),
            ("expiration_date", json!("2026-07-06")),
            // `10, 000, 000` as OCR spaces it. The currency is not checked: the test PDF's
            // non-embedded CJK font renders `人民币` with substitute glyphs that OCR reads as
            // Latin letters, so the scan does not state it.
            ("notional.amount", json!(10000000)),
        ],
    );
    assert!(
        leaf(&r.key_terms, "option_type").is_some(),
        "{}",
        r.key_terms
    );
}
