//! Uploaded mark-ups carrying hidden injections (issue #15 items 4 and 10): HTML and DOCX whose
//! hidden text holds an injection phrasing of the evals corpus (`evals/data/injection`,
//! generated for testing). Hidden text must not come out of extraction (it is dropped, with a
//! notice naming why), while the visible text beside it comes out whole; look-alikes that a
//! reader does see (white text on a dark background, `w:vanish w:val="0"`) are kept.

use crate::common;
use connectors::document::{Document, Input, Limits, extract_text};

fn extract(bytes: &[u8]) -> Document {
    extract_text(
        Input::Bytes {
            bytes,
            name: "upload",
        },
        &Limits::default(),
    )
    .expect("extracts")
}

/// Phrasings of the injection corpus: every fifth of `phrasings.jsonl` and `blind.jsonl`.
fn phrasings() -> Vec<(String, String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../evals/data/injection");
    let mut out = Vec::new();
    for file in ["phrasings.jsonl", "blind.jsonl"] {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).expect("corpus file");
        for line in text.lines().filter(|l| !l.trim().is_empty()).step_by(5) {
            let v: serde_json::Value = serde_json::from_str(line).expect("corpus line");
            out.push((
                v["id"].as_str().unwrap().to_string(),
                v["text"].as_str().unwrap().to_string(),
                v["payload"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const VISIBLE_EN: &str = "Initial margin ratio is 15% of notional; trader approval is required.";
const VISIBLE_ZH: &str = "初始保证金比例为名义本金的15%，每笔报价都要交易员审批。";
/// A marker put before every hidden phrasing, so that a leak of any part is easy to see.
const MARK: &str = "HIDDENMARK";

/// HTML hiding techniques: (name, page with `{h}` where the hidden text goes, whether the
/// drop is reported in a notice).
const HTML: &[(&str, &str, bool)] = &[
    (
        "display:none",
        "<div style=\"display:none\">{h}</div>",
        true,
    ),
    (
        "visibility:hidden",
        "<p style=\"visibility: hidden\">{h}</p>",
        true,
    ),
    (
        "sheet class",
        "<style>.n{display:none}</style><span class=\"n\">{h}</span>",
        true,
    ),
    (
        "sheet id",
        "<style>#x { visibility:hidden }</style><p id=\"x\">{h}</p>",
        true,
    ),
    (
        "font-size 0",
        "<span style=\"font-size:0px\">{h}</span>",
        true,
    ),
    ("white on white", "<p style=\"color:#ffffff\">{h}</p>", true),
    ("font white", "<font color=\"white\">{h}</font>", true),
    (
        "same as background",
        "<div style=\"background:#123456\"><span style=\"color:#123456\">{h}</span></div>",
        true,
    ),
    ("opacity 0", "<div style=\"opacity:0\">{h}</div>", true),
    (
        "off-screen",
        "<div style=\"position:absolute;left:-9999px\">{h}</div>",
        true,
    ),
    (
        "zero height",
        "<div style=\"height:0;overflow:hidden\">{h}</div>",
        true,
    ),
    ("hidden attribute", "<section hidden>{h}</section>", true),
    ("comment", "<!-- {h} -->", false),
    ("script", "<script>var s = \"{h}\";</script>", false),
    ("template", "<template><p>{h}</p></template>", false),
    ("noscript", "<noscript>{h}</noscript>", false),
];

/// DOCX hiding techniques: (name, run properties or `None` for a style-based hide).
const DOCX: &[(&str, &str)] = &[
    ("w:vanish", "<w:rPr><w:vanish/></w:rPr>"),
    ("w:specVanish", "<w:rPr><w:specVanish/></w:rPr>"),
    ("w:webHidden", "<w:rPr><w:webHidden/></w:rPr>"),
    (
        "character style",
        "<w:rPr><w:rStyle w:val=\"Secret\"/></w:rPr>",
    ),
    ("white text", "<w:rPr><w:color w:val=\"FFFFFF\"/></w:rPr>"),
    ("1pt text", "<w:rPr><w:sz w:val=\"2\"/></w:rPr>"),
];

const STYLES: &str = "<w:style w:type=\"character\" w:styleId=\"Base\"><w:rPr><w:vanish/></w:rPr></w:style>\
    <w:style w:type=\"character\" w:styleId=\"Secret\"><w:basedOn w:val=\"Base\"/></w:style>\
    <w:style w:type=\"paragraph\" w:styleId=\"HiddenPara\"><w:rPr><w:vanish/></w:rPr></w:style>";

fn assert_hidden(case: &str, doc: &Document, visible: &str, payload: &str, notice: bool) {
    let text = doc.text();
    assert!(
        text.contains(visible),
        "{case}: visible text lost: {text:?}"
    );
    assert!(
        !text.contains(MARK),
        "{case}: hidden text extracted: {text:?}"
    );
    assert!(
        !text.contains(payload),
        "{case}: payload {payload:?} extracted: {text:?}"
    );
    let noticed = doc
        .notices
        .iter()
        .any(|n| n.message.starts_with("hidden text dropped"));
    assert_eq!(noticed, notice, "{case}: notices {:?}", doc.notices);
}

#[test]
fn hidden_injections_in_html_and_docx_are_dropped() {
    let corpus = phrasings();
    assert!(corpus.len() >= 30, "{}", corpus.len());
    let mut cases = 0;
    for (i, (id, text, payload)) in corpus.iter().enumerate() {
        let zh = text.chars().any(cjk::is_cjk);
        let visible = if zh { VISIBLE_ZH } else { VISIBLE_EN };
        let hidden = format!("{MARK} {}", escape(text));
        // Each phrasing goes into two HTML techniques and one DOCX technique, in rotation.
        for (name, page, notice) in [HTML[(2 * i) % HTML.len()], HTML[(2 * i + 1) % HTML.len()]] {
            let html = format!(
                "<!DOCTYPE html><html><head><title>Desk rules</title></head><body><h1>Desk rules</h1><p>{visible}</p>{}<p>End.</p></body></html>",
                page.replace("{h}", &hidden)
            );
            assert_hidden(
                &format!("html {name} {id}"),
                &extract(html.as_bytes()),
                visible,
                payload,
                notice,
            );
            cases += 1;
        }
        let (name, rpr) = DOCX[i % DOCX.len()];
        let body = format!(
            "<w:p><w:r><w:t xml:space=\"preserve\">{visible}</w:t></w:r></w:p>\
             <w:p><w:r>{rpr}<w:t xml:space=\"preserve\">{hidden}</w:t></w:r></w:p>\
             <w:p><w:pPr><w:pStyle w:val=\"HiddenPara\"/></w:pPr><w:r><w:t>{MARK} {}</w:t></w:r></w:p>",
            escape(payload)
        );
        let doc = extract(&common::docx_raw(&body, Some(STYLES)));
        assert_hidden(&format!("docx {name} {id}"), &doc, visible, payload, true);
        cases += 1;
    }
    eprintln!(
        "hostile suite: hidden injections in uploaded mark-ups = {cases} cases ({} phrasings; {} HTML and {} DOCX techniques)",
        corpus.len(),
        HTML.len(),
        DOCX.len() + 1
    );
}

#[test]
fn text_a_reader_sees_is_kept() {
    let html = "<html><body>\
        <div style=\"background-color:#000\"><p style=\"color:#fff\">White on black is read.</p></div>\
        <p style=\"font-size:12px\">Small print is read.</p>\
        <p aria-hidden=\"true\">Decorative text is still on the page.</p>\
        <style>.note{color:#333}</style><p class=\"note\">A styled note is read.</p>\
        <div style=\"height:0\">Overflowing text is read.</div>\
        </body></html>";
    let doc = extract(html.as_bytes());
    let text = doc.text();
    for s in [
        "White on black is read.",
        "Small print is read.",
        "Decorative text is still on the page.",
        "A styled note is read.",
        "Overflowing text is read.",
    ] {
        assert!(text.contains(s), "{s}: {text:?}");
    }
    assert!(doc.notices.is_empty(), "{:?}", doc.notices);
    let body = "<w:p><w:r><w:rPr><w:vanish w:val=\"0\"/><w:rStyle w:val=\"Secret\"/></w:rPr><w:t>Unhidden run.</w:t></w:r></w:p>\
        <w:p><w:r><w:rPr><w:color w:val=\"FFFFFF\"/><w:shd w:val=\"clear\" w:fill=\"000000\"/></w:rPr><w:t>White on black shading.</w:t></w:r></w:p>\
        <w:p><w:r><w:rPr><w:sz w:val=\"24\"/><w:color w:val=\"auto\"/></w:rPr><w:t>Twelve point.</w:t></w:r></w:p>";
    let doc = extract(&common::docx_raw(body, Some(STYLES)));
    assert_eq!(
        doc.text(),
        "Unhidden run.\nWhite on black shading.\nTwelve point."
    );
    assert!(doc.notices.is_empty(), "{:?}", doc.notices);
}
