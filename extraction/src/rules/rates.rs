//! Interest-rate terms after their labels: fixed and other rates as decimals (`Fixed Rate:
//! 4.09%`, `票息：18%（年化）`), the floating rate's index and tenor (`Floating Rate Option:
//! USD-LIBOR-BBA`, `浮动利率：SHIBOR 3M`, `Designated Maturity: Three months`), day-count
//! fractions (`30/360`, `计息基准：实际天数/365`) and the business day convention
//! (`Modified Following`, `经调整的下一营业日`).

use serde_json::Value;

use super::lines::Labelled;
use super::{Ctx, clean};
use crate::parse::{self, find_rates, number_json};
use crate::terms::Field;

/// A rate, as a decimal (4.09% → 0.0409).
pub(super) fn rate(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    if let Some((frac, _, span)) = find_rates(v.raw).first().copied() {
        v.propose(cx, field, number_json(frac), v.at(span));
    }
}

/// A day-count fraction, in CDM's spelling.
pub(super) fn day_count(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    if let Some((dc, span)) = parse::day_count(v.raw) {
        v.propose(cx, field, Value::from(dc), v.at(span));
    }
}

/// A tenor (`3M`).
pub(super) fn tenor(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    if let Some((t, span)) = parse::tenor(v.raw) {
        v.propose(cx, field, Value::from(t), v.at(span));
    }
}

/// The floating rate index as written (up to 60 characters), and a tenor written after it
/// (`USD-LIBOR-BBA 3M`, `SHIBOR 3M`).
pub(super) fn floating_index(cx: &mut Ctx<'_>, v: &Labelled<'_>) {
    let raw = v.raw;
    let t = clean(raw);
    if t.is_empty() || t.chars().count() > 60 {
        return;
    }
    let (index, tail) = match parse::tenor(t) {
        Some((tenor, (s, _))) if s > 0 => (t[..s].trim(), Some(tenor)),
        _ => (t, None),
    };
    // `USD-LIBOR-BBA，期限3个月`: the words that introduce the tenor are not the index.
    let seps: &[char] = &['-', ' ', ',', '，', '、', ';', '；'];
    let mut index = index.trim_end_matches(seps);
    for word in [
        "期限",
        "tenor",
        "Tenor",
        "designated maturity",
        "Designated Maturity",
    ] {
        index = index.strip_suffix(word).unwrap_or(index);
    }
    let index = index.trim_end_matches(seps);
    if index.is_empty() {
        return;
    }
    let start = v.start + raw.find(index).unwrap_or(0);
    let span = (start, start + index.len());
    v.propose(cx, Field::FloatingRateIndex, Value::from(index), span);
    if let Some(tenor) = tail {
        v.propose(
            cx,
            Field::FloatingRateTenor,
            Value::from(tenor),
            (v.start, v.end),
        );
    }
}

/// The business day convention, in CDM's spelling (`MODFOLLOWING`, `FOLLOWING`,
/// `MODPRECEDING`, `PRECEDING`, `NONE`).
pub(super) fn business_day_convention(cx: &mut Ctx<'_>, v: &Labelled<'_>) {
    let raw = v.raw;
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
    v.propose(
        cx,
        Field::BusinessDayConvention,
        Value::from(bdc),
        (v.start, v.end),
    );
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::testing::check;

    #[test]
    fn a_floating_index_with_its_tenor_in_chinese() {
        check(
            "浮动利率：USD-LIBOR-BBA，期限3个月",
            Some("interest_rate_swap"),
            &[
                ("floating_rate_index", json!("USD-LIBOR-BBA")),
                ("floating_rate_tenor", json!("3M")),
            ],
        );
    }

    #[test]
    fn rates_are_decimals() {
        check(
            "Fixed Rate: 4.09%\nFloating Rate for Initial Calculation Period: 3.25% per annum",
            Some("interest_rate_swap"),
            &[
                ("fixed_rate", json!(0.0409)),
                ("other.initial_floating_rate", json!(0.0325)),
            ],
        );
        check(
            "固定利率：2.85%\n票息：18%（年化）",
            None,
            &[
                ("fixed_rate", json!(0.0285)),
                ("autocall.coupon_rate", json!(0.18)),
            ],
        );
        check(
            "Fixed Rate: to be agreed",
            None,
            &[("fixed_rate", Value::Null)],
        );
    }

    #[test]
    fn the_floating_index_and_its_tenor() {
        check(
            "Floating Rate Option: USD-LIBOR-BBA\nDesignated Maturity: Three months",
            Some("interest_rate_swap"),
            &[
                ("floating_rate_index", json!("USD-LIBOR-BBA")),
                ("floating_rate_tenor", json!("3M")),
            ],
        );
        check(
            "浮动利率：SHIBOR 3M",
            None,
            &[
                ("floating_rate_index", json!("SHIBOR")),
                ("floating_rate_tenor", json!("3M")),
            ],
        );
        // Longer than an index name: a sentence, not an index.
        check(
            &format!(
                "Floating Rate: {}",
                "as determined by the Calculation Agent ".repeat(2)
            ),
            None,
            &[("floating_rate_index", Value::Null)],
        );
    }

    #[test]
    fn day_counts_in_cdm_spelling() {
        check(
            "Fixed Rate Day Count Fraction: 30/360\nFloating Rate Day Count Fraction: Actual/360",
            None,
            &[
                ("day_count", json!("30/360")),
                ("other.floating_day_count", json!("ACT/360")),
            ],
        );
        check(
            "计息基准：ACT/365",
            None,
            &[("day_count", json!("ACT/365.FIXED"))],
        );
    }

    #[test]
    fn business_day_conventions_and_calendars() {
        for (text, bdc) in [
            (
                "Business Day Convention: Modified Following",
                "MODFOLLOWING",
            ),
            ("Business Day Convention: Following", "FOLLOWING"),
            ("Business Day Convention: Preceding", "PRECEDING"),
            ("Business Day Convention: None", "NONE"),
            ("营业日准则：经调整的下一营业日", "MODFOLLOWING"),
            ("工作日准则：下一工作日", "FOLLOWING"),
        ] {
            check(text, None, &[("other.business_day_convention", json!(bdc))]);
        }
        check(
            "Business Day Convention: as usual\nBusiness Days: New York and London",
            None,
            &[
                ("other.business_day_convention", Value::Null),
                ("other.business_days", json!("New York and London")),
            ],
        );
    }
}
