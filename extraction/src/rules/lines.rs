//! Labelled lines: `Trade Date: 06/23/2005`, `1. 名义本金：人民币1,000万元`, `Strike Price   USD 12.50`,
//! a label alone on its line with the value on the next. Each label is looked up in the
//! catalogue and its value handed to the reader of its field family; the plain text reader
//! (`other.calculation_agent`, `other.governing_law`…) lives here.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::catalogue::{Target, lookup, normalize_label};
use super::{Ctx, LABEL_CONF, Range, amounts, clean, dates, parties, product, rates, structure};
use crate::terms::Field;

/// A label, then a colon (either width), a bar, a tab or three spaces, then the value; an
/// item number (`1.`, `(a)`, `（一）`, `二、`) may come first.
static LINE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:[(\[（]?(?:\d{1,2}|[a-zA-Z]|[ivx]{1,4}|[一二三四五六七八九十]{1,2})[.)\]）、，…]{1,3}\s*)?(?P<label>[^:：\t|]{1,80}?)\s*(?:[:：|\t]|\s{3,})\s*(?P<value>.*?)\s*$",
    )
    .expect("label line pattern compiles")
});

/// An identifier alone in parentheses on its line.
static WRAPPED_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[(（]\s*[A-Za-z0-9][A-Za-z0-9 .\-_=]{0,38}\s*[)）]\s*$").expect("compiles")
});

/// A Chinese label and its value separated by spaces only, as a two-column table reads once
/// flattened to text (`行权价格  期初价格的100%`, `甲方（期权卖方） 恒川证券股份有限公司`): the label
/// is Chinese characters (with an optional parenthesis) and must be in the catalogue.
static ZH_SPACED_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
r#"^\s*(?:[(\[（]?(?:\d{1,2}|[一二三四五六七八九十]{1,2})[.)\]）、，…]{1,3}\s*)?(?P<label>\p{Han}{2,20}(?:\s*[（(][^）)]{1,16}[）)])?)(?:\s*[”“"]\s*|\s+)(?P<value>\S.*?)\s*$"#,
    )
    .expect("spaced label line pattern compiles")
});

/// A Chinese line as OCR reads it when the gap or colon after the label is lost or read as a
/// quote mark (`交易日”二〇二六年十月十二日`, `标的资产沪深300指数（000300.SH）`): the label is
/// tried as a prefix of the line, longest first.
static ZH_PREFIX_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:[(\[（]?(?:\d{1,2}|[一二三四五六七八九十]{1,2})[.)\]）、，,…:;；]{0,3}\s*)?(?P<rest>\p{Han}.*?)\s*$",
    )
    .expect("prefix line pattern compiles")
});

/// The label and value of a line, if its label is in the catalogue: `label: value` (or a bar,
/// tab or three spaces), else a Chinese label followed by spaces, else (OCR) a Chinese label
/// run into its value.
fn split_line(line: &str) -> Option<(Range, Range)> {
    let known = |c: &regex::Captures<'_>| {
        c.name("label")
            .is_some_and(|l| lookup(&normalize_label(l.as_str())).is_some())
    };
    let range = |m: regex::Match<'_>| (m.start(), m.end());
    if let Some(c) = LINE_RE
        .captures(line)
        .filter(known)
        .or_else(|| ZH_SPACED_RE.captures(line).filter(known))
    {
        return Some((range(c.name("label")?), range(c.name("value")?)));
    }
    prefix_label(line)
}

/// A Chinese catalogue label at the start of `line` with its value run on after it, the
/// separator lost or read as a quote mark by OCR (`交易日”2026/08/03`, `1交易日: …`). Labels of
/// typed values (dates, amounts, rates, levels, the underlier…) are taken with or without a
/// separator; party, role and free-text labels only with one, since they could start a
/// sentence (`甲方同意…`).
fn prefix_label(line: &str) -> Option<(Range, Range)> {
    let rest = ZH_PREFIX_RE.captures(line)?.name("rest")?;
    let text = rest.as_str();
    let ends: Vec<usize> = text
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .take(12)
        .collect();
    for &end in ends.iter().rev() {
        let label = &text[..end];
        if label.chars().count() < 2 || !label.chars().all(cjk::is_cjk) {
            continue;
        }
        let Some((target, _, _)) = lookup(&normalize_label(label)) else {
            continue;
        };
        let after = &text[end..];
        let skip = after.len()
            - after
                .trim_start_matches(|c: char| {
                    c.is_whitespace()
                        || matches!(
                            c,
                            '”' | '“'
                                | '"'
                                | '\''
                                | '‘'
                                | '’'
                                | '、'
                                | '：'
                                | ':'
                                | '·'
                                | ';'
                                | '；'
                        )
                })
                .len();
        // A party or free-text label could start a sentence (`甲方同意…`): taken only with a
        // separator, however misread (`乙方;:明远…`).
        let separated = after[..skip].contains([':', '：', ';', '；', '”', '“', '"']);
        if matches!(
            target,
            Target::Party(_) | Target::Role(_) | Target::Text(_) | Target::UnderlierId
        ) && !separated
        {
            return None;
        }
        let vs = rest.start() + end + skip;
        if vs >= rest.end() {
            return None;
        }
        return Some(((rest.start(), rest.start() + end), (vs, rest.end())));
    }
    None
}

/// A value found after a label, as the readers get it.
pub(super) struct Labelled<'a> {
    /// The value as written.
    pub(super) raw: &'a str,
    /// Where `raw` starts in the text.
    pub(super) start: usize,
    /// Where `raw` ends in the text.
    pub(super) end: usize,
    /// The line (or the label's line and the value's) that states it.
    pub(super) snippet: Range,
    /// A unit in parentheses after the label (`名义本金（万元）` → `万元`).
    pub(super) unit: Option<&'a str>,
    /// The evidence's source: `label "trade date"`.
    pub(super) source: &'a str,
    /// Whether numbers are read the Chinese way (万, 亿, 元): the document or the value is
    /// Chinese.
    pub(super) chinese: bool,
}

impl Labelled<'_> {
    /// The text range of `raw[s..e]`.
    pub(super) fn at(&self, (s, e): Range) -> Range {
        (self.start + s, self.start + e)
    }

    /// Proposes a value read after the label, with the label's confidence.
    pub(super) fn propose(&self, cx: &mut Ctx<'_>, field: Field, value: Value, span: Range) {
        cx.push(field, value, span, self.snippet, LABEL_CONF, self.source);
    }
}

/// Reads every labelled line of the document.
pub(super) fn labelled_lines(cx: &mut Ctx<'_>) {
    let lines: Vec<Range> = cx.sheet.line_ranges().collect();
    for (i, &(ls, le)) in lines.iter().enumerate() {
        let line = &cx.sheet.text[ls..le];
        let Some((label_r, value_r)) = split_line(line) else {
            continue;
        };
        let value_str = &line[value_r.0..value_r.1];
        let norm = normalize_label(&line[label_r.0..label_r.1]);
        let Some((target, spelling, unit)) = lookup(&norm) else {
            continue;
        };
        let (mut vs, mut ve) = (ls + value_r.0, ls + value_r.1);
        let mut snippet = (ls, le);
        if value_str.trim().is_empty() {
            // The value is on the next non-empty line (tables, wrapped layouts).
            let Some(&(ns, ne)) = lines[i + 1..]
                .iter()
                .find(|(s, e)| !cx.sheet.text[*s..*e].trim().is_empty())
            else {
                continue;
            };
            let next = &cx.sheet.text[ns..ne];
            if split_line(next).is_some() {
                continue;
            }
            (vs, ve) = (ns, ne);
            snippet = (ls, ne);
        }
        // An underlier whose identifier wrapped onto the next line, alone in parentheses (a
        // two-column layout: `Underlying: Ordinary Shares of … SA` / `(ES0113900J37)`).
        if matches!(target, Target::Underlier)
            && let Some(&(ns, ne)) = lines.get(i + 1)
            && ve == ls + value_r.1
            && WRAPPED_ID.is_match(&cx.sheet.text[ns..ne])
        {
            ve = ne;
            snippet = (ls, ne);
        }
        let source = format!("label {spelling:?}");
        let raw = cx.sheet.text[vs..ve].to_owned();
        let value = Labelled {
            raw: &raw,
            start: vs,
            end: ve,
            snippet,
            unit: unit.as_deref(),
            source: &source,
            chinese: cx.chinese || raw.chars().any(cjk::is_cjk),
        };
        read(cx, target, &value);
    }
}

/// Hands a labelled value to its reader.
fn read(cx: &mut Ctx<'_>, target: Target, v: &Labelled<'_>) {
    match target {
        Target::Date(field) => dates::date(cx, field, v),
        Target::Maturity => dates::maturity(cx, v),
        Target::Money(field) => amounts::money(cx, field, v),
        Target::PremiumRate => amounts::premium_rate(cx, v),
        Target::Rate(field) => rates::rate(cx, field, v),
        Target::DayCount(field) => rates::day_count(cx, field, v),
        Target::Tenor(field) => rates::tenor(cx, field, v),
        Target::FloatingIndex => rates::floating_index(cx, v),
        Target::Bdc => rates::business_day_convention(cx, v),
        Target::Party(field) => parties::party(cx, field, v),
        Target::Role(field) => parties::role(cx, field, v),
        Target::OptionType => product::option_type(cx, v),
        Target::Style => product::exercise_style(cx, v),
        Target::Settlement => product::settlement(cx, v),
        Target::SettlementApplicable(kind) => product::settlement_if_applicable(cx, kind, v),
        Target::Strike => product::strike(cx, v),
        Target::Price(field) => product::price(cx, field, v),
        Target::Count(field) => product::count(cx, field, v),
        Target::Underlier => product::underlier(cx, v),
        Target::UnderlierId => product::underlier_id(cx, v),
        Target::Barrier(kind) => structure::barrier(cx, kind, v),
        Target::Text(field) => text(cx, field, v),
        Target::Percent(field) => structure::percent(cx, field, v),
        Target::Observation(field) => structure::observation(cx, field, v),
        Target::Months(field) => structure::months(cx, field, v),
    }
}

/// A term kept as written (up to 200 characters).
fn text(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    let t = clean(v.raw);
    if !t.is_empty() && t.chars().count() <= 200 {
        v.propose(cx, field, Value::from(t), (v.start, v.end));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::testing::{check, rules};

    #[test]
    fn an_underlier_id_wrapped_onto_the_next_line() {
        check(
            "Underlying: Ordinary Shares of Banco Santander Central Hispano SA\n(ES0113900J37)\nNumber of Options: 500,000",
            Some("equity_option"),
            &[
                (
                    "underlier.name",
                    json!("Ordinary Shares of Banco Santander Central Hispano SA"),
                ),
                ("underlier.id", json!("ES0113900J37")),
                ("number_of_options", json!(500000)),
            ],
        );
    }

    #[test]
    fn chinese_lines_as_ocr_reads_them() {
        check(
            "名义本金”人民币0.05亿元\n交易日“2026.4.20\n1   交易日期: 2026-01-12\n\
             期初价格2,911\n3，   挂钧标的:中证500指数(000905.SH)",
            Some("equity_option"),
            &[
                ("notional.amount", json!(5000000)),
                ("notional.currency", json!("CNY")),
                ("initial_price.value", json!(2911)),
                ("underlier.name", json!("中证500指数")),
                ("underlier.id", json!("000905.SH")),
            ],
        );
    }

    #[test]
    fn chinese_labels_separated_by_spaces_as_in_a_flattened_table() {
        check(
            "条款  内容\n交易日  2001-07-13\n行权价格  欧元32.00\n期权数量  150,000份\n\
             每份期权对应标的数量  1股\n结算方式 实物交割",
            Some("equity_option"),
            &[
                ("trade_date", json!("2001-07-13")),
                ("strike.value", json!(32)),
                ("strike.currency", json!("EUR")),
                ("number_of_options", json!(150000)),
                ("option_entitlement", json!(1)),
                ("settlement", json!("physical")),
            ],
        );
        // A line of prose that starts with Chinese words is not a label line.
        check(
            "本确认书 构成双方签署的主协议项下的交易确认书",
            None,
            &[("trade_date", Value::Null)],
        );
    }

    #[test]
    fn labels_are_found_in_every_line_shape() {
        for text in [
            "Trade Date: June 23, 2005",
            "Trade Date：June 23, 2005",
            "1. Trade Date: June 23, 2005",
            "(a) Trade Date: June 23, 2005",
            "iv) Trade Date: June 23, 2005",
            "Trade Date | June 23, 2005",
            "Trade Date\tJune 23, 2005",
            "Trade Date       June 23, 2005",
            "  *Trade  Date*:  June 23, 2005  ",
            "Trade Date:\n\nJune 23, 2005",
            "Tradc Date: June 23, 2005",
            "Trade Dte: June 23, 2005",
        ] {
            check(text, None, &[("trade_date", json!("2005-06-23"))]);
        }
        for text in [
            "交易日：2026年1月5日",
            "（一）交易日：2026年1月5日",
            "二、交易日：2026年1月5日",
            "交 易 日：2026年1月5日",
            "交易日：\n2026年1月5日",
        ] {
            check(text, None, &[("trade_date", json!("2026-01-05"))]);
        }
    }

    #[test]
    fn a_label_followed_by_a_label_has_no_value() {
        check(
            "Trade Date:\nEffective Date: June 27, 2005",
            None,
            &[
                ("trade_date", Value::Null),
                ("effective_date", json!("2005-06-27")),
            ],
        );
    }

    #[test]
    fn unknown_labels_and_short_typos_are_not_read() {
        let out = rules(
            // `strike` is too short for a typo; Chinese labels take no arbitrary character,
            // only a known OCR confusion.
            "Colour: red\nStrke: USD 12.50\n交易白：2026年1月5日",
            None,
        );
        assert!(out.candidates.is_empty(), "{:?}", out.candidates);
        check(
            "交易曰：2026年1月5日",
            None,
            &[("trade_date", json!("2026-01-05"))],
        );
    }

    #[test]
    fn text_terms_are_kept_as_written() {
        check(
            "Calculation Agent: “Party A”\n适用法律：中华人民共和国法律\n确认书编号：HT-OTC-2026-0105\n\
             Governing Law:",
            None,
            &[
                ("other.calculation_agent", json!("Party A")),
                ("other.governing_law", json!("中华人民共和国法律")),
                ("other.reference", json!("HT-OTC-2026-0105")),
            ],
        );
        let long = format!("Calculation Agent: {}", "x".repeat(201));
        check(&long, None, &[("other.calculation_agent", Value::Null)]);
    }

    #[test]
    fn the_evidence_names_the_label_and_spans_the_value() {
        let text = "Header\nTermination Date: June 18, 2008";
        let out = rules(text, Some("interest_rate_swap"));
        let c = &out.candidates[0];
        assert_eq!(c.field, "termination_date");
        assert_eq!(c.evidence.source, "label \"termination date\"");
        let [s, e] = c.evidence.span;
        let stated: String = text.chars().skip(s).take(e - s).collect();
        assert_eq!(stated, "June 18, 2008");
    }
}
