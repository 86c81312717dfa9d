//! Which report field a rule question is about, per regime it names ("field linking").
//!
//! Compliance questions are about fields: "can the Cleared field show that under CFTC rules",
//! "what does the CFTC platform field ask for", "抵押类别填什么". A field's provision is a short
//! text inside a long per-regime document, and a hybrid search over the whole corpus often
//! ranks a neighbouring field of the right regime, or the right field of another regime,
//! above it. So before searching, the question is matched against the field *names* alone:
//!
//! - Each field of a regime (its bare key) is known by the names its provisions give it
//!   (`Venue of Execution`; a parenthesised abbreviation is a name of its own: `Unique
//!   Transaction Identifier (UTI)` is also `UTI`), for a field without one the last part of
//!   its key split into words (`platformIdentifier` → `platform identifier`), and, through the alignment table, its
//!   CPMI-IOSCO data element and JR/T 0294.3 element in English and Chinese (`清算标识符`), so
//!   a Chinese question reaches an English regime's field.
//! - An English name matches by weighted coverage: the share of the name's words (stemmed,
//!   without stop words) the question contains, each word weighted by its inverse frequency
//!   over all field names, so `platform` counts and `identifier` hardly does. A Chinese name
//!   matches when the question contains it (without its parenthesised part).
//! - Per regime, the best field is the one with the most matched weight among those covered
//!   at least [`MIN_COVERAGE`] (the more specific name wins: `Counterparty 2 Identifier Type`
//!   over `Counterparty 2` when the question speaks of how counterparty 2 is identified); on a
//!   tie, the higher coverage, then the shorter key, then the first (leg 1 before leg 2).
//! - A word the question puts just before "field" or "data element" (`the CFTC platform
//!   field`) doubles the weight of a name that has it: that is how people point at a field.
//! - A named regime whose own names match nothing takes "the same" field (the matrix's
//!   [`row_key`]) as another named regime's best: "what does the corresponding CFTC data
//!   element capture".
//!
//! Deterministic and cheap (the names of ~1,900 provisions, under a millisecond); the caller
//! puts the linked provisions first among the evidence and fills the rest by search.

use crate::catalogue::{Catalogue, alignment, bare_key, row_key};
use std::collections::{BTreeSet, HashMap, HashSet};

/// The least weighted share of a name's words a question must contain for the name to match.
pub const MIN_COVERAGE: f64 = 0.6;

/// A field a question names, in one regime.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldLink {
    /// The regime's key in the catalogue (`esma`, `cftc`, `jrt`).
    pub regime: String,
    /// The field's bare key (`cleared`, `leg1.periodicPayment.fixedRateDayCountConvention`).
    pub field_key: String,
    /// The name that matched (`Platform Identifier`, `清算标识符`).
    pub name: String,
    /// The provision whose name matched, when the name is a provision's own (a field key
    /// such as `dtccAdditionalFields` gathers provisions of different names).
    pub provision: Option<String>,
    /// Weighted coverage of that name by the question (1.0 for a Chinese name it contains).
    pub coverage: f64,
    /// Whether the field was reached through another regime's link (same matrix row).
    pub by_row: bool,
}

/// Words that say nothing about which field is meant.
const STOP: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "if", "in", "is", "it", "of",
    "on", "or", "the", "to", "with", "what", "which", "how", "does", "do", "field",
];

/// Lower-cased, stemmed English words (ASCII letters and digits).
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            let w = std::mem::take(cur);
            if !STOP.contains(&w.as_str()) {
                out.push(stem(&w));
            }
        }
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            cur.push(c.to_ascii_lowercase());
        } else {
            flush(&mut cur, &mut out);
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// A light suffix stemmer, enough to meet `identified` with `identifier` and `cleared` with
/// `clear` (not with `clearing`'s noun sense: close enough for names).
fn stem(w: &str) -> String {
    for (suffix, min) in [
        ("ies", 3),
        ("ing", 4),
        ("ed", 4),
        ("er", 4),
        ("es", 4),
        ("s", 4),
    ] {
        if let Some(base) = w.strip_suffix(suffix)
            && base.chars().count() >= min
        {
            return if suffix == "ies" {
                format!("{base}y")
            } else {
                base.to_owned()
            };
        }
    }
    w.to_owned()
}

/// `platformIdentifier` → `platform Identifier`; digits stay with their word (`leg1`).
fn split_camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 8);
    for (i, c) in key.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The Chinese part of a name, without a parenthesised part (`交易对手方1（交易报告方）` →
/// `交易对手方1`), when it has at least two ideographs.
fn chinese_core(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '（' | '(' => depth += 1,
            '）' | ')' => depth = depth.saturating_sub(1),
            c if depth == 0 && (cjk::is_cjk(c) || c.is_ascii_digit()) => out.push(c),
            _ => {}
        }
    }
    (out.chars().filter(|c| cjk::is_cjk(*c)).count() >= 2).then_some(out)
}

/// The names a field is known by, each with the provision that gives it (`None` for names
/// from the key or the alignment table).
fn names_of(cat: &Catalogue, regime: &str, key: &str) -> Vec<(String, Option<String>)> {
    let mut names: Vec<(String, Option<String>)> = Vec::new();
    fn push(names: &mut Vec<(String, Option<String>)>, n: &str, from: Option<&str>) {
        let n = n.trim();
        if !n.is_empty() && !names.iter().any(|(x, _)| x == n) {
            names.push((n.to_owned(), from.map(str::to_owned)));
        }
    }
    for p in cat.provisions_for(regime, key) {
        if let Some(n) = &p.name {
            let from = Some(p.id.as_str());
            push(&mut names, n, from);
            // `Unique Transaction Identifier (UTI)`: the abbreviation is a name too.
            if let (Some(a), Some(b)) = (n.find('('), n.rfind(')'))
                && a < b
            {
                push(&mut names, &n[a + 1..b], from);
                push(&mut names, &n[..a], from);
            }
        }
    }
    // The key's last part names a field that has no name of its own (`currency` alone would
    // name every currency field).
    let last = key.rsplit('.').next().unwrap_or(key);
    if names.is_empty() && !last.starts_with(|c: char| c.is_ascii_digit()) {
        push(&mut names, &split_camel(last), None);
    }
    if let Some(a) = alignment(key) {
        push(&mut names, a.cde, None);
        push(&mut names, a.cde_zh, None);
        if let Some(e) = a.jrt.and_then(|s| cat.jrt_element(s)) {
            push(&mut names, &e.zh, None);
            push(&mut names, &e.en, None);
        }
    }
    if regime == "jrt"
        && let Some(sec) = cat
            .provisions_for(regime, key)
            .first()
            .and_then(|p| p.number.clone())
        && let Some(e) = cat.jrt_element(&sec)
    {
        push(&mut names, &e.zh, None);
        push(&mut names, &e.en, None);
    }
    names
}

/// How much more a name counts when one of its words is the question's cue ([`cued_words`]).
const CUE_WEIGHT: f64 = 2.0;

/// The words the question puts just before `field`, `fields` or `data element` (`the CFTC
/// platform field` → `platform`, `cftc`): how people point at a field by name.
fn cued_words(question: &str) -> HashSet<String> {
    let raw: Vec<String> = question
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let mut out = HashSet::new();
    for (i, w) in raw.iter().enumerate() {
        let at = match w.as_str() {
            "field" | "fields" => i,
            "element" | "elements" if i > 0 && raw[i - 1] == "data" => i - 1,
            _ => continue,
        };
        for v in raw[at.saturating_sub(2)..at].iter() {
            if !STOP.contains(&v.as_str()) {
                out.insert(stem(v));
            }
        }
    }
    out
}

/// A field and its names, prepared for matching.
struct Field {
    regime: String,
    key: String,
    /// (name, its English words).
    english: Vec<(String, Vec<String>, Option<String>)>,
    /// (name, its Chinese core).
    chinese: Vec<(String, String, Option<String>)>,
}

/// The fields of `regimes` that `question` names, at most one per regime (see the module doc),
/// in the order of `regimes`.
pub fn fields_named(cat: &Catalogue, question: &str, regimes: &[&str]) -> Vec<FieldLink> {
    if regimes.is_empty() {
        return Vec::new();
    }
    // Every field of every regime: the word weights come from all names, not only the named
    // regimes', so a word's weight does not depend on which regimes a question names.
    let keys: BTreeSet<(String, String)> = cat
        .provisions
        .iter()
        .map(|p| (p.regime.clone(), bare_key(&p.field_key)))
        .collect();
    let mut fields: Vec<Field> = Vec::new();
    let mut df: HashMap<String, usize> = HashMap::new();
    let mut n_names = 0usize;
    for (regime, key) in keys {
        let mut f = Field {
            regime: regime.clone(),
            key: key.clone(),
            english: Vec::new(),
            chinese: Vec::new(),
        };
        for (n, from) in names_of(cat, &regime, &key) {
            if let Some(core) = chinese_core(&n) {
                f.chinese.push((n, core, from));
                continue;
            }
            let w = words(&n);
            if w.is_empty() {
                continue;
            }
            n_names += 1;
            for t in w.iter().collect::<HashSet<_>>() {
                *df.entry(t.clone()).or_default() += 1;
            }
            f.english.push((n, w, from));
        }
        fields.push(f);
    }
    let idf = |t: &str| -> f64 {
        let d = df.get(t).copied().unwrap_or(0) as f64;
        (1.0 + n_names as f64 / (1.0 + d)).ln()
    };
    let asked: HashSet<String> = words(question).into_iter().collect();
    let cued = cued_words(question);
    let compact: String = question.chars().filter(|c| !c.is_whitespace()).collect();
    // The best match of each field: (matched weight, coverage, name, its provision).
    type Best = (f64, f64, String, Option<String>);
    let score = |f: &Field| -> Option<Best> {
        let mut best: Option<Best> = None;
        let mut consider = |m: f64, c: f64, n: &str, from: &Option<String>| {
            if c >= MIN_COVERAGE && best.as_ref().is_none_or(|b| (m, c) > (b.0, b.1)) {
                best = Some((m, c, n.to_owned(), from.clone()));
            }
        };
        for (n, w, from) in &f.english {
            let total: f64 = w.iter().map(|t| idf(t)).sum();
            let matched: f64 = w
                .iter()
                .filter(|t| asked.contains(*t))
                .map(|t| idf(t))
                .sum();
            if total > 0.0 && matched > 0.0 {
                // A word the question puts right before "field" names the field.
                let cue = if w.iter().any(|t| cued.contains(t)) {
                    CUE_WEIGHT
                } else {
                    1.0
                };
                consider(matched * cue, matched / total, n, from);
            }
        }
        for (n, core, from) in &f.chinese {
            if compact.contains(core.as_str()) {
                // An ideograph carries about a word's weight of meaning.
                consider(core.chars().count() as f64 * 2.0, 1.0, n, from);
            }
        }
        best
    };
    let mut out: Vec<FieldLink> = Vec::new();
    for r in regimes {
        let best = fields
            .iter()
            .filter(|f| f.regime == *r)
            .filter_map(|f| score(f).map(|s| (s, f)))
            // Ties go to the plainer field (`uniqueTransactionIdentifier` over
            // `uniqueTransactionIdentifierProprietary`, both named `UTI`).
            .max_by(|a, b| {
                (a.0.0, a.0.1)
                    .partial_cmp(&(b.0.0, b.0.1))
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(b.1.key.len().cmp(&a.1.key.len()))
                    .then(b.1.key.cmp(&a.1.key))
            });
        if let Some(((_, coverage, name, provision), f)) = best {
            out.push(FieldLink {
                regime: f.regime.clone(),
                field_key: f.key.clone(),
                name,
                provision,
                coverage,
                by_row: false,
            });
        }
    }
    // Named regimes without a match of their own take the same row as one that has one.
    let linked: Vec<FieldLink> = out.clone();
    for r in regimes {
        if out.iter().any(|l| l.regime == *r) {
            continue;
        }
        let found = linked.iter().find_map(|l| {
            let row = row_key(&l.field_key);
            fields
                .iter()
                .find(|f| f.regime == *r && row_key(&f.key) == row)
                .map(|f| FieldLink {
                    regime: f.regime.clone(),
                    field_key: f.key.clone(),
                    name: l.name.clone(),
                    provision: None,
                    coverage: l.coverage,
                    by_row: true,
                })
        });
        out.extend(found);
    }
    let order = |l: &FieldLink| regimes.iter().position(|r| *r == l.regime);
    out.sort_by_key(order);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_meet_across_word_forms() {
        assert_eq!(stem("identified"), stem("identifier"));
        assert_eq!(stem("cleared"), "clear");
        assert_eq!(stem("currencies"), "currency");
        assert_eq!(stem("uti"), "uti");
        assert_eq!(words("Venue of Execution"), vec!["venue", "execution"]);
    }

    #[test]
    fn names_split_and_chinese_cores() {
        assert_eq!(split_camel("platformIdentifier"), "platform Identifier");
        assert_eq!(
            chinese_core("交易对手方1（交易报告方）").as_deref(),
            Some("交易对手方1")
        );
        assert_eq!(chinese_core("UTI"), None);
    }
}
