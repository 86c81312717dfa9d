//! Interest-rate products: swaps (fixed/float, basis, OIS, cross-currency), FRAs, caps, floors
//! and collars, swaptions.

use roxmltree::Node;
use serde_json::{Map, Value, json};

use super::copy::{self, number, text};
use super::{Ctx, Mapped, address, at, child, children, currency, located, text_at};

const CALC_PERIOD_DATES: &str = "cdm-product-common-schedule-CalculationPeriodDates";
const PAYMENT_DATES: &str = "cdm-product-common-schedule-PaymentDates";
const RESET_DATES: &str = "cdm-product-common-schedule-ResetDates";
const ADJUSTABLE_DATE: &str = "cdm-base-datetime-AdjustableDate";
const RELATIVE_DATE_OFFSET: &str = "cdm-base-datetime-RelativeDateOffset";
const BUSINESS_CENTER_TIME: &str = "cdm-base-datetime-BusinessCenterTime";
const EXERCISE_TERMS: &str = "cdm-product-template-ExerciseTerms";

/// Which floating rate indices make a swap an OIS for the CDM (`…_OIS` qualifiers): the
/// ISDA names of overnight-compounded rates, which all carry `OIS` (`EUR-EONIA-OIS-COMPOUND`,
/// `GBP-SONIA-OIS Compound`, `USD-SOFR-OIS Compound`). The bare overnight index with
/// compounding spelt out in calculation parameters (`EUR-EONIA`, `USD-SOFR`) is qualified as a
/// plain fixed/float swap by the CDM project's own mapping, and so here.
const OIS_MARKERS: &[&str] = &["OIS"];

/// What one swap stream turned out to be, for qualification.
struct Leg {
    fixed: bool,
    currency: String,
    index: Option<String>,
}

pub(crate) fn swap<'a, 'i>(ctx: &mut Ctx, swap: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let (payouts, legs) = streams(ctx, swap, "swapStream");
    let mut terms = json!({ "payout": payouts });
    if let Some(oet) = at(swap, "earlyTerminationProvision/optionalEarlyTermination") {
        terms["terminationProvision"] = json!({ "earlyTerminationProvision": {
            "optionalEarlyTermination": optional_early_termination(ctx, oet)
        }});
    }
    if let Some(agent) = super::calculation_agent(swap) {
        terms["calculationAgent"] = agent;
    }
    Mapped {
        qualifier: Some(qualify_swap(&legs)),
        economic_terms: terms,
        premiums: children(swap, "premium")
            .chain(children(swap, "additionalPayment"))
            .collect(),
    }
}

/// FpML `optionalEarlyTermination`: exercise terms, notice, follow-up confirmation and cash
/// settlement.
fn optional_early_termination(ctx: &Ctx, oet: Node) -> Value {
    let mut out = Map::new();
    let notices: Vec<Value> = children(oet, "exerciseNotice")
        .map(|n| {
            let mut v = Map::new();
            if let Some(bc) = child(n, "businessCenter") {
                v.insert("businessCenter".into(), json!({ "value": text(bc) }));
            }
            Value::Object(v)
        })
        .collect();
    if !notices.is_empty() {
        out.insert("exerciseNotice".into(), Value::Array(notices));
    }
    if let Some(f) = child(oet, "followUpConfirmation") {
        out.insert(
            "followUpConfirmation".into(),
            copy::scalar(text(f), "boolean"),
        );
    }
    if let Some(cs) = child(oet, "cashSettlement") {
        out.insert("cashSettlement".into(), cash_settlement(ctx, cs));
    }
    if let Some(t) = exercise_terms(ctx, oet, None, None) {
        out.insert("exerciseTerms".into(), t);
    }
    Value::Object(out)
}

/// An FpML `cashSettlement` (swaptions, optional early termination) as CDM settlement terms:
/// cash, its currency, and one cash settlement term with the method, valuation date and time.
pub(crate) fn cash_settlement(ctx: &Ctx, cs: Node) -> Value {
    let mut st = Map::new();
    st.insert("settlementType".into(), json!("Cash"));
    let mut term = Map::new();
    // The method is the element naming it: `parYieldCurveUnadjustedMethod`, or
    // `midMarketValuation/indicativeQuotations` → `MidMarketIndicativeQuotations`.
    let method = cs.children().filter(Node::is_element).find_map(|m| {
        let name = m.tag_name().name();
        let (candidate, body) = match name {
            "midMarketValuation" | "replacementValue" => {
                let inner = m.children().find(Node::is_element)?;
                let prefix = if name == "midMarketValuation" {
                    "MidMarket"
                } else {
                    "ReplacementValue"
                };
                let rest = inner.tag_name().name();
                let mut c = String::from(prefix);
                c.push_str(&rest[..1].to_ascii_uppercase());
                c.push_str(&rest[1..]);
                (c, inner)
            }
            n if n.ends_with("Method") => {
                (format!("{}{}", n[..1].to_ascii_uppercase(), &n[1..]), m)
            }
            _ => return None,
        };
        copy::enum_value(
            ctx.copier.schemas,
            "cdm-product-common-settlement-CashSettlementMethodEnum",
            &candidate,
        )
        .filter(|v| *v == candidate)
        .map(|v| (v, body))
    });
    if let Some((m, body)) = method {
        term.insert("cashSettlementMethod".into(), json!(m));
        let mut vm = Map::new();
        if let Some(c) =
            text_at(body, "cashSettlementCurrency").or_else(|| text_at(body, "settlementCurrency"))
        {
            st.insert("settlementCurrency".into(), json!({ "value": c }));
        }
        let mut collateral = Map::new();
        for (f, wrapped) in [
            ("applicableCsa", false),
            ("cashCollateralCurrency", false),
            ("cashCollateralInterestRate", true),
            ("agreedDiscountRate", true),
        ] {
            if let Some(v) = text_at(body, f) {
                collateral.insert(
                    f.into(),
                    if wrapped {
                        json!({ "value": v })
                    } else {
                        json!(v)
                    },
                );
            }
        }
        if let Some(v) = text_at(body, "prescribedDocumentationAdjustment") {
            collateral.insert(
                "prescribedDocumentationAdjustment".into(),
                copy::scalar(v, "boolean"),
            );
        }
        let protected: Vec<Value> = children(body, "protectedParty")
            .filter_map(|p| text_at(p, "partyDetermination"))
            .map(|v| json!(v))
            .collect();
        if !protected.is_empty() {
            collateral.insert("protectedParty".into(), Value::Array(protected));
        }
        if !collateral.is_empty() {
            vm.insert(
                "cashCollateralValuationMethod".into(),
                Value::Object(collateral),
            );
        }
        if let Some(q) = text_at(body, "quotationRateType") {
            vm.insert("quotationMethod".into(), json!(q));
        }
        if let Some(src) = at(body, "settlementRateSource/informationSource/rateSource") {
            vm.insert(
                "valuationSource".into(),
                json!({ "informationSource": { "primarySource": {
                    "sourceProvider": { "value": text(src) }
                }}}),
            );
        }
        if !vm.is_empty() {
            term.insert("valuationMethod".into(), Value::Object(vm));
        }
    }
    if let Some(d) = child(cs, "cashSettlementValuationDate") {
        term.insert(
            "valuationDate".into(),
            json!({ "valuationDate": ctx.copy(d, "cdm-base-datetime-RelativeDateOffset") }),
        );
    }
    if let Some(t) = child(cs, "cashSettlementValuationTime") {
        term.insert("valuationTime".into(), ctx.copy(t, BUSINESS_CENTER_TIME));
    }
    if let Some(id) = cs.attribute("id") {
        term.insert("meta".into(), json!({ "externalKey": id }));
    }
    if !term.is_empty() {
        st.insert("cashSettlementTerms".into(), json!([term]));
    }
    Value::Object(st)
}

fn streams(ctx: &mut Ctx, parent: Node, name: &'static str) -> (Vec<Value>, Vec<Leg>) {
    let mut payouts = Vec::new();
    let mut legs = Vec::new();
    for s in children(parent, name) {
        let (payout, leg) = stream(ctx, s);
        payouts.push(json!({ "InterestRatePayout": payout }));
        legs.push(leg);
    }
    (payouts, legs)
}

fn qualify_swap(legs: &[Leg]) -> &'static str {
    let fixed = legs.iter().filter(|l| l.fixed).count();
    let floating = legs.len() - fixed;
    let cross_currency = legs.windows(2).any(|w| w[0].currency != w[1].currency);
    let ois = legs.iter().any(|l| {
        l.index
            .as_deref()
            .is_some_and(|i| OIS_MARKERS.iter().any(|m| i.contains(m)))
    });
    match (cross_currency, fixed, floating) {
        (true, 1, 1) => "InterestRate_CrossCurrency_FixedFloat",
        (true, 0, _) => "InterestRate_CrossCurrency_Basis",
        (true, _, 0) => "InterestRate_CrossCurrency_FixedFixed",
        (false, 1, 1) if ois => "InterestRate_IRSwap_FixedFloat_OIS",
        (false, 1, 1) => "InterestRate_IRSwap_FixedFloat",
        (false, 0, _) if ois => "InterestRate_IRSwap_Basis_OIS",
        (false, 0, _) => "InterestRate_IRSwap_Basis",
        (false, _, 0) => "InterestRate_IRSwap_FixedFixed",
        _ => "InterestRate_IRSwap_FixedFloat",
    }
}

/// One `swapStream` or `capFloorStream` as an InterestRatePayout, filling the trade lot.
fn stream(ctx: &mut Ctx, s: Node) -> (Value, Leg) {
    let mut p = Map::new();
    p.insert(
        "payerReceiver".into(),
        json!({
            "payer": ctx.role_of(child(s, "payerPartyReference")),
            "receiver": ctx.role_of(child(s, "receiverPartyReference")),
        }),
    );
    let calc = at(s, "calculationPeriodAmount/calculation");
    let notional = calc.and_then(|c| at(c, "notionalSchedule/notionalStepSchedule"));
    let notional_ccy = notional.and_then(|n| child(n, "currency"));
    let ccy_text = notional_ccy.map(text).unwrap_or_default().to_owned();
    let mut lot = Map::new();
    let qkey = ctx.key("quantity");
    if let Some(n) = notional {
        p.insert(
            "priceQuantity".into(),
            json!({ "quantitySchedule": address(&qkey) }),
        );
        let mut q = json!({
            "value": number(text_at(n, "initialValue").unwrap_or("0")),
            "unit": { "currency": notional_ccy.map(currency).unwrap_or(Value::Null) },
        });
        let steps = dated_values(n);
        if !steps.is_empty() {
            q["datedValue"] = Value::Array(steps);
        }
        lot.insert("quantity".into(), json!([located(q, &qkey)]));
    } else if let Some(fixed_amount) = at(s, "calculationPeriodAmount/knownAmountSchedule") {
        ctx.problem(fixed_amount, "known-amount schedules are not mapped");
    }
    let mut leg = Leg {
        fixed: false,
        currency: ccy_text.clone(),
        index: None,
    };
    let mut prices = Vec::new();
    if let Some(calc) = calc {
        if let Some(fixed) = child(calc, "fixedRateSchedule") {
            leg.fixed = true;
            let pkey = ctx.key("price");
            p.insert(
                "rateSpecification".into(),
                json!({ "FixedRateSpecification": { "rateSchedule": { "price": address(&pkey) } } }),
            );
            prices.push(located(rate_price(fixed, notional_ccy, None), &pkey));
        } else if let Some(floating) = child(calc, "floatingRateCalculation") {
            let mut spec = Map::new();
            let ikey = ctx.key("InterestRateIndex");
            let okey = ctx.key("observable");
            spec.insert("rateOption".into(), address(&ikey));
            for (fpml, cdm, op) in [
                ("spreadSchedule", "spreadSchedule", None),
                ("capRateSchedule", "capRateSchedule", Some("Min")),
                ("floorRateSchedule", "floorRateSchedule", Some("Max")),
            ] {
                if let Some(sched) = child(floating, fpml) {
                    let pkey = ctx.key("price");
                    spec.insert(cdm.into(), json!({ "price": address(&pkey) }));
                    let mut price = rate_price(sched, notional_ccy, op);
                    if fpml == "spreadSchedule" {
                        price["priceType"] = json!("InterestRate");
                        price["arithmeticOperator"] = json!("Add");
                    }
                    prices.push(located(price, &pkey));
                }
            }
            if let Some(m) = child(floating, "floatingRateMultiplierSchedule") {
                spec.insert(
                    "floatingRateMultiplierSchedule".into(),
                    json!({ "value": number(text_at(m, "initialValue").unwrap_or("1")) }),
                );
            }
            for (fpml, cdm) in [
                ("initialRate", "initialRate"),
                ("averagingMethod", "averagingMethod"),
                (
                    "negativeInterestRateTreatment",
                    "negativeInterestRateTreatment",
                ),
            ] {
                if let Some(v) = child(floating, fpml) {
                    let value = if fpml == "initialRate" {
                        json!({ "value": number(text(v)) })
                    } else {
                        json!(text(v))
                    };
                    spec.insert(cdm.into(), value);
                }
            }
            p.insert(
                "rateSpecification".into(),
                json!({ "FloatingRateSpecification": spec }),
            );
            let index = text_at(floating, "floatingRateIndex").unwrap_or_default();
            leg.index = Some(index.to_owned());
            let mut fri = json!({
                "identifier": [ { "identifier": { "value": index }, "identifierType": "Other" } ],
                "assetClass": "InterestRate",
                "floatingRateIndex": { "value": index },
            });
            if let Some(t) = child(floating, "indexTenor") {
                fri["indexTenor"] = json!({
                    "periodMultiplier": number(text_at(t, "periodMultiplier").unwrap_or("0")),
                    "period": text_at(t, "period"),
                });
            }
            let observable = json!({
                "Index": { "InterestRateIndex": located(json!({ "FloatingRateIndex": fri }), &ikey) }
            });
            lot.insert("observable".into(), located(observable, &okey));
        }
        if let Some(dcf) = child(calc, "dayCountFraction") {
            p.insert("dayCountFraction".into(), json!({ "value": text(dcf) }));
        }
        if let Some(c) = child(calc, "compoundingMethod") {
            p.insert("compoundingMethod".into(), json!(text(c)));
        }
    }
    if !prices.is_empty() {
        lot.insert("price".into(), Value::Array(prices));
    }
    for (fpml, cdm, ty) in [
        (
            "calculationPeriodDates",
            "calculationPeriodDates",
            CALC_PERIOD_DATES,
        ),
        ("paymentDates", "paymentDates", PAYMENT_DATES),
        ("resetDates", "resetDates", RESET_DATES),
    ] {
        if let Some(n) = child(s, fpml) {
            p.insert(cdm.into(), ctx.copy(n, ty));
        }
    }
    if let Some(pe) = child(s, "principalExchanges") {
        p.insert(
            "principalPayment".into(),
            // A non-deliverable stream exchanges principal in its settlement currency.
            principal_payment(
                ctx,
                s,
                pe,
                at(s, "settlementProvision/settlementCurrency").or(notional_ccy),
            ),
        );
    }
    if let Some(c) = child(s, "cashflows") {
        p.insert(
            "cashflowRepresentation".into(),
            ctx.copy(c, "cdm-product-asset-CashflowRepresentation"),
        );
    }
    if let Some(sp) = child(s, "stubCalculationPeriodAmount") {
        ctx.problem(sp, "stub periods are not mapped");
    }
    if let Some(prov) = child(s, "settlementProvision") {
        p.insert("settlementTerms".into(), settlement_provision(ctx, prov));
    }
    if !lot.is_empty() {
        ctx.lots.push(Value::Object(lot));
    }
    (Value::Object(p), leg)
}

/// `principalExchanges` (which exchanges happen) and the stream's explicit principal exchange
/// cash flows as CDM principal payments. A positive FpML amount is paid by the stream's payer,
/// a negative one by its receiver; the first cash flow is the initial exchange when there is
/// one, the last the final.
fn principal_payment(ctx: &Ctx, s: Node, pe: Node, ccy: Option<Node>) -> Value {
    let mut out = Map::new();
    let flag = |name: &str| child(pe, name).map(|n| copy::scalar(text(n), "boolean"));
    let mut initial = false;
    let mut fin = false;
    for (fpml, cdm) in [
        ("initialExchange", "initialPayment"),
        ("finalExchange", "finalPayment"),
        ("intermediateExchange", "intermediatePayment"),
    ] {
        if let Some(v) = flag(fpml) {
            if fpml == "initialExchange" {
                initial = v == Value::Bool(true);
            } else if fpml == "finalExchange" {
                fin = v == Value::Bool(true);
            }
            out.insert(cdm.into(), v);
        }
    }
    let flows: Vec<Node> = child(s, "cashflows")
        .map(|c| children(c, "principalExchange").collect())
        .unwrap_or_default();
    let payer = ctx.role_of(child(s, "payerPartyReference"));
    let receiver = ctx.role_of(child(s, "receiverPartyReference"));
    let payment = |f: Node| {
        let raw = text_at(f, "principalExchangeAmount").unwrap_or("0");
        let negative = raw.trim_start().starts_with('-');
        let amount = number(raw.trim_start().trim_start_matches('-'));
        let (from, to) = if negative {
            (receiver.clone(), payer.clone())
        } else {
            (payer.clone(), receiver.clone())
        };
        let mut v = json!({
            "payerReceiver": { "payer": from, "receiver": to },
            "principalAmount": { "value": amount, "unit": { "currency": ccy.map(currency) } },
        });
        if let Some(d) = text_at(f, "adjustedPrincipalExchangeDate") {
            v["principalPaymentDate"] = json!({ "adjustedDate": { "value": d } });
        } else if let Some(d) = text_at(f, "unadjustedPrincipalExchangeDate") {
            v["principalPaymentDate"] = json!({ "unadjustedDate": d });
        }
        v
    };
    let mut schedule = Map::new();
    let mut rest = &flows[..];
    if initial && let Some((first, tail)) = rest.split_first() {
        schedule.insert("initialPrincipalPayment".into(), payment(*first));
        rest = tail;
    }
    if fin && let Some((last, _)) = rest.split_last() {
        schedule.insert("finalPrincipalPayment".into(), payment(*last));
    }
    if !schedule.is_empty() {
        out.insert("principalPaymentSchedule".into(), Value::Object(schedule));
    }
    if let Some(id) = pe.attribute("id") {
        out.insert("meta".into(), json!({ "externalKey": id }));
    }
    Value::Object(out)
}

/// Non-deliverable settlement of a swap stream (`settlementProvision`).
fn settlement_provision(ctx: &Ctx, prov: Node) -> Value {
    let mut t = Map::new();
    if let Some(nd) = child(prov, "nonDeliverableSettlement") {
        t.insert("settlementType".into(), json!("Cash"));
        let mut cash = Map::new();
        if let Some(opt) = child(nd, "settlementRateOption") {
            let o = json!({ "value": text(opt) });
            cash.insert(
                "valuationMethod".into(),
                json!({ "valuationSource": { "settlementRateOption": { "settlementRateOption": o } } }),
            );
        }
        if let Some(fix) = child(nd, "fxFixingDate") {
            let mut v = ctx.copy(fix, "cdm-product-common-settlement-FxFixingDate");
            if let Some(rel) = child(fix, "dateRelativeToPaymentDates")
                && let Some(first) = children(rel, "paymentDatesReference")
                    .filter_map(|r| r.attribute("href"))
                    .next()
            {
                v["dateRelativeToPaymentDates"] =
                    json!({ "paymentDatesReference": [ { "externalReference": first } ] });
            }
            cash.insert("valuationDate".into(), json!({ "fxFixingDate": v }));
        }
        t.insert("cashSettlementTerms".into(), json!([cash]));
    }
    if let Some(c) = child(prov, "settlementCurrency") {
        t.insert("settlementCurrency".into(), super::currency(c));
    }
    Value::Object(t)
}

/// A rate schedule (`initialValue` + `step`s) as an interest-rate price in the notional's
/// currency.
fn rate_price(sched: Node, ccy: Option<Node>, op: Option<&str>) -> Value {
    let c = ccy.map(currency).unwrap_or(Value::Null);
    let mut price = json!({
        "value": number(text_at(sched, "initialValue").unwrap_or("0")),
        "unit": { "currency": c.clone() },
    });
    let steps = dated_values(sched);
    if !steps.is_empty() {
        price["datedValue"] = Value::Array(steps);
    }
    price["perUnitOf"] = json!({ "currency": c });
    price["priceType"] = json!("InterestRate");
    if let Some(op) = op {
        price["arithmeticOperator"] = json!(op);
    }
    price
}

fn dated_values(sched: Node) -> Vec<Value> {
    children(sched, "step")
        .map(|s| {
            json!({
                "date": text_at(s, "stepDate"),
                "value": number(text_at(s, "stepValue").unwrap_or("0")),
            })
        })
        .collect()
}

pub(crate) fn cap_floor<'a, 'i>(ctx: &mut Ctx, cf: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let (payouts, _) = streams(ctx, cf, "capFloorStream");
    Mapped {
        qualifier: Some("InterestRate_CapFloor"),
        economic_terms: json!({ "payout": payouts }),
        premiums: children(cf, "premium").collect(),
    }
}

pub(crate) fn fra<'a, 'i>(ctx: &mut Ctx, fra: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let buyer = child(fra, "buyerPartyReference");
    let seller = child(fra, "sellerPartyReference");
    let notional = child(fra, "notional");
    let ccy = notional.and_then(|n| child(n, "currency"));
    let amount = notional
        .and_then(|n| text_at(n, "amount"))
        .map(number)
        .unwrap_or(Value::Null);
    let mut calc_dates = Map::new();
    if let Some(e) = child(fra, "adjustedEffectiveDate") {
        let mut v = json!({ "adjustableDate": { "adjustedDate": { "value": text(e) } } });
        if let Some(id) = e.attribute("id") {
            v["meta"] = json!({ "externalKey": id });
        }
        calc_dates.insert("effectiveDate".into(), v);
    }
    if let Some(t) = child(fra, "adjustedTerminationDate") {
        calc_dates.insert(
            "terminationDate".into(),
            json!({ "adjustableDate": { "adjustedDate": { "value": text(t) } } }),
        );
    }
    let payment_date = child(fra, "paymentDate").map(|d| ctx.copy(d, ADJUSTABLE_DATE));
    let dcf = text_at(fra, "dayCountFraction");
    let discounting = match text_at(fra, "fraDiscounting") {
        Some("ISDA") => Some("FRA"),
        Some("AFMA") => Some("FRA_YIELD"),
        _ => None,
    };
    let mut payouts = Vec::new();
    // Fixed leg: the buyer pays the fixed rate.
    let qkey = ctx.key("quantity");
    let pkey = ctx.key("price");
    let mut fixed = json!({
        "payerReceiver": { "payer": ctx.role_of(buyer), "receiver": ctx.role_of(seller) },
        "priceQuantity": { "quantitySchedule": address(&qkey) },
        "rateSpecification": { "FixedRateSpecification": { "rateSchedule": { "price": address(&pkey) } } },
    });
    let tenor = child(fra, "indexTenor");
    let common = |p: &mut Value| {
        if let Some(d) = dcf {
            p["dayCountFraction"] = json!({ "value": d });
        }
        p["calculationPeriodDates"] = Value::Object(calc_dates.clone());
    };
    common(&mut fixed);
    if let Some(t) = tenor {
        fixed["paymentDates"] = json!({ "paymentFrequency": {
            "periodMultiplier": number(text_at(t, "periodMultiplier").unwrap_or("0")),
            "period": text_at(t, "period"),
        }});
    }
    if let Some(pd) = &payment_date {
        fixed["paymentDate"] = pd.clone();
    }
    if let Some(d) = discounting {
        fixed["discountingMethod"] = json!({ "discountingType": d });
    }
    ctx.lots.push(json!({
        "price": [ located(json!({
            "value": number(text_at(fra, "fixedRate").unwrap_or("0")),
            "unit": { "currency": ccy.map(currency) },
            "perUnitOf": { "currency": ccy.map(currency) },
            "priceType": "InterestRate",
        }), &pkey) ],
        "quantity": [ located(json!({ "value": amount, "unit": { "currency": ccy.map(currency) } }), &qkey) ],
    }));
    payouts.push(json!({ "InterestRatePayout": fixed }));
    // Floating leg: the seller pays the floating rate.
    let qkey = ctx.key("quantity");
    let ikey = ctx.key("InterestRateIndex");
    let okey = ctx.key("observable");
    let mut floating = json!({
        "payerReceiver": { "payer": ctx.role_of(seller), "receiver": ctx.role_of(buyer) },
        "priceQuantity": { "quantitySchedule": address(&qkey) },
        "rateSpecification": { "FloatingRateSpecification": { "rateOption": address(&ikey) } },
    });
    common(&mut floating);
    if let Some(pd) = &payment_date {
        floating["paymentDate"] = pd.clone();
    }
    if let Some(f) = child(fra, "fixingDateOffset") {
        floating["resetDates"] = json!({ "fixingDates": ctx.copy(f, RELATIVE_DATE_OFFSET) });
    }
    if let Some(d) = discounting {
        floating["discountingMethod"] = json!({ "discountingType": d });
    }
    let indexes: Vec<&str> = children(fra, "floatingRateIndex").map(text).collect();
    let index = indexes.first().copied().unwrap_or_default();
    let mut fri = json!({
        "identifier": [ { "identifier": { "value": index }, "identifierType": "Other" } ],
        "assetClass": "InterestRate",
        "floatingRateIndex": { "value": index },
    });
    if let Some(t) = tenor {
        fri["indexTenor"] = json!({
            "periodMultiplier": number(text_at(t, "periodMultiplier").unwrap_or("0")),
            "period": text_at(t, "period"),
        });
    }
    ctx.lots.push(json!({
        "quantity": [ located(json!({ "value": amount, "unit": { "currency": ccy.map(currency) } }), &qkey) ],
        "observable": located(json!({ "Index": { "InterestRateIndex": located(json!({ "FloatingRateIndex": fri }), &ikey) } }), &okey),
    }));
    payouts.push(json!({ "InterestRatePayout": floating }));
    Mapped {
        qualifier: Some("InterestRate_Fra"),
        economic_terms: json!({ "payout": payouts }),
        premiums: Vec::new(),
    }
}

pub(crate) fn swaption<'a, 'i>(ctx: &mut Ctx, sw: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let buyer = child(sw, "buyerPartyReference");
    let seller = child(sw, "sellerPartyReference");
    let mut option = Map::new();
    option.insert(
        "payerReceiver".into(),
        json!({ "payer": ctx.role_of(seller), "receiver": ctx.role_of(buyer) }),
    );
    option.insert(
        "buyerSeller".into(),
        json!({ "buyer": ctx.role_of(buyer), "seller": ctx.role_of(seller) }),
    );
    if let Some(swap) = child(sw, "swap") {
        let (payouts, legs) = streams(ctx, swap, "swapStream");
        option.insert(
            "underlier".into(),
            json!({ "Product": { "NonTransferableProduct": {
                "taxonomy": [ { "source": "ISDA", "productQualifier": qualify_swap(&legs) } ],
                "economicTerms": { "payout": payouts },
            }}}),
        );
    }
    if let Some(terms) = exercise_terms(ctx, sw, buyer, seller) {
        option.insert("exerciseTerms".into(), terms);
    }
    if text_at(sw, "swaptionStraddle") == Some("true") {
        option.insert("optionType".into(), json!("Straddle"));
    }
    if let Some(cs) = child(sw, "cashSettlement") {
        let mut st = cash_settlement(ctx, cs);
        if let Some(d) = at(cs, "cashSettlementPaymentDate/adjustableDates") {
            st["settlementDate"] =
                json!({ "adjustableDates": ctx.copy(d, "cdm-base-datetime-AdjustableDates") });
        }
        option.insert("settlementTerms".into(), st);
    } else if child(sw, "physicalSettlement").is_some() {
        option.insert(
            "settlementTerms".into(),
            json!({ "settlementType": "Physical" }),
        );
    }
    Mapped {
        qualifier: Some("InterestRate_Option_Swaption"),
        economic_terms: json!({ "payout": [ { "OptionPayout": option } ] }),
        premiums: children(sw, "premium").collect(),
    }
}

/// The exercise terms of an option: the `europeanExercise` / `americanExercise` /
/// `bermudaExercise` element (anywhere among the option's children or under `exercise`)
/// plus the sibling `exerciseProcedure`.
pub(crate) fn exercise_terms(
    ctx: &Ctx,
    option: Node,
    buyer: Option<Node>,
    seller: Option<Node>,
) -> Option<Value> {
    let holder = child(option, "exercise").unwrap_or(option);
    let (ex, style) = [
        ("europeanExercise", "European"),
        ("americanExercise", "American"),
        ("bermudaExercise", "Bermuda"),
        ("equityEuropeanExercise", "European"),
        ("equityAmericanExercise", "American"),
        ("equityBermudaExercise", "Bermuda"),
    ]
    .into_iter()
    .find_map(|(name, style)| child(holder, name).map(|n| (n, style)))?;
    let mut terms = ctx.copy(ex, EXERCISE_TERMS);
    terms["style"] = json!(style);
    // FpML spells some exercise dates as plain dates, which CDM holds as adjusted dates.
    for (fpml, cdm, array) in [
        ("expiryDate", "expirationDate", true),
        ("expirationDate", "expirationDate", true),
        ("commencementDate", "commencementDate", false),
    ] {
        if let Some(d) = child(ex, fpml)
            && d.children().all(|c| !c.is_element())
        {
            let v = json!({ "adjustableDate": { "adjustedDate": { "value": text(d) } } });
            terms[cdm] = if array { json!([v]) } else { v };
        }
    }
    if let Some(dates) = child(ex, "bermudaExerciseDates") {
        terms["exerciseDates"] = ctx.copy(dates, "cdm-base-datetime-AdjustableOrRelativeDates");
    }
    if let Some(t) = child(ex, "expiryTime") {
        terms["expirationTime"] = ctx.copy(t, BUSINESS_CENTER_TIME);
    }
    if terms.get("expirationTime").is_some() {
        terms["expirationTimeType"] = json!("SpecificTime");
    } else if let Some(t) = text_at(ex, "equityExpirationTimeType") {
        terms["expirationTimeType"] = json!(t);
    }
    if let Some(proc_) =
        child(option, "exerciseProcedure").or_else(|| child(holder, "exerciseProcedure"))
    {
        let mut p = Map::new();
        if let Some(m) = child(proc_, "manualExercise") {
            let mut manual = Map::new();
            if let Some(n) = child(m, "exerciseNotice") {
                let mut notice = Map::new();
                if let Some(h) = child(n, "partyReference").and_then(|r| r.attribute("href")) {
                    let giver = if buyer.and_then(|b| b.attribute("href")) == Some(h) {
                        "Buyer"
                    } else if seller.and_then(|s| s.attribute("href")) == Some(h) {
                        "Seller"
                    } else {
                        "Both"
                    };
                    notice.insert("exerciseNoticeGiver".into(), json!(giver));
                }
                if let Some(bc) = child(n, "businessCenter") {
                    notice.insert("businessCenter".into(), json!({ "value": text(bc) }));
                }
                manual.insert("exerciseNotice".into(), Value::Object(notice));
            }
            if let Some(f) = child(m, "fallbackExercise") {
                manual.insert("fallbackExercise".into(), json!(text(f) == "true"));
            }
            p.insert("manualExercise".into(), Value::Object(manual));
        }
        if let Some(a) = child(proc_, "automaticExercise") {
            let mut auto = Map::new();
            if let Some(t) = text_at(a, "thresholdRate") {
                auto.insert("thresholdRate".into(), number(t));
            }
            p.insert("automaticExercise".into(), Value::Object(auto));
        }
        if let Some(f) = child(proc_, "followUpConfirmation") {
            p.insert("followUpConfirmation".into(), json!(text(f) == "true"));
        }
        if let Some(f) = child(proc_, "limitedRightToConfirm") {
            p.insert("limitedRightToConfirm".into(), json!(text(f) == "true"));
        }
        if let Some(f) = child(proc_, "splitTicket") {
            p.insert("splitTicket".into(), json!(text(f) == "true"));
        }
        terms["exerciseProcedure"] = Value::Object(p);
    }
    Some(terms)
}
