//! The proofreader: findings on a confirmation's text, each located (section, clause, byte
//! span) with its kind, severity, evidence and, where one is simple, a suggested fix.
//!
//! Four checks, run on any plain text (a draft of ours or an uploaded document's text):
//! - **Consistency inside the document**: key dates in order and on business days (weekends
//!   and the closures given); amounts in figures agree with their words (English words or
//!   Chinese capitals 大写) and their currencies; party names the same wherever a party signs
//!   or takes a role; defined terms defined once, used, and no capitalised term used that is
//!   neither defined nor a label of the document nor a term of the definitions booklets;
//!   cross-references (`Section 5`, `第四条`) point to sections that exist; numbering
//!   without gaps.
//! - **Against the trade**: the text is read by the extraction pipeline (as an uploaded
//!   confirmation would be) and every key term read is compared with the trade's; a term the
//!   trade has and the text lacks, one stated twice with different values, and one the trade
//!   does not have are findings too.
//! - **Against the template**: each section is aligned with its clause; a clause the trade
//!   needs and the text lacks, a section the template does not have, a fallback wording (with
//!   the firm's position on it: acceptable, needs approval, never), lines reworded away from
//!   every wording of the library, and required lines removed.
//! - **Style**: a word repeated, doubled spaces, a space before punctuation, half-width
//!   punctuation between Chinese characters, unbalanced brackets and quotes; each offered as a
//!   suggested fix.
//!
//! No model is called: every finding is deterministic and explains itself. Messages are in the
//! document's language.

use crate::document::{Document, Section, ordinal};
use crate::draft::{Draft, Trade, draft};
use crate::format::{currency_name, parse_amount_words};
use crate::template::{Language, Position, Template, line_condition, placeholders};
use extraction::terms::{leaves_of, same_value};
use extraction::{Extractor, FileResult};
use regex::Regex;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

/// What a proofreading pass is given.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The document's text.
    pub text: &'a str,
    /// Its language (messages are written in it).
    pub language: Language,
    /// The template it should follow, when known.
    pub template: Option<&'a Template>,
    /// The trade it confirms, when known.
    pub trade: Option<&'a Trade>,
    /// Closures besides weekends (`YYYY-MM-DD`), for the business-day check.
    pub holidays: &'a [String],
}

/// Which check found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Inside the document.
    Consistency,
    /// Against the trade.
    Trade,
    /// Against the template.
    Template,
    /// Grammar and format.
    Style,
}

/// How much it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing (an acceptable fallback, a style suggestion).
    Info,
    /// A person should look (a reworded line, an undefined term).
    Warning,
    /// Wrong as it stands (an economic term that differs from the trade).
    Error,
}

/// What kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Two key dates in the wrong order.
    DateOrder,
    /// A key date that is not a business day.
    NonBusinessDay,
    /// An amount whose figures and words differ.
    AmountWords,
    /// An amount whose currency code and currency name differ.
    CurrencyMismatch,
    /// A party named differently from its definition.
    PartyName,
    /// A term defined more than once.
    DefinedTwice,
    /// A term defined and never used.
    UnusedDefinition,
    /// A capitalised term used and never defined.
    UndefinedTerm,
    /// A cross-reference to a section that does not exist.
    BrokenReference,
    /// A gap or repeat in the numbering.
    Numbering,
    /// A key term that differs from the trade.
    TermMismatch,
    /// A key term of the trade the document does not state.
    TermMissing,
    /// A key term stated twice with different values.
    TermConflict,
    /// A key term the document states and the trade does not have.
    TermExtra,
    /// A clause the template has (and the trade needs) that the document lacks.
    ClauseMissing,
    /// A section the template does not have.
    ClauseAdded,
    /// A fallback wording of the library.
    FallbackUsed,
    /// A line that matches no wording of the clause.
    Reworded,
    /// A line of the clause's wording that the document lacks.
    WordingRemoved,
    /// A passage left for legal to write (the model's text failed its checks) or a
    /// model-written passage's marker still in the text.
    Unwritten,
    /// A word written twice in a row.
    RepeatedWord,
    /// Doubled spaces or a space before punctuation.
    Spacing,
    /// Half-width punctuation in Chinese text.
    Punctuation,
    /// A bracket or quote without its pair.
    UnbalancedBracket,
}

impl Kind {
    /// The check that finds this kind.
    pub fn check(self) -> Check {
        use Kind::*;
        match self {
            DateOrder | NonBusinessDay | AmountWords | CurrencyMismatch | PartyName
            | DefinedTwice | UnusedDefinition | UndefinedTerm | BrokenReference | Numbering
            | Unwritten => Check::Consistency,
            TermMismatch | TermMissing | TermConflict | TermExtra => Check::Trade,
            ClauseMissing | ClauseAdded | FallbackUsed | Reworded | WordingRemoved => {
                Check::Template
            }
            RepeatedWord | Spacing | Punctuation | UnbalancedBracket => Check::Style,
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What kind.
    pub kind: Kind,
    /// Which check found it.
    pub check: Check,
    /// How much it matters.
    pub severity: Severity,
    /// The template clause it concerns (for a missing clause: the clause missing).
    pub clause: Option<String>,
    /// The section it lies in, as written (`3 General Terms`, `preamble`).
    pub section: String,
    /// Byte offset of its first byte in the text.
    pub start: usize,
    /// Byte offset after its last byte.
    pub end: usize,
    /// What is wrong, in the document's language.
    pub message: String,
    /// The text or value that shows it.
    pub evidence: String,
    /// A fix, when a simple one exists.
    pub suggestion: Option<String>,
    /// The firm's position on the wording found (fallbacks only).
    pub position: Option<Position>,
}

/// A proofreading pass's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The findings, in document order.
    pub findings: Vec<Finding>,
    /// The sections read, each with the clause it was aligned with.
    pub sections: Vec<Section>,
    /// The key terms read from the text (as extraction reads them).
    pub key_terms: Value,
}

fn say(lang: Language, en: String, zh: String) -> String {
    match lang {
        Language::En => en,
        Language::Zh => zh,
    }
}

struct Ctx {
    doc: Document,
    lang: Language,
    findings: Vec<Finding>,
    /// Per page of the text as extraction reads it: page character offset → byte offset in
    /// the document's text (one past the end included).
    page_bytes: Vec<Vec<usize>>,
}

/// Maps the characters of the pages extraction reads (`connectors`' reading of the text, which
/// may drop blank lines, invisible characters and form feeds, or substitute a character) back
/// to byte offsets of `text`: each page character is the next character of `text` after
/// skipping whitespace and invisible ones, else (a substitution) the next character.
fn page_map(text: &str) -> Vec<Vec<usize>> {
    let pages: Vec<String> = connectors::document::extract_text(
        connectors::document::Input::Bytes {
            bytes: text.as_bytes(),
            name: "document.txt",
        },
        &connectors::document::Limits::default(),
    )
    .map(|d| d.pages.iter().map(|p| p.text()).collect())
    .unwrap_or_else(|_| vec![text.to_string()]);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |k: usize| chars.get(k).map_or(text.len(), |c| c.0);
    let mut k = 0;
    let mut out = Vec::new();
    for page in pages {
        let mut map = Vec::new();
        for pc in page.chars() {
            let mut j = k;
            while j < chars.len()
                && chars[j].1 != pc
                && (chars[j].1.is_whitespace()
                    || cjk::is_invisible(chars[j].1)
                    || chars[j].1.is_control())
            {
                j += 1;
            }
            if j < chars.len() && chars[j].1 == pc {
                map.push(chars[j].0);
                k = j + 1;
            } else {
                map.push(at(k));
                k += 1;
            }
        }
        map.push(at(k));
        out.push(map);
    }
    out
}

impl Ctx {
    fn push(
        &mut self,
        kind: Kind,
        severity: Severity,
        span: (usize, usize),
        message: String,
        evidence: String,
        suggestion: Option<String>,
    ) {
        let sec = self.doc.section_at(span.0);
        self.findings.push(Finding {
            kind,
            check: kind.check(),
            severity,
            clause: sec.clause.clone(),
            section: sec.label(),
            start: span.0,
            end: span.1,
            message,
            evidence,
            suggestion,
            position: None,
        });
    }

    fn lines(&self) -> Vec<(usize, &str)> {
        let mut out = Vec::new();
        let mut pos = 0;
        for l in self.doc.text.split_inclusive('\n') {
            out.push((pos, l.trim_end_matches(['\n', '\r'])));
            pos += l.len();
        }
        out
    }

    /// The byte span of an extraction evidence (character offsets into the text).
    fn evidence_span(&self, fv: &extraction::terms::FieldValue) -> (usize, usize) {
        let Some(e) = fv.evidence.first() else {
            return (0, 0);
        };
        // Offsets are characters of the evidence's page as extraction read it.
        let Some(map) = self.page_bytes.get(e.page.saturating_sub(1) as usize) else {
            return (0, 0);
        };
        let b = |c: usize| {
            map.get(c)
                .copied()
                .unwrap_or_else(|| map.last().copied().unwrap_or(0))
        };
        let (start, end) = (b(e.span[0]), b(e.span[1]));
        // The end maps to the byte after the last character read; trailing space trimmed.
        let end = start + self.doc.text[start..end.max(start)].trim_end().len();
        (start, end)
    }
}

/// Proofreads a document.
pub fn proofread(req: &Request<'_>) -> Report {
    let mut doc = Document::parse(req.text);
    let expected: Option<Draft> = match (req.template, req.trade) {
        (Some(t), Some(tr)) => draft(t, tr).ok(),
        _ => None,
    };
    if let Some(t) = req.template {
        doc.align(t, expected.as_ref());
    }
    let mut cx = Ctx {
        doc,
        lang: req.language,
        findings: Vec::new(),
        page_bytes: page_map(req.text),
    };
    let read = Extractor::new(extraction::Settings::default())
        .extract(req.text.as_bytes(), "document.txt");
    dates(&mut cx, &read, req.holidays, req.trade);
    amounts(&mut cx);
    parties(&mut cx);
    defined_terms(&mut cx);
    references(&mut cx);
    numbering(&mut cx);
    unwritten(&mut cx);
    if let Some(trade) = req.trade {
        against_trade(&mut cx, &read, trade, req.template);
    }
    if let Some(t) = req.template {
        against_template(&mut cx, t, req.trade, expected.as_ref());
    }
    style(&mut cx);
    let mut findings = cx.findings;
    findings.sort_by_key(|f| (f.start, f.kind));
    findings.dedup_by(|a, b| a.kind == b.kind && a.start == b.start && a.end == b.end);
    Report {
        findings,
        sections: cx.doc.sections,
        key_terms: read.key_terms,
    }
}

// ---------------------------------------------------------------------------------------------
// Consistency

const DATE_LEAVES: &[&str] = &[
    "trade_date",
    "effective_date",
    "premium.payment_date",
    "expiration_date",
];

/// What the drafting workspace writes where the model's passage failed its checks.
pub const UNWRITTEN_EN: &str = "[Legal to write:";
/// The same in Chinese documents.
pub const UNWRITTEN_ZH: &str = "〔待法务撰写：";

/// Passages still to be written: legal's placeholder, or a `{{free:ID}}` marker.
fn unwritten(cx: &mut Ctx) {
    let lang = cx.lang;
    let mut out = Vec::new();
    for (pos, line) in cx.lines() {
        for pat in [UNWRITTEN_EN, UNWRITTEN_ZH, "{{free:"] {
            if let Some(i) = line.find(pat) {
                out.push(((pos + i, pos + line.len()), line[i..].to_string()));
                break;
            }
        }
    }
    for (span, evidence) in out {
        cx.push(
            Kind::Unwritten,
            Severity::Error,
            span,
            say(
                lang,
                "a passage is still to be written by legal".into(),
                "有一段文字尚待法务撰写".into(),
            ),
            evidence,
            None,
        );
    }
}

fn field<'r>(read: &'r FileResult, leaf: &str) -> Option<&'r extraction::terms::FieldValue> {
    read.fields.iter().find(|f| f.field == leaf)
}

fn dates(cx: &mut Ctx, read: &FileResult, holidays: &[String], trade: Option<&Trade>) {
    let lang = cx.lang;
    let got: Vec<(&str, String, (usize, usize))> = DATE_LEAVES
        .iter()
        .filter_map(|l| {
            let f = field(read, l)?;
            Some((*l, f.value.as_str()?.to_string(), cx.evidence_span(f)))
        })
        .collect();
    // Each pair that must be in order: (earlier, later).
    let order = [
        ("trade_date", "effective_date"),
        ("trade_date", "premium.payment_date"),
        ("trade_date", "expiration_date"),
        ("effective_date", "expiration_date"),
        ("premium.payment_date", "expiration_date"),
    ];
    // A credit default swap's protection may start before the trade (an index series' roll
    // date, a single name's last coupon date).
    let credit = read.key_terms["product_type"] == "credit_default_swap"
        || trade.is_some_and(|t| {
            t.leaf("product_type").and_then(|v| v.as_str()) == Some("credit_default_swap")
        });
    for (a, b) in order {
        if credit && (a, b) == ("trade_date", "effective_date") {
            continue;
        }
        let (Some(x), Some(y)) = (got.iter().find(|g| g.0 == a), got.iter().find(|g| g.0 == b))
        else {
            continue;
        };
        if x.1 > y.1 {
            cx.push(
                Kind::DateOrder,
                Severity::Error,
                x.2,
                say(
                    lang,
                    format!("{a} ({}) is after {b} ({})", x.1, y.1),
                    format!("{a}（{}）晚于 {b}（{}）", x.1, y.1),
                ),
                format!("{a} = {}, {b} = {}", x.1, y.1),
                None,
            );
        }
    }
    for (leaf, iso, span) in &got {
        let Some(d) = kernels::dates::Date::parse(iso) else {
            continue;
        };
        let weekend = d.weekday() >= 5;
        if weekend || holidays.iter().any(|h| h == iso) {
            let what = if weekend {
                say(lang, "a weekend".into(), "周末".into())
            } else {
                say(lang, "a holiday".into(), "节假日".into())
            };
            // A date the trade itself states is the trade's matter (an unadjusted date, rolled
            // by the business-day convention): worth knowing, not wrong in the document.
            let as_traded = trade
                .and_then(|t| t.leaf(leaf))
                .is_some_and(|v| v.as_str() == Some(iso.as_str()));
            let (severity, en, zh) = if as_traded {
                (
                    Severity::Info,
                    format!("{leaf} {iso} falls on {what}, as in the trade (unadjusted)"),
                    format!("{leaf} {iso} 为{what}，非营业日（与交易一致，未调整）"),
                )
            } else {
                (
                    Severity::Warning,
                    format!("{leaf} {iso} falls on {what}"),
                    format!("{leaf} {iso} 为{what}，非营业日"),
                )
            };
            cx.push(
                Kind::NonBusinessDay,
                severity,
                *span,
                say(lang, en, zh),
                iso.clone(),
                None,
            );
        }
    }
}

static FIGURES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?").unwrap());
static WORDS_EN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(([A-Za-z][A-Za-z /\-]*)\)").unwrap());
static WORDS_ZH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"（大写[：:]\s*([^（）]+)）").unwrap());
const CURRENCIES: &[&str] = &[
    "USD", "EUR", "GBP", "JPY", "CNY", "HKD", "CHF", "SGD", "AUD", "CAD", "TWD",
];

/// The currency a piece of text names (code or name, either language), and the rest.
fn split_currency(text: &str) -> (Option<&'static str>, &str) {
    let t = text.trim();
    for code in CURRENCIES {
        for name in [
            code.to_string(),
            currency_name(code, Language::En),
            currency_name(code, Language::Zh),
        ] {
            if let Some(rest) = t.strip_prefix(name.as_str()) {
                return (Some(code), rest.trim());
            }
        }
    }
    if let Some(rest) = t.strip_prefix("元") {
        return (Some("CNY"), rest.trim());
    }
    (None, t)
}

fn amounts(cx: &mut Ctx) {
    let lang = cx.lang;
    let mut out = Vec::new();
    for (pos, line) in cx.lines() {
        for re in [&*WORDS_EN, &*WORDS_ZH] {
            for c in re.captures_iter(line) {
                let whole = c.get(0).unwrap();
                let inner = c.get(1).unwrap();
                let (word_ccy, words) = split_currency(inner.as_str());
                let Some(in_words) = parse_amount_words(words) else {
                    continue;
                };
                // The figures: the last number before the words.
                let before = &line[..whole.start()];
                let Some(fig) = FIGURES.find_iter(before).last() else {
                    continue;
                };
                let Ok(in_figures) = fig.as_str().replace(',', "").parse::<f64>() else {
                    continue;
                };
                // The currency before the figures: the code or name just ahead of them.
                let ahead = before[..fig.start()].trim_end();
                let fig_ccy = CURRENCIES.iter().copied().find(|code| {
                    ahead.ends_with(code)
                        || ahead.ends_with(&currency_name(code, Language::Zh))
                        || ahead.ends_with(&currency_name(code, Language::En))
                });
                let span = (pos + fig.start(), pos + whole.end());
                let evidence = line[fig.start()..whole.end()].to_string();
                if (in_words - in_figures).abs() > 0.005 {
                    out.push((
                        Kind::AmountWords,
                        span,
                        say(
                            lang,
                            format!(
                                "the amount in figures ({}) differs from the amount in words ({})",
                                fig.as_str(),
                                crate::format::number(in_words, 2)
                            ),
                            format!(
                                "小写金额（{}）与大写金额（{}）不一致",
                                fig.as_str(),
                                crate::format::number(in_words, 2)
                            ),
                        ),
                        evidence.clone(),
                    ));
                }
                if let (Some(a), Some(b)) = (fig_ccy, word_ccy)
                    && a != b
                {
                    out.push((
                        Kind::CurrencyMismatch,
                        span,
                        say(
                            lang,
                            format!("the figures are in {a} but the words in {b}"),
                            format!("小写金额币种为{a}，大写金额币种为{b}"),
                        ),
                        evidence.clone(),
                    ));
                }
            }
        }
    }
    for (k, span, m, e) in out {
        cx.push(k, Severity::Error, span, m, e, None);
    }
}

static EN_PARTY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(Party [AB]):\s*(.+?)\s*$").unwrap());
static ZH_PARTY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([甲乙]方)[：:]\s*(.+?)\s*$").unwrap());
static EN_SIGN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^For and on behalf of\s+(.+?)\s*$").unwrap());
static EN_ROLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(Buyer|Seller):\s*(.+?)\s*$").unwrap());

fn parties(cx: &mut Ctx) {
    let lang = cx.lang;
    let lines = cx.lines();
    // The first definition of each role is the name; the zh signature block repeats
    // `甲方：NAME（盖章）`.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for (pos, line) in &lines {
        let l = line.trim();
        let off = pos + (line.len() - line.trim_start().len());
        if let Some(c) = EN_PARTY.captures(l).or_else(|| ZH_PARTY.captures(l)) {
            let role = c[1].to_string();
            let name = c[2].trim_end_matches("（盖章）").trim().to_string();
            if role.ends_with('方') && (name == "甲方" || name == "乙方") {
                continue;
            }
            match names.get(&role) {
                None => {
                    names.insert(role, name);
                }
                Some(first) if *first != name => {
                    let m = c.get(2).unwrap();
                    out.push((
                        (off + m.start(), off + m.end()),
                        say(
                            lang,
                            format!("{role} is named “{first}” elsewhere, here “{name}”"),
                            format!("{role}在别处名为“{first}”，此处为“{name}”"),
                        ),
                        name.clone(),
                        first.clone(),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    let known: BTreeSet<&String> = names.values().collect();
    if !known.is_empty() {
        for (pos, line) in &lines {
            let l = line.trim();
            let off = pos + (line.len() - line.trim_start().len());
            let found = EN_SIGN
                .captures(l)
                .map(|c| c.get(1).unwrap())
                .or_else(|| EN_ROLE.captures(l).map(|c| c.get(2).unwrap()));
            if let Some(m) = found
                && !known.contains(&m.as_str().to_string())
            {
                let nearest = known
                    .iter()
                    .min_by_key(|k| distance(k, m.as_str()))
                    .map(|k| k.to_string())
                    .unwrap_or_default();
                out.push((
                    (off + m.start(), off + m.end()),
                    say(
                        lang,
                        format!("“{}” is not a party of this document", m.as_str()),
                        format!("“{}”不是本文件的交易方", m.as_str()),
                    ),
                    m.as_str().to_string(),
                    nearest,
                ));
            }
        }
    }
    for (span, m, e, s) in out {
        cx.push(Kind::PartyName, Severity::Error, span, m, e, Some(s));
    }
}

/// Levenshtein distance over chars (for suggestions).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let v = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            cur.push(v);
        }
        prev = cur;
    }
    prev[b.len()]
}

static EN_DEFINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\((?:the|this|each|a|an)?\s*["“]([^"”]+)["”]\)"#).unwrap());
static ZH_DEFINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"（(?:以下)?(?:简称|合称|称)?[“"]([^”"]+)[”"]）"#).unwrap());
static EN_USE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:the|The|this|This|each|Each|such|Such)[ \t]+([A-Z][A-Za-z]*(?:-[A-Za-z]+)*(?:[ \t]+[A-Z][A-Za-z]*(?:-[A-Za-z]+)*)*)")
        .unwrap()
});
static LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*([^:：]{1,40}?)\s*[:：]").unwrap());
static ZH_TERM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\p{Han}{1,6}?(?:协议|确认书|价格|水平|日)").unwrap());

/// Terms the definitions booklets an Agreement incorporates define (names of terms only).
const EN_BOOKLET: &[&str] = &[
    "Option",
    "Share",
    "Index",
    "Exchange",
    "Related Exchange",
    "Scheduled Trading Day",
    "Exchange Business Day",
    "Valuation Time",
    "Valuation Date",
    "Business Day",
    "Currency Business Day",
    "Calculation Agent",
    "Settlement Currency",
    "Cash Settlement Payment Date",
    "Disrupted Day",
    "Market Disruption Event",
    // The Credit Derivatives Definitions.
    "Credit Derivatives Definitions",
    "Credit Event",
    "Credit Event Notice",
    "Notice of Publicly Available Information",
    "Conditions to Settlement",
    "Event Determination Date",
    "Auction Settlement",
    "Fallback Settlement Method",
    "Physical Settlement",
    "Cash Settlement",
    "Bankruptcy",
    "Failure to Pay",
    "Restructuring",
    "Fixed Rate Payer Payment Date",
    "Fixed Amount",
    "Floating Amount",
    "Reference Obligation",
    "Deliverable Obligation",
    "Relevant Annex",
];
/// Chinese terms of the master agreement and of market usage, read as defined.
const ZH_BOOKLET: &[&str] = &[
    "交易日",
    "营业日",
    "收盘价格",
    "交易确认书",
    "补充协议",
    "完整协议",
    "主协议",
    "提前终止日",
    "敲出观察日",
    "结算日",
    "之日",
    "到期日",
    "确认书",
    "本确认书",
];

fn defined_terms(cx: &mut Ctx) {
    let lang = cx.lang;
    let text = cx.doc.text.clone();
    let zh = lang == Language::Zh;
    let mut defined: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for re in [&*EN_DEFINE, &*ZH_DEFINE] {
        for c in re.captures_iter(&text) {
            let m = c.get(1).unwrap();
            defined
                .entry(m.as_str().to_string())
                .or_default()
                .push((m.start(), m.end()));
        }
    }
    let mut known: BTreeSet<String> = defined.keys().cloned().collect();
    for (_, line) in cx.lines() {
        if let Some(c) = LABEL.captures(line) {
            let label = c[1].trim();
            known.insert(label.to_string());
            // `Knock-out Price` also makes `Price` and `Knock-out` words of the document.
            for w in label.split_whitespace() {
                known.insert(w.to_string());
            }
        }
    }
    for s in &cx.doc.sections {
        known.insert(s.heading.clone());
    }
    for b in EN_BOOKLET.iter().chain(ZH_BOOKLET) {
        known.insert(b.to_string());
    }
    let mut out = Vec::new();
    for (term, places) in &defined {
        for p in places.iter().skip(1) {
            out.push((
                Kind::DefinedTwice,
                Severity::Warning,
                *p,
                say(
                    lang,
                    format!("“{term}” is defined more than once"),
                    format!("“{term}”被重复定义"),
                ),
                term.clone(),
            ));
        }
        let uses = text.matches(term.as_str()).count();
        if uses <= places.len() {
            out.push((
                Kind::UnusedDefinition,
                Severity::Info,
                places[0],
                say(
                    lang,
                    format!("“{term}” is defined but never used"),
                    format!("“{term}”已定义但未使用"),
                ),
                term.clone(),
            ));
        }
    }
    let is_known = |t: &str| {
        let singular = t.strip_suffix('s').unwrap_or(t);
        known.contains(t)
            || known.contains(singular)
            || known
                .iter()
                .any(|k| k.strip_suffix('s').is_some_and(|k| k == singular))
    };
    if !zh {
        for c in EN_USE.captures_iter(&text) {
            let m = c.get(1).unwrap();
            let term = m.as_str();
            // Skip the defining occurrence itself and party names.
            if is_known(term)
                || text[m.end()..].starts_with('"')
                || text[..m.start()].ends_with('"')
            {
                continue;
            }
            out.push((
                Kind::UndefinedTerm,
                Severity::Warning,
                (m.start(), m.end()),
                say(
                    lang,
                    format!("“{term}” is used but not defined in this document"),
                    format!("“{term}”未在本文件中定义"),
                ),
                term.to_string(),
            ));
        }
    } else {
        // Chinese: a term ending in a term head (协议, 确认书, 价格, 水平, 日) in running text
        // must end with a defined term, a label or a market term.
        for (pos, line) in cx.lines() {
            if LABEL.is_match(line) && !line.contains('。') {
                continue;
            }
            let masked = mask(line, &[&TITLE, &ZH_DEFINE]);
            for m in ZH_TERM.find_iter(&masked) {
                let cand = m.as_str();
                let ok = known
                    .iter()
                    .filter(|k| k.chars().count() >= 2)
                    .any(|k| cand.ends_with(k.as_str()));
                if ok || cand.chars().count() < 3 || cand.contains(['年', '月']) {
                    continue;
                }
                out.push((
                    Kind::UndefinedTerm,
                    Severity::Warning,
                    (pos + m.start(), pos + m.end()),
                    say(
                        lang,
                        format!("“{cand}” is used but not defined in this document"),
                        format!("“{cand}”未在本文件中定义，也不是标签或通用术语"),
                    ),
                    cand.to_string(),
                ));
            }
        }
    }
    for (k, s, span, m, e) in out {
        cx.push(k, s, span, m, e, None);
    }
}

static TITLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"《[^》]*》").unwrap());

/// `line` with each match of `res` blanked out byte for byte (spaces), so offsets stay.
fn mask(line: &str, res: &[&LazyLock<Regex>]) -> String {
    let mut bytes = line.as_bytes().to_vec();
    for re in res {
        for m in re.find_iter(line) {
            for b in &mut bytes[m.range()] {
                *b = b' ';
            }
        }
    }
    String::from_utf8(bytes).unwrap_or_default()
}

static EN_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:Section|Clause|Paragraph)s?\s+(\d{1,2}(?:\.\d{1,2})*)").unwrap()
});
static ZH_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"第([一二三四五六七八九十]{1,3})(?:条|部分|节)").unwrap());

fn references(cx: &mut Ctx) {
    let lang = cx.lang;
    let text = cx.doc.text.clone();
    let numbers: BTreeSet<String> = cx
        .doc
        .sections
        .iter()
        .map(|s| s.number.trim_end_matches(['、', '.']).to_string())
        .collect();
    let mut out = Vec::new();
    for re in [&*EN_REF, &*ZH_REF] {
        for c in re.captures_iter(&text) {
            let n = c.get(1).unwrap();
            if numbers.contains(n.as_str()) {
                continue;
            }
            let whole = c.get(0).unwrap();
            out.push((
                (whole.start(), whole.end()),
                say(
                    lang,
                    format!(
                        "“{}” refers to a section this document does not have",
                        whole.as_str()
                    ),
                    format!("“{}”所指的条款在本文件中不存在", whole.as_str()),
                ),
                whole.as_str().to_string(),
            ));
        }
    }
    for (span, m, e) in out {
        cx.push(Kind::BrokenReference, Severity::Error, span, m, e, None);
    }
}

fn numbering(cx: &mut Ctx) {
    let lang = cx.lang;
    let mut out = Vec::new();
    // Siblings: the sections of one level under one parent, in order.
    let mut expect: BTreeMap<(u8, String), u64> = BTreeMap::new();
    let mut parents: Vec<String> = Vec::new();
    for s in cx.doc.sections.iter().skip(1) {
        let level = s.level as usize;
        parents.truncate(level.saturating_sub(1));
        let parent = parents.join("/");
        let Some(n) = ordinal(&s.number) else {
            continue;
        };
        // `4.1` must sit under section 4.
        let prefix_ok = match s.number.rsplit_once('.') {
            Some((head, _)) => parents
                .last()
                .is_some_and(|p| p.trim_end_matches(['、', '.']) == head),
            None => true,
        };
        let want = expect.get(&(s.level, parent.clone())).copied().unwrap_or(1);
        if n != want || !prefix_ok {
            out.push((
                s.head.clone(),
                say(
                    lang,
                    format!("section {} follows the numbering out of order (expected number {want} here)", s.label()),
                    format!("条款“{}”编号不连续（此处应为第{want}项）", s.label()),
                ),
                s.label(),
            ));
        }
        expect.insert((s.level, parent), n + 1);
        // Deeper levels restart under this section.
        expect.retain(|(l, _), _| *l <= s.level);
        parents.push(s.number.clone());
    }
    for (span, m, e) in out {
        cx.push(
            Kind::Numbering,
            Severity::Warning,
            (span.start, span.end),
            m,
            e,
            None,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Against the trade

/// A value as a person reads it: a string without its JSON quotes.
fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn against_trade(cx: &mut Ctx, read: &FileResult, trade: &Trade, template: Option<&Template>) {
    let lang = cx.lang;
    let bound: Option<BTreeSet<String>> = template.map(|t| {
        t.bindings()
            .into_iter()
            .filter_map(|b| match b {
                crate::template::Binding::KeyTerm(p) => Some(p),
                crate::template::Binding::Cdm(_) => None,
            })
            .collect()
    });
    let want: Vec<(String, Value)> = leaves_of(&trade.key_terms)
        .into_iter()
        .filter(|(f, v)| !f.starts_with("other.") && !v.is_null())
        .filter(|(f, _)| bound.as_ref().is_none_or(|b| b.contains(f)))
        .collect();
    let mut out = Vec::new();
    let mut missing_clause_of: Vec<(String, String)> = Vec::new();
    for (leaf, value) in &want {
        if let Some(conflict) = read.conflicts.iter().find(|c| c.field == *leaf) {
            for fv in conflict
                .values
                .iter()
                .filter(|fv| !same_value(&fv.value, value))
            {
                out.push((
                    Kind::TermConflict,
                    cx.evidence_span(fv),
                    say(
                        lang,
                        format!("{leaf} is stated as {} here and differently elsewhere; the trade has {}", plain(&fv.value), plain(value)),
                        format!("{leaf} 此处为 {}，与文件其他处不一致；交易为 {}", plain(&fv.value), plain(value)),
                    ),
                    plain(&fv.value),
                    Some(plain(value)),
                ));
            }
            continue;
        }
        match read.fields.iter().find(|f| f.field == *leaf) {
            Some(fv) if same_value(&fv.value, value) => {}
            Some(fv) => out.push((
                Kind::TermMismatch,
                cx.evidence_span(fv),
                say(
                    lang,
                    format!(
                        "{leaf} is {} in the document but {} in the trade",
                        plain(&fv.value),
                        plain(value)
                    ),
                    format!(
                        "{leaf} 文件中为 {}，交易为 {}",
                        plain(&fv.value),
                        plain(value)
                    ),
                ),
                plain(&fv.value),
                Some(plain(value)),
            )),
            None => {
                // Located at the clause that states it, when the template says which.
                let binder = template.and_then(|t| {
                    t.walk().into_iter().find(|(c, _)| {
                        placeholders(&c.text)
                            .iter()
                            .any(|(_, p)| p.as_ref().is_ok_and(|p| p.binding.written() == *leaf))
                    })
                });
                let at = binder
                    .as_ref()
                    .and_then(|(c, _)| cx.doc.section_of(&c.id))
                    .map(|s| (s.head.start, s.head.end))
                    .unwrap_or((0, 0));
                // The clause that states it is missing: the finding belongs to that clause.
                if let Some((c, _)) = binder
                    && cx.doc.section_of(&c.id).is_none()
                {
                    missing_clause_of.push((leaf.clone(), c.id.clone()));
                }
                out.push((
                    Kind::TermMissing,
                    at,
                    say(
                        lang,
                        format!(
                            "the document does not state {leaf} (the trade has {})",
                            plain(value)
                        ),
                        format!("文件未载明 {leaf}（交易为 {}）", plain(value)),
                    ),
                    String::new(),
                    Some(plain(value)),
                ));
            }
        }
    }
    for fv in &read.fields {
        if fv.field.starts_with("other.")
            || want.iter().any(|(f, _)| *f == fv.field)
            || bound.as_ref().is_some_and(|b| !b.contains(&fv.field))
            || trade.leaf(&fv.field).is_some()
        {
            continue;
        }
        out.push((
            Kind::TermExtra,
            cx.evidence_span(fv),
            say(
                lang,
                format!(
                    "the document states {} = {}, which the trade does not have",
                    fv.field,
                    plain(&fv.value)
                ),
                format!(
                    "文件载明 {} = {}，交易中没有该要素",
                    fv.field,
                    plain(&fv.value)
                ),
            ),
            plain(&fv.value),
            None,
        ));
    }
    for (k, span, m, e, s) in out {
        let sev = if k == Kind::TermExtra {
            Severity::Warning
        } else {
            Severity::Error
        };
        let owner = (k == Kind::TermMissing)
            .then(|| {
                missing_clause_of
                    .iter()
                    .find(|(leaf, _)| m.contains(leaf.as_str()))
                    .map(|(_, c)| c.clone())
            })
            .flatten();
        cx.push(k, sev, span, m, e, s);
        if let (Some(c), Some(f)) = (owner, cx.findings.last_mut()) {
            f.clause = Some(c);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Against the template

/// One line of a wording: its pattern (placeholders as wildcards), whether the document must
/// have it, and the line as the template writes it.
struct WordingLine {
    pattern: Regex,
    required: bool,
    source: String,
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn wording_lines(text: &str, trade: Option<&Trade>) -> Vec<WordingLine> {
    let mut out = Vec::new();
    for raw in text.lines() {
        let Ok((cond, line)) = line_condition(raw) else {
            continue;
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut pat = String::from("^");
        let mut last = 0;
        let mut optional_unstated = false;
        for (range, p) in placeholders(line) {
            pat.push_str(&regex::escape(&squash(&line[last..range.start])).replace("\\ ", " "));
            // Spaces around a placeholder are squashed like the document's.
            pat.push_str(".+?");
            last = range.end;
            if let Ok(p) = p
                && p.optional
            {
                let stated = trade.is_some_and(|t| match &p.binding {
                    crate::template::Binding::KeyTerm(l) => t.leaf(l).is_some(),
                    crate::template::Binding::Cdm(c) => t.cdm_value(c).is_some(),
                });
                optional_unstated |= !stated;
            }
        }
        pat.push_str(&regex::escape(&squash(&line[last..])));
        pat.push('$');
        let applies = match trade {
            _ if cond.is_empty() => true,
            Some(t) => cond.iter().all(|c| t.meets(&c.condition) == c.positive),
            None => false,
        };
        let Ok(pattern) = Regex::new(&pat) else {
            continue;
        };
        out.push(WordingLine {
            pattern,
            required: applies && !optional_unstated,
            source: line.to_string(),
        });
    }
    out
}

fn body_lines(text: &str, range: std::ops::Range<usize>) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut pos = range.start;
    for l in text[range.clone()].split_inclusive('\n') {
        let t = l.trim();
        if !t.is_empty() {
            let lead = l.len() - l.trim_start().len();
            out.push((pos + lead, pos + lead + t.len(), squash(t)));
        }
        pos += l.len();
    }
    out
}

fn against_template(cx: &mut Ctx, t: &Template, trade: Option<&Trade>, expected: Option<&Draft>) {
    let lang = cx.lang;
    let text = cx.doc.text.clone();
    // Which clauses the document must have.
    let needed: Vec<String> = match expected {
        Some(d) => d.walk().iter().map(|c| c.id.clone()).collect(),
        None => t
            .walk()
            .into_iter()
            .filter(|(c, path)| c.when.is_none() && path.len() <= 1)
            .map(|(c, _)| c.id.clone())
            .collect(),
    };
    let mut findings: Vec<Finding> = Vec::new();
    let push = |findings: &mut Vec<Finding>,
                sec: &Section,
                clause: Option<String>,
                kind: Kind,
                severity: Severity,
                span: (usize, usize),
                message: String,
                evidence: String,
                suggestion: Option<String>,
                position: Option<Position>| {
        findings.push(Finding {
            kind,
            check: kind.check(),
            severity,
            clause,
            section: sec.label(),
            start: span.0,
            end: span.1,
            message,
            evidence,
            suggestion,
            position,
        })
    };
    for id in &needed {
        if cx.doc.section_of(id).is_some() {
            continue;
        }
        let Some(c) = t.clause(id) else { continue };
        // Placed where it would have stood: before the next section aligned with a later
        // clause, else at the end.
        let order: Vec<String> = t.walk().into_iter().map(|(c, _)| c.id.clone()).collect();
        let me = order.iter().position(|o| o == id).unwrap_or(0);
        let at = cx
            .doc
            .sections
            .iter()
            .find(|s| {
                s.clause
                    .as_ref()
                    .and_then(|c| order.iter().position(|o| o == c))
                    .is_some_and(|p| p > me)
            })
            .map(|s| s.head.start)
            .unwrap_or(text.len());
        let sec = cx.doc.section_at(at.saturating_sub(1)).clone();
        let name = format!("{} {}", c.number, c.heading).trim().to_string();
        push(
            &mut findings,
            &sec,
            Some(id.clone()),
            Kind::ClauseMissing,
            Severity::Error,
            (at, at),
            say(
                lang,
                format!("clause “{name}” of template {} is missing", t.id),
                format!("缺少模板 {} 的条款“{name}”", t.id),
            ),
            name.clone(),
            Some(c.text.clone()),
            None,
        );
    }
    for sec in cx.doc.sections.clone() {
        let Some(id) = sec.clause.clone() else {
            if sec.level > 0 {
                push(
                    &mut findings,
                    &sec,
                    None,
                    Kind::ClauseAdded,
                    Severity::Warning,
                    (sec.head.start, sec.head.end),
                    say(
                        lang,
                        format!("section “{}” is not in template {}", sec.label(), t.id),
                        format!("条款“{}”不在模板 {} 中", sec.label(), t.id),
                    ),
                    sec.label(),
                    None,
                    None,
                );
            }
            continue;
        };
        let Some(c) = t.clause(&id) else { continue };
        let lines = body_lines(&text, sec.body.clone());
        let mut wordings: Vec<(Option<usize>, Vec<WordingLine>)> =
            vec![(None, wording_lines(&c.text, trade))];
        for (i, f) in c.fallbacks.iter().enumerate() {
            wordings.push((Some(i), wording_lines(&f.text, trade)));
        }
        // The wording the section follows: the most lines matched, fewest required missing.
        let score = |w: &Vec<WordingLine>| {
            let hit = lines
                .iter()
                .filter(|(_, _, l)| w.iter().any(|wl| wl.pattern.is_match(l)))
                .count() as i64;
            let lacking = w
                .iter()
                .filter(|wl| wl.required && !lines.iter().any(|(_, _, l)| wl.pattern.is_match(l)))
                .count() as i64;
            hit * 2 - lacking
        };
        let (best, wl) = wordings
            .iter()
            .max_by_key(|(i, w)| (score(w), i.is_none()))
            .map(|(i, w)| (*i, w))
            .expect("the preferred wording is always there");
        if let Some(n) = best {
            let f = &c.fallbacks[n];
            let severity = match f.position {
                Position::Acceptable => Severity::Info,
                Position::NeedsApproval => Severity::Warning,
                Position::Never => Severity::Error,
            };
            let pos = f.position.as_str();
            push(
                &mut findings,
                &sec,
                Some(id.clone()),
                Kind::FallbackUsed,
                severity,
                (sec.body.start, sec.body.end),
                say(
                    lang,
                    format!(
                        "clause “{}” uses fallback wording {} of the library (position: {pos})",
                        sec.label(),
                        n + 1
                    ),
                    format!(
                        "条款“{}”使用了条款库的备选措辞 {}（立场：{pos}）",
                        sec.label(),
                        n + 1
                    ),
                ),
                f.text.clone(),
                (f.position != Position::Acceptable).then(|| c.text.clone()),
                Some(f.position),
            );
        }
        for (s, e, l) in &lines {
            if wl.iter().any(|w| w.pattern.is_match(l)) {
                continue;
            }
            let nearest = wl
                .iter()
                .map(|w| (distance(&w.source, l), &w.source))
                .min()
                .map(|(_, s)| s.clone());
            push(
                &mut findings,
                &sec,
                Some(id.clone()),
                Kind::Reworded,
                Severity::Warning,
                (*s, *e),
                say(
                    lang,
                    "this line matches no wording of the clause library".into(),
                    "此行与条款库中该条款的任何措辞都不一致".into(),
                ),
                l.clone(),
                nearest,
                None,
            );
        }
        for w in wl.iter().filter(|w| w.required) {
            if lines.iter().any(|(_, _, l)| w.pattern.is_match(l)) {
                continue;
            }
            push(
                &mut findings,
                &sec,
                Some(id.clone()),
                Kind::WordingRemoved,
                Severity::Warning,
                (sec.body.end, sec.body.end),
                say(
                    lang,
                    format!("a line of the clause's wording is missing: {}", w.source),
                    format!("条款缺少一行措辞：{}", w.source),
                ),
                w.source.clone(),
                Some(w.source.clone()),
                None,
            );
        }
    }
    cx.findings.extend(findings);
}

// ---------------------------------------------------------------------------------------------
// Style

static EN_SPACE_PUNCT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\S( +)[,.;:)]").unwrap());
static DOUBLE_SPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\S(  +)\S").unwrap());
static ZH_HALF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\p{Han}([,;:!?])(\p{Han}|$)").unwrap());
static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z]+").unwrap());

/// A finding before it is placed: kind, span, message, evidence, suggestion.
type Raw = (Kind, (usize, usize), String, String, Option<String>);

fn style(cx: &mut Ctx) {
    let lang = cx.lang;
    let mut out: Vec<Raw> = Vec::new();
    for (pos, line) in cx.lines() {
        let words: Vec<regex::Match> = WORD.find_iter(line).collect();
        for w in words.windows(2) {
            let gap = &line[w[0].end()..w[1].start()];
            if gap.chars().all(|c| c == ' ')
                && !gap.is_empty()
                && w[0].as_str().eq_ignore_ascii_case(w[1].as_str())
                && w[0].as_str().len() > 1
            {
                out.push((
                    Kind::RepeatedWord,
                    (pos + w[0].start(), pos + w[1].end()),
                    say(
                        lang,
                        format!("“{}” is written twice", w[0].as_str()),
                        format!("“{}”重复", w[0].as_str()),
                    ),
                    line[w[0].start()..w[1].end()].to_string(),
                    Some(w[0].as_str().to_string()),
                ));
            }
        }
        let trimmed_start = line.len() - line.trim_start().len();
        for c in DOUBLE_SPACE.captures_iter(line) {
            let m = c.get(1).unwrap();
            if m.start() < trimmed_start {
                continue;
            }
            out.push((
                Kind::Spacing,
                (pos + m.start(), pos + m.end()),
                say(lang, "more than one space".into(), "多余空格".into()),
                m.as_str().to_string(),
                Some(" ".into()),
            ));
        }
        for c in EN_SPACE_PUNCT.captures_iter(line) {
            let m = c.get(1).unwrap();
            out.push((
                Kind::Spacing,
                (pos + m.start(), pos + m.end()),
                say(
                    lang,
                    "a space before punctuation".into(),
                    "标点前有空格".into(),
                ),
                m.as_str().to_string(),
                Some(String::new()),
            ));
        }
        for c in ZH_HALF.captures_iter(line) {
            let m = c.get(1).unwrap();
            let full = match m.as_str() {
                "," => "，",
                ";" => "；",
                ":" => "：",
                "!" => "！",
                _ => "？",
            };
            out.push((
                Kind::Punctuation,
                (pos + m.start(), pos + m.end()),
                say(
                    lang,
                    format!("half-width “{}” in Chinese text", m.as_str()),
                    format!("中文中使用了半角标点“{}”", m.as_str()),
                ),
                m.as_str().to_string(),
                Some(full.into()),
            ));
        }
        for (open, close) in [
            ('(', ')'),
            ('（', '）'),
            ('《', '》'),
            ('“', '”'),
            ('[', ']'),
        ] {
            let (o, c) = (line.matches(open).count(), line.matches(close).count());
            if o != c {
                let at = line.find(if o > c { open } else { close }).unwrap_or(0);
                let ch = if o > c { open } else { close };
                out.push((
                    Kind::UnbalancedBracket,
                    (pos + at, pos + at + ch.len_utf8()),
                    say(
                        lang,
                        format!(
                            "“{ch}” has no matching “{}”",
                            if o > c { close } else { open }
                        ),
                        format!("“{ch}”缺少配对的“{}”", if o > c { close } else { open }),
                    ),
                    line.trim().to_string(),
                    None,
                ));
            }
        }
        if line.matches('"').count() % 2 == 1 {
            let at = line.find('"').unwrap_or(0);
            out.push((
                Kind::UnbalancedBracket,
                (pos + at, pos + at + 1),
                say(
                    lang,
                    "a quotation mark without its pair".into(),
                    "引号不成对".into(),
                ),
                line.trim().to_string(),
                None,
            ));
        }
    }
    for (k, span, m, e, s) in out {
        cx.push(k, Severity::Info, span, m, e, s);
    }
}
