//! The rule layer: key terms from the formulaic language of confirmations and disclosures.
//!
//! Three kinds of rules, each producing [`Candidate`]s with evidence:
//! - **labelled lines** (`Trade Date: 06/23/2005`, `名义本金：人民币1,000万元`): the label
//!   catalogue, data in `extraction/data/labels.toml` (English and Chinese spellings, matched
//!   after normalising case, spaces and quotes, with one or two typos allowed in long English
//!   labels, for OCR), maps each label to a reader and the key-term [`Field`] it fills;
//! - **defined terms** (`between "Deutsche Bank" (“Party A”) and Counterparty (“Party B”)`,
//!   `On January 5, 2018 (the "Execution Date")`, `XX公司（以下简称“甲方”）`): who the parties
//!   are, and dates named by a defined term;
//! - **prose** (`the Company entered into … capped call transactions … with …`, `a cap equal to
//!   $218.10`, `received a cash payment of $35,400,000`): the sentence patterns of SEC
//!   disclosures and letter confirmations.
//!
//! Buyer, seller and payer labels name a party by name or by `Party A`/`甲方`; they are mapped to
//! `party_a`/`party_b` once the parties are known, and left out (with a notice) when they name
//! neither.
//!
//! One module per job: `catalogue` loads the label data, `lines` finds labelled lines and hands
//! each value to the reader of its field family, `defined` collects defined terms; the
//! heuristics of each family sit together, readers, prose patterns and the final filing alike:
//! `parties` (parties and roles), `dates`, `amounts` (notional, premium and prices in prose),
//! `rates` (fixed and floating rates, day counts, business days), `product` (underlier, option
//! terms, strike, cap/floor, settlement) and `structure` (barriers, and the knock-out and
//! knock-in of autocallables such as 雪球 and 凤凰).

use std::collections::HashMap;

use serde_json::Value;

use super::parse::{self, NumericOrder};
use super::terms::{Candidate, Field};
use super::text::{Method, Sheet};

mod amounts;
mod catalogue;
mod dates;
mod defined;
mod lines;
mod parties;
mod product;
mod rates;
mod structure;

/// Confidence of a value read after a known label.
const LABEL_CONF: f32 = 0.95;
/// Confidence of a value read from a defined term.
const DEFINED_CONF: f32 = 0.9;
/// Confidence of a value read from a prose pattern.
const PROSE_CONF: f32 = 0.8;
/// Confidence of a value inferred from others (the other party of a two-party swap).
const INFERRED_CONF: f32 = 0.7;

/// What the rules found.
#[derive(Debug, Default)]
pub struct RuleOutput {
    /// Proposed values.
    pub candidates: Vec<Candidate>,
    /// What a reviewer should know (a role naming neither party, an ambiguous date).
    pub notices: Vec<String>,
}

/// A byte range of the text.
type Range = (usize, usize);

/// The state of one run: the document, what was found, and the statements that can only be
/// filed once everything has been read.
struct Ctx<'a> {
    sheet: &'a Sheet,
    order: NumericOrder,
    chinese: bool,
    out: RuleOutput,
    /// Raw role statements (`buyer` → `Party A`) to map once the parties are known.
    roles: Vec<parties::RoleStatement>,
    /// Maturity dates to file under expiration or termination once the product is known.
    maturities: Vec<dates::Maturity>,
    /// Barriers: kind (if the label says), level, unit, evidence range, label.
    barriers: Vec<structure::BarrierStatement>,
}

impl Ctx<'_> {
    /// Proposes `value` for `field`, with evidence at `span` within `snippet`.
    fn push(
        &mut self,
        field: Field,
        value: Value,
        span: Range,
        snippet: Range,
        conf: f32,
        source: impl Into<String>,
    ) {
        let evidence = self
            .sheet
            .evidence(span, Some(snippet), Method::Rule, conf, source);
        // Names come out as the document writes them (traditional characters, full-width
        // letters), though the rules read the folded text.
        let value = match (field, value) {
            (Field::PartyA | Field::PartyB | Field::UnderlierName, Value::String(v)) => {
                Value::String(self.sheet.written_value(&v, span))
            }
            (_, v) => v,
        };
        self.out.candidates.push(Candidate {
            field: field.name().to_owned(),
            value,
            evidence,
        });
    }

    /// Whether a value has been proposed for `field`.
    fn has(&self, field: Field) -> bool {
        self.out.candidates.iter().any(|c| c.field == field.name())
    }

    /// The first value proposed for `field`.
    fn first(&self, field: Field) -> Option<&Candidate> {
        self.out.candidates.iter().find(|c| c.field == field.name())
    }
}

/// Runs every rule over a document. `product` is the classified family (it decides where
/// `Maturity Date` goes and which barrier is the knock-out of a snowball).
pub fn run(sheet: &Sheet, product: Option<&str>, chinese: bool) -> RuleOutput {
    let mut cx = Ctx {
        sheet,
        order: parse::numeric_order(&sheet.text),
        chinese,
        out: RuleOutput::default(),
        roles: Vec::new(),
        maturities: Vec::new(),
        barriers: Vec::new(),
    };
    // The order is the order of the candidates, which the resolver keeps: labels first, then
    // defined terms, then prose, then what can only be filed at the end.
    lines::labelled_lines(&mut cx);
    let defs: HashMap<String, defined::Definition> = defined::definitions(sheet);
    dates::from_definitions(&mut cx, &defs);
    parties::from_definitions(&mut cx, &defs);
    parties::entered_into(&mut cx, &defs, product);
    parties::role_sentences(&mut cx);
    amounts::money_phrases(&mut cx);
    product::shares_and_settlement(&mut cx);
    parties::map_roles(&mut cx, &defs);
    dates::file_maturities(&mut cx, product);
    structure::file_barriers(&mut cx, product);
    amounts::premium_from_rate(&mut cx);
    cx.out
}

/// Strips template quotes, trailing punctuation and surrounding space from a value.
fn clean(s: &str) -> &str {
    s.trim()
        .trim_matches(['"', '“', '”', '\'', '‘', '’'])
        .trim()
        .trim_end_matches([';', '；', ','])
        .trim()
}

/// Strips leading articles and quantifiers from a party name as written (`The Hedge Fund LP`,
/// `an Affiliate`), except from a name in capitals that starts with the letter A (`A BANK`).
fn clean_name(s: &str) -> String {
    let mut s = clean(s);
    for prefix in ["each of ", "the ", "an ", "a "] {
        let Some(head) = s.get(..prefix.len()) else {
            continue;
        };
        if s.len() <= prefix.len() || !head.eq_ignore_ascii_case(prefix) {
            continue;
        }
        let rest = s[prefix.len()..].trim_start();
        let word: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
        let capitals = word.chars().count() >= 2 && word.chars().all(|c| c.is_uppercase());
        if head == "A " && capitals {
            continue;
        }
        s = rest;
    }
    chinese_name(clean(s))
}

/// A Chinese name as Chinese names are written, whatever OCR made of it: no leading stray
/// punctuation (`，、螺纹钢期货`, `.明远一号`), no unmatched bracket at the end (`有限公司〔`),
/// full-width parentheses (`企业(有限合伙)` → `企业（有限合伙）`) and no spaces beside Chinese
/// characters or inside them (`（   有限合伙）`). Names without Chinese characters are
/// returned as they are.
fn chinese_name(s: &str) -> String {
    if !s.chars().any(cjk::is_wide) {
        return s.to_owned();
    }
    let s = s.trim_start_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '，' | '、' | ',' | '.' | ';' | '；' | ':' | '：' | '·' | '。'
            )
    });
    let mut out = String::new();
    let chars: Vec<char> = s
        .chars()
        .map(|c| match c {
            '(' => '（',
            ')' => '）',
            c => c,
        })
        .collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_whitespace() {
            let prev = out.chars().last();
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace()).copied();
            let wide =
                |c: Option<char>| c.is_some_and(|c| cjk::is_wide(c) || c == '（' || c == '）');
            if wide(prev) || wide(next) {
                continue;
            }
        }
        out.push(c);
    }
    let mut t = out.trim().to_owned();
    // An opening bracket left at the end, or a closing one without its opening.
    while t.ends_with(['（', '〔', '【', '[', '「']) {
        t.pop();
        t = t.trim_end().to_owned();
    }
    if t.ends_with('）') && t.matches('（').count() < t.matches('）').count() {
        t.pop();
    }
    t
}

/// What the family tests share: the rules run over a snippet, and one check of what they say.
#[cfg(test)]
mod testing {
    use serde_json::Value;

    use super::{RuleOutput, run};
    use crate::text::Sheet;

    /// The rules over `text` (Chinese if mostly Chinese, as the extractor decides).
    pub(super) fn rules(text: &str, product: Option<&str>) -> RuleOutput {
        run(&Sheet::plain(text), product, cjk::is_mostly_chinese(text))
    }

    /// The values proposed for `field`, in order.
    pub(super) fn values(out: &RuleOutput, field: &str) -> Vec<Value> {
        out.candidates
            .iter()
            .filter(|c| c.field == field)
            .map(|c| c.value.clone())
            .collect()
    }

    /// Checks that the rules over `text` propose exactly these values for these fields (a
    /// field expected with `Value::Null` must have none); other fields are not looked at.
    #[track_caller]
    pub(super) fn check(text: &str, product: Option<&str>, expect: &[(&str, Value)]) {
        let out = rules(text, product);
        for (field, want) in expect {
            let got = values(&out, field);
            let want: Vec<Value> = match want {
                Value::Null => Vec::new(),
                v => vec![v.clone()],
            };
            assert_eq!(got, want, "{field} in {text:?}; notices {:?}", out.notices);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::testing::{check, rules};
    use super::*;

    #[test]
    fn values_and_names_are_cleaned() {
        assert_eq!(clean("  “Deutsche Bank AG” "), "Deutsche Bank AG");
        assert_eq!(clean("Applicable;"), "Applicable");
        assert_eq!(clean("'Applicable'"), "Applicable");
        assert_eq!(clean_name("the Company"), "Company");
        assert_eq!(clean_name("each of the Banks"), "Banks");
        assert_eq!(clean_name("An Affiliate"), "Affiliate");
        // A name in capitals that starts with the letter A keeps it.
        assert_eq!(clean_name("A BANK(\"ABANK\")"), "A BANK(\"ABANK\")");
        // A name that is only an article stays as written.
        assert_eq!(clean_name("a "), "a");
    }

    #[test]
    fn labels_come_before_prose_and_filing() {
        let text = "Trade Date: June 23, 2005\n\
                    Maturity Date: June 23, 2006\n\
                    On June 20, 2005, the Company entered into a capped call transaction \
                    with Bank of Nowhere.";
        let out = rules(text, Some("capped_call"));
        let fields: Vec<&str> = out.candidates.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "trade_date",
                "trade_date",
                "party_a",
                "party_b",
                "buyer",
                "seller",
                "expiration_date"
            ]
        );
        check(
            text,
            Some("capped_call"),
            &[
                ("party_a", json!("Company")),
                ("buyer", json!("party_a")),
                ("expiration_date", json!("2006-06-23")),
            ],
        );
    }

    #[test]
    fn nothing_is_read_from_text_without_terms() {
        let out = rules(
            "Dear Sir or Madam,\nThank you for your letter.\n此致\n敬礼",
            None,
        );
        assert!(out.candidates.is_empty(), "{:?}", out.candidates);
        assert!(out.notices.is_empty());
    }
}
