//! The structured chunker: extracted text in, a section tree and chunks out, with a list of
//! problems instead of failures. Pure: no I/O, no model. The one step that needs a model,
//! merging short fragments by embedding similarity, is [`merge_short_fragments`].
//!
//! Passes: [`lines`] (clean lines, pages, metadata, tables of contents and page furniture
//! removed) → [`outline`] (classify lines, build the tree) → [`split`] (units and windows to
//! chunks).

mod lines;
mod merge;
mod outline;
mod split;

pub use merge::{MIN_FRAGMENT_CHARS, MergeReport, merge_short_fragments};
pub use split::token_estimate;

use crate::document::{Chunk, Language, Location, PathSegment, Section, SectionPath};
use serde::{Deserialize, Serialize};

/// The format of extracted text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Markdown: `#` headings, tables, code fences, front matter.
    Markdown,
    /// Plain text (PDF text extraction, `.txt`).
    Plain,
}

impl Format {
    /// The format a file name suggests: Markdown for `.md` / `.markdown`, plain otherwise.
    pub fn from_path(path: &str) -> Format {
        let lower = path.to_lowercase();
        if lower.ends_with(".md") || lower.ends_with(".markdown") {
            Format::Markdown
        } else {
            Format::Plain
        }
    }
}

/// Already-extracted text with its page boundaries (what `connectors` hands over).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceText {
    /// The text. Form feeds (`\x0C`) also start pages.
    pub text: String,
    /// Byte offsets where pages 2, 3, … start, ascending; empty when the source has no pages.
    pub page_starts: Vec<usize>,
    /// How to read it.
    pub format: Format,
}

impl SourceText {
    /// Text without page information.
    pub fn new(text: impl Into<String>, format: Format) -> SourceText {
        SourceText {
            text: text.into(),
            page_starts: Vec::new(),
            format,
        }
    }

    /// Pages of text, joined with newlines; their boundaries are kept.
    pub fn from_pages(pages: &[String], format: Format) -> SourceText {
        let mut text = String::new();
        let mut page_starts = Vec::new();
        for (i, p) in pages.iter().enumerate() {
            if i > 0 {
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                page_starts.push(text.len());
            }
            text.push_str(p);
        }
        SourceText {
            text,
            page_starts,
            format,
        }
    }
}

/// Chunker settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkOptions {
    /// The largest chunk in approximate model tokens ([`token_estimate`]); longer articles are
    /// split. 400 leaves room for the path within a 512-token embedder.
    pub max_tokens: usize,
    /// The title to use instead of the one found in the text.
    pub title: Option<String>,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            max_tokens: 400,
            title: None,
        }
    }
}

/// Something the chunker noticed and handled; never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The 1-based source line it concerns; 0 for the whole document.
    pub line: usize,
    /// What happened.
    pub message: String,
}

/// What the chunker makes of a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunked {
    /// The document title (options, front matter, header block, reference code, first H1, or
    /// the fallback given to [`chunk`]).
    pub title: String,
    /// The detected language.
    pub language: Language,
    /// Header-block and front-matter entries.
    pub metadata: Vec<(String, String)>,
    /// The number of pages seen.
    pub pages: u32,
    /// The section tree (root = the document).
    pub outline: Section,
    /// The chunks in document order.
    pub chunks: Vec<Chunk>,
    /// What was removed or looked wrong.
    pub problems: Vec<Problem>,
}

/// Chunks a text along its structure. `fallback_title` (usually the file stem) names the
/// document when neither the options nor the text give a title.
pub fn chunk(source: &SourceText, fallback_title: &str, options: &ChunkOptions) -> Chunked {
    let markdown = source.format == Format::Markdown;
    let prepared = lines::prepare(&source.text, &source.page_starts, markdown);
    let reference = prepared
        .metadata
        .iter()
        .find(|(k, _)| k == "reference")
        .map(|(_, v)| v.clone());
    let first_h1 = prepared
        .lines
        .iter()
        .find(|l| l.keep && l.md_level == Some(1) && !l.clean.is_empty())
        .map(|l| l.clean.clone());
    let title = options
        .title
        .clone()
        .or(prepared.title.clone())
        .or(reference)
        .or(first_h1)
        .unwrap_or_else(|| fallback_title.to_string());
    let outline = outline::build(&prepared.lines, &title);
    let index = split::CharIndex::new(&source.text, &prepared.lines);
    let mut emitter = split::Emitter {
        text: &source.text,
        lines: &prepared.lines,
        nodes: &outline.nodes,
        max_tokens: options.max_tokens.max(16),
        index,
        chunks: Vec::new(),
    };
    emitter.emit(0, &SectionPath::default());
    let chunks = emitter.chunks;
    let tree = to_section(
        &outline.nodes,
        0,
        &prepared.lines,
        &emitter.index,
        &source.text,
    );
    let mut problems: Vec<Problem> = prepared
        .problems
        .into_iter()
        .chain(outline.problems)
        .map(|(line, message)| Problem { line, message })
        .collect();
    if chunks.is_empty() {
        problems.push(Problem {
            line: 0,
            message: "no text left to index after cleaning".into(),
        });
    }
    let language = Language::detect(&source.text);
    Chunked {
        title,
        language,
        metadata: prepared.metadata,
        pages: prepared.pages,
        outline: tree,
        chunks,
        problems,
    }
}

fn to_section(
    nodes: &[outline::Node],
    id: usize,
    lines: &[lines::Line],
    index: &split::CharIndex,
    text: &str,
) -> Section {
    let n = &nodes[id];
    let location = if lines.is_empty() {
        Location {
            page_start: 1,
            page_end: 1,
            char_start: 0,
            char_end: 0,
        }
    } else {
        let first = n.first_line.min(lines.len() - 1);
        let last = n.last_line.min(lines.len() - 1).max(first);
        Location {
            page_start: lines[first].page,
            page_end: lines[last].page,
            char_start: index.char_at(text, lines, first, lines[first].start),
            char_end: index.char_at(text, lines, last, lines[last].end),
        }
    };
    Section {
        kind: n.kind,
        label: n.label.clone(),
        title: n.title.clone(),
        location,
        children: n
            .children
            .iter()
            .map(|&c| to_section(nodes, c, lines, index, text))
            .collect(),
    }
}

/// Every unit of a section tree with its path: the articles and numbered paragraphs in
/// document order (what the structure check compares with the source's markers).
pub fn units(outline: &Section) -> Vec<(SectionPath, &Section)> {
    fn walk<'a>(
        s: &'a Section,
        path: &mut Vec<PathSegment>,
        out: &mut Vec<(SectionPath, &'a Section)>,
    ) {
        for c in &s.children {
            path.push(PathSegment {
                kind: c.kind,
                label: c.label.clone(),
                title: c.title.clone(),
            });
            if c.kind.is_unit() {
                out.push((
                    SectionPath {
                        segments: path.clone(),
                    },
                    c,
                ));
            }
            walk(c, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(outline, &mut Vec::new(), &mut out);
    out
}
