//! Validation and cross-checks of extracted key terms.
//!
//! Each candidate value is checked on its own ([`super::terms::check_leaf`]: types, ISO 4217
//! codes, real dates, positive amounts); invalid ones are dropped and reported. The resolved
//! values are then checked against each other: date order (trade ≤ effective < termination,
//! trade < expiration, premium paid on or after the trade date), buyer ≠ seller, distinct
//! parties, the premium's currency against the notional's, cap above floor, an autocallable's
//! knock-in below its knock-out. A failed cross-check keeps the values (a person decides which
//! is wrong) and sends the file to review.

use serde::Serialize;
use serde_json::Value;

use super::parse::parse_iso;
use super::terms::{Candidate, FieldValue, check_leaf};

/// A check that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The leaves concerned (`["trade_date", "expiration_date"]`).
    pub fields: Vec<String>,
    /// `invalid_value` (a value dropped), `cross_check` (values that disagree), `cdm` (the CDM
    /// document could not be completed or validated), `model` (a model answer rejected).
    pub kind: String,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl Problem {
    /// A problem of `kind` about `fields`.
    pub fn new(kind: &str, fields: &[&str], message: impl Into<String>) -> Problem {
        Problem {
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            kind: kind.to_owned(),
            message: message.into(),
        }
    }
}

/// Checks every candidate on its own; returns the valid ones (canonicalised) and a problem per
/// invalid one.
pub fn check_candidates(candidates: Vec<Candidate>) -> (Vec<Candidate>, Vec<Problem>) {
    let mut ok = Vec::new();
    let mut problems = Vec::new();
    for mut c in candidates {
        match check_leaf(&c.field, &c.value) {
            Ok(v) => {
                c.value = v;
                ok.push(c);
            }
            Err(message) => problems.push(Problem::new(
                "invalid_value",
                &[c.field.as_str()],
                format!(
                    "{message} (page {}, {:?}); left out",
                    c.evidence.page, c.evidence.snippet
                ),
            )),
        }
    }
    (ok, problems)
}

fn get<'a>(fields: &'a [FieldValue], name: &str) -> Option<&'a Value> {
    fields.iter().find(|f| f.field == name).map(|f| &f.value)
}

fn date(fields: &[FieldValue], name: &str) -> Option<time::Date> {
    get(fields, name)
        .and_then(Value::as_str)
        .and_then(parse_iso)
}

/// The cross-checks over resolved values.
pub fn cross_check(fields: &[FieldValue], product: Option<&str>) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut order = |a: &str, b: &str, strict: bool, what: &str| {
        if let (Some(x), Some(y)) = (date(fields, a), date(fields, b))
            && (x > y || (strict && x == y))
        {
            out.push(Problem::new(
                "cross_check",
                &[a, b],
                format!("{what}: {a} is {x} but {b} is {y}"),
            ));
        }
    };
    // A credit default swap's protection may start before the trade: an index trade's
    // effective date is the series' roll date, a single name's accrual the last coupon date.
    if product != Some("credit_default_swap") {
        order(
            "trade_date",
            "effective_date",
            false,
            "the trade date is after the effective date",
        );
    }
    order(
        "effective_date",
        "termination_date",
        true,
        "the termination date is not after the effective date",
    );
    order(
        "trade_date",
        "termination_date",
        true,
        "the termination date is not after the trade date",
    );
    order(
        "trade_date",
        "expiration_date",
        true,
        "the expiration date is not after the trade date",
    );
    order(
        "effective_date",
        "expiration_date",
        false,
        "the expiration date is before the effective date",
    );
    order(
        "trade_date",
        "premium.payment_date",
        false,
        "the premium is paid before the trade date",
    );
    if let (Some(b), Some(s)) = (get(fields, "buyer"), get(fields, "seller"))
        && b == s
    {
        out.push(Problem::new(
            "cross_check",
            &["buyer", "seller"],
            format!("buyer and seller are both {}", b.as_str().unwrap_or("?")),
        ));
    }
    if let (Some(a), Some(b)) = (
        get(fields, "party_a").and_then(Value::as_str),
        get(fields, "party_b").and_then(Value::as_str),
    ) && a.trim().eq_ignore_ascii_case(b.trim())
    {
        out.push(Problem::new(
            "cross_check",
            &["party_a", "party_b"],
            format!("party A and party B are both {a:?}"),
        ));
    }
    if let (Some(p), Some(n)) = (
        get(fields, "premium.currency").and_then(Value::as_str),
        get(fields, "notional.currency").and_then(Value::as_str),
    ) && p != n
    {
        out.push(Problem::new(
            "cross_check",
            &["premium.currency", "notional.currency"],
            format!("the premium is in {p} but the notional is in {n}"),
        ));
    }
    let num = |f: &str| get(fields, f).and_then(Value::as_f64);
    if let (Some(c), Some(f)) = (num("cap_price.value"), num("floor_price.value"))
        && c <= f
    {
        out.push(Problem::new(
            "cross_check",
            &["cap_price.value", "floor_price.value"],
            format!("the cap price {c} is not above the floor price {f}"),
        ));
    }
    if let (Some(c), Some(s)) = (num("cap_price.value"), num("strike.value"))
        && get(fields, "strike.unit").and_then(Value::as_str) == Some("price")
        && c <= s
    {
        out.push(Problem::new(
            "cross_check",
            &["cap_price.value", "strike.value"],
            format!("the cap price {c} is not above the strike {s}"),
        ));
    }
    if matches!(product, Some("snowball" | "phoenix"))
        && let (Some(ki), Some(ko)) = (num("autocall.knock_in_pct"), num("autocall.knock_out_pct"))
        && ki >= ko
    {
        out.push(Problem::new(
            "cross_check",
            &["autocall.knock_in_pct", "autocall.knock_out_pct"],
            format!("the knock-in level {ki}% is not below the knock-out level {ko}%"),
        ));
    }
    if product == Some("phoenix")
        && let (Some(ki), Some(cb)) = (
            num("autocall.knock_in_pct"),
            num("autocall.coupon_barrier_pct"),
        )
        && cb < ki
    {
        out.push(Problem::new(
            "cross_check",
            &["autocall.coupon_barrier_pct", "autocall.knock_in_pct"],
            format!("the coupon barrier {cb}% is below the knock-in level {ki}%"),
        ));
    }
    if let (Some(x), Some(y)) = (
        get(fields, "cap_price.currency").and_then(Value::as_str),
        get(fields, "floor_price.currency").and_then(Value::as_str),
    ) && x != y
    {
        out.push(Problem::new(
            "cross_check",
            &["cap_price.currency", "floor_price.currency"],
            format!("the cap is in {x} but the floor is in {y}"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{Evidence, Method};
    use serde_json::json;

    fn fv(field: &str, value: Value) -> FieldValue {
        FieldValue {
            field: field.into(),
            value,
            evidence: vec![Evidence {
                page: 1,
                span: [0, 1],
                boxes: vec![],
                snippet: String::new(),
                method: Method::Rule,
                confidence: 1.0,
                source: String::new(),
            }],
        }
    }

    #[test]
    fn cross_checks_name_the_fields() {
        type Case<'a> = (&'a [(&'a str, Value)], &'a [&'a str]);
        let cases: &[Case] = &[
            (
                &[
                    ("trade_date", json!("2025-06-01")),
                    ("expiration_date", json!("2025-05-01")),
                ],
                &["trade_date", "expiration_date"],
            ),
            (
                &[("buyer", json!("party_a")), ("seller", json!("party_a"))],
                &["buyer", "seller"],
            ),
            (
                &[
                    ("premium.currency", json!("EUR")),
                    ("notional.currency", json!("USD")),
                ],
                &["premium.currency", "notional.currency"],
            ),
            (
                &[
                    ("cap_price.value", json!(40)),
                    ("floor_price.value", json!(60)),
                ],
                &["cap_price.value", "floor_price.value"],
            ),
        ];
        for (values, want) in cases {
            let fields: Vec<FieldValue> = values.iter().map(|(f, v)| fv(f, v.clone())).collect();
            let p = cross_check(&fields, None);
            assert_eq!(p.len(), 1, "{values:?}: {p:?}");
            assert_eq!(p[0].fields, *want);
        }
        let fine: Vec<FieldValue> = vec![
            fv("trade_date", json!("2025-06-01")),
            fv("effective_date", json!("2025-06-03")),
            fv("expiration_date", json!("2026-06-01")),
            fv("buyer", json!("party_a")),
            fv("seller", json!("party_b")),
        ];
        assert!(cross_check(&fine, None).is_empty());
    }

    #[test]
    fn protection_may_start_before_a_credit_default_swaps_trade_date() {
        // The CDM project's CDX example: traded 2005-01-24 on the series rolled 2004-03-23.
        let fields: Vec<FieldValue> = vec![
            fv("trade_date", json!("2005-01-24")),
            fv("effective_date", json!("2004-03-23")),
            fv("termination_date", json!("2009-03-20")),
        ];
        assert!(cross_check(&fields, Some("credit_default_swap")).is_empty());
        let p = cross_check(&fields, Some("interest_rate_swap"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].fields, ["trade_date", "effective_date"]);
    }
}
