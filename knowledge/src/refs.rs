//! Structural references in questions: `第一章第二条`, `第21条`, `第二十一条第二款`,
//! `Article 9(2)`, `Section 5(a)(vi)`, `section 4.2.3`, `para 45`. A recognised reference is
//! answered by exact path lookup before any ranking.

use crate::cn;
use regex::Regex;
use std::sync::LazyLock;

static ZH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"第\s*([零〇一二两三四五六七八九十百千0-9０-９]+)\s*(分编|编|章|节|条|款|项)")
        .unwrap()
});
static EN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(article|art\.|section|sec\.|§)\s*(\d{1,3}(?:\.\d{1,3})*[a-z]?)((?:\s?\([0-9a-z]{1,5}\))*)").unwrap()
});
static PARA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:para(?:graph)?\.?)\s*(\d{1,4})\b").unwrap());
static PAREN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\(([0-9a-z]{1,5})\)").unwrap());

/// A structural reference found in a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The normalised labels, outermost first (`["第1章", "第2条"]`, `["article 9", "(2)"]`).
    pub labels: Vec<String>,
    /// The text of the reference as written.
    pub text: String,
    /// The query with the reference removed (it names the document, usually).
    pub rest: String,
}

/// Finds the first structural reference in a query.
pub fn parse(query: &str) -> Option<Reference> {
    // Chinese: a run of adjacent 第X章/节/条/款 (spaces or 的 between them allowed).
    let mut labels = Vec::new();
    let mut span: Option<(usize, usize)> = None;
    for m in ZH.captures_iter(query) {
        let whole = m.get(0).unwrap();
        if let Some((_, end)) = span {
            let gap = &query[end..whole.start()];
            if !gap.chars().all(|c| c.is_whitespace() || c == '的') {
                break;
            }
        }
        let n = cn::parse_number(&m[1])?;
        labels.push(format!("第{n}{}", &m[2]));
        span = Some((span.map_or(whole.start(), |s| s.0), whole.end()));
    }
    if let Some((s, e)) = span {
        return Some(Reference {
            labels,
            text: query[s..e].to_string(),
            rest: format!("{}{}", &query[..s], &query[e..]),
        });
    }
    if let Some(m) = EN.captures(query) {
        let word = m[1].to_lowercase();
        let number = &m[2];
        let mut labels = Vec::new();
        if number.contains('.') {
            labels.push(number.to_string());
        } else {
            let word = match word.as_str() {
                "article" | "art." => "article",
                _ => "section",
            };
            labels.push(format!("{word} {}", number.to_lowercase()));
        }
        for p in PAREN.captures_iter(&m[3]) {
            labels.push(format!("({})", p[1].to_lowercase()));
        }
        let whole = m.get(0).unwrap();
        return Some(Reference {
            labels,
            text: whole.as_str().trim().to_string(),
            rest: format!("{}{}", &query[..whole.start()], &query[whole.end()..]),
        });
    }
    if let Some(m) = PARA.captures(query) {
        let whole = m.get(0).unwrap();
        return Some(Reference {
            labels: vec![format!("para {}", &m[1])],
            text: whole.as_str().to_string(),
            rest: format!("{}{}", &query[..whole.start()], &query[whole.end()..]),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(q: &str, expect: &[&str]) {
        let r = parse(q).unwrap_or_else(|| panic!("no reference in {q}"));
        assert_eq!(r.labels, expect, "{q}");
    }

    #[test]
    fn references() {
        check("第一章第二条", &["第1章", "第2条"]);
        check(
            "期货和衍生品法 第三章 第二十一条 说了什么?",
            &["第3章", "第21条"],
        );
        check("第21条", &["第21条"]);
        check("第二十一条", &["第21条"]);
        check("第二十一条第二款的规定", &["第21条", "第2款"]);
        check("What does Article 9(2) say?", &["article 9", "(2)"]);
        check(
            "Section 5(a)(vi) cross default",
            &["section 5", "(a)", "(vi)"],
        );
        check("see section 4.2.3", &["4.2.3"]);
        check("ESMA guidelines para 45", &["para 45"]);
        assert!(parse("what does EMIR Refit require for field 2.7?").is_none());
        assert!(parse("期权定价模型").is_none());
        assert_eq!(
            parse("期货和衍生品法第二十一条").unwrap().rest,
            "期货和衍生品法"
        );
    }
}
