//! The report fields computed once from a trade, by the common names the regimes share (the
//! CPMI-IOSCO critical data elements as ISDA DRR names them: `uniqueTransactionIdentifier`,
//! `leg1.notionalAmount`, …). Each regime's report takes its fields from here
//! ([`crate::regime`]), with its own formats where it differs (a percentage where others want a
//! decimal, its own identifier for a technical record).
//!
//! A field is [`Cell::Value`] (from the trade), [`Cell::Default`] (a value the rules give when
//! the trade says nothing, with the reason shown), or [`Cell::Missing`] (the field applies to
//! this trade but the trade does not give it: what is needed is said, nothing is guessed). A
//! field that does not apply to the product (an option type on a swap) is absent.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::cdm::{Payout, Quantity, RateLeg, Trade};

/// One field's value for one trade.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cell {
    /// Read or derived from the trade.
    Value {
        /// The value read or derived from the trade.
        value: Value,
    },
    /// Given by the rules where the trade is silent (e.g. `false` for an indicator no fact
    /// sets), with why.
    Default {
        /// The value the rules give.
        value: Value,
        /// Why that value, shown beside it.
        reason: String,
    },
    /// The field applies but the trade lacks what it needs.
    Missing {
        /// What the trade would have to give (`the confirmation status (…)`).
        needed: String,
    },
}

impl Cell {
    /// The value of a value or a default; `None` when missing.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Cell::Value { value } | Cell::Default { value, .. } => Some(value),
            Cell::Missing { .. } => None,
        }
    }
}

/// Facts of the report run rather than of the trade.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    /// When the report is produced (ISO 8601, UTC), `reportingTimestamp`.
    pub reporting_timestamp: String,
}

/// The common fields of one trade.
pub type Elements = BTreeMap<String, Cell>;

fn v(x: impl Into<Value>) -> Cell {
    Cell::Value { value: x.into() }
}

fn d(x: impl Into<Value>, reason: &str) -> Cell {
    Cell::Default {
        value: x.into(),
        reason: reason.to_owned(),
    }
}

fn missing(needed: &str) -> Cell {
    Cell::Missing {
        needed: needed.to_owned(),
    }
}

fn opt(x: Option<impl Into<Value>>, needed: &str) -> Cell {
    match x {
        Some(x) => v(x),
        None => missing(needed),
    }
}

/// A number as JSON: an integer where it is whole (reports write `10000000`, not `1e7`).
pub fn num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// ISO 10383-style asset class codes (EMIR Refit table 2 field 2.11).
fn asset_class(t: &Trade) -> Option<&'static str> {
    let from = |s: &str| -> Option<&'static str> {
        let s = s.to_ascii_lowercase();
        if s.starts_with("equity") {
            Some("EQUI")
        } else if s.starts_with("interestrate") || s.starts_with("rates") {
            Some("INTR")
        } else if s.starts_with("foreignexchange") || s.starts_with("fx") {
            Some("CURR")
        } else if s.starts_with("commodit") {
            Some("COMM")
        } else if s.starts_with("credit") {
            Some("CRDT")
        } else {
            None
        }
    };
    t.primary_asset_class
        .as_deref()
        .and_then(from)
        .or_else(|| t.qualifier.as_deref().and_then(from))
        .or_else(|| {
            t.payouts.iter().find_map(|p| match p {
                Payout::Credit(_) => Some("CRDT"),
                Payout::Forward(_) => Some("CURR"),
                Payout::Option(o) if !o.fx_legs.is_empty() => Some("CURR"),
                Payout::Performance(_) | Payout::Option(_) | Payout::InterestRate(_) => None,
            })
        })
}

/// The CFTC and DTCC name of an asset class.
pub fn asset_class_name(code: &str) -> &'static str {
    match code {
        "EQUI" => "Equity",
        "INTR" => "InterestRate",
        "CURR" => "ForeignExchange",
        "COMM" => "Commodity",
        "CRDT" => "Credit",
        _ => "Other",
    }
}

fn contract_type(t: &Trade) -> &'static str {
    if t.option().is_some() {
        if t.option()
            .is_some_and(|o| o.underlier.as_ref().is_some_and(|u| u.kind == "Product"))
        {
            "SWPT"
        } else {
            "OPTN"
        }
    } else if t.forward().is_some() {
        "FORW"
    } else {
        "SWAP"
    }
}

fn settlement_code(s: &str) -> &'static str {
    match s {
        "Cash" => "CASH",
        "Physical" => "PHYS",
        _ => "OPTL",
    }
}

/// ISO 20022 `InterestComputationMethod` codes for FpML/CDM day-count fractions, as DRR maps
/// them.
pub fn day_count_code(dc: &str) -> Option<&'static str> {
    Some(match dc.to_ascii_uppercase().as_str() {
        "30/360" | "30/360.ISDA" => "A001",
        "30/365" => "A002",
        "30/ACT" => "A003",
        "ACT/360" => "A004",
        "ACT/365.FIXED" | "ACT/365F" => "A005",
        "ACT/ACT.ICMA" | "ACT/ACT.ISMA" => "A006",
        "30E/360.ISDA" => "A007",
        "ACT/ACT.ISDA" => "A008",
        "ACT/365L" => "A009",
        "ACT/ACT.AFB" => "A010",
        "30E/360" => "A011",
        "BUS/252" => "A014",
        _ => return None,
    })
}

/// ISO 20022 frequency codes for a CDM period unit.
pub fn period_code(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "D" => "DAIL",
        "W" => "WEEK",
        "M" => "MNTH",
        "Y" => "YEAR",
        "T" => "EXPI",
        _ => return None,
    })
}

/// ISO 20022 benchmark codes (`BenchmarkCurveName2Code`) for common FpML floating-rate indexes.
pub fn rate_index_code(index: &str) -> Option<&'static str> {
    let i = index.to_ascii_uppercase();
    let table: &[(&str, &str)] = &[
        ("LIBOR", "LIBO"),
        ("EURIBOR", "EURI"),
        ("SOFR", "SOFR"),
        ("ESTR", "ESTR"),
        ("€STR", "ESTR"),
        ("SONIA", "SONA"),
        ("TONA", "TONA"),
        ("TIBOR", "TIBO"),
        ("SARON", "SARO"),
        ("HIBOR", "HIBO"),
        ("SHIBOR", "SHIB"),
        ("BBSW", "BBSW"),
        ("CDOR", "CDOR"),
        ("EONIA", "EONA"),
        ("STIBOR", "STBO"),
        ("CIBOR", "CIBO"),
        ("NIBOR", "NIBO"),
        ("WIBOR", "WIBO"),
        ("PRIBOR", "PRBO"),
        ("BUBOR", "BUBO"),
        ("JIBAR", "JIBA"),
        ("TELBOR", "TLBO"),
        ("MOSPRIME", "MOSP"),
    ];
    // Longest names first so SHIBOR is not read as HIBOR or LIBOR.
    let mut sorted: Vec<&(&str, &str)> = table.iter().collect();
    sorted.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    sorted.iter().find(|(n, _)| i.contains(n)).map(|(_, c)| *c)
}

/// ISO 20022 / DRR quantity units for CDM units.
pub fn unit_code(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "Share" => "SHAS",
        "USGAL" | "GAL" => "USGA",
        "BBL" => "BARL",
        "MWH" => "MWHO",
        "MMBTU" => "MBTU",
        "THM" => "TONE",
        "MT" => "TONE",
        "OZT" | "TROY_OZ" => "OZTR",
        "LB" => "PUND",
        "KG" => "KILO",
        "L" => "LITR",
        "BU" => "BUSL",
        _ => return None,
    })
}

/// The two legs of a trade in reporting order, each with its amount, currency, payer and
/// receiver (counterparty indexes), and what each leg is.
#[derive(Debug, Clone, Default)]
pub struct Leg {
    /// The leg's notional amount, in [`Leg::currency`].
    pub notional: Option<f64>,
    /// ISO 4217 currency of the notional.
    pub currency: Option<String>,
    /// Total quantity in [`Leg::quantity_unit`] (options, shares), where not money.
    pub total_quantity: Option<f64>,
    /// The unit of [`Leg::total_quantity`] (`Share`, `BBL`).
    pub quantity_unit: Option<String>,
    /// ISO 4217 settlement currency of the leg.
    pub settlement_currency: Option<String>,
    /// The leg's payer, an index into [`Trade::parties`].
    pub payer: Option<usize>,
    /// The leg's receiver, an index into [`Trade::parties`].
    pub receiver: Option<usize>,
    /// The interest-rate leg behind this leg, for a swap's rate legs.
    pub rate: Option<RateLeg>,
    /// The notional is a quantity of money with no underlying quantity (an equity swap's
    /// notional in currency): the total quantity is "not available".
    pub quantity_not_available: bool,
}

fn total(q: &Quantity) -> Option<f64> {
    q.value
        .or_else(|| (!q.schedule.is_empty()).then(|| q.schedule.iter().sum()))
}

/// The legs in reporting order: an option is one leg (its notional = strike × quantity when
/// the quantity is in units); an FX option or forward is two legs, one per currency; a
/// fixed/float swap puts the fixed leg first; an equity swap puts the equity (performance) leg
/// first and the funding leg second.
pub fn legs(t: &Trade) -> Vec<Leg> {
    if let Some(o) = t.option() {
        if !o.fx_legs.is_empty() {
            return o
                .fx_legs
                .iter()
                .enumerate()
                .map(|(i, (q, f))| Leg {
                    notional: q.value,
                    currency: q.currency.clone(),
                    settlement_currency: if i == 0 {
                        o.settlement_currency.clone()
                    } else {
                        None
                    },
                    payer: f.payer,
                    receiver: f.receiver,
                    ..Leg::default()
                })
                .collect();
        }
        // Total quantity: the trade lot's unscheduled total where the payout's quantity is a
        // schedule, else the payout's quantity.
        let q = o.quantity.clone().unwrap_or_default();
        // A number of contracts on one share each is a number of shares.
        let unit = match (q.unit.as_deref(), q.multiplier_unit.as_deref()) {
            (Some("Contract"), Some(m)) if m == "Share" => Some(m.to_owned()),
            _ => q
                .unit
                .clone()
                .or_else(|| t.lot_quantities.iter().find_map(|l| l.unit.clone())),
        };
        let qty = if q.schedule.is_empty() {
            total(&q)
        } else {
            t.lot_quantities
                .iter()
                .find(|l| l.schedule.is_empty() && l.value.is_some() && l.unit == q.unit)
                .and_then(|l| l.value)
                .or_else(|| total(&q))
        };
        let (notional, currency) = match (&q.currency, &o.strike) {
            (Some(c), _) => (q.value, Some(c.clone())),
            (None, Some(s)) if s.per_currency.is_none() => {
                (qty.map(|n| n * s.value), s.currency.clone())
            }
            _ => (None, None),
        };
        return vec![Leg {
            notional: notional.map(|n| (n * 1e6).round() / 1e6),
            currency,
            total_quantity: if q.currency.is_some() { None } else { qty },
            quantity_unit: if q.currency.is_some() { None } else { unit },
            settlement_currency: o.settlement_currency.clone(),
            payer: o.seller,
            receiver: o.buyer,
            ..Leg::default()
        }];
    }
    if let Some(f) = t.forward() {
        return f
            .legs
            .iter()
            .map(|(q, fl)| Leg {
                notional: q.value,
                currency: q.currency.clone(),
                payer: fl.payer,
                receiver: fl.receiver,
                settlement_currency: f.settlement_currency.clone(),
                ..Leg::default()
            })
            .collect();
    }
    let mut out = Vec::new();
    let settlement = t.payouts.iter().find_map(|p| match p {
        Payout::Performance(x) => x.settlement_currency.clone(),
        _ => None,
    });
    if let Some(p) = t.performance() {
        let q = p.notional.clone().unwrap_or_default();
        out.push(Leg {
            notional: q.value,
            currency: q.currency.clone(),
            total_quantity: if q.currency.is_none() {
                total(&q)
            } else {
                None
            },
            quantity_unit: if q.currency.is_none() {
                q.unit.clone()
            } else {
                None
            },
            quantity_not_available: q.currency.is_some(),
            settlement_currency: p.settlement_currency.clone(),
            payer: p.flow.payer,
            receiver: p.flow.receiver,
            ..Leg::default()
        });
    }
    let mut rates: Vec<&RateLeg> = t.rate_legs().collect();
    // Fixed before floating.
    rates.sort_by_key(|l| l.fixed_rate.is_none());
    for r in rates {
        let q = r.notional.clone().unwrap_or_default();
        out.push(Leg {
            notional: q.value,
            currency: q.currency.clone(),
            settlement_currency: settlement.clone(),
            payer: r.flow.payer,
            receiver: r.flow.receiver,
            rate: Some(r.clone()),
            ..Leg::default()
        });
    }
    if let Some(c) = t.credit() {
        let q = c.notional.clone().unwrap_or_default();
        out.push(Leg {
            notional: q.value,
            currency: q.currency.clone(),
            payer: c.flow.payer,
            receiver: c.flow.receiver,
            ..Leg::default()
        });
    }
    out
}

/// Everything the regimes draw on, computed once.
pub fn elements(t: &Trade, run: &RunFacts) -> Elements {
    let mut e = Elements::new();
    let cp1 = t.reporting.reporting_party;
    let cp2 = t.reporting.counterparty;
    let lei = |i: Option<usize>| t.party(i).and_then(|p| p.lei.clone());
    let option = t.option();
    let legs = legs(t);
    let asset = asset_class(t);

    // Action and event.
    let action = match (t.action.as_deref(), t.intent.as_deref()) {
        (Some("Correct"), _) => "CORR",
        (Some("Cancel"), _) => "EROR",
        (_, Some("Termination")) => "TERM",
        (
            _,
            Some("PartialTermination" | "Increase" | "ContractTermsAmendment" | "IndexTransition"),
        ) => "MODI",
        _ => "NEWT",
    };
    e.insert("actionType".into(), v(action));
    let event = match t.intent.as_deref() {
        Some("Novation" | "PartialNovation") => "NOVA",
        Some("Clearing") => "CLRG",
        Some("OptionExercise") => "EXER",
        Some("Allocation") => "ALOC",
        Some("Compression") => "COMP",
        Some("Termination") => "EARL",
        Some("CorporateActionDetermined") => "CORP",
        _ => "TRAD",
    };
    e.insert("eventType".into(), v(event));
    e.insert("ptrr".into(), v(event == "COMP"));
    e.insert("level".into(), v("TCTN"));

    // Identifiers and parties.
    e.insert(
        "uniqueTransactionIdentifier".into(),
        opt(
            t.uti.clone(),
            "the UTI (a tradeIdentifier of type UniqueTransactionIdentifier)",
        ),
    );
    if let Some(id) = t.other_ids.first() {
        e.insert("secondaryTransactionIdentifier".into(), v(id.clone()));
    }
    // Counterparty 1's own reference for the trade.
    if let Some(i) = t
        .other_id_issuers
        .iter()
        .position(|p| p.is_some() && *p == cp1)
    {
        e.insert(
            "dtccAdditionalFields.tradeParty1TransactionID".into(),
            v(t.other_ids[i].clone()),
        );
    }
    let cp1_lei = lei(cp1);
    e.insert(
        "counterparty1".into(),
        opt(
            cp1_lei.clone(),
            "counterparty 1's LEI (the reporting party, reportingSide.reportingParty)",
        ),
    );
    e.insert(
        "counterparty2".into(),
        opt(
            lei(cp2),
            "counterparty 2's LEI (reportingSide.reportingCounterparty)",
        ),
    );
    let cp2_is_lei = lei(cp2).is_some();
    e.insert("counterparty2IdentifierType".into(), v(cp2_is_lei));
    if cp2_is_lei {
        e.insert("counterparty2IdentifierSource".into(), v("LEID"));
        e.insert("counterparty2IdentifierFormat".into(), v("Lei"));
    }
    let submitter = lei(t.reporting.submitting_party).or(cp1_lei.clone());
    e.insert(
        "reportSubmittingEntityID".into(),
        opt(submitter, "the LEI of the entity submitting the report"),
    );
    e.insert(
        "entityResponsibleForReporting".into(),
        opt(
            cp1_lei.clone(),
            "the LEI of the entity responsible for reporting",
        ),
    );
    e.insert(
        "reportingSpecifiedPerson".into(),
        opt(cp1_lei.clone(), "the LEI of the specified person reporting"),
    );
    if let Some(b) = lei(t.related("ArrangingBroker")) {
        e.insert("brokerID".into(), v(b));
        e.insert("brokerIdentifierFormat".into(), v("Lei"));
    }

    // Timestamps and dates.
    let exec = t
        .reporting
        .original_execution_timestamp
        .clone()
        .or(t.execution_timestamp.clone());
    e.insert(
        "executionTimestamp".into(),
        opt(
            exec.clone(),
            "the execution timestamp (a workflow-step timestamp qualified executionDateTime)",
        ),
    );
    e.insert(
        "eventTimestamp".into(),
        opt(
            t.event_timestamp.clone().or(exec.clone()),
            "the event timestamp (eventCreationDateTime)",
        ),
    );
    let event_date = t
        .event_date
        .clone()
        .or(exec.as_ref().map(|x| x.chars().take(10).collect()));
    e.insert("eventDate".into(), opt(event_date, "the event date"));
    if run.reporting_timestamp.is_empty() {
        e.insert(
            "reportingTimestamp".into(),
            missing("the reporting timestamp"),
        );
    } else {
        e.insert(
            "reportingTimestamp".into(),
            v(run.reporting_timestamp.clone()),
        );
    }
    let first_rate = t.rate_legs().next();
    let effective = t
        .effective_date
        .clone()
        .or(first_rate.and_then(|r| r.effective.clone()))
        .or(t.trade_date.clone());
    e.insert(
        "effectiveDate".into(),
        opt(
            effective.clone(),
            "the effective date (economicTerms.effectiveDate)",
        ),
    );
    let expiration = option
        .and_then(|o| o.expiration.clone())
        .or(t.termination_date.clone())
        .or(first_rate.and_then(|r| r.termination.clone()))
        .or(t.forward().and_then(|f| f.value_date.clone()));
    if option.is_some()
        || t.termination_date.is_some()
        || first_rate.is_some()
        || t.forward().is_some()
    {
        e.insert(
            "expirationDate".into(),
            opt(expiration.clone(), "the expiration or termination date"),
        );
    }
    let settle = option
        .and_then(|o| o.settlement_date.clone())
        .or(t.forward().and_then(|f| f.value_date.clone()))
        .or(t.termination_date.clone())
        .or(expiration.clone());
    if let Some(s) = settle {
        e.insert("finalContractualSettlementDate".into(), v(s));
    }

    // Classification.
    match asset {
        Some(a) => {
            e.insert("assetClass".into(), v(a));
            e.insert("cftcGuidebook.assetClass".into(), v(asset_class_name(a)));
            e.insert(
                "dtccAdditionalFields.primaryAssetClass".into(),
                v(asset_class_name(a)),
            );
        }
        None => {
            e.insert(
                "assetClass".into(),
                missing("the asset class (productTaxonomy.primaryAssetClass)"),
            );
        }
    }
    e.insert("contractType".into(), v(contract_type(t)));
    e.insert(
        "productClassification".into(),
        opt(
            t.cfi.clone(),
            "the product's CFI code (productTaxonomy with source CFI)",
        ),
    );
    let settlement_type = option
        .and_then(|o| o.settlement_type.clone())
        .or(t.performance().and_then(|p| p.settlement_type.clone()))
        .or(t.forward().and_then(|f| f.settlement_type.clone()));
    let delivery = match settlement_type.as_deref() {
        Some(s) => settlement_code(s),
        // No settlement terms: an interest-rate swap's payments are made, not cash-settled
        // against a reference; anything else is left to election.
        None if option.is_none() && first_rate.is_some() && t.performance().is_none() => "PHYS",
        // An FX forward without cash settlement terms is delivered.
        None if t.forward().is_some_and(|f| f.settlement_currency.is_none()) => "PHYS",
        None => "OPTL",
    };
    e.insert("deliveryType".into(), v(delivery));
    e.insert("cftcGuidebook.settlementType".into(), v(delivery));
    e.insert(
        "cryptoAssetUnderlyingIndicator".into(),
        d(false, "no crypto-asset underlier in the trade"),
    );
    e.insert(
        "nonStandardizedTermIndicator".into(),
        match t.non_standard_terms {
            Some(b) => v(b),
            None => d(false, "economicTerms.nonStandardisedTerms not stated"),
        },
    );

    // Directions.
    if let Some(o) = option {
        let buyer = t.party(o.buyer).and_then(|p| p.lei.clone());
        let seller = t.party(o.seller).and_then(|p| p.lei.clone());
        match (o.buyer, cp1) {
            (Some(b), Some(c)) if Some(c) == o.buyer || Some(c) == o.seller => {
                e.insert("direction1".into(), v(if b == c { "BYER" } else { "SLLR" }));
            }
            _ => {
                e.insert(
                    "direction1".into(),
                    missing("the option's buyer and seller (buyerSeller)"),
                );
            }
        }
        e.insert("buyerIdentifier".into(), opt(buyer, "the buyer's LEI"));
        e.insert("sellerIdentifier".into(), opt(seller, "the seller's LEI"));
    } else if t.forward().is_some() {
        // An FX forward: direction by leg.
    }
    if option.is_none() {
        for (i, leg) in legs.iter().enumerate().take(2) {
            let k = i + 1;
            if let (Some(p), Some(c)) = (leg.payer, cp1)
                && (Some(c) == leg.payer || Some(c) == leg.receiver)
            {
                e.insert(
                    leg_key(k, "direction2"),
                    v(if p == c { "MAKE" } else { "TAKE" }),
                );
            } else {
                e.insert(
                    leg_key(k, "direction2"),
                    missing("who pays this leg (payerReceiver)"),
                );
            }
            e.insert(
                leg_key(k, "payerIdentifier"),
                opt(lei(leg.payer), "the payer's LEI"),
            );
            e.insert(
                leg_key(k, "receiverIdentifier"),
                opt(lei(leg.receiver), "the receiver's LEI"),
            );
        }
    }
    for k in 1..=2 {
        e.insert(leg_key(k, "payerIdentifierFormat"), v("Lei"));
        e.insert(leg_key(k, "receiverIdentifierFormat"), v("Lei"));
    }

    // Legs.
    for (i, leg) in legs.iter().enumerate().take(2) {
        let k = i + 1;
        e.insert(
            leg_key(k, "notionalAmount"),
            opt(leg.notional.map(num), "the leg's notional amount"),
        );
        e.insert(
            leg_key(k, "notionalCurrency"),
            opt(leg.currency.clone(), "the leg's notional currency"),
        );
        if let Some(c) = &leg.settlement_currency {
            e.insert(leg_key(k, "settlementCurrency"), v(c.clone()));
        }
        if let Some(q) = leg.total_quantity {
            e.insert(leg_key(k, "totalNotionalQuantity"), v(num(q)));
        } else if leg.quantity_not_available {
            e.insert(
                leg_key(k, "totalNotionalQuantity"),
                d(
                    serde_json::Number::from_f64(9_999_999_999_999_999_999_999_999.0).map(Value::Number).unwrap_or(Value::Null),
                    "the notional is an amount of money, so the quantity is not available: the regime's all-9s value",
                ),
            );
        }
        if let Some(u) = &leg.quantity_unit {
            match unit_code(u) {
                Some(c) => {
                    e.insert(leg_key(k, "quantityUnitOfMeasure"), v(c));
                }
                // ISO 20022 has no unit for a number of contracts or index units.
                None if u == "Contract" || u == "IndexUnit" => {
                    e.insert(leg_key(k, "quantityUnitOfMeasure"), v("OTHR"));
                }
                None => {
                    e.insert(
                        leg_key(k, "quantityUnitOfMeasure"),
                        missing(&format!("an ISO 20022 unit code for the unit {u:?}")),
                    );
                }
            }
        }
        if let Some(r) = &leg.rate {
            let pre = if r.fixed_rate.is_some() {
                "fixedRate"
            } else {
                "floatingRate"
            };
            if let Some(f) = r.fixed_rate {
                e.insert(leg_key(k, "fixedRate"), v(num_round(f)));
            }
            if let Some(dc) = &r.day_count {
                e.insert(
                    leg_key_owned(k, &format!("periodicPayment.{pre}DayCountConvention")),
                    opt(
                        day_count_code(dc),
                        &format!("an ISO 20022 code for the day count {dc:?}"),
                    ),
                );
            }
            if let Some(p) = &r.payment_frequency {
                e.insert(
                    leg_key_owned(k, &format!("periodicPayment.{pre}PaymentFrequencyPeriod")),
                    opt(period_code(&p.unit), "the payment frequency"),
                );
                e.insert(
                    leg_key_owned(
                        k,
                        &format!("periodicPayment.{pre}PaymentFrequencyPeriodMultiplier"),
                    ),
                    v(p.multiplier),
                );
            }
            if r.fixed_rate.is_none() {
                if let Some(p) = &r.reset_frequency {
                    e.insert(
                        leg_key(k, "periodicPayment.floatingRateResetFrequencyPeriod"),
                        opt(period_code(&p.unit), "the reset frequency"),
                    );
                    e.insert(
                        leg_key(k, "periodicPayment.floatingRateResetFrequencyMultiplier"),
                        v(p.multiplier),
                    );
                }
                if let Some(p) = &r.floating_tenor {
                    e.insert(
                        leg_key(k, "periodicPayment.floatingRateReferencePeriod"),
                        opt(period_code(&p.unit), "the index tenor"),
                    );
                    e.insert(
                        leg_key(k, "periodicPayment.floatingRateReferencePeriodMultiplier"),
                        v(p.multiplier),
                    );
                }
                if let Some(ix) = &r.floating_index {
                    if let Some(code) = rate_index_code(ix) {
                        e.insert(leg_key(k, "periodicPayment.floatingRateIndicator"), v(code));
                        e.insert("underlyingIndexIndicator".into(), v(code));
                    }
                    e.insert("floatingRateIndexName".into(), v(ix.clone()));
                }
            }
        }
    }

    // Options.
    if let Some(o) = option {
        let fx = !o.fx_legs.is_empty();
        let ty = if fx {
            "OTHR"
        } else {
            match o.option_type.as_deref() {
                Some("Call" | "Payer") => "CALL",
                Some("Put" | "Receiver") => "PUTO",
                _ => "OTHR",
            }
        };
        e.insert("optionType".into(), v(ty));
        e.insert("cftcGuidebook.optionType".into(), v(ty));
        if let Some(ot) = &o.option_type {
            e.insert("dtccAdditionalFields.optionType".into(), v(ot.clone()));
        }
        let style = match o.style.as_deref() {
            Some("European") => Some("EURO"),
            Some("American") => Some("AMER"),
            Some("Bermuda") => Some("BERM"),
            _ => None,
        };
        e.insert(
            "optionStyle".into(),
            opt(style, "the exercise style (exerciseTerms.optionStyle)"),
        );
        if let Some(s) = style {
            e.insert("cftcGuidebook.optionStyle".into(), v(s));
            e.insert("dtccAdditionalFields.optionStyle".into(), v(s));
        }
        if let Some(s) = &settlement_type {
            e.insert("dtccAdditionalFields.settlementType".into(), v(s.clone()));
        }
        let first_exercise = match o.style.as_deref() {
            Some("American") => o.earliest_exercise.clone().or(effective.clone()),
            _ => o.expiration.clone(),
        };
        if let Some(f) = first_exercise {
            e.insert("firstExerciseDate".into(), v(f));
        }
        match &o.strike {
            Some(s) => {
                e.insert("strikePrice.monetary".into(), v(num_round(s.value)));
                e.insert("strikePrice.decimal".into(), v(num_round(s.value)));
                let ccy = match (&s.per_currency, &s.currency) {
                    (Some(per), Some(c)) => Some(format!("{per}/{c}")),
                    (None, Some(c)) => Some(c.clone()),
                    _ => None,
                };
                e.insert(
                    "strikePriceCurrency".into(),
                    opt(ccy.clone(), "the strike's currency"),
                );
                e.insert("strikePriceNotation".into(), v("Monetary"));
                if fx {
                    e.insert("exchangeRate".into(), v(num_round(s.value)));
                    e.insert("forwardExchangeRate".into(), v(num_round(s.value)));
                    if let Some(c) = ccy {
                        e.insert("exchangeRateBasis".into(), v(c));
                    }
                }
            }
            None => {
                e.insert(
                    "strikePrice.monetary".into(),
                    missing("the strike price (exerciseTerms.strike.strikePrice)"),
                );
            }
        }
        // Call and put amounts: an FX option is a call on the currency its buyer receives and
        // a put on the one it pays; an option on anything else is a call or put on its notional.
        if fx {
            for (q, f) in &o.fx_legs {
                let (ka, kc) = if f.receiver == o.buyer {
                    ("callAmount", "callCurrency")
                } else {
                    ("putAmount", "putCurrency")
                };
                e.insert(ka.into(), opt(q.value.map(num), "the currency amount"));
                e.insert(kc.into(), opt(q.currency.clone(), "the currency"));
            }
        } else if let Some(l) = legs.first() {
            let (ka, kc) = if ty == "PUTO" {
                ("putAmount", "putCurrency")
            } else {
                ("callAmount", "callCurrency")
            };
            if let Some(n) = l.notional {
                e.insert(ka.into(), v(num(n)));
            }
            if let Some(c) = &l.currency {
                e.insert(kc.into(), v(c.clone()));
            }
        }
        // The premium.
        let premium = t
            .payments
            .iter()
            .find(|p| p.kind.as_deref() == Some("Premium"));
        match premium {
            Some(p) => {
                e.insert("optionPremiumAmount".into(), v(num(p.amount)));
                e.insert(
                    "optionPremiumCurrency".into(),
                    opt(p.currency.clone(), "the premium's currency"),
                );
                if let Some(dt) = &p.date {
                    e.insert("optionPremiumPaymentDate".into(), v(dt.clone()));
                }
            }
            None => {
                e.insert(
                    "optionPremiumAmount".into(),
                    missing("the option premium (a transfer of type Premium)"),
                );
            }
        }
    }

    // Underlier.
    let underlier = option
        .and_then(|o| o.underlier.clone())
        .or(t.performance().and_then(|p| p.underlier.clone()));
    let lot_observable_ids: Vec<(String, String)> = Vec::new();
    let _ = lot_observable_ids;
    if let Some(u) = &underlier {
        let isin = u
            .ids
            .iter()
            .find(|(s, _)| s == "ISIN")
            .map(|(_, x)| x.clone());
        let name = u
            .ids
            .iter()
            .find(|(s, _)| s == "Name")
            .map(|(_, x)| x.clone());
        let other = u
            .ids
            .iter()
            .find(|(s, _)| s == "Other")
            .map(|(_, x)| x.clone());
        match u.kind.as_str() {
            "Basket" => {
                e.insert("underlyingIdentificationType".into(), v("B"));
                e.insert("customBasketIndicator".into(), v(u.constituents.len() > 1));
                for (i, c) in u.constituents.iter().enumerate() {
                    if let Some((src, id)) =
                        c.ids.iter().find(|(s, _)| s == "ISIN").or(c.ids.first())
                    {
                        e.insert(basket_key(i, "identifier"), v(id.clone()));
                        e.insert(basket_key(i, "source"), v(src.clone()));
                    }
                }
            }
            "Index" | "Equity" => {
                if let Some(i) = &isin {
                    e.insert("underlyingIdentification".into(), v(i.clone()));
                    e.insert("underlyingIdentificationType".into(), v("I"));
                } else if let Some(o) = &other {
                    e.insert("underlyingIdentificationType".into(), v("O"));
                    e.insert("underlyingIdOther".into(), v(o.clone()));
                    e.insert("underlyingIdOtherSource".into(), v("Other"));
                } else {
                    e.insert(
                        "underlyingIdentification".into(),
                        missing("an identifier of the underlier (ISIN)"),
                    );
                }
                if u.kind == "Index"
                    && let Some(n) = &name
                {
                    e.insert("nameOfTheUnderlyingIndex".into(), v(n.clone()));
                }
                e.insert("customBasketIndicator".into(), d(false, "single underlier"));
            }
            "Commodity" => {
                if let Some((_, id)) = u.ids.first() {
                    e.insert(leg_key(1, "commodityInstrumentID"), v(id.clone()));
                }
                e.insert("customBasketIndicator".into(), d(false, "single underlier"));
            }
            _ => {
                e.insert("customBasketIndicator".into(), d(false, "single underlier"));
            }
        }
        if u.kind == "Commodity" {
            e.insert(
                leg_key(1, "cryptoAssetUnderlyingIndicator"),
                d(false, "no crypto-asset underlier in the trade"),
            );
        }
        // DTCC's underlying assets: every identifier of a single underlier, typed; a basket
        // as such.
        if u.kind == "Basket" {
            e.insert(
                "dtccAdditionalFields.underlyingAsset[0].underlyingAssetIDType".into(),
                v("Basket"),
            );
        } else if matches!(u.kind.as_str(), "Index" | "Equity") {
            for (i, (src, id)) in u.ids.iter().enumerate() {
                let ty = match (src.as_str(), u.kind.as_str()) {
                    ("ISIN", _) => "ISIN",
                    (_, "Index") => "Index",
                    _ => "SingleOther",
                };
                e.insert(
                    format!("dtccAdditionalFields.underlyingAsset[{i}].underlyingAssetID"),
                    v(id.clone()),
                );
                e.insert(
                    format!("dtccAdditionalFields.underlyingAsset[{i}].underlyingAssetIDType"),
                    v(ty),
                );
            }
        }
    } else if first_rate.is_some() {
        e.insert("underlyingIdentificationType".into(), v("X"));
        e.insert("customBasketIndicator".into(), d(false, "no basket"));
    } else {
        e.insert("customBasketIndicator".into(), d(false, "no basket"));
    }

    // Agreements, confirmation, venue, clearing.
    if let Some((ty, vintage)) = &t.master_agreement {
        let code = match ty.as_str() {
            "ISDAMaster" => "ISDA",
            "AFB" | "FBF" => "FBF",
            "DERV" | "DRV" => "DERV",
            "EMA" => "EUMA",
            "GMRA" => "GMRA",
            "ChineseNAFMII" | "NAFMII" => "NAFM",
            _ => "OTHR",
        };
        e.insert("masterAgreementType".into(), v(code));
        if let Some(y) = vintage {
            e.insert("masterAgreementVersion".into(), v(*y));
        }
    }
    let confirmed = match t.reporting.confirmation_method.as_deref() {
        // A new transaction reported at execution is not yet confirmed whatever the method
        // later used (EMIR Refit field 2.27 and DRR).
        _ if action == "NEWT" && event == "TRAD" => d(
            "NCNF",
            "a new trade reported at execution has not been confirmed yet",
        ),
        Some("Electronic") => v("ECNF"),
        Some("NonElectronic") => v("YCNF"),
        Some("NotConfirmed") => v("NCNF"),
        _ => missing("the confirmation status (reportableInformation.confirmationMethod)"),
    };
    e.insert("confirmed".into(), confirmed);
    e.insert(
        "venueOfExecution".into(),
        d(
            "XXXX",
            "no market identifier code (MIC) of an execution venue is given: off-venue",
        ),
    );
    let venue = t.reporting.venue_type.as_deref();
    e.insert(
        "cftcGuidebook.sefOrDcmIndicator".into(),
        v(matches!(venue, Some("SEF" | "DCM"))),
    );
    e.insert(
        "cftcGuidebook.sefOrDcmAnonymousExecutionIndicator".into(),
        d(false, "no anonymous execution stated"),
    );
    e.insert(
        "cftcGuidebook.physicalCommodityIndicator".into(),
        v(asset == Some("COMM") && delivery == "PHYS"),
    );
    e.insert(
        "blockTradeElectionIndicator".into(),
        v(t.reporting.large_size_trade.unwrap_or(false)),
    );
    e.insert(
        "cftcGuidebook.largeNotionalOffFacilitySwapElectionIndicator".into(),
        v(t.reporting.large_size_trade.unwrap_or(false) && !matches!(venue, Some("SEF" | "DCM"))),
    );
    let cleared = t.intent.as_deref() == Some("Clearing")
        || t.party_roles
            .iter()
            .any(|(r, _)| r == "ClearingOrganization")
            && t.reporting.venue_type.is_none();
    e.insert("cleared".into(), v(if cleared { "Y" } else { "N" }));
    let clearable = t
        .reporting
        .parties
        .iter()
        .flat_map(|p| p.regimes.iter())
        .find_map(|r| r.mandatorily_clearable.clone());
    let mandatory = matches!(
        clearable.as_deref(),
        Some("ProductMandatory" | "ProductMandatoryAndCpty")
    );
    e.insert(
        "cftcGuidebook.mandatoryClearingIndicator".into(),
        v(mandatory),
    );
    e.insert(
        "clearingObligation".into(),
        match clearable.as_deref() {
            Some(_) => v(if mandatory { "TRUE" } else { "FLSE" }),
            None => missing("whether the product and the counterparties are subject to the clearing obligation (mandatorilyClearable)"),
        },
    );
    e.insert("packageIndicator".into(), d(false, "no package stated"));
    e.insert(
        "postPricedSwapIndicator".into(),
        d(false, "no post-priced swap stated"),
    );
    e.insert(
        "primeBrokerageTransactionIndicator".into(),
        d(false, "no prime brokerage stated"),
    );
    e.insert(
        "allocationIndicator".into(),
        d("UNAL", "no allocation stated"),
    );
    e.insert(
        "dtccAdditionalFields.allocationType".into(),
        d("UNAL", "no allocation stated"),
    );
    if let Some(i) = t.reporting.intragroup {
        e.insert("intragroup".into(), v(i));
    }
    match &t.collateral_portfolio {
        Some(c) => {
            e.insert("collateralPortfolioIndicator".into(), v(true));
            e.insert("collateralPortfolioCode".into(), v(c.clone()));
            e.insert(
                "variationMarginCollateralPortfolioCode".into(),
                v(c.clone()),
            );
        }
        None => {
            e.insert("collateralPortfolioIndicator".into(), v(false));
        }
    }
    if let Some(c) = t
        .party(cp1)
        .and_then(|p| p.country.clone())
        .or_else(|| business_unit_country(t, cp1))
    {
        e.insert("bookingLocation".into(), v(c));
    }
    e.insert(
        "eventIdentifier".into(),
        opt(t.event_id.clone(), "the event identifier (eventIdentifier)"),
    );
    e
}

fn business_unit_country(_t: &Trade, _i: Option<usize>) -> Option<String> {
    None
}

/// Rounds away binary noise (0.0253 stays 0.0253).
fn num_round(x: f64) -> Value {
    num((x * 1e10).round() / 1e10)
}

fn leg_key(k: usize, field: &str) -> String {
    format!("leg{k}.{field}")
}

fn leg_key_owned(k: usize, field: &str) -> String {
    leg_key(k, field)
}

fn basket_key(i: usize, field: &str) -> String {
    format!("basketConstituents[{i}].{field}")
}
