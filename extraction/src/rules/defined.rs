//! Defined terms: `NAME (the "TERM")`, `Deutsche Bank AG (“Party A”)`, `On January 5, 2018 (the
//! "Execution Date")`, `XX公司（以下简称“甲方”）`. Collected once per document, keyed by the
//! term in lower case (the first definition of a term wins), with the name or date the
//! parenthesis follows; the parties and dates families read them.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::{Range, clean_name};
use crate::parse::{DateParse, find_dates};
use crate::text::Sheet;

/// A defined term: `NAME (the "TERM")`.
#[derive(Debug, Clone)]
pub(super) struct Definition {
    /// The name defined, as written.
    pub(super) name: String,
    /// A date written right before the parenthesis (`On January 5, 2018 (the "Execution
    /// Date")`), with its byte range in the flow text.
    pub(super) date: Option<(DateParse, Range)>,
    /// Byte range of the name in the flow text.
    pub(super) name_span: Range,
    /// Byte range of the whole definition (name to closing parenthesis).
    pub(super) span: Range,
}

/// A quoted term in parentheses, after `the`, `each a`, `以下简称` or `下称`.
static DEF_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"[(（]\s*(?:the\s+|each,?\s+(?:a|an)\s+|以下简称|下称)?\s*["“”「]\s*(?P<term>[^"“”」()（）]{1,60}?)\s*["“”」]\s*[)）]"#,
    )
    .expect("definition pattern compiles")
});

/// The document's defined terms, by term in lower case.
pub(super) fn definitions(sheet: &Sheet) -> HashMap<String, Definition> {
    let flow = &sheet.flow;
    let mut defs: HashMap<String, Definition> = HashMap::new();
    for c in DEF_RE.captures_iter(flow) {
        let whole = c.get(0).expect("match");
        let term = c.name("term").expect("group").as_str().trim().to_owned();
        let (sent_start, _) = sheet.sentence_at(whole.start());
        let before = &flow[sent_start..whole.start()];
        let trimmed = before.trim_end().len();
        let date = find_dates(before)
            .into_iter()
            .find(|(_, (_, e))| *e == trimmed)
            .map(|(p, (s, e))| (p, (sent_start + s, sent_start + e)));
        let Some((name, (ns, ne))) = name_before(before) else {
            continue;
        };
        let (ns, ne) = (sent_start + ns, sent_start + ne);
        defs.entry(term.to_lowercase()).or_insert(Definition {
            name,
            date,
            name_span: (ns, ne),
            span: (ns, whole.end()),
        });
    }
    defs
}

/// The name a definition's parenthesis follows: a quoted name, or the words after the last
/// `between`/`and`/`with`/`by`/`to`/comma (or 由/与/和 in Chinese). Returns the name and its
/// byte range within `before`.
fn name_before(before: &str) -> Option<(String, (usize, usize))> {
    let t = before.trim_end();
    if t.is_empty() {
        return None;
    }
    // A quoted name: `"MagnaChip Semiconductor S.A." (“Counterparty”)`.
    if t.ends_with(['"', '”', '“']) {
        let inner_end = t.len() - t.chars().last()?.len_utf8();
        let open = t[..inner_end].rfind(['"', '“', '”'])?;
        let open_len = t[open..].chars().next()?.len_utf8();
        let name = &t[open + open_len..inner_end];
        if !name.trim().is_empty() && name.chars().count() <= 120 {
            return Some((name.trim().to_owned(), (open + open_len, inner_end)));
        }
    }
    static BOUNDARY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)(?:\bbetween\b|\band\b|\bwith\b|\bby\b|\bto\b|\bfrom\b|,|，|由|与|和|及|：|:|确认|致)",
        )
        .expect("compiles")
    });
    // A comma before a legal form (`Eastbank Securities Co., Ltd.`) is part of the name: take
    // the last boundary whose remainder is more than a legal form.
    // 和/及 join two names (`A公司和B公司`) but also occur inside one (`宁波和岸贸易有限公司`):
    // they bound a name only when what comes before them ends a name.
    static NAME_END: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?:公司|基金|企业|银行|合伙|集团|[)）”\x22])\s*$").expect("compiles")
    });
    let bounds: Vec<(usize, usize)> = BOUNDARY
        .find_iter(t)
        .map(|m| (m.start(), m.end()))
        .collect();
    let mut start = 0;
    for (bs, be) in bounds.iter().rev() {
        let word = &t[*bs..*be];
        if (word == "和" || word == "及") && !NAME_END.is_match(&t[..*bs]) {
            continue;
        }
        if !is_legal_form(&t[*be..]) {
            start = *be;
            break;
        }
    }
    let raw = &t[start..];
    let name = clean_name(raw);
    if name.is_empty() || name.chars().count() > 120 || name.split_whitespace().count() > 12 {
        return None;
    }
    // The cleaned name may differ from the raw text (parentheses made full-width): found
    // where it can be, else at the start.
    let at = start
        + name
            .get(..name.len().min(raw.len()))
            .and_then(|n| raw.find(n))
            .unwrap_or(0);
    Some((name.clone(), (at, at + name.len())))
}

/// Whether `s` is only a legal form (`Ltd.`, `Inc.`, `LLC`, `S.A.`…).
fn is_legal_form(s: &str) -> bool {
    let w = s
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase()
        .replace('.', "");
    matches!(
        w.as_str(),
        "ltd"
            | "limited"
            | "inc"
            | "incorporated"
            | "llc"
            | "lp"
            | "llp"
            | "plc"
            | "sa"
            | "ag"
            | "nv"
            | "bv"
            | "gmbh"
            | "co"
            | "corp"
            | "sarl"
            | "spa"
            | "ab"
            | "as"
            | "oy"
            | "kk"
    )
}

/// Resolves a name that is itself a defined term (`Counterparty`) to what it defines.
pub(super) fn resolve_alias<'d>(
    name: &str,
    defs: &'d HashMap<String, Definition>,
) -> Option<&'d Definition> {
    let key = clean_name(name).to_lowercase();
    defs.get(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(text: &str) -> HashMap<String, Definition> {
        definitions(&Sheet::plain(text))
    }

    #[test]
    fn terms_are_defined_by_the_name_before_them() {
        let d = defs(
            "This Confirmation is entered between \"Deutsche Bank AG\" (“Party A”) and \
             MagnaChip Semiconductor S.A. (“Party B”) on the Trade Date.",
        );
        assert_eq!(d["party a"].name, "Deutsche Bank AG");
        assert_eq!(d["party b"].name, "MagnaChip Semiconductor S.A.");
        let d = defs(
            "本确认书由华泰证券股份有限公司（以下简称“甲方”）与上海明德投资管理有限公司（下称“乙方”）签署。",
        );
        assert_eq!(d["甲方"].name, "华泰证券股份有限公司");
        assert_eq!(d["乙方"].name, "上海明德投资管理有限公司");
        let d =
            defs("The Company sold shares to each of the Banks (each, a \"Forward Purchaser\").");
        assert_eq!(d["forward purchaser"].name, "Banks");
    }

    #[test]
    fn a_date_right_before_the_parenthesis_is_kept() {
        let text = "On January 5, 2018 (the \"Execution Date\"), the parties agreed.";
        let d = defs(text);
        let (_, (s, e)) = d["execution date"].date.expect("a date");
        assert_eq!(&Sheet::plain(text).flow[s..e], "January 5, 2018");
        assert!(defs("Acme Corp (the \"Issuer\")")["issuer"].date.is_none());
    }

    #[test]
    fn the_first_definition_of_a_term_wins() {
        let d = defs("Alpha Bank (\"Party A\") and Beta Bank (\"Party A\")");
        assert_eq!(d["party a"].name, "Alpha Bank");
    }

    #[test]
    fn names_keep_their_legal_form() {
        assert_eq!(
            name_before("between Eastbank Securities Co., Ltd.").map(|n| n.0),
            Some("Eastbank Securities Co., Ltd.".into())
        );
        assert_eq!(
            name_before("by and between the Bank").map(|n| n.0),
            Some("Bank".into())
        );
        assert_eq!(name_before("   "), None);
        // More than twelve words is a sentence, not a name.
        assert_eq!(
            name_before("one two three four five six seven eight nine ten eleven twelve thirteen"),
            None
        );
        assert!(is_legal_form(" S.A."));
        assert!(is_legal_form("GmbH"));
        assert!(!is_legal_form("Holdings"));
    }

    #[test]
    fn an_alias_resolves_to_its_definition() {
        let d = defs("Acme Holdings Inc. (the \"Counterparty\")");
        assert_eq!(
            resolve_alias("the Counterparty", &d).map(|d| d.name.as_str()),
            Some("Acme Holdings Inc.")
        );
        assert!(resolve_alias("Party C", &d).is_none());
    }
}
