//! Assembling words into lines, and the character error rate used to judge OCR.

use super::{BBox, Line, Word};

/// Joins words into a line: a space between two words unless both sides of the gap are CJK
/// (Tesseract segments Chinese into "words" that must not be spaced apart).
pub(crate) fn line_from_words(words: Vec<Word>) -> Line {
    let mut text = String::new();
    let mut bbox: Option<BBox> = None;
    for w in &words {
        if let (Some(prev), Some(next)) = (text.chars().last(), w.text.chars().next())
            && !(cjk::is_wide(prev) && cjk::is_wide(next))
        {
            text.push(' ');
        }
        text.push_str(&w.text);
        if let Some(b) = w.bbox {
            bbox = Some(bbox.map_or(b, |a| a.union(b)));
        }
    }
    Line { text, bbox, words }
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
