//! Text from anything: one document model for PDFs (text layer or OCR), images, DOCX, HTML,
//! XML and plain text.
//!
//! [`extract_text`] sniffs the format from the bytes (never from the file name), applies the
//! [`Limits`], and returns a [`Document`]: pages of lines of words, each word with a box (where
//! the format has geometry) and a confidence, and on every page the [`PageMethod`] that produced
//! it. A PDF page whose text layer is empty, garbage, or makes the PDF parser panic is rasterized
//! with poppler's `pdftoppm` and OCR'd with Tesseract (`chi_sim+eng`), page by page, so a PDF
//! that mixes typed and scanned pages comes out whole. Text a reader of an HTML page or a DOCX
//! does not see (CSS-hidden elements, white-on-white or zero-size text, hidden Word runs) is
//! dropped, with a [`Notice`] counting it by reason (`document::hidden`).
//!
//! Every failure is a [`ConnectorError`] naming the file and whose fault it is; its
//! [`ConnectorError::status`] is the per-file status an upload job reports (`unsupported`,
//! `unreadable`, `too_large`, `internal`). Bad input never panics: the PDF text-layer parser
//! (`pdf-extract`, which panics on some CJK fonts) runs under `catch_unwind`.

mod hidden;
mod layout;
mod markup;
mod ocr;
mod pdf;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use layout::cer;
pub use pdf::{TextLayerVerdict, judge_text_layer};

/// The format a document was read as, sniffed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A PDF file.
    Pdf,
    /// A PNG image.
    Png,
    /// A JPEG image.
    Jpeg,
    /// A TIFF image (only the first frame is read).
    Tiff,
    /// A Word 2007+ document (zip + WordprocessingML).
    Docx,
    /// An HTML page.
    Html,
    /// An XML document (FpML confirmations among them).
    Xml,
    /// Plain text in any encoding `chardetng` recognises (UTF-8, GBK, GB18030, Big5, …).
    Text,
}

/// How the text of one page was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageMethod {
    /// Read from the PDF's text layer; boxes in PDF points, confidence 1.
    TextLayer,
    /// Rasterized (for PDFs) and recognised by Tesseract; boxes in pixels of the image.
    Ocr,
    /// Read from markup or plain text (DOCX, HTML, XML, text); no geometry.
    Markup,
}

/// An axis-aligned box with the origin at the top left of the page, in the page's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BBox {
    /// Left edge.
    pub x0: f32,
    /// Top edge.
    pub y0: f32,
    /// Right edge.
    pub x1: f32,
    /// Bottom edge.
    pub y1: f32,
}

impl BBox {
    /// The smallest box holding both.
    pub fn union(self, other: BBox) -> BBox {
        BBox {
            x0: self.x0.min(other.x0),
            y0: self.y0.min(other.y0),
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
        }
    }
}

/// One word (or, for Chinese, one run of characters Tesseract segmented as a word).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Word {
    /// The word's text.
    pub text: String,
    /// Where it sits on the page, when the format has geometry.
    pub bbox: Option<BBox>,
    /// 0..=1: Tesseract's word confidence / 100 for OCR, 1 for text layers and markup.
    pub confidence: f32,
}

/// One line of text, in reading order within its page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// The line's text (words joined with spaces, except between CJK characters).
    pub text: String,
    /// The union of the words' boxes, when the format has geometry.
    pub bbox: Option<BBox>,
    /// The words of the line.
    pub words: Vec<Word>,
}

/// One page (for formats without pages, the whole document is page 1; DOCX splits on explicit
/// page breaks).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// 1-based page number.
    pub number: u32,
    /// How this page's text was obtained.
    pub method: PageMethod,
    /// Page width in its unit (PDF points for text layers, pixels for OCR), 0 without geometry.
    pub width: f32,
    /// Page height in the same unit.
    pub height: f32,
    /// Mean word confidence of the page, 0..=1.
    pub confidence: f32,
    /// The lines, in reading order.
    pub lines: Vec<Line>,
}

impl Page {
    /// The page's text, one line per line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&line.text);
        }
        out
    }
}

/// Something worth knowing about an extraction that did not stop it (a page OCR'd because its
/// text layer was garbage, a parser panic that was caught, a TIFF with more frames than read).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The page it concerns, if any.
    pub page: Option<u32>,
    /// What happened, in a sentence.
    pub message: String,
}

/// The text of one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    /// The format the bytes were read as.
    pub format: Format,
    /// The pages in order.
    pub pages: Vec<Page>,
    /// What happened along the way that a reviewer may want to know.
    pub notices: Vec<Notice>,
}

impl Document {
    /// The whole text, pages separated by a form feed (`\x0c`), as `pdftotext` does.
    pub fn text(&self) -> String {
        self.pages
            .iter()
            .map(Page::text)
            .collect::<Vec<_>>()
            .join("\x0c")
    }
}

/// Limits and settings of one extraction; the defaults suit an upload endpoint.
///
/// Run OCR processes with `OMP_THREAD_LIMIT=1` in the environment (see `document::ocr`): it
/// halves the time per scanned page on a small machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_bytes: u64,
    /// Most pages accepted in one PDF (a longer file is refused, not cut).
    pub max_pages: u32,
    /// Whether pages without a usable text layer, and images, are OCR'd at all.
    pub ocr: bool,
    /// Rasterization resolution for OCR of PDF pages.
    pub ocr_dpi: u32,
    /// Tesseract languages, in priority order (`chi_sim+eng` keeps Chinese unspaced).
    pub ocr_languages: String,
    /// Tesseract data directory; `None` uses the library's default (Debian's tessdata).
    pub tessdata: Option<PathBuf>,
    /// The `pdftoppm` program to rasterize with.
    pub pdftoppm: PathBuf,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 50 * 1024 * 1024,
            max_pages: 300,
            ocr: true,
            ocr_dpi: 300,
            ocr_languages: "chi_sim+eng".to_owned(),
            tessdata: None,
            pdftoppm: PathBuf::from("pdftoppm"),
        }
    }
}

/// What to read: a file on disk or bytes already in memory (an upload).
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A file path.
    Path(&'a Path),
    /// Bytes, with a name used only in messages.
    Bytes {
        /// The content.
        bytes: &'a [u8],
        /// A name for messages (the upload's file name).
        name: &'a str,
    },
}

impl<'a> From<&'a Path> for Input<'a> {
    fn from(p: &'a Path) -> Self {
        Input::Path(p)
    }
}

impl<'a> From<&'a PathBuf> for Input<'a> {
    fn from(p: &'a PathBuf) -> Self {
        Input::Path(p)
    }
}

impl<'a> From<&'a [u8]> for Input<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Input::Bytes {
            bytes,
            name: "<bytes>",
        }
    }
}

/// Why a file could not be turned into a [`Document`].
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The bytes are not a format we read (the sender's fault).
    #[error("{file}: unsupported format: {detail}")]
    Unsupported {
        /// The file.
        file: String,
        /// What was found instead.
        detail: String,
    },
    /// The format is known but the content cannot be read: encrypted, corrupt, truncated,
    /// zero pages (the sender's fault).
    #[error("{file}: unreadable: {detail}")]
    Unreadable {
        /// The file.
        file: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Over a configured limit (the sender's, or the configuration's, call).
    #[error("{file}: too large: {what} is {actual}, the limit is {limit}")]
    TooLarge {
        /// The file.
        file: String,
        /// `bytes` or `pages`.
        what: &'static str,
        /// The file's figure.
        actual: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The file could not be read from disk.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Our side failed: Tesseract or its language data missing, `pdftoppm` missing or failing,
    /// a temporary directory not writable (the installation's fault, not the sender's).
    #[error("{file}: internal: {detail}")]
    Internal {
        /// The file.
        file: String,
        /// What failed.
        detail: String,
    },
}

impl ConnectorError {
    /// The per-file status an upload job reports: `unsupported`, `unreadable`, `too_large` or
    /// `internal` (I/O errors on a path are `unreadable`).
    pub fn status(&self) -> &'static str {
        match self {
            ConnectorError::Unsupported { .. } => "unsupported",
            ConnectorError::Unreadable { .. } | ConnectorError::Io { .. } => "unreadable",
            ConnectorError::TooLarge { .. } => "too_large",
            ConnectorError::Internal { .. } => "internal",
        }
    }
}

/// Sniffs the format of some bytes from their content.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    let head = &bytes[..bytes.len().min(1024)];
    if find(head, b"%PDF-").is_some() {
        return Some(Format::Pdf);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Format::Png);
    }
    if head.starts_with(&[0xff, 0xd8, 0xff]) {
        return Some(Format::Jpeg);
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return Some(Format::Tiff);
    }
    if head.starts_with(b"PK\x03\x04") {
        return markup::is_docx(bytes).then_some(Format::Docx);
    }
    let text = markup::decode_text(bytes)?;
    let lower: String = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<html")
    {
        return Some(Format::Html);
    }
    if lower.starts_with("<?xml") || lower.starts_with('<') {
        return Some(Format::Xml);
    }
    Some(Format::Text)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Extracts the text of a file or of bytes, within `limits`.
pub fn extract_text<'a>(
    input: impl Into<Input<'a>>,
    limits: &Limits,
) -> Result<Document, ConnectorError> {
    let input = input.into();
    let owned;
    let (bytes, name): (&[u8], String) = match input {
        Input::Path(p) => {
            let file = p.display().to_string();
            let len = std::fs::metadata(p)
                .map_err(|source| ConnectorError::Io {
                    file: file.clone(),
                    source,
                })?
                .len();
            check_size(&file, len, limits)?;
            owned = std::fs::read(p).map_err(|source| ConnectorError::Io {
                file: file.clone(),
                source,
            })?;
            (&owned, file)
        }
        Input::Bytes { bytes, name } => (bytes, name.to_owned()),
    };
    check_size(&name, bytes.len() as u64, limits)?;
    if bytes.is_empty() {
        return Err(ConnectorError::Unreadable {
            file: name,
            detail: "the file is empty".into(),
        });
    }
    let format = sniff(bytes).ok_or_else(|| ConnectorError::Unsupported {
        file: name.clone(),
        detail: "binary content that is not PDF, PNG, JPEG, TIFF or DOCX".into(),
    })?;
    let mut notices = Vec::new();
    let pages = match format {
        Format::Pdf => pdf::extract(bytes, &name, limits, &mut notices)?,
        Format::Png | Format::Jpeg | Format::Tiff => {
            if !limits.ocr {
                return Err(ConnectorError::Unsupported {
                    file: name,
                    detail: "an image, and OCR is switched off".into(),
                });
            }
            let mut engine = ocr::OcrEngine::new(limits).map_err(|d| internal(&name, d))?;
            vec![
                engine
                    .recognize_image(bytes, 1, None)
                    .map_err(|e| e.into_error(&name))?,
            ]
        }
        Format::Docx => markup::docx(bytes, &name, &mut notices)?,
        Format::Html => vec![markup::html(bytes, &name, &mut notices)?],
        Format::Xml => vec![markup::xml(bytes, &name)?],
        Format::Text => vec![markup::text(bytes, &name)?],
    };
    Ok(Document {
        format,
        pages,
        notices,
    })
}

fn check_size(file: &str, len: u64, limits: &Limits) -> Result<(), ConnectorError> {
    if len > limits.max_bytes {
        return Err(ConnectorError::TooLarge {
            file: file.to_owned(),
            what: "bytes",
            actual: len,
            limit: limits.max_bytes,
        });
    }
    Ok(())
}

fn internal(file: &str, detail: impl Into<String>) -> ConnectorError {
    ConnectorError::Internal {
        file: file.to_owned(),
        detail: detail.into(),
    }
}

fn unreadable(file: &str, detail: impl Into<String>) -> ConnectorError {
    ConnectorError::Unreadable {
        file: file.to_owned(),
        detail: detail.into(),
    }
}
