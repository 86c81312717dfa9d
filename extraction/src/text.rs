//! The text of a document as one string with a map back to pages, lines and word boxes, so that
//! every value a rule or the model finds can be shown where it came from.
//!
//! [`Sheet::text`] holds the pages' lines joined by `\n`, pages separated by `\x0c`;
//! [`Sheet::flow`] is the same string with every line and page break replaced by a space (same
//! byte length, so offsets are shared), for rules that read sentences wrapped across lines.

use connectors::document::{BBox, Document, PageMethod};
use serde::Serialize;

/// How a value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A deterministic rule over the text.
    Rule,
    /// The local model (schema-constrained JSON), checked against the text.
    Model,
    /// Read from an FpML message.
    Fpml,
    /// Entered by a reviewer.
    Correction,
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// 1-based page number.
    pub page: u32,
    /// Character (Unicode scalar) offsets `[start, end)` into the page's text (its lines joined
    /// by `\n`; for FpML, the XML text).
    pub span: [usize; 2],
    /// The boxes of the words the span covers, one per line, in the page's unit (PDF points for
    /// text layers, pixels for OCR); empty for formats without geometry.
    pub boxes: Vec<BBox>,
    /// The source text around the value (the line or sentence), for the reviewer.
    pub snippet: String,
    /// How the value was obtained.
    pub method: Method,
    /// 0..=1: the rule's or model's confidence times the words' OCR confidence.
    pub confidence: f32,
    /// Which rule or label produced it (`label "Trade Date"`, `party definition`), or the model's
    /// id, or the reviewer and reason for a correction.
    pub source: String,
}

#[derive(Debug, Clone)]
struct WordPos {
    start: usize,
    end: usize,
    bbox: Option<BBox>,
    confidence: f32,
}

#[derive(Debug, Clone)]
struct LinePos {
    start: usize,
    end: usize,
    page_index: usize,
    words: Vec<WordPos>,
}

#[derive(Debug, Clone)]
struct PagePos {
    number: u32,
    start: usize,
    end: usize,
    method: PageMethod,
}

/// The text the rules read: full-width digits and letters as ASCII ([`cjk::fold_alnum`]) and
/// traditional Chinese characters as simplified (`fast2s`, character for character; a line
/// whose length the conversion would change is kept as written). The folded text has the same
/// characters, one for one, as the written text, so names are given back as written
/// ([`Sheet::as_written`]) and the reviewer's snippets show the document's own characters.
pub fn fold(text: &str) -> std::borrow::Cow<'_, str> {
    let text = cjk::fold_alnum(text);
    if !text.chars().any(cjk::is_cjk) {
        return text;
    }
    let simplified = fast2s::convert(&text);
    if simplified == text.as_ref() || simplified.chars().count() != text.chars().count() {
        text
    } else {
        std::borrow::Cow::Owned(simplified)
    }
}

/// A document's text with positions.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// Lines joined by `\n`, pages by `\x0c`.
    pub text: String,
    /// [`Sheet::text`] with line and page breaks as spaces.
    pub flow: String,
    /// [`Sheet::text`] as written (before [`fold`]) when folding changed any line: the same
    /// characters one for one, so a character offset is the same place in both.
    written: Option<String>,
    pages: Vec<PagePos>,
    lines: Vec<LinePos>,
}

impl Sheet {
    /// Indexes a document.
    pub fn new(doc: &Document) -> Sheet {
        let mut text = String::new();
        let mut written = String::new();
        let mut folded_any = false;
        let mut pages = Vec::new();
        let mut lines = Vec::new();
        for (pi, page) in doc.pages.iter().enumerate() {
            if pi > 0 {
                text.push('\x0c');
                written.push('\x0c');
            }
            let page_start = text.len();
            for (li, line) in page.lines.iter().enumerate() {
                if li > 0 {
                    text.push('\n');
                    written.push('\n');
                }
                let start = text.len();
                // Full-width digits and letters read as ASCII (`２０２６年` is `2026年`) and
                // traditional characters as simplified (`期權費` is `期权费`: confirmations from
                // Hong Kong), in the line and in its words alike, so that positions agree.
                let line_text = fold(&line.text);
                text.push_str(&line_text);
                written.push_str(&line.text);
                folded_any |= line_text != line.text.as_str();
                let mut words = Vec::new();
                let mut cursor = 0;
                for w in &line.words {
                    let w_text = fold(&w.text);
                    if w_text.is_empty() {
                        continue;
                    }
                    if let Some(at) = line_text[cursor..].find(w_text.as_ref()) {
                        let ws = start + cursor + at;
                        cursor += at + w_text.len();
                        words.push(WordPos {
                            start: ws,
                            end: ws + w_text.len(),
                            bbox: w.bbox,
                            confidence: w.confidence,
                        });
                    }
                }
                lines.push(LinePos {
                    start,
                    end: text.len(),
                    page_index: pi,
                    words,
                });
            }
            pages.push(PagePos {
                number: page.number,
                start: page_start,
                end: text.len(),
                method: page.method,
            });
        }
        let flow = text.replace(['\n', '\x0c'], " ");
        Sheet {
            text,
            flow,
            written: folded_any.then_some(written),
            pages,
            lines,
        }
    }

    /// The byte range `[start, end)` of [`Sheet::text`] as the document writes it: traditional
    /// characters and full-width letters and digits as they are in the document (the same
    /// characters as the folded text when nothing was folded). `None` outside the text.
    pub fn as_written(&self, start: usize, end: usize) -> Option<std::borrow::Cow<'_, str>> {
        let folded = self.text.get(start..end)?;
        let Some(w) = &self.written else {
            return Some(std::borrow::Cow::Borrowed(folded));
        };
        let skip = self.text[..start].chars().count();
        Some(std::borrow::Cow::Owned(
            w.chars().skip(skip).take(folded.chars().count()).collect(),
        ))
    }

    /// `value`, found in the byte range `span` of [`Sheet::text`], as the document writes it
    /// (a name in traditional characters stays in them); `value` itself when it is not there
    /// verbatim.
    pub fn written_value(&self, value: &str, span: (usize, usize)) -> String {
        if self.written.is_none() || value.is_empty() {
            return value.to_owned();
        }
        self.text
            .get(span.0..span.1)
            .and_then(|s| s.find(value))
            .and_then(|at| self.as_written(span.0 + at, span.0 + at + value.len()))
            .map_or_else(|| value.to_owned(), |w| w.into_owned())
    }

    /// A sheet over plain text (one page, no geometry), for FpML and tests.
    pub fn plain(text: &str) -> Sheet {
        let doc = Document {
            format: connectors::document::Format::Text,
            pages: vec![connectors::document::Page {
                number: 1,
                method: PageMethod::Markup,
                width: 0.0,
                height: 0.0,
                confidence: 1.0,
                lines: text
                    .split('\n')
                    .map(|l| connectors::document::Line {
                        text: l.to_owned(),
                        bbox: None,
                        words: Vec::new(),
                    })
                    .collect(),
            }],
            notices: Vec::new(),
        };
        Sheet::new(&doc)
    }

    /// The number of pages.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// How many pages were read by OCR.
    pub fn ocr_pages(&self) -> usize {
        self.pages
            .iter()
            .filter(|p| p.method == PageMethod::Ocr)
            .count()
    }

    /// Lines as `(start, end)` byte ranges of [`Sheet::text`].
    pub fn line_ranges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.lines.iter().map(|l| (l.start, l.end))
    }

    /// The line holding byte `at`, as a range.
    pub fn line_at(&self, at: usize) -> Option<(usize, usize)> {
        let i = self.lines.partition_point(|l| l.end < at);
        self.lines.get(i).map(|l| (l.start, l.end))
    }

    /// The sentence of [`Sheet::flow`] holding byte `at` (bounded by `.`, `;`, `。` followed by
    /// a space or the end, or a blank line), trimmed.
    pub fn sentence_at(&self, at: usize) -> (usize, usize) {
        let t = &self.flow;
        let bytes = t.as_bytes();
        let mut start = 0;
        for (i, c) in t[..at.min(t.len())].char_indices().rev() {
            if matches!(c, '。' | '；') || (matches!(c, '.' | ';') && is_break(bytes, i)) {
                start = i + c.len_utf8();
                break;
            }
        }
        let mut end = t.len();
        for (i, c) in t[at.min(t.len())..].char_indices() {
            let i = i + at;
            if matches!(c, '。' | '；') || (matches!(c, '.' | ';') && is_break(bytes, i)) {
                end = i + c.len_utf8();
                break;
            }
        }
        while start < end && t.as_bytes()[start] == b' ' {
            start += 1;
        }
        (start, end)
    }

    /// Evidence for the byte range `[start, end)` of [`Sheet::text`]: page, character span,
    /// word boxes and OCR confidence (multiplied into `confidence`), and `snippet` as the source
    /// line(s), or the given snippet range when set.
    pub fn evidence(
        &self,
        (start, end): (usize, usize),
        snippet: Option<(usize, usize)>,
        method: Method,
        confidence: f32,
        source: impl Into<String>,
    ) -> Evidence {
        let pi = self
            .pages
            .partition_point(|p| p.end < start)
            .min(self.pages.len().saturating_sub(1));
        let (number, page_start) = self
            .pages
            .get(pi)
            .map(|p| (p.number, p.start))
            .unwrap_or((1, 0));
        let to_chars = |b: usize| {
            self.text
                .get(page_start..b.max(page_start))
                .map(|s| s.chars().count())
                .unwrap_or(0)
        };
        let mut boxes: Vec<BBox> = Vec::new();
        let mut ocr_conf: Option<f32> = None;
        for l in self
            .lines
            .iter()
            .filter(|l| l.page_index == pi && l.end > start && l.start < end)
        {
            let mut line_box: Option<BBox> = None;
            for w in l.words.iter().filter(|w| w.end > start && w.start < end) {
                ocr_conf = Some(ocr_conf.map_or(w.confidence, |c| c.min(w.confidence)));
                if let Some(b) = w.bbox {
                    line_box = Some(line_box.map_or(b, |lb| lb.union(b)));
                }
            }
            boxes.extend(line_box);
        }
        let (s0, s1) = snippet.unwrap_or_else(|| {
            let a = self.line_at(start).map(|l| l.0).unwrap_or(start);
            let b = self
                .line_at(end.saturating_sub(1))
                .map(|l| l.1)
                .unwrap_or(end);
            (a, b)
        });
        // The reviewer reads the document's own characters.
        let snippet = self
            .as_written(s0.min(self.text.len()), s1.min(self.text.len()))
            .unwrap_or_default()
            .replace(['\n', '\x0c'], " ")
            .trim()
            .to_owned();
        Evidence {
            page: number,
            span: [to_chars(start), to_chars(end)],
            boxes,
            snippet: clip(&snippet, 400),
            method,
            confidence: (confidence * ocr_conf.unwrap_or(1.0)).clamp(0.0, 1.0),
            source: source.into(),
        }
    }
}

fn is_break(bytes: &[u8], i: usize) -> bool {
    // A full stop ends a sentence when a space or the end follows and it is not inside a number
    // (`4.09`) or a common abbreviation (`S.A.`, `Inc.`, `Co.`, `No.`).
    let next = bytes.get(i + 1).copied();
    if !matches!(next, None | Some(b' ')) {
        return false;
    }
    let before = &bytes[..i];
    let word_start = before.iter().rposition(|b| *b == b' ').map_or(0, |p| p + 1);
    let word = std::str::from_utf8(&before[word_start..]).unwrap_or("");
    let abbrev = [
        "Inc", "Co", "No", "S.A", "Ltd", "Corp", "N.V", "L.P", "LLC", "PLC", "AG", "U.S", "Mr",
        "Ms", "Dr", "St", "e.g", "i.e", "approx", "Nos", "vs",
    ];
    !(abbrev.contains(&word) || (word.len() == 1 && word.chars().all(|c| c.is_uppercase())))
}

/// Cuts `s` to at most `max` characters, marking the cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}
