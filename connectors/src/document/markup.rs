//! Formats without geometry: DOCX (zip + WordprocessingML), HTML, XML and plain text in any
//! encoding `chardetng` recognises. Text hidden from a reader of DOCX and HTML is dropped
//! (see [`super::hidden`]) and counted in a notice.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};

use super::hidden::{self, Dropped, Rgb, WHITE};
use super::layout::lines_from_text;
use super::{ConnectorError, Line, Notice, Page, PageMethod, unreadable};

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

fn hidden_notice(dropped: &Dropped, what: &str) -> Notice {
    Notice {
        page: None,
        message: format!(
            "hidden text dropped ({}): text a reader of the {what} does not see is not extracted",
            dropped.summary()
        ),
    }
}

pub(crate) fn html(
    bytes: &[u8],
    name: &str,
    notices: &mut Vec<Notice>,
) -> Result<Page, ConnectorError> {
    let text = decode_or_unreadable(bytes, name)?;
    let rules = hidden::style_rules(&text);
    let config = html2text::config::plain_no_decorate();
    let bad = |e: html2text::Error| unreadable(name, format!("HTML: {e}"));
    let dom = config.parse_html(text.as_bytes()).map_err(bad)?;
    let mut dropped = Dropped::default();
    prune_html(&dom.document, &rules, (WHITE, (0, 0, 0)), &mut dropped);
    let tree = config.dom_to_render_tree(&dom).map_err(bad)?;
    let plain = config.render_to_string(tree, 10_000).map_err(bad)?;
    if !dropped.is_empty() {
        notices.push(hidden_notice(&dropped, "page"));
    }
    Ok(markup_page(1, lines_from_text(&plain)))
}

/// Elements whose content is never shown on the page.
const NOT_SHOWN: &[&str] = &["script", "style", "template", "noscript", "head", "title"];

/// Removes from the children of `node`, recursively, what a reader does not see; `inherited`
/// is the (background, text colour) the node's content sits on.
fn prune_html(
    node: &html2text::Handle,
    rules: &[(hidden::Selector, Vec<(String, String)>)],
    inherited: (Rgb, Rgb),
    dropped: &mut Dropped,
) {
    let mut keep: Vec<(html2text::Handle, (Rgb, Rgb))> = Vec::new();
    for child in node.children.borrow().iter() {
        let html2text::Element { name, attrs, .. } = &child.data else {
            // Comments carry no visible text (html2text skips them): dropped, not counted.
            if !matches!(child.data, html2text::Comment { .. }) {
                keep.push((child.clone(), inherited));
            }
            continue;
        };
        let tag = name.local.to_ascii_lowercase();
        if NOT_SHOWN.contains(&tag.as_str()) {
            continue;
        }
        let attrs = attrs.borrow();
        let attr = |n: &str| {
            attrs
                .iter()
                .find(|a| (*a.name.local).eq_ignore_ascii_case(n))
                .map(|a| String::from(&*a.value))
        };
        if attr("hidden").is_some() {
            dropped.add("hidden attribute");
            continue;
        }
        let classes = attr("class").unwrap_or_default();
        let id = attr("id");
        // Sheet rules first, then the element's own attributes and inline style (which win).
        let mut decls: Vec<(String, String)> = rules
            .iter()
            .filter(|(s, _)| s.matches(&tag, &classes, id.as_deref()))
            .flat_map(|(_, d)| d.iter().cloned())
            .collect();
        if let Some(c) = attr("color") {
            decls.push(("color".into(), c.to_ascii_lowercase()));
        }
        if let Some(c) = attr("bgcolor") {
            decls.push(("background-color".into(), c.to_ascii_lowercase()));
        }
        if let Some(style) = attr("style") {
            decls.extend(hidden::declarations(&style));
        }
        let effect = hidden::effect(&decls);
        if let Some(reason) = effect.hidden {
            dropped.add(reason);
            continue;
        }
        let background = effect.background.unwrap_or(inherited.0);
        let colour = effect.colour.unwrap_or(inherited.1);
        // Judged where a colour is set: a background alone may carry children that set their
        // own colour (white text on a dark panel).
        if effect.colour.is_some() && hidden::same_colour(colour, background) {
            dropped.add("text colour = background");
            continue;
        }
        keep.push((child.clone(), (background, colour)));
    }
    for (child, colours) in &keep {
        prune_html(child, rules, *colours, dropped);
    }
    *node.children.borrow_mut() = keep.into_iter().map(|(c, _)| c).collect();
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

fn docx_member(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    member: &str,
    name: &str,
) -> Result<Option<String>, ConnectorError> {
    let mut xml = String::new();
    match zip.by_name(member) {
        Ok(f) => {
            f.take(MAX_INFLATED)
                .read_to_string(&mut xml)
                .map_err(|e| unreadable(name, format!("DOCX {member}: {e}")))?;
            Ok(Some(xml))
        }
        Err(zip::result::ZipError::FileNotFound) => Ok(None),
        Err(e) => Err(unreadable(name, format!("DOCX {member}: {e}"))),
    }
}

/// Whether a `w:vanish`-like toggle is on (`<w:vanish/>`, `w:val="true"`; not `0`/`false`).
fn on(n: roxmltree::Node<'_, '_>) -> bool {
    !matches!(n.attribute((W, "val")), Some("0" | "false" | "off"))
}

const HIDING: [&str; 3] = ["vanish", "specVanish", "webHidden"];

/// The hiding toggle of a `w:rPr`, if it sets one.
fn rpr_hidden(rpr: roxmltree::Node<'_, '_>) -> Option<bool> {
    rpr.children()
        .find(|c| HIDING.iter().any(|h| c.has_tag_name((W, *h))))
        .map(on)
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, tag: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name((W, tag)))
}

/// The ids of the styles of `word/styles.xml` that hide their text (`w:vanish` in the style's
/// run properties, or in a style it is based on).
fn hidden_styles(xml: &str) -> BTreeSet<String> {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return BTreeSet::new();
    };
    let mut own: BTreeMap<String, (Option<bool>, Option<String>)> = BTreeMap::new();
    for s in doc.descendants().filter(|n| n.has_tag_name((W, "style"))) {
        let Some(id) = s.attribute((W, "styleId")) else {
            continue;
        };
        let hidden = child(s, "rPr").and_then(rpr_hidden);
        let based = child(s, "basedOn")
            .and_then(|b| b.attribute((W, "val")))
            .map(str::to_string);
        own.insert(id.to_string(), (hidden, based));
    }
    own.keys()
        .filter(|id| {
            let mut cur = Some(id.to_string());
            for _ in 0..16 {
                let Some((hidden, based)) = cur.as_ref().and_then(|c| own.get(c)) else {
                    return false;
                };
                if let Some(h) = hidden {
                    return *h;
                }
                cur = based.clone();
            }
            false
        })
        .cloned()
        .collect()
}

/// Why a run is not seen, if it is not.
fn run_hidden(
    run: roxmltree::Node<'_, '_>,
    paragraph_style_hidden: bool,
    styles: &BTreeSet<String>,
    page: Rgb,
) -> Option<&'static str> {
    let rpr = child(run, "rPr");
    match rpr.and_then(rpr_hidden) {
        Some(true) => return Some("w:vanish"),
        Some(false) => {}
        None => {
            let style = rpr
                .and_then(|r| child(r, "rStyle"))
                .and_then(|s| s.attribute((W, "val")));
            if paragraph_style_hidden || style.is_some_and(|s| styles.contains(s)) {
                return Some("w:vanish (style)");
            }
        }
    }
    let rpr = rpr?;
    if child(rpr, "sz")
        .and_then(|s| s.attribute((W, "val")))
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|half_points| half_points <= 2)
    {
        return Some("font size ≤ 1pt");
    }
    let shaded = child(rpr, "highlight").is_some_and(|h| h.attribute((W, "val")) != Some("none"))
        || child(rpr, "shd")
            .and_then(|s| s.attribute((W, "fill")))
            .is_some_and(|f| f != "auto" && parse_rgb(f) != Some(page));
    let colour = child(rpr, "color")
        .and_then(|c| c.attribute((W, "val")))
        .and_then(parse_rgb);
    (!shaded && colour.is_some_and(|c| hidden::same_colour(c, page)))
        .then_some("text colour = background")
}

fn parse_rgb(v: &str) -> Option<Rgb> {
    (v != "auto").then(|| hidden::parse_colour(v)).flatten()
}

/// DOCX: paragraphs of `word/document.xml` become lines; tabs and line breaks are kept; an
/// explicit page break (`<w:br w:type="page"/>`) starts a new page. Hidden runs are dropped.
pub(crate) fn docx(
    bytes: &[u8],
    name: &str,
    notices: &mut Vec<Notice>,
) -> Result<Vec<Page>, ConnectorError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| unreadable(name, format!("DOCX zip: {e}")))?;
    let xml = docx_member(&mut zip, "word/document.xml", name)?
        .ok_or_else(|| unreadable(name, "DOCX without word/document.xml"))?;
    let styles = docx_member(&mut zip, "word/styles.xml", name)?
        .map(|s| hidden_styles(&s))
        .unwrap_or_default();
    let doc = roxmltree::Document::parse(&xml)
        .map_err(|e| unreadable(name, format!("DOCX word/document.xml is not XML: {e}")))?;
    let page_colour = doc
        .root_element()
        .children()
        .find(|c| c.has_tag_name((W, "background")))
        .and_then(|b| b.attribute((W, "color")))
        .and_then(parse_rgb)
        .unwrap_or(WHITE);
    let mut dropped = Dropped::default();
    let mut pages: Vec<String> = vec![String::new()];
    for p in doc.descendants().filter(|n| n.has_tag_name((W, "p"))) {
        let p_hidden = child(p, "pPr")
            .and_then(|ppr| child(ppr, "pStyle"))
            .and_then(|s| s.attribute((W, "val")))
            .is_some_and(|s| styles.contains(s));
        let mut para = String::new();
        let mut counted = None;
        for n in p.descendants() {
            let content = ["t", "tab", "br"].iter().any(|t| n.has_tag_name((W, *t)));
            if !content {
                continue;
            }
            if let Some(run) = n.ancestors().find(|a| a.has_tag_name((W, "r")))
                && let Some(reason) = run_hidden(run, p_hidden, &styles, page_colour)
            {
                if counted != Some(run.id()) {
                    dropped.add(reason);
                    counted = Some(run.id());
                }
                continue;
            }
            if n.has_tag_name((W, "t")) {
                para.push_str(n.text().unwrap_or(""));
            } else if n.has_tag_name((W, "tab")) {
                para.push('\t');
            } else if n.attribute((W, "type")) == Some("page") {
                let page = pages.last_mut().expect("one page at least");
                page.push_str(&para);
                page.push('\n');
                para.clear();
                pages.push(String::new());
            } else {
                para.push('\n');
            }
        }
        let page = pages.last_mut().expect("one page at least");
        page.push_str(&para);
        page.push('\n');
    }
    if !dropped.is_empty() {
        notices.push(hidden_notice(&dropped, "document"));
    }
    Ok(pages
        .iter()
        .enumerate()
        .map(|(i, text)| markup_page(i as u32 + 1, lines_from_text(text)))
        .collect())
}
