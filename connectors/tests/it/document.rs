//! Text from anything, through the public API, on documents generated at test time.

use crate::common;

use connectors::document::{
    ConnectorError, Document, Format, Limits, PageMethod, TextLayerVerdict, cer, extract_text,
    judge_text_layer,
};
use lopdf::dictionary;

fn extract(bytes: &[u8], limits: &Limits) -> Result<Document, ConnectorError> {
    extract_text(
        connectors::document::Input::Bytes {
            bytes,
            name: "test",
        },
        limits,
    )
}

fn page_texts(pages: &[Vec<String>]) -> Vec<String> {
    pages.iter().map(|p| p.join("\n")).collect()
}

#[test]
fn text_pdf_keeps_pages_lines_and_word_boxes() {
    let pages = common::confirmation_pages();
    let doc = extract(&common::text_pdf(&pages), &Limits::default()).unwrap();
    assert_eq!(doc.format, Format::Pdf);
    assert_eq!(doc.pages.len(), 2);
    for (page, expected) in doc.pages.iter().zip(page_texts(&pages)) {
        assert_eq!(page.method, PageMethod::TextLayer);
        // The text layer of a PDF we wrote ourselves must come back exactly.
        assert_eq!(page.text(), expected, "page {}", page.number);
        for line in &page.lines {
            let mut last_x = f32::MIN;
            for w in &line.words {
                let b = w.bbox.expect("text-layer words have boxes");
                assert!(b.x0 >= last_x && b.x1 > b.x0, "{line:?}");
                assert!(b.x1 <= page.width && b.y1 <= page.height && b.y0 >= 0.0);
                last_x = b.x1;
            }
        }
    }
    assert_eq!(
        doc.pages.iter().map(|p| p.number).collect::<Vec<_>>(),
        [1, 2]
    );
    // Line 2 of page 1 sits below line 1 (16 pt leading).
    let l = &doc.pages[0].lines;
    let dy = l[1].bbox.unwrap().y0 - l[0].bbox.unwrap().y0;
    assert!((dy - 16.0).abs() < 0.5, "{dy}");
}

/// Clean 300 dpi scans of 12 pt Helvetica with tessdata "fast" models: measured CER here was
/// about 0.01; 0.03 leaves room for other Tesseract 5.x builds.
#[test]
fn scanned_pdf_is_ocrd_page_by_page() {
    let pages = common::confirmation_pages();
    let scan = common::scanned_pdf(&common::text_pdf(&pages), 300, 0.0);
    let doc = extract(&scan, &Limits::default()).unwrap();
    assert_eq!(doc.pages.len(), 2);
    for (page, expected) in doc.pages.iter().zip(page_texts(&pages)) {
        assert_eq!(page.method, PageMethod::Ocr);
        let e = cer(&expected, &page.text());
        assert!(e < 0.03, "page {} CER {e}: {}", page.number, page.text());
        assert!(page.confidence > 0.8, "{}", page.confidence);
        // 8.5 x 11 in at 300 dpi.
        assert_eq!((page.width, page.height), (2550.0, 3300.0));
        for w in page.lines.iter().flat_map(|l| &l.words) {
            let b = w.bbox.unwrap();
            assert!(b.x1 <= page.width && b.y1 <= page.height && b.x0 < b.x1 && b.y0 < b.y1);
            assert!((0.0..=1.0).contains(&w.confidence));
        }
    }
    assert_eq!(doc.notices.len(), 2, "{:?}", doc.notices);
}

/// A degraded scan (200 dpi, 0.2% of pixels flipped): the key fields must still be read.
#[test]
fn degraded_scan_keeps_key_fields() {
    let pages = common::confirmation_pages();
    let scan = common::scanned_pdf(&common::text_pdf(&pages[..1]), 200, 0.002);
    let doc = extract(&scan, &Limits::default()).unwrap();
    let text = doc.text();
    // Spacing is not a key field: compare with whitespace removed.
    let squeezed: String = text.split_whitespace().collect();
    for key in ["USD300,000,000", "June23,2005", "December15,2009", "4.09"] {
        assert!(squeezed.contains(key), "{key} missing in {text}");
    }
    // Measured CER 0.127 here, nearly all of it specks read as stray marks at line ends
    // (no despeckling before Tesseract); 0.2 flags a real regression.
    let e = cer(&page_texts(&pages)[0], &text);
    assert!(e < 0.2, "CER {e}");
}

#[test]
fn png_image_is_ocrd() {
    let pages = common::confirmation_pages();
    let png = common::png_of(&common::text_pdf(&pages[1..]), 300);
    let doc = extract(&png, &Limits::default()).unwrap();
    assert_eq!(doc.format, Format::Png);
    assert_eq!(doc.pages[0].method, PageMethod::Ocr);
    let e = cer(&page_texts(&pages)[1], &doc.text());
    assert!(e < 0.03, "CER {e}");
}

fn cjk_font_installed() -> bool {
    std::process::Command::new("fc-list")
        .arg(":lang=zh")
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false)
}

/// `pdf-extract` panics on a non-embedded `UniGB-UCS2-H` font; poppler's `pdftotext` reads that
/// text layer exactly (with word boxes), so the page is not OCR'd.
#[test]
fn cjk_font_that_panics_the_parser_is_read_by_poppler() {
    let lines = ["交易确认书", "期权定价模型", "名义本金：人民币一亿元"];
    let doc = extract(&common::cjk_pdf(&lines), &Limits::default()).unwrap();
    assert_eq!(doc.pages.len(), 1);
    assert_eq!(doc.pages[0].method, PageMethod::TextLayer);
    assert_eq!(doc.text(), lines.join("\n"));
    assert!(doc.pages[0].lines.iter().all(|l| l.bbox.is_some()));
    assert!(
        doc.notices.iter().any(|n| n.message.contains("pdftotext")),
        "{:?}",
        doc.notices
    );
}

/// The same Chinese as a picture is OCR'd (poppler substitutes an installed CJK font when
/// rendering), and the Chinese comes out unspaced.
#[test]
fn chinese_in_an_image_is_ocrd_unspaced() {
    let lines = ["交易确认书", "期权定价模型", "名义本金：人民币一亿元"];
    let png = common::png_of(&common::cjk_pdf(&lines), 300);
    let doc = extract(&png, &Limits::default()).unwrap();
    assert_eq!(doc.pages[0].method, PageMethod::Ocr);
    if !cjk_font_installed() {
        let why = "no CJK font installed (apt-get install fonts-wqy-microhei)";
        // `./x test` (CI) sets DESKMATE_REQUIRE_ALL: there a missing font fails the test.
        assert!(std::env::var_os("DESKMATE_REQUIRE_ALL").is_none(), "{why}");
        eprintln!("skipping the CER check: {why}");
        return;
    }
    let e = cer(&lines.join("\n"), &doc.text());
    // 0.15 allows one misread glyph a line.
    assert!(e < 0.15, "CER {e}: {}", doc.text());
    assert!(!doc.text().contains("期 权"), "{}", doc.text());
}

#[test]
fn docx_splits_pages_on_explicit_breaks() {
    let bytes = common::docx(&[
        Some("Trade Date: 23 June 2005"),
        Some("Notional Amount: USD 300,000,000"),
        None,
        Some("Calculation Agent: Party A & Co"),
    ]);
    let doc = extract(&bytes, &Limits::default()).unwrap();
    assert_eq!(doc.format, Format::Docx);
    assert_eq!(doc.pages.len(), 2);
    assert_eq!(
        doc.pages[0].text(),
        "Trade Date: 23 June 2005\nNotional Amount: USD 300,000,000"
    );
    assert_eq!(doc.pages[1].text(), "Calculation Agent: Party A & Co");
    assert!(doc.pages.iter().all(|p| p.method == PageMethod::Markup));
}

#[test]
fn html_to_text_drops_markup_and_scripts() {
    let html = "<!DOCTYPE html><html><head><title>t</title><script>var x = 1;</script></head>\
                <body><h1>Confirmation</h1><p>Trade Date: <b>2005-06-23</b></p>\
                <table><tr><td>Notional</td><td>USD 1,000</td></tr></table></body></html>";
    let doc = extract(html.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(doc.format, Format::Html);
    let text = doc.text();
    assert!(text.contains("Confirmation"), "{text}");
    assert!(text.contains("Trade Date: 2005-06-23"), "{text}");
    assert!(text.contains("USD 1,000"), "{text}");
    assert!(!text.contains("var x"), "{text}");
}

#[test]
fn plain_text_in_gbk_and_utf16_is_decoded() {
    let original = "交易确认书\n名义本金：人民币 1,000,000 元\n交易日：2024年3月1日";
    for enc in [encoding_rs::GBK, encoding_rs::GB18030] {
        let (bytes, _, errors) = enc.encode(original);
        assert!(!errors);
        let doc = extract(&bytes, &Limits::default()).unwrap();
        assert_eq!(doc.format, Format::Text);
        assert_eq!(doc.text(), original, "{}", enc.name());
    }
    let traditional = "交易確認書\n名義本金：新台幣 1,000,000 元";
    let (big5, _, errors) = encoding_rs::BIG5.encode(traditional);
    assert!(!errors);
    assert_eq!(
        extract(&big5, &Limits::default()).unwrap().text(),
        traditional
    );
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(original.encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(
        extract(&utf16, &Limits::default()).unwrap().text(),
        original
    );
}

#[test]
fn fpml_xml_becomes_name_value_lines() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/cdm/fpml-cdm/fpml-5-13-products-interest-rate-derivatives/ird-ex01-vanilla-swap.fpml.xml"
    );
    let doc = extract_text(std::path::Path::new(path), &Limits::default()).unwrap();
    assert_eq!(doc.format, Format::Xml);
    let text = doc.text();
    assert!(text.contains("tradeDate: 1994-12-12"), "{text}");
    assert!(text.contains("initialValue: 50000000"), "{text}");
}

fn status(bytes: &[u8], limits: &Limits) -> &'static str {
    match extract(bytes, limits) {
        Ok(doc) => panic!("expected an error, got {} pages", doc.pages.len()),
        Err(e) => {
            assert!(e.to_string().starts_with("test: "), "{e}");
            e.status()
        }
    }
}

fn encrypted(pdf: &[u8]) -> Vec<u8> {
    let mut doc = lopdf::Document::load_mem(pdf).unwrap();
    let filler = lopdf::Object::String(vec![0x5a; 32], lopdf::StringFormat::Hexadecimal);
    let encrypt = doc.add_object(dictionary! {
        "Filter" => "Standard", "V" => 1, "R" => 2, "O" => filler.clone(), "U" => filler.clone(),
        "P" => -4,
    });
    doc.trailer.set("Encrypt", encrypt);
    doc.trailer.set("ID", vec![filler.clone(), filler]);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn bad_input_gets_a_status_never_a_panic() {
    let pdf = common::text_pdf(&common::confirmation_pages());
    let d = Limits::default();
    assert_eq!(status(b"", &d), "unreadable");
    assert_eq!(
        status(&[0u8, 1, 2, 3, 0, 0, 0xff, 0xfe, 7], &d),
        "unsupported"
    );
    assert_eq!(status(&pdf[..200], &d), "unreadable");
    assert_eq!(status(b"%PDF-1.4\n%%EOF\n", &d), "unreadable");
    assert_eq!(status(&common::text_pdf(&[]), &d), "unreadable");
    assert_eq!(status(&encrypted(&pdf), &d), "unreadable");
    assert_eq!(status(b"PK\x03\x04garbage zip", &d), "unsupported");
    assert_eq!(status(b"\x89PNG\r\n\x1a\ncut short", &d), "unreadable");
    let two_pages = Limits {
        max_pages: 1,
        ..Limits::default()
    };
    assert_eq!(status(&pdf, &two_pages), "too_large");
    let small = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    assert_eq!(status(&pdf, &small), "too_large");
    // Every truncation point of a PDF is either read or refused, never a panic.
    for cut in (0..pdf.len()).step_by(97) {
        let _ = extract(
            &pdf[..cut],
            &Limits {
                ocr: false,
                ..d.clone()
            },
        );
    }
}

#[test]
fn text_layer_verdicts() {
    let cases = [
        ("", TextLayerVerdict::Empty),
        ("  12  ", TextLayerVerdict::Empty),
        (
            "Trade Date: 23 June 2005, Notional USD 1m",
            TextLayerVerdict::Usable,
        ),
        (
            "交易确认书：名义本金人民币一亿元，交易日二〇二四年三月一日",
            TextLayerVerdict::Usable,
        ),
        (
            "\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}ab\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}",
            TextLayerVerdict::Garbage,
        ),
        ("ÿþýüûúùø÷öõôóòñðïîíìëêéè", TextLayerVerdict::Garbage),
        (
            "\u{e001}\u{e002}\u{e003}\u{e004}\u{e005}\u{e006}\u{e007}\u{e008}\u{e009}\u{e00a}\u{e00b}\u{e00c}\u{e00d}\u{e00e}\u{e00f}\u{e010}",
            TextLayerVerdict::Garbage,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(judge_text_layer(text), want, "{text:?}");
    }
}

#[test]
fn ocr_off_keeps_the_empty_layer_and_says_so() {
    let scan = common::scanned_pdf(
        &common::text_pdf(&common::confirmation_pages()[..1]),
        100,
        0.0,
    );
    let doc = extract(
        &scan,
        &Limits {
            ocr: false,
            ..Limits::default()
        },
    )
    .unwrap();
    assert_eq!(doc.pages[0].method, PageMethod::TextLayer);
    assert!(doc.pages[0].lines.is_empty());
    assert!(doc.notices[0].message.contains("OCR is switched off"));
}
