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

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::parse::{
    self, NumericOrder, day_count, exercise_style, find_dates, find_numbers_with_units, find_rates,
    iso, number_json, option_type, resolve_date, settlement, tenor,
};
use super::terms::{Candidate, Field};
use super::text::{Method, Sheet};

mod catalogue;

use catalogue::{BarrierKind, Target, lookup, normalize_label};

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

static LINE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:[(\[（]?(?:\d{1,2}|[a-zA-Z]|[ivx]{1,4}|[一二三四五六七八九十]{1,2})[.)\]）、]\s*)?(?P<label>[^:：\t|]{1,80}?)\s*(?:[:：|\t]|\s{3,})\s*(?P<value>.*?)\s*$",
    )
    .expect("label line pattern compiles")
});

/// Strips template quotes, trailing punctuation and surrounding space from a value.
fn clean(s: &str) -> &str {
    s.trim()
        .trim_matches(['"', '“', '”', '\'', '‘', '’'])
        .trim()
        .trim_end_matches([';', '；', ','])
        .trim()
}

/// Strips leading articles and quantifiers from a party name as written.
fn clean_name(s: &str) -> String {
    let mut s = clean(s);
    for prefix in ["each of ", "the ", "an ", "a "] {
        if s.len() > prefix.len()
            && s.get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        {
            s = s[prefix.len()..].trim_start();
        }
    }
    clean(s).to_owned()
}

/// A byte range of the flow text.
type Range = (usize, usize);
/// A raw role statement: field, the party as written, value span, snippet, kind, confidence.
type RoleStatement = (Field, String, Range, Range, &'static str, f32);
/// A maturity date: value, span, snippet, label.
type Maturity = (Value, Range, Range, String);
/// A barrier: kind (if the label says), level, unit, span, snippet.
type BarrierStatement = (Option<BarrierKind>, f64, &'static str, Range, Range);

struct Ctx<'a> {
    sheet: &'a Sheet,
    order: NumericOrder,
    chinese: bool,
    out: RuleOutput,
    /// Raw role statements (`buyer` → `Party A`) to map once the parties are known.
    roles: Vec<RoleStatement>,
    /// Maturity dates to file under expiration or termination once the product is known.
    maturities: Vec<Maturity>,
    /// Barriers: kind (if the label says), level, unit, evidence range, label.
    barriers: Vec<BarrierStatement>,
}

impl Ctx<'_> {
    fn push(
        &mut self,
        field: Field,
        value: Value,
        span: (usize, usize),
        snippet: (usize, usize),
        conf: f32,
        source: impl Into<String>,
    ) {
        let evidence = self
            .sheet
            .evidence(span, Some(snippet), Method::Rule, conf, source);
        self.out.candidates.push(Candidate {
            field: field.name().to_owned(),
            value,
            evidence,
        });
    }

    fn date_in(&mut self, text: &str, base: usize) -> Option<(Value, (usize, usize))> {
        let (p, (s, e)) = *find_dates(text).first()?;
        match resolve_date(p, self.order) {
            Some(d) => Some((Value::from(iso(d)), (base + s, base + e))),
            None => {
                self.out.notices.push(format!(
                    "{:?} could be read day-first or month-first and the document does not say which; left out",
                    &text[s..e]
                ));
                None
            }
        }
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
    labelled_lines(&mut cx);
    let defs = defined_terms(&mut cx);
    prose(&mut cx, &defs, product);
    finish(&mut cx, &defs, product);
    cx.out
}

fn labelled_lines(cx: &mut Ctx<'_>) {
    let lines: Vec<(usize, usize)> = cx.sheet.line_ranges().collect();
    for (i, &(ls, le)) in lines.iter().enumerate() {
        let line = &cx.sheet.text[ls..le];
        let Some(c) = LINE_RE.captures(line) else {
            continue;
        };
        let (Some(label_m), Some(value_m)) = (c.name("label"), c.name("value")) else {
            continue;
        };
        let norm = normalize_label(label_m.as_str());
        let Some((target, spelling, unit)) = lookup(&norm) else {
            continue;
        };
        let (mut vs, mut ve) = (ls + value_m.start(), ls + value_m.end());
        let mut snippet = (ls, le);
        if value_m.as_str().trim().is_empty() {
            // The value is on the next non-empty line (tables, wrapped layouts).
            let Some(&(ns, ne)) = lines[i + 1..]
                .iter()
                .find(|(s, e)| !cx.sheet.text[*s..*e].trim().is_empty())
            else {
                continue;
            };
            let next = &cx.sheet.text[ns..ne];
            if LINE_RE
                .captures(next)
                .and_then(|c| c.name("label"))
                .is_some_and(|l| lookup(&normalize_label(l.as_str())).is_some())
            {
                continue;
            }
            (vs, ve) = (ns, ne);
            snippet = (ls, ne);
        }
        let source = format!("label {spelling:?}");
        value(cx, target, (vs, ve), snippet, unit.as_deref(), &source);
    }
}

fn value(
    cx: &mut Ctx<'_>,
    target: Target,
    (vs, ve): (usize, usize),
    snippet: (usize, usize),
    unit: Option<&str>,
    source: &str,
) {
    let raw = cx.sheet.text[vs..ve].to_owned();
    let raw = raw.as_str();
    let chinese = cx.chinese || raw.chars().any(cjk::is_cjk);
    match target {
        Target::Date(field) => {
            if let Some((v, span)) = cx.date_in(raw, vs) {
                cx.push(field, v, span, snippet, LABEL_CONF, source);
            }
        }
        Target::Maturity => {
            if let Some((v, span)) = cx.date_in(raw, vs) {
                cx.maturities.push((v, span, snippet, source.to_owned()));
            }
        }
        Target::Money(field) => {
            let nums = find_numbers_with_units(raw, chinese);
            let with_ccy = nums.iter().find(|a| a.currency.is_some());
            if field == Field::PremiumAmount && raw.contains(['%', '％']) {
                premium_rate(cx, raw, vs, snippet, source);
                if with_ccy.is_none() {
                    return;
                }
            }
            let Some(a) = with_ccy.or_else(|| nums.first()) else {
                return;
            };
            let mut amount = a.value;
            let mut currency = a.currency.clone();
            if let Some(u) = unit {
                if u.contains('万') && !raw.contains('万') {
                    amount *= 1e4;
                }
                if u.contains('亿') && !raw.contains('亿') {
                    amount *= 1e8;
                }
                if currency.is_none() && (u.contains('元') || u.contains("人民币")) {
                    currency = Some("CNY".into());
                }
            }
            let span = (vs + a.span.0, vs + a.span.1);
            cx.push(
                field,
                number_json(amount),
                span,
                snippet,
                LABEL_CONF,
                source,
            );
            if let Some(ccy) = currency
                && let Some(ccy_field) = field.currency()
            {
                cx.push(
                    ccy_field,
                    Value::from(ccy),
                    span,
                    snippet,
                    LABEL_CONF,
                    source,
                );
            }
        }
        Target::PremiumRate => premium_rate(cx, raw, vs, snippet, source),
        Target::Rate(field) => {
            if let Some((frac, _, (s, e))) = find_rates(raw).first().copied() {
                cx.push(
                    field,
                    number_json(frac),
                    (vs + s, vs + e),
                    snippet,
                    LABEL_CONF,
                    source,
                );
            }
        }
        Target::DayCount(field) => {
            if let Some((dc, (s, e))) = day_count(raw) {
                cx.push(
                    field,
                    Value::from(dc),
                    (vs + s, vs + e),
                    snippet,
                    LABEL_CONF,
                    source,
                );
            }
        }
        Target::Tenor(field) => {
            if let Some((t, (s, e))) = tenor(raw) {
                cx.push(
                    field,
                    Value::from(t),
                    (vs + s, vs + e),
                    snippet,
                    LABEL_CONF,
                    source,
                );
            }
        }
        Target::FloatingIndex => {
            let v = clean(raw);
            if v.is_empty() || v.chars().count() > 60 {
                return;
            }
            // `USD-LIBOR-BBA 3M` / `SHIBOR 3M`: the tenor is read separately.
            let (index, tail) = match tenor(v) {
                Some((t, (s, _))) if s > 0 => (v[..s].trim(), Some(t)),
                _ => (v, None),
            };
            let index = index.trim_end_matches(['-', ' ']);
            if index.is_empty() {
                return;
            }
            let start = vs + raw.find(index).unwrap_or(0);
            let span = (start, start + index.len());
            cx.push(
                Field::FloatingRateIndex,
                Value::from(index),
                span,
                snippet,
                LABEL_CONF,
                source,
            );
            if let Some(t) = tail {
                cx.push(
                    Field::FloatingRateTenor,
                    Value::from(t),
                    (vs, ve),
                    snippet,
                    LABEL_CONF,
                    source,
                );
            }
        }
        Target::Party(field) => {
            let name = clean_name(raw);
            if name.is_empty() || name.chars().count() > 200 {
                return;
            }
            let start = vs + raw.find(name.as_str()).unwrap_or(0);
            cx.push(
                field,
                Value::from(name.clone()),
                (start, start + name.len()),
                snippet,
                LABEL_CONF,
                source,
            );
        }
        Target::Role(field) => {
            let v = clean(raw);
            if !v.is_empty() {
                cx.roles
                    .push((field, v.to_owned(), (vs, ve), snippet, "label", LABEL_CONF));
            }
        }
        Target::OptionType | Target::Style | Target::Settlement => {
            let (field, found) = match target {
                Target::OptionType => (Field::OptionType, option_type(raw)),
                Target::Style => (Field::ExerciseStyle, exercise_style(raw)),
                _ => (Field::Settlement, settlement(raw)),
            };
            if let Some((v, (s, e))) = found {
                cx.push(
                    field,
                    Value::from(v),
                    (vs + s, vs + e),
                    snippet,
                    LABEL_CONF,
                    source,
                );
            }
        }
        Target::SettlementApplicable(kind) => {
            let l = raw.trim().to_ascii_lowercase();
            if l.starts_with("applicable") {
                cx.push(
                    Field::Settlement,
                    Value::from(kind.as_str()),
                    (vs, ve),
                    snippet,
                    LABEL_CONF,
                    source,
                );
            }
        }
        Target::Strike => strike(cx, raw, vs, snippet, source),
        Target::Price(field) => {
            let nums = find_numbers_with_units(raw, chinese);
            let Some(a) = nums.first() else { return };
            let span = (vs + a.span.0, vs + a.span.1);
            cx.push(
                field,
                number_json(a.value),
                span,
                snippet,
                LABEL_CONF,
                source,
            );
            if let Some(c) = &a.currency
                && let Some(ccy_field) = field.currency()
            {
                cx.push(
                    ccy_field,
                    Value::from(c.clone()),
                    span,
                    snippet,
                    LABEL_CONF,
                    source,
                );
            }
        }
        Target::Count(field) => {
            if let Some((n, span)) = count(raw) {
                cx.push(
                    field,
                    number_json(n),
                    (vs + span.0, vs + span.1),
                    snippet,
                    LABEL_CONF,
                    source,
                );
            }
        }
        Target::Underlier => underlier(cx, raw, vs, snippet, source),
        Target::Barrier(kind) => {
            let rates = find_rates(raw);
            if let Some((_, written, (s, e))) = rates.first().copied() {
                cx.barriers
                    .push((kind, written, "percent", (vs + s, vs + e), snippet));
            } else if let Some(a) = find_numbers_with_units(raw, chinese).first() {
                cx.barriers.push((
                    kind,
                    a.value,
                    "price",
                    (vs + a.span.0, vs + a.span.1),
                    snippet,
                ));
            }
        }
        Target::Text(field) => {
            let v = clean(raw);
            if !v.is_empty() && v.chars().count() <= 200 {
                cx.push(field, Value::from(v), (vs, ve), snippet, LABEL_CONF, source);
            }
        }
        Target::Bdc => {
            let l = clean(raw).to_ascii_lowercase();
            let bdc = if l.contains("modified following") {
                "MODFOLLOWING"
            } else if l.contains("following") {
                "FOLLOWING"
            } else if l.contains("modified preceding") {
                "MODPRECEDING"
            } else if l.contains("preceding") {
                "PRECEDING"
            } else if l.contains("no adjustment") || l == "none" {
                "NONE"
            } else if raw.contains("经调整的下一") || raw.contains("修正后续") {
                "MODFOLLOWING"
            } else if raw.contains("下一营业日") || raw.contains("下一工作日") {
                "FOLLOWING"
            } else {
                return;
            };
            cx.push(
                Field::BusinessDayConvention,
                Value::from(bdc),
                (vs, ve),
                snippet,
                LABEL_CONF,
                source,
            );
        }
    }
}

/// `Premium: 3% of the Notional Amount` / `期权费率：3%`: the rate, kept as
/// `other.premium_rate`; the amount is computed from the notional at the end.
fn premium_rate(cx: &mut Ctx<'_>, raw: &str, vs: usize, snippet: (usize, usize), source: &str) {
    if let Some((frac, _, (s, e))) = find_rates(raw).first().copied() {
        cx.push(
            Field::PremiumRate,
            number_json(frac),
            (vs + s, vs + e),
            snippet,
            LABEL_CONF,
            source,
        );
    }
}

fn strike(cx: &mut Ctx<'_>, raw: &str, vs: usize, snippet: (usize, usize), source: &str) {
    let chinese = cx.chinese || raw.chars().any(cjk::is_cjk);
    let lower = raw.to_lowercase();
    let rates = find_rates(raw);
    let money = find_numbers_with_units(raw, chinese);
    // A percent strike of the initial level (`100%`, `期初价格的100%`, `100% x Initial Price`),
    // or a strike rate (swaptions, caps): `Strike Rate: 3.5%`.
    if let Some((frac, written, (s, e))) = rates.first().copied() {
        let is_rate =
            source.contains("rate") || lower.contains("per annum") || raw.contains("年化");
        let (value, unit) = if is_rate {
            (number_json(frac), "rate")
        } else {
            (number_json(written), "percent")
        };
        let span = (vs + s, vs + e);
        cx.push(Field::StrikeValue, value, span, snippet, LABEL_CONF, source);
        cx.push(
            Field::StrikeUnit,
            Value::from(unit),
            span,
            snippet,
            LABEL_CONF,
            source,
        );
        return;
    }
    let Some(a) = money
        .iter()
        .find(|a| a.currency.is_some())
        .or(money.first())
    else {
        return;
    };
    let span = (vs + a.span.0, vs + a.span.1);
    cx.push(
        Field::StrikeValue,
        number_json(a.value),
        span,
        snippet,
        LABEL_CONF,
        source,
    );
    cx.push(
        Field::StrikeUnit,
        Value::from("price"),
        span,
        snippet,
        LABEL_CONF,
        source,
    );
    if let Some(c) = &a.currency {
        cx.push(
            Field::StrikeCurrency,
            Value::from(c.clone()),
            span,
            snippet,
            LABEL_CONF,
            source,
        );
    }
}

/// A count written with digits or a word (`1,000`, `One Share per Option`).
fn count(raw: &str) -> Option<(f64, (usize, usize))> {
    static WORD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand)\b")
            .expect("compiles")
    });
    if let Some(a) = find_numbers_with_units(raw, false).first() {
        return Some((a.value, a.span));
    }
    let m = WORD.find(raw)?;
    let n = match m.as_str().to_ascii_lowercase().as_str() {
        "one" => 1.0,
        "two" => 2.0,
        "three" => 3.0,
        "four" => 4.0,
        "five" => 5.0,
        "six" => 6.0,
        "seven" => 7.0,
        "eight" => 8.0,
        "nine" => 9.0,
        "ten" => 10.0,
        "hundred" => 100.0,
        _ => 1000.0,
    };
    Some((n, (m.start(), m.end())))
}

/// `S&P 500 Index (.SPX)`, `中证500指数（000905.SH）`, `ordinary shares of XYZ (Bloomberg: XYZ
/// US)`: the name before the parenthesis, the code inside it.
fn underlier(cx: &mut Ctx<'_>, raw: &str, vs: usize, snippet: (usize, usize), source: &str) {
    static CODE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"[(（]\s*(?:(?:Bloomberg|RIC|ISIN|Ticker|代码|证券代码)\s*(?:code)?\s*[:：]?\s*)?(?P<code>[A-Za-z0-9.\-: ]{2,24}?)\s*[)）]",
        )
        .expect("compiles")
    });
    let v = clean(raw);
    if v.is_empty() || v.chars().count() > 200 {
        return;
    }
    let base = vs + raw.find(v).unwrap_or(0);
    let (name, code) = match CODE.captures(v) {
        Some(c) => {
            let m = c.get(0).expect("match");
            let code = c.name("code").expect("group");
            (
                v[..m.start()].trim(),
                Some((code.as_str().trim(), base + code.start(), base + code.end())),
            )
        }
        None => (v, None),
    };
    if !name.is_empty() {
        cx.push(
            Field::UnderlierName,
            Value::from(name),
            (base, base + name.len()),
            snippet,
            LABEL_CONF,
            source,
        );
    }
    if let Some((code, s, e)) = code
        && code
            .chars()
            .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || c == '.')
    {
        cx.push(
            Field::UnderlierId,
            Value::from(code),
            (s, e),
            snippet,
            LABEL_CONF,
            source,
        );
    }
}

/// A defined term: `NAME (the "TERM")`.
#[derive(Debug, Clone)]
struct Definition {
    name: String,
    /// A date written right before the parenthesis (`On January 5, 2018 (the "Execution
    /// Date")`), with its byte range in the flow text.
    date: Option<(super::parse::DateParse, (usize, usize))>,
    /// Byte range of the name in the flow text.
    name_span: (usize, usize),
    /// Byte range of the whole definition (name to closing parenthesis).
    span: (usize, usize),
}

static DEF_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"[(（]\s*(?:the\s+|each,?\s+(?:a|an)\s+|以下简称|下称)?\s*["“”「]\s*(?P<term>[^"“”」()（）]{1,60}?)\s*["“”」]\s*[)）]"#,
    )
    .expect("definition pattern compiles")
});

fn defined_terms(cx: &mut Ctx<'_>) -> HashMap<String, Definition> {
    let flow = cx.sheet.flow.clone();
    let mut defs: HashMap<String, Definition> = HashMap::new();
    for c in DEF_RE.captures_iter(&flow) {
        let whole = c.get(0).expect("match");
        let term = c.name("term").expect("group").as_str().trim().to_owned();
        let (sent_start, _) = cx.sheet.sentence_at(whole.start());
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
    // Dates named by a defined term.
    let date_terms: &[(&str, Field)] = &[
        ("trade date", Field::TradeDate),
        ("execution date", Field::TradeDate),
        ("pricing date", Field::TradeDate),
        ("effective date", Field::EffectiveDate),
        ("expiration date", Field::ExpirationDate),
        ("termination date", Field::TerminationDate),
        ("交易日", Field::TradeDate),
    ];
    for (term, field) in date_terms {
        if let Some(d) = defs.get(*term).cloned()
            && let Some((p, span)) = d.date
            && let Some(date) = resolve_date(p, cx.order)
        {
            cx.push(
                *field,
                Value::from(iso(date)),
                span,
                (span.0, d.span.1),
                DEFINED_CONF,
                format!("defined term {term:?}"),
            );
        }
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
            r"(?i)(?:\bbetween\b|\band\b|\bwith\b|\bby\b|\bto\b|\bfrom\b|,|由|与|和|及|：|:)",
        )
        .expect("compiles")
    });
    // A comma before a legal form (`Eastbank Securities Co., Ltd.`) is part of the name: take
    // the last boundary whose remainder is more than a legal form.
    let bounds: Vec<usize> = BOUNDARY.find_iter(t).map(|m| m.end()).collect();
    let mut start = 0;
    for b in bounds.iter().rev() {
        if !is_legal_form(&t[*b..]) {
            start = *b;
            break;
        }
    }
    let raw = &t[start..];
    let name = clean_name(raw);
    if name.is_empty() || name.chars().count() > 120 || name.split_whitespace().count() > 12 {
        return None;
    }
    let at = start + raw.find(&name[..name.len().min(raw.len())]).unwrap_or(0);
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
fn resolve_alias<'d>(name: &str, defs: &'d HashMap<String, Definition>) -> Option<&'d Definition> {
    let key = clean_name(name).to_lowercase();
    defs.get(&key)
}

fn prose(cx: &mut Ctx<'_>, defs: &HashMap<String, Definition>, product: Option<&str>) {
    parties_from_definitions(cx, defs);
    entered_into(cx, defs, product);
    money_phrases(cx);
    shares_and_settlement(cx);
}

fn parties_from_definitions(cx: &mut Ctx<'_>, defs: &HashMap<String, Definition>) {
    for (term, field) in [
        ("party a", Field::PartyA),
        ("party b", Field::PartyB),
        ("甲方", Field::PartyA),
        ("乙方", Field::PartyB),
    ] {
        let Some(d) = defs.get(term) else { continue };
        // `Counterparty (“Party B”)`: the name is itself defined elsewhere.
        let (name, span, snippet) = match resolve_alias(&d.name, defs) {
            Some(alias) if !alias.name.eq_ignore_ascii_case(&d.name) => {
                (alias.name.clone(), alias.name_span, alias.span)
            }
            _ => (d.name.clone(), d.name_span, d.span),
        };
        if find_dates(&name).is_empty() {
            cx.push(
                field,
                Value::from(name),
                span,
                snippet,
                DEFINED_CONF,
                format!("defined term {term:?}"),
            );
        }
    }
}

/// Whether the text before a date ends with a word that makes it the date of an act (`on`,
/// `as of`, `dated`).
fn introduces_date(before: &str) -> bool {
    let b = before.trim_end().to_lowercase();
    ["on", "as of", "dated"].iter().any(|w| {
        b.strip_suffix(w)
            .is_some_and(|rest| rest.is_empty() || rest.ends_with([' ', ',', '(', ';']))
    })
}

/// `[On DATE[, and on DATE2],] SUBJECT entered into … PRODUCT … with OBJECT`: the trade date
/// (dates of "additional" transactions go to `other.additional_trade_dates`), the parties, and
/// for capped calls and forward sales who buys.
fn entered_into(cx: &mut Ctx<'_>, defs: &HashMap<String, Definition>, product: Option<&str>) {
    static ENTERED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)\bentered into\b").expect("compiles"));
    static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?:^|[,;]\s*|\s)(?P<subj>(?:the|The)\s+(?:Company|Reporting Person|Issuer|Fund|Trust|Partnership|Purchaser)|[A-Z][A-Za-z&.'\-]*(?:\s+[A-Z][A-Za-z&.'\-]*){0,5})\s*$",
        )
        .expect("compiles")
    });
    const NOT_PARTIES: &[&str] = &[
        "transaction",
        "transactions",
        "agreement",
        "confirmation",
        "party a",
        "party b",
        "parties",
        "it",
        "we",
        "us",
        "they",
    ];
    let flow = cx.sheet.flow.clone();
    let mut seen_sentences: Vec<(usize, usize)> = Vec::new();
    let mut additional_dates: Vec<(String, Range, Range)> = Vec::new();
    for m in ENTERED.find_iter(&flow) {
        let (ss, se) = cx.sheet.sentence_at(m.start());
        if seen_sentences.contains(&(ss, se)) {
            continue;
        }
        seen_sentences.push((ss, se));
        let additional = flow[ss..se].to_lowercase().contains("additional");
        let head = &flow[ss..m.start()];
        // Dates stated before the verb as `on DATE` (`as of`, `dated`) are when the transaction
        // was entered into; other dates in the sentence (a letter's own date run into it) are
        // not.
        let dates: Vec<_> = find_dates(head)
            .into_iter()
            .filter(|(_, (s, _))| introduces_date(&head[..*s]))
            .filter_map(|(p, (s, e))| resolve_date(p, cx.order).map(|d| (d, (ss + s, ss + e))))
            .collect();
        for (i, (d, span)) in dates.iter().enumerate() {
            if additional && (i > 0 || cx_has_trade_date(cx)) {
                additional_dates.push((iso(*d), *span, (ss, se)));
            } else {
                cx.push(
                    Field::TradeDate,
                    Value::from(iso(*d)),
                    *span,
                    (ss, se),
                    PROSE_CONF,
                    "date of \"entered into\"",
                );
            }
        }
        // `SUBJECT entered into … with OBJECT`: the filer is party A, the other side party B.
        let tail = &flow[m.end()..se];
        let Some(w) = tail.find(" with ").filter(|w| *w <= 240) else {
            continue;
        };
        let ws = m.end() + w + 6;
        let what = flow[m.end()..ws].to_lowercase();
        let Some(subj) = SUBJECT
            .captures(head)
            .and_then(|c| c.name("subj"))
            .map(|s| (ss + s.start(), ss + s.end()))
        else {
            continue;
        };
        let subj_name = clean_name(&flow[subj.0..subj.1]);
        if subj_name.is_empty() || NOT_PARTIES.contains(&subj_name.to_lowercase().as_str()) {
            continue;
        }
        let rest = &flow[ws..se];
        let end = [
            rest.find(['(', '（', ',', ';']),
            rest.find(" to "),
            rest.find(" for "),
            rest.find(" under "),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
        let raw = &rest[..end];
        let obj_name = clean_name(raw);
        if obj_name.is_empty()
            || obj_name.split_whitespace().count() > 8
            || NOT_PARTIES.contains(&obj_name.to_lowercase().as_str())
        {
            continue;
        }
        cx.push(
            Field::PartyA,
            Value::from(subj_name.clone()),
            subj,
            (ss, se),
            PROSE_CONF,
            "subject of \"entered into … with\"",
        );
        let at = ws
            + raw
                .find(&obj_name[..obj_name.len().min(raw.len())])
                .unwrap_or(0);
        cx.push(
            Field::PartyB,
            Value::from(obj_name.clone()),
            (at, at + obj_name.len()),
            (ss, se),
            PROSE_CONF,
            "counterparty after \"entered into … with\"",
        );
        // Who buys: the issuer buys capped calls; the seller of a forward sale sells.
        let forward_sale = what.contains("forward sale") || what.contains("sale contract");
        let capped = what.contains("capped call")
            || (product == Some("capped_call") && what.contains("call"));
        if capped || forward_sale {
            let (buyer, seller, why) = if capped {
                (
                    "party_a",
                    "party_b",
                    "the party entering into capped call transactions buys them",
                )
            } else {
                (
                    "party_b",
                    "party_a",
                    "the party entering into a forward sale contract sells",
                )
            };
            let span = (m.start(), m.end());
            cx.push(
                Field::Buyer,
                Value::from(buyer),
                span,
                (ss, se),
                PROSE_CONF,
                why,
            );
            cx.push(
                Field::Seller,
                Value::from(seller),
                span,
                (ss, se),
                PROSE_CONF,
                why,
            );
        }
    }
    if let Some((_, span, snippet)) = additional_dates.first().cloned() {
        let all: Vec<Value> = additional_dates
            .iter()
            .map(|(d, _, _)| Value::from(d.clone()))
            .collect();
        cx.push(
            Field::AdditionalTradeDates,
            Value::Array(all),
            span,
            snippet,
            PROSE_CONF,
            "dates of additional transactions entered into",
        );
    }
    // Defined roles: `with an unaffiliated third party buyer (the "Buyer")`.
    for (term, field) in [("buyer", Field::Buyer), ("seller", Field::Seller)] {
        if let Some(d) = defs.get(term) {
            cx.roles.push((
                field,
                d.name.clone(),
                d.name_span,
                d.span,
                "defined term",
                DEFINED_CONF,
            ));
        }
    }
}

/// Up to `len` bytes of `s` from `start`, cut back to a character boundary.
fn window(s: &str, start: usize, len: usize) -> &str {
    let mut end = (start + len).min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(start..end).unwrap_or("")
}

fn cx_has_trade_date(cx: &Ctx<'_>) -> bool {
    cx.out
        .candidates
        .iter()
        .any(|c| c.field == Field::TradeDate.name())
}

/// Prices and payments stated in prose: cap and floor prices, strikes, upfront payments,
/// reference prices.
fn money_phrases(cx: &mut Ctx<'_>) {
    static PHRASES: LazyLock<Vec<(Regex, Field)>> = LazyLock::new(|| {
        [
            (
                r"(?i)\b(?:forward )?cap price\b[^$€£¥\d.]{0,60}",
                Field::CapPriceValue,
            ),
            (r"(?i)\bcap (?:equal to|of)\s+", Field::CapPriceValue),
            (
                r"(?i)\b(?:forward )?floor price\b[^$€£¥\d.]{0,60}",
                Field::FloorPriceValue,
            ),
            (r"(?i)\bfloor (?:equal to|of)\s+", Field::FloorPriceValue),
            (
                r"(?i)\b(?:strike|exercise) price\b[^$€£¥\d.]{0,40}",
                Field::StrikeValue,
            ),
            (
                r"(?i)\breceived (?:a|an) (?:cash |upfront )?(?:payment|prepayment) of\s+",
                Field::PremiumAmount,
            ),
            (
                r"(?i)\b(?:upfront|option) premium of\s+",
                Field::PremiumAmount,
            ),
            (r"(?i)\bnotional (?:amount )?of\s+", Field::NotionalAmount),
            (
                r"(?i)\b(?:closing|last reported sale|last reported|reference) price of (?:the |our )?(?:[A-Z][A-Za-z]* ){0,3}(?:of\s+)?",
                Field::ReferencePrice,
            ),
        ]
        .into_iter()
        .map(|(p, f)| (Regex::new(p).expect("money phrase compiles"), f))
        .collect()
    });
    let flow = cx.sheet.flow.clone();
    let chinese = cx.chinese;
    for &(ref re, field) in PHRASES.iter() {
        for m in re.find_iter(&flow) {
            let rest = window(&flow, m.end(), 80);
            let amounts = find_numbers_with_units(rest, chinese);
            // The amount must come first (only `initially`/`is`/`was` may stand between).
            let Some(a) = amounts.first() else { continue };
            let gap = rest[..a.span.0].trim().to_lowercase();
            if !gap.is_empty()
                && ![
                    "initially",
                    "is",
                    "is initially",
                    "was",
                    "equal to",
                    "of",
                    "approximately",
                ]
                .contains(&gap.as_str())
            {
                continue;
            }
            let Some(ccy) = a.currency.clone() else {
                continue;
            };
            let span = (m.end() + a.span.0, m.end() + a.span.1);
            let snippet = cx.sheet.sentence_at(m.start());
            let source = format!("phrase {:?}", m.as_str().trim());
            match field {
                Field::ReferencePrice => {
                    cx.push(
                        field,
                        number_json(a.value),
                        span,
                        snippet,
                        PROSE_CONF,
                        &source,
                    );
                    // `… of $109.05 per share … on March 4, 2024`: the first date within
                    // 120 characters that follows "on".
                    let after = window(&flow, span.1, 120);
                    let dated = find_dates(after)
                        .into_iter()
                        .find(|(_, (s, _))| after[..*s].trim_end().to_lowercase().ends_with(" on"));
                    if let Some((p, (s, e))) = dated
                        && let Some(d) = resolve_date(p, cx.order)
                    {
                        cx.push(
                            Field::ReferencePriceDate,
                            Value::from(iso(d)),
                            (span.1 + s, span.1 + e),
                            snippet,
                            PROSE_CONF,
                            &source,
                        );
                    }
                }
                Field::StrikeValue => {
                    cx.push(
                        Field::StrikeValue,
                        number_json(a.value),
                        span,
                        snippet,
                        PROSE_CONF,
                        &source,
                    );
                    cx.push(
                        Field::StrikeUnit,
                        Value::from("price"),
                        span,
                        snippet,
                        PROSE_CONF,
                        &source,
                    );
                    cx.push(
                        Field::StrikeCurrency,
                        Value::from(ccy),
                        span,
                        snippet,
                        PROSE_CONF,
                        &source,
                    );
                }
                // Notional, premium, cap and floor: the amount and its currency.
                _ => {
                    cx.push(
                        field,
                        number_json(a.value),
                        span,
                        snippet,
                        PROSE_CONF,
                        &source,
                    );
                    if let Some(ccy_field) = field.currency() {
                        cx.push(
                            ccy_field,
                            Value::from(ccy),
                            span,
                            snippet,
                            PROSE_CONF,
                            &source,
                        );
                    }
                }
            }
        }
    }
    // `a premium of 100.0% over the closing price`: how far the cap is above the reference.
    static PREMIUM_PCT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\bpremium of (?P<pct>\d+(?:\.\d+)?)\s*%\s*(?:over|above)\b")
            .expect("compiles")
    });
    for c in PREMIUM_PCT.captures_iter(&flow) {
        let pct = c.name("pct").expect("group");
        let sentence = cx.sheet.sentence_at(pct.start());
        if !flow[sentence.0..sentence.1].to_lowercase().contains("cap") {
            continue;
        }
        if let Ok(v) = pct.as_str().parse::<f64>() {
            cx.push(
                Field::CapPremiumPct,
                number_json(v),
                (pct.start(), pct.end() + 1),
                sentence,
                PROSE_CONF,
                "phrase \"premium of …% over\"",
            );
        }
    }
}

/// `an aggregate of 1,000,000 shares of Common Stock`, `shares of Common Stock`; settlement
/// by delivery of shares, in cash, or either at a party's election.
fn shares_and_settlement(cx: &mut Ctx<'_>) {
    static SHARES: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?:(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s+)?shares of (?:the Company's |its |our )?(?P<u>(?:Class [A-Z] )?(?:Common|Ordinary|Preferred) (?:Stock|Shares))",
        )
        .expect("compiles")
    });
    let flow = cx.sheet.flow.clone();
    let mut counted = false;
    for c in SHARES.captures_iter(&flow) {
        let whole = c.get(0).expect("match");
        let snippet = cx.sheet.sentence_at(whole.start());
        let u = c.name("u").expect("group");
        cx.push(
            Field::UnderlierName,
            Value::from(u.as_str()),
            (u.start(), u.end()),
            snippet,
            PROSE_CONF,
            "phrase \"shares of …\"",
        );
        if let Some(n) = c.name("n")
            && !counted
        {
            let sentence = flow[snippet.0..snippet.1].to_lowercase();
            // The contract's size: `up to an aggregate of N shares`, `cover N shares`.
            if (sentence.contains("aggregate") || sentence.contains("cover"))
                && let Some(v) =
                    parse::canonical_decimal(n.as_str()).and_then(|d| d.parse::<f64>().ok())
            {
                cx.push(
                    Field::NumberOfShares,
                    number_json(v),
                    (n.start(), n.end()),
                    snippet,
                    PROSE_CONF,
                    "phrase \"aggregate of N shares\"",
                );
                counted = true;
            }
        }
    }
    static DELIVER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:deliver|delivery of)\b[^.]{0,80}?\bshares\b").expect("compiles")
    });
    static ELECT_CASH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:at (?:the )?[A-Za-z' ]{0,40}?(?:election|option)|elect(?:s|ion)? to)\b[^.]{0,80}?\bcash\b")
            .expect("compiles")
    });
    static CASH_ONLY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:settled|settle|payable) (?:only )?in cash\b|\bcash[- ]settled\b")
            .expect("compiles")
    });
    if let Some(d) = DELIVER.find(&flow) {
        let sentence = cx.sheet.sentence_at(d.start());
        let s = &flow[sentence.0..sentence.1];
        if let Some(e) = ELECT_CASH.find(s) {
            let span = (sentence.0 + e.start(), sentence.0 + e.end());
            cx.push(
                Field::Settlement,
                Value::from("cash_or_physical"),
                span,
                sentence,
                PROSE_CONF,
                "delivery of shares or, at a party's election, cash",
            );
        } else {
            cx.push(
                Field::Settlement,
                Value::from("physical"),
                (d.start(), d.end()),
                sentence,
                PROSE_CONF * 0.9,
                "delivery of shares",
            );
        }
    } else if let Some(c) = CASH_ONLY.find(&flow) {
        let sentence = cx.sheet.sentence_at(c.start());
        cx.push(
            Field::Settlement,
            Value::from("cash"),
            (c.start(), c.end()),
            sentence,
            PROSE_CONF,
            "settled in cash",
        );
    }
}

/// Maps roles to parties, files maturities and barriers, computes a premium from its rate,
/// and adds letter-header parties where no definition named them.
fn finish(cx: &mut Ctx<'_>, defs: &HashMap<String, Definition>, product: Option<&str>) {
    let name_of = |cx: &Ctx<'_>, field: Field| -> Vec<String> {
        cx.out
            .candidates
            .iter()
            .filter(|c| c.field == field.name())
            .filter_map(|c| c.value.as_str().map(str::to_owned))
            .collect()
    };
    let party_a = name_of(cx, Field::PartyA);
    let party_b = name_of(cx, Field::PartyB);
    let roles = std::mem::take(&mut cx.roles);
    let mut payers: Vec<(Field, &'static str, Range, Range)> = Vec::new();
    for (field, raw, span, snippet, kind, conf) in roles {
        let which = party_ref(&raw, &party_a, &party_b, defs);
        match which {
            Some(p) => {
                if field.is_other() {
                    payers.push((field, p, span, snippet));
                }
                cx.push(
                    field,
                    Value::from(p),
                    span,
                    snippet,
                    conf,
                    format!("{kind} naming {raw:?}"),
                );
            }
            None => cx.out.notices.push(format!(
                "{field} is given as {raw:?}, which names neither party; left out"
            )),
        }
    }
    // In a two-party swap the floating-rate payer is the party that does not pay fixed.
    let has = |cx: &Ctx<'_>, f: Field| cx.out.candidates.iter().any(|c| c.field == f.name());
    for (given, other) in [
        (Field::FixedRatePayer, Field::FloatingRatePayer),
        (Field::FloatingRatePayer, Field::FixedRatePayer),
    ] {
        if !has(cx, other)
            && let Some((_, p, span, snippet)) = payers.iter().find(|p| p.0 == given).copied()
        {
            let q = if p == "party_a" { "party_b" } else { "party_a" };
            cx.push(
                other,
                Value::from(q),
                span,
                snippet,
                INFERRED_CONF,
                format!(
                    "the party other than the {}",
                    given.name().trim_start_matches("other.")
                ),
            );
        }
    }
    // Maturity: an option expires, a swap terminates.
    let option_like = matches!(
        product,
        Some(
            "equity_option"
                | "fx_option"
                | "swaption"
                | "commodity_option"
                | "bond_option"
                | "snowball"
                | "phoenix"
                | "capped_call"
                | "cap_floor"
        )
    );
    let field = if option_like {
        Field::ExpirationDate
    } else {
        Field::TerminationDate
    };
    for (v, span, snippet, source) in std::mem::take(&mut cx.maturities) {
        cx.push(field, v, span, snippet, LABEL_CONF, source);
    }
    // Barriers: a snowball's or phoenix's knock-out is the key-terms barrier, its knock-in goes
    // to `other`; otherwise one barrier is the barrier.
    let barriers = std::mem::take(&mut cx.barriers);
    let autocall = matches!(product, Some("snowball" | "phoenix"));
    for (kind, level, unit, span, snippet) in barriers {
        let kind = kind.unwrap_or_else(|| {
            let s = cx.sheet.text[snippet.0..snippet.1].to_lowercase();
            if s.contains("knock-in") || s.contains("knock in") || s.contains("敲入") {
                BarrierKind::KnockIn
            } else {
                BarrierKind::KnockOut
            }
        });
        let line = cx.sheet.text[snippet.0..snippet.1].to_lowercase();
        let stated_direction =
            if line.contains("up") || line.contains("向上") || line.contains("above") {
                Some("up")
            } else if line.contains("down") || line.contains("向下") || line.contains("below") {
                Some("down")
            } else {
                None
            };
        if autocall && kind == BarrierKind::KnockIn {
            cx.push(
                Field::KnockInLevel,
                number_json(level),
                span,
                snippet,
                LABEL_CONF,
                "knock-in label",
            );
            cx.push(
                Field::KnockInLevelUnit,
                Value::from(unit),
                span,
                snippet,
                LABEL_CONF,
                "knock-in label",
            );
            continue;
        }
        cx.push(
            Field::BarrierKind,
            Value::from(kind.as_str()),
            span,
            snippet,
            LABEL_CONF,
            "barrier label",
        );
        cx.push(
            Field::BarrierLevel,
            number_json(level),
            span,
            snippet,
            LABEL_CONF,
            "barrier label",
        );
        if unit == "percent" {
            cx.push(
                Field::BarrierLevelUnit,
                Value::from(unit),
                span,
                snippet,
                LABEL_CONF,
                "barrier label",
            );
        }
        match (stated_direction, autocall) {
            (Some(d), _) => cx.push(
                Field::BarrierDirection,
                Value::from(d),
                span,
                snippet,
                LABEL_CONF,
                "barrier label",
            ),
            // An autocallable knocks out upward by definition of the product.
            (None, true) => cx.push(
                Field::BarrierDirection,
                Value::from("up"),
                span,
                snippet,
                INFERRED_CONF,
                "an autocallable's knock-out is an upward barrier",
            ),
            (None, false) => {}
        }
    }
    // A premium stated as a share of the notional.
    let rate = cx
        .out
        .candidates
        .iter()
        .find(|c| c.field == Field::PremiumRate.name())
        .cloned();
    let notional = cx
        .out
        .candidates
        .iter()
        .find(|c| c.field == Field::NotionalAmount.name())
        .cloned();
    let notional_ccy = cx
        .out
        .candidates
        .iter()
        .find(|c| c.field == Field::NotionalCurrency.name())
        .cloned();
    if let (Some(r), Some(n)) = (rate, notional)
        && !cx
            .out
            .candidates
            .iter()
            .any(|c| c.field == Field::PremiumAmount.name())
        && let (Some(rv), Some(nv)) = (r.value.as_f64(), n.value.as_f64())
    {
        let mut ev = r.evidence.clone();
        ev.source = format!("premium rate {rv} × notional {nv}");
        ev.confidence = ev.confidence.min(n.evidence.confidence);
        let amount = (rv * nv * 100.0).round() / 100.0;
        cx.out.candidates.push(Candidate {
            field: Field::PremiumAmount.name().into(),
            value: number_json(amount),
            evidence: ev.clone(),
        });
        if let Some(c) = notional_ccy {
            cx.out.candidates.push(Candidate {
                field: Field::PremiumCurrency.name().into(),
                value: c.value,
                evidence: ev,
            });
        }
    }
}

/// Which party a role statement names: `Party A`/`甲方`, a party's name (whole, contained, or
/// by its initials, `DBAG` for `Deutsche Bank AG`), or a defined term for one.
fn party_ref(
    raw: &str,
    party_a: &[String],
    party_b: &[String],
    defs: &HashMap<String, Definition>,
) -> Option<&'static str> {
    let v = clean_name(raw);
    let l = v.to_lowercase();
    if l.starts_with("party a") || l.starts_with("甲方") {
        return Some("party_a");
    }
    if l.starts_with("party b") || l.starts_with("乙方") {
        return Some("party_b");
    }
    let resolved = resolve_alias(&v, defs).map(|d| d.name.to_lowercase());
    let matches = |names: &[String]| {
        names.iter().any(|n| {
            let n = n.to_lowercase();
            n == l
                || resolved.as_deref() == Some(n.as_str())
                || (l.len() >= 4 && (n.contains(&l) || l.contains(&n)))
                || initials_match(&v, &n)
        })
    };
    match (matches(party_a), matches(party_b)) {
        (true, false) => Some("party_a"),
        (false, true) => Some("party_b"),
        _ => None,
    }
}

/// `DBAG` ~ `Deutsche Bank AG` / `Deutsche Bank`: the capitals of the abbreviation, less a legal
/// form, are the initials of the name.
fn initials_match(abbrev: &str, name: &str) -> bool {
    if abbrev.len() < 2 || abbrev.len() > 8 || !abbrev.chars().all(|c| c.is_ascii_uppercase()) {
        return false;
    }
    let legal = [
        "AG", "SA", "PLC", "LLC", "INC", "LTD", "NV", "BV", "GMBH", "LP",
    ];
    let mut core = abbrev.to_owned();
    for l in legal {
        if core.len() > l.len() && core.ends_with(l) {
            core.truncate(core.len() - l.len());
            break;
        }
    }
    let initials: String = name
        .split_whitespace()
        .filter(|w| {
            let u = w.trim_end_matches('.').replace('.', "").to_uppercase();
            !legal.contains(&u.as_str())
        })
        .filter_map(|w| w.chars().next())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    initials == core
}
