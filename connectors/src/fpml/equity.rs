//! Equity options (long and short form, transaction supplements, single names, indices and
//! baskets), equity swaps, commodity options and bond options.

use roxmltree::Node;
use serde_json::{Map, Value, json};

use super::copy::{number, scheme_of, text};
use super::rates::exercise_terms;
use super::{Ctx, Mapped, address, at, child, children, field, located, money, text_at};

/// What kind of thing an underlyer is, for units and qualification.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnderlyerKind {
    Share,
    Index,
    Basket,
    Other,
}

/// CDM `AssetIdTypeEnum` values an FpML instrument-id scheme can name directly.
const ASSET_ID_TYPES: &[&str] = &[
    "BBGID",
    "BBGTICKER",
    "CUSIP",
    "FIGI",
    "ISIN",
    "RIC",
    "SEDOL",
    "Sicovam",
    "Valoren",
    "Wertpapier",
    "REDID",
];

/// The identifier type for an instrument-id scheme: a CDM asset-id type (`RIC`, `ISIN`…) that
/// is the scheme's last path segment or one of its `-`-separated words
/// (`…/instrument-id-Reuters-RIC-1-0` → `RIC`), else `Other`.
pub(crate) fn id_type(scheme: Option<&str>) -> &'static str {
    let Some(s) = scheme else { return "Other" };
    let last = s.rsplit(['/', ':', '#']).next().unwrap_or(s);
    ASSET_ID_TYPES
        .iter()
        .find(|t| {
            t.eq_ignore_ascii_case(s)
                || t.eq_ignore_ascii_case(last)
                || last.split('-').any(|w| t.eq_ignore_ascii_case(w))
        })
        .copied()
        .unwrap_or("Other")
}

/// Identifiers of an FpML underlying asset: instrument ids (`Other`) then the description
/// (`Name`).
fn identifiers(asset: Node) -> Vec<Value> {
    let commodity = asset.tag_name().name() == "commodity";
    let mut ids: Vec<Value> = children(asset, "instrumentId")
        .map(|i| {
            let scheme = scheme_of(i);
            // ISDA commodity reference prices are a CDM identifier type of their own.
            let t = if commodity && scheme.is_some_and(|s| s.contains("commodity-reference-price"))
            {
                "ISDACRP"
            } else {
                id_type(scheme)
            };
            json!({ "identifier": field(i), "identifierType": t })
        })
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
            (
                json!({ "Index": { "EquityIndex": m } }),
                UnderlyerKind::Index,
            )
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
    if let Some(single) = child(u, "singleUnderlyer")
        && let Some(a) = single.children().find(|c| {
            c.is_element()
                && !matches!(
                    c.tag_name().name(),
                    "openUnits"
                        | "dividendPayout"
                        | "couponPayment"
                        | "averageDailyTradingVolume"
                        | "depositoryReceipt"
                )
        })
    {
        return asset(ctx, a);
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
    if let Some(agent) = super::calculation_agent(opt) {
        terms["calculationAgent"] = agent;
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
    let style_node = e.children().find(|c| {
        c.is_element()
            && c.tag_name().name().ends_with("Exercise")
            && c.tag_name().name().starts_with("equity")
    });
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
        terms["exerciseProcedure"] =
            json!({ "automaticExercise": { "isApplicable": text(a) == "true" } });
    }
    Some(terms)
}

pub(crate) fn return_swap<'a, 'i>(ctx: &mut Ctx, swap: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let mut terms = Map::new();
    let mut payouts = Vec::new();
    let mut kind = UnderlyerKind::Other;
    let mut return_type = None;
    // Notional amounts by FpML id, so that an interest leg's relative notional points at the
    // return leg's quantity.
    // Keyed before any leg is mapped: the interest leg may come first in the document.
    let notional_keys: Vec<(String, String)> = children(swap, "returnLeg")
        .filter_map(|leg| at(leg, "notional/notionalAmount")?.attribute("id"))
        .map(|id| (id.to_owned(), ctx.key("quantity")))
        .collect();
    for leg in swap.children().filter(|n| n.is_element()) {
        match leg.tag_name().name() {
            "returnLeg" => {
                for d in ["effectiveDate", "terminationDate"] {
                    if let Some(n) = child(leg, d)
                        && !terms.contains_key(d)
                    {
                        terms.insert(
                            d.into(),
                            ctx.copy(n, "cdm-base-datetime-AdjustableOrRelativeDate"),
                        );
                    }
                }
                let (payout, k, rt) = return_leg(ctx, leg, &notional_keys);
                kind = k;
                return_type = return_type.or(rt);
                payouts.push(json!({ "PerformancePayout": payout }));
            }
            "interestLeg" => {
                payouts
                    .push(json!({ "InterestRatePayout": interest_leg(ctx, leg, &notional_keys) }));
            }
            _ => {}
        }
    }
    terms.insert("payout".into(), Value::Array(payouts));
    if let Some(agent) = super::calculation_agent(swap) {
        terms.insert("calculationAgent".into(), agent);
    }
    let performance = if return_type == Some("Price") {
        "PriceReturnBasicPerformance"
    } else {
        "TotalReturnBasicPerformance"
    };
    let qualifier = match kind {
        UnderlyerKind::Share => Some(format!("EquitySwap_{performance}_SingleName")),
        UnderlyerKind::Index => Some(format!("EquitySwap_{performance}_Index")),
        UnderlyerKind::Basket => Some(format!("EquitySwap_{performance}_Basket")),
        UnderlyerKind::Other => None,
    };
    Mapped {
        qualifier: qualifier.map(|q| &*Box::leak(q.into_boxed_str())),
        economic_terms: Value::Object(terms),
        premiums: children(swap, "premium").collect(),
    }
}

/// The text of a currency element or of the element a `currencyReference` points at.
fn leg_currency<'a>(leg: Node<'a, '_>, holder: &str) -> Option<&'a str> {
    let h = child(leg, holder)?;
    if let Some(c) = child(h, "currency") {
        return Some(text(c));
    }
    let href = child(h, "currencyReference")?.attribute("href")?;
    leg.document()
        .descendants()
        .find(|n| n.attribute("id") == Some(href))
        .map(text)
}

fn return_leg<'a>(
    ctx: &mut Ctx,
    leg: Node<'a, '_>,
    notional_keys: &[(String, String)],
) -> (Value, UnderlyerKind, Option<&'a str>) {
    let mut p = Map::new();
    p.insert(
        "payerReceiver".into(),
        json!({
            "payer": ctx.role_of(child(leg, "payerPartyReference")),
            "receiver": ctx.role_of(child(leg, "receiverPartyReference")),
        }),
    );
    let ror = child(leg, "rateOfReturn");
    let notional = at(leg, "notional/notionalAmount");
    let id = notional.and_then(|n| n.attribute("id"));
    let qkey = id
        .and_then(|id| notional_keys.iter().find(|(i, _)| i == id))
        .map(|(_, k)| k.clone())
        .unwrap_or_else(|| ctx.key("quantity"));
    let mut pq = json!({ "quantitySchedule": address(&qkey) });
    if let Some(r) = ror.and_then(|r| text_at(r, "notionalReset")) {
        pq["reset"] = json!(r == "true");
    }
    if let Some(id) = id {
        pq["meta"] = json!({ "externalKey": id });
    }
    p.insert("priceQuantity".into(), pq);
    let ccy = leg_currency(leg, "amount");
    let mut st = Map::new();
    if let Some(t) = text_at(leg, "settlementType") {
        st.insert("settlementType".into(), json!(t));
    } else if at(leg, "amount/cashSettlement").map(text) == Some("true") {
        st.insert("settlementType".into(), json!("Cash"));
    }
    if let Some(c) = ccy {
        st.insert("settlementCurrency".into(), json!({ "value": c }));
    }
    p.insert("settlementTerms".into(), Value::Object(st));
    if let Some(r) = ror {
        let mut vd = Map::new();
        for (fpml, cdm, dates) in [
            (
                "valuationPriceInterim",
                "interimValuationDate",
                "valuationDates",
            ),
            ("valuationPriceFinal", "finalValuationDate", "valuationDate"),
        ] {
            let Some(v) = child(r, fpml) else { continue };
            let mut m = Map::new();
            if let Some(d) = text_at(v, "determinationMethod") {
                m.insert("determinationMethod".into(), json!(d));
            }
            if let Some(rules) = child(v, "valuationRules") {
                if let Some(d) = child(rules, dates) {
                    let v = if dates == "valuationDates" {
                        relative_or_periodic(ctx, d)
                    } else {
                        ctx.copy(d, "cdm-base-datetime-AdjustableOrRelativeDate")
                    };
                    m.insert(dates.into(), v);
                }
                if let Some(t) = text_at(rules, "valuationTimeType") {
                    m.insert("valuationTimeType".into(), json!(t));
                }
            }
            vd.insert(cdm.into(), Value::Object(m));
        }
        if !vd.is_empty() {
            p.insert("valuationDates".into(), Value::Object(vd));
        }
    }
    if let Some(pd) = ror.and_then(|r| child(r, "paymentDates")) {
        let mut sched = Map::new();
        if let Some(i) = child(pd, "paymentDatesInterim") {
            sched.insert(
                "interimPaymentDates".into(),
                json!([ctx.copy(i, "cdm-base-datetime-AdjustableRelativeOrPeriodicDates")]),
            );
        }
        if let Some(f) = child(pd, "paymentDateFinal") {
            sched.insert(
                "finalPaymentDate".into(),
                ctx.copy(f, "cdm-base-datetime-AdjustableOrRelativeDate"),
            );
        }
        p.insert(
            "paymentDates".into(),
            json!({ "paymentDateSchedule": sched }),
        );
    }
    let okey = ctx.key("observable");
    let (observable, kind) = match child(leg, "underlyer") {
        Some(u) => underlyer(ctx, u),
        None => (json!({}), UnderlyerKind::Other),
    };
    p.insert("underlier".into(), json!({ "Observable": address(&okey) }));
    if let Some(fx) = child(leg, "fxFeature")
        && let Some(rc) = child(fx, "referenceCurrency")
    {
        let mut v = json!({ "value": text(rc) });
        if let Some(id) = rc.attribute("id") {
            v["meta"] = json!({ "externalKey": id });
        }
        p.insert("fxFeature".into(), json!([{ "referenceCurrency": v }]));
    }
    let ret = child(leg, "return");
    let return_type = ret.and_then(|r| text_at(r, "returnType"));
    let mut rt = Map::new();
    if let Some(t) = return_type {
        rt.insert("priceReturnTerms".into(), json!({ "returnType": t }));
    }
    let mut div = Map::new();
    if let Some(r) = at(
        leg,
        "underlyer/singleUnderlyer/dividendPayout/dividendPayoutRatio",
    ) {
        div.insert(
            "dividendPayoutRatio".into(),
            json!([{ "totalRatio": number(text(r)) }]),
        );
    }
    if let Some(dc) = ret.and_then(|r| child(r, "dividendConditions")) {
        if let Some(v) = text_at(dc, "dividendReinvestment") {
            div.insert("dividendReinvestment".into(), json!(v == "true"));
        }
        for f in ["dividendEntitlement", "excessDividendAmount"] {
            if let Some(v) = text_at(dc, f) {
                div.insert(f.into(), json!(v));
            }
        }
        if let Some(m) = text_at(dc, "determinationMethod") {
            div.insert(
                "dividendCurrency".into(),
                json!({ "determinationMethod": m }),
            );
        } else if let Some(c) = text_at(dc, "currency") {
            div.insert(
                "dividendCurrency".into(),
                json!({ "currency": { "value": c } }),
            );
        }
        let mut period = Map::new();
        if let Some(h) = child(dc, "dividendPeriodEffectiveDate").and_then(|n| n.attribute("href"))
        {
            period.insert(
                "startDate".into(),
                json!({ "dividendDate": { "externalReference": h } }),
            );
        }
        if let Some(h) = child(dc, "dividendPeriodEndDate").and_then(|n| n.attribute("href")) {
            period.insert(
                "endDate".into(),
                json!({ "dividendDate": { "externalReference": h } }),
            );
        }
        if let Some(r) = at(dc, "dividendPaymentDate/dividendDateReference") {
            period.insert(
                "dividendPaymentDate".into(),
                json!({ "dividendDateReference": { "dateReference": text(r) } }),
            );
        }
        if !period.is_empty() {
            div.insert("dividendPeriod".into(), json!([period]));
        }
    }
    if !div.is_empty() {
        rt.insert("dividendReturnTerms".into(), Value::Object(div));
    }
    if !rt.is_empty() {
        p.insert("returnTerms".into(), Value::Object(rt));
    }
    // The trade lot: initial price, open units, notional, the underlier.
    let mut lot = Map::new();
    if let Some(price) = ror.and_then(|r| at(r, "initialPrice/netPrice")) {
        let pkey = ctx.key("price");
        let mut v = json!({ "value": number(text_at(price, "amount").unwrap_or("0")) });
        if let Some(c) = text_at(price, "currency") {
            v["unit"] = json!({ "currency": { "value": c } });
        }
        if kind == UnderlyerKind::Share {
            v["perUnitOf"] = json!({ "financialUnit": "Share" });
        } else if kind == UnderlyerKind::Index {
            v["perUnitOf"] = json!({ "financialUnit": "IndexUnit" });
        }
        v["priceType"] = json!("AssetPrice");
        if let Some(e) = text_at(price, "priceExpression") {
            v["priceExpression"] = json!(e);
        }
        lot.insert("price".into(), json!([located(v, &pkey)]));
    }
    let notional_ccy = notional.and_then(|n| text_at(n, "currency"));
    let mut quantities = Vec::new();
    if let Some(u) = at(leg, "underlyer/singleUnderlyer/openUnits") {
        let key = ctx.key("quantity");
        let mut q = json!({ "value": number(text(u)) });
        if let Some(c) = notional_ccy {
            q["unit"] = json!({ "currency": { "value": c } });
        }
        quantities.push(located(q, &key));
    }
    if let Some(n) = notional.and_then(money) {
        quantities.push(located(n, &qkey));
    }
    lot.insert("quantity".into(), Value::Array(quantities));
    lot.insert("observable".into(), located(observable, &okey));
    ctx.lots.push(Value::Object(lot));
    if let Some(adj) = text_at(leg, "notionalAdjustments") {
        ctx.trade_extra.insert("adjustment".into(), json!(adj));
    }
    (Value::Object(p), kind, return_type)
}

fn interest_leg(ctx: &mut Ctx, leg: Node, notional_keys: &[(String, String)]) -> Value {
    let mut p = Map::new();
    p.insert(
        "payerReceiver".into(),
        json!({
            "payer": ctx.role_of(child(leg, "payerPartyReference")),
            "receiver": ctx.role_of(child(leg, "receiverPartyReference")),
        }),
    );
    let ccy = leg_currency(leg, "interestAmount");
    let mut lot = Map::new();
    if let Some(rel) = at(leg, "notional/relativeNotionalAmount").and_then(|n| n.attribute("href"))
    {
        let key = notional_keys
            .iter()
            .find(|(id, _)| id == rel)
            .map(|(_, k)| k.clone())
            .unwrap_or_else(|| ctx.key("quantity"));
        p.insert(
            "priceQuantity".into(),
            json!({ "quantitySchedule": address(&key), "quantityReference": { "externalReference": rel } }),
        );
    } else if let Some(n) = at(leg, "notional/notionalAmount") {
        let key = ctx.key("quantity");
        p.insert(
            "priceQuantity".into(),
            json!({ "quantitySchedule": address(&key) }),
        );
        if let Some(m) = money(n) {
            lot.insert("quantity".into(), json!([located(m, &key)]));
        }
    }
    if let Some(cpd) = child(leg, "interestLegCalculationPeriodDates") {
        let mut dates = Map::new();
        for d in ["effectiveDate", "terminationDate"] {
            if let Some(n) = child(cpd, d) {
                dates.insert(
                    d.into(),
                    ctx.copy(n, "cdm-base-datetime-AdjustableOrRelativeDate"),
                );
            }
        }
        if let Some(id) = cpd.attribute("id") {
            dates.insert("meta".into(), json!({ "externalKey": id }));
        }
        p.insert("calculationPeriodDates".into(), Value::Object(dates));
        if let Some(pd) = child(cpd, "interestLegPaymentDates") {
            let mut dates = json!({ "paymentDateSchedule": { "interimPaymentDates": [
                relative_or_periodic(ctx, pd)
            ] } });
            if let Some(id) = pd.attribute("id") {
                dates["meta"] = json!({ "externalKey": id });
            }
            p.insert("paymentDates".into(), dates);
        }
        if let Some(rd) = child(cpd, "interestLegResetDates") {
            p.insert(
                "resetDates".into(),
                ctx.copy(rd, "cdm-product-common-schedule-ResetDates"),
            );
        }
    }
    let calc = child(leg, "interestCalculation");
    if let Some(c) = calc {
        if let Some(f) = child(c, "floatingRateCalculation") {
            let ikey = ctx.key("InterestRateIndex");
            let okey = ctx.key("observable");
            let mut spec = json!({ "rateOption": address(&ikey) });
            if let Some(sp) = child(f, "spreadSchedule") {
                let pkey = ctx.key("price");
                spec["spreadSchedule"] = json!({ "price": address(&pkey) });
                lot.insert(
                    "price".into(),
                    json!([located(
                        json!({
                            "value": number(text_at(sp, "initialValue").unwrap_or("0")),
                            "unit": { "currency": { "value": ccy } },
                            "perUnitOf": { "currency": { "value": ccy } },
                            "priceType": "InterestRate",
                            "arithmeticOperator": "Add",
                        }),
                        &pkey
                    )]),
                );
            }
            p.insert(
                "rateSpecification".into(),
                json!({ "FloatingRateSpecification": spec }),
            );
            let index = text_at(f, "floatingRateIndex").unwrap_or_default();
            let mut fri = json!({
                "identifier": [ { "identifier": { "value": index }, "identifierType": "Other" } ],
                "assetClass": "InterestRate",
                "floatingRateIndex": { "value": index },
            });
            if let Some(t) = child(f, "indexTenor") {
                fri["indexTenor"] = json!({
                    "periodMultiplier": number(text_at(t, "periodMultiplier").unwrap_or("0")),
                    "period": text_at(t, "period"),
                });
            }
            lot.insert(
                "observable".into(),
                located(
                    json!({ "Index": { "InterestRateIndex": located(json!({ "FloatingRateIndex": fri }), &ikey) } }),
                    &okey,
                ),
            );
        } else if let Some(f) = child(c, "fixedRate") {
            let pkey = ctx.key("price");
            p.insert(
                "rateSpecification".into(),
                json!({ "FixedRateSpecification": { "rateSchedule": { "price": address(&pkey) } } }),
            );
            lot.insert(
                "price".into(),
                json!([located(
                    json!({
                        "value": number(text(f)),
                        "unit": { "currency": { "value": ccy } },
                        "perUnitOf": { "currency": { "value": ccy } },
                        "priceType": "InterestRate",
                    }),
                    &pkey
                )]),
            );
        }
        if let Some(d) = text_at(c, "dayCountFraction") {
            p.insert("dayCountFraction".into(), json!({ "value": d }));
        }
    }
    if !lot.is_empty() {
        ctx.lots.push(Value::Object(lot));
    }
    Value::Object(p)
}

pub(crate) fn commodity_option<'a, 'i>(ctx: &mut Ctx, opt: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let buyer = child(opt, "buyerPartyReference");
    let seller = child(opt, "sellerPartyReference");
    let exercise = child(opt, "exercise");
    let mut terms = Map::new();
    for d in ["effectiveDate", "terminationDate"] {
        if let Some(n) = child(opt, d) {
            terms.insert(
                d.into(),
                ctx.copy(n, "cdm-base-datetime-AdjustableOrRelativeDate"),
            );
        }
    }
    let mut p = Map::new();
    p.insert(
        "payerReceiver".into(),
        json!({ "payer": ctx.role_of(seller), "receiver": ctx.role_of(buyer) }),
    );
    let total_key = ctx.key("quantity");
    let per_period_key = ctx.key("quantity");
    let okey = ctx.key("observable");
    let notional = child(opt, "notionalQuantity");
    let unit = notional
        .and_then(|n| text_at(n, "quantityUnit"))
        .map(|u| capacity_unit(ctx, u));
    let total = text_at(opt, "totalNotionalQuantity");
    if total.is_some() || notional.is_some() {
        let key = if total.is_some() {
            &total_key
        } else {
            &per_period_key
        };
        p.insert(
            "priceQuantity".into(),
            json!({ "quantitySchedule": address(key) }),
        );
    }
    let mut st = Map::new();
    let physical = child(opt, "physicalExercise").is_some()
        || exercise.and_then(|e| text_at(e, "settlementType")) == Some("Physical");
    st.insert(
        "settlementType".into(),
        json!(if physical { "Physical" } else { "Cash" }),
    );
    if let Some(c) = exercise.and_then(|e| child(e, "settlementCurrency")) {
        st.insert("settlementCurrency".into(), super::currency(c));
    }
    if let Some(off) = exercise.and_then(|e| at(e, "relativePaymentDates/paymentDaysOffset")) {
        st.insert(
            "settlementDate".into(),
            json!({ "adjustableOrRelativeDate": { "relativeDate":
                ctx.copy(off, "cdm-base-datetime-AdjustedRelativeDateOffset") } }),
        );
    }
    p.insert("settlementTerms".into(), Value::Object(st));
    p.insert(
        "buyerSeller".into(),
        json!({ "buyer": ctx.role_of(buyer), "seller": ctx.role_of(seller) }),
    );
    let mut observation = Map::new();
    if let Some(cps) = child(opt, "calculationPeriodsSchedule") {
        observation.insert(
            "calculationPeriodDates".into(),
            json!({ "calculationPeriodFrequency": period_frequency(cps) }),
        );
    }
    if let Some(pd) = child(opt, "pricingDates") {
        observation.insert(
            "observationDates".into(),
            json!({ "parametricDates": parametric_dates(pd) }),
        );
    }
    if !observation.is_empty() {
        p.insert("observationTerms".into(), Value::Object(observation));
    }
    p.insert("underlier".into(), json!({ "Observable": address(&okey) }));
    if let Some(t) = text_at(opt, "optionType") {
        p.insert("optionType".into(), json!(t));
    }
    if let Some(e) = exercise
        && let Some(mut t) = exercise_terms(ctx, e, buyer, seller)
    {
        if let Some(a) = child(e, "automaticExercise") {
            t["exerciseProcedure"] =
                json!({ "automaticExercise": { "isApplicable": text(a) == "true" } });
        }
        p.insert("exerciseTerms".into(), t);
    }
    if let Some(k) = child(opt, "strikePricePerUnit") {
        let mut price = json!({ "value": number(text_at(k, "amount").unwrap_or("0")) });
        if let Some(c) = text_at(k, "currency") {
            price["unit"] = json!({ "currency": { "value": c } });
        }
        if let Some(u) = &unit {
            price["perUnitOf"] = json!({ "capacityUnit": u });
        }
        price["priceType"] = json!("AssetPrice");
        p.insert("strike".into(), json!({ "strikePrice": price }));
    }
    let quantities = commodity_quantities(ctx, opt, &per_period_key, &total_key);
    let observable = child(opt, "commodity")
        .map(|c| asset(ctx, c).0)
        .unwrap_or_else(|| json!({}));
    ctx.lots.push(json!({
        "quantity": quantities,
        "observable": located(observable, &okey),
    }));
    terms.insert("payout".into(), json!([{ "OptionPayout": p }]));
    Mapped {
        qualifier: Some("Commodity_Option"),
        economic_terms: Value::Object(terms),
        premiums: children(opt, "premium").collect(),
    }
}

pub(crate) fn bond_option<'a, 'i>(ctx: &mut Ctx, opt: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let buyer = child(opt, "buyerPartyReference");
    let seller = child(opt, "sellerPartyReference");
    let mut p = Map::new();
    p.insert(
        "payerReceiver".into(),
        json!({ "payer": ctx.role_of(seller), "receiver": ctx.role_of(buyer) }),
    );
    let nkey = ctx.key("quantity");
    let okey = ctx.key("observable");
    let options_key = ctx.key("quantity");
    let notional = child(opt, "notionalAmount").and_then(money);
    if notional.is_some() {
        p.insert(
            "priceQuantity".into(),
            json!({ "quantitySchedule": address(&nkey) }),
        );
    } else if child(opt, "numberOfOptions").is_some() {
        // A convertible bond option is sized in options, not in a notional.
        p.insert(
            "priceQuantity".into(),
            json!({ "quantitySchedule": address(&options_key) }),
        );
    }
    let mut st = Map::new();
    if let Some(t) = text_at(opt, "settlementType") {
        st.insert("settlementType".into(), json!(t));
    }
    if let Some(d) = child(opt, "settlementDate") {
        let inner = child(d, "adjustableDate").unwrap_or(d);
        st.insert(
            "settlementDate".into(),
            json!({ "adjustableOrRelativeDate":
                ctx.copy(inner, "cdm-base-datetime-AdjustableOrAdjustedOrRelativeDate") }),
        );
    }
    if !st.is_empty() {
        p.insert("settlementTerms".into(), Value::Object(st));
    }
    p.insert(
        "buyerSeller".into(),
        json!({ "buyer": ctx.role_of(buyer), "seller": ctx.role_of(seller) }),
    );
    p.insert("underlier".into(), json!({ "Observable": address(&okey) }));
    if let Some(t) = text_at(opt, "optionType") {
        p.insert("optionType".into(), json!(t));
    }
    if let Some(t) = exercise_terms(ctx, opt, buyer, seller) {
        p.insert("exerciseTerms".into(), t);
    }
    if let Some(k) = child(opt, "strike") {
        let price = at(k, "price/strikePrice")
            .or_else(|| child(k, "strikePrice"))
            .map(text);
        if let Some(v) = price {
            p.insert(
                "strike".into(),
                json!({ "strikePrice": { "value": number(v), "priceType": "AssetPrice" } }),
            );
        } else if let Some(curve) = child(k, "referenceSwapCurve") {
            p.insert(
                "strike".into(),
                json!({ "referenceSwapCurve":
                    ctx.copy(curve, "cdm-observable-asset-ReferenceSwapCurve") }),
            );
        } else if let Some(v) =
            text_at(k, "referenceSwapCurve/swapUnwindValue/spread").or_else(|| text_at(k, "spread"))
        {
            p.insert(
                "strike".into(),
                json!({ "strikePrice": { "value": number(v), "priceType": "InterestRate", "arithmeticOperator": "Add" } }),
            );
        }
    }
    let mut quantities = Vec::new();
    if let Some(n) = notional {
        quantities.push(located(n, &nkey));
    }
    if let Some(n) = text_at(opt, "numberOfOptions") {
        let key = options_key;
        let mut q = json!({ "value": number(n), "unit": { "financialUnit": "Contract" } });
        if let Some(e) = text_at(opt, "optionEntitlement") {
            let mut unit = json!({ "financialUnit": "Contract" });
            if let Some(c) = text_at(opt, "entitlementCurrency") {
                unit["currency"] = json!({ "value": c });
            }
            q["multiplier"] = json!({ "value": number(e), "unit": unit });
        }
        quantities.push(located(q, &key));
    }
    let observable = opt
        .children()
        .find(|c| c.is_element() && matches!(c.tag_name().name(), "bond" | "convertibleBond"))
        .map(|b| asset(ctx, b).0)
        .unwrap_or_else(|| json!({}));
    ctx.lots.push(json!({
        "quantity": quantities,
        "observable": located(observable, &okey),
    }));
    let mut terms = json!({ "payout": [ { "OptionPayout": p } ] });
    if let Some(agent) = super::calculation_agent(opt) {
        terms["calculationAgent"] = agent;
    }
    Mapped {
        qualifier: Some("InterestRate_Option_DebtOption"),
        economic_terms: terms,
        premiums: children(opt, "premium").collect(),
    }
}

/// An FpML commodity `calculationPeriodsSchedule` as a CDM calculation period frequency.
fn period_frequency(cps: Node) -> Value {
    let mut f = Map::new();
    if let Some(m) = text_at(cps, "periodMultiplier") {
        f.insert("periodMultiplier".into(), number(m));
    }
    if let Some(v) = text_at(cps, "period") {
        f.insert("period".into(), json!(v));
    }
    if let Some(id) = cps.attribute("id") {
        f.insert("meta".into(), json!({ "externalKey": id }));
    }
    if let Some(b) = text_at(cps, "balanceOfFirstPeriod") {
        f.insert("balanceOfFirstPeriod".into(), json!(b == "true"));
    }
    Value::Object(f)
}

/// The day type and distribution of FpML commodity `pricingDates` as CDM parametric dates.
fn parametric_dates(pd: Node) -> Map<String, Value> {
    let mut dates = Map::new();
    if let Some(t) = text_at(pd, "dayType") {
        // FpML's commodity business days are CDM business days of the commodity calendar.
        let t = if t == "CommodityBusiness" {
            "Business"
        } else {
            t
        };
        dates.insert("dayType".into(), json!(t));
    }
    if let Some(d) = text_at(pd, "dayDistribution") {
        dates.insert("dayDistribution".into(), json!(d));
    }
    dates
}

/// The CDM frequency of an FpML commodity `quantityFrequency`.
fn quantity_frequency(f: &str) -> Option<Value> {
    let period = match f {
        "PerCalendarDay" => "D",
        "PerCalculationPeriod" | "PerSettlementPeriod" => "C",
        "PerHour" => "H",
        "PerWeek" => "W",
        "PerMonth" => "M",
        "PerYear" => "Y",
        "Term" => "T",
        _ => return None,
    };
    Some(json!({ "periodMultiplier": 1, "period": period }))
}

/// A commodity leg's payment dates (`relativePaymentDates`): the offset, with its business day
/// convention and the leg's business centers as the adjustments.
fn commodity_payment_dates(ctx: &Ctx, leg: Node) -> Option<Value> {
    let rel = child(leg, "relativePaymentDates")?;
    let mut pd = Map::new();
    if let Some(t) = text_at(rel, "payRelativeTo") {
        pd.insert("payRelativeTo".into(), json!(t));
    }
    let mut adjustments = Map::new();
    if let Some(off) = child(rel, "paymentDaysOffset") {
        let mut o = Map::new();
        if let Some(m) = text_at(off, "periodMultiplier") {
            o.insert("periodMultiplier".into(), number(m));
        }
        for f in ["period", "dayType"] {
            if let Some(v) = text_at(off, f) {
                o.insert(f.into(), json!(v));
            }
        }
        pd.insert("paymentDaysOffset".into(), Value::Object(o));
        if let Some(c) = text_at(off, "businessDayConvention") {
            adjustments.insert("businessDayConvention".into(), json!(c));
        }
    }
    if let Some(bc) = child(rel, "businessCenters") {
        adjustments.insert(
            "businessCenters".into(),
            ctx.copy(bc, "cdm-base-datetime-BusinessCenters"),
        );
    }
    if !adjustments.is_empty() {
        pd.insert("paymentDatesAdjustments".into(), Value::Object(adjustments));
    }
    Some(Value::Object(pd))
}

/// A commodity quantity unit as the CDM spells it (`MWh` → `MWH`): the capacity unit enum value
/// equal to it ignoring case, else as written.
fn capacity_unit(ctx: &Ctx, raw: &str) -> String {
    ctx.copier
        .schemas
        .schema("cdm-base-math-CapacityUnitEnum")
        .and_then(|s| s.get("enum"))
        .and_then(Value::as_array)
        .and_then(|values| {
            values
                .iter()
                .filter_map(Value::as_str)
                .find(|v| v.eq_ignore_ascii_case(raw))
        })
        .unwrap_or(raw)
        .to_owned()
}

/// The quantities of a commodity leg (per period, then total) with their keys.
fn commodity_quantities(ctx: &Ctx, leg: Node, per_key: &str, total_key: &str) -> Vec<Value> {
    let notional = child(leg, "notionalQuantity");
    let unit = notional
        .and_then(|n| text_at(n, "quantityUnit"))
        .map(|u| capacity_unit(ctx, u));
    let mut out = Vec::new();
    if let Some(n) = notional {
        let mut q = json!({ "value": number(text_at(n, "quantity").unwrap_or("0")) });
        if let Some(u) = &unit {
            q["unit"] = json!({ "capacityUnit": u });
        }
        if let Some(f) = text_at(n, "quantityFrequency").and_then(quantity_frequency) {
            q["frequency"] = f;
        }
        out.push(located(q, per_key));
    }
    if let Some(t) = text_at(leg, "totalNotionalQuantity") {
        let mut q = json!({ "value": number(t) });
        if let Some(u) = &unit {
            q["unit"] = json!({ "capacityUnit": u });
        }
        out.push(located(q, total_key));
    }
    out
}

/// A commodity swap: each `floatingLeg` a CommodityPayout (first, as the CDM project orders
/// them), each `fixedLeg` a FixedPricePayout; one trade lot per leg in document order.
pub(crate) fn commodity_swap<'a, 'i>(ctx: &mut Ctx, swap: Node<'a, 'i>) -> Mapped<'a, 'i> {
    let mut terms = Map::new();
    for d in ["effectiveDate", "terminationDate"] {
        if let Some(n) = child(swap, d) {
            terms.insert(
                d.into(),
                ctx.copy(n, "cdm-base-datetime-AdjustableOrRelativeDate"),
            );
        }
    }
    let settlement_ccy = child(swap, "settlementCurrency");
    let legs: Vec<Node> = swap
        .children()
        .filter(|n| matches!(n.tag_name().name(), "fixedLeg" | "floatingLeg"))
        .collect();
    struct Keys {
        total: String,
        per: String,
        price: String,
        observable: String,
    }
    let keys: Vec<Keys> = legs
        .iter()
        .map(|_| Keys {
            total: ctx.key("quantity"),
            per: ctx.key("quantity"),
            price: ctx.key("price"),
            observable: ctx.key("observable"),
        })
        .collect();
    let mut floating = Vec::new();
    let mut fixed = Vec::new();
    let mut lots = Vec::new();
    for (leg, k) in legs.iter().zip(&keys) {
        let is_fixed = leg.tag_name().name() == "fixedLeg";
        let mut p = Map::new();
        p.insert(
            "payerReceiver".into(),
            json!({
                "payer": ctx.role_of(child(*leg, "payerPartyReference")),
                "receiver": ctx.role_of(child(*leg, "receiverPartyReference")),
            }),
        );
        let has_total = child(*leg, "totalNotionalQuantity").is_some();
        if has_total || child(*leg, "notionalQuantity").is_some() {
            let key = if has_total { &k.total } else { &k.per };
            p.insert(
                "priceQuantity".into(),
                json!({ "quantitySchedule": address(key) }),
            );
        }
        let unit = at(*leg, "notionalQuantity/quantityUnit").map(|u| capacity_unit(ctx, text(u)));
        let mut lot = Map::new();
        if is_fixed {
            if let Some(pd) = commodity_payment_dates(ctx, *leg) {
                p.insert("paymentDates".into(), pd);
            }
            if let Some(fp) = child(*leg, "fixedPrice") {
                p.insert("fixedPrice".into(), json!({ "price": address(&k.price) }));
                let mut price = json!({ "value": number(text_at(fp, "price").unwrap_or("0")) });
                if let Some(c) = text_at(fp, "priceCurrency") {
                    price["unit"] = json!({ "currency": { "value": c } });
                }
                if let Some(u) = text_at(fp, "priceUnit") {
                    price["perUnitOf"] = json!({ "capacityUnit": capacity_unit(ctx, u) });
                }
                price["priceType"] = json!("CashPrice");
                price["cashPrice"] = json!({ "cashPriceType": "Fee" });
                lot.insert("price".into(), json!([located(price, &k.price)]));
            }
            fixed.push(json!({ "FixedPricePayout": p }));
        } else {
            let mut st = json!({ "settlementType": "Cash" });
            if let Some(c) = settlement_ccy {
                st["settlementCurrency"] = super::currency(c);
            }
            p.insert("settlementTerms".into(), st);
            let calc = child(*leg, "calculation");
            if let Some(pd) = calc.and_then(|c| child(c, "pricingDates")) {
                let mut dates = parametric_dates(pd);
                let calendars: Vec<Value> = children(pd, "businessCalendar")
                    .map(|c| json!({ "value": text(c) }))
                    .collect();
                if !calendars.is_empty() {
                    dates.insert(
                        "businessCenters".into(),
                        json!({ "commodityBusinessCalendar": calendars }),
                    );
                }
                p.insert("pricingDates".into(), json!({ "parametricDates": dates }));
            }
            // A leg that refers to another leg's schedule (`calculationPeriodsScheduleReference`)
            // gets no frequency of its own, as in the CDM project's mapping.
            if let Some(cps) = child(*leg, "calculationPeriodsSchedule") {
                p.insert(
                    "calculationPeriodDates".into(),
                    json!({ "calculationPeriodFrequency": period_frequency(cps) }),
                );
            }
            if let Some(pd) = commodity_payment_dates(ctx, *leg) {
                p.insert("paymentDates".into(), pd);
            }
            if let Some(m) = calc.and_then(|c| text_at(c, "averagingMethod")) {
                p.insert(
                    "averagingFeature".into(),
                    json!({ "averagingMethod": {
                        "isWeighted": m == "Weighted",
                        "calculationMethod": "Arithmetic",
                    }}),
                );
            }
            let mut returns = Map::new();
            let mut price = json!({ "priceType": "AssetPrice", "arithmeticOperator": "Add" });
            if let Some(u) = &unit {
                price["perUnitOf"] = json!({ "capacityUnit": u });
            }
            if let Some(s) = calc.and_then(|c| child(c, "spread")) {
                returns.insert("spread".into(), json!({ "price": address(&k.price) }));
                price["value"] = number(text_at(s, "amount").unwrap_or("0"));
                if let Some(c) = text_at(s, "currency") {
                    price["unit"] = json!({ "currency": { "value": c } });
                }
            }
            if let Some(f) = calc.and_then(|c| text_at(c, "conversionFactor")) {
                returns.insert("conversionFactor".into(), number(f));
            }
            if !returns.is_empty() {
                p.insert("commodityPriceReturnTerms".into(), Value::Object(returns));
            }
            p.insert(
                "underlier".into(),
                json!({ "Observable": address(&k.observable) }),
            );
            lot.insert("price".into(), json!([located(price, &k.price)]));
            if let Some(c) = child(*leg, "commodity") {
                lot.insert("observable".into(), located(asset(ctx, c).0, &k.observable));
            }
            floating.push(json!({ "CommodityPayout": p }));
        }
        let quantities = commodity_quantities(ctx, *leg, &k.per, &k.total);
        if !quantities.is_empty() {
            lot.insert("quantity".into(), Value::Array(quantities));
        }
        lots.push(Value::Object(lot));
    }
    ctx.lots.extend(lots);
    let qualifier = if fixed.is_empty() {
        "Commodity_Swap_Basis"
    } else {
        "Commodity_Swap_FixedFloat"
    };
    floating.extend(fixed);
    terms.insert("payout".into(), Value::Array(floating));
    Mapped {
        qualifier: Some(qualifier),
        economic_terms: Value::Object(terms),
        premiums: Vec::new(),
    }
}

/// FpML adjustable, relative or periodic dates as CDM `AdjustableRelativeOrPeriodicDates`. The
/// copier takes what shares names; FpML's `periodicDates` (`calculationStartDate`,
/// `calculationPeriodFrequency`…) and `relativeDateSequence` (a first `dateOffset`) are renamed
/// here as the CDM project maps them.
fn relative_or_periodic(ctx: &Ctx, node: Node) -> Value {
    let mut v = ctx.copy(node, "cdm-base-datetime-AdjustableRelativeOrPeriodicDates");
    if let Some(pd) = child(node, "periodicDates") {
        let mut out = Map::new();
        for (fpml, cdm, ty) in [
            (
                "calculationStartDate",
                "startDate",
                "cdm-base-datetime-AdjustableOrRelativeDate",
            ),
            (
                "calculationEndDate",
                "endDate",
                "cdm-base-datetime-AdjustableOrRelativeDate",
            ),
            (
                "calculationPeriodFrequency",
                "periodFrequency",
                "cdm-base-datetime-CalculationPeriodFrequency",
            ),
            (
                "calculationPeriodDatesAdjustments",
                "periodDatesAdjustments",
                "cdm-base-datetime-BusinessDayAdjustments",
            ),
        ] {
            if let Some(n) = child(pd, fpml) {
                out.insert(cdm.into(), ctx.copy(n, ty));
            }
        }
        if let Some(t) = text_at(pd, "dayType") {
            out.insert("dayType".into(), json!(t));
        }
        v["periodicDates"] = Value::Object(out);
    }
    if let Some(seq) = child(node, "relativeDateSequence") {
        let mut rel = Map::new();
        if let Some(off) = child(seq, "dateOffset") {
            if let Some(m) = text_at(off, "periodMultiplier") {
                rel.insert("periodMultiplier".into(), number(m));
            }
            for f in ["period", "dayType", "businessDayConvention"] {
                if let Some(x) = text_at(off, f) {
                    rel.insert(f.into(), json!(x));
                }
            }
        }
        if let Some(h) = child(seq, "dateRelativeTo").and_then(|r| r.attribute("href")) {
            rel.insert("dateRelativeTo".into(), json!({ "externalReference": h }));
        }
        v["relativeDates"] = Value::Object(rel);
    }
    v
}
