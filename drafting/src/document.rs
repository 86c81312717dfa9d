//! A confirmation's text read back as a tree of sections: the structure the proofreader locates
//! its findings in. Works on any plain text (a draft of ours, an uploaded agreement's text
//! layer): headings are recognised by their numbering (`3 General Terms`, `4.1 Barrier`,
//! `一、交易双方`, `（一）敲出条款`, and Markdown `#` headings), and each section is aligned
//! with the template clause it confirms when a template is given.

use crate::draft::Draft;
use crate::template::Template;
use regex::Regex;
use serde::Serialize;
use std::ops::Range;
use std::sync::LazyLock;

/// One section of a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// Its number as written (`4.1`, `三`, `（一）`), empty for the preamble.
    pub number: String,
    /// Its heading without the number (empty for the preamble).
    pub heading: String,
    /// Its level: 0 for the preamble, 1 for a section, 2 for a sub-section…
    pub level: u8,
    /// Byte range of the heading line.
    pub head: Range<usize>,
    /// Byte range of its body: after the heading line up to the next heading of any level.
    pub body: Range<usize>,
    /// The template clause it is aligned with, when one is.
    pub clause: Option<String>,
}

impl Section {
    /// `4.1 Barrier`, `一、交易双方`, or `preamble`.
    pub fn label(&self) -> String {
        match (self.number.as_str(), self.heading.as_str()) {
            ("", "") => "preamble".into(),
            ("", h) => h.into(),
            (n, h) if n.ends_with('、') || n.ends_with('）') => format!("{n}{h}"),
            (n, h) => format!("{n} {h}"),
        }
    }
}

/// A document's text and its sections, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    /// The text.
    pub text: String,
    /// The title line's byte range, when the first line is one.
    pub title: Option<Range<usize>>,
    /// The sections, the preamble first.
    pub sections: Vec<Section>,
}

static EN_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?[ \t]+(\p{Lu}[^:：.。;；]{0,79})$").unwrap()
});
static ZH_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([一二三四五六七八九十]{1,3}、|（[一二三四五六七八九十]{1,3}）)[ \t]*([^：:。；;]{1,40})$")
        .unwrap()
});

/// A heading line's (number, heading, level), when the line is one.
pub fn heading(line: &str) -> Option<(String, String, u8)> {
    let l = line.trim();
    let l = l.trim_start_matches('#').trim_start();
    if let Some(c) = EN_HEADING.captures(l) {
        if c[2].split_whitespace().count() > 8 {
            return None;
        }
        let n = c[1].to_string();
        let level = n.matches('.').count() as u8 + 1;
        return Some((n, c[2].trim().to_string(), level));
    }
    let c = ZH_HEADING.captures(l)?;
    let n = c[1].to_string();
    let level = if n.starts_with('（') { 2 } else { 1 };
    Some((n, c[2].trim().to_string(), level))
}

/// The integer a section number's last component writes (`4.2` → 2, `三、` → 3, `（二）` → 2).
pub fn ordinal(number: &str) -> Option<u64> {
    let last = number.rsplit('.').next()?;
    if let Ok(n) = last.parse() {
        return Some(n);
    }
    let t: Vec<char> = number
        .chars()
        .filter(|c| !matches!(c, '、' | '（' | '）'))
        .collect();
    cjk::numeral_value(&t)
}

impl Document {
    /// Reads `text`'s structure. The first line is the title when it is not a heading and
    /// holds no `:`.
    pub fn parse(text: &str) -> Document {
        let mut sections = vec![Section {
            number: String::new(),
            heading: String::new(),
            level: 0,
            head: 0..0,
            body: 0..text.len(),
            clause: None,
        }];
        let mut title = None;
        let mut pos = 0;
        for line in text.split_inclusive('\n') {
            let range = pos..pos + line.len();
            pos += line.len();
            let content = line.trim();
            if content.is_empty() {
                continue;
            }
            if title.is_none() && sections.len() == 1 && sections[0].body.start == 0 {
                if heading(content).is_none() && !content.contains([':', '：']) {
                    title = Some(range.start..range.start + line.trim_end().len());
                    sections[0].body = range.end..text.len();
                    continue;
                }
                sections[0].body = range.start..text.len();
            }
            if let Some((number, heading, level)) = heading(content) {
                if let Some(prev) = sections.last_mut() {
                    prev.body.end = range.start;
                }
                sections.push(Section {
                    number,
                    heading,
                    level,
                    head: range.start..range.start + line.trim_end().len(),
                    body: range.end..text.len(),
                    clause: None,
                });
            }
        }
        Document {
            text: text.to_string(),
            title,
            sections,
        }
    }

    /// The innermost section holding byte `at`.
    pub fn section_at(&self, at: usize) -> &Section {
        self.sections
            .iter()
            .find(|s| s.head.start.min(s.body.start) <= at && at < s.body.end)
            .or_else(|| self.sections.iter().rev().find(|s| s.head.start <= at))
            .unwrap_or(&self.sections[0])
    }

    /// Aligns the sections with `template`'s clauses: the expected layout (`expected`, the
    /// draft of the trade, numbered as drafted; else the template) is matched by number and
    /// heading, then by heading alone, then by number alone. The preamble is the template's
    /// preamble clause.
    pub fn align(&mut self, template: &Template, expected: Option<&Draft>) {
        let layout: Vec<(String, String, String, u8)> = match expected {
            Some(d) => d
                .walk()
                .into_iter()
                .map(|c| (c.id.clone(), c.number.clone(), c.heading.clone(), c.level))
                .collect(),
            None => template
                .walk()
                .into_iter()
                .map(|(c, _)| (c.id.clone(), c.number.clone(), c.heading.clone(), c.level))
                .collect(),
        };
        let norm = |s: &str| -> String {
            s.chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect()
        };
        let key = |n: &str, h: &str| norm(&format!("{n}{h}"));
        let mut used = vec![false; layout.len()];
        for s in &mut self.sections {
            s.clause = None;
        }
        if let Some(i) = layout.iter().position(|l| l.3 == 0) {
            self.sections[0].clause = Some(layout[i].0.clone());
            used[i] = true;
        }
        // Pass 1: number and heading; pass 2: heading alone (when unique); pass 3: number.
        for pass in 0..3 {
            for s in self.sections.iter_mut().skip(1) {
                if s.clause.is_some() {
                    continue;
                }
                let sk = key(&s.number, &s.heading);
                let candidates: Vec<usize> = (0..layout.len())
                    .filter(|i| !used[*i] && layout[*i].3 > 0)
                    .filter(|i| {
                        let (_, n, h, level) = &layout[*i];
                        match pass {
                            0 => key(n, h) == sk,
                            1 => norm(h) == norm(&s.heading) && !h.is_empty(),
                            _ => !n.is_empty() && *n == s.number && *level == s.level,
                        }
                    })
                    .collect();
                if candidates.len() == 1 || (pass == 0 && !candidates.is_empty()) {
                    used[candidates[0]] = true;
                    s.clause = Some(layout[candidates[0]].0.clone());
                }
            }
        }
    }

    /// The section aligned with clause `id`.
    pub fn section_of(&self, id: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.clause.as_deref() == Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_of_both_languages() {
        assert_eq!(
            heading("4.1 Barrier"),
            Some(("4.1".into(), "Barrier".into(), 2))
        );
        assert_eq!(
            heading("## 3 General Terms"),
            Some(("3".into(), "General Terms".into(), 1))
        );
        assert_eq!(
            heading("一、交易双方"),
            Some(("一、".into(), "交易双方".into(), 1))
        );
        assert_eq!(
            heading("（二）敲入条款"),
            Some(("（二）".into(), "敲入条款".into(), 2))
        );
        assert_eq!(heading("Trade Date: 1 June 2024"), None);
        assert_eq!(heading("甲方：某某证券股份有限公司"), None);
        assert_eq!(ordinal("4.2"), Some(2));
        assert_eq!(ordinal("三、"), Some(3));
        assert_eq!(ordinal("（十一）"), Some(11));
    }

    #[test]
    fn sections_and_their_ranges() {
        let text = "Title of It\n\nDear Sir,\n\n1 Parties\n\nParty A: X\n\n1.1 Roles\nSeller: X\n2 Law\nEnglish law\n";
        let d = Document::parse(text);
        assert_eq!(&text[d.title.clone().unwrap()], "Title of It");
        let labels: Vec<String> = d.sections.iter().map(Section::label).collect();
        assert_eq!(labels, ["preamble", "1 Parties", "1.1 Roles", "2 Law"]);
        assert!(text[d.sections[0].body.clone()].contains("Dear Sir"));
        assert!(text[d.sections[1].body.clone()].contains("Party A: X"));
        assert!(!text[d.sections[1].body.clone()].contains("Seller"));
        let at = text.find("Seller").unwrap();
        assert_eq!(d.section_at(at).label(), "1.1 Roles");
    }
}
