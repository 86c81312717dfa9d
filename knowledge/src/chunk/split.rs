//! The third pass of the chunker: the section tree turned into chunks. An article or numbered
//! paragraph is one chunk when it fits; a long one is split at its 款 / numbered paragraphs
//! (then at sentences), each piece keeping the article in its path plus the clause it starts
//! at. Loose text under a heading, and text without any structure, is packed into windows of
//! whole paragraphs.

use super::lines::Line;
use super::outline::Node;
use crate::cn;
use crate::document::{Chunk, Location, PathSegment, SectionKind, SectionPath};
use cjk::is_cjk;
use regex::Regex;
use std::sync::LazyLock;

static ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:（[一二三四五六七八九十]+）|\([一二三四五六七八九十]+\)|\(?[a-z]{1,4}\)|[a-z]{1,4}\.\s|\d{1,2}[.．、]|（\d{1,2}）|\(\d{1,2}\))").unwrap()
});
static EN_CLAUSE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\(?(\d{1,2})[.)]\s").unwrap());
static SENTENCE_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[。；！？]|[.;!?][\s]").unwrap());

/// The size of a text in approximate model tokens: a CJK character counts one, four other
/// non-space characters count one.
pub fn token_estimate(s: &str) -> usize {
    let (mut cjk, mut other) = (0usize, 0usize);
    for c in s.chars() {
        if is_cjk(c) {
            cjk += 1;
        } else if !c.is_whitespace() {
            other += 1;
        }
    }
    cjk + other.div_ceil(4)
}

/// Maps byte offsets of the source to character offsets, line by line.
pub(crate) struct CharIndex {
    line_chars: Vec<usize>,
}

impl CharIndex {
    pub fn new(text: &str, lines: &[Line]) -> CharIndex {
        let mut line_chars = Vec::with_capacity(lines.len());
        let mut prev_byte = 0usize;
        let mut chars = 0usize;
        for l in lines {
            chars += text[prev_byte..l.start].chars().count();
            prev_byte = l.start;
            line_chars.push(chars);
        }
        CharIndex { line_chars }
    }

    pub fn char_at(&self, text: &str, lines: &[Line], line: usize, byte: usize) -> usize {
        let l = &lines[line];
        let byte = byte.clamp(l.start, l.end);
        self.line_chars[line] + text[l.start..byte].chars().count()
    }
}

/// A run of text with its source span, the atom of packing.
struct Piece {
    text: String,
    first_line: usize,
    last_line: usize,
    /// Byte span inside the source, when the piece is part of one line.
    bytes: Option<(usize, usize)>,
    /// The clause (款 or numbered paragraph) the piece starts in, from 1.
    clause: u32,
    /// Whether a new clause starts with this piece.
    clause_start: bool,
}

pub(crate) struct Emitter<'a> {
    pub text: &'a str,
    pub lines: &'a [Line],
    pub nodes: &'a [Node],
    pub max_tokens: usize,
    pub index: CharIndex,
    pub chunks: Vec<Chunk>,
}

impl Emitter<'_> {
    /// Emits the chunks of a node and its subtree in document order.
    pub fn emit(&mut self, id: usize, path: &SectionPath) {
        let nodes = self.nodes;
        let node = &nodes[id];
        if node.kind.is_unit() {
            self.emit_unit(id, path);
        } else {
            self.emit_loose(id, path);
        }
        for &c in &node.children {
            let child = &nodes[c];
            let mut p = path.clone();
            p.segments.push(PathSegment {
                kind: child.kind,
                label: child.label.clone(),
                title: child.title.clone(),
            });
            self.emit(c, &p);
        }
    }

    fn location(&self, first: usize, last: usize, bytes: Option<(usize, usize)>) -> Location {
        let (lines, text) = (self.lines, self.text);
        let (start_byte, end_byte) = bytes.unwrap_or((lines[first].start, lines[last].end));
        Location {
            page_start: lines[first].page,
            page_end: lines[last].page,
            char_start: self.index.char_at(text, lines, first, start_byte),
            char_end: self.index.char_at(text, lines, last, end_byte),
        }
    }

    fn push(&mut self, path: &SectionPath, pieces: &[Piece], whole: bool, group: usize) {
        let text = pieces
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let first = pieces.first().unwrap();
        let last = pieces.last().unwrap();
        let bytes = match (first.bytes, last.bytes) {
            (Some((s, _)), Some((_, e))) => Some((s, e)),
            (Some((s, _)), None) => Some((s, self.lines[last.last_line].end)),
            (None, Some((_, e))) => Some((self.lines[first.first_line].start, e)),
            (None, None) => None,
        };
        let location = self.location(first.first_line, last.last_line, bytes);
        self.chunks.push(Chunk {
            ordinal: self.chunks.len() as u32,
            path: path.clone(),
            text,
            location,
            whole_unit: whole,
            group: group as u32,
        });
    }

    /// The lines of a body as pieces (one per line, long lines split at sentences), with the
    /// clause each starts in.
    fn pieces(&self, body: &[usize], english_clauses: bool) -> Vec<Piece> {
        let mut out = Vec::new();
        let mut clause = 1u32;
        let mut first = true;
        for &i in body {
            let l = &self.lines[i];
            if l.clean.is_empty() {
                continue;
            }
            let mut starts = false;
            if english_clauses {
                if let Some(c) = EN_CLAUSE.captures(&l.clean)
                    && let Ok(n) = c[1].parse::<u32>()
                {
                    clause = n;
                    starts = !first;
                }
            } else if !first && !ITEM.is_match(&l.clean) {
                clause += 1;
                starts = true;
            }
            first = false;
            if token_estimate(&l.clean) <= self.max_tokens {
                out.push(Piece {
                    text: l.clean.clone(),
                    first_line: i,
                    last_line: i,
                    bytes: None,
                    clause,
                    clause_start: starts,
                });
                continue;
            }
            for (k, (s, text)) in split_sentences(&l.clean, self.max_tokens)
                .into_iter()
                .enumerate()
            {
                let raw = &self.text[l.start..l.end];
                let probe: String = text.chars().take(12).collect();
                let bytes = raw.find(&probe).map(|off| {
                    let start = l.start + off;
                    (start, (start + text.len()).min(l.end))
                });
                let _ = s;
                out.push(Piece {
                    text,
                    first_line: i,
                    last_line: i,
                    bytes,
                    clause,
                    clause_start: starts && k == 0,
                });
            }
        }
        out
    }

    fn emit_unit(&mut self, id: usize, path: &SectionPath) {
        let nodes = self.nodes;
        let node = &nodes[id];
        let english = !node.label.starts_with('第');
        let pieces = self.pieces(&node.body, english);
        if pieces.is_empty() {
            return;
        }
        let total: usize = pieces.iter().map(|p| token_estimate(&p.text)).sum();
        if total <= self.max_tokens {
            self.push(path, &pieces, true, id);
            return;
        }
        let groups = pack(&pieces, self.max_tokens, true);
        for g in groups {
            let slice = &pieces[g.0..g.1];
            let (a, b) = (slice.first().unwrap().clause, slice.last().unwrap().clause);
            let label = if node.kind == SectionKind::Article && !english {
                if a == b {
                    format!("第{}款", cn::format_number(a))
                } else {
                    format!("第{}款至第{}款", cn::format_number(a), cn::format_number(b))
                }
            } else if a == b {
                format!("({a})")
            } else {
                format!("({a})–({b})")
            };
            let mut p = path.clone();
            p.segments.push(PathSegment {
                kind: SectionKind::Clause,
                label,
                title: String::new(),
            });
            self.push(&p, slice, false, id);
        }
    }

    fn emit_loose(&mut self, id: usize, path: &SectionPath) {
        let nodes = self.nodes;
        let node = &nodes[id];
        // Paragraphs: runs of non-blank lines.
        let mut paragraphs: Vec<Vec<usize>> = Vec::new();
        let mut cur = Vec::new();
        for &i in &node.body {
            if self.lines[i].clean.is_empty() {
                if !cur.is_empty() {
                    paragraphs.push(std::mem::take(&mut cur));
                }
            } else {
                cur.push(i);
            }
        }
        if !cur.is_empty() {
            paragraphs.push(cur);
        }
        let mut pieces = Vec::new();
        for para in &paragraphs {
            let text = para
                .iter()
                .map(|&i| self.lines[i].clean.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            if token_estimate(&text) <= self.max_tokens {
                pieces.push(Piece {
                    text,
                    first_line: para[0],
                    last_line: *para.last().unwrap(),
                    bytes: None,
                    clause: 1,
                    clause_start: true,
                });
            } else {
                pieces.extend(self.pieces(para, true).into_iter().map(|mut p| {
                    p.clause_start = true;
                    p
                }));
            }
        }
        if pieces.is_empty() {
            return;
        }
        let groups = pack(&pieces, self.max_tokens, false);
        let whole = groups.len() == 1 && id != 0;
        for g in groups {
            self.push(path, &pieces[g.0..g.1], whole, id);
        }
    }
}

/// Greedy packing of pieces into groups of at most `max` tokens. With `prefer_clauses`, a group
/// that is already over 60% full ends before a piece that starts a new clause.
fn pack(pieces: &[Piece], max: usize, prefer_clauses: bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, p) in pieces.iter().enumerate() {
        let s = token_estimate(&p.text);
        let full = size + s > max || (prefer_clauses && p.clause_start && size * 10 > max * 6);
        if i > start && full {
            out.push((start, i));
            start = i;
            size = 0;
        }
        size += s;
    }
    if start < pieces.len() {
        out.push((start, pieces.len()));
    }
    out
}

/// Splits an over-long line at sentence ends, then packs the sentences up to `max` tokens;
/// a sentence longer than that is cut at a character boundary.
fn split_sentences(s: &str, max: usize) -> Vec<(usize, String)> {
    let mut sentences = Vec::new();
    let mut last = 0;
    for m in SENTENCE_END.find_iter(s) {
        sentences.push(&s[last..m.end()]);
        last = m.end();
    }
    if last < s.len() {
        sentences.push(&s[last..]);
    }
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut cur = String::new();
    let mut cur_start = 0;
    let mut offset = 0;
    for sent in sentences {
        if token_estimate(&cur) + token_estimate(sent) > max && !cur.trim().is_empty() {
            out.push((cur_start, cur.trim().to_string()));
            cur.clear();
            cur_start = offset;
        }
        if token_estimate(sent) > max {
            // Hard cut: a run of `max` tokens' worth of characters at a time.
            let mut piece = String::new();
            for c in sent.chars() {
                piece.push(c);
                if token_estimate(&piece) >= max {
                    out.push((offset, piece.trim().to_string()));
                    piece.clear();
                }
            }
            cur = piece;
        } else {
            cur.push_str(sent);
        }
        offset += sent.len();
    }
    if !cur.trim().is_empty() {
        out.push((cur_start, cur.trim().to_string()));
    }
    out
}
