//! A CDM TradeState (6.x legacy JSON layout) → key terms: the other direction of [`crate::cdm`],
//! for a trade that arrives as CDM (from a trade repository feed, another system, or the CDM
//! project's own FpML ingestion) and must be drafted, proofread or compared.
//!
//! # What is read
//! - Every family: `trade.tradeDate`, the parties (`trade.party[]` in document order: the first is
//!   party A, the second party B, named by `name` or else the first `partyId`), the first trade
//!   identifier as `other.reference`, the premium (`transferHistory[].transfer` with
//!   `transferExpression.priceTransfer = Premium`: amount, currency, settlement date).
//! - Option payouts (`OptionPayout`): buyer and seller (CDM's `Party1`/`Party2` roles resolved
//!   through `trade.counterparty[]` to the parties), option type, exercise style, expiration
//!   date, settlement, the strike (a price, or a percentage of the initial price), the number of
//!   options and their entitlement or the notional from the trade lot, and the underlier
//!   (security or index: name and identifier). A document address (`quantity-1`,
//!   `observable-1`, `price-1`) is resolved against the trade lot's `meta.location`s.
//! - Interest rate payouts (`InterestRatePayout`, one fixed and one floating leg): notional,
//!   fixed rate, floating rate index and tenor, the fixed leg's day count, effective and
//!   termination dates, and who pays fixed and floating (`other.fixed_rate_payer`,
//!   `other.floating_rate_payer`).
//! - Credit default payouts (`CreditDefaultPayout`): the protection seller (its payer) and buyer
//!   (its receiver), the reference entity or index (name and identifier), the notional; with
//!   the fixed leg's rate, and the upfront transfer (`priceTransfer = Upfront`) as
//!   `other.initial_payment` (amount, currency, date, payer).
//! - The product family: the taxonomy name Deskmate writes (`equity_option`, `snowball`…) when
//!   it is one, else from the payouts (options on equity → `equity_option`, a fixed/floating
//!   pair → `interest_rate_swap`, `CreditDefaultPayout` → `credit_default_swap`,
//!   `PerformancePayout` → `equity_swap`), else `other`.
//! - The extension object Deskmate writes beside its own TradeStates ([`crate::cdm`]) may be
//!   given too: its `terms` (barriers, autocall levels, coupons…) are merged in.
//!
//! # Never guessed
//! A term the TradeState does not hold is left out (a draft that needs it names it). A document
//! in the CDM 7 "Rune JSON" layout (`@type`, `@key`, `@ref`) is refused with that said.

use serde_json::{Map, Value, json};

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// A date written as a string or as `{"value": …}`, or an adjustable date.
fn date_of(v: &Value) -> Option<String> {
    let s = v
        .as_str()
        .or_else(|| str_at(v, "/value"))
        .or_else(|| str_at(v, "/unadjustedDate"))
        .or_else(|| str_at(v, "/adjustableDate/unadjustedDate"))
        .or_else(|| str_at(v, "/adjustedDate/value"))
        .or_else(|| str_at(v, "/adjustableDate/adjustedDate/value"))?;
    let d = s.get(..10)?;
    crate::parse::parse_iso(d).map(|_| d.to_string())
}

fn number(v: Option<&Value>) -> Option<Value> {
    let x = v?.as_f64().filter(|x| x.is_finite())?;
    Some(crate::parse::number_json(x))
}

/// Everything in the trade lot that carries a document location (at any depth), by location.
fn addresses(trade: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let mut stack: Vec<&Value> = trade.get("tradeLot").into_iter().collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(o) => {
                for loc in v
                    .pointer("/meta/location")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(name) = loc.get("value").and_then(Value::as_str) {
                        out.entry(name.to_string()).or_insert_with(|| v.clone());
                    }
                }
                stack.extend(o.iter().filter(|(k, _)| *k != "meta").map(|(_, x)| x));
            }
            Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    out
}

/// `v` itself, or what its `address` points at.
fn resolve<'a>(v: &'a Value, addr: &'a Map<String, Value>) -> &'a Value {
    match v.pointer("/address/value").and_then(Value::as_str) {
        Some(name) => addr.get(name).unwrap_or(v),
        None => v,
    }
}

/// The `value` of a quantity or price (a `value` object holding `value` and `unit`).
fn measure(v: &Value) -> &Value {
    match v.get("value") {
        Some(inner) if inner.is_object() => inner,
        _ => v,
    }
}

fn currency_of(m: &Value) -> Option<String> {
    str_at(m, "/unit/currency/value")
        .or_else(|| str_at(m, "/unit/currency"))
        .map(str::to_string)
}

/// The reader's state: the parties by external key and by CDM role.
struct Parties {
    /// `party1` → `party_a` (the document's order).
    by_key: Vec<(String, &'static str)>,
    /// `Party1` → `party_a`…
    by_role: Vec<(String, &'static str)>,
}

impl Parties {
    fn role(&self, role: &str) -> Option<&'static str> {
        self.by_role
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, f)| *f)
    }

    fn reference(&self, v: &Value) -> Option<&'static str> {
        let key = str_at(v, "/externalReference").or_else(|| str_at(v, "/globalReference"))?;
        self.by_key.iter().find(|(k, _)| k == key).map(|(_, f)| *f)
    }
}

use crate::terms::put_leaf as put;

fn underlier(obs: &Value, out: &mut Map<String, Value>) {
    // Legacy 6.x: `Asset.Instrument.Security`, `Index.EquityIndex`, or older `Security`.
    let holder = ["/value", ""]
        .iter()
        .filter_map(|p| obs.pointer(p))
        .find(|v| v.is_object())
        .unwrap_or(obs);
    let mut found: Option<&Value> = None;
    let mut stack = vec![holder];
    while let Some(v) = stack.pop() {
        if let Some(ids) = v.get("identifier").and_then(Value::as_array)
            && !ids.is_empty()
        {
            found = Some(v);
            break;
        }
        // Depth first, in document order (a basket: its first constituent).
        match v {
            Value::Object(o) => {
                let children: Vec<&Value> = o
                    .iter()
                    .filter(|(k, _)| *k != "meta")
                    .map(|(_, x)| x)
                    .collect();
                stack.extend(children.into_iter().rev());
            }
            Value::Array(a) => stack.extend(a.iter().rev()),
            _ => {}
        }
    }
    let Some(asset) = found else { return };
    let mut name = str_at(asset, "/name/value").map(str::to_string);
    let mut id = None;
    for i in asset["identifier"].as_array().into_iter().flatten() {
        let value = str_at(i, "/identifier/value").or_else(|| str_at(i, "/identifier"));
        match (i.get("identifierType").and_then(Value::as_str), value) {
            (Some("Name"), Some(v)) => name = name.or(Some(v.to_string())),
            (_, Some(v)) if id.is_none() => id = Some(v.to_string()),
            _ => {}
        }
    }
    match (name, id) {
        (Some(n), Some(i)) => {
            put(out, "underlier.name", json!(n));
            put(out, "underlier.id", json!(i));
        }
        (Some(n), None) => put(out, "underlier.name", json!(n)),
        (None, Some(i)) => {
            put(out, "underlier.name", json!(i));
            put(out, "underlier.id", json!(i));
        }
        (None, None) => {}
    }
}

fn option_payout(
    p: &Value,
    parties: &Parties,
    addr: &Map<String, Value>,
    out: &mut Map<String, Value>,
) {
    for (field, key) in [("buyer", "buyer"), ("seller", "seller")] {
        if let Some(f) = str_at(p, &format!("/buyerSeller/{key}")).and_then(|r| parties.role(r)) {
            put(out, field, json!(f));
        }
    }
    if let Some(t) = str_at(p, "/optionType") {
        let t = t.to_ascii_lowercase();
        if t == "call" || t == "put" {
            put(out, "option_type", json!(t));
        }
    }
    let ex = p.get("exerciseTerms").unwrap_or(&Value::Null);
    if let Some(s) = str_at(ex, "/style").or_else(|| str_at(ex, "/optionStyle")) {
        let s = match s {
            "European" => Some("european"),
            "American" => Some("american"),
            "Bermuda" | "Bermudan" => Some("bermudan"),
            _ => None,
        };
        if let Some(s) = s {
            put(out, "exercise_style", json!(s));
        }
    }
    let expiry = match ex.get("expirationDate") {
        Some(Value::Array(a)) => a.last().and_then(date_of),
        Some(v) => date_of(v),
        None => None,
    };
    if let Some(d) = expiry {
        put(out, "expiration_date", json!(d));
    }
    if let Some(s) = str_at(p, "/settlementTerms/settlementType") {
        let s = match s {
            "Cash" => Some("cash"),
            "Physical" => Some("physical"),
            "Election" => Some("cash_or_physical"),
            _ => None,
        };
        if let Some(s) = s {
            put(out, "settlement", json!(s));
        }
    }
    if let Some(sp) = p.pointer("/strike/strikePrice") {
        let sp = resolve(sp, addr);
        let m = measure(sp);
        if let Some(v) = number(m.get("value")) {
            let percent = str_at(m, "/priceExpression/priceType") == Some("Percentage")
                || str_at(m, "/unit/financialUnit") == Some("Percentage");
            put(out, "strike.value", v);
            put(
                out,
                "strike.unit",
                json!(if percent { "percent" } else { "price" }),
            );
            if let Some(c) = currency_of(m).filter(|_| !percent) {
                put(out, "strike.currency", json!(c));
            }
        }
    }
    // The payout's quantity, or else the trade lot's (a binary option's payout has none).
    let lot_quantity = addr
        .iter()
        .find(|(k, _)| k.starts_with("quantity"))
        .map(|(_, v)| v);
    if let Some(q) = p
        .pointer("/priceQuantity/quantitySchedule")
        .map(|q| resolve(q, addr))
        .or(lot_quantity)
    {
        let quantities: Vec<&Value> = match q {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for q in quantities {
            let m = measure(q);
            let Some(n) = number(m.get("value")) else {
                continue;
            };
            if let Some(c) = currency_of(m) {
                put(out, "notional.amount", n);
                put(out, "notional.currency", json!(c));
            } else {
                put(out, "number_of_options", n);
                if let Some(e) = number(m.pointer("/multiplier/value")) {
                    put(out, "option_entitlement", e);
                }
            }
        }
    }
    if let Some(u) = p.get("underlier") {
        let u = match u.get("Observable").or_else(|| u.get("observable")) {
            Some(o) => resolve(o, addr),
            None => resolve(u, addr),
        };
        underlier(u, out);
    }
}

fn rate_payouts(
    payouts: &[&Value],
    parties: &Parties,
    addr: &Map<String, Value>,
    out: &mut Map<String, Value>,
) {
    for p in payouts {
        let fixed = p.pointer("/rateSpecification/FixedRateSpecification");
        let floating = p.pointer("/rateSpecification/FloatingRateSpecification");
        if let Some(q) = p.pointer("/priceQuantity/quantitySchedule") {
            let m = measure(resolve(q, addr));
            if let (Some(n), Some(c)) = (number(m.get("value")), currency_of(m))
                && out.get("notional").is_none()
            {
                put(out, "notional.amount", n);
                put(out, "notional.currency", json!(c));
            }
        }
        let payer = str_at(p, "/payerReceiver/payer").and_then(|r| parties.role(r));
        if let Some(f) = fixed {
            if let Some(r) = f.pointer("/rateSchedule/price") {
                let m = measure(resolve(r, addr));
                if let Some(v) = number(m.get("value")) {
                    put(out, "fixed_rate", v);
                }
            } else if let Some(v) = number(f.pointer("/rateSchedule/initialValue")) {
                put(out, "fixed_rate", v);
            }
            if let Some(dc) = str_at(p, "/dayCountFraction/value") {
                put(out, "day_count", json!(dc));
            }
            if let Some(who) = payer {
                put(out, "other.fixed_rate_payer", json!(who));
            }
        }
        if let Some(f) = floating {
            if let Some(o) = f.get("rateOption") {
                let o = resolve(o, addr);
                let idx = o
                    .pointer("/value/Index/InterestRateIndex/value/FloatingRateIndex")
                    .or_else(|| o.pointer("/value/Index/InterestRateIndex/FloatingRateIndex"))
                    .or_else(|| o.pointer("/value/InterestRateIndex/FloatingRateIndex"))
                    .or_else(|| o.pointer("/value/FloatingRateIndex"))
                    .unwrap_or(o);
                let name = str_at(idx, "/floatingRateIndex/value")
                    .or_else(|| str_at(idx, "/floatingRateIndex"))
                    .or_else(|| str_at(o, "/value/floatingRateIndex/value"));
                if let Some(n) = name {
                    put(out, "floating_rate_index", json!(n));
                }
                let tenor = idx
                    .get("indexTenor")
                    .or_else(|| o.pointer("/value/indexTenor"));
                if let Some(t) = tenor
                    && let (Some(m), Some(u)) = (
                        t.get("periodMultiplier").and_then(Value::as_i64),
                        str_at(t, "/period"),
                    )
                {
                    put(out, "floating_rate_tenor", json!(format!("{m}{u}")));
                }
            }
            if out.get("day_count").is_none()
                && fixed.is_none()
                && let Some(dc) = str_at(p, "/dayCountFraction/value")
            {
                put(out, "other.floating_day_count", json!(dc));
            }
            if let Some(who) = payer {
                put(out, "other.floating_rate_payer", json!(who));
            }
        }
        let dates = p.get("calculationPeriodDates").unwrap_or(&Value::Null);
        if let Some(d) = dates.get("effectiveDate").and_then(date_of) {
            out.entry("effective_date").or_insert(json!(d));
        }
        if let Some(d) = dates.get("terminationDate").and_then(date_of) {
            out.entry("termination_date").or_insert(json!(d));
        }
    }
}

/// A credit default payout: its payer sells protection, its receiver buys it; the reference
/// entity (name and first identifier, e.g. a RED code) or the index; the notional. The fixed
/// leg beside it is read by [`rate_payouts`] (fixed rate); its payer is the buyer, so no
/// separate fixed-rate payer is kept.
fn credit_payout(
    c: &Value,
    parties: &Parties,
    addr: &Map<String, Value>,
    out: &mut Map<String, Value>,
) {
    let payer = str_at(c, "/payerReceiver/payer").and_then(|r| parties.role(r));
    let receiver = str_at(c, "/payerReceiver/receiver").and_then(|r| parties.role(r));
    if let (Some(s), Some(b)) = (payer, receiver) {
        put(out, "seller", json!(s));
        put(out, "buyer", json!(b));
    }
    if let Some(Value::Object(o)) = out.get_mut("other") {
        o.remove("fixed_rate_payer");
        o.remove("floating_rate_payer");
        if o.is_empty() {
            out.remove("other");
        }
    }
    let general = c.get("generalTerms").unwrap_or(&Value::Null);
    if let Some(ix) = general.get("indexReferenceInformation") {
        if let Some(n) = str_at(ix, "/name/value").or_else(|| str_at(ix, "/name")) {
            put(out, "underlier.name", json!(n));
        }
        if let Some(id) = str_at(ix, "/indexId/0/value").or_else(|| str_at(ix, "/indexId/0")) {
            put(out, "underlier.id", json!(id));
        }
    } else if let Some(e) = general.pointer("/referenceInformation/referenceEntity") {
        if let Some(n) = str_at(e, "/name/value").or_else(|| str_at(e, "/name")) {
            put(out, "underlier.name", json!(n));
        }
        if let Some(id) = str_at(e, "/entityId/0/value").or_else(|| str_at(e, "/entityId/0")) {
            put(out, "underlier.id", json!(id));
        }
    }
    if out.get("notional").is_none()
        && let Some(q) = c.pointer("/priceQuantity/quantitySchedule")
    {
        let m = measure(resolve(q, addr));
        if let (Some(n), Some(ccy)) = (number(m.get("value")), currency_of(m)) {
            put(out, "notional.amount", n);
            put(out, "notional.currency", json!(ccy));
        }
    }
}

/// An upfront transfer (a credit default swap's initial payment): amount, currency, date and
/// who pays it.
fn upfront(t: &Value, parties: &Parties, out: &mut Map<String, Value>) {
    let q = t.get("quantity").unwrap_or(&Value::Null);
    if let (Some(a), Some(c)) = (number(q.get("value")), currency_of(q)) {
        put(out, "other.initial_payment.amount", a);
        put(out, "other.initial_payment.currency", json!(c));
    }
    if let Some(d) = t.get("settlementDate").and_then(date_of) {
        put(out, "other.initial_payment.payment_date", json!(d));
    }
    if let Some(p) = t
        .pointer("/payerReceiver/payerPartyReference")
        .and_then(|r| parties.reference(r))
    {
        put(out, "other.initial_payment.payer", json!(p));
    }
}

/// The key terms of a CDM TradeState (legacy 6.x layout), and optionally of Deskmate's
/// extension object beside it. Errors name what is wrong with the document.
pub fn key_terms(state: &Value, extension: Option<&Value>) -> Result<Value, String> {
    let Some(obj) = state.as_object() else {
        return Err("a CDM TradeState is a JSON object".into());
    };
    if obj.keys().any(|k| k.starts_with('@')) || state.pointer("/trade/@type").is_some() {
        return Err("this is the CDM 7 \"Rune JSON\" layout (`@type`, `@key`); send the TradeState in the CDM 6 legacy JSON layout".into());
    }
    let trade = obj
        .get("trade")
        .filter(|t| t.is_object())
        .ok_or("a CDM TradeState has a `trade` object (is this a Trade rather than a TradeState? wrap it as {\"trade\": …})")?;
    let mut out = Map::new();
    let trade_date = trade
        .get("tradeDate")
        .and_then(date_of)
        .ok_or("the TradeState has no trade.tradeDate (required by CDM's Trade)")?;
    // Parties in document order.
    let mut by_key = Vec::new();
    for (i, p) in trade
        .get("party")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(2)
        .enumerate()
    {
        let field = if i == 0 { "party_a" } else { "party_b" };
        let name = str_at(p, "/name/value")
            .or_else(|| str_at(p, "/name"))
            .or_else(|| str_at(p, "/partyId/0/identifier/value"))
            .or_else(|| str_at(p, "/partyId/0/identifier"));
        if let Some(n) = name {
            put(&mut out, field, json!(n));
        }
        for key in [str_at(p, "/meta/externalKey"), str_at(p, "/meta/globalKey")]
            .into_iter()
            .flatten()
        {
            by_key.push((key.to_string(), field));
        }
    }
    let mut parties = Parties {
        by_key,
        by_role: Vec::new(),
    };
    for c in trade
        .get("counterparty")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(role), Some(field)) = (
            str_at(c, "/role"),
            c.get("partyReference").and_then(|r| parties.reference(r)),
        ) {
            parties.by_role.push((role.to_string(), field));
        }
    }
    let addr = addresses(trade);
    let payouts: Vec<(&str, &Value)> = trade
        .pointer("/product/economicTerms/payout")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_object())
        .flat_map(|o| {
            o.iter()
                .filter(|(k, _)| *k != "meta")
                .map(|(k, v)| (k.as_str(), v))
        })
        .collect();
    let named = trade
        .pointer("/product/taxonomy")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| str_at(t, "/value/name/value"))
        .find(|n| *n != "other" && crate::terms::PRODUCT_TYPES.contains(n));
    let options: Vec<&Value> = payouts
        .iter()
        .filter(|(k, _)| *k == "OptionPayout")
        .map(|(_, v)| *v)
        .collect();
    let rates: Vec<&Value> = payouts
        .iter()
        .filter(|(k, _)| *k == "InterestRatePayout")
        .map(|(_, v)| *v)
        .collect();
    let has = |k: &str| payouts.iter().any(|(n, _)| *n == k);
    let family = named.map(str::to_string).unwrap_or_else(|| {
        if !options.is_empty() && rates.is_empty() {
            let taxonomy = trade
                .pointer("/product/taxonomy")
                .map(Value::to_string)
                .unwrap_or_default();
            if taxonomy.contains("Equity") || taxonomy.contains("equity") {
                "equity_option"
            } else if taxonomy.contains("Commodity") {
                "commodity_option"
            } else if taxonomy.contains("ForeignExchange") {
                "fx_option"
            } else {
                "other"
            }
        } else if rates.len() == 2
            && rates.iter().any(|r| {
                r.pointer("/rateSpecification/FixedRateSpecification")
                    .is_some()
            })
            && options.is_empty()
        {
            "interest_rate_swap"
        } else if has("CreditDefaultPayout") {
            "credit_default_swap"
        } else if has("PerformancePayout") {
            "equity_swap"
        } else {
            "other"
        }
        .to_string()
    });
    put(&mut out, "product_type", json!(family));
    put(&mut out, "trade_date", json!(trade_date));
    if let Some(o) = options.first() {
        option_payout(o, &parties, &addr, &mut out);
    }
    if !rates.is_empty() && options.is_empty() {
        rate_payouts(&rates, &parties, &addr, &mut out);
    }
    if let Some((_, c)) = payouts.iter().find(|(k, _)| *k == "CreditDefaultPayout") {
        credit_payout(c, &parties, &addr, &mut out);
    }
    if payouts.is_empty() {
        // A payout-less TradeState (Deskmate's for families CDM 6 has no payout for): the
        // trade lot's quantity and underlier.
        if let Some(q) = addr
            .iter()
            .find(|(k, _)| k.starts_with("quantity"))
            .map(|(_, v)| v)
            .or_else(|| trade.pointer("/tradeLot/0/priceQuantity/0/quantity/0"))
        {
            let m = measure(q);
            if let Some(n) = number(m.get("value")) {
                match currency_of(m) {
                    Some(c) => {
                        put(&mut out, "notional.amount", n);
                        put(&mut out, "notional.currency", json!(c));
                    }
                    None if str_at(m, "/unit/financialUnit") == Some("Contract") => {
                        put(&mut out, "number_of_options", n)
                    }
                    None => put(&mut out, "other.number_of_shares", n),
                }
            }
        }
        if let Some(o) = trade.pointer("/tradeLot/0/priceQuantity/0/observable") {
            underlier(o, &mut out);
        }
    }
    let economic = trade.pointer("/product/economicTerms");
    for (field, key) in [
        ("effective_date", "effectiveDate"),
        ("termination_date", "terminationDate"),
    ] {
        if out.get(field).is_none()
            && let Some(d) = economic.and_then(|e| e.get(key)).and_then(date_of)
        {
            // Without a payout (snowballs, phoenixes, barrier options Deskmate built), the
            // termination date is the option's expiry.
            if field == "termination_date"
                && payouts.is_empty()
                && !family.ends_with("swap")
                && out.get("expiration_date").is_none()
            {
                put(&mut out, "expiration_date", json!(d));
                continue;
            }
            // Deskmate writes an option's expiry as the termination date too.
            if field == "termination_date" && out.get("expiration_date") == Some(&json!(d)) {
                continue;
            }
            put(&mut out, field, json!(d));
        }
    }
    if let Some(r) = trade
        .pointer("/tradeIdentifier/0/assignedIdentifier/0/identifier/value")
        .and_then(Value::as_str)
    {
        put(&mut out, "other.reference", json!(r));
    }
    for t in obj
        .get("transferHistory")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let t = t.get("transfer").unwrap_or(t);
        if str_at(t, "/transferExpression/priceTransfer") == Some("Upfront") {
            upfront(t, &parties, &mut out);
            continue;
        }
        if str_at(t, "/transferExpression/priceTransfer") != Some("Premium") {
            continue;
        }
        let q = t.get("quantity").unwrap_or(&Value::Null);
        if let (Some(a), Some(c)) = (number(q.get("value")), currency_of(q)) {
            put(&mut out, "premium.amount", a);
            put(&mut out, "premium.currency", json!(c));
        }
        if let Some(d) = t.get("settlementDate").and_then(date_of) {
            put(&mut out, "premium.payment_date", json!(d));
        }
        // The buyer pays the premium (the only place a payout-less TradeState names them).
        if out.get("buyer").is_none()
            && let (Some(b), Some(s)) = (
                t.pointer("/payerReceiver/payerPartyReference")
                    .and_then(|r| parties.reference(r)),
                t.pointer("/payerReceiver/receiverPartyReference")
                    .and_then(|r| parties.reference(r)),
            )
        {
            put(&mut out, "buyer", json!(b));
            put(&mut out, "seller", json!(s));
        }
        break;
    }
    if let Some(ext) = extension {
        let terms = ext
            .get("terms")
            .and_then(Value::as_object)
            .ok_or("the extension object has no `terms` object")?;
        for (k, v) in terms {
            if k.contains('.') {
                put(&mut out, k, v.clone());
                continue;
            }
            if k == "strike" {
                // A percent-of-initial strike lives only in the extension.
                out.insert(k.clone(), v.clone());
                continue;
            }
            match (out.get_mut(k), v) {
                (Some(Value::Object(have)), Value::Object(more)) => {
                    for (kk, vv) in more {
                        have.entry(kk.clone()).or_insert(vv.clone());
                    }
                }
                (Some(_), _) => {}
                (None, _) => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(Value::Object(out))
}
