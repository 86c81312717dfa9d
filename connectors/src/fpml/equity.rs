//! Equity options (long and short form, transaction supplements, single names, indices and
//! baskets), equity swaps, commodity options and bond options.

use roxmltree::Node;
use serde_json::{Map, Value, json};

use super::copy::{number, scheme_of, text};
use super::rates::exercise_terms;
use super::{Ctx, Mapped, address, at, child, children, located, money, text_at};

/// A `FieldWithMetaString` with the node's scheme.
fn field(node: Node) -> Value {
    let mut v = json!({ "value": text(node) });
    if let Some(s) = scheme_of(node) {
        v["meta"] = json!({ "scheme": s });
    }
    v
}

/// What kind of thing an underlyer is, for units and qualification.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnderlyerKind {
    Share,
    Index,
    Basket,
    Other,
}

/// Identifiers of an FpML underlying asset: instrument ids (`Other`) then the description
/// (`Name`).
fn identifiers(asset: Node) -> Vec<Value> {
    let mut ids: Vec<Value> = children(asset, "instrumentId")
        .map(|i| json!({ "identifier": field(i), "identifierType": "Other" }))
        .collect();
    if let Some(d) = child(asset, "description") {
        ids.push(json!({ "identifier": { "value": text(d) }, "identifierType": "Name" }));
    }
    ids
}

fn exchanges(asset: Node, out: &mut Map<String, Value>) {
    if let Some(e) = child(asset, "exchangeId") {
        out.insert("isExchangeListed".into(), json!(true));
        out.insert("exchange".into(), json!({ "name": field(e) }));
    }
    let related: Vec<Value> = children(asset, "relatedExchangeId")
        .map(|e| json!({ "name": field(e) }))
        .collect();
    if !related.is_empty() {
        out.insert("relatedExchange".into(), Value::Array(related));
    }
}

/// One underlying asset (`equity`, `index`, `commodity`, `bond`, `convertibleBond`) as a CDM
/// observable value.
pub(crate) fn asset(ctx: &Ctx, a: Node) -> (Value, UnderlyerKind) {
    let mut m = Map::new();
    m.insert("identifier".into(), Value::Array(identifiers(a)));
    match a.tag_name().name() {
        "index" => {
            exchanges(a, &mut m);
            if let Some(d) = child(a, "description") {
                m.insert("name".into(), json!({ "value": text(d) }));
            }
            m.insert("assetClass".into(), json!("Equity"));
            (json!({ "Index": { "EquityIndex": m } }), UnderlyerKind::Index)
        }
        "commodity" => {
            if let Some(p) = child(a, "specifiedPrice") {
                m.insert("priceQuoteType".into(), json!(text(p)));
            }
            if let Some(d) = child(a, "deliveryDates") {
                let nearby = match text(d) {
                    "FirstNearby" => Some(1),
                    "SecondNearby" => Some(2),
                    "ThirdNearby" => Some(3),
                    _ => None,
                };
                if let Some(n) = nearby {
                    m.insert(
                        "deliveryDateReference".into(),
                        json!({ "deliveryNearby": { "periodMultiplier": n, "period": "M" } }),
                    );
                }
            }
            (json!({ "Asset": { "Commodity": m } }), UnderlyerKind::Other)
        }
        "bond" | "convertibleBond" => {
            exchanges(a, &mut m);
            m.insert("instrumentType".into(), json!("Debt"));
            let _ = ctx;
            (
                json!({ "Asset": { "Instrument": { "Security": m } } }),
                UnderlyerKind::Other,
            )
        }
        _ => {
            exchanges(a, &mut m);
            m.insert("instrumentType".into(), json!("Equity"));
            (
                json!({ "Asset": { "Instrument": { "Security": m } } }),
                UnderlyerKind::Share,
            )
        }
    }
}

/// An FpML `underlyer` (single or basket) as a CDM observable value.
pub(crate) fn underlyer(ctx: &mut Ctx, u: Node) -> (Value, UnderlyerKind) {
    if let Some(single) = child(u, "singleUnderlyer") {
        if let Some(a) = single.children().find(|c| c.is_element() && !matches!(c.tag_name().name(), "openUnits" | "dividendPayout" | "couponPayment" | "averageDailyTradingVolume" | "depositoryReceipt")) {
            return asset(ctx, a);
        }
    }
    if let Some(basket) = child(u, "basket") {
        let constituents: Vec<Value> = children(basket, "basketConstituent")
            .filter_map(|c| {
                let a = c.children().find(|x| {
                    x.is_element()
                        && matches!(
                            x.tag_name().name(),
                            "equity" | "index" | "commodity" | "bond" | "convertibleBond"
                        )
                })?;
                let key = ctx.key("basketConstituent");
                Some(located(asset(ctx, a).0, &key))
            })
            .collect();
        return (
            json!({ "Basket": { "basketConstituent": constituents } }),
            UnderlyerKind::Basket,
        );
    }
    (json!({}), UnderlyerKind::Other)
}

pub(crate) fn option<'a, 'i>(ctx: &mut Ctx, opt: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let buyer = child(opt, "buyerPartyReference");
    let seller = child(opt, "sellerPartyReference");
    let exercise = child(opt, "equityExercise");
    let (observable, kind) = match child(opt, "underlyer") {
        Some(u) => underlyer(ctx, u),
        None => (json!({}), UnderlyerKind::Other),
    };
    let mut p = Map::new();
    p.insert(
        "payerReceiver".into(),
        json!({ "payer": ctx.role_of(seller), "receiver": ctx.role_of(buyer) }),
    );
    let qkey = ctx.key("quantity");
    let okey = ctx.key("observable");
    let notional = child(opt, "notional").and_then(money);
    if notional.is_none() {
        p.insert(
            "priceQuantity".into(),
            json!({ "quantitySchedule": address(&qkey) }),
        );
    }
    let settlement_ccy = exercise.and_then(|e| child(e, "settlementCurrency"));
    if let Some(e) = exercise {
        let mut st = Map::new();
        if let Some(t) = text_at(e, "settlementType") {
            st.insert("settlementType".into(), json!(t));
        }
        if let Some(c) = settlement_ccy {
            st.insert("settlementCurrency".into(), super::currency(c));
        }
        if let Some(d) = child(e, "settlementDate") {
            st.insert(
                "settlementDate".into(),
                json!({ "adjustableOrRelativeDate":
                    ctx.copy(d, "cdm-base-datetime-AdjustableOrAdjustedOrRelativeDate") }),
            );
        }
        if !st.is_empty() {
            p.insert("settlementTerms".into(), Value::Object(st));
        }
    }
    p.insert(
        "buyerSeller".into(),
        json!({ "buyer": ctx.role_of(buyer), "seller": ctx.role_of(seller) }),
    );
    p.insert("underlier".into(), json!({ "Observable": address(&okey) }));
    if let Some(t) = text_at(opt, "optionType") {
        p.insert("optionType".into(), json!(t));
    }
    if let Some(terms) = equity_exercise_terms(ctx, exercise, buyer, seller) {
        p.insert("exerciseTerms".into(), terms);
    }
    if let Some(s) = child(opt, "strike") {
        let mut price = Map::new();
        if let Some(v) = text_at(s, "strikePrice") {
            price.insert("value".into(), number(v));
        } else if let Some(v) = text_at(s, "strikePercentage") {
            price.insert("value".into(), number(v));
        }
        let ccy = child(s, "currency").or(settlement_ccy);
        if let Some(c) = ccy {
            price.insert("unit".into(), json!({ "currency": { "value": text(c) } }));
        }
        match kind {
            UnderlyerKind::Share => {
                price.insert("perUnitOf".into(), json!({ "financialUnit": "Share" }));
            }
            UnderlyerKind::Index => {
                price.insert("perUnitOf".into(), json!({ "financialUnit": "IndexUnit" }));
            }
            _ => {}
        }
        price.insert("priceType".into(), json!("AssetPrice"));
        p.insert("strike".into(), json!({ "strikePrice": price }));
    }
    let quantity = match notional {
        Some(n) => n,
        None => {
            let mut q = json!({
                "value": number(text_at(opt, "numberOfOptions").unwrap_or("0")),
                "unit": { "financialUnit": "Contract" },
            });
            let mut multiplier = Map::new();
            if let Some(e) = text_at(opt, "optionEntitlement") {
                multiplier.insert("value".into(), number(e));
            }
            if kind == UnderlyerKind::Share {
                multiplier.insert("unit".into(), json!({ "financialUnit": "Share" }));
            }
            if !multiplier.is_empty() {
                q["multiplier"] = Value::Object(multiplier);
            }
            q
        }
    };
    ctx.lots.push(json!({
        "quantity": [ located(quantity, &qkey) ],
        "observable": located(observable, &okey),
    }));
    let mut terms = json!({ "payout": [ { "OptionPayout": p } ] });
    if opt
        .parent()
        .is_some_and(|t| child(t, "calculationAgent").is_some())
    {
        terms["calculationAgent"] =
            json!({ "calculationAgentParty": "CalculationAgentIndependent" });
    }
    let qualifier = match kind {
        UnderlyerKind::Share => Some("EquityOption_PriceReturnBasicPerformance_SingleName"),
        UnderlyerKind::Index => Some("EquityOption_PriceReturnBasicPerformance_Index"),
        UnderlyerKind::Basket => Some("EquityOption_PriceReturnBasicPerformance_Basket"),
        UnderlyerKind::Other => None,
    };
    Mapped {
        qualifier,
        economic_terms: terms,
        premiums: children(opt, "equityPremium")
            .chain(children(opt, "premium"))
            .collect(),
    }
}

/// Exercise terms of an FpML `equityExercise`.
fn equity_exercise_terms(
    ctx: &Ctx,
    exercise: Option<Node>,
    buyer: Option<Node>,
    seller: Option<Node>,
) -> Option<Value> {
    let e = exercise?;
    let mut terms = exercise_terms(ctx, e, buyer, seller)?;
    let style_node = e
        .children()
        .find(|c| c.is_element() && c.tag_name().name().ends_with("Exercise") && c.tag_name().name().starts_with("equity"));
    let time_type = style_node
        .and_then(|s| text_at(s, "equityExpirationTimeType"))
        .or_else(|| at(e, "equityValuation/valuationTimeType").map(text))
        .unwrap_or("AsSpecifiedInMasterConfirmation");
    terms["expirationTimeType"] = json!(time_type);
    if let Some(m) = style_node.and_then(|s| child(s, "equityMultipleExercise")) {
        let mut me = Map::new();
        for (fpml, cdm) in [
            ("integralMultipleExercise", "integralMultipleAmount"),
            ("minimumNumberOfOptions", "minimumNumberOfOptions"),
            ("maximumNumberOfOptions", "maximumNumberOfOptions"),
        ] {
            if let Some(v) = text_at(m, fpml) {
                me.insert(cdm.into(), number(v));
            }
        }
        terms["multipleExercise"] = Value::Object(me);
    }
    if let Some(a) = child(e, "automaticExercise") {
        terms["exerciseProcedure"] = json!({ "automaticExercise": { "isApplicable": text(a) == "true" } });
    }
    Some(terms)
}

pub(crate) fn return_swap<'a, 'i>(_ctx: &mut Ctx, _n: Node<'a, 'i>) -> Mapped<'a, 'i> {
    Mapped {
        qualifier: None,
        economic_terms: json!({}),
        premiums: vec![],
    }
}

pub(crate) fn commodity_option<'a, 'i>(_ctx: &mut Ctx, _n: Node<'a, 'i>) -> Mapped<'a, 'i> {
    Mapped {
        qualifier: None,
        economic_terms: json!({}),
        premiums: vec![],
    }
}

pub(crate) fn bond_option<'a, 'i>(_ctx: &mut Ctx, _n: Node<'a, 'i>) -> Mapped<'a, 'i> {
    Mapped {
        qualifier: None,
        economic_terms: json!({}),
        premiums: vec![],
    }
}
