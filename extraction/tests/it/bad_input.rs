//! Bad input: every file gets a clear status, never a panic, and a job keeps going.

use super::text::EQUITY_OPTION;
use super::{extractor, ocr_available};
use extraction::synth;
use extraction::{Extractor, FileStatus, Settings};
use std::path::Path;

#[test]
fn every_bad_file_has_a_status() {
    let pdf = synth::text_pdf(EQUITY_OPTION);
    let e = extractor();
    let cases: Vec<(&str, Vec<u8>, FileStatus)> = vec![
        ("empty", Vec::new(), FileStatus::Unreadable),
        (
            "binary",
            vec![0, 1, 2, 3, 0, 0, 0xff, 0xfe, 7],
            FileStatus::Unsupported,
        ),
        (
            "truncated",
            pdf[..pdf.len() / 3].to_vec(),
            FileStatus::Unreadable,
        ),
        (
            "corrupt",
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage\n%%EOF\n".to_vec(),
            FileStatus::Unreadable,
        ),
        ("zero pages", synth::pages_pdf(&[]), FileStatus::Unreadable),
        (
            "encrypted",
            synth::encrypted(&pdf).unwrap(),
            FileStatus::Unreadable,
        ),
        (
            "zip",
            b"PK\x03\x04garbage".to_vec(),
            FileStatus::Unsupported,
        ),
        (
            "not a confirmation",
            b"Lunch menu: soup, bread, coffee. Open 9 to 5.".to_vec(),
            FileStatus::NotAConfirmation,
        ),
    ];
    for (name, bytes, want) in cases {
        let r = e.extract(&bytes, name);
        assert_eq!(r.status, want, "{name}: {:?}", r.error);
        assert!(r.error.is_some(), "{name}");
        assert_eq!(r.key_terms, serde_json::json!({}), "{name}");
    }
    // Every truncation point of a PDF is read or refused, never a panic.
    let no_ocr = Extractor::new(Settings {
        limits: connectors::document::Limits {
            ocr: false,
            ..Settings::default().limits
        },
        ..Settings::default()
    });
    for cut in (0..pdf.len()).step_by(211) {
        let _ = no_ocr.extract(&pdf[..cut], "cut");
    }
}

#[test]
fn limits_refuse_whole_files() {
    let lines: Vec<Vec<String>> = (0..500)
        .map(|i| vec![format!("Page {i} of a long annex.")])
        .collect();
    let long = synth::pages_pdf(&lines);
    let r = extractor().extract(&long, "500 pages");
    assert_eq!(r.status, FileStatus::TooLarge, "{:?}", r.error);
    assert!(r.error.as_deref().unwrap().contains("pages"));
    let small = Extractor::new(Settings {
        limits: connectors::document::Limits {
            max_bytes: 1000,
            ..Settings::default().limits
        },
        ..Settings::default()
    });
    let r = small.extract(&synth::text_pdf(EQUITY_OPTION), "big");
    assert_eq!(r.status, FileStatus::TooLarge);
}

#[test]
fn a_picture_of_something_else_is_unreadable() {
    if !ocr_available() {
        return;
    }
    let png = synth::png(&synth::picture_pdf(), 100, Path::new("pdftoppm")).unwrap();
    let r = extractor().extract(&png, "photo.png");
    assert!(
        matches!(
            r.status,
            FileStatus::Unreadable | FileStatus::NotAConfirmation
        ),
        "{:?} {:?}",
        r.status,
        r.error
    );
}
