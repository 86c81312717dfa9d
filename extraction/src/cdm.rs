//! Key terms → an ISDA CDM 6.30.0 TradeState (legacy JSON layout), plus the extension object
//! for what CDM cannot express.
//!
//! # What is built
//! - Every family: `trade.tradeDate` (required by the schema; without a trade date no document
//!   is emitted), the parties (`party[]` with `meta.externalKey` `party1`/`party2`, named as
//!   written) and `counterparty[]` (`Party1` = party A, `Party2` = party B), the confirmation's
//!   reference as a trade identifier, the product's family as a taxonomy name, and the premium
//!   as a `transferHistory` entry (paid by the buyer to the seller).
//! - `equity_option`: an `OptionPayout` (buyer/seller, option type, exercise style, expiration
//!   date, settlement, price strike) whose quantity and underlier live in the trade lot and are
//!   referenced by document addresses (`quantity-1`, `observable-1`), as the CDM project's own
//!   FpML ingestion does.
//! - `interest_rate_swap`: two `InterestRatePayout`s (fixed: rate in the trade lot at
//!   `price-1`; floating: the `FloatingRateIndex` with its tenor at `InterestRateIndex-1`), with
//!   payer/receiver, day count fractions, effective and termination dates.
//! - Other families (capped calls, prepaid forwards, snowballs, phoenixes, barrier options…):
//!   the trade with parties, dates and trade lot, `nonStandardisedTerms: true` and no payout;
//!   the terms CDM cannot hold go to the extension, the payout's own terms (buyer, seller,
//!   option type, strike, expiry, settlement…) with them, so that TradeState and extension
//!   together read back whole ([`crate::cdm_read`]).
//!
//! # The extension object
//! Beside the CDM document, never inside it: `{"schema": "deskmate.cdm-extension/1",
//! "cdm_version": "6.30.0", "product_type", "reason", "terms": {…}}`. `terms` holds, in the
//! key-terms spelling, what the TradeState does not: barriers (`barrier`, `knock_in`), coupons,
//! cap and floor prices, percent-of-initial strikes, and every `other.*` key term. CDM's own
//! qualification marks barrier and knock-in/out equity options as not qualifying, and CDM 6
//! has no autocall (snowball/phoenix) payout.
//!
//! # Never invalid, never guessed
//! A required piece that the key terms lack (buyer and seller for an option, the expiration
//! date) is listed in [`CdmReport::missing`] and the part that needs it is not built. Where the
//! schema requires a value that confirmations leave to the Definitions (an option's expiration
//! time type), the Definitions' default is used and listed in [`CdmReport::assumptions`]. The
//! result is validated against the schemas; a document with violations is not emitted.
//!
//! # TradeStates mapped from FpML: emitted incomplete
//! A TradeState mapped from an FpML message (`connectors::fpml::fpml_to_cdm`) may lack a
//! property CDM 6.30 marks required that the message does not carry (an option's
//! `exerciseProcedure.followUpConfirmation`; the CDM project's own expected outputs lack the
//! same ones). Such a document is emitted as it is, never with invented values: `emitted:
//! true`, `complete: false`, each missing property in [`CdmReport::missing_required`] with its
//! JSON pointer and whether the source carries it ([`MissingProperty`]). It breaks the schema
//! only by those absences ([`split_missing`]); a document with any other violation is still not
//! emitted. The ops review supplies the values ([`supply`]) and the export validates the
//! document in full.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use connectors::cdm::{CdmError, CdmSchemas, Violation};

/// The CDM version of the documents built here.
pub const CDM_VERSION: &str = "6.30.0";

/// Where a TradeState came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CdmSource {
    /// Built from the key terms by [`build`].
    #[default]
    KeyTerms,
    /// Mapped from the FpML message by `connectors::fpml::fpml_to_cdm`.
    Fpml,
}

/// Whether the source document carries a property the TradeState lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InSource {
    /// The source has the corresponding element: the mapping did not carry it over, and the
    /// reviewer can read the value there.
    Yes,
    /// The source has no corresponding element: the value must come from elsewhere (the signed
    /// confirmation, the master agreement, the Definitions).
    No,
    /// Deskmate does not know which element of the source would carry it.
    NotKnown,
}

/// A property CDM requires that an emitted TradeState lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingProperty {
    /// JSON pointer of the property in the TradeState (where a reviewer's value goes):
    /// `/trade/product/economicTerms/payout/0/OptionPayout/exerciseTerms/exerciseProcedure/followUpConfirmation`.
    pub pointer: String,
    /// The property's name (`followUpConfirmation`).
    pub property: String,
    /// Whether the source carries it.
    pub in_source: InSource,
    /// The source element(s) looked for, as slash-separated element names (`followUpConfirmation`,
    /// `pricingDates/businessCalendar`); `None` when not known.
    pub source_element: Option<String>,
}

impl MissingProperty {
    /// The sentence for the report and the review.
    pub fn sentence(&self) -> String {
        let source = match (self.in_source, &self.source_element) {
            (InSource::Yes, Some(e)) => {
                format!("the source states it ({e}); the mapping does not carry it over")
            }
            (InSource::No, Some(e)) => format!("the source does not state it: no {e}"),
            _ => "whether the source carries it is not known".to_owned(),
        };
        format!(
            "CDM {CDM_VERSION} requires {} at {} ({source}); supply it in the review as cdm:{}",
            self.property, self.pointer, self.pointer
        )
    }
}

/// What happened when building the CDM document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CdmReport {
    /// Where the TradeState came from.
    pub source: CdmSource,
    /// Whether a TradeState was emitted: valid against the schema, or (mapped from FpML)
    /// lacking only the required properties listed in `missing_required`.
    pub emitted: bool,
    /// Whether it is whole: it carries the product's payout and every property the schema
    /// requires (false: see `missing` and `missing_required`).
    pub complete: bool,
    /// Required pieces the source lacks, in a sentence each.
    pub missing: Vec<String>,
    /// Properties the schema requires that the emitted TradeState lacks (it is schema-valid but
    /// for these); the review supplies them before export.
    pub missing_required: Vec<MissingProperty>,
    /// Required properties a reviewer supplied ([`supply`]), as they were missing.
    pub supplied: Vec<MissingProperty>,
    /// Values taken from the Definitions' defaults because the schema requires them.
    pub assumptions: Vec<String>,
    /// Schema violations of the built document other than missing required properties (our
    /// bug, or a mapping gap; the document is then not emitted).
    pub violations: Vec<String>,
    /// Why no document was emitted, if none was.
    pub error: Option<String>,
}

/// A required property that a violation says is absent: the JSON pointer of the object that
/// lacks it and the property's name.
fn required_absent(v: &Violation) -> Option<(String, String)> {
    if !v.schema_path.ends_with("/required") {
        return None;
    }
    let quoted = v.message.strip_suffix(" is a required property")?;
    let name: String = serde_json::from_str(quoted).ok()?;
    let pointer = format!("{}/{}", v.path, name.replace('~', "~0").replace('/', "~1"));
    Some((pointer, name))
}

/// Splits schema violations into the required properties that are absent (pointer, name) and
/// the other violations.
pub fn split_missing(violations: &[Violation]) -> (Vec<(String, String)>, Vec<&Violation>) {
    let mut missing = Vec::new();
    let mut other = Vec::new();
    for v in violations {
        match required_absent(v) {
            Some(m) => missing.push(m),
            None => other.push(v),
        }
    }
    (missing, other)
}

/// Why a reviewer's value for a CDM property was refused.
#[derive(Debug, thiserror::Error)]
pub enum SupplyError {
    /// The pointer names no property the TradeState lacks (nor one supplied before).
    #[error(
        "{0} is not a required property the CDM TradeState lacks; the review supplies only those listed in cdm_report.missing_required"
    )]
    NotMissing(String),
    /// There is no TradeState to supply it to.
    #[error("there is no CDM TradeState to supply {0} to")]
    NoDocument(String),
    /// The value does not fit the schema there.
    #[error("the value for {pointer} does not fit CDM {CDM_VERSION}: {detail}")]
    Invalid {
        /// The property.
        pointer: String,
        /// The validator's words.
        detail: String,
    },
    /// The schemas could not be used (the installation's fault).
    #[error(transparent)]
    Schemas(#[from] CdmError),
}

/// Supplies the value of a required property the TradeState lacks (`value`), or takes back
/// one supplied before (`None`), then validates the document again and updates the report.
/// Refused when the pointer is not one of `report.missing_required` (or `report.supplied`),
/// or when the value does not fit the schema there; nothing changes then.
pub fn supply(
    state: &mut Value,
    report: &mut CdmReport,
    pointer: &str,
    value: Option<Value>,
    schemas: &CdmSchemas,
) -> Result<(), SupplyError> {
    let known = report
        .missing_required
        .iter()
        .chain(&report.supplied)
        .find(|m| m.pointer == pointer)
        .cloned()
        .ok_or_else(|| SupplyError::NotMissing(pointer.to_owned()))?;
    if !state.is_object() {
        return Err(SupplyError::NoDocument(pointer.to_owned()));
    }
    let (parent, _) = pointer
        .rsplit_once('/')
        .ok_or_else(|| SupplyError::NotMissing(pointer.to_owned()))?;
    let mut next = state.clone();
    let Some(Value::Object(obj)) = next.pointer_mut(parent) else {
        return Err(SupplyError::NotMissing(pointer.to_owned()));
    };
    match value {
        Some(v) => obj.insert(known.property.clone(), v),
        None => obj.remove(&known.property),
    };
    let violations = schemas.validate_trade_state(&next)?;
    let (missing, other) = split_missing(&violations);
    if !other.is_empty() {
        return Err(SupplyError::Invalid {
            pointer: pointer.to_owned(),
            detail: other
                .iter()
                .take(3)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    let previous: Vec<MissingProperty> = report
        .missing_required
        .iter()
        .chain(&report.supplied)
        .cloned()
        .collect();
    report.missing_required = missing
        .into_iter()
        .map(|(p, property)| {
            previous
                .iter()
                .find(|m| m.pointer == p)
                .cloned()
                .unwrap_or(MissingProperty {
                    pointer: p,
                    property,
                    in_source: InSource::NotKnown,
                    source_element: None,
                })
        })
        .collect();
    report.supplied = previous
        .into_iter()
        .filter(|m| {
            !report
                .missing_required
                .iter()
                .any(|x| x.pointer == m.pointer)
                && next.pointer(&m.pointer).is_some()
        })
        .collect();
    report.supplied.dedup_by(|a, b| a.pointer == b.pointer);
    report.missing = report
        .missing_required
        .iter()
        .map(MissingProperty::sentence)
        .collect();
    report.complete = report.missing_required.is_empty();
    *state = next;
    Ok(())
}

/// The built documents.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CdmOutput {
    /// The TradeState, when emitted.
    pub trade_state: Option<Value>,
    /// The extension object, when the product has terms CDM cannot express.
    pub extension: Option<Value>,
    /// The report.
    pub report: CdmReport,
}

fn s<'a>(kt: &'a Value, path: &str) -> Option<&'a str> {
    at(kt, path).and_then(Value::as_str)
}

fn n(kt: &Value, path: &str) -> Option<f64> {
    at(kt, path).and_then(Value::as_f64)
}

fn at<'a>(kt: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(kt, |v, k| v.get(k))
}

fn role(party: &str) -> &'static str {
    if party == "party_a" {
        "Party1"
    } else {
        "Party2"
    }
}

fn ext_ref(party: &str) -> Value {
    json!({ "externalReference": if party == "party_a" { "party1" } else { "party2" } })
}

fn located(value: Value, key: &str) -> Value {
    json!({ "value": value, "meta": { "location": [ { "scope": "DOCUMENT", "value": key } ] } })
}

fn address(key: &str) -> Value {
    json!({ "address": { "scope": "DOCUMENT", "value": key } })
}

fn date(d: &str, bdc: Option<&str>) -> Value {
    let mut adj = json!({ "unadjustedDate": d });
    if let Some(b) = bdc {
        adj["dateAdjustments"] = json!({ "businessDayConvention": b });
    }
    json!({ "adjustableDate": adj })
}

fn money(amount: f64, ccy: &str) -> Value {
    json!({ "value": amount, "unit": { "currency": { "value": ccy } } })
}

/// Builds the TradeState and extension for `key_terms` (the key-terms object) and validates the
/// TradeState with `schemas`.
pub fn build(key_terms: &Value, schemas: &CdmSchemas) -> CdmOutput {
    let mut out = CdmOutput::default();
    let product = s(key_terms, "product_type").unwrap_or("other");
    out.extension = extension(key_terms, product);
    let Some(trade_date) = s(key_terms, "trade_date") else {
        out.report
            .missing
            .push("the trade date (required by CDM's Trade)".into());
        out.report.error = Some("no trade date: a CDM Trade cannot be built".into());
        return out;
    };
    let mut trade = Map::new();
    let mut lots: Vec<Value> = Vec::new();
    let mut payouts: Vec<Value> = Vec::new();
    let r = &mut out.report;
    let both_parties = s(key_terms, "party_a").is_some() && s(key_terms, "party_b").is_some();
    match product {
        "equity_option" => {
            if let Some(p) = option_payout(key_terms, both_parties, &mut lots, r) {
                payouts.push(json!({ "OptionPayout": p }));
            }
        }
        "interest_rate_swap" => {
            payouts.extend(swap_payouts(key_terms, both_parties, &mut lots, r, schemas));
        }
        other => {
            r.missing.push(format!(
                "a payout: Deskmate builds CDM payouts for equity options and interest rate swaps; \
                 the {other} terms are in the extension object"
            ));
            trade_lot_only(key_terms, &mut lots);
        }
    }
    r.complete = !payouts.is_empty() && r.missing.is_empty();
    let mut economic = Map::new();
    if !payouts.is_empty() {
        economic.insert("payout".into(), Value::Array(payouts));
    }
    if let Some(d) = s(key_terms, "effective_date") {
        economic.insert("effectiveDate".into(), date(d, None));
    }
    if let Some(d) = s(key_terms, "termination_date").or(s(key_terms, "expiration_date")) {
        economic.insert("terminationDate".into(), date(d, None));
    }
    if out.extension.is_some() || !r.complete {
        economic.insert("nonStandardisedTerms".into(), Value::Bool(true));
    }
    trade.insert(
        "product".into(),
        json!({
            "taxonomy": [ { "source": "Other", "value": { "name": { "value": product } } } ],
            "economicTerms": Value::Object(economic),
        }),
    );
    if !lots.is_empty() {
        trade.insert("tradeLot".into(), json!([ { "priceQuantity": lots } ]));
    }
    let mut parties = Vec::new();
    for (field, key) in [("party_a", "party1"), ("party_b", "party2")] {
        if let Some(name) = s(key_terms, field) {
            parties.push(json!({ "name": { "value": name }, "meta": { "externalKey": key } }));
        }
    }
    if both_parties {
        trade.insert(
            "counterparty".into(),
            json!([
                { "role": "Party1", "partyReference": { "externalReference": "party1" } },
                { "role": "Party2", "partyReference": { "externalReference": "party2" } },
            ]),
        );
    } else {
        r.missing
            .push("both parties' names (for CDM's counterparty roles)".into());
    }
    if let Some(reference) = s(key_terms, "other.reference") {
        trade.insert(
            "tradeIdentifier".into(),
            json!([ { "assignedIdentifier": [ { "identifier": { "value": reference } } ] } ]),
        );
    }
    trade.insert("tradeDate".into(), json!({ "value": trade_date }));
    if !parties.is_empty() {
        trade.insert("party".into(), Value::Array(parties));
    }
    let mut state = json!({ "trade": Value::Object(trade) });
    if let Some(t) = premium_transfer(key_terms, both_parties) {
        state["transferHistory"] = json!([t]);
    }
    match schemas.validate_trade_state(&state) {
        Ok(v) if v.is_empty() => {
            out.report.emitted = true;
            out.trade_state = Some(state);
        }
        Ok(v) => {
            out.report.violations = v.iter().map(ToString::to_string).collect();
            out.report.error = Some(format!(
                "the built TradeState breaks the CDM {CDM_VERSION} schema in {} place(s); not emitted",
                v.len()
            ));
            out.report.complete = false;
        }
        Err(e) => {
            out.report.error = Some(format!("CDM validation failed: {e}"));
            out.report.complete = false;
        }
    }
    out
}

fn option_payout(
    kt: &Value,
    both_parties: bool,
    lots: &mut Vec<Value>,
    r: &mut CdmReport,
) -> Option<Value> {
    let buyer = s(kt, "buyer");
    let seller = s(kt, "seller");
    let underlier = underlier_observable(kt);
    let expiry = s(kt, "expiration_date");
    let mut lacking = Vec::new();
    if buyer.is_none() || seller.is_none() {
        lacking.push("the buyer and the seller");
    }
    if !both_parties {
        lacking.push("both parties");
    }
    if underlier.is_none() {
        lacking.push("the underlier");
    }
    if expiry.is_none() {
        lacking.push("the expiration date");
    }
    if !lacking.is_empty() {
        r.missing
            .push(format!("the OptionPayout needs {}", lacking.join(", ")));
        trade_lot_only(kt, lots);
        return None;
    }
    let (buyer, seller, underlier, expiry) = (buyer?, seller?, underlier?, expiry?);
    let mut p = Map::new();
    p.insert(
        "payerReceiver".into(),
        json!({ "payer": role(seller), "receiver": role(buyer) }),
    );
    p.insert(
        "buyerSeller".into(),
        json!({ "buyer": role(buyer), "seller": role(seller) }),
    );
    let quantity = option_quantity(kt);
    if quantity.is_some() {
        p.insert(
            "priceQuantity".into(),
            json!({ "quantitySchedule": address("quantity-1") }),
        );
    }
    if let Some(st) = s(kt, "settlement") {
        let t = match st {
            "cash" => "Cash",
            "physical" => "Physical",
            _ => "CashOrPhysical",
        };
        let mut terms = json!({ "settlementType": t });
        if let Some(c) = s(kt, "notional.currency").or(s(kt, "strike.currency")) {
            terms["settlementCurrency"] = json!({ "value": c });
        }
        p.insert("settlementTerms".into(), terms);
    }
    p.insert(
        "underlier".into(),
        json!({ "Observable": address("observable-1") }),
    );
    if let Some(t) = s(kt, "option_type") {
        p.insert(
            "optionType".into(),
            Value::from(if t == "call" { "Call" } else { "Put" }),
        );
    }
    let mut exercise = Map::new();
    if let Some(style) = s(kt, "exercise_style") {
        let v = match style {
            "american" => "American",
            "bermudan" => "Bermuda",
            _ => "European",
        };
        exercise.insert("style".into(), Value::from(v));
    }
    exercise.insert("expirationDate".into(), json!([date(expiry, None)]));
    exercise.insert("expirationTimeType".into(), Value::from("Close"));
    r.assumptions.push(
        "exerciseTerms.expirationTimeType = Close: confirmations leave the expiration time to the \
         ISDA Equity Derivatives Definitions, whose default is the Valuation Time at the close"
            .into(),
    );
    p.insert("exerciseTerms".into(), Value::Object(exercise));
    if s(kt, "strike.unit") == Some("price")
        && let (Some(v), Some(c)) = (n(kt, "strike.value"), s(kt, "strike.currency"))
    {
        p.insert(
            "strike".into(),
            json!({ "strikePrice": {
                "value": v,
                "unit": { "currency": { "value": c } },
                "perUnitOf": { "financialUnit": if is_index(kt) { "IndexUnit" } else { "Share" } },
                "priceType": "AssetPrice",
            } }),
        );
    } else if n(kt, "strike.value").is_some() {
        r.missing.push(
            "a price strike with its currency (a percent-of-initial strike is kept in the extension)"
                .into(),
        );
    }
    let mut lot = Map::new();
    if let Some(q) = quantity {
        lot.insert("quantity".into(), json!([located(q, "quantity-1")]));
    }
    lot.insert("observable".into(), located(underlier, "observable-1"));
    lots.push(Value::Object(lot));
    Some(Value::Object(p))
}

/// The number of options (with the entitlement as multiplier), else the notional.
fn option_quantity(kt: &Value) -> Option<Value> {
    if let Some(count) = n(kt, "number_of_options") {
        let mut q = json!({ "value": count, "unit": { "financialUnit": "Contract" } });
        if let Some(e) = n(kt, "option_entitlement") {
            q["multiplier"] = json!({
                "value": e,
                "unit": { "financialUnit": if is_index(kt) { "IndexUnit" } else { "Share" } }
            });
        }
        return Some(q);
    }
    match (n(kt, "notional.amount"), s(kt, "notional.currency")) {
        (Some(a), Some(c)) => Some(money(a, c)),
        _ => None,
    }
}

fn is_index(kt: &Value) -> bool {
    let name = s(kt, "underlier.name").unwrap_or("").to_lowercase();
    name.contains("index") || name.contains("指数")
}

fn underlier_observable(kt: &Value) -> Option<Value> {
    let name = s(kt, "underlier.name");
    let id = s(kt, "underlier.id");
    if name.is_none() && id.is_none() {
        return None;
    }
    let mut ids = Vec::new();
    if let Some(i) = id {
        ids.push(json!({ "identifier": { "value": i }, "identifierType": "Other" }));
    }
    if let Some(nm) = name {
        ids.push(json!({ "identifier": { "value": nm }, "identifierType": "Name" }));
    }
    Some(if is_index(kt) {
        let mut idx = json!({ "identifier": ids, "assetClass": "Equity" });
        if let Some(nm) = name {
            idx["name"] = json!({ "value": nm });
        }
        json!({ "Index": { "EquityIndex": idx } })
    } else {
        json!({ "Asset": { "Instrument": { "Security": {
            "identifier": ids, "instrumentType": "Equity"
        } } } })
    })
}

/// The ISDA floating rate option for an index as written, if CDM's enum knows it (a few
/// common Chinese spellings are mapped to their ISDA names).
fn floating_rate_option(written: &str, ccy: Option<&str>) -> String {
    let w = written.trim();
    match (w.to_uppercase().as_str(), ccy) {
        ("SHIBOR", _) => "CNY-SHIBOR".into(),
        ("FR007" | "7天回购定盘利率" | "FR007 (7天回购定盘利率)", _) => {
            "CNY-CNREPOFIX=CFXS-Reuters".into()
        }
        ("LPR" | "贷款市场报价利率", _) => "CNY-LPR".into(),
        ("SOFR", _) => "USD-SOFR".into(),
        (_, _) => w.to_owned(),
    }
}

fn enum_has(schemas: &CdmSchemas, ty: &str, v: &str) -> bool {
    schemas
        .schema(ty)
        .and_then(|s| s.get("enum"))
        .and_then(Value::as_array)
        .is_some_and(|e| e.iter().any(|x| x.as_str() == Some(v)))
}

fn swap_payouts(
    kt: &Value,
    both_parties: bool,
    lots: &mut Vec<Value>,
    r: &mut CdmReport,
    schemas: &CdmSchemas,
) -> Vec<Value> {
    let notional = match (n(kt, "notional.amount"), s(kt, "notional.currency")) {
        (Some(a), Some(c)) => Some((a, c)),
        _ => None,
    };
    let mut lacking = Vec::new();
    if notional.is_none() {
        lacking.push("the notional amount and currency");
    }
    if s(kt, "effective_date").is_none() || s(kt, "termination_date").is_none() {
        lacking.push("the effective and termination dates");
    }
    if n(kt, "fixed_rate").is_none() {
        lacking.push("the fixed rate");
    }
    let index =
        s(kt, "floating_rate_index").map(|i| floating_rate_option(i, s(kt, "notional.currency")));
    let unknown_index;
    match &index {
        None => lacking.push("the floating rate option"),
        Some(i)
            if !enum_has(
                schemas,
                "cdm-base-staticdata-asset-rates-FloatingRateIndexEnum",
                i,
            ) =>
        {
            unknown_index =
                format!("a floating rate option CDM knows ({i:?} is not in FloatingRateIndexEnum)");
            lacking.push(&unknown_index);
        }
        Some(_) => {}
    }
    if !both_parties {
        lacking.push("both parties");
    }
    let fixed_payer = s(kt, "other.fixed_rate_payer");
    let float_payer = s(kt, "other.floating_rate_payer");
    if fixed_payer.is_none() || float_payer.is_none() || fixed_payer == float_payer {
        lacking.push("which party pays fixed and which pays floating");
    }
    if !lacking.is_empty() {
        r.missing.push(format!(
            "the InterestRatePayouts need {}",
            lacking.join(", ")
        ));
        trade_lot_only(kt, lots);
        return Vec::new();
    }
    let (amount, ccy) = notional.expect("checked");
    let (fixed_payer, float_payer) = (fixed_payer.expect("checked"), float_payer.expect("checked"));
    let bdc = s(kt, "other.business_day_convention");
    let period_dates = json!({
        "effectiveDate": date(s(kt, "effective_date").expect("checked"), None),
        "terminationDate": date(s(kt, "termination_date").expect("checked"), bdc),
    });
    let index = index.expect("checked");
    let mut fri = json!({
        "floatingRateIndex": { "value": index },
        "identifier": [ { "identifier": { "value": index }, "identifierType": "Other" } ],
        "assetClass": "InterestRate",
    });
    if let Some(t) = s(kt, "floating_rate_tenor") {
        let (num, unit) = t.split_at(t.len() - 1);
        if let Ok(m) = num.parse::<u32>() {
            fri["indexTenor"] = json!({ "periodMultiplier": m, "period": unit });
        }
    }
    let mut fixed = json!({
        "payerReceiver": { "payer": role(fixed_payer), "receiver": role(float_payer) },
        "priceQuantity": { "quantitySchedule": address("quantity-1") },
        "rateSpecification": { "FixedRateSpecification": { "rateSchedule": { "price": address("price-1") } } },
        "calculationPeriodDates": period_dates.clone(),
    });
    let mut floating = json!({
        "payerReceiver": { "payer": role(float_payer), "receiver": role(fixed_payer) },
        "priceQuantity": { "quantitySchedule": address("quantity-2") },
        "rateSpecification": { "FloatingRateSpecification": { "rateOption": address("InterestRateIndex-1") } },
        "calculationPeriodDates": period_dates,
    });
    if let Some(dc) = s(kt, "day_count") {
        fixed["dayCountFraction"] = json!({ "value": dc });
    }
    if let Some(dc) = s(kt, "other.floating_day_count").or(s(kt, "day_count")) {
        floating["dayCountFraction"] = json!({ "value": dc });
    }
    lots.push(json!({
        "quantity": [ located(money(amount, ccy), "quantity-1") ],
        "price": [ located(json!({
            "value": n(kt, "fixed_rate").expect("checked"),
            "unit": { "currency": { "value": ccy } },
            "perUnitOf": { "currency": { "value": ccy } },
            "priceType": "InterestRate",
        }), "price-1") ],
    }));
    lots.push(json!({
        "quantity": [ located(money(amount, ccy), "quantity-2") ],
        "observable": {
            "value": { "Index": { "InterestRateIndex": { "value": { "FloatingRateIndex": fri } } } },
            "meta": { "location": [ { "scope": "DOCUMENT", "value": "InterestRateIndex-1" } ] },
        },
    }));
    vec![
        json!({ "InterestRatePayout": fixed }),
        json!({ "InterestRatePayout": floating }),
    ]
}

/// A trade lot with what is known: the notional and the underlier.
fn trade_lot_only(kt: &Value, lots: &mut Vec<Value>) {
    let mut lot = Map::new();
    if let (Some(a), Some(c)) = (n(kt, "notional.amount"), s(kt, "notional.currency")) {
        lot.insert("quantity".into(), json!([ { "value": money(a, c) } ]));
    } else if let Some(count) = n(kt, "number_of_options") {
        lot.insert(
            "quantity".into(),
            json!([ { "value": { "value": count, "unit": { "financialUnit": "Contract" } } } ]),
        );
    } else if let Some(shares) = n(kt, "other.number_of_shares") {
        lot.insert(
            "quantity".into(),
            json!([ { "value": { "value": shares, "unit": { "financialUnit": "Share" } } } ]),
        );
    }
    if let Some(o) = underlier_observable(kt) {
        lot.insert("observable".into(), json!({ "value": o }));
    }
    if !lot.is_empty() {
        lots.push(Value::Object(lot));
    }
}

fn premium_transfer(kt: &Value, both_parties: bool) -> Option<Value> {
    let amount = n(kt, "premium.amount")?;
    let ccy = s(kt, "premium.currency")?;
    let (buyer, seller) = (s(kt, "buyer")?, s(kt, "seller")?);
    if !both_parties || buyer == seller {
        return None;
    }
    let mut t = json!({
        "quantity": money(amount, ccy),
        "asset": { "Cash": { "identifier": [ { "identifier": { "value": ccy }, "identifierType": "CurrencyCode" } ] } },
        "payerReceiver": { "payerPartyReference": ext_ref(buyer), "receiverPartyReference": ext_ref(seller) },
        "transferExpression": { "priceTransfer": "Premium" },
    });
    if let Some(d) = s(kt, "premium.payment_date") {
        t["settlementDate"] = json!({ "unadjustedDate": d });
    }
    Some(json!({ "transfer": t }))
}

/// The extension object: what the key terms state that the TradeState cannot carry.
fn extension(kt: &Value, product: &str) -> Option<Value> {
    let mut terms = Map::new();
    for key in [
        "barrier",
        "cap_price",
        "floor_price",
        "initial_price",
        "participation_pct",
        "payout_pct",
        "autocall",
    ] {
        if let Some(v) = kt.get(key) {
            terms.insert(key.into(), v.clone());
        }
    }
    if s(kt, "strike.unit") == Some("percent")
        && let Some(st) = kt.get("strike")
    {
        terms.insert("strike".into(), st.clone());
    }
    if let Some(Value::Object(other)) = kt.get("other") {
        for (k, v) in other {
            terms.insert(format!("other.{k}"), v.clone());
        }
    }
    let needs_payout = !matches!(product, "equity_option" | "interest_rate_swap");
    if needs_payout {
        // No payout is built for these: the payout's terms are kept here.
        for key in [
            "buyer",
            "seller",
            "option_type",
            "exercise_style",
            "expiration_date",
            "strike",
            "number_of_options",
            "option_entitlement",
            "settlement",
            "fixed_rate",
            "floating_rate_index",
            "floating_rate_tenor",
            "day_count",
        ] {
            if let Some(v) = kt.get(key) {
                terms.insert(key.into(), v.clone());
            }
        }
    }
    let has_exotic = terms.keys().any(|k| {
        matches!(
            k.as_str(),
            "barrier"
                | "cap_price"
                | "floor_price"
                | "strike"
                | "participation_pct"
                | "payout_pct"
                | "autocall"
        ) || k.starts_with("other.knock")
    });
    if terms.is_empty() && !needs_payout {
        return None;
    }
    let reason = match product {
        "snowball" | "phoenix" => {
            "CDM 6.30 has no autocallable payout: the knock-out (autocall) and knock-in barriers, \
             coupons and observation schedule are kept here"
        }
        "capped_call" => {
            "a capped call is a call spread whose strike and cap are prices per share; the cap \
             and the disclosed terms are kept here"
        }
        "prepaid_forward" => {
            "CDM 6.30 has no prepaid variable forward payout; the floor and cap prices, the \
             prepayment and the settlement terms are kept here"
        }
        _ if has_exotic => {
            "CDM's qualification does not accept barrier or knock-in/out features on these \
             products; they are kept here"
        }
        _ => "terms of the confirmation that the CDM TradeState does not carry",
    };
    Some(json!({
        "schema": "deskmate.cdm-extension/1",
        "cdm_version": CDM_VERSION,
        "product_type": product,
        "reason": reason,
        "terms": Value::Object(terms),
    }))
}
