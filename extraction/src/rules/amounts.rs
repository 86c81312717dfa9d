//! Amounts and currencies: the notional and the premium after their labels (`名义本金：人民币
//! 1,000万元`, `名义本金（万元）：1,000`, `Premium: 3% of the Notional Amount`), amounts and prices
//! stated in prose (`a cap price of $218.10`, `received a cash payment of $35,400,000`, `the
//! closing price of … on March 4, 2024`), and a premium computed from its rate and the notional
//! when no amount is stated.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::lines::Labelled;
use super::{Ctx, PROSE_CONF};
use crate::parse::{
    find_dates, find_numbers_with_units, find_rates, iso, number_json, resolve_date,
};
use crate::terms::{Candidate, Field};

/// An amount and its currency after a label: the amount with a currency if there is one, else
/// the first number; a unit in the label (`（万元）`) scales it and can name the currency. A
/// premium written as a percentage is its rate ([`premium_rate`]), and an amount only if one
/// with a currency is written too.
pub(super) fn money(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    let raw = v.raw;
    let nums = find_numbers_with_units(raw, v.chinese);
    let with_ccy = nums.iter().find(|a| a.currency.is_some());
    if field == Field::PremiumAmount && raw.contains(['%', '％']) {
        premium_rate(cx, v);
        if with_ccy.is_none() {
            return;
        }
    }
    let Some(a) = with_ccy.or_else(|| nums.first()) else {
        return;
    };
    let mut amount = a.value;
    let mut currency = a.currency.clone();
    if let Some(u) = v.unit {
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
    let span = v.at(a.span);
    v.propose(cx, field, number_json(amount), span);
    if let Some(ccy) = currency
        && let Some(ccy_field) = field.currency()
    {
        v.propose(cx, ccy_field, Value::from(ccy), span);
    }
}

/// `Premium: 3% of the Notional Amount` / `期权费率：3%`: the rate, kept as
/// `other.premium_rate`; the amount is computed from the notional at the end.
pub(super) fn premium_rate(cx: &mut Ctx<'_>, v: &Labelled<'_>) {
    if let Some((frac, _, span)) = find_rates(v.raw).first().copied() {
        v.propose(cx, Field::PremiumRate, number_json(frac), v.at(span));
    }
}

/// Prices and payments stated in prose: cap and floor prices, strikes, upfront payments,
/// reference prices.
pub(super) fn money_phrases(cx: &mut Ctx<'_>) {
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

/// Up to `len` bytes of `s` from `start`, cut back to a character boundary.
fn window(s: &str, start: usize, len: usize) -> &str {
    let mut end = (start + len).min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(start..end).unwrap_or("")
}

/// A premium stated as a share of the notional: the amount, when none is stated, is the rate
/// times the notional (in the notional's currency), with the weaker of the two confidences.
pub(super) fn premium_from_rate(cx: &mut Ctx<'_>) {
    let rate = cx.first(Field::PremiumRate).cloned();
    let notional = cx.first(Field::NotionalAmount).cloned();
    let notional_ccy = cx.first(Field::NotionalCurrency).cloned();
    if let (Some(r), Some(n)) = (rate, notional)
        && !cx.has(Field::PremiumAmount)
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::testing::{check, rules};
    use super::window;

    #[test]
    fn labelled_notionals_in_english_and_chinese() {
        check(
            "Notional Amount: USD 300,000,000",
            None,
            &[
                ("notional.amount", json!(300000000)),
                ("notional.currency", json!("USD")),
            ],
        );
        check(
            "名义本金：人民币1,000万元",
            None,
            &[
                ("notional.amount", json!(10000000)),
                ("notional.currency", json!("CNY")),
            ],
        );
        // The unit in the label scales the figure and names the currency.
        check(
            "名义本金（万元）：1,000",
            None,
            &[
                ("notional.amount", json!(10000000)),
                ("notional.currency", json!("CNY")),
            ],
        );
        // A bare figure has no currency.
        check(
            "Notional: 5,000,000",
            None,
            &[
                ("notional.amount", json!(5000000)),
                ("notional.currency", Value::Null),
            ],
        );
    }

    #[test]
    fn a_premium_rate_becomes_an_amount_of_the_notional() {
        check(
            "名义本金：人民币10,000,000元
期权费率：3.5%",
            None,
            &[
                ("other.premium_rate", json!(0.035)),
                ("premium.amount", json!(350000)),
                ("premium.currency", json!("CNY")),
            ],
        );
        check(
            "Notional Amount: EUR 2,000,000
Premium: 1.25% of the Notional Amount",
            None,
            &[
                ("other.premium_rate", json!(0.0125)),
                ("premium.amount", json!(25000)),
                ("premium.currency", json!("EUR")),
            ],
        );
        // A stated amount wins over the computed one.
        check(
            "Notional Amount: USD 1,000,000
Premium Rate: 2%
Premium Amount: USD 19,500",
            None,
            &[
                ("other.premium_rate", json!(0.02)),
                ("premium.amount", json!(19500)),
            ],
        );
        // Without a notional, only the rate is known.
        check(
            "期权费：3%",
            None,
            &[
                ("other.premium_rate", json!(0.03)),
                ("premium.amount", Value::Null),
            ],
        );
    }

    #[test]
    fn amounts_stated_in_prose() {
        check(
            "The capped call transactions have a cap price of $218.10 per share.",
            None,
            &[
                ("cap_price.value", json!(218.1)),
                ("cap_price.currency", json!("USD")),
            ],
        );
        check(
            "The Company received a cash payment of $35,400,000 from the Bank.",
            None,
            &[
                ("premium.amount", json!(35400000)),
                ("premium.currency", json!("USD")),
            ],
        );
        check(
            "The floor price is initially $40.00 and the strike price is $12.50.",
            None,
            &[
                ("floor_price.value", json!(40)),
                ("strike.value", json!(12.5)),
                ("strike.unit", json!("price")),
                ("strike.currency", json!("USD")),
            ],
        );
        // Words other than `is`/`initially`/… between the phrase and the figure: not this amount.
        check(
            "a notional of up to $5,000,000",
            None,
            &[("notional.amount", Value::Null)],
        );
        // A figure without a currency is not read from prose.
        check(
            "with a notional amount of 5,000,000",
            None,
            &[("notional.amount", Value::Null)],
        );
    }

    #[test]
    fn a_reference_price_and_its_date() {
        check(
            "The cap price represents a premium of 100.0% over the last reported sale price of \
             the Common Stock of $109.05 per share on March 4, 2024.",
            None,
            &[
                ("other.reference_price", json!(109.05)),
                ("other.reference_price_date", json!("2024-03-04")),
                ("other.cap_premium_pct", json!(100)),
            ],
        );
        // A premium over something that is not a cap.
        let out = rules("The notes were sold at a premium of 5% over par.", None);
        assert!(out.candidates.is_empty(), "{:?}", out.candidates);
    }

    #[test]
    fn window_stops_at_a_character_boundary() {
        assert_eq!(window("期权费", 0, 4), "期");
        assert_eq!(window("abc", 1, 10), "bc");
        assert_eq!(window("abc", 5, 10), "");
    }
}
