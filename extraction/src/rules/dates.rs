//! Dates: labelled dates (`Trade Date`, `交易日`, `期权费支付日`…), `Maturity Date`/`到期日`
//! filed as the expiration of an option or the termination of a swap once the product is known,
//! and dates named by a defined term (`On January 5, 2018 (the "Execution Date")`). A numeric
//! date is read day-first or month-first as the document writes its dates; one that could be
//! either is left out with a notice. (The date of an `entered into` sentence is read with its
//! parties, in `parties`.)

use std::collections::HashMap;

use serde_json::Value;

use super::defined::Definition;
use super::lines::Labelled;
use super::{Ctx, DEFINED_CONF, LABEL_CONF, Range};
use crate::parse::{find_dates, iso, resolve_date};
use crate::terms::Field;

/// A maturity date: value, span, snippet, label.
pub(super) type Maturity = (Value, Range, Range, String);

/// The first date in `text` (which starts at `base` in the document), or a notice if it could
/// be read either way.
fn date_in(cx: &mut Ctx<'_>, text: &str, base: usize) -> Option<(Value, Range)> {
    let (p, (s, e)) = *find_dates(text).first()?;
    match resolve_date(p, cx.order) {
        Some(d) => Some((Value::from(iso(d)), (base + s, base + e))),
        None => {
            cx.out.notices.push(format!(
                "{:?} could be read day-first or month-first and the document does not say which; left out",
                &text[s..e]
            ));
            None
        }
    }
}

/// A labelled date.
pub(super) fn date(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    if let Some((value, span)) = date_in(cx, v.raw, v.start) {
        v.propose(cx, field, value, span);
    }
}

/// `Maturity Date`/`到期日`: kept until the product says which date it is.
pub(super) fn maturity(cx: &mut Ctx<'_>, v: &Labelled<'_>) {
    if let Some((value, span)) = date_in(cx, v.raw, v.start) {
        cx.maturities
            .push((value, span, v.snippet, v.source.to_owned()));
    }
}

/// Dates named by a defined term: `On January 5, 2018 (the "Execution Date")`.
pub(super) fn from_definitions(cx: &mut Ctx<'_>, defs: &HashMap<String, Definition>) {
    let date_terms: &[(&str, Field)] = &[
        ("trade date", Field::TradeDate),
        ("execution date", Field::TradeDate),
        ("pricing date", Field::TradeDate),
        ("effective date", Field::EffectiveDate),
        ("expiration date", Field::ExpirationDate),
        ("termination date", Field::TerminationDate),
        ("交易日", Field::TradeDate),
        ("成交日", Field::TradeDate),
        ("起始日", Field::EffectiveDate),
        ("期权费支付日", Field::PremiumPaymentDate),
        ("premium payment date", Field::PremiumPaymentDate),
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
}

/// Files the maturity dates: an option expires, a swap terminates.
pub(super) fn file_maturities(cx: &mut Ctx<'_>, product: Option<&str>) {
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
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::testing::{check, rules};

    #[test]
    fn labelled_dates_in_english_and_chinese() {
        check(
            "Trade Date: June 23, 2005\nEffective Date: 27 June 2005\n\
             Premium Payment Date: 2005-06-27\nInitial Valuation Date: June 23, 2005\n\
             Date: June 24, 2005",
            None,
            &[
                ("trade_date", json!("2005-06-23")),
                ("effective_date", json!("2005-06-27")),
                ("premium.payment_date", json!("2005-06-27")),
                ("other.initial_valuation_date", json!("2005-06-23")),
                ("other.confirmation_date", json!("2005-06-24")),
            ],
        );
        check(
            "成交日期：2026年1月5日\n起始日：2026-01-06\n期权费支付日：2026年1月7日\n\
             期初观察日：2026年1月6日\n行权日：2026年7月6日",
            None,
            &[
                ("trade_date", json!("2026-01-05")),
                ("effective_date", json!("2026-01-06")),
                ("premium.payment_date", json!("2026-01-07")),
                ("other.initial_valuation_date", json!("2026-01-06")),
                ("expiration_date", json!("2026-07-06")),
            ],
        );
    }

    #[test]
    fn numeric_dates_follow_the_documents_order_or_are_left_out() {
        // 23 cannot be a month: the document writes month first, so 07/06 is July 6.
        check(
            "Trade Date: 06/23/2005\nEffective Date: 07/06/2005",
            None,
            &[
                ("trade_date", json!("2005-06-23")),
                ("effective_date", json!("2005-07-06")),
            ],
        );
        let out = rules("Trade Date: 03/04/2005", None);
        assert!(out.candidates.is_empty(), "{:?}", out.candidates);
        assert_eq!(out.notices.len(), 1);
        assert!(
            out.notices[0].contains("\"03/04/2005\" could be read day-first or month-first"),
            "{:?}",
            out.notices
        );
    }

    #[test]
    fn a_maturity_is_an_options_expiration_and_a_swaps_termination() {
        let en = "Maturity Date: June 18, 2008";
        let zh = "到期日：2027年1月6日";
        for product in ["equity_option", "snowball", "capped_call", "cap_floor"] {
            check(
                en,
                Some(product),
                &[
                    ("expiration_date", json!("2008-06-18")),
                    ("termination_date", Value::Null),
                ],
            );
            check(
                zh,
                Some(product),
                &[("expiration_date", json!("2027-01-06"))],
            );
        }
        for product in [Some("interest_rate_swap"), Some("equity_swap"), None] {
            check(
                en,
                product,
                &[
                    ("termination_date", json!("2008-06-18")),
                    ("expiration_date", Value::Null),
                ],
            );
        }
    }

    #[test]
    fn dates_named_by_a_defined_term() {
        check(
            "On January 5, 2018 (the \"Execution Date\"), the parties agreed as follows.",
            None,
            &[("trade_date", json!("2018-01-05"))],
        );
        check(
            "This Transaction terminates on June 18, 2008 (the “Termination Date”).",
            None,
            &[("termination_date", json!("2008-06-18"))],
        );
        // The date must end right before the parenthesis.
        check(
            "Dated June 1, 2005, this letter confirms the swap (the \"Trade Date\").",
            None,
            &[("trade_date", Value::Null)],
        );
    }
}
#[cfg(test)]
mod zh_sentence_tests {
    use serde_json::json;

    use super::super::testing::check;

    #[test]
    fn a_date_named_in_a_chinese_sentence() {
        for text in [
            "结算方式：现金结算\n\n乙方应于2026.6.3（“期权费支付日”）向甲方一次性支付全部期权费。",
            "乙方应于二〇二六年六月三日（“期权费支付日”）向甲方支付期权费。",
        ] {
            check(text, None, &[("premium.payment_date", json!("2026-06-03"))]);
        }
    }
}
