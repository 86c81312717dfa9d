//! PDFs: the text layer through `pdf-extract` (per page, under `catch_unwind`), judged page by
//! page; a page whose layer it cannot read is read by poppler's `pdftotext -bbox-layout` (words
//! with boxes; predefined CJK CMaps such as `UniGB-UCS2-H`, which `pdf-extract` does not
//! support); pages still without a usable layer go to OCR.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::{Command, Stdio};

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

use super::layout::line_from_words;
use super::ocr::OcrEngine;
use super::{
    BBox, ConnectorError, Limits, Line, Notice, Page, PageMethod, Word, internal, unreadable,
};

/// What a page's text layer is good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextLayerVerdict {
    /// Enough readable text: use it.
    Usable,
    /// No text, or too little to be a page of text (a scan, perhaps with a page number stamped).
    Empty,
    /// Text that is not text: replacement and control characters, private-use code points, or
    /// the accented gibberish that fonts with custom encodings produce.
    Garbage,
}

/// Fewer non-space characters than this and a page's text layer counts as empty.
const MIN_TEXT_CHARS: usize = 16;

/// Judges a page's text layer. Thresholds: fewer than 16 non-space characters is empty; more
/// than 10% broken characters (U+FFFD, controls, private use) or more than 30% Latin-1/Latin
/// Extended letters, or under 60% letters, digits and ordinary punctuation, is garbage.
pub fn judge_text_layer(text: &str) -> TextLayerVerdict {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() < MIN_TEXT_CHARS {
        return TextLayerVerdict::Empty;
    }
    let n = chars.len() as f64;
    let broken = chars
        .iter()
        .filter(|&&c| c == '\u{fffd}' || c.is_control() || ('\u{e000}'..='\u{f8ff}').contains(&c))
        .count() as f64;
    let extended = chars
        .iter()
        .filter(|&&c| ('\u{80}'..='\u{24f}').contains(&c))
        .count() as f64;
    let good = chars
        .iter()
        .filter(|&&c| c.is_alphanumeric() || c.is_ascii_punctuation() || cjk::is_wide(c))
        .count() as f64;
    if broken / n > 0.10 || extended / n > 0.30 || good / n < 0.60 {
        TextLayerVerdict::Garbage
    } else {
        TextLayerVerdict::Usable
    }
}

pub(crate) fn extract(
    bytes: &[u8],
    name: &str,
    limits: &Limits,
    notices: &mut Vec<Notice>,
) -> Result<Vec<Page>, ConnectorError> {
    let loaded = catch_unwind(|| lopdf::Document::load_mem(bytes));
    let mut doc = match loaded {
        Ok(Ok(doc)) => doc,
        Ok(Err(e)) => return Err(unreadable(name, format!("not a readable PDF: {e}"))),
        Err(_) => return Err(unreadable(name, "the PDF parser gave up on this file")),
    };
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        return Err(unreadable(name, "encrypted PDF (a password is required)"));
    }
    let page_ids = doc.get_pages();
    if page_ids.is_empty() {
        return Err(unreadable(name, "the PDF has no pages"));
    }
    let count = page_ids.len() as u64;
    if count > u64::from(limits.max_pages) {
        return Err(ConnectorError::TooLarge {
            file: name.to_owned(),
            what: "pages",
            actual: count,
            limit: u64::from(limits.max_pages),
        });
    }
    let mut pages = Vec::with_capacity(page_ids.len());
    let mut to_ocr = Vec::new();
    for &number in page_ids.keys() {
        let mut collector = Collector::default();
        let run = catch_unwind(AssertUnwindSafe(|| {
            pdf_extract::output_doc_page(&doc, &mut collector, number)
        }));
        let failure = match run {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("text layer unreadable ({e})")),
            Err(_) => Some("the text-layer parser panicked (an unsupported font?)".to_owned()),
        };
        let page = collector.into_page(number);
        let verdict = judge_text_layer(&page.text());
        match (failure, verdict) {
            (None, TextLayerVerdict::Usable) => pages.push(page),
            (failure, verdict) => {
                let why = failure.unwrap_or_else(|| match verdict {
                    TextLayerVerdict::Garbage => "garbage text layer".to_owned(),
                    _ => "no text layer".to_owned(),
                });
                to_ocr.push((pages.len(), why));
                pages.push(page);
            }
        }
    }
    if to_ocr.is_empty() {
        return Ok(pages);
    }
    let dir = tempfile::tempdir().map_err(|e| internal(name, format!("temporary dir: {e}")))?;
    let pdf_path = dir.path().join("in.pdf");
    std::fs::write(&pdf_path, bytes).map_err(|e| internal(name, format!("temporary file: {e}")))?;
    // A text layer our parser cannot read (a predefined CJK CMap such as UniGB-UCS2-H, an
    // unusual font program) is often one poppler reads: its words, with their boxes, before
    // falling back to OCR.
    let pdftotext = limits.pdftoppm.with_file_name("pdftotext");
    let mut still = Vec::new();
    for (i, why) in to_ocr {
        let number = pages[i].number;
        match poppler_text_layer(&pdftotext, &pdf_path, number, dir.path()) {
            Some(page) if judge_text_layer(&page.text()) == TextLayerVerdict::Usable => {
                notices.push(Notice {
                    page: Some(number),
                    message: format!("{why}: text layer read with poppler's pdftotext"),
                });
                pages[i] = page;
            }
            _ => still.push((i, why)),
        }
    }
    let to_ocr = still;
    if to_ocr.is_empty() {
        return Ok(pages);
    }
    if !limits.ocr {
        for (i, why) in to_ocr {
            notices.push(Notice {
                page: Some(pages[i].number),
                message: format!("{why}; OCR is switched off, kept the text layer as it is"),
            });
        }
        return Ok(pages);
    }
    let mut engine = OcrEngine::new(limits).map_err(|d| internal(name, d))?;
    for (i, why) in to_ocr {
        let number = pages[i].number;
        let png = engine
            .rasterize(&pdf_path, number, dir.path())
            .map_err(|e| e.into_error(name))?;
        let page = engine
            .recognize_image(&png, number, Some(limits.ocr_dpi))
            .map_err(|e| e.into_error(name))?;
        notices.push(Notice {
            page: Some(number),
            message: format!("{why}: OCR'd at {} dpi", limits.ocr_dpi),
        });
        pages[i] = page;
    }
    Ok(pages)
}

/// How long `pdftotext` may take on one page.
const PDFTOTEXT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Page `number` of the PDF at `pdf` as poppler's `pdftotext -bbox-layout` reads its text
/// layer: words with their boxes (top-left origin, points), grouped into poppler's lines.
/// `None` when the program is missing, fails, takes too long or finds no words.
fn poppler_text_layer(pdftotext: &Path, pdf: &Path, number: u32, dir: &Path) -> Option<Page> {
    let out = dir.join(format!("page-{number}.html"));
    let n = number.to_string();
    let mut child = Command::new(pdftotext)
        .args(["-f", &n, "-l", &n, "-enc", "UTF-8", "-bbox-layout"])
        .arg(pdf)
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let status = super::ocr::wait_with_timeout(&mut child, PDFTOTEXT_TIMEOUT).ok()??;
    if !status.success() {
        return None;
    }
    let xml = std::fs::read_to_string(&out).ok()?;
    let _ = std::fs::remove_file(&out);
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(&xml, opts).ok()?;
    let page = doc.descendants().find(|n| n.has_tag_name("page"))?;
    let attr = |n: roxmltree::Node<'_, '_>, a: &str| -> f32 {
        n.attribute(a).and_then(|v| v.parse().ok()).unwrap_or(0.0)
    };
    // Poppler's own lines follow its column analysis (a two-column table comes out as the
    // labels, then the values); the words are regrouped by baseline instead, as the
    // `pdf-extract` collector groups glyphs.
    let mut words: Vec<Word> = page
        .descendants()
        .filter(|n| n.has_tag_name("word"))
        .filter_map(|w| {
            let text = w.text()?.trim();
            (!text.is_empty()).then(|| Word {
                text: text.to_owned(),
                bbox: Some(BBox {
                    x0: attr(w, "xMin"),
                    y0: attr(w, "yMin"),
                    x1: attr(w, "xMax"),
                    y1: attr(w, "yMax"),
                }),
                confidence: 1.0,
            })
        })
        .collect();
    let mid = |w: &Word| w.bbox.map_or(0.0, |b| (b.y0 + b.y1) / 2.0);
    let height = |w: &Word| w.bbox.map_or(1.0, |b| (b.y1 - b.y0).max(1.0));
    words.sort_by(|a, b| mid(a).total_cmp(&mid(b)));
    let mut rows: Vec<Vec<Word>> = Vec::new();
    for w in words {
        match rows.last_mut() {
            Some(row) if (mid(&w) - mid(&row[0])).abs() < height(&row[0]) * 0.5 => row.push(w),
            _ => rows.push(vec![w]),
        }
    }
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|mut row| {
            row.sort_by(|a, b| {
                let x = |w: &Word| w.bbox.map_or(0.0, |b| b.x0);
                x(a).total_cmp(&x(b))
            });
            line_from_words(row)
        })
        .collect();
    (!lines.is_empty()).then(|| Page {
        number,
        method: PageMethod::TextLayer,
        width: attr(page, "width"),
        height: attr(page, "height"),
        confidence: 1.0,
        lines,
    })
}

/// One glyph as the PDF parser placed it, in top-left-origin points.
struct Glyph {
    text: String,
    x0: f64,
    x1: f64,
    baseline: f64,
    size: f64,
}

/// Receives glyphs from `pdf-extract` and groups them into words and lines: a new line when the
/// baseline moves by more than half the font size or the pen goes back left, a new word at a
/// gap wider than 15% of the font size or at a space.
#[derive(Default)]
struct Collector {
    width: f64,
    height: f64,
    flip: f64,
    glyphs: Vec<Glyph>,
}

impl Collector {
    fn into_page(self, number: u32) -> Page {
        let mut lines: Vec<Line> = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        let mut word: Option<(String, BBox)> = None;
        let mut last: Option<&Glyph> = None;
        let flush_word = |word: &mut Option<(String, BBox)>, words: &mut Vec<Word>| {
            if let Some((text, bbox)) = word.take()
                && !text.trim().is_empty()
            {
                words.push(Word {
                    text: text.trim().to_owned(),
                    bbox: Some(bbox),
                    confidence: 1.0,
                });
            }
        };
        for g in &self.glyphs {
            let (new_line, gap) = match last {
                None => (false, false),
                Some(p) => {
                    let size = p.size.max(1.0);
                    let moved = (g.baseline - p.baseline).abs() > size * 0.5;
                    let back = g.x0 < p.x0 - size * 0.1 && (g.baseline - p.baseline).abs() > 0.1;
                    (moved || back, g.x0 > p.x1 + size * 0.15)
                }
            };
            if new_line {
                flush_word(&mut word, &mut words);
                if !words.is_empty() {
                    lines.push(line_from_words(std::mem::take(&mut words)));
                }
            } else if gap {
                flush_word(&mut word, &mut words);
            }
            if g.text.chars().all(char::is_whitespace) {
                flush_word(&mut word, &mut words);
            } else {
                let b = BBox {
                    x0: g.x0 as f32,
                    y0: (g.baseline - g.size * 0.8) as f32,
                    x1: g.x1 as f32,
                    y1: (g.baseline + g.size * 0.2) as f32,
                };
                match &mut word {
                    Some((text, bbox)) => {
                        text.push_str(&g.text);
                        *bbox = bbox.union(b);
                    }
                    None => word = Some((g.text.clone(), b)),
                }
            }
            last = Some(g);
        }
        flush_word(&mut word, &mut words);
        if !words.is_empty() {
            lines.push(line_from_words(words));
        }
        Page {
            number,
            method: PageMethod::TextLayer,
            width: self.width as f32,
            height: self.height as f32,
            confidence: 1.0,
            lines,
        }
    }
}

impl OutputDev for Collector {
    fn begin_page(
        &mut self,
        _page_num: u32,
        media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.width = (media_box.urx - media_box.llx).abs();
        self.height = (media_box.ury - media_box.lly).abs();
        self.flip = media_box.ury;
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), OutputError> {
        // The rendered font size is the side of the square with the area of the transformed
        // (font_size, font_size) vector, as pdf-extract's own plain-text output computes it.
        let vx = font_size * trm.m11 + font_size * trm.m21;
        let vy = font_size * trm.m12 + font_size * trm.m22;
        let size = (vx * vy).abs().sqrt();
        let x = trm.m31;
        let baseline = self.flip - trm.m32;
        self.glyphs.push(Glyph {
            text: char.to_owned(),
            x0: x,
            x1: x + width * size,
            baseline,
            size,
        });
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}
