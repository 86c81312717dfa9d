//! The first pass of the chunker: the source split into lines with their byte spans and pages,
//! Markdown and layout decoration stripped, and the lines that are not content marked for
//! removal (images, page numbers, repeated page headers and footers, tables of contents,
//! HTML comments). Front matter and the header block above `<!-- INFO END -->` become metadata.

use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// One line of the source after cleaning.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// 1-based line number in the source.
    pub number: usize,
    /// Byte span of the raw line in the source text (without the line break).
    pub start: usize,
    /// End of the raw line.
    pub end: usize,
    /// 1-based page.
    pub page: u32,
    /// The `#` count when the line is a Markdown heading.
    pub md_level: Option<u8>,
    /// The text without Markdown decoration, trimmed.
    pub clean: String,
    /// Whether structure detection may look at the line (false in code blocks, tables and
    /// footnotes).
    pub structural: bool,
    /// Whether the line is content (false for removed lines).
    pub keep: bool,
    /// A layout marker the later passes look for.
    pub marker: Marker,
}

/// Layout markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    None,
    /// `---` (front matter fence or horizontal rule).
    Rule,
    /// `<!-- INFO END -->`, the end of the header block.
    InfoEnd,
}

/// What the first pass produces.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    pub lines: Vec<Line>,
    pub title: Option<String>,
    pub metadata: Vec<(String, String)>,
    pub problems: Vec<(usize, String)>,
    pub pages: u32,
}

static SPAN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"</?span[^>]*>").unwrap());
static SUP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<sup>[^<]{0,12}</sup>").unwrap());
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"</?(?:br|b|i|u|em|strong|sub|sup)\s*/?>").unwrap());
static IMAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"!\[[^\]]*\]\([^)]*\)").unwrap());
static ANCHOR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s*\{#[^}]*\}\s*$").unwrap());
static PAGE_HINT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?:_page_(\d+)_|id="page-(\d+)-)"#).unwrap());
static PAGE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:
            [-–—]\s*\d{1,4}\s*[-–—]
          | 第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?
          | page\s+\d{1,4}(?:\s+of\s+\d{1,4})?
          | \d{1,4}\s*/\s*\d{1,4}
        )$",
    )
    .unwrap()
});
static BARE_NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{1,4}$").unwrap());
static DOT_LEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:\.{4,}|…{2,}|·{4,}|\. \. \. \.)\s*\d{1,4}\s*$").unwrap());
static TOC_TITLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(?:目\s*录|table\s+of\s+contents|contents)$").unwrap());
static REFERENCE_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Z]{2,8}\d{1,4}(?:-\d{1,6}){1,4})\b").unwrap());

/// Splits, cleans and marks the lines of `text`. `page_starts` are byte offsets where pages
/// 2, 3, … start; form feeds also start pages. Without either, page hints left by PDF-to-Markdown
/// converters (`_page_12_`, `id="page-12-0"`) are used.
pub(crate) fn prepare(text: &str, page_starts: &[usize], markdown: bool) -> Prepared {
    let mut out = Prepared::default();
    let explicit_pages = !page_starts.is_empty() || text.contains('\x0C');
    let mut lines = Vec::new();
    let mut page: u32 = 1;
    let mut hint_page: u32 = 1;
    let mut next_break = 0usize;
    let mut offset = 0usize;
    let mut in_fence = false;
    for (i, raw_with_ff) in text.split('\n').enumerate() {
        let line_start = offset;
        offset += raw_with_ff.len() + 1;
        // A form feed starts a new page; what precedes it on the line belongs to the old one.
        let mut raw = raw_with_ff.trim_end_matches('\r');
        let mut start = line_start;
        if let Some(ff) = raw.rfind('\x0C') {
            page += raw[..=ff].matches('\x0C').count() as u32;
            start += ff + 1;
            raw = &raw[ff + 1..];
        }
        while next_break < page_starts.len() && page_starts[next_break] <= start {
            page += 1;
            next_break += 1;
        }
        if !explicit_pages && let Some(c) = PAGE_HINT.captures(raw) {
            let n: u32 = c
                .get(1)
                .or(c.get(2))
                .and_then(|m| m.as_str().parse().ok())
                .unwrap_or(0);
            hint_page = hint_page.max(n + 1);
        }
        let line_page = if explicit_pages { page } else { hint_page };
        let trimmed = raw.trim();
        let fence = trimmed.starts_with("```") || trimmed.starts_with("~~~");
        let mut line = Line {
            number: i + 1,
            start,
            end: start + raw.len(),
            page: line_page,
            md_level: None,
            clean: String::new(),
            structural: !in_fence && !fence,
            keep: true,
            marker: Marker::None,
        };
        if fence {
            in_fence = !in_fence;
            line.keep = false;
        } else if in_fence {
            line.clean = raw.trim_end().to_string();
        } else {
            clean_line(raw, markdown, &mut line);
        }
        lines.push(line);
    }
    out.pages = lines.iter().map(|l| l.page).max().unwrap_or(1);

    strip_front_matter(&mut lines, &mut out);
    strip_header_block(&mut lines, &mut out);
    strip_page_furniture(&mut lines, explicit_pages, &mut out);
    strip_toc(&mut lines, &mut out);
    detect_reference(&lines, &mut out);
    out.lines = lines;
    out
}

/// Removes Markdown and HTML decoration from one line and records its heading level.
fn clean_line(raw: &str, markdown: bool, line: &mut Line) {
    let mut s = raw.trim().to_string();
    if s.starts_with("<!--") && s.ends_with("-->") {
        line.keep = false;
        if s.trim_start_matches("<!--").trim_end_matches("-->").trim() == "INFO END" {
            line.marker = Marker::InfoEnd;
        }
        return;
    }
    if s.starts_with("<sup>") {
        // A footnote: content, but never a heading or a numbered paragraph.
        line.structural = false;
    }
    if markdown {
        let hashes = s.bytes().take_while(|&b| b == b'#').count();
        if (1..=6).contains(&hashes) && s[hashes..].starts_with([' ', '\t']) {
            line.md_level = Some(hashes as u8);
            s = s[hashes..].trim().to_string();
        }
        if s.starts_with('|') {
            line.structural = false;
            if s.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')) {
                line.keep = false;
                return;
            }
        }
        for marker in ["- ", "* ", "+ ", "> "] {
            if let Some(rest) = s.strip_prefix(marker) {
                s = rest.trim_start().to_string();
                break;
            }
        }
    }
    let had_image = IMAGE.is_match(&s);
    s = IMAGE.replace_all(&s, "").into_owned();
    s = SPAN.replace_all(&s, "").into_owned();
    s = SUP.replace_all(&s, "").into_owned();
    s = TAG.replace_all(&s, " ").into_owned();
    if markdown {
        s = s.replace("**", "").replace("__", "");
        s = ANCHOR.replace(&s, "").into_owned();
        // A Markdown hard line break (two trailing spaces or a backslash) is layout.
        s = s.trim_end_matches('\\').to_string();
    }
    let s = s.trim().to_string();
    if s.is_empty() && had_image {
        line.keep = false;
    }
    if s == "---" || s == "***" {
        line.keep = false;
        line.marker = Marker::Rule;
        return;
    }
    line.clean = s;
}

/// YAML front matter (`---` … `---` at the top): `key: value` lines become metadata.
fn strip_front_matter(lines: &mut [Line], out: &mut Prepared) {
    let first = lines
        .iter()
        .position(|l| !l.clean.is_empty() || l.marker != Marker::None);
    let Some(first) = first else { return };
    let is_rule = |l: &Line| l.marker == Marker::Rule;
    if !is_rule(&lines[first]) {
        return;
    }
    let close = lines[first + 1..].iter().take(60).position(is_rule);
    let Some(close) = close else { return };
    let close = first + 1 + close;
    let mut entries = Vec::new();
    for l in &lines[first + 1..close] {
        let Some((k, v)) = l.clean.split_once(':') else {
            if l.clean.is_empty() {
                continue;
            }
            return; // not YAML: leave the text alone
        };
        entries.push((k.trim().to_string(), v.trim().trim_matches('"').to_string()));
    }
    for l in &mut lines[first..=close] {
        l.keep = false;
    }
    for (k, v) in entries {
        if k == "title" && !v.is_empty() {
            out.title = Some(v.clone());
        }
        out.metadata.push((k, v));
    }
}

/// The header block above `<!-- INFO END -->` (the shared laws' layout): its `#` line is the
/// title, its other lines are metadata, none of it is chunked.
fn strip_header_block(lines: &mut [Line], out: &mut Prepared) {
    let end = lines.iter().position(|l| l.marker == Marker::InfoEnd);
    let Some(end) = end else { return };
    for l in &mut lines[..=end] {
        if l.keep && !l.clean.is_empty() {
            if l.md_level == Some(1) && out.title.is_none() {
                out.title = Some(l.clean.clone());
            } else {
                out.metadata.push(("header".to_string(), l.clean.clone()));
            }
        }
        l.keep = false;
    }
}

/// Removes page numbers and lines that repeat at the top or bottom of many pages.
fn strip_page_furniture(lines: &mut [Line], explicit_pages: bool, out: &mut Prepared) {
    // Page numbers in their explicit forms are removed anywhere.
    let mut removed_numbers = 0;
    for l in lines.iter_mut().filter(|l| l.keep && l.structural) {
        if PAGE_NUMBER.is_match(&l.clean) {
            l.keep = false;
            removed_numbers += 1;
        }
    }
    if !explicit_pages {
        if removed_numbers > 0 {
            out.problems
                .push((0, format!("removed {removed_numbers} page-number lines")));
        }
        return;
    }
    // The first and last two content lines of every page.
    let mut edges: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut by_page: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        if l.keep && !l.clean.is_empty() {
            by_page.entry(l.page).or_default().push(i);
        }
    }
    for (page, idx) in &by_page {
        let mut e: Vec<usize> = idx.iter().take(2).copied().collect();
        e.extend(idx.iter().rev().take(2).copied());
        e.sort_unstable();
        e.dedup();
        edges.insert(*page, e);
    }
    let shape = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .filter(|c| !c.is_whitespace())
            .collect()
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for e in edges.values() {
        let mut seen = std::collections::HashSet::new();
        for &i in e {
            let k = shape(&lines[i].clean);
            if seen.insert(k.clone()) {
                *counts.entry(k).or_default() += 1;
            }
        }
    }
    let pages = by_page.len();
    let repeated: std::collections::HashSet<String> = counts
        .into_iter()
        .filter(|(k, n)| *n >= 3 && *n * 5 >= pages * 2 && k.chars().count() <= 120)
        .map(|(k, _)| k)
        .collect();
    let mut removed_furniture = 0;
    for e in edges.values() {
        for &i in e {
            let l = &mut lines[i];
            let bare = BARE_NUMBER.is_match(&l.clean);
            if bare || repeated.contains(&shape(&l.clean)) {
                l.keep = false;
                if bare {
                    removed_numbers += 1;
                } else {
                    removed_furniture += 1;
                }
            }
        }
    }
    if removed_numbers > 0 {
        out.problems
            .push((0, format!("removed {removed_numbers} page-number lines")));
    }
    if removed_furniture > 0 {
        out.problems.push((
            0,
            format!("removed {removed_furniture} page header/footer lines"),
        ));
    }
}

/// Removes tables of contents: a `目录` / `Contents` heading and the entries after it, and any
/// line with dot leaders and a page number.
fn strip_toc(lines: &mut [Line], out: &mut Prepared) {
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if !(l.keep && l.structural && TOC_TITLE.is_match(&l.clean)) {
            i += 1;
            continue;
        }
        let start = i;
        let level = l.md_level;
        lines[i].keep = false;
        i += 1;
        let mut first_entry: Option<String> = None;
        while i < lines.len() {
            let l = &lines[i];
            if !l.keep || l.clean.is_empty() {
                i += 1;
                continue;
            }
            let entry = toc_entry_text(&l.clean);
            let ends = match level {
                // A Markdown TOC ends at the next heading as deep or deeper than its own.
                Some(lv) => l.md_level.is_some_and(|m| m <= lv),
                // A plain TOC ends where an entry repeats (the body starts) or where a line
                // looks like body text.
                None => {
                    first_entry.as_deref() == Some(entry.as_str())
                        || (l.clean.chars().count() > 60 && !DOT_LEADER.is_match(&l.clean))
                        || l.clean.ends_with(['。', '；', '.', ';', ':', '：'])
                }
            };
            if ends {
                break;
            }
            first_entry.get_or_insert(entry);
            lines[i].keep = false;
            i += 1;
        }
        out.problems.push((
            lines[start].number,
            format!(
                "removed a table of contents (lines {}–{})",
                lines[start].number, i
            ),
        ));
    }
    let mut leaders = 0;
    for l in lines.iter_mut().filter(|l| l.keep && l.structural) {
        if DOT_LEADER.is_match(&l.clean) {
            l.keep = false;
            leaders += 1;
        }
    }
    if leaders > 0 {
        out.problems.push((
            0,
            format!("removed {leaders} table-of-contents lines with dot leaders"),
        ));
    }
}

/// A TOC entry without its page number and spacing, for comparison with body headings.
fn toc_entry_text(s: &str) -> String {
    let s = DOT_LEADER.replace(s, "");
    let s = s.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_whitespace());
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A document code in the front lines (`ESMA74-362-2281`) is kept as `reference` metadata.
fn detect_reference(lines: &[Line], out: &mut Prepared) {
    for l in lines.iter().filter(|l| l.keep).take(40) {
        if let Some(m) = REFERENCE_CODE.captures(&l.clean) {
            out.metadata
                .push(("reference".to_string(), m[1].to_string()));
            return;
        }
    }
}
