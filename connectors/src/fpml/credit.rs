//! Credit default swaps (single name and index) and CDS (index) options.

use roxmltree::Node;
use serde_json::{Map, Value, json};

use super::copy::{number, scheme_of, text};
use super::rates::exercise_terms;
use super::{Ctx, Mapped, address, at, child, children, field, located, money, text_at};

/// The pieces of a mapped CDS that an option on it needs.
struct Cds {
    qualifier: &'static str,
    economic_terms: Value,
    currency: Option<String>,
}

pub(crate) fn cds<'a, 'i>(ctx: &mut Ctx, swap: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let c = map_cds(ctx, swap);
    Mapped {
        qualifier: Some(c.qualifier),
        economic_terms: c.economic_terms,
        premiums: at(swap, "feeLeg/initialPayment").into_iter().collect(),
    }
}

fn map_cds(ctx: &mut Ctx, swap: Node) -> Cds {
    let general = child(swap, "generalTerms");
    let buyer = general.and_then(|g| child(g, "buyerPartyReference"));
    let seller = general.and_then(|g| child(g, "sellerPartyReference"));
    let mut terms = Map::new();
    if let Some(g) = general {
        if let Some(d) = child(g, "effectiveDate") {
            terms.insert(
                "effectiveDate".into(),
                ctx.copy(d, "cdm-base-datetime-AdjustableOrRelativeDate"),
            );
        }
        if let Some(d) = child(g, "scheduledTerminationDate") {
            terms.insert(
                "terminationDate".into(),
                ctx.copy(d, "cdm-base-datetime-AdjustableOrRelativeDate"),
            );
        }
        if let Some(d) = child(g, "dateAdjustments") {
            terms.insert(
                "dateAdjustments".into(),
                ctx.copy(d, "cdm-base-datetime-BusinessDayAdjustments"),
            );
        }
    }
    if let Some(agent) = super::calculation_agent(swap) {
        terms.insert("calculationAgent".into(), agent);
    }
    // Protection leg: the protection seller pays on a credit event.
    let protection = child(swap, "protectionTerms");
    let amount = protection.and_then(|p| child(p, "calculationAmount"));
    let currency = amount
        .and_then(|a| text_at(a, "currency"))
        .map(str::to_owned);
    let qkey = ctx.key("quantity");
    let mut pq = json!({ "quantitySchedule": address(&qkey) });
    if let Some(id) = amount.and_then(|a| a.attribute("id")) {
        pq["meta"] = json!({ "externalKey": id });
    }
    let mut cdp = Map::new();
    cdp.insert(
        "payerReceiver".into(),
        json!({ "payer": ctx.role_of(seller), "receiver": ctx.role_of(buyer) }),
    );
    cdp.insert("priceQuantity".into(), pq);
    let mut general_terms = Map::new();
    let mut qualifier = "CreditDefaultSwap_SingleName";
    if let Some(g) = general {
        if let Some(idx) = child(g, "indexReferenceInformation") {
            qualifier = "CreditDefaultSwap_Index";
            let mut info = Map::new();
            let mut ids: Vec<Value> = children(idx, "indexId")
                .map(|i| json!({ "identifier": field(i), "identifierType": "Other" }))
                .collect();
            if let Some(n) = child(idx, "indexName") {
                ids.push(json!({ "identifier": { "value": text(n) }, "identifierType": "Name" }));
                info.insert("name".into(), json!({ "value": text(n) }));
            }
            info.insert("identifier".into(), Value::Array(ids));
            info.insert("assetClass".into(), json!("Credit"));
            for (f, integer) in [("indexSeries", true), ("indexAnnexVersion", true)] {
                if let Some(v) = text_at(idx, f) {
                    info.insert(f.into(), if integer { number(v) } else { json!(v) });
                }
            }
            if let Some(v) = text_at(idx, "indexAnnexDate") {
                info.insert("indexAnnexDate".into(), json!(v));
            }
            if let Some(v) = child(idx, "indexAnnexSource") {
                info.insert("indexAnnexSource".into(), field(v));
            }
            if let Some(t) = child(idx, "tranche") {
                qualifier = "CreditDefaultSwap_IndexTranche";
                info.insert("tranche".into(), ctx.copy(t, "cdm-product-asset-Tranche"));
            }
            if let Some(m) = child(idx, "settledEntityMatrix") {
                info.insert(
                    "settledEntityMatrix".into(),
                    ctx.copy(m, "cdm-product-asset-SettledEntityMatrix"),
                );
            }
            general_terms.insert("indexReferenceInformation".into(), Value::Object(info));
        } else if let Some(b) = child(g, "basketReferenceInformation") {
            qualifier = "CreditDefaultSwap_Basket";
            general_terms.insert("basketReferenceInformation".into(), basket(ctx, b));
        } else if let Some(r) = child(g, "referenceInformation") {
            let mut info = Map::new();
            if let Some(e) = child(r, "referenceEntity") {
                info.insert("referenceEntity".into(), reference_entity(e));
            }
            let mut obligations = Vec::new();
            for o in children(r, "referenceObligation") {
                obligations.push(reference_obligation(o));
            }
            for f in [
                "allGuarantees",
                "noReferenceObligation",
                "referencePolicy",
                "securedList",
                "unknownReferenceObligation",
            ] {
                if let Some(v) = child(r, f) {
                    info.insert(f.into(), super::copy::scalar(text(v), "boolean"));
                }
            }
            if !obligations.is_empty() {
                info.insert("referenceObligation".into(), Value::Array(obligations));
            }
            if let Some(p) = text_at(r, "referencePrice") {
                let mut price = json!({ "value": number(p), "priceType": "AssetPrice" });
                if let Some(c) = &currency {
                    price["unit"] = json!({ "currency": { "value": c } });
                    price["perUnitOf"] = json!({ "currency": { "value": c } });
                }
                info.insert("referencePrice".into(), price);
            }
            general_terms.insert("referenceInformation".into(), Value::Object(info));
        }
    }
    if !general_terms.is_empty() {
        cdp.insert("generalTerms".into(), Value::Object(general_terms));
    }
    if let Some(p) = protection
        && p.children()
            .any(|c| c.is_element() && c.tag_name().name() != "calculationAmount")
    {
        cdp.insert(
            "protectionTerms".into(),
            json!([ctx.copy(p, "cdm-product-asset-ProtectionTerms")]),
        );
    }
    if let Some(st) = settlement_terms(ctx, swap) {
        cdp.insert("settlementTerms".into(), st);
    }
    let mut payouts = vec![json!({ "CreditDefaultPayout": cdp })];
    // Fee leg: the protection buyer pays the fixed rate.
    let mut lots = Vec::new();
    if let Some(fee) = at(swap, "feeLeg/periodicPayment") {
        let mut irp = Map::new();
        irp.insert(
            "payerReceiver".into(),
            json!({ "payer": ctx.role_of(buyer), "receiver": ctx.role_of(seller) }),
        );
        let calc = child(fee, "fixedAmountCalculation");
        let fee_amount = calc.and_then(|c| child(c, "calculationAmount")).or(amount);
        let fkey = ctx.key("quantity");
        irp.insert(
            "priceQuantity".into(),
            json!({ "quantitySchedule": address(&fkey) }),
        );
        let ccy = fee_amount.and_then(|a| text_at(a, "currency"));
        let mut lot = Map::new();
        if let Some(rate) = calc.and_then(|c| text_at(c, "fixedRate")) {
            let pkey = ctx.key("price");
            irp.insert(
                "rateSpecification".into(),
                json!({ "FixedRateSpecification": { "rateSchedule": { "price": address(&pkey) } } }),
            );
            lot.insert(
                "price".into(),
                json!([located(
                    json!({
                        "value": number(rate),
                        "unit": { "currency": { "value": ccy } },
                        "perUnitOf": { "currency": { "value": ccy } },
                        "priceType": "InterestRate",
                    }),
                    &pkey
                )]),
            );
        }
        if let Some(d) = calc.and_then(|c| text_at(c, "dayCountFraction")) {
            irp.insert("dayCountFraction".into(), json!({ "value": d }));
        }
        let freq = child(fee, "paymentFrequency");
        let freq_json = freq.map(|f| {
            json!({
                "periodMultiplier": number(text_at(f, "periodMultiplier").unwrap_or("0")),
                "period": text_at(f, "period"),
            })
        });
        if let Some(f) = &freq_json {
            let mut cpf = f.clone();
            if let Some(r) = text_at(fee, "rollConvention") {
                cpf["rollConvention"] = json!(r);
            }
            irp.insert(
                "calculationPeriodDates".into(),
                json!({ "calculationPeriodFrequency": cpf }),
            );
        }
        let mut pd = Map::new();
        if let Some(f) = freq_json {
            pd.insert("paymentFrequency".into(), f);
        }
        for f in ["firstPaymentDate", "lastRegularPaymentDate"] {
            if let Some(v) = text_at(fee, f) {
                pd.insert(f.into(), json!(v));
            }
        }
        if !pd.is_empty() {
            irp.insert("paymentDates".into(), Value::Object(pd));
        }
        if let Some(m) = fee_amount.and_then(money) {
            lot.insert("quantity".into(), json!([located(m, &fkey)]));
        }
        lots.push(Value::Object(lot));
        payouts.push(json!({ "InterestRatePayout": irp }));
    }
    if let Some(m) = amount.and_then(money) {
        lots.push(json!({ "quantity": [ located(m, &qkey) ] }));
    }
    ctx.lots.extend(lots);
    terms.insert("payout".into(), Value::Array(payouts));
    Cds {
        qualifier,
        economic_terms: Value::Object(terms),
        currency,
    }
}

/// An FpML `referenceEntity` as a CDM legal entity: RED ids both as `entityId` and as typed
/// `entityIdentifier`s, the name, the FpML id as external key.
fn reference_entity(e: Node) -> Value {
    let mut entity = Map::new();
    let ids: Vec<Value> = children(e, "entityId").map(field).collect();
    if !ids.is_empty() {
        let typed: Vec<Value> = ids
            .iter()
            .map(|id| json!({ "identifier": id, "identifierType": "Other" }))
            .collect();
        entity.insert("entityId".into(), Value::Array(ids));
        entity.insert("entityIdentifier".into(), Value::Array(typed));
    }
    if let Some(n) = child(e, "entityName") {
        entity.insert("name".into(), field(n));
    }
    if let Some(id) = e.attribute("id") {
        entity.insert("meta".into(), json!({ "externalKey": id }));
    }
    Value::Object(entity)
}

/// An FpML `referenceObligation` (a bond) as a CDM reference obligation.
fn reference_obligation(o: Node) -> Value {
    let mut ob = Map::new();
    if let Some(b) = child(o, "bond").or_else(|| child(o, "convertibleBond")) {
        let ids: Vec<Value> = children(b, "instrumentId")
            .map(|i| json!({ "identifier": field(i), "identifierType": super::equity::id_type(scheme_of(i)) }))
            .collect();
        ob.insert(
            "security".into(),
            json!({ "identifier": ids, "instrumentType": "Debt" }),
        );
    }
    if let Some(h) = child(o, "primaryObligorReference").and_then(|n| n.attribute("href")) {
        ob.insert(
            "primaryObligorReference".into(),
            json!({ "externalReference": h }),
        );
    }
    Value::Object(ob)
}

/// A basket CDS's `basketReferenceInformation`: name, ids, the reference pool (entity,
/// obligation, entity type and weight of each name), n-th/m-th to default, tranche.
fn basket(ctx: &Ctx, b: Node) -> Value {
    let mut out = Map::new();
    if let Some(n) = child(b, "basketName") {
        out.insert("basketName".into(), field(n));
    }
    let ids: Vec<Value> = children(b, "basketId").map(field).collect();
    if !ids.is_empty() {
        out.insert("basketId".into(), Value::Array(ids));
    }
    if let Some(pool) = child(b, "referencePool") {
        let items: Vec<Value> = children(pool, "referencePoolItem")
            .map(|item| {
                let mut v = Map::new();
                if let Some(w) = child(item, "constituentWeight") {
                    let mut cw = Map::new();
                    for f in ["basketPercentage", "openUnits"] {
                        if let Some(x) = text_at(w, f) {
                            cw.insert(f.into(), number(x));
                        }
                    }
                    v.insert("constituentWeight".into(), Value::Object(cw));
                }
                if let Some(pair) = child(item, "referencePair") {
                    let mut rp = Map::new();
                    if let Some(e) = child(pair, "referenceEntity") {
                        rp.insert("referenceEntity".into(), reference_entity(e));
                    }
                    if let Some(o) = child(pair, "referenceObligation") {
                        rp.insert("referenceObligation".into(), reference_obligation(o));
                    }
                    if let Some(t) = child(pair, "entityType") {
                        rp.insert("entityType".into(), field(t));
                    }
                    v.insert("referencePair".into(), Value::Object(rp));
                }
                Value::Object(v)
            })
            .collect();
        out.insert(
            "referencePool".into(),
            json!({ "referencePoolItem": items }),
        );
    }
    for f in ["nthToDefault", "mthToDefault"] {
        if let Some(x) = text_at(b, f) {
            out.insert(f.into(), number(x));
        }
    }
    if let Some(t) = child(b, "tranche") {
        out.insert("tranche".into(), ctx.copy(t, "cdm-product-asset-Tranche"));
    }
    Value::Object(out)
}

/// FpML's `physicalSettlementTerms` / `cashSettlementTerms` of a CDS as CDM settlement terms.
fn settlement_terms(ctx: &Ctx, swap: Node) -> Option<Value> {
    let mut st = Map::new();
    if let Some(p) = child(swap, "physicalSettlementTerms") {
        st.insert("settlementType".into(), json!("Physical"));
        if let Some(c) = child(p, "settlementCurrency") {
            st.insert("settlementCurrency".into(), field(c));
        }
        st.insert(
            "physicalSettlementTerms".into(),
            ctx.copy(p, "cdm-product-common-settlement-PhysicalSettlementTerms"),
        );
    } else if let Some(c) = child(swap, "cashSettlementTerms") {
        st.insert("settlementType".into(), json!("Cash"));
        if let Some(cc) = child(c, "settlementCurrency") {
            st.insert("settlementCurrency".into(), field(cc));
        }
        st.insert(
            "cashSettlementTerms".into(),
            json!([ctx.copy(c, "cdm-product-common-settlement-CashSettlementTerms")]),
        );
    }
    (!st.is_empty()).then_some(Value::Object(st))
}

pub(crate) fn cds_option<'a, 'i>(ctx: &mut Ctx, opt: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let buyer = child(opt, "buyerPartyReference");
    let seller = child(opt, "sellerPartyReference");
    let mut p = Map::new();
    p.insert(
        "payerReceiver".into(),
        json!({ "payer": ctx.role_of(seller), "receiver": ctx.role_of(buyer) }),
    );
    if let Some(h) = child(opt, "notionalReference").and_then(|n| n.attribute("href")) {
        p.insert(
            "priceQuantity".into(),
            json!({ "quantityReference": { "externalReference": h } }),
        );
    }
    if let Some(t) = text_at(opt, "settlementType") {
        p.insert("settlementTerms".into(), json!({ "settlementType": t }));
    }
    p.insert(
        "buyerSeller".into(),
        json!({ "buyer": ctx.role_of(buyer), "seller": ctx.role_of(seller) }),
    );
    let mut currency = None;
    if let Some(swap) = child(opt, "creditDefaultSwap") {
        let c = map_cds(ctx, swap);
        currency = c.currency;
        p.insert(
            "underlier".into(),
            json!({ "Product": { "NonTransferableProduct": {
                "taxonomy": [ { "source": "ISDA", "productQualifier": c.qualifier } ],
                "economicTerms": c.economic_terms,
            }}}),
        );
    }
    if let Some(t) = text_at(opt, "optionType") {
        p.insert("optionType".into(), json!(t));
    }
    if let Some(mut terms) = exercise_terms(ctx, opt, buyer, seller) {
        let holder = ["europeanExercise", "americanExercise", "bermudaExercise"]
            .iter()
            .find_map(|n| child(opt, n));
        if let Some(pe) = holder.and_then(|h| child(h, "partialExercise")) {
            let mut m = Map::new();
            if let Some(h) = child(pe, "notionalReference").and_then(|n| n.attribute("href")) {
                // CDM 6 spells this property `notionaReference`.
                m.insert("notionaReference".into(), json!({ "externalReference": h }));
            }
            for f in [
                "integralMultipleAmount",
                "minimumNotionalAmount",
                "minimumNumberOfOptions",
            ] {
                if let Some(v) = text_at(pe, f) {
                    m.insert(f.into(), number(v));
                }
            }
            terms["partialExercise"] = Value::Object(m);
        }
        p.insert("exerciseTerms".into(), terms);
    }
    if let Some(s) = child(opt, "strike") {
        if let Some(spread) = text_at(s, "spread") {
            p.insert(
                "strike".into(),
                json!({ "strikePrice": {
                    "value": number(spread),
                    "unit": { "currency": { "value": currency } },
                    "perUnitOf": { "currency": { "value": currency } },
                    "priceType": "InterestRate",
                    "arithmeticOperator": "Add",
                }}),
            );
        } else if let Some(price) = text_at(s, "price") {
            p.insert(
                "strike".into(),
                json!({ "strikePrice": { "value": number(price), "priceType": "AssetPrice" } }),
            );
        }
    }
    let qualifier = "CreditDefaultSwaption";
    Mapped {
        qualifier: Some(qualifier),
        economic_terms: json!({ "payout": [ { "OptionPayout": p } ] }),
        premiums: children(opt, "premium").collect(),
    }
}
