//! The document model: a [`Document`]'s metadata, its section tree ([`Section`]) and its
//! retrieval [`Chunk`]s, each with its full structural [`SectionPath`] and [`Location`].
//!
//! Paths are what a lawyer cites: `期货和衍生品法 | 第一章 总则 | 第一条`,
//! `ESMA74-362-2281 | Annex … | 4 General Principles | 4.2 … | para 45`. Every chunk carries its
//! full path, and the path is indexed and prepended to the text that is embedded, so a chunk is
//! never read without knowing where it sits.

use policies::DataClass;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The language a document is written in, as far as retrieval cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Chinese (simplified or traditional).
    Zh,
    /// English.
    En,
    /// Anything else, or undetermined.
    Other,
}

impl Language {
    /// The stable name (`zh`, `en`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
            Language::Other => "other",
        }
    }

    /// Guesses the language of a text from its letters: Chinese when at least 20% of the
    /// letters are CJK ideographs, English when most are ASCII letters.
    pub fn detect(text: &str) -> Language {
        let (mut cjk, mut ascii, mut other) = (0usize, 0usize, 0usize);
        for c in text.chars().take(200_000) {
            if cjk::is_cjk(c) {
                cjk += 1;
            } else if c.is_ascii_alphabetic() {
                ascii += 1;
            } else if c.is_alphabetic() {
                other += 1;
            }
        }
        let letters = cjk + ascii + other;
        if letters == 0 {
            Language::Other
        } else if cjk * 5 >= letters {
            Language::Zh
        } else if ascii * 2 > letters {
            Language::En
        } else {
            Language::Other
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Language> {
        match s {
            "zh" => Some(Language::Zh),
            "en" => Some(Language::En),
            "other" => Some(Language::Other),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a node in the section tree. The order of the variants is not meaningful; nesting
/// is decided by the chunker's rank table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// The document itself (the root of the tree).
    Document,
    /// An annex, appendix or schedule (附件, Annex).
    Annex,
    /// 编 / Part.
    Part,
    /// Title (English statutes).
    Title,
    /// 分编.
    SubPart,
    /// 章 / Chapter, and Chinese ordinal headings (`一、一般规定`).
    Chapter,
    /// 节 (a subdivision of a Chinese chapter).
    Division,
    /// A numbered heading (`4.2`, `4.2.3`).
    Numbered,
    /// A Markdown heading without a number.
    Heading,
    /// 条 / Article / Section (English contracts and statutes): the retrieval unit.
    Article,
    /// A numbered paragraph of a guideline (`45.`): a retrieval unit of its own.
    Paragraph,
    /// A part of a long article (its 款 or numbered paragraphs), split for size.
    Clause,
    /// A window of paragraphs from text without structure.
    Window,
}

impl SectionKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            SectionKind::Document => "document",
            SectionKind::Annex => "annex",
            SectionKind::Part => "part",
            SectionKind::Title => "title",
            SectionKind::SubPart => "sub_part",
            SectionKind::Chapter => "chapter",
            SectionKind::Division => "division",
            SectionKind::Numbered => "numbered",
            SectionKind::Heading => "heading",
            SectionKind::Article => "article",
            SectionKind::Paragraph => "paragraph",
            SectionKind::Clause => "clause",
            SectionKind::Window => "window",
        }
    }

    /// Whether a node of this kind is a retrieval unit (an article or numbered paragraph).
    pub fn is_unit(self) -> bool {
        matches!(self, SectionKind::Article | SectionKind::Paragraph)
    }
}

/// One step of a [`SectionPath`]: `第一章` + `总则`, `4.2` + `Determining …`, `para 45`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PathSegment {
    /// What kind of division this is.
    pub kind: SectionKind,
    /// Its number as written (`第一章`, `Article 9`, `4.2`, `para 45`); empty for unnumbered
    /// Markdown headings.
    pub label: String,
    /// Its heading text without the number (`总则`); empty for articles and paragraphs.
    pub title: String,
}

impl PathSegment {
    /// How the segment reads in a path: the label and the title, whichever exist.
    pub fn display(&self) -> String {
        match (self.label.is_empty(), self.title.is_empty()) {
            (false, false) => format!("{} {}", self.label, self.title),
            (false, true) => self.label.clone(),
            (true, _) => self.title.clone(),
        }
    }
}

/// The full structural path of a chunk, below the document title.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SectionPath {
    /// Outermost first.
    pub segments: Vec<PathSegment>,
}

impl SectionPath {
    /// The path as one line, starting with the document title: `期货和衍生品法 | 第一章 总则 | 第一条`.
    pub fn display(&self, doc_title: &str) -> String {
        let mut s = doc_title.to_string();
        for seg in &self.segments {
            s.push_str(" | ");
            s.push_str(&seg.display());
        }
        s
    }

    /// The labels only (`["第一章", "第一条"]`), the form exact-path lookup compares against.
    pub fn labels(&self) -> Vec<&str> {
        self.segments
            .iter()
            .map(|s| s.label.as_str())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// The key exact-path lookup stores: the normalised labels joined by `/`
    /// (`第1章/第2条`, `4.2/4.2.3/para 45`). Chinese numerals are written as digits so that
    /// `第二十一条` and `第21条` meet.
    pub fn label_key(&self) -> String {
        self.segments
            .iter()
            .filter(|s| !s.label.is_empty())
            .map(|s| crate::cn::normalize_label(&s.label))
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Where a chunk or section sits in the decoded source text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// First page (1-based) the text is on; 1 for sources without pages.
    pub page_start: u32,
    /// Last page (1-based) the text is on.
    pub page_end: u32,
    /// Offset of the first character, counted in Unicode scalar values from the start of the
    /// decoded source text.
    pub char_start: usize,
    /// Offset one past the last character, in the same unit.
    pub char_end: usize,
}

/// A node of the section tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// What kind of division this is.
    pub kind: SectionKind,
    /// Its number as written (may be empty).
    pub label: String,
    /// Its heading text (may be empty).
    pub title: String,
    /// The source span of the whole section, heading included.
    pub location: Location,
    /// Its subdivisions in document order.
    pub children: Vec<Section>,
}

impl Section {
    /// Counts the nodes of a kind in this subtree.
    pub fn count(&self, kind: SectionKind) -> usize {
        usize::from(self.kind == kind) + self.children.iter().map(|c| c.count(kind)).sum::<usize>()
    }
}

/// A stable document id: given by the caller or derived from the collection and the source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocId(String);

impl DocId {
    /// The longest id accepted.
    pub const MAX_LEN: usize = 200;

    /// Checks and wraps an id: 1 to 200 characters of `[A-Za-z0-9._:-]`.
    pub fn new(id: &str) -> Option<DocId> {
        let ok = !id.is_empty()
            && id.len() <= Self::MAX_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
        ok.then(|| DocId(id.to_string()))
    }

    /// The id a source gets in a collection when the caller names none: `doc-` and the first 16
    /// hex digits of sha256(collection NUL source).
    pub fn derive(collection: &str, source: &str) -> DocId {
        let mut h = Sha256::new();
        h.update(collection.as_bytes());
        h.update([0u8]);
        h.update(source.as_bytes());
        DocId(format!("doc-{}", &hex::encode(h.finalize())[..16]))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The metadata of one version of a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentMeta {
    /// The stable id (the same across versions).
    pub id: DocId,
    /// The title shown first in every path.
    pub title: String,
    /// Where the text came from (a file path or URL).
    pub source: String,
    /// The collection it belongs to (`regulation-zh`, `contracts`).
    pub collection: String,
    /// The language of its text.
    pub language: Language,
    /// Its classification; a reader needs the clearance for it.
    pub classification: DataClass,
    /// sha256 (hex) of the decoded text: re-ingesting unchanged content is a no-op.
    pub content_hash: String,
    /// 1 for the first ingested version, then +1 for every changed content.
    pub version: u64,
    /// Header-block entries kept as metadata (`enacted`, `reference`, front-matter keys …).
    pub metadata: Vec<(String, String)>,
}

/// sha256 (hex) of a text: the content hash of a document.
pub fn content_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// One retrieval chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Position in the document, from 0.
    pub ordinal: u32,
    /// The structural path below the document title.
    pub path: SectionPath,
    /// The chunk's own text, cleaned of layout artefacts (no path).
    pub text: String,
    /// Where the text sits in the source.
    pub location: Location,
    /// Whether the chunk is one whole retrieval unit (an article or numbered paragraph, or a
    /// whole section); fragments of units and windows are not.
    pub whole_unit: bool,
    /// The index of the section or unit the chunk came from; chunks merge only within one group.
    pub group: u32,
}

impl Chunk {
    /// The length of the text in characters.
    pub fn char_len(&self) -> usize {
        self.text.chars().count()
    }

    /// The text that is embedded and indexed: the full path, a newline, the text.
    pub fn indexed_text(&self, doc_title: &str) -> String {
        format!("{}\n{}", self.path.display(doc_title), self.text)
    }
}

/// A chunk's id: `{doc id}@v{version}#{ordinal}`.
pub fn chunk_id(doc: &DocId, version: u64, ordinal: u32) -> String {
    format!("{}@v{}#{}", doc.as_str(), version, ordinal)
}

/// The key naming one version of a document in both indexes: `{doc id}@v{version}`.
pub fn version_key(doc: &DocId, version: u64) -> String {
    format!("{}@v{}", doc.as_str(), version)
}

/// Checks a collection name: 1 to 100 characters, each a letter or digit (any script) or one
/// of `-`, `_`, `.`; no spaces, slashes or control characters.
pub fn validate_collection(name: &str) -> Result<(), crate::InputError> {
    let bad = |reason: &str| {
        Err(crate::InputError::Invalid {
            field: "collection",
            reason: format!("{name:?}: {reason}"),
        })
    };
    let n = name.chars().count();
    if n == 0 || n > 100 {
        return bad("must be 1 to 100 characters");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return bad(&format!(
            "{c:?} is not allowed; use letters, digits, `-`, `_` and `.`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod collection_tests {
    use super::validate_collection;

    #[test]
    fn collection_names() {
        for ok in ["default", "regulation-en", "法规_2024", "a.b", &"x".repeat(100)] {
            assert!(validate_collection(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "../x", "a/b", "a\0b", "tab\t", &"x".repeat(101), "<script>"] {
            assert!(validate_collection(bad).is_err(), "{bad:?}");
        }
    }
}
