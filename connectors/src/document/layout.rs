//! Assembling words into lines, and the character error rate used to judge OCR.

use super::{BBox, Line, Word};

/// Joins words into a line: a space between two words unless the gap is inside Chinese text.
/// Tesseract segments Chinese into "words" and spaces them apart from each other and from the
/// figures and codes between them (`科创 50 指数 (000688. SH)`, `1 000 万元`, `1012. 35`); a line
/// with Chinese characters is joined the way Chinese is written: no space next to a Chinese
/// character, none inside a figure (`1012.35`, `1,000`, `1000`) or a code (`000688.SH`,
/// `USD-LIBOR-BBA`); and the angle brackets OCR reads for full-width parentheses (`〈`) are
/// parentheses. Lines without Chinese keep every space. A gap wider than 0.8 of the line's height
/// is a column gap, kept as three spaces.
pub(crate) fn line_from_words(mut words: Vec<Word>) -> Line {
    let chinese = words.iter().any(|w| w.text.chars().any(cjk::is_wide));
    if chinese {
        for w in &mut words {
            if w.text.contains(['〈', '〉']) {
                w.text = w.text.replace('〈', "（").replace('〉', "）");
            }
        }
    }
    let mut text = String::new();
    let mut bbox: Option<BBox> = None;
    let mut last: Option<BBox> = None;
    for w in &words {
        // A gap wider than 0.8 of the text's height separates columns (a table's label and value):
        // kept as three spaces, in Chinese too.
        let column_gap = match (last, w.bbox) {
            (Some(a), Some(b)) => b.x0 - a.x1 > 0.8 * (a.y1 - a.y0).max(b.y1 - b.y0).max(1.0),
            _ => false,
        };
        if column_gap && !text.is_empty() {
            text.push_str("   ");
        } else if let (Some(prev), Some(next)) = (text.chars().last(), w.text.chars().next())
            && !(cjk::is_wide(prev) && cjk::is_wide(next))
            && !(chinese && joins_in_chinese(&text, &w.text))
        {
            text.push(' ');
        }
        last = w.bbox.or(last);
        text.push_str(&w.text);
        if let Some(b) = w.bbox {
            bbox = Some(bbox.map_or(b, |a| a.union(b)));
        }
    }
    Line { text, bbox, words }
}

/// Whether, in a line with Chinese, the word `next` continues the text `before` without a
/// space.
fn joins_in_chinese(before: &str, next: &str) -> bool {
    let mut back = before.chars().rev();
    let (Some(prev), prev2) = (back.next(), back.next()) else {
        return false;
    };
    let Some(first) = next.chars().next() else {
        return false;
    };
    if cjk::is_wide(prev) || cjk::is_wide(first) {
        return true;
    }
    let digit_before = prev2.is_some_and(|c| c.is_ascii_digit());
    let lead_digits = next.chars().take_while(char::is_ascii_digit).count();
    match prev {
        // `1012.` + `35`, `000688.` + `SH)`.
        '.' if digit_before => first.is_ascii_digit() || first.is_ascii_uppercase(),
        // `1,` + `000`: a thousands group.
        ',' if digit_before => lead_digits == 3,
        // `USD-LIBOR-` + `BBA`.
        '-' => first.is_ascii_alphanumeric(),
        // `1` + `000万元`: a figure split at its thousands.
        _ if prev.is_ascii_digit() => {
            let run = before
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .count();
            run <= 3 && lead_digits == 3 && !next[3..].starts_with(|c: char| c.is_ascii_digit())
        }
        _ => false,
    }
}

/// Lines of plain text as [`Line`]s without geometry, one word per whitespace-separated token.
pub(crate) fn lines_from_text(text: &str) -> Vec<Line> {
    text.lines()
        .map(|l| l.trim_end())
        .filter(|l| !l.trim().is_empty())
        .map(|l| Line {
            text: l.to_owned(),
            bbox: None,
            words: l
                .split_whitespace()
                .map(|w| Word {
                    text: w.to_owned(),
                    bbox: None,
                    confidence: 1.0,
                })
                .collect(),
        })
        .collect()
}

/// Character error rate of `hypothesis` against `reference`: the Levenshtein distance between the
/// two with all whitespace removed, divided by the reference's length (whitespace is ignored
/// because OCR and text layers disagree on spacing, not on content). 0 is perfect; it can
/// exceed 1.
pub fn cer(reference: &str, hypothesis: &str) -> f64 {
    let r: Vec<char> = reference.chars().filter(|c| !c.is_whitespace()).collect();
    let h: Vec<char> = hypothesis.chars().filter(|c| !c.is_whitespace()).collect();
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    let mut cur = vec![0; h.len() + 1];
    for (i, rc) in r.iter().enumerate() {
        cur[0] = i + 1;
        for (j, hc) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rc != hc);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[h.len()] as f64 / r.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(words: &[&str]) -> String {
        line_from_words(
            words
                .iter()
                .map(|w| Word {
                    text: (*w).to_owned(),
                    bbox: None,
                    confidence: 1.0,
                })
                .collect(),
        )
        .text
    }

    #[test]
    fn chinese_lines_are_joined_as_chinese_is_written() {
        assert_eq!(
            line(&["挂钩标的", ":", "科创", "50", "指数", "(000688.", "SH)"]),
            "挂钩标的:科创50指数(000688.SH)"
        );
        assert_eq!(
            line(&["名义本金", ":", "1", "000", "万元"]),
            "名义本金: 1000万元"
        );
        assert_eq!(line(&["期初价格", ":", "1012.", "35"]), "期初价格: 1012.35");
        assert_eq!(
            line(&["金额", "1,", "000,", "000", "元"]),
            "金额1,000,000元"
        );
        assert_eq!(
            line(&["浮动利率", ":", "USD-LIBOR-", "BBA，期限3个月"]),
            "浮动利率: USD-LIBOR-BBA，期限3个月"
        );
        assert_eq!(
            line(&["确认江海银行", "〈以下简称"]),
            "确认江海银行（以下简称"
        );
        // Latin words inside a Chinese line keep their spaces.
        assert_eq!(
            line(&["Shire", "Pharmaceuticals", "Group", "美国存托凭证"]),
            "Shire Pharmaceuticals Group美国存托凭证"
        );
    }

    #[test]
    fn lines_without_chinese_keep_every_space() {
        assert_eq!(
            line(&["Trade", "Date:", "June", "23,", "2005"]),
            "Trade Date: June 23, 2005"
        );
        assert_eq!(
            line(&["Section", "1.", "The", "Parties"]),
            "Section 1. The Parties"
        );
        assert_eq!(line(&["USD", "1", "000"]), "USD 1 000");
    }
}
