//! Formats without geometry: DOCX (zip + WordprocessingML), HTML, XML and plain text in any
//! encoding `chardetng` recognises.

use std::io::{Cursor, Read};

use super::layout::lines_from_text;
use super::{ConnectorError, Line, Page, PageMethod, unreadable};

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

/// The most bytes one zip member may inflate to (a guard against zip bombs).
const MAX_INFLATED: u64 = 256 * 1024 * 1024;

pub(crate) fn is_docx(bytes: &[u8]) -> bool {
    zip::ZipArchive::new(Cursor::new(bytes))
        .map(|z| z.index_for_name("word/document.xml").is_some())
        .unwrap_or(false)
}

/// Decodes bytes as text: a BOM wins, then UTF-8, then `chardetng`'s guess (GBK/GB18030, Big5,
/// Shift_JIS, windows-125x…). `None` for binary content (NUL bytes outside UTF-16, or more than
/// 1% undecodable sequences).
pub(crate) fn decode_text(bytes: &[u8]) -> Option<String> {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, errors) = enc.decode_without_bom_handling(&bytes[bom..]);
        return (!errors).then(|| text.into_owned());
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return None;
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Some(s.to_owned());
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let enc = detector.guess(None, chardetng::Utf8Detection::Allow);
    let (text, _, _) = enc.decode(bytes);
    let bad = text.chars().filter(|&c| c == '\u{fffd}').count();
    if bad * 100 > text.chars().count().max(1) {
        return None;
    }
    Some(text.into_owned())
}

fn decode_or_unreadable(bytes: &[u8], name: &str) -> Result<String, ConnectorError> {
    decode_text(bytes).ok_or_else(|| unreadable(name, "the text cannot be decoded"))
}

fn markup_page(number: u32, lines: Vec<Line>) -> Page {
    Page {
        number,
        method: PageMethod::Markup,
        width: 0.0,
        height: 0.0,
        confidence: 1.0,
        lines,
    }
}

pub(crate) fn text(bytes: &[u8], name: &str) -> Result<Page, ConnectorError> {
    let text = decode_or_unreadable(bytes, name)?;
    Ok(markup_page(1, lines_from_text(&text)))
}

pub(crate) fn html(bytes: &[u8], name: &str) -> Result<Page, ConnectorError> {
    let text = decode_or_unreadable(bytes, name)?;
    let plain = html2text::config::plain_no_decorate()
        .string_from_read(text.as_bytes(), 10_000)
        .map_err(|e| unreadable(name, format!("HTML: {e}")))?;
    Ok(markup_page(1, lines_from_text(&plain)))
}

/// XML (FpML among it): one line per element that holds text, `name: text`, in document order.
pub(crate) fn xml(bytes: &[u8], name: &str) -> Result<Page, ConnectorError> {
    let text = decode_or_unreadable(bytes, name)?;
    let doc = roxmltree::Document::parse(&text)
        .map_err(|e| unreadable(name, format!("XML is not well-formed: {e}")))?;
    let mut out = String::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let own: String = node
            .children()
            .filter(|c| c.is_text())
            .filter_map(|c| c.text())
            .collect::<String>();
        let own = own.split_whitespace().collect::<Vec<_>>().join(" ");
        if !own.is_empty() {
            out.push_str(node.tag_name().name());
            out.push_str(": ");
            out.push_str(&own);
            out.push('\n');
        }
    }
    Ok(markup_page(1, lines_from_text(&out)))
}

/// DOCX: paragraphs of `word/document.xml` become lines; tabs and line breaks are kept; an
/// explicit page break (`<w:br w:type="page"/>`) starts a new page.
pub(crate) fn docx(bytes: &[u8], name: &str) -> Result<Vec<Page>, ConnectorError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| unreadable(name, format!("DOCX zip: {e}")))?;
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .map_err(|e| unreadable(name, format!("DOCX without word/document.xml: {e}")))?
        .take(MAX_INFLATED)
        .read_to_string(&mut xml)
        .map_err(|e| unreadable(name, format!("DOCX word/document.xml: {e}")))?;
    let doc = roxmltree::Document::parse(&xml)
        .map_err(|e| unreadable(name, format!("DOCX word/document.xml is not XML: {e}")))?;
    let mut pages: Vec<String> = vec![String::new()];
    for p in doc.descendants().filter(|n| n.has_tag_name((W, "p"))) {
        let mut para = String::new();
        for n in p.descendants() {
            if n.has_tag_name((W, "t")) {
                para.push_str(n.text().unwrap_or(""));
            } else if n.has_tag_name((W, "tab")) {
                para.push('\t');
            } else if n.has_tag_name((W, "br")) {
                if n.attribute((W, "type")) == Some("page") {
                    let page = pages.last_mut().expect("one page at least");
                    page.push_str(&para);
                    page.push('\n');
                    para.clear();
                    pages.push(String::new());
                } else {
                    para.push('\n');
                }
            }
        }
        let page = pages.last_mut().expect("one page at least");
        page.push_str(&para);
        page.push('\n');
    }
    Ok(pages
        .iter()
        .enumerate()
        .map(|(i, text)| markup_page(i as u32 + 1, lines_from_text(text)))
        .collect())
}
