//! The second pass of the chunker: each content line classified (a division heading, a
//! retrieval unit's first line, or text) and the section tree built with a stack.
//!
//! Nesting uses ranks: 附件/Annex 5 < 编/Part 10 < Title 15 < 分编 20 < 章/Chapter 30 < 节 40 <
//! numbered heading of depth d (100 + d) < 条/Article/Section 200 < numbered paragraph 210.
//! A Markdown heading without a number nests by its `#` level among other such headings, and
//! under a structural heading written with more `#`s it is a sub-heading (PDF converters emit
//! `#### 4.2.1 …` and `#### Currency derivatives` at the same level although the second belongs
//! to the first).

use super::lines::Line;
use crate::cn;
use crate::document::SectionKind;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

static ZH_DIV: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^第\s*([零〇一二两三四五六七八九十百千0-9]+)\s*(分编|编|章|节)(?:[\s　]*(.*))?$")
        .unwrap()
});
static ZH_ART: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^第\s*([零〇一二两三四五六七八九十百千0-9]+)\s*条(之[一二三四五六七八九十]+)?(?:[\s　]+(.*)|$)").unwrap()
});
static ZH_ORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([一二三四五六七八九十]{1,3})、\s*(.+)$").unwrap());
static EN_DIV: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(PART|Part|TITLE|Title|CHAPTER|Chapter)\s+([IVXLCDM]+|\d{1,3}[A-Z]?|[A-Z])\b\.?\s*[-–—:.]?\s*(.*)$").unwrap()
});
static EN_ART: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(ARTICLE|Article|SECTION|Section)\s+(\d{1,3}[A-Za-z]?)\b(.*)$").unwrap()
});
static ANNEX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:ANNEX|Annex|APPENDIX|Appendix|SCHEDULE|Schedule)\b|附件|附录)").unwrap()
});
static NUM_HEAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d{1,2}(?:\.\d{1,3}){0,5})(\.?)(、\s*|\s*)(\S.*)$").unwrap());
static PARA: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\d{1,4})\.\s+(\S.*)$").unwrap());

/// The rank of a structural kind (lower is outer).
fn rank_of(kind: SectionKind, depth: usize) -> u32 {
    match kind {
        SectionKind::Document => 0,
        SectionKind::Annex => 5,
        SectionKind::Part => 10,
        SectionKind::Title => 15,
        SectionKind::SubPart => 20,
        SectionKind::Chapter => 30,
        SectionKind::Division => 40,
        SectionKind::Numbered => 100 + depth as u32,
        SectionKind::Article => 200,
        SectionKind::Paragraph => 210,
        SectionKind::Heading | SectionKind::Clause | SectionKind::Window => 1000,
    }
}

/// A node of the tree under construction.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: SectionKind,
    pub label: String,
    pub title: String,
    /// Structural rank; `None` for plain Markdown headings and the root.
    pub rank: Option<u32>,
    pub md_level: Option<u8>,
    /// Index of the heading line (for units, also the first body line).
    pub first_line: usize,
    /// Index of the last line that belongs to the node's subtree.
    pub last_line: usize,
    /// Content lines that belong to the node itself (not to children).
    pub body: Vec<usize>,
    pub children: Vec<usize>,
}

/// What a line is.
enum Kind {
    Structural {
        kind: SectionKind,
        depth: usize,
        label: String,
        title: String,
        number: Option<Vec<u32>>,
    },
    Plain {
        level: u8,
        title: String,
    },
    Unit {
        kind: SectionKind,
        label: String,
        number: u32,
    },
    Text,
}

/// The tree, root first.
pub(crate) struct Outline {
    pub nodes: Vec<Node>,
    pub problems: Vec<(usize, String)>,
}

/// Classifies the kept lines and builds the tree.
pub(crate) fn build(lines: &[Line], doc_title: &str) -> Outline {
    let paragraphs_enabled = numbered_paragraphs_used(lines);
    let mut nodes = vec![Node {
        kind: SectionKind::Document,
        label: String::new(),
        title: String::new(),
        rank: Some(0),
        md_level: None,
        first_line: 0,
        last_line: lines.len().saturating_sub(1),
        body: Vec::new(),
        children: Vec::new(),
    }];
    let mut stack: Vec<usize> = vec![0];
    let mut problems = Vec::new();
    let mut numbering: Vec<u32> = Vec::new();
    let mut last_para: u32 = 0;
    let mut paras_in_top = 0usize;
    let mut last_article: Option<(u32, usize)> = None;
    let mut skipped_title = false;

    for (i, line) in lines.iter().enumerate() {
        if !line.keep {
            continue;
        }
        if line.clean.is_empty() {
            // Blank lines separate paragraphs inside a body.
            let top = *stack.last().unwrap();
            nodes[top].body.push(i);
            continue;
        }
        let in_article = nodes[*stack.last().unwrap()].kind == SectionKind::Article;
        let kind = if line.structural {
            classify(
                line,
                in_article,
                paragraphs_enabled,
                &numbering,
                last_para,
                paras_in_top,
            )
        } else {
            Kind::Text
        };
        match kind {
            Kind::Text => {
                let top = *stack.last().unwrap();
                nodes[top].body.push(i);
            }
            Kind::Plain { level, title } => {
                // The first H1 that repeats the document title is the title, not a section.
                if !skipped_title && level == 1 && normalized(&title) == normalized(doc_title) {
                    skipped_title = true;
                    continue;
                }
                while stack.len() > 1 {
                    let t = &nodes[*stack.last().unwrap()];
                    let pop = if t.kind.is_unit() {
                        true
                    } else {
                        match (t.rank, t.md_level) {
                            (None, Some(tl)) => tl >= level,
                            (Some(_), Some(tm)) => level < tm || (level == tm && level == 1),
                            _ => false,
                        }
                    };
                    if !pop {
                        break;
                    }
                    stack.pop();
                }
                if level == 1 {
                    paras_in_top = 0;
                }
                let node = open(
                    &mut nodes,
                    &stack,
                    i,
                    SectionKind::Heading,
                    String::new(),
                    title,
                    None,
                    Some(level),
                );
                stack.push(node);
            }
            Kind::Structural {
                kind,
                depth,
                label,
                title,
                number,
            } => {
                let r = rank_of(kind, depth);
                while stack.len() > 1 {
                    let top = *stack.last().unwrap();
                    let t = &nodes[top];
                    let pop = if t.kind.is_unit() {
                        true
                    } else {
                        match (t.rank, line.md_level) {
                            (Some(tr), _) => tr >= r,
                            (None, Some(hm)) => t.md_level.is_some_and(|tl| tl >= hm),
                            // A plain sub-heading is closed when the structural node it sits in
                            // is closed by this heading.
                            (None, None) => stack
                                .iter()
                                .any(|&s| nodes[s].rank.is_some_and(|sr| sr >= r && s != 0)),
                        }
                    };
                    if !pop {
                        break;
                    }
                    stack.pop();
                }
                if let Some(n) = number {
                    numbering = n;
                }
                if depth == 1 || matches!(kind, SectionKind::Annex) {
                    paras_in_top = 0;
                }
                let node = open(
                    &mut nodes,
                    &stack,
                    i,
                    kind,
                    label,
                    title,
                    Some(r),
                    line.md_level,
                );
                stack.push(node);
            }
            Kind::Unit {
                kind,
                label,
                number,
            } => {
                while stack.len() > 1 {
                    let top = *stack.last().unwrap();
                    let t = &nodes[top];
                    if t.kind.is_unit() {
                        stack.pop();
                    } else {
                        break;
                    }
                }
                if kind == SectionKind::Paragraph {
                    last_para = number;
                    paras_in_top += 1;
                } else if let Some((prev, at)) = last_article
                    && number != prev + 1
                {
                    problems.push((
                        line.number,
                        format!("{label} follows article {prev} (line {at}): numbering is not consecutive"),
                    ));
                }
                if kind == SectionKind::Article {
                    last_article = Some((number, line.number));
                }
                let r = rank_of(kind, 0);
                let node = open(
                    &mut nodes,
                    &stack,
                    i,
                    kind,
                    label,
                    String::new(),
                    Some(r),
                    None,
                );
                nodes[node].body.push(i);
                stack.push(node);
            }
        }
    }
    // Close the spans: a node ends where its next sibling (or an ancestor's next sibling) begins.
    fix_spans(&mut nodes, 0, lines.len().saturating_sub(1));
    Outline { nodes, problems }
}

#[allow(clippy::too_many_arguments)]
fn open(
    nodes: &mut Vec<Node>,
    stack: &[usize],
    line: usize,
    kind: SectionKind,
    label: String,
    title: String,
    rank: Option<u32>,
    md_level: Option<u8>,
) -> usize {
    let parent = *stack.last().unwrap();
    let id = nodes.len();
    nodes.push(Node {
        kind,
        label,
        title,
        rank,
        md_level,
        first_line: line,
        last_line: line,
        body: Vec::new(),
        children: Vec::new(),
    });
    nodes[parent].children.push(id);
    id
}

fn fix_spans(nodes: &mut [Node], id: usize, end: usize) {
    nodes[id].last_line = end;
    let children = nodes[id].children.clone();
    for (k, &c) in children.iter().enumerate() {
        let next = children
            .get(k + 1)
            .map(|&n| nodes[n].first_line.saturating_sub(1))
            .unwrap_or(end);
        fix_spans(nodes, c, next);
    }
}

fn normalized(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether the document numbers its paragraphs (`1.` … `45.`) as retrieval units: at least
/// five distinct numbers at line starts, outside tables and code.
fn numbered_paragraphs_used(lines: &[Line]) -> bool {
    let mut seen = HashSet::new();
    for l in lines
        .iter()
        .filter(|l| l.keep && l.structural && l.md_level.is_none())
    {
        if let Some(c) = PARA.captures(&l.clean) {
            seen.insert(c[1].to_string());
            if seen.len() >= 5 {
                return true;
            }
        }
    }
    false
}

/// Squeezes the spaces out of a Chinese heading title (`总 则` → `总则`) and limits its length.
fn tidy_title(s: &str) -> String {
    let s = s.trim();
    let cjk = s.chars().filter(|&c| cjk::is_cjk(c)).count();
    let s: String = if cjk * 2 > s.chars().count() {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    } else {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    if s.chars().count() > 100 {
        let mut t: String = s.chars().take(99).collect();
        t.push('…');
        t
    } else {
        s
    }
}

fn looks_like_sentence(s: &str) -> bool {
    s.ends_with(['。', '；', '，', ',', ';']) || s.contains('。')
}

fn classify(
    line: &Line,
    in_article: bool,
    paragraphs_enabled: bool,
    numbering: &[u32],
    last_para: u32,
    paras_in_top: usize,
) -> Kind {
    let s = line.clean.as_str();
    let md = line.md_level.is_some();
    let short = s.chars().count() <= 60;

    if let Some(c) = ZH_ART.captures(s) {
        let num = &c[1];
        if let Some(n) = cn::parse_number(num) {
            let suffix = c.get(2).map(|m| m.as_str()).unwrap_or("");
            return Kind::Unit {
                kind: SectionKind::Article,
                label: format!("第{num}条{suffix}"),
                number: n,
            };
        }
    }
    if let Some(c) = ZH_DIV.captures(s) {
        let title = c.get(3).map(|m| m.as_str()).unwrap_or("");
        if (md || short) && !looks_like_sentence(title) && cn::parse_number(&c[1]).is_some() {
            let kind = match &c[2] {
                "编" => SectionKind::Part,
                "分编" => SectionKind::SubPart,
                "章" => SectionKind::Chapter,
                _ => SectionKind::Division,
            };
            return Kind::Structural {
                kind,
                depth: 0,
                label: format!("第{}{}", &c[1], &c[2]),
                title: tidy_title(title),
                number: None,
            };
        }
    }
    if md && ANNEX.is_match(s) {
        return Kind::Structural {
            kind: SectionKind::Annex,
            depth: 0,
            label: String::new(),
            title: tidy_title(s),
            number: None,
        };
    }
    if let Some(c) = ZH_ORD.captures(s)
        && (md || (short && !in_article && s.chars().count() <= 25))
        && !looks_like_sentence(s)
    {
        return Kind::Structural {
            kind: SectionKind::Chapter,
            depth: 0,
            label: format!("{}、", &c[1]),
            title: tidy_title(&c[2]),
            number: None,
        };
    }
    if let Some(c) = EN_DIV.captures(s) {
        let rest = c[3].trim();
        if (md || s.len() <= 100)
            && (rest.is_empty() || rest.starts_with(|ch: char| ch.is_uppercase()))
        {
            let kind = match &c[1] {
                "PART" | "Part" => SectionKind::Part,
                "TITLE" | "Title" => SectionKind::Title,
                _ => SectionKind::Chapter,
            };
            let word = title_case(&c[1]);
            return Kind::Structural {
                kind,
                depth: 0,
                label: format!("{word} {}", &c[2]),
                title: tidy_title(rest),
                number: None,
            };
        }
    }
    if let Some(c) = EN_ART.captures(s) {
        let rest = c[3]
            .trim_start_matches(['.', ':', '-', '–', '—', ' '])
            .trim();
        let after = &c[3];
        let heading_like = !after.starts_with('(')
            && (rest.is_empty()
                || rest.starts_with(|ch: char| ch.is_uppercase() || ch == '"' || ch == '“'))
            && s.len() <= 160;
        if heading_like
            && let Some(n) = c[2]
                .trim_end_matches(|ch: char| ch.is_alphabetic())
                .parse::<u32>()
                .ok()
        {
            let word = title_case(&c[1]);
            let _ = rest;
            return Kind::Unit {
                kind: SectionKind::Article,
                label: format!("{word} {}", &c[2]),
                number: n,
            };
        }
    }
    if !in_article
        && paragraphs_enabled
        && !md
        && let Some(c) = PARA.captures(s)
        && let Ok(n) = c[1].parse::<u32>()
        && ((n > last_para && n <= last_para + 3) || (n == 1 && paras_in_top == 0))
    {
        return Kind::Unit {
            kind: SectionKind::Paragraph,
            label: format!("para {n}"),
            number: n,
        };
    }
    if let Some(c) = NUM_HEAD.captures(s)
        // A number must be set off from its title ("1 Scope", "1. Scope", "1、总则"): "9月7日"
        // and "2022年" are dates in running text, not headings.
        && (!c[2].is_empty() || !c[3].is_empty())
    {
        let number: Vec<u32> = c[1].split('.').filter_map(|p| p.parse().ok()).collect();
        let title = c[4].trim();
        let starts_ok = title.starts_with(|ch: char| ch.is_uppercase() || cjk::is_cjk(ch));
        let depth = number.len();
        let trailing_dot = !c[2].is_empty();
        let plausible = if md {
            !(depth == 1 && trailing_dot && paragraphs_enabled)
        } else {
            let too_long = title.chars().count() > 150;
            let sentence_end = title.ends_with(['.', ',', ';', ':']);
            let ambiguous = depth == 1 && trailing_dot;
            !(in_article || too_long || sentence_end || ambiguous) && continues(numbering, &number)
        };
        if starts_ok && plausible && !looks_like_sentence(title) {
            return Kind::Structural {
                kind: SectionKind::Numbered,
                depth,
                label: c[1].to_string(),
                title: tidy_title(title),
                number: Some(number),
            };
        }
    }
    if let Some(level) = line.md_level {
        return Kind::Plain {
            level,
            title: tidy_title(s),
        };
    }
    Kind::Text
}

/// Whether `new` plausibly follows the numbered heading `cur`: its first child, or the next
/// sibling of it or of one of its ancestors (gaps of up to two tolerated, as converters lose
/// headings).
fn continues(cur: &[u32], new: &[u32]) -> bool {
    if cur.is_empty() {
        return new.len() == 1 || new.iter().skip(1).all(|&n| n == 1);
    }
    if new.len() == cur.len() + 1 && new[..cur.len()] == *cur && new[cur.len()] == 1 {
        return true;
    }
    let k = new.len();
    if k == 0 || k > cur.len() {
        return false;
    }
    new[..k - 1] == cur[..k - 1] && new[k - 1] > cur[k - 1] && new[k - 1] <= cur[k - 1] + 3
}

fn title_case(word: &str) -> String {
    let lower = word.to_lowercase();
    let mut c = lower.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
