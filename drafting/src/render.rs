//! The final documents: a confirmation's text set as a PDF (fonts embedded and subset, Chinese
//! included) and as a DOCX, each with one signature page per party.
//!
//! The text is read as the drafting workspace holds it (a title line, numbered section headings,
//! `Label: value` term lines, paragraphs, blank lines); the template's own signature lines at
//! the end of the last section are replaced by a pointer to the signature pages, and one page per
//! party follows with its name, signature, name, title and date lines. Term lines are set in two
//! columns (label, value) with hanging indentation; lines break at spaces in Latin text and
//! between characters in Chinese text, never putting closing punctuation at the start of a line
//! or opening punctuation at its end; a heading is never left alone at the foot of a page. Every
//! page carries the document's reference and "page n of N".
//!
//! Fonts come from files ([`FontPaths`]: DejaVu Serif for Latin text, WenQuanYi Micro Hei for
//! Chinese and as the fallback of any character the Latin font lacks); a missing file is an error
//! naming the Debian package that provides it. The PDF is deterministic: the same text, options
//! and fonts give the same bytes, so a final PDF's SHA-256 can be re-created from its version.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use krilla::geom::{PathBuilder, Point};
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::text::{Font, TextDirection};
use krilla::{Document, SerializeSettings};

use crate::Language;

/// A4 in points.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 72.0;
const MARGIN_TOP: f32 = 72.0;
const MARGIN_BOTTOM: f32 = 78.0;
const BODY: f32 = 10.5;
const HEADING: f32 = 11.5;
const TITLE: f32 = 14.0;
const FOOTER: f32 = 8.0;

/// Where the font files are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FontPaths {
    /// Latin body text (TrueType).
    pub latin: PathBuf,
    /// Latin headings and the title (TrueType).
    pub latin_bold: PathBuf,
    /// Chinese text, and any character the Latin fonts lack (TrueType or a collection; its
    /// first face is used).
    pub cjk: PathBuf,
}

impl Default for FontPaths {
    fn default() -> Self {
        FontPaths {
            latin: "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf".into(),
            latin_bold: "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf".into(),
            cjk: "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc".into(),
        }
    }
}

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A font file is missing or unreadable.
    #[error(
        "font {path}: {reason} (install the Debian package {package}, or name another file in [drafting.fonts])"
    )]
    Font {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
        /// The Debian package that provides the default file.
        package: &'static str,
    },
    /// The text is empty.
    #[error("the document has no text")]
    Empty,
    /// The PDF writer refused.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
    /// The DOCX could not be written.
    #[error("the DOCX could not be written: {0}")]
    Docx(String),
}

/// One loaded font file.
#[derive(Clone)]
struct Face {
    data: Arc<Vec<u8>>,
    font: Font,
}

impl Face {
    fn load(path: &Path, package: &'static str) -> Result<Face, RenderError> {
        let err = |reason: String| RenderError::Font {
            path: path.display().to_string(),
            reason,
            package,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        ttf_parser::Face::parse(&bytes, 0).map_err(|e| err(format!("not a usable font: {e}")))?;
        let data = Arc::new(bytes);
        let font =
            Font::new(data.clone().into(), 0).ok_or_else(|| err("not a usable font".into()))?;
        Ok(Face { data, font })
    }
}

/// The fonts a document is set in, loaded once.
#[derive(Clone)]
pub struct Fonts {
    latin: Face,
    bold: Face,
    cjk: Face,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fonts")
    }
}

impl Fonts {
    /// Loads the three font files.
    pub fn load(paths: &FontPaths) -> Result<Fonts, RenderError> {
        Ok(Fonts {
            latin: Face::load(&paths.latin, "fonts-dejavu-core")?,
            bold: Face::load(&paths.latin_bold, "fonts-dejavu-core")?,
            cjk: Face::load(&paths.cjk, "fonts-wqy-microhei")?,
        })
    }
}

/// Which face a run is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Latin,
    Bold,
    Cjk,
}

/// Glyph advances, per face, from the font files' metrics.
struct Metrics<'a> {
    faces: [ttf_parser::Face<'a>; 3],
}

impl<'a> Metrics<'a> {
    fn new(f: &'a Fonts) -> Metrics<'a> {
        let parse = |face: &'a Face| {
            ttf_parser::Face::parse(&face.data, 0).expect("checked when the font was loaded")
        };
        Metrics {
            faces: [parse(&f.latin), parse(&f.bold), parse(&f.cjk)],
        }
    }

    fn face(&self, w: Which) -> &ttf_parser::Face<'a> {
        match w {
            Which::Latin => &self.faces[0],
            Which::Bold => &self.faces[1],
            Which::Cjk => &self.faces[2],
        }
    }

    /// The face that sets `c` when `want` is asked for: Chinese text always in the CJK face,
    /// any other character in `want` when it has the glyph, else in the CJK face.
    fn which(&self, c: char, want: Which) -> Which {
        if want == Which::Cjk || cjk::is_wide(c) {
            return Which::Cjk;
        }
        if self.face(want).glyph_index(c).is_some() {
            want
        } else {
            Which::Cjk
        }
    }

    /// The face of every character of `text` (one line, or one column of a line): `want`
    /// throughout, unless a character needs the CJK face (Chinese, or a glyph `want` lacks);
    /// then the whole text is set in the CJK face where it has the glyphs. One face per line
    /// keeps a mixed name (`STMicroelectronics N.V.普通股`) one run, which readers of the PDF
    /// (ours included) take as one phrase rather than two columns.
    fn assign(&self, text: &str, want: Which) -> Vec<(char, Which)> {
        let cjk = text.chars().any(|c| self.which(c, want) == Which::Cjk);
        text.chars()
            .map(|c| {
                let w = if cjk && self.faces[2].glyph_index(c).is_some() {
                    Which::Cjk
                } else {
                    self.which(c, want)
                };
                (c, w)
            })
            .collect()
    }

    fn advance(&self, c: char, w: Which, size: f32) -> f32 {
        let face = self.face(w);
        let adv = face
            .glyph_index(c)
            .and_then(|g| face.glyph_hor_advance(g))
            .unwrap_or(face.units_per_em() / 2);
        f32::from(adv) / f32::from(face.units_per_em()) * size
    }

    fn width(&self, text: &str, want: Which, size: f32) -> f32 {
        self.assign(text, want)
            .into_iter()
            .map(|(c, w)| self.advance(c, w, size))
            .sum()
    }
}

/// What the final documents carry besides the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The document's reference on every page (`dr_… v3`).
    pub reference: String,
    /// The parties, in order: (role as the document names it, name).
    pub parties: Vec<(String, String)>,
    /// The date the document is dated (the last signature's), for a conformed copy; `None`
    /// for the final as sent for signature.
    pub dated: Option<String>,
}

/// The parties who sign a confirmation of `trade`, in order: (`party_a`/`party_b`, the role as
/// a document in `language` names it, the legal name); an error names a party the trade lacks.
pub fn parties(
    trade: &crate::Trade,
    language: Language,
) -> Result<Vec<(String, String, String)>, String> {
    ["party_a", "party_b"]
        .iter()
        .map(|k| {
            let name = trade
                .leaf(k)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    format!("the trade names no {k}: the signature pages need both parties")
                })?;
            Ok((
                k.to_string(),
                crate::format::role(k, language)?,
                name.to_string(),
            ))
        })
        .collect()
}

impl Options {
    /// Options for a confirmation of `trade` with `reference` on every page, not yet dated.
    pub fn for_trade(
        reference: String,
        trade: &crate::Trade,
        language: Language,
    ) -> Result<Options, String> {
        Ok(Options {
            reference,
            parties: parties(trade, language)?
                .into_iter()
                .map(|(_, role, name)| (role, name))
                .collect(),
            dated: None,
        })
    }
}

/// The rendered final documents.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The PDF.
    pub pdf: Vec<u8>,
    /// The DOCX.
    pub docx: Vec<u8>,
    /// The PDF's page count.
    pub pages: usize,
}

/// One block of the document.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Title(String),
    Heading(String),
    Term(String, String),
    Para(String),
    Gap,
    PageBreak,
    /// A line to sign on: (label, blank).
    Sign(String),
}

/// Opening lines of a template's own signature block.
fn starts_signature_block(line: &str) -> bool {
    let l = line.trim();
    l.starts_with("For and on behalf of")
        || l.starts_with("Accepted and confirmed")
        || l.starts_with("甲方：")
        || l.starts_with("乙方：")
        || l.starts_with("甲方（盖章）")
        || l.starts_with("乙方（盖章）")
}

/// A `Label: value` term line: a short label without sentence punctuation.
fn term(line: &str) -> Option<(String, String)> {
    let (i, sep) = line
        .char_indices()
        .find(|&(_, c)| c == ':' || c == '：')
        .map(|(i, c)| (i, c.len_utf8()))?;
    let label = line[..i].trim();
    let value = line[i + sep..].trim();
    let chars = label.chars().count();
    if label.is_empty()
        || value.is_empty()
        || chars > 32
        || label.contains(['.', ',', ';', '，', '。', '；', '(', '（', '"', '“'])
    {
        return None;
    }
    Some((format!("{label}{}", &line[i..i + sep]), value.to_string()))
}

/// The text as blocks, the template's signature lines replaced by a pointer to the signature
/// pages, then one signature page per party.
fn blocks(text: &str, language: Language, options: &Options) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    // The signature block: from its first line in the last section to the end.
    let last_heading = lines
        .iter()
        .rposition(|l| crate::document::heading(l).is_some())
        .unwrap_or(0);
    let cut = lines
        .iter()
        .enumerate()
        .skip(last_heading)
        .find(|(_, l)| starts_signature_block(l))
        .map(|(i, _)| i)
        .unwrap_or(lines.len());
    let mut out = Vec::new();
    let mut titled = false;
    for line in &lines[..cut] {
        let l = line.trim_end();
        if l.trim().is_empty() {
            if out.last() != Some(&Block::Gap) {
                out.push(Block::Gap);
            }
        } else if !titled {
            titled = true;
            out.push(Block::Title(l.trim().to_string()));
        } else if crate::document::heading(l).is_some() {
            out.push(Block::Heading(l.trim().to_string()));
        } else if let Some((k, v)) = term(l) {
            out.push(Block::Term(k, v));
        } else {
            out.push(Block::Para(l.trim().to_string()));
        }
    }
    while out.last() == Some(&Block::Gap) {
        out.pop();
    }
    let zh = language == Language::Zh;
    out.push(Block::Gap);
    out.push(Block::Para(
        if zh {
            "（以下无正文，为签署页）"
        } else {
            "[The signature pages follow.]"
        }
        .into(),
    ));
    if let Some(date) = &options.dated {
        out.push(Block::Gap);
        out.push(Block::Para(if zh {
            format!("本确认书于{date}（最后一方签署之日）签署生效。")
        } else {
            format!("This Confirmation is dated {date}, the date of the last signature.")
        }));
    }
    let title = lines.iter().find(|l| !l.trim().is_empty()).copied();
    for (role, name) in &options.parties {
        out.push(Block::PageBreak);
        out.push(Block::Heading(if zh {
            "签署页".into()
        } else {
            "Signature page".into()
        }));
        out.push(Block::Para(if zh {
            format!(
                "本页为《{}》（{}）的签署页，本页无正文。",
                title.unwrap_or("确认书").trim(),
                options.reference
            )
        } else {
            format!(
                "This page is the signature page of \"{}\" ({}) and carries no other terms.",
                title.unwrap_or("Confirmation").trim(),
                options.reference
            )
        }));
        out.push(Block::Gap);
        if zh {
            out.push(Block::Term(format!("{role}（盖章）："), name.clone()));
            out.push(Block::Gap);
            out.push(Block::Sign("法定代表人或授权代表（签字）：".into()));
            out.push(Block::Sign("姓名：".into()));
            out.push(Block::Sign("职务：".into()));
            out.push(Block::Sign("日期：".into()));
        } else {
            out.push(Block::Term(format!("{role}:"), name.clone()));
            out.push(Block::Gap);
            out.push(Block::Sign("By:".into()));
            out.push(Block::Sign("Name:".into()));
            out.push(Block::Sign("Title:".into()));
            out.push(Block::Sign("Date:".into()));
        }
    }
    out
}

/// One run of text set in one face.
#[derive(Debug, Clone)]
struct Run {
    x: f32,
    face: Which,
    size: f32,
    text: String,
}

/// One line on a page, at baseline `y`, or a rule to sign on.
#[derive(Debug, Clone)]
enum Item {
    Text { y: f32, runs: Vec<Run> },
    Rule { y: f32, x0: f32, x1: f32 },
}

/// Where a line may break: before the returned byte offsets.
fn break_points(text: &str) -> Vec<usize> {
    const NO_START: &str = "，。、；：？！）」』》〉】”’,.;:?!)]%";
    const NO_END: &str = "（「『《〈【“‘([";
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    for w in chars.windows(2) {
        let (_, a) = w[0];
        let (i, b) = w[1];
        let allowed = b != ' ' && (a == ' ' || cjk::is_wide(a) || cjk::is_wide(b));
        if allowed && !NO_START.contains(b) && !NO_END.contains(a) {
            out.push(i);
        }
    }
    out
}

/// Splits `text` into lines no wider than `width`.
fn wrap(m: &Metrics<'_>, text: &str, face: Which, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if m.width(rest, face, size) <= width {
            lines.push(rest.to_string());
            break;
        }
        let points = break_points(rest);
        let fit = points
            .iter()
            .rev()
            .find(|&&p| m.width(rest[..p].trim_end(), face, size) <= width)
            .copied();
        let at = match fit {
            Some(p) => p,
            None => {
                // One word wider than the line: break it at the last character that fits.
                let mut at = rest.len();
                for (i, _) in rest.char_indices().skip(1) {
                    if m.width(&rest[..i], face, size) > width {
                        break;
                    }
                    at = i;
                }
                if at == rest.len() {
                    rest.char_indices().nth(1).map_or(rest.len(), |(i, _)| i)
                } else {
                    at
                }
            }
        };
        lines.push(rest[..at].trim_end().to_string());
        rest = rest[at..].trim_start();
    }
    lines
}

/// Splits a line into runs by the face that sets each character.
fn runs(m: &Metrics<'_>, x: f32, text: &str, want: Which, size: f32) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut x = x;
    for (c, w) in m.assign(text, want) {
        match out.last_mut() {
            Some(r) if r.face == w => r.text.push(c),
            _ => out.push(Run {
                x,
                face: w,
                size,
                text: c.to_string(),
            }),
        }
        x += m.advance(c, w, size);
    }
    out
}

/// Lays the blocks out on pages.
fn layout(m: &Metrics<'_>, blocks: &[Block], language: Language) -> Vec<Vec<Item>> {
    let zh = language == Language::Zh;
    let body_face = if zh { Which::Cjk } else { Which::Latin };
    let head_face = if zh { Which::Cjk } else { Which::Bold };
    let leading = if zh { 1.6 } else { 1.4 };
    let width = PAGE_W - 2.0 * MARGIN_X;
    let bottom = PAGE_H - MARGIN_BOTTOM;
    // The label column of term lines: the widest label, within 40% of the line.
    let label_w = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Term(k, _) => Some(m.width(k, body_face, BODY)),
            _ => None,
        })
        .fold(0.0f32, f32::max)
        .min(width * 0.4)
        + BODY;
    let mut pages: Vec<Vec<Item>> = vec![Vec::new()];
    let mut y = MARGIN_TOP;
    let line_h = BODY * leading;
    for (i, b) in blocks.iter().enumerate() {
        let need = |pages: &mut Vec<Vec<Item>>, y: &mut f32, h: f32| {
            if *y + h > bottom {
                pages.push(Vec::new());
                *y = MARGIN_TOP;
            }
        };
        match b {
            Block::PageBreak => {
                pages.push(Vec::new());
                y = MARGIN_TOP;
            }
            Block::Gap => {
                if y > MARGIN_TOP {
                    y += line_h * 0.6;
                }
            }
            Block::Title(t) => {
                for line in wrap(m, t, head_face, TITLE, width) {
                    need(&mut pages, &mut y, TITLE * 1.5);
                    y += TITLE * 1.5;
                    let w = m.width(&line, head_face, TITLE);
                    let x = MARGIN_X + (width - w).max(0.0) / 2.0;
                    let runs = runs(m, x, &line, head_face, TITLE);
                    pages
                        .last_mut()
                        .expect("a page")
                        .push(Item::Text { y, runs });
                }
                y += TITLE * 0.5;
            }
            Block::Heading(t) => {
                let lines = wrap(m, t, head_face, HEADING, width);
                // Keep the heading with the first line that follows it.
                let next = match blocks.get(i + 1) {
                    Some(Block::Gap) | None => 0.0,
                    Some(_) => line_h,
                };
                need(
                    &mut pages,
                    &mut y,
                    HEADING * 0.8 + lines.len() as f32 * HEADING * leading + next,
                );
                if y > MARGIN_TOP {
                    y += HEADING * 0.8;
                }
                for line in lines {
                    y += HEADING * leading;
                    let runs = runs(m, MARGIN_X, &line, head_face, HEADING);
                    pages
                        .last_mut()
                        .expect("a page")
                        .push(Item::Text { y, runs });
                }
            }
            Block::Term(k, v) => {
                let vx = MARGIN_X + label_w;
                let lines = wrap(m, v, body_face, BODY, width - label_w);
                let label_lines = if m.width(k, body_face, BODY) + BODY > label_w {
                    wrap(m, k, body_face, BODY, label_w - BODY)
                } else {
                    vec![k.clone()]
                };
                let n = lines.len().max(label_lines.len());
                for j in 0..n {
                    need(&mut pages, &mut y, line_h);
                    y += line_h;
                    let mut rs = Vec::new();
                    if let Some(l) = label_lines.get(j) {
                        rs.extend(runs(m, MARGIN_X, l, body_face, BODY));
                    }
                    if let Some(l) = lines.get(j) {
                        rs.extend(runs(m, vx, l, body_face, BODY));
                    }
                    pages
                        .last_mut()
                        .expect("a page")
                        .push(Item::Text { y, runs: rs });
                }
            }
            Block::Para(t) => {
                for line in wrap(m, t, body_face, BODY, width) {
                    need(&mut pages, &mut y, line_h);
                    y += line_h;
                    let runs = runs(m, MARGIN_X, &line, body_face, BODY);
                    pages
                        .last_mut()
                        .expect("a page")
                        .push(Item::Text { y, runs });
                }
            }
            Block::Sign(label) => {
                need(&mut pages, &mut y, line_h * 2.0);
                y += line_h * 2.0;
                let runs = runs(m, MARGIN_X, label, body_face, BODY);
                let x0 = MARGIN_X + label_w;
                let page = pages.last_mut().expect("a page");
                page.push(Item::Text { y, runs });
                page.push(Item::Rule {
                    y: y + 2.0,
                    x0,
                    x1: (x0 + 220.0).min(PAGE_W - MARGIN_X),
                });
            }
        }
    }
    pages
}

fn font_of(f: &Fonts, w: Which) -> Font {
    match w {
        Which::Latin => f.latin.font.clone(),
        Which::Bold => f.bold.font.clone(),
        Which::Cjk => f.cjk.font.clone(),
    }
}

fn pdf(
    fonts: &Fonts,
    pages: &[Vec<Item>],
    title: &str,
    language: Language,
    options: &Options,
) -> Result<Vec<u8>, RenderError> {
    let m = Metrics::new(fonts);
    let zh = language == Language::Zh;
    let foot_face = if zh { Which::Cjk } else { Which::Latin };
    let mut doc = Document::new_with(SerializeSettings {
        // Deterministic output: no XMP packet (it would carry nothing the Info has not).
        xmp_metadata: false,
        ..SerializeSettings::default()
    });
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(title.to_string())
            .language(if zh { "zh-CN" } else { "en" }.to_string())
            .creator("Deskmate".to_string())
            .document_id(options.reference.clone()),
    );
    let n = pages.len();
    for (i, items) in pages.iter().enumerate() {
        let settings =
            PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| RenderError::Pdf("page".into()))?;
        let mut page = doc.start_page_with(settings);
        let mut s = page.surface();
        for item in items {
            match item {
                Item::Text { y, runs } => {
                    for r in runs {
                        s.draw_text(
                            Point::from_xy(r.x, *y),
                            font_of(fonts, r.face),
                            r.size,
                            &r.text,
                            false,
                            TextDirection::Auto,
                        );
                    }
                }
                Item::Rule { y, x0, x1 } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(*x0, *y);
                    pb.line_to(*x1, *y);
                    if let Some(path) = pb.finish() {
                        s.set_fill(None);
                        s.set_stroke(Some(Stroke {
                            width: 0.6,
                            ..Stroke::default()
                        }));
                        s.draw_path(&path);
                        s.set_stroke(None);
                        s.set_fill(Some(krilla::paint::Fill::default()));
                    }
                }
            }
        }
        let footer = if zh {
            format!("{} · 第{}页 共{}页", options.reference, i + 1, n)
        } else {
            format!("{} · Page {} of {}", options.reference, i + 1, n)
        };
        let w = m.width(&footer, foot_face, FOOTER);
        let x = (PAGE_W - w) / 2.0;
        for r in runs(&m, x, &footer, foot_face, FOOTER) {
            s.draw_text(
                Point::from_xy(r.x, PAGE_H - MARGIN_BOTTOM / 2.0),
                font_of(fonts, r.face),
                r.size,
                &r.text,
                false,
                TextDirection::Auto,
            );
        }
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| RenderError::Pdf(format!("{e:?}")))
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A DOCX of the blocks: Word's own styles (Title, Heading 1, Normal), term lines with a tab
/// to the value column and a hanging indent, a page break before each signature page, the
/// reference and page number in the footer.
fn docx(
    blocks: &[Block],
    title: &str,
    language: Language,
    options: &Options,
) -> Result<Vec<u8>, RenderError> {
    use std::io::Write;
    let zh = language == Language::Zh;
    let (latin, east) = ("Times New Roman", "SimSun");
    let run = |t: &str| format!(r#"<w:r><w:t xml:space="preserve">{}</w:t></w:r>"#, xml(t));
    let mut body = String::new();
    for b in blocks {
        match b {
            Block::Title(t) => body.push_str(&format!(
                r#"<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr>{}</w:p>"#,
                run(t)
            )),
            Block::Heading(t) => body.push_str(&format!(
                r#"<w:p><w:pPr><w:pStyle w:val="Heading1"/><w:keepNext/></w:pPr>{}</w:p>"#,
                run(t)
            )),
            Block::Term(k, v) => body.push_str(&format!(
                r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="3400"/></w:tabs><w:ind w:left="3400" w:hanging="3400"/></w:pPr>{}<w:r><w:tab/></w:r>{}</w:p>"#,
                run(k),
                run(v)
            )),
            Block::Para(t) => body.push_str(&format!("<w:p>{}</w:p>", run(t))),
            Block::Gap => body.push_str("<w:p/>"),
            Block::PageBreak => body.push_str(r#"<w:p><w:r><w:br w:type="page"/></w:r></w:p>"#),
            Block::Sign(label) => body.push_str(&format!(
                r#"<w:p><w:pPr><w:spacing w:before="360"/><w:tabs><w:tab w:val="left" w:pos="3400"/><w:tab w:val="left" w:leader="underscore" w:pos="7800"/></w:tabs></w:pPr>{}<w:r><w:tab/><w:tab/></w:r></w:p>"#,
                run(label)
            )),
        }
    }
    let lang = if zh { "zh-CN" } else { "en-GB" };
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>{body}<w:sectPr><w:footerReference w:type="default" r:id="rIdFooter"/><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1560" w:left="1440" w:header="720" w:footer="720" w:gutter="0"/></w:sectPr></w:body></w:document>"#
    );
    let size = 21; // half-points: 10.5 pt
    let styles = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia="{east}" w:cs="{latin}"/><w:sz w:val="{size}"/><w:szCs w:val="{size}"/><w:lang w:val="{lang}" w:eastAsia="zh-CN"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="60" w:line="{line}" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style><w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:pPr><w:jc w:val="center"/><w:spacing w:after="240"/></w:pPr><w:rPr><w:b/><w:sz w:val="28"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:pPr><w:keepNext/><w:spacing w:before="200" w:after="80"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:sz w:val="23"/></w:rPr></w:style></w:styles>"#,
        line = if zh { 360 } else { 300 },
    );
    let footer = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:ftr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:rPr><w:sz w:val="16"/></w:rPr><w:t xml:space="preserve">{} · {}</w:t></w:r><w:r><w:rPr><w:sz w:val="16"/></w:rPr><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:rPr><w:sz w:val="16"/></w:rPr><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r><w:r><w:rPr><w:sz w:val="16"/></w:rPr><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:rPr><w:sz w:val="16"/></w:rPr><w:t>1</w:t></w:r><w:r><w:rPr><w:sz w:val="16"/></w:rPr><w:fldChar w:fldCharType="end"/></w:r></w:p></w:ftr>"#,
        xml(&options.reference),
        if zh { "页码" } else { "Page" }
    );
    let core = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{}</dc:title><dc:creator>Deskmate</dc:creator><dc:identifier>{}</dc:identifier><dc:language>{lang}</dc:language></cp:coreProperties>"#,
        xml(title),
        xml(&options.reference)
    );
    let parts: [(&str, String); 6] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>"#.into(),
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"#.into(),
        ),
        (
            "word/_rels/document.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rIdStyles" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rIdFooter" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/></Relationships>"#.into(),
        ),
        ("word/document.xml", document),
        ("word/styles.xml", styles),
        ("word/footer1.xml", footer),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // A fixed timestamp, so the same version gives the same bytes.
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, content) in parts
        .iter()
        .chain(std::iter::once(&("docProps/core.xml", core)))
    {
        zip.start_file(*name, opts)
            .map_err(|e| RenderError::Docx(e.to_string()))?;
        zip.write_all(content.as_bytes())
            .map_err(|e| RenderError::Docx(e.to_string()))?;
    }
    let cursor = zip.finish().map_err(|e| RenderError::Docx(e.to_string()))?;
    Ok(cursor.into_inner())
}

/// Renders a confirmation's text as its final PDF and DOCX.
pub fn render(
    text: &str,
    language: Language,
    options: &Options,
    fonts: &Fonts,
) -> Result<Rendered, RenderError> {
    if text.trim().is_empty() {
        return Err(RenderError::Empty);
    }
    let blocks = blocks(text, language, options);
    let title = blocks
        .iter()
        .find_map(|b| match b {
            Block::Title(t) => Some(t.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let m = Metrics::new(fonts);
    let pages = layout(&m, &blocks, language);
    let pdf = pdf(fonts, &pages, &title, language, options)?;
    let docx = docx(&blocks, &title, language, options)?;
    Ok(Rendered {
        pdf,
        docx,
        pages: pages.len(),
    })
}

/// Blocks of a Markdown memo (an issues list): `#` the title, `##` headings, `- label: text`
/// items as terms, a fenced `diff` block as redline lines (`[−]` deleted, `[+]` added), other
/// lines as paragraphs. No signature pages.
fn memo_blocks(markdown: &str, language: Language) -> Vec<Block> {
    let zh = language == Language::Zh;
    let mut out = Vec::new();
    let mut fence = false;
    for line in markdown.lines() {
        let l = line.trim_end();
        if l.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            let (mark, rest) = match l.split_at_checked(2) {
                Some(("- ", r)) => (if zh { "〔删〕" } else { "[−] " }, r),
                Some(("+ ", r)) => (if zh { "〔增〕" } else { "[+] " }, r),
                Some((_, r)) => ("", r),
                None => ("", l),
            };
            if !rest.trim().is_empty() {
                out.push(Block::Para(format!("{mark}{}", rest.trim())));
            }
            continue;
        }
        if l.trim().is_empty() {
            if !out.is_empty() && out.last() != Some(&Block::Gap) {
                out.push(Block::Gap);
            }
        } else if let Some(t) = l.strip_prefix("# ") {
            out.push(Block::Title(t.trim().to_string()));
        } else if let Some(h) = l.strip_prefix("## ").or_else(|| l.strip_prefix("### ")) {
            out.push(Block::Heading(h.trim().to_string()));
        } else if let Some(item) = l.strip_prefix("- ") {
            let sep = if zh { "：" } else { ":" };
            match item.split_once(": ") {
                Some((k, v)) if k.chars().count() <= 24 => {
                    out.push(Block::Term(format!("{k}{sep}"), v.trim().to_string()))
                }
                _ => out.push(Block::Para(format!("• {}", item.trim()))),
            }
        } else {
            out.push(Block::Para(l.trim().to_string()));
        }
    }
    while out.last() == Some(&Block::Gap) {
        out.pop();
    }
    out
}

/// A memo (the negotiation's issues list with talking points, as Markdown) as a PDF and a
/// DOCX, in the same typography as the final confirmations, `reference` on every page.
pub fn render_memo(
    markdown: &str,
    language: Language,
    reference: &str,
    fonts: &Fonts,
) -> Result<Rendered, RenderError> {
    if markdown.trim().is_empty() {
        return Err(RenderError::Empty);
    }
    let blocks = memo_blocks(markdown, language);
    let title = blocks
        .iter()
        .find_map(|b| match b {
            Block::Title(t) => Some(t.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let options = Options {
        reference: reference.to_string(),
        parties: Vec::new(),
        dated: None,
    };
    let m = Metrics::new(fonts);
    let pages = layout(&m, &blocks, language);
    let pdf = pdf(fonts, &pages, &title, language, &options)?;
    let docx = docx(&blocks, &title, language, &options)?;
    Ok(Rendered {
        pdf,
        docx,
        pages: pages.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memo_has_its_title_headings_terms_and_redline() {
        let b = memo_blocks(
            "# Issues list — X\n\n## 1. 3 General Terms (Economic)\n\n- Response: Reject\n- Talking point: the premium was priced.\n\n```diff\n  Premium: EUR 1\n- Premium: EUR 2\n+ Premium: EUR 3\n```\n",
            Language::En,
        );
        assert_eq!(b[0], Block::Title("Issues list — X".into()));
        assert!(b.contains(&Block::Heading("1. 3 General Terms (Economic)".into())));
        assert!(b.contains(&Block::Term("Response:".into(), "Reject".into())));
        assert!(b.contains(&Block::Para("[−] Premium: EUR 2".into())));
        assert!(b.contains(&Block::Para("[+] Premium: EUR 3".into())));
    }

    #[test]
    fn lines_break_at_spaces_and_between_chinese_characters_but_not_before_closing_punctuation() {
        assert_eq!(break_points("ab cd"), vec![3]);
        let zh = "甲方，乙方（丙）";
        let pts: Vec<&str> = break_points(zh).iter().map(|&i| &zh[i..]).collect();
        assert!(
            !pts.iter()
                .any(|p| p.starts_with('，') || p.starts_with('）'))
        );
        assert!(!pts.iter().any(|p| p.starts_with('丙')), "{pts:?}");
    }

    #[test]
    fn term_lines_are_short_labels_without_sentence_punctuation() {
        assert_eq!(
            term("Trade Date: 5 March 2026"),
            Some(("Trade Date:".into(), "5 March 2026".into()))
        );
        assert_eq!(
            term("名义本金：人民币10,000,000.00元"),
            Some(("名义本金：".into(), "人民币10,000,000.00元".into()))
        );
        assert_eq!(
            term("If this Confirmation and the Agreement, as follows: x"),
            None
        );
    }
}
