//! The key terms of `shared/schemas/key-terms.md` as leaf fields with dotted names
//! (`notional.amount`), the check of each leaf's type, and the assembly of the key-terms object.
//!
//! Extraction works on leaves: each rule, the model and each reviewer's correction produce
//! [`Candidate`] values for leaves with their evidence; the resolver keeps one value per leaf
//! or reports a [`Conflict`]; [`key_terms_object`] nests the leaves back into the flat-ish
//! object the schema defines (fields not stated are omitted, never null).

use serde::Serialize;
use serde_json::{Map, Value};

use super::parse::{is_currency, number_json, parse_iso};
use super::text::Evidence;

/// The product families of `key-terms.md`'s `product_type`.
pub const PRODUCT_TYPES: &[&str] = &[
    "equity_option",
    "equity_swap",
    "variance_swap",
    "interest_rate_swap",
    "swaption",
    "cap_floor",
    "fra",
    "fx_spot",
    "fx_forward",
    "fx_swap",
    "fx_option",
    "credit_default_swap",
    "commodity_option",
    "commodity_swap",
    "bond_option",
    "prepaid_forward",
    "capped_call",
    "snowball",
    "phoenix",
    "other",
];

/// Day-count fractions accepted (CDM 6's `DayCountFractionEnum` spellings).
pub const DAY_COUNTS: &[&str] = &[
    "ACT/360",
    "ACT/364",
    "ACT/365L",
    "ACT/365.FIXED",
    "ACT/ACT.AFB",
    "ACT/ACT.ICMA",
    "ACT/ACT.ISDA",
    "ACT/ACT.ISMA",
    "CAL/252",
    "RBA Bond Basis",
    "1/1",
    "30E/360",
    "30E/360.ISDA",
    "30/360",
];

/// The key-term leaves in the schema's order. `other.*` leaves come after them.
pub const LEAVES: &[&str] = &[
    "product_type",
    "trade_date",
    "effective_date",
    "expiration_date",
    "termination_date",
    "party_a",
    "party_b",
    "buyer",
    "seller",
    "underlier.name",
    "underlier.id",
    "option_type",
    "exercise_style",
    "strike.value",
    "strike.unit",
    "strike.currency",
    "number_of_options",
    "option_entitlement",
    "notional.amount",
    "notional.currency",
    "premium.amount",
    "premium.currency",
    "premium.payment_date",
    "settlement",
    "fixed_rate",
    "floating_rate_index",
    "floating_rate_tenor",
    "day_count",
    "barrier.kind",
    "barrier.direction",
    "barrier.level",
    "cap_price.value",
    "cap_price.currency",
    "floor_price.value",
    "floor_price.currency",
    "initial_price.value",
    "initial_price.currency",
    "participation_pct",
    "payout_pct",
    "autocall.knock_out_pct",
    "autocall.knock_out_observation",
    "autocall.lockup_months",
    "autocall.knock_in_pct",
    "autocall.knock_in_observation",
    "autocall.coupon_rate",
    "autocall.coupon_barrier_pct",
];

/// Observation frequencies of an autocallable's knock-out and knock-in.
pub const OBSERVATIONS: &[&str] = &["daily", "weekly", "monthly", "quarterly", "at_maturity"];

/// Defines [`Field`] from one list, so the variant, its stable name and its serde name cannot
/// drift apart.
macro_rules! fields {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A key-term leaf the extractor writes: the schema's leaves (in [`LEAVES`] order), then
        /// the `other.*` leaves the rules state. Serialised (and named in `extraction/data/*.toml`)
        /// by its stable dotted name, [`Field::name`]; an unknown name does not deserialise.
        ///
        /// [`Candidate::field`] stays a string: the model and reviewers may write any
        /// snake_case `other.*` leaf ([`is_leaf`]), which this closed list does not name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, Serialize)]
        pub enum Field {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl Field {
            /// Every field, the schema's leaves first in schema order.
            pub const ALL: &[Field] = &[$(Field::$variant,)*];

            /// The stable dotted name (`notional.amount`, `other.coupon_rate`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name,)*
                }
            }
        }
    };
}

fields! {
    /// `product_type`.
    ProductType = "product_type",
    /// `trade_date`.
    TradeDate = "trade_date",
    /// `effective_date`.
    EffectiveDate = "effective_date",
    /// `expiration_date`.
    ExpirationDate = "expiration_date",
    /// `termination_date`.
    TerminationDate = "termination_date",
    /// `party_a`.
    PartyA = "party_a",
    /// `party_b`.
    PartyB = "party_b",
    /// `buyer` (`party_a` or `party_b`).
    Buyer = "buyer",
    /// `seller` (`party_a` or `party_b`).
    Seller = "seller",
    /// `underlier.name`.
    UnderlierName = "underlier.name",
    /// `underlier.id`.
    UnderlierId = "underlier.id",
    /// `option_type`.
    OptionType = "option_type",
    /// `exercise_style`.
    ExerciseStyle = "exercise_style",
    /// `strike.value`.
    StrikeValue = "strike.value",
    /// `strike.unit`.
    StrikeUnit = "strike.unit",
    /// `strike.currency`.
    StrikeCurrency = "strike.currency",
    /// `number_of_options`.
    NumberOfOptions = "number_of_options",
    /// `option_entitlement`.
    OptionEntitlement = "option_entitlement",
    /// `notional.amount`.
    NotionalAmount = "notional.amount",
    /// `notional.currency`.
    NotionalCurrency = "notional.currency",
    /// `premium.amount`.
    PremiumAmount = "premium.amount",
    /// `premium.currency`.
    PremiumCurrency = "premium.currency",
    /// `premium.payment_date`.
    PremiumPaymentDate = "premium.payment_date",
    /// `settlement`.
    Settlement = "settlement",
    /// `fixed_rate`.
    FixedRate = "fixed_rate",
    /// `floating_rate_index`.
    FloatingRateIndex = "floating_rate_index",
    /// `floating_rate_tenor`.
    FloatingRateTenor = "floating_rate_tenor",
    /// `day_count`.
    DayCount = "day_count",
    /// `barrier.kind`.
    BarrierKind = "barrier.kind",
    /// `barrier.direction`.
    BarrierDirection = "barrier.direction",
    /// `barrier.level`.
    BarrierLevel = "barrier.level",
    /// `cap_price.value`.
    CapPriceValue = "cap_price.value",
    /// `cap_price.currency`.
    CapPriceCurrency = "cap_price.currency",
    /// `floor_price.value`.
    FloorPriceValue = "floor_price.value",
    /// `floor_price.currency`.
    FloorPriceCurrency = "floor_price.currency",
    /// `initial_price.value` (期初价格).
    InitialPrice = "initial_price.value",
    /// `initial_price.currency`.
    InitialPriceCurrency = "initial_price.currency",
    /// `participation_pct` (参与率, shark fins), in percent.
    ParticipationPct = "participation_pct",
    /// `payout_pct`: a digital's payout as a percentage of the notional.
    PayoutPct = "payout_pct",
    /// `autocall.knock_out_pct`: an autocallable's knock-out (敲出价) in % of the initial price.
    KnockOutPct = "autocall.knock_out_pct",
    /// `autocall.knock_out_observation` (`daily`, `weekly`, `monthly`, `quarterly`,
    /// `at_maturity`).
    KnockOutObservation = "autocall.knock_out_observation",
    /// `autocall.lockup_months` (锁定期).
    LockupMonths = "autocall.lockup_months",
    /// `autocall.knock_in_pct`: the knock-in (敲入价) in % of the initial price.
    KnockInPct = "autocall.knock_in_pct",
    /// `autocall.knock_in_observation`.
    KnockInObservation = "autocall.knock_in_observation",
    /// `autocall.coupon_rate`: the annualised coupon (票息), a decimal.
    CouponRate = "autocall.coupon_rate",
    /// `autocall.coupon_barrier_pct`: a phoenix's coupon barrier (派息线) in % of the initial
    /// price.
    CouponBarrierPct = "autocall.coupon_barrier_pct",
    /// `other.additional_trade_dates`: dates of further transactions under one disclosure.
    AdditionalTradeDates = "other.additional_trade_dates",
    /// `other.barrier_level_unit`: `percent` when the barrier is a percentage of the initial level.
    BarrierLevelUnit = "other.barrier_level_unit",
    /// `other.business_day_convention` (`MODFOLLOWING`, `FOLLOWING`…).
    BusinessDayConvention = "other.business_day_convention",
    /// `other.business_days`: the business-day calendars as written.
    BusinessDays = "other.business_days",
    /// `other.calculation_agent`.
    CalculationAgent = "other.calculation_agent",
    /// `other.cap_premium_pct`: how far a capped call's cap is above the reference price.
    CapPremiumPct = "other.cap_premium_pct",
    /// `other.confirmation_date`: the date of the confirmation letter itself.
    ConfirmationDate = "other.confirmation_date",
    /// `other.equity_amount_payer` (`party_a` or `party_b`): who pays an equity swap's
    /// equity amount (权益收益支付方).
    EquityAmountPayer = "other.equity_amount_payer",
    /// `other.fixed_rate_payer` (`party_a` or `party_b`).
    FixedRatePayer = "other.fixed_rate_payer",
    /// `other.floating_day_count`: the floating leg's day-count fraction.
    FloatingDayCount = "other.floating_day_count",
    /// `other.floating_rate_payer` (`party_a` or `party_b`).
    FloatingRatePayer = "other.floating_rate_payer",
    /// `other.governing_law`.
    GoverningLaw = "other.governing_law",
    /// `other.initial_floating_rate`: the rate of the first floating period.
    InitialFloatingRate = "other.initial_floating_rate",
    /// `other.initial_payment.amount`: a credit default swap's upfront payment (前端费用).
    InitialPaymentAmount = "other.initial_payment.amount",
    /// `other.initial_payment.currency`.
    InitialPaymentCurrency = "other.initial_payment.currency",
    /// `other.initial_payment.payer` (`party_a` or `party_b`): who pays the upfront payment
    /// (either side may, by where the market has moved since the fixed rate was set).
    InitialPaymentPayer = "other.initial_payment.payer",
    /// `other.initial_payment.payment_date`.
    InitialPaymentDate = "other.initial_payment.payment_date",
    /// `other.initial_valuation_date` (期初观察日).
    InitialValuationDate = "other.initial_valuation_date",
    /// `other.knock_in_level`: an autocallable's knock-in stated as a price (no initial price
    /// to express it in %).
    KnockInLevel = "other.knock_in_level",
    /// `other.knock_out_level`: an autocallable's knock-out stated as a price.
    KnockOutLevel = "other.knock_out_level",
    /// `other.knock_in_observation` / `other.knock_out_observation`: an observation schedule
    /// as written when it is not one of the schema's frequencies.
    KnockInObservationText = "other.knock_in_observation",
    /// See [`Field::KnockInObservationText`].
    KnockOutObservationText = "other.knock_out_observation",
    /// `other.number_of_shares`: the share count a contract covers.
    NumberOfShares = "other.number_of_shares",
    /// `other.premium_rate`: a premium stated as a share of the notional, a decimal.
    PremiumRate = "other.premium_rate",
    /// `other.reference`: the confirmation's reference number.
    Reference = "other.reference",
    /// `other.reference_price`: the closing or reference price a disclosure quotes.
    ReferencePrice = "other.reference_price",
    /// `other.reference_price_date`: the date of that price.
    ReferencePriceDate = "other.reference_price_date",
}

impl Field {
    /// Whether this is an `other.*` leaf (outside the schema, not scored).
    pub fn is_other(self) -> bool {
        self.name().starts_with("other.")
    }

    /// The currency leaf that goes with an amount or price leaf (`notional.amount` →
    /// `notional.currency`), if it has one.
    pub fn currency(self) -> Option<Field> {
        match self {
            Field::StrikeValue => Some(Field::StrikeCurrency),
            Field::NotionalAmount => Some(Field::NotionalCurrency),
            Field::PremiumAmount => Some(Field::PremiumCurrency),
            Field::CapPriceValue => Some(Field::CapPriceCurrency),
            Field::FloorPriceValue => Some(Field::FloorPriceCurrency),
            Field::InitialPrice => Some(Field::InitialPriceCurrency),
            Field::InitialPaymentAmount => Some(Field::InitialPaymentCurrency),
            _ => None,
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A value proposed for a leaf, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The leaf (`trade_date`, `notional.amount`, `other.knock_in_level`).
    pub field: String,
    /// The value, already in the leaf's canonical form.
    pub value: Value,
    /// Where it came from.
    pub evidence: Evidence,
}

/// One leaf's value and all the evidence that agrees on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldValue {
    /// The leaf.
    pub field: String,
    /// The value.
    pub value: Value,
    /// Every place that states it (the strongest first).
    pub evidence: Vec<Evidence>,
}

/// Two or more different values stated for one leaf: left out of the key terms, for a person
/// to decide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    /// The leaf.
    pub field: String,
    /// The values, each with its evidence.
    pub values: Vec<FieldValue>,
}

/// Whether `field` is a key-term leaf, or an `other.*` leaf: a snake_case name, or a
/// snake_case object and its member as the schema's own money leaves are
/// (`other.initial_payment.amount`, like `premium.amount`).
pub fn is_leaf(field: &str) -> bool {
    LEAVES.contains(&field)
        || field.strip_prefix("other.").is_some_and(|n| {
            n.len() <= 64
                && n.split('.').count() <= 2
                && n.split('.').all(|part| {
                    !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                })
        })
}

/// Checks a value for a leaf and returns it in canonical form, or says what is wrong.
pub fn check_leaf(field: &str, value: &Value) -> Result<Value, String> {
    let text = || {
        value
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("{field} must be a non-empty string"))
    };
    let one_of = |allowed: &[&str]| -> Result<Value, String> {
        let s = text()?;
        if allowed.contains(&s) {
            Ok(Value::from(s))
        } else {
            Err(format!(
                "{field} = {s:?} is not one of {}",
                allowed.join(", ")
            ))
        }
    };
    let positive = || -> Result<Value, String> {
        match value.as_f64() {
            Some(v) if v.is_finite() && v > 0.0 => Ok(number_json(v)),
            _ => Err(format!("{field} must be a positive number, not {value}")),
        }
    };
    match field {
        "product_type" => one_of(PRODUCT_TYPES),
        "trade_date"
        | "effective_date"
        | "expiration_date"
        | "termination_date"
        | "premium.payment_date"
        | "other.initial_payment.payment_date" => {
            let s = text()?;
            parse_iso(s)
                .map(|_| Value::from(s))
                .ok_or_else(|| format!("{field} = {s:?} is not a date YYYY-MM-DD"))
        }
        "party_a" | "party_b" | "underlier.name" | "underlier.id" => {
            let s = text()?;
            if s.chars().count() > 300 {
                return Err(format!("{field} is longer than 300 characters"));
            }
            Ok(Value::from(s))
        }
        "buyer" | "seller" | "other.initial_payment.payer" => one_of(&["party_a", "party_b"]),
        "other.initial_payment.amount" => positive(),
        "option_type" => one_of(&["call", "put"]),
        "exercise_style" => one_of(&["european", "american", "bermudan"]),
        "strike.unit" => one_of(&["price", "percent", "rate"]),
        "settlement" => one_of(&["cash", "physical", "cash_or_physical"]),
        "barrier.kind" => one_of(&["knock_in", "knock_out"]),
        "barrier.direction" => one_of(&["up", "down"]),
        "day_count" => one_of(DAY_COUNTS),
        "strike.currency"
        | "notional.currency"
        | "premium.currency"
        | "cap_price.currency"
        | "floor_price.currency"
        | "initial_price.currency"
        | "other.initial_payment.currency" => {
            let s = text()?;
            if is_currency(s) {
                Ok(Value::from(s))
            } else {
                Err(format!("{field} = {s:?} is not an ISO 4217 currency code"))
            }
        }
        "strike.value"
        | "notional.amount"
        | "premium.amount"
        | "number_of_options"
        | "option_entitlement"
        | "barrier.level"
        | "cap_price.value"
        | "floor_price.value"
        | "initial_price.value"
        | "participation_pct"
        | "payout_pct"
        | "autocall.knock_out_pct"
        | "autocall.knock_in_pct"
        | "autocall.coupon_barrier_pct" => positive(),
        "autocall.lockup_months" => match value.as_f64() {
            Some(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 => Ok(number_json(v)),
            _ => Err(format!(
                "{field} must be a whole number of months, not {value}"
            )),
        },
        "autocall.knock_out_observation" | "autocall.knock_in_observation" => one_of(OBSERVATIONS),
        "autocall.coupon_rate" => match value.as_f64() {
            Some(v) if (0.0..1.0).contains(&v) => Ok(number_json(v)),
            _ => Err(format!(
                "autocall.coupon_rate must be a decimal rate between 0 and 1 (18% = 0.18), not {value}"
            )),
        },
        "fixed_rate" => match value.as_f64() {
            // Rates are decimals; a rate above 100% is a percent figure read as a decimal.
            Some(v) if v.is_finite() && v > -1.0 && v < 1.0 => Ok(number_json(v)),
            _ => Err(format!(
                "fixed_rate must be a decimal rate between -1 and 1 (4.09% = 0.0409), not {value}"
            )),
        },
        "floating_rate_index" => {
            let s = text()?;
            if s.len() > 60 {
                return Err("floating_rate_index is longer than 60 characters".into());
            }
            Ok(Value::from(s))
        }
        "floating_rate_tenor" => {
            let s = text()?;
            let (n, unit) = s.split_at(s.len() - 1);
            if n.parse::<u32>().is_ok_and(|n| n > 0) && matches!(unit, "D" | "W" | "M" | "Y") {
                Ok(Value::from(s))
            } else {
                Err(format!(
                    "floating_rate_tenor = {s:?} is not a tenor like 3M"
                ))
            }
        }
        f if f.starts_with("other.") && is_leaf(f) => {
            if value.is_null() {
                Err(format!("{field} must not be null"))
            } else {
                Ok(value.clone())
            }
        }
        _ => Err(format!("{field} is not a key-terms field")),
    }
}

/// Whether two values of a leaf say the same thing (numbers within 1e-9 relative, strings
/// ignoring case and surrounding space).
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
        }
        (Value::String(x), Value::String(y)) => x.trim().eq_ignore_ascii_case(y.trim()),
        _ => a == b,
    }
}

/// Groups candidates by leaf: agreeing values merge their evidence; disagreeing ones become a
/// conflict. For party names and the underlier's name, a value that another candidate contains
/// whole (`Deutsche Bank` in `Deutsche Bank AG`) agrees with it and the longer name is kept.
pub fn resolve(candidates: Vec<Candidate>) -> (Vec<FieldValue>, Vec<Conflict>) {
    let mut by_field: Vec<(String, Vec<FieldValue>)> = Vec::new();
    for c in candidates {
        let slot = match by_field.iter_mut().find(|(f, _)| *f == c.field) {
            Some((_, v)) => v,
            None => {
                by_field.push((c.field.clone(), Vec::new()));
                &mut by_field.last_mut().expect("just pushed").1
            }
        };
        let names = matches!(c.field.as_str(), "party_a" | "party_b" | "underlier.name");
        if let Some(v) = slot.iter_mut().find(|v| {
            same_value(&v.value, &c.value) || (names && name_contains(&v.value, &c.value))
        }) {
            if names
                && c.value.as_str().map(str::len).unwrap_or(0)
                    > v.value.as_str().map(str::len).unwrap_or(0)
            {
                v.value = c.value.clone();
            }
            v.evidence.push(c.evidence);
        } else {
            slot.push(FieldValue {
                field: c.field.clone(),
                value: c.value,
                evidence: vec![c.evidence],
            });
        }
    }
    let mut fields = Vec::new();
    let mut conflicts = Vec::new();
    for (field, mut values) in by_field {
        for v in &mut values {
            v.evidence
                .sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        }
        if values.len() == 1 {
            fields.push(values.pop().expect("one"));
        } else {
            conflicts.push(Conflict { field, values });
        }
    }
    fields.sort_by_key(|f| leaf_order(&f.field));
    conflicts.sort_by_key(|c| leaf_order(&c.field));
    (fields, conflicts)
}

fn name_contains(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_str(), b.as_str()) else {
        return false;
    };
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    let word_in = |long: &str, short: &str| {
        long.starts_with(short)
            && long[short.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
    };
    word_in(&a, &b) || word_in(&b, &a)
}

/// Sort key: schema order, then `other.*` alphabetically.
pub fn leaf_order(field: &str) -> (usize, String) {
    match LEAVES.iter().position(|l| *l == field) {
        Some(i) => (i, String::new()),
        None => (LEAVES.len(), field.to_owned()),
    }
}

/// The key-terms object: leaves nested (`notional.amount` → `{"notional": {"amount": …}}`) in
/// the schema's order, `other.*` leaves in an `other` object.
pub fn key_terms_object(fields: &[FieldValue]) -> Value {
    let mut leaves: Vec<&FieldValue> = fields.iter().collect();
    leaves.sort_by_key(|f| leaf_order(&f.field));
    let mut out = Map::new();
    for f in leaves {
        put_leaf(&mut out, &f.field, f.value.clone());
    }
    Value::Object(out)
}

/// Sets the leaf `path` (`premium.amount`, `other.reference`) of a key-terms object, making
/// the objects on the way.
pub fn put_leaf(out: &mut Map<String, Value>, path: &str, v: Value) {
    match path.split_once('.') {
        None => {
            out.insert(path.to_string(), v);
        }
        Some((head, rest)) => {
            let e = out
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !e.is_object() {
                *e = Value::Object(Map::new());
            }
            if let Value::Object(m) = e {
                put_leaf(m, rest, v);
            }
        }
    }
}

/// The leaves of a key-terms object (the inverse of [`key_terms_object`]), for corrections and
/// exports of edited payloads; values are not checked here.
pub fn leaves_of(obj: &Value) -> Vec<(String, Value)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, v, out);
                }
            }
            _ if !prefix.is_empty() => out.push((prefix.to_string(), v.clone())),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if obj.is_object() {
        walk("", obj, &mut out);
    }
    out.sort_by_key(|(f, _)| leaf_order(f));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leaves_are_checked_and_canonical() {
        let ok: &[(&str, Value)] = &[
            ("trade_date", json!("2005-06-23")),
            ("notional.amount", json!(3e8)),
            ("notional.currency", json!("USD")),
            ("fixed_rate", json!(0.0409)),
            ("day_count", json!("30/360")),
            ("floating_rate_tenor", json!("3M")),
            ("buyer", json!("party_a")),
            ("other.knock_in_level", json!(70)),
            ("autocall.knock_out_pct", json!(103)),
            ("autocall.knock_out_observation", json!("monthly")),
            ("autocall.lockup_months", json!(3)),
            ("autocall.coupon_rate", json!(0.152)),
            ("initial_price.currency", json!("CNY")),
            ("payout_pct", json!(4)),
            ("other.initial_payment.amount", json!(16000)),
            ("other.initial_payment.currency", json!("USD")),
            ("other.initial_payment.payer", json!("party_a")),
            ("other.initial_payment.payment_date", json!("2005-01-27")),
        ];
        for (f, v) in ok {
            assert!(check_leaf(f, v).is_ok(), "{f} {v}");
        }
        let bad: &[(&str, Value, &str)] = &[
            ("trade_date", json!("2005-02-30"), "not a date"),
            ("notional.currency", json!("USS"), "ISO 4217"),
            ("strike.value", json!(-5), "positive"),
            ("fixed_rate", json!(4.09), "decimal"),
            ("buyer", json!("Deutsche Bank"), "party_a, party_b"),
            (
                "autocall.knock_in_observation",
                json!("每日"),
                "daily, weekly",
            ),
            ("autocall.lockup_months", json!(2.5), "whole number"),
            ("autocall.coupon_rate", json!(15.2), "decimal"),
            ("colour", json!("red"), "not a key-terms field"),
            ("other.Bad Name", json!(1), "not a key-terms field"),
            ("other.a.b.c", json!(1), "not a key-terms field"),
            (
                "other.initial_payment.payer",
                json!("New Bank"),
                "party_a, party_b",
            ),
            ("other.initial_payment.currency", json!("usd"), "ISO 4217"),
        ];
        for (f, v, msg) in bad {
            let e = check_leaf(f, v).unwrap_err();
            assert!(e.contains(msg), "{f}: {e}");
        }
        assert_eq!(
            check_leaf("notional.amount", &json!(3e8)).unwrap(),
            json!(300000000)
        );
    }

    #[test]
    fn fields_are_the_schema_leaves_then_other_leaves() {
        let (schema, other): (Vec<Field>, Vec<Field>) =
            Field::ALL.iter().partition(|f| !f.is_other());
        let names: Vec<&str> = schema.iter().map(|f| f.name()).collect();
        assert_eq!(names, LEAVES, "the schema's leaves, in order");
        assert_eq!(&Field::ALL[..LEAVES.len()], schema.as_slice());
        for f in Field::ALL {
            assert!(is_leaf(f.name()), "{f}");
            assert_eq!(f.to_string(), f.name());
            let back: Field = serde_json::from_value(json!(f.name())).unwrap();
            assert_eq!(back, *f);
            assert_eq!(serde_json::to_value(f).unwrap(), json!(f.name()));
        }
        assert!(!other.is_empty());
        for amount in Field::ALL.iter().filter_map(|f| f.currency()) {
            assert!(amount.name().ends_with(".currency"), "{amount}");
        }
        let e = serde_json::from_value::<Field>(json!("notional.amt")).unwrap_err();
        assert!(
            e.to_string().contains("unknown variant `notional.amt`"),
            "{e}"
        );
    }

    #[test]
    fn iso_list_is_sorted_for_binary_search() {
        let mut sorted = super::super::parse::ISO_4217.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, super::super::parse::ISO_4217);
    }
}
