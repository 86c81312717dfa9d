//! Barriers and the structures of Chinese desks built on them: a knock-out or knock-in level
//! after its label (`Knock-out Price: 105% of the Initial Price`, `敲出价格：期初价格的103%`,
//! `敲入价格：75%`, `Barrier Level: USD 1,300`), its direction (stated, or up for an
//! autocallable's knock-out), and where it goes: a snowball's or phoenix's (雪球, 凤凰)
//! knock-out is the key-terms barrier and its knock-in goes to `other.knock_in_level`;
//! otherwise each barrier is the barrier. The other terms of these structures are plain labels
//! in the catalogue (期初价格 `other.initial_price`, 票息 `other.coupon_rate`, 敲出观察日 and
//! 敲入观察 as written), read by the price, rate and text readers; their tests are here, with
//! the structure they belong to.

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
        match (stated_direction, autocall, inferred_direction) {
            (Some(d), _, _) => cx.push(
                Field::BarrierDirection,
                Value::from(d),
                span,
                snippet,
                LABEL_CONF,
                "barrier label",
            ),
            // An autocallable knocks out upward by definition of the product.
            (None, true, _) => cx.push(
                Field::BarrierDirection,
                Value::from("up"),
                span,
                snippet,
                INFERRED_CONF,
                "an autocallable's knock-out is an upward barrier",
            ),
            (None, false, Some(d)) => cx.push(
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
            (None, false, None) => {}
        }
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
    fn a_snowballs_knock_out_is_the_barrier_and_its_knock_in_goes_to_other() {
        for product in ["snowball", "phoenix"] {
            check(
                SNOWBALL,
                Some(product),
                &[
                    ("barrier.kind", json!("knock_out")),
                    ("barrier.level", json!(105)),
                    ("barrier.direction", json!("up")),
                    ("other.barrier_level_unit", json!("percent")),
                    ("other.knock_in_level", json!(70)),
                    ("other.knock_in_level_unit", json!("percent")),
                ],
            );
        }
    }

    #[test]
    fn the_other_terms_of_a_snowball() {
        check(
            SNOWBALL,
            Some("snowball"),
            &[
                ("other.initial_price", json!(5890.12)),
                ("other.coupon_rate", json!(0.18)),
                ("other.knock_out_observation", json!("每月")),
                ("other.knock_in_observation", json!("每日")),
            ],
        );
        check(
            "Knock-out Coupon: 15.5% per annum\nKnock-out Observation Dates: monthly\n\
             Initial Price: CNY 5,890.12",
            Some("snowball"),
            &[
                ("other.coupon_rate", json!(0.155)),
                ("other.knock_out_observation", json!("monthly")),
                ("other.initial_price", json!(5890.12)),
            ],
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
