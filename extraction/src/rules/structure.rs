//! Barriers and the structures of Chinese desks built on them: a knock-out or knock-in level
//! after its label (`Knock-out Price: 105% of the Initial Price`, `敲出价格：期初价格的103%`,
//! `敲入价格：75%`, `Barrier Level: USD 1,300`), its direction (stated, or up for an
//! autocallable's knock-out), and where it goes: a snowball's or phoenix's (雪球, 凤凰)
//! knock-out and knock-in are its `autocall.knock_out_pct` and `autocall.knock_in_pct` (in % of
//! the initial price; a price is divided by the initial price when the document gives one);
//! otherwise each barrier is the barrier. The other terms of these structures: observation
//! frequencies and the lock-up (`observation`, `months`), percentages (参与率
//! `participation_pct`, a digital's payout `payout_pct`, a phoenix's 派息线
//! `autocall.coupon_barrier_pct`), and plain catalogue labels read by the price and rate
//! readers (期初价格 `initial_price.value`, 票息 `autocall.coupon_rate`); their tests are here,
//! with the structure they belong to.

use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

use super::catalogue::BarrierKind;
use super::lines::Labelled;
use super::{Ctx, INFERRED_CONF, LABEL_CONF, Range};
use crate::parse::{find_numbers_with_units, find_rates, number_json};
use crate::terms::Field;

/// A barrier: kind (if the label says), level, unit (`percent` or `price`), span, snippet.
pub(super) type BarrierStatement = (Option<BarrierKind>, f64, &'static str, Range, Range);

/// A barrier level after its label, kept until the product is known ([`file_barriers`]): a
/// percentage (of the initial level), or else a price.
pub(super) fn barrier(cx: &mut Ctx<'_>, kind: Option<BarrierKind>, v: &Labelled<'_>) {
    let rates = find_rates(v.raw);
    if let Some((_, written, span)) = rates.first().copied() {
        cx.barriers
            .push((kind, written, "percent", v.at(span), v.snippet));
    } else if let Some(a) = find_numbers_with_units(v.raw, v.chinese).first() {
        cx.barriers
            .push((kind, a.value, "price", v.at(a.span), v.snippet));
    }
}

/// Files the barriers: a barrier whose label does not say its kind is a knock-in if its line
/// says so, else a knock-out; an autocallable's knock-in goes to `other`, every other barrier
/// is the barrier, with the direction its line states (up/向上/above, down/向下/below) or, for
/// an autocallable, up.
pub(super) fn file_barriers(cx: &mut Ctx<'_>, product: Option<&str>) {
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
        let stated_direction = stated_direction(&line);
        // Unstated: the level against the initial level (a percentage of it, or a price against
        // the initial price when the document gives one).
        let initial = cx.first(Field::InitialPrice).and_then(|c| c.value.as_f64());
        let inferred_direction = match unit {
            "percent" if level > 100.0 => Some("up"),
            "percent" if level < 100.0 => Some("down"),
            "price" => initial.and_then(|p| {
                (level > p)
                    .then_some("up")
                    .or((level < p).then_some("down"))
            }),
            _ => None,
        };
        if autocall {
            // An autocallable's levels are in % of the initial price: as written, or a price
            // against the initial price the document gives.
            let (pct_field, price_field) = match kind {
                BarrierKind::KnockIn => (Field::KnockInPct, Field::KnockInLevel),
                BarrierKind::KnockOut => (Field::KnockOutPct, Field::KnockOutLevel),
            };
            match (unit, initial) {
                ("percent", _) => cx.push(
                    pct_field,
                    number_json(level),
                    span,
                    snippet,
                    LABEL_CONF,
                    "barrier label, % of the initial price",
                ),
                (_, Some(p)) if p > 0.0 => cx.push(
                    pct_field,
                    number_json((level / p * 10_000.0).round() / 100.0),
                    span,
                    snippet,
                    INFERRED_CONF,
                    "barrier label, a price divided by the initial price",
                ),
                _ => cx.push(
                    price_field,
                    number_json(level),
                    span,
                    snippet,
                    LABEL_CONF,
                    "barrier label, a price (no initial price to express it in %)",
                ),
            }
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
        match (stated_direction, inferred_direction) {
            (Some(d), _) => cx.push(
                Field::BarrierDirection,
                Value::from(d),
                span,
                snippet,
                LABEL_CONF,
                "barrier label",
            ),
            (None, Some(d)) => cx.push(
                Field::BarrierDirection,
                Value::from(d),
                span,
                snippet,
                INFERRED_CONF,
                if d == "up" {
                    "the barrier is above the initial level"
                } else {
                    "the barrier is below the initial level"
                },
            ),
            (None, None) => {}
        }
    }
}

/// A percentage after its label, as written (`参与率：100%` → 100, `派息价格：期初价格的80%` →
/// 80). A payout under the generic label 收益率 counts only as a share of the notional
/// (`名义本金的4%`), so that a yield elsewhere is not read as a digital's payout.
pub(super) fn percent(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    if field == Field::PayoutPct
        && v.source.contains("收益率")
        && !(v.raw.contains("名义本金") || v.raw.to_lowercase().contains("notional"))
    {
        return;
    }
    if let Some((_, written, span)) = find_rates(v.raw).first().copied()
        && written > 0.0
    {
        v.propose(cx, field, number_json(written), v.at(span));
    }
}

/// An autocallable's observation frequency after its label, in the schema's words (`每月观察一次`
/// → monthly, `每个交易日` → daily), else the text as written under `other.*`; a lock-up in the
/// same value (`锁定期3个月`, `no autocall in the first 3 months`) fills `autocall.lockup_months`.
pub(super) fn observation(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    let l = v.raw.to_lowercase();
    let found = [
        (
            "daily",
            &[
                "每日",
                "每个交易日",
                "每一交易日",
                "逐日",
                "daily",
                "each trading day",
                "every trading day",
                "每天",
            ][..],
        ),
        ("weekly", &["每周", "weekly"][..]),
        ("monthly", &["每月", "每个月", "monthly", "each month"][..]),
        ("quarterly", &["每季", "每三个月", "quarterly"][..]),
        (
            "at_maturity",
            &[
                "到期日观察",
                "仅到期",
                "期末观察",
                "at maturity",
                "final valuation",
            ][..],
        ),
    ]
    .into_iter()
    .find(|(_, words)| words.iter().any(|w| l.contains(w)))
    .map(|(f, _)| f);
    let span = (v.start, v.end);
    match found {
        Some(f) => v.propose(cx, field, Value::from(f), span),
        None => {
            let text = super::clean(v.raw);
            if !text.is_empty() && text.chars().count() <= 200 {
                let other = if field == Field::KnockInObservation {
                    Field::KnockInObservationText
                } else {
                    Field::KnockOutObservationText
                };
                v.propose(cx, other, Value::from(text), span);
            }
        }
    }
    if field == Field::KnockOutObservation
        && let Some(m) = lockup_in(v.raw)
    {
        v.propose(cx, Field::LockupMonths, m.0, v.at(m.1));
    }
}

/// A lock-up stated in a value: `锁定期3个月`, `锁定期为6个月`, `lock-up 3 months`; `无锁定期`
/// and `no lock-up` are zero.
fn lockup_in(raw: &str) -> Option<(Value, Range)> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(?:锁定期|封闭期|lock-?up(?:\s+period)?|non-?call(?:\s+period)?)\s*(?:为|of|:|：)?\s*(\d{1,2})\s*(?:个月|月|months?)")
            .expect("compiles")
    });
    static NONE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)无锁定期|no\s+lock-?up").expect("compiles"));
    if let Some(c) = RE.captures(raw) {
        let m = c.get(1)?;
        return Some((
            Value::from(m.as_str().parse::<u32>().ok()?),
            (m.start(), m.end()),
        ));
    }
    NONE.find(raw)
        .map(|m| (Value::from(0), (m.start(), m.end())))
}

/// A number of months after its label (`锁定期：3个月`, `Lock-up Period: 6 months`).
pub(super) fn months(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)(\d{1,3})\s*(?:个月|月|months?)").expect("compiles"));
    if let Some(m) = RE.captures(v.raw).and_then(|c| c.get(1))
        && let Ok(n) = m.as_str().parse::<u32>()
    {
        v.propose(cx, field, Value::from(n), v.at((m.start(), m.end())));
    } else if v.raw.contains('无') || v.raw.to_lowercase().starts_with("none") {
        v.propose(cx, field, Value::from(0), (v.start, v.end));
    }
}

/// The direction a barrier's line states in words (`up-and-out`, `above`, `向上`, `高于`), if
/// it states one; whole words only, so that `upon` or `markdown` say nothing.
fn stated_direction(line: &str) -> Option<&'static str> {
    static UP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b(?:up|upward|upwards|above|up-and-(?:out|in))\b|向上|上涨|高于|上方|上穿")
            .expect("compiles")
    });
    static DOWN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"\b(?:down|downward|downwards|below|down-and-(?:out|in))\b|向下|下跌|低于|下方|下穿",
        )
        .expect("compiles")
    });
    match (UP.is_match(line), DOWN.is_match(line)) {
        (true, false) => Some("up"),
        (false, true) => Some("down"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::testing::check;

    /// The terms of the shared 雪球 examples.
    const SNOWBALL: &str = "挂钩标的：中证500指数（000905.SH）\n期初价格：5,890.12点\n\
                            敲出价格：期初价格的105%\n敲入价格：期初价格的70%\n票息：18%（年化）\n\
                            敲出观察日：每月\n敲入观察：每日";

    #[test]
    fn a_snowballs_knock_out_and_knock_in_are_its_autocall_levels() {
        for product in ["snowball", "phoenix"] {
            check(
                SNOWBALL,
                Some(product),
                &[
                    ("autocall.knock_out_pct", json!(105)),
                    ("autocall.knock_in_pct", json!(70)),
                    // Not a barrier option's barrier.
                    ("barrier.kind", Value::Null),
                    ("barrier.level", Value::Null),
                    ("other.knock_in_level", Value::Null),
                ],
            );
        }
        // Levels written as prices become % of the initial price; without one they stay
        // prices under other.*.
        check(
            "期初价格：5,000.00\n敲出价格：5,150.00\n敲入价格：3,750.00",
            Some("snowball"),
            &[
                ("autocall.knock_out_pct", json!(103)),
                ("autocall.knock_in_pct", json!(75)),
            ],
        );
        check(
            "敲出价格：5,150.00点\n敲入价格：3,750.00点",
            Some("snowball"),
            &[
                ("autocall.knock_out_pct", Value::Null),
                ("other.knock_out_level", json!(5150)),
                ("other.knock_in_level", json!(3750)),
            ],
        );
    }

    #[test]
    fn the_other_terms_of_a_snowball() {
        check(
            SNOWBALL,
            Some("snowball"),
            &[
                ("initial_price.value", json!(5890.12)),
                ("autocall.coupon_rate", json!(0.18)),
                ("autocall.knock_out_observation", json!("monthly")),
                ("autocall.knock_in_observation", json!("daily")),
            ],
        );
        check(
            "Knock-out Coupon: 15.5% per annum\nKnock-out Observation Dates: monthly\n\
             Initial Price: CNY 5,890.12",
            Some("snowball"),
            &[
                ("autocall.coupon_rate", json!(0.155)),
                ("autocall.knock_out_observation", json!("monthly")),
                ("initial_price.value", json!(5890.12)),
                ("initial_price.currency", json!("CNY")),
            ],
        );
    }

    #[test]
    fn observation_frequencies_and_the_lock_up() {
        for (text, obs, lockup) in [
            (
                "敲出观察日：每月观察一次（锁定期3个月）",
                "monthly",
                json!(3),
            ),
            ("敲出观察日：每个月（无锁定期）", "monthly", json!(0)),
            ("敲出观察：每季度，锁定期为6个月", "quarterly", json!(6)),
            (
                "Knock-out Observation: monthly, lock-up 3 months",
                "monthly",
                json!(3),
            ),
            ("敲出观察日：每周", "weekly", Value::Null),
        ] {
            check(
                text,
                Some("snowball"),
                &[
                    ("autocall.knock_out_observation", json!(obs)),
                    ("autocall.lockup_months", lockup),
                ],
            );
        }
        check(
            "敲入观察：每个交易日\n锁定期：3个月",
            Some("snowball"),
            &[
                ("autocall.knock_in_observation", json!("daily")),
                ("autocall.lockup_months", json!(3)),
            ],
        );
        // A schedule that is none of the frequencies stays as written, outside the schema.
        check(
            "敲出观察日：2026年2月5日、2026年3月5日",
            Some("snowball"),
            &[
                ("autocall.knock_out_observation", Value::Null),
                (
                    "other.knock_out_observation",
                    json!("2026年2月5日、2026年3月5日"),
                ),
            ],
        );
    }

    #[test]
    fn participation_payout_and_coupon_barrier() {
        check(
            "参与率：80%\n派息价格：期初价格的80%\n派付：名义本金的3.5%",
            Some("phoenix"),
            &[
                ("participation_pct", json!(80)),
                ("autocall.coupon_barrier_pct", json!(80)),
                ("payout_pct", json!(3.5)),
            ],
        );
        // 收益率 is a payout only as a share of the notional.
        check(
            "收益率：名义本金的4%（期末价格达到行权价格时支付）",
            Some("equity_option"),
            &[("payout_pct", json!(4))],
        );
        check(
            "收益率：4%（年化）",
            Some("equity_option"),
            &[("payout_pct", Value::Null)],
        );
    }

    #[test]
    fn outside_an_autocallable_each_barrier_is_the_barrier() {
        check(
            "Knock-in Barrier: 75% of the Initial Price",
            Some("equity_option"),
            &[
                ("barrier.kind", json!("knock_in")),
                ("barrier.level", json!(75)),
                // Not stated: below the initial price, so down.
                ("barrier.direction", json!("down")),
                ("other.knock_in_level", Value::Null),
            ],
        );
        // A price barrier has no unit leaf; its line gives the direction.
        check(
            "Barrier Level: USD 1,300.00 (up and out)",
            None,
            &[
                ("barrier.kind", json!("knock_out")),
                ("barrier.level", json!(1300)),
                ("barrier.direction", json!("up")),
                ("other.barrier_level_unit", Value::Null),
            ],
        );
    }

    #[test]
    fn a_barrier_label_without_a_kind_takes_it_from_its_line() {
        check(
            "障碍价格：向下敲入，期初价格的80%",
            Some("equity_option"),
            &[
                ("barrier.kind", json!("knock_in")),
                ("barrier.level", json!(80)),
                ("barrier.direction", json!("down")),
            ],
        );
    }

    /// An unstated direction comes from the level against the initial level; words decide
    /// only as whole words.
    #[test]
    fn an_unstated_direction_comes_from_the_level() {
        check(
            "Knock-out Barrier: 110% of the Initial Price",
            Some("equity_option"),
            &[
                ("barrier.level", json!(110)),
                ("barrier.direction", json!("up")),
            ],
        );
        check(
            "Initial Price: USD 100.00\nKnock-out Barrier: USD 120.00",
            Some("equity_option"),
            &[
                ("barrier.level", json!(120)),
                ("barrier.direction", json!("up")),
            ],
        );
        check(
            "期初价格：4,000.00点\n敲出价格：3,200.00点",
            Some("equity_option"),
            &[("barrier.direction", json!("down"))],
        );
        // "upon" says nothing; the level does.
        check(
            "Knock-out Barrier: 90% of the Initial Price, observed upon each Valuation Date",
            Some("equity_option"),
            &[("barrier.direction", json!("down"))],
        );
        // A price barrier without an initial price to compare with stays without a direction.
        check(
            "Knock-out Barrier: USD 1,300.00",
            Some("equity_option"),
            &[("barrier.direction", Value::Null)],
        );
        check(
            "障碍价格：高于期初价格的105%时敲出",
            Some("equity_option"),
            &[("barrier.direction", json!("up"))],
        );
    }
}
