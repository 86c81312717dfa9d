//! The final documents: a draft set as PDF and DOCX reads back as the same text, carries one
//! signature page per party, embeds (subset) fonts, is the same bytes when rendered again, and
//! a conformed copy carries its date.

use drafting::render::{FontPaths, Fonts, Options, render};
use drafting::{Language, Trade, draft, library};

fn trade() -> Trade {
    Trade::from_key_terms(serde_json::json!({
        "party_a": "恒川证券股份有限公司", "party_b": "明远一号私募证券投资基金",
        "trade_date": "2026-03-05", "buyer": "party_b", "seller": "party_a",
        "product_type": "equity_option",
        "underlier": {"name": "上证50ETF", "id": "510050.SH"},
        "option_type": "call", "exercise_style": "european",
        "strike": {"value": 100, "unit": "percent"},
        "notional": {"amount": 10000000, "currency": "CNY"},
        "effective_date": "2026-03-06", "expiration_date": "2026-04-06",
        "premium": {"amount": 185000.0, "currency": "CNY", "payment_date": "2026-03-06"},
        "settlement": "cash", "initial_price": {"value": 2.853}
    }))
}

fn options(dated: Option<&str>) -> Options {
    Options {
        reference: "dr_0123456789abcdef v2".into(),
        parties: vec![
            ("Party A".into(), "恒川证券股份有限公司".into()),
            ("Party B".into(), "明远一号私募证券投资基金".into()),
        ],
        dated: dated.map(str::to_string),
    }
}

fn read(bytes: &[u8], name: &str) -> connectors::document::Document {
    connectors::document::extract_text(
        connectors::document::Input::Bytes { bytes, name },
        &connectors::document::Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn a_final_pdf_and_docx_read_back_as_the_draft_with_a_signature_page_per_party() {
    let fonts = Fonts::load(&FontPaths::default()).unwrap_or_else(|e| panic!("{e}"));
    let lib = library::demo().unwrap();
    for id in ["equity-option.en", "equity-option.zh"] {
        let t = lib.iter().find(|t| t.id == id).unwrap();
        let text = draft(t, &trade()).unwrap().to_text();
        let r = render(&text, t.language, &options(None), &fonts).unwrap();
        // Body pages, then one signature page per party.
        let pdf = read(&r.pdf, "final.pdf");
        assert_eq!(pdf.pages.len(), r.pages, "{id}");
        assert!(r.pages >= 3, "{id}: {} pages", r.pages);
        let last_two = &pdf.pages[pdf.pages.len() - 2..];
        for (page, party) in last_two
            .iter()
            .zip(["恒川证券股份有限公司", "明远一号私募证券投资基金"])
        {
            assert!(
                squash(&page.text()).contains(party),
                "{id}: {}",
                page.text()
            );
            let want = if t.language == Language::Zh {
                "签署页"
            } else {
                "Signature page"
            };
            assert!(page.text().contains(want), "{id}: {}", page.text());
        }
        // Every line of the draft before its own signature lines is in the PDF and the DOCX,
        // in order (whitespace aside: the PDF sets term lines in two columns).
        let docx = read(&r.docx, "final.docx");
        let (pdf_text, docx_text) = (squash(&pdf.text()), squash(&docx.text()));
        let lines: Vec<&str> = text.lines().collect();
        let last = lines
            .iter()
            .rposition(|l| drafting::document::heading(l).is_some())
            .unwrap();
        let end = (last..lines.len())
            .find(|&i| {
                lines[i].starts_with("For and on behalf of") || lines[i].starts_with("甲方：")
            })
            .unwrap();
        let body: Vec<&str> = lines[..end]
            .iter()
            .copied()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert!(body.len() > 20, "{id}");
        let (mut at_pdf, mut at_docx) = (0, 0);
        for line in body {
            let l = squash(line);
            let i = pdf_text[at_pdf..].find(&l).unwrap_or_else(|| {
                panic!(
                    "{id}: PDF lacks {line:?} after byte {at_pdf}:\n{}",
                    pdf.text()
                )
            });
            at_pdf += i + l.len();
            let j = docx_text[at_docx..]
                .find(&l)
                .unwrap_or_else(|| panic!("{id}: DOCX lacks {line:?}"));
            at_docx += j + l.len();
        }
        // Fonts embedded as subsets (TrueType programs, subset-tagged names).
        let raw = String::from_utf8_lossy(&r.pdf);
        assert!(
            raw.contains("/FontFile2"),
            "{id}: no embedded TrueType font"
        );
        assert!(
            subset_fonts(&r.pdf) >= if t.language == Language::Zh { 1 } else { 2 },
            "{id}: fonts not embedded as subsets"
        );
        assert!(r.pdf.len() < 400_000, "{id}: {} bytes", r.pdf.len());
        // The same input gives the same bytes.
        let again = render(&text, t.language, &options(None), &fonts).unwrap();
        assert_eq!(again.pdf, r.pdf, "{id}: the PDF is not deterministic");
        assert_eq!(again.docx, r.docx, "{id}: the DOCX is not deterministic");
        // A conformed copy is dated on the last signature.
        let dated = render(&text, t.language, &options(Some("2026-03-09")), &fonts).unwrap();
        assert!(
            squash(&read(&dated.pdf, "c.pdf").text()).contains("2026-03-09"),
            "{id}"
        );
        assert_ne!(dated.pdf, r.pdf);
    }
}

/// The fonts embedded as TrueType subsets (a `FontFile2` program, a subset-tagged name such
/// as `ABCDEF+DejaVuSerif`).
fn subset_fonts(pdf: &[u8]) -> usize {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    doc.objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| {
            d.get(b"Type").and_then(|t| t.as_name()).ok() == Some(b"FontDescriptor".as_slice())
        })
        .filter(|d| d.has(b"FontFile2"))
        .filter_map(|d| d.get(b"FontName").and_then(|n| n.as_name()).ok())
        .filter(|n| n.len() > 7 && n[..6].iter().all(u8::is_ascii_uppercase) && n[6] == b'+')
        .count()
}

#[test]
fn a_missing_font_names_the_package_to_install() {
    let paths = FontPaths {
        cjk: "/nonexistent/wqy-microhei.ttc".into(),
        ..FontPaths::default()
    };
    let e = Fonts::load(&paths).unwrap_err().to_string();
    assert!(
        e.contains("fonts-wqy-microhei") && e.contains("/nonexistent"),
        "{e}"
    );
}
