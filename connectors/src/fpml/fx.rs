//! FX: spot and forwards (deliverable and non-deliverable), swaps, vanilla options
//! (deliverable and cash-settled).

use roxmltree::Node;
use serde_json::{Map, Value, json};

use super::copy::number;
use super::rates::exercise_terms;
use super::{Ctx, Mapped, address, at, cash_asset, child, children, located, money, text_at};

pub(crate) fn single_leg<'a, 'i>(ctx: &mut Ctx, leg: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let payout = fx_leg(ctx, leg);
    let qualifier = if child(leg, "nonDeliverableSettlement").is_some() {
        "ForeignExchange_NDF"
    } else {
        "ForeignExchange_Spot_Forward"
    };
    Mapped {
        qualifier: Some(qualifier),
        economic_terms: json!({ "payout": [ { "SettlementPayout": payout } ] }),
        premiums: Vec::new(),
    }
}

pub(crate) fn swap<'a, 'i>(ctx: &mut Ctx, swap: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let payouts: Vec<Value> = swap
        .children()
        .filter(|n| matches!(n.tag_name().name(), "nearLeg" | "farLeg"))
        .map(|leg| json!({ "SettlementPayout": fx_leg(ctx, leg) }))
        .collect();
    Mapped {
        qualifier: Some("ForeignExchange_Swap"),
        economic_terms: json!({ "payout": payouts }),
        premiums: Vec::new(),
    }
}

/// The unit/perUnitOf currencies of an FX rate from its quote basis.
fn rate_units<'a>(pair: Option<Node<'a, '_>>) -> (Option<&'a str>, Option<&'a str>) {
    let Some(pair) = pair else {
        return (None, None);
    };
    let c1 = text_at(pair, "currency1");
    let c2 = text_at(pair, "currency2");
    match text_at(pair, "quoteBasis") {
        Some("Currency1PerCurrency2") => (c1, c2),
        _ => (c2, c1),
    }
}

fn fx_leg(ctx: &mut Ctx, leg: Node) -> Value {
    let ec1 = child(leg, "exchangedCurrency1");
    let ec2 = child(leg, "exchangedCurrency2");
    let mut p = Map::new();
    p.insert(
        "payerReceiver".into(),
        json!({
            "payer": ctx.role_of(ec1.and_then(|e| child(e, "payerPartyReference"))),
            "receiver": ctx.role_of(ec1.and_then(|e| child(e, "receiverPartyReference"))),
        }),
    );
    let amount1 = ec1.and_then(|e| child(e, "paymentAmount")).and_then(money);
    let amount2 = ec2.and_then(|e| child(e, "paymentAmount")).and_then(money);
    let q1 = ctx.key("quantity");
    let q2 = ctx.key("quantity");
    let pk = ctx.key("price");
    let ok = ctx.key("observable");
    let mut pq = Map::new();
    if let Some(a2) = &amount2 {
        pq.insert("resolvedQuantity".into(), a2.clone());
    }
    pq.insert("quantitySchedule".into(), address(&q1));
    pq.insert("priceSchedule".into(), json!([address(&pk)]));
    p.insert("priceQuantity".into(), Value::Object(pq));
    let mut settlement = Map::new();
    if let Some(nd) = child(leg, "nonDeliverableSettlement") {
        settlement.insert("settlementType".into(), json!("Cash"));
        if let Some(c) = child(nd, "settlementCurrency") {
            settlement.insert("settlementCurrency".into(), super::currency(c));
        }
        settlement.insert(
            "cashSettlementTerms".into(),
            json!([fixing_terms(child(nd, "fixing"), false)]),
        );
    }
    if let Some(v) = text_at(leg, "valueDate") {
        settlement.insert("settlementDate".into(), json!({ "valueDate": v }));
    }
    p.insert("settlementTerms".into(), Value::Object(settlement));
    p.insert("underlier".into(), json!({ "Observable": address(&ok) }));
    let rate = child(leg, "exchangeRate");
    let pair = rate.and_then(|r| child(r, "quotedCurrencyPair"));
    let (unit, per) = rate_units(pair);
    let mut price = json!({
        "value": number(rate.and_then(|r| text_at(r, "rate")).unwrap_or("0")),
        "unit": { "currency": { "value": unit } },
        "perUnitOf": { "currency": { "value": per } },
        "priceType": "ExchangeRate",
    });
    if let Some(r) = rate
        && let (Some(spot), Some(points)) = (text_at(r, "spotRate"), text_at(r, "forwardPoints"))
    {
        price["composite"] = json!({
            "baseValue": number(spot),
            "operand": number(points),
            "arithmeticOperator": "Add",
            "operandType": "ForwardPoint",
        });
    }
    let mut quantities = Vec::new();
    if let Some(a) = amount1 {
        quantities.push(located(a, &q1));
    }
    if let Some(a) = amount2 {
        quantities.push(located(a, &q2));
    }
    ctx.lots.push(json!({
        "price": [ located(price, &pk) ],
        "quantity": quantities,
        "observable": located(json!({ "Asset": cash_asset(per.unwrap_or_default()) }), &ok),
    }));
    Value::Object(p)
}

/// The cash-settlement valuation terms of an FX `fixing` element.
fn fixing_terms(fixing: Option<Node>, with_time: bool) -> Value {
    let Some(f) = fixing else {
        return json!({});
    };
    let mut source = Map::new();
    if let Some(pair) = child(f, "quotedCurrencyPair") {
        source.insert(
            "quotedCurrencyPair".into(),
            json!({ "value": {
                "currency1": { "value": text_at(pair, "currency1") },
                "currency2": { "value": text_at(pair, "currency2") },
                "quoteBasis": text_at(pair, "quoteBasis"),
            }}),
        );
    }
    if let Some(src) = at(f, "fxSpotRateSource/primaryRateSource") {
        let mut primary = Map::new();
        if let Some(s) = text_at(src, "rateSource") {
            primary.insert("sourceProvider".into(), json!({ "value": s }));
        }
        if let Some(s) = text_at(src, "rateSourcePage") {
            primary.insert("sourcePage".into(), json!({ "value": s }));
        }
        source.insert(
            "informationSource".into(),
            json!({ "primarySource": primary }),
        );
    }
    let mut terms = json!({ "valuationMethod": { "valuationSource": source } });
    if let Some(d) = text_at(f, "fixingDate") {
        terms["valuationDate"] = json!({ "fxFixingDate": { "fxFixingDate": {
            "adjustableDate": { "adjustedDate": { "value": d } } } } });
    }
    if with_time && let Some(t) = at(f, "fxSpotRateSource/fixingTime") {
        terms["valuationTime"] = json!({
            "hourMinuteTime": text_at(t, "hourMinuteTime"),
            "businessCenter": { "value": text_at(t, "businessCenter") },
        });
    }
    terms
}

pub(crate) fn option<'a, 'i>(ctx: &mut Ctx, opt: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let buyer = child(opt, "buyerPartyReference");
    let seller = child(opt, "sellerPartyReference");
    let put = child(opt, "putCurrencyAmount");
    let call = child(opt, "callCurrencyAmount");
    let strike = child(opt, "strike");
    // The strike's "per" currency is the one the option is on.
    let base_is_put =
        strike.and_then(|s| text_at(s, "strikeQuoteBasis")) != Some("PutCurrencyPerCallCurrency");
    let (base, other) = if base_is_put {
        (put, call)
    } else {
        (call, put)
    };
    let base_ccy = base
        .and_then(|b| text_at(b, "currency"))
        .unwrap_or_default();
    let other_ccy = other
        .and_then(|b| text_at(b, "currency"))
        .unwrap_or_default();
    let q_base = ctx.key("quantity");
    let q_other = ctx.key("quantity");
    let ok = ctx.key("observable");
    let mut p = Map::new();
    p.insert(
        "payerReceiver".into(),
        json!({ "payer": ctx.role_of(seller), "receiver": ctx.role_of(buyer) }),
    );
    let mut pq = Map::new();
    if let Some(o) = other.and_then(money) {
        pq.insert("resolvedQuantity".into(), o);
    }
    pq.insert("quantitySchedule".into(), address(&q_base));
    p.insert("priceQuantity".into(), Value::Object(pq));
    let mut settlement = Map::new();
    if let Some(cs) = child(opt, "cashSettlement") {
        settlement.insert("settlementType".into(), json!("Cash"));
        if let Some(c) = child(cs, "settlementCurrency") {
            settlement.insert("settlementCurrency".into(), super::currency(c));
        }
        settlement.insert(
            "cashSettlementTerms".into(),
            json!([fixing_terms(child(cs, "fixing"), true)]),
        );
    }
    let holder = child(opt, "exercise").unwrap_or(opt);
    let value_date = ["europeanExercise", "americanExercise", "bermudaExercise"]
        .iter()
        .find_map(|n| child(holder, n))
        .and_then(|e| text_at(e, "valueDate"));
    if let Some(v) = value_date {
        settlement.insert("settlementDate".into(), json!({ "valueDate": v }));
    }
    if !settlement.is_empty() {
        p.insert("settlementTerms".into(), Value::Object(settlement));
    }
    p.insert(
        "buyerSeller".into(),
        json!({ "buyer": ctx.role_of(buyer), "seller": ctx.role_of(seller) }),
    );
    p.insert("underlier".into(), json!({ "Observable": address(&ok) }));
    p.insert(
        "optionType".into(),
        json!(if base_is_put { "Put" } else { "Call" }),
    );
    if let Some(mut terms) = exercise_terms(ctx, opt, buyer, seller) {
        if let Some(o) = terms.as_object_mut() {
            o.remove("valueDate");
        }
        p.insert("exerciseTerms".into(), terms);
    }
    if let Some(s) = strike {
        p.insert(
            "strike".into(),
            json!({ "strikePrice": {
                "value": number(text_at(s, "rate").unwrap_or("0")),
                "unit": { "currency": { "value": other_ccy } },
                "perUnitOf": { "currency": { "value": base_ccy } },
                "priceType": "ExchangeRate",
            }}),
        );
    }
    let mut quantities = Vec::new();
    for (node, key) in [
        (put, if base_is_put { &q_base } else { &q_other }),
        (call, if base_is_put { &q_other } else { &q_base }),
    ] {
        if let Some(m) = node.and_then(money) {
            quantities.push(located(m, key));
        }
    }
    ctx.lots.push(json!({
        "quantity": quantities,
        "observable": located(json!({ "Asset": cash_asset(base_ccy) }), &ok),
    }));
    let qualifier = if child(opt, "cashSettlement").is_some() {
        None
    } else {
        Some("ForeignExchange_VanillaOption")
    };
    Mapped {
        qualifier,
        economic_terms: json!({ "payout": [ { "OptionPayout": p } ] }),
        premiums: children(opt, "premium").collect(),
    }
}
