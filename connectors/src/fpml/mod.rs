//! Deterministic FpML 5.x confirmation → CDM TradeState (legacy 6.x JSON layout).
//!
//! [`fpml_to_cdm`] parses the message with `roxmltree`, maps the trade header (identifiers,
//! trade date, parties, counterparty roles, calculation agent, documentation, premium) and the
//! product element (`swap`, `fra`, `capFloor`, `swaption`, `fxSingleLeg`, `fxSwap`,
//! `fxOption`, `equityOption`, `brokerEquityOption`, `equityOptionTransactionSupplement`,
//! `returnSwap`, `creditDefaultSwap`, `creditDefaultSwapOption`, `commodityOption`,
//! `bondOption`), and returns the TradeState plus the [`Problem`]s met on the way (elements it
//! could not place). Sub-structures whose names FpML and CDM share are copied under the guidance
//! of the CDM JSON Schema (see `copy.rs`); the rest is written per FpML product element, never
//! per sample file.
//!
//! Conventions of the CDM project's own ingestion that we follow:
//! - `Party1` is the first party the product element references (buyer, payer, or first
//!   exchanged-currency payer), `Party2` the other one;
//! - prices, quantities and observables live in `trade.tradeLot[0].priceQuantity` and payouts
//!   point at them by document-scoped addresses (`quantity-1`, `price-1`, `observable-1`,
//!   `InterestRateIndex-1`), numbered in the order the payouts reference them, then in trade-lot
//!   order for the unreferenced ones;
//! - the premium becomes a `transferHistory` entry.
//!
//! [`compare`] flattens two CDM documents into scalar facts and scores one against the other.

pub mod compare;
mod copy;
mod credit;
mod equity;
mod fx;
mod rates;

use std::collections::HashMap;

use roxmltree::{Document, Node};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::cdm::CdmSchemas;
use copy::{Copier, LocalName, number, scheme_of, text};

/// Why an FpML document could not be mapped at all.
#[derive(Debug, thiserror::Error)]
pub enum FpmlError {
    /// Not well-formed XML (the sender's fault).
    #[error("FpML is not well-formed XML: {0}")]
    Xml(String),
    /// No `trade` element (not a confirmation message, or not FpML).
    #[error("no FpML trade element found")]
    NoTrade,
    /// A product element we do not map (the sender's, or our coverage's, limit).
    #[error("unsupported FpML product element <{0}>")]
    UnsupportedProduct(String),
}

/// Something the mapper could not place, with the FpML element path it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where: the slash-separated FpML element path from the trade element
    /// (`swap/swapStream/stubCalculationPeriodAmount`), or, for values dropped after schema
    /// validation, the JSON pointer into the TradeState (`/trade/...`).
    pub path: String,
    /// What happened.
    pub message: String,
}

/// Maps an FpML 5.x confirmation (any message holding a `trade`) to a CDM TradeState in the
/// legacy layout. The schemas guide the copying of shared sub-structures.
pub fn fpml_to_cdm(xml: &str, schemas: &CdmSchemas) -> Result<(Value, Vec<Problem>), FpmlError> {
    let doc = Document::parse(xml).map_err(|e| FpmlError::Xml(e.to_string()))?;
    let trade = doc
        .descendants()
        .find(|n| n.has_tag_name_local("trade"))
        .ok_or(FpmlError::NoTrade)?;
    let header = child(trade, "tradeHeader");
    let product = trade
        .children()
        .filter(Node::is_element)
        .find(|n| {
            !matches!(
                n.tag_name().name(),
                "tradeHeader"
                    | "calculationAgent"
                    | "calculationAgentBusinessCenter"
                    | "documentation"
                    | "governingLaw"
                    | "otherPartyPayment"
                    | "brokerPartyReference"
                    | "collateral"
            )
        })
        .ok_or(FpmlError::NoTrade)?;
    let parties: Vec<Node> = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name_local("party"))
        .collect();
    let mut ctx = Ctx::new(schemas, product, &parties);
    let mapped = match product.tag_name().name() {
        "swap" => rates::swap(&mut ctx, product),
        "fra" => rates::fra(&mut ctx, product),
        "capFloor" => rates::cap_floor(&mut ctx, product),
        "swaption" => rates::swaption(&mut ctx, product),
        "fxSingleLeg" => fx::single_leg(&mut ctx, product),
        "fxSwap" => fx::swap(&mut ctx, product),
        "fxOption" => fx::option(&mut ctx, product),
        "equityOption" | "brokerEquityOption" | "equityOptionTransactionSupplement" => {
            equity::option(&mut ctx, product)
        }
        "returnSwap" | "equitySwapTransactionSupplement" => equity::return_swap(&mut ctx, product),
        "commodityOption" => equity::commodity_option(&mut ctx, product),
        "commoditySwap" => equity::commodity_swap(&mut ctx, product),
        "bondOption" => equity::bond_option(&mut ctx, product),
        "creditDefaultSwap" => credit::cds(&mut ctx, product),
        "creditDefaultSwapOption" => credit::cds_option(&mut ctx, product),
        other => return Err(FpmlError::UnsupportedProduct(other.to_owned())),
    };
    let mut trade_json = Map::new();
    let mut product_json = Map::new();
    let mut taxonomy = Vec::new();
    if let Some(c) = child(product, "primaryAssetClass") {
        let mut v = json!({ "value": text(c) });
        if let Some(s) = scheme_of(c) {
            v["meta"] = json!({ "scheme": s });
        }
        taxonomy.push(json!({ "primaryAssetClass": v }));
    }
    if let Some(pt) = child(product, "productType") {
        let mut name = json!({ "value": text(pt) });
        if let Some(s) = scheme_of(pt) {
            name["meta"] = json!({ "scheme": s });
        }
        taxonomy.push(json!({ "source": "Other", "value": { "name": name } }));
    }
    if let Some(q) = mapped.qualifier {
        taxonomy.push(json!({ "source": "ISDA", "productQualifier": q }));
    }
    if !taxonomy.is_empty() {
        product_json.insert("taxonomy".into(), Value::Array(taxonomy));
    }
    let product_ids: Vec<Value> = children(product, "productId")
        .map(|id| json!({ "identifier": field(id), "source": "Other" }))
        .collect();
    if !product_ids.is_empty() {
        product_json.insert("identifier".into(), Value::Array(product_ids));
    }
    product_json.insert("economicTerms".into(), mapped.economic_terms);
    trade_json.insert("product".into(), Value::Object(product_json));
    if !ctx.lots.is_empty() {
        trade_json.insert(
            "tradeLot".into(),
            json!([{ "priceQuantity": std::mem::take(&mut ctx.lots) }]),
        );
    }
    trade_json.insert("counterparty".into(), ctx.counterparties());
    let ancillary = ancillary_parties(trade, product);
    if !ancillary.is_empty() {
        trade_json.insert("ancillaryParty".into(), Value::Array(ancillary));
    }
    if let Some(h) = header {
        let ids = trade_identifiers(h);
        if !ids.is_empty() {
            trade_json.insert("tradeIdentifier".into(), Value::Array(ids));
        }
        if let Some(d) = child(h, "tradeDate") {
            let mut td = json!({ "value": text(d) });
            if let Some(id) = d.attribute("id") {
                td["meta"] = json!({ "externalKey": id });
            }
            trade_json.insert("tradeDate".into(), td);
        }
    }
    trade_json.insert(
        "party".into(),
        Value::Array(parties.iter().map(|p| party(*p)).collect()),
    );
    let mut details = Map::new();
    if let Some(d) = child(trade, "documentation") {
        let docs = documentation(&mut ctx, d);
        if !docs.is_empty() {
            details.insert("documentation".into(), Value::Array(docs));
        }
    }
    if let Some(law) = child(trade, "governingLaw") {
        let mut v = json!({ "value": text(law) });
        if let Some(s) = scheme_of(law) {
            v["meta"] = json!({ "scheme": s });
        }
        details.insert("governingLaw".into(), v);
    }
    if !details.is_empty() {
        trade_json.insert("contractDetails".into(), Value::Object(details));
    }
    for (k, v) in std::mem::take(&mut ctx.trade_extra) {
        trade_json.insert(k, v);
    }
    let mut state = Map::new();
    state.insert("trade".into(), Value::Object(trade_json));
    let transfers: Vec<Value> = mapped
        .premiums
        .iter()
        .map(|p| premium_transfer(&ctx, *p))
        .collect();
    if !transfers.is_empty() {
        state.insert("transferHistory".into(), Value::Array(transfers));
    }
    let mut state = Value::Object(state);
    number_addresses(&mut state);
    drop_invalid_enums(&mut state, schemas, &mut ctx.problems);
    Ok((state, ctx.problems))
}

/// What a product mapper returns.
pub(crate) struct Mapped<'a, 'i> {
    qualifier: Option<&'static str>,
    economic_terms: Value,
    premiums: Vec<Node<'a, 'i>>,
}

/// The state of one mapping: party roles, the trade lot being filled, problems met.
pub(crate) struct Ctx<'s> {
    copier: Copier<'s>,
    party1: String,
    party2: String,
    lots: Vec<Value>,
    problems: Vec<Problem>,
    next_key: usize,
    /// Trade-level properties a product mapper sets (`adjustment`).
    trade_extra: Map<String, Value>,
}

impl<'s> Ctx<'s> {
    fn new(schemas: &'s CdmSchemas, product: Node, parties: &[Node]) -> Ctx<'s> {
        let mut refs: Vec<String> = Vec::new();
        // The CDM project numbers the parties from the payer of its first payout: a CDS's
        // protection leg (the protection seller; 41 of its 41 CDS samples), a commodity swap's
        // first floating leg. Other products: by the first party reference in the product.
        let first_payer = match product.tag_name().name() {
            "creditDefaultSwap" => at(product, "generalTerms/sellerPartyReference"),
            "commoditySwap" => at(product, "floatingLeg/payerPartyReference"),
            _ => None,
        };
        if let Some(h) = first_payer.and_then(|n| n.attribute("href")) {
            refs.push(h.to_owned());
        }
        for n in product.descendants().filter(Node::is_element) {
            let name = n.tag_name().name();
            if matches!(
                name,
                "buyerPartyReference"
                    | "sellerPartyReference"
                    | "payerPartyReference"
                    | "receiverPartyReference"
            ) && let Some(h) = n.attribute("href")
                && !refs.iter().any(|r| r == h)
            {
                refs.push(h.to_owned());
            }
        }
        for p in parties {
            if let Some(id) = p.attribute("id")
                && refs.len() < 2
                && !refs.iter().any(|r| r == id)
            {
                refs.push(id.to_owned());
            }
        }
        let party1 = refs.first().cloned().unwrap_or_default();
        let party2 = refs.get(1).cloned().unwrap_or_default();
        Ctx {
            copier: Copier {
                schemas,
                parties: [party1.clone(), party2.clone()],
            },
            party1,
            party2,
            lots: Vec::new(),
            problems: Vec::new(),
            next_key: 0,
            trade_extra: Map::new(),
        }
    }

    /// `Party1` or `Party2` for an FpML party id.
    fn role(&self, href: &str) -> &'static str {
        if href == self.party1 {
            "Party1"
        } else {
            "Party2"
        }
    }

    /// The counterparty role of the party an element's `href` points at.
    fn role_of(&self, node: Option<Node>) -> Value {
        match node.and_then(|n| n.attribute("href")) {
            Some(h) => Value::String(self.role(h).to_owned()),
            None => Value::Null,
        }
    }

    fn counterparties(&self) -> Value {
        json!([
            { "role": "Party1", "partyReference": { "externalReference": self.party1 } },
            { "role": "Party2", "partyReference": { "externalReference": self.party2 } },
        ])
    }

    /// A fresh placeholder key for an address of `kind` (numbered at the end).
    fn key(&mut self, kind: &str) -> String {
        self.next_key += 1;
        format!("@@{kind}#{}", self.next_key)
    }

    fn problem(&mut self, node: Node, message: impl Into<String>) {
        self.problems.push(Problem {
            path: element_path(node),
            message: message.into(),
        });
    }

    fn copy(&self, node: Node, ty: &str) -> Value {
        self.copier.object(node, ty)
    }
}

/// `{"address": {"scope": "DOCUMENT", "value": key}}`.
fn address(key: &str) -> Value {
    json!({ "address": { "scope": "DOCUMENT", "value": key } })
}

/// `{"value": v, "meta": {"location": [{"scope": "DOCUMENT", "value": key}]}}`.
fn located(v: Value, key: &str) -> Value {
    json!({ "value": v, "meta": { "location": [ { "scope": "DOCUMENT", "value": key } ] } })
}

/// A currency as a CDM `FieldWithMetaString`, with its scheme when FpML gives one.
fn currency(node: Node) -> Value {
    let mut v = json!({ "value": text(node) });
    if let Some(s) = scheme_of(node) {
        v["meta"] = json!({ "scheme": s });
    }
    v
}

/// An FpML money-like element (`currency` + `amount`) as a CDM quantity value.
fn money(node: Node) -> Option<Value> {
    let ccy = child(node, "currency")?;
    let amount = child(node, "amount").or_else(|| child(node, "initialValue"))?;
    Some(json!({ "value": number(text(amount)), "unit": { "currency": currency(ccy) } }))
}

/// Cash as an asset: `{"Cash": {"identifier": [{"identifier": {"value": "USD"}, "identifierType": "CurrencyCode"}]}}`.
fn cash_asset(ccy: &str) -> Value {
    json!({ "Cash": { "identifier": [ { "identifier": { "value": ccy }, "identifierType": "CurrencyCode" } ] } })
}

pub(crate) fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name_local(name))
}

pub(crate) fn children<'a, 'i>(
    node: Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| c.has_tag_name_local(name))
}

/// The element at a slash-separated path of child names.
pub(crate) fn at<'a, 'i>(node: Node<'a, 'i>, path: &str) -> Option<Node<'a, 'i>> {
    path.split('/').try_fold(node, |n, name| child(n, name))
}

/// The trimmed text at a path.
pub(crate) fn text_at<'a>(node: Node<'a, '_>, path: &str) -> Option<&'a str> {
    at(node, path).map(text).filter(|t| !t.is_empty())
}

fn element_path(node: Node) -> String {
    let mut names: Vec<&str> = node
        .ancestors()
        .filter(Node::is_element)
        .take_while(|n| !n.has_tag_name_local("trade"))
        .map(|n| n.tag_name().name())
        .collect();
    names.reverse();
    names.join("/")
}

fn party(p: Node) -> Value {
    let mut out = Map::new();
    let ids: Vec<Value> = children(p, "partyId")
        .map(|id| {
            let mut ident = json!({ "value": text(id) });
            let scheme = scheme_of(id);
            if let Some(s) = scheme {
                ident["meta"] = json!({ "scheme": s });
            }
            let mut v = json!({ "identifier": ident });
            if scheme.is_some_and(|s| s.contains("iso17442")) {
                v["identifierType"] = json!("LEI");
            }
            v
        })
        .collect();
    if !ids.is_empty() {
        out.insert("partyId".into(), Value::Array(ids));
    }
    if let Some(n) = child(p, "partyName") {
        out.insert("name".into(), json!({ "value": text(n) }));
    }
    if let Some(c) = child(p, "country") {
        out.insert(
            "contactInformation".into(),
            json!({ "address": [ { "country": { "value": text(c) } } ] }),
        );
    }
    if let Some(id) = p.attribute("id") {
        out.insert("meta".into(), json!({ "externalKey": id }));
    }
    Value::Object(out)
}

fn trade_identifiers(header: Node) -> Vec<Value> {
    children(header, "partyTradeIdentifier")
        .map(|pti| {
            let mut v = Map::new();
            if let Some(h) = child(pti, "partyReference").and_then(|r| r.attribute("href")) {
                v.insert("issuerReference".into(), json!({ "externalReference": h }));
            } else if let Some(i) = child(pti, "issuer") {
                v.insert("issuer".into(), field(i));
            }
            // A USI or UTI (`…/unique-transaction-identifier` scheme) says so.
            if pti
                .descendants()
                .filter(|n| n.has_tag_name_local("tradeId"))
                .filter_map(scheme_of)
                .any(|s| s.ends_with("unique-transaction-identifier"))
            {
                v.insert(
                    "identifierType".into(),
                    json!("UniqueTransactionIdentifier"),
                );
            }
            let ids: Vec<Value> = pti
                .descendants()
                .filter(|n| n.has_tag_name_local("tradeId"))
                .map(|id| {
                    let mut ident = json!({ "value": text(id) });
                    if let Some(s) = scheme_of(id) {
                        ident["meta"] = json!({ "scheme": s });
                    }
                    json!({ "identifier": ident })
                })
                .collect();
            v.insert("assignedIdentifier".into(), Value::Array(ids));
            Value::Object(v)
        })
        .collect()
}

/// The calculation agent the trade names (FpML puts it beside the product): an agent party
/// reference is the independent calculation agent role, as the CDM project maps it.
pub(crate) fn calculation_agent(product: Node) -> Option<Value> {
    let trade = product.parent_element()?;
    let mut agent = Map::new();
    if child(trade, "calculationAgent").is_some() {
        agent.insert(
            "calculationAgentParty".into(),
            json!("CalculationAgentIndependent"),
        );
    }
    if let Some(c) = child(trade, "calculationAgentBusinessCenter") {
        agent.insert("calculationAgentBusinessCenter".into(), field(c));
    }
    (!agent.is_empty()).then_some(Value::Object(agent))
}

/// A `FieldWithMeta…` value: the element's text, with its FpML `…Scheme` as `meta.scheme`.
pub(crate) fn field(node: Node) -> Value {
    let mut v = json!({ "value": text(node) });
    if let Some(s) = scheme_of(node) {
        v["meta"] = json!({ "scheme": s });
    }
    v
}

/// Calculation agents named in the trade or inside the product.
fn ancillary_parties(trade: Node, product: Node) -> Vec<Value> {
    let mut out = Vec::new();
    for agent in trade
        .children()
        .chain(product.children())
        .filter(|n| n.has_tag_name_local("calculationAgent"))
    {
        let refs: Vec<Value> = children(agent, "calculationAgentPartyReference")
            .filter_map(|r| r.attribute("href"))
            .map(|h| json!({ "externalReference": h }))
            .collect();
        if !refs.is_empty() {
            out.push(json!({ "role": "CalculationAgentIndependent", "partyReference": refs }));
        }
    }
    out
}

fn documentation(ctx: &mut Ctx, d: Node) -> Vec<Value> {
    let parties = json!([
        { "externalReference": ctx.party1 },
        { "externalReference": ctx.party2 },
    ]);
    let mut out = Vec::new();
    if let Some(ma) = child(d, "masterAgreement") {
        let mut name = json!({ "agreementType": "MasterAgreement" });
        if let Some(t) = child(ma, "masterAgreementType") {
            match copy::enum_value(
                ctx.copier.schemas,
                "cdm-legaldocumentation-master-MasterAgreementTypeEnum",
                text(t),
            ) {
                Some(value) => {
                    let mut mt = json!({ "value": value });
                    if let Some(s) = scheme_of(t) {
                        mt["meta"] = json!({ "scheme": s });
                    }
                    name["masterAgreementType"] = mt;
                }
                None => ctx.problem(t, format!("no CDM master agreement type for {}", text(t))),
            }
        }
        let mut id = json!({ "agreementName": name });
        if let Some(v) = text_at(ma, "masterAgreementVersion") {
            id["vintage"] = number(v);
        }
        let mut doc = json!({
            "legalAgreementIdentification": id,
            "contractualParty": parties.clone(),
        });
        if let Some(date) = text_at(ma, "masterAgreementDate") {
            doc["agreementDate"] = json!(date);
        }
        out.push(doc);
    }
    if let Some(mc) = child(d, "masterConfirmation") {
        let mut name = json!({ "agreementType": "MasterConfirmation" });
        if let Some(t) = child(mc, "masterConfirmationType") {
            name["masterConfirmationType"] = json!({ "value": text(t) });
        }
        let mut doc = json!({
            "legalAgreementIdentification": { "agreementName": name },
            "contractualParty": parties.clone(),
        });
        if let Some(date) = text_at(mc, "masterConfirmationDate") {
            doc["agreementDate"] = json!(date);
        }
        out.push(doc);
    }
    let mut defs: Vec<Value> = Vec::new();
    for c in children(d, "contractualDefinitions") {
        match copy::enum_value(
            ctx.copier.schemas,
            "cdm-legaldocumentation-common-ContractualDefinitionsEnum",
            text(c),
        ) {
            Some(v) => defs.push(json!({ "value": v })),
            None => ctx.problem(c, format!("no CDM contractual definitions for {}", text(c))),
        }
    }
    let matrices: Vec<Value> = children(d, "contractualMatrix")
        .filter_map(|m| {
            let t = child(m, "matrixType")?;
            let mut v = json!({ "matrixType": { "value": text(t) } });
            if let Some(s) = scheme_of(t) {
                v["matrixType"]["meta"] = json!({ "scheme": s });
            }
            if let Some(term) = child(m, "matrixTerm") {
                v["matrixTerm"] = json!({ "value": text(term) });
                if let Some(s) = scheme_of(term) {
                    v["matrixTerm"]["meta"] = json!({ "scheme": s });
                }
            }
            Some(v)
        })
        .collect();
    let supplements: Vec<Value> = children(d, "contractualTermsSupplement")
        .filter_map(|c| {
            let t = child(c, "type")?;
            match copy::enum_value(
                ctx.copier.schemas,
                "cdm-legaldocumentation-common-ContractualSupplementTypeEnum",
                text(t),
            ) {
                Some(v) => {
                    let mut v = json!({ "contractualTermsSupplementType": { "value": v } });
                    if let Some(date) = text_at(c, "publicationDate") {
                        v["publicationDate"] = json!(date);
                    }
                    Some(v)
                }
                None => {
                    ctx.problem(t, format!("no CDM contractual supplement for {}", text(t)));
                    None
                }
            }
        })
        .collect();
    if !defs.is_empty() || !matrices.is_empty() || !supplements.is_empty() {
        let mut name = json!({ "agreementType": "Confirmation" });
        if !defs.is_empty() {
            name["contractualDefinitionsType"] = Value::Array(defs);
        }
        if !supplements.is_empty() {
            name["contractualTermsSupplement"] = Value::Array(supplements);
        }
        if !matrices.is_empty() {
            name["contractualMatrix"] = Value::Array(matrices);
        }
        out.push(json!({
            "legalAgreementIdentification": { "agreementName": name },
            "contractualParty": parties,
        }));
    }
    out
}

/// A premium, additional or initial payment (payer, receiver, paymentAmount, paymentDate) as a
/// transfer.
fn premium_transfer(ctx: &Ctx, p: Node) -> Value {
    let mut transfer = Map::new();
    if let Some(amount) = child(p, "paymentAmount").and_then(money) {
        let ccy = amount["unit"]["currency"]["value"].clone();
        transfer.insert("quantity".into(), amount);
        transfer.insert("asset".into(), cash_asset(ccy.as_str().unwrap_or_default()));
    }
    if let Some(date) = child(p, "paymentDate") {
        let adjustable = child(date, "adjustableDate").unwrap_or(date);
        let v = ctx.copy(
            adjustable,
            "cdm-base-datetime-AdjustableOrAdjustedOrRelativeDate",
        );
        transfer.insert("settlementDate".into(), v);
    }
    let mut pr = Map::new();
    for (fpml, cdm) in [
        ("payerPartyReference", "payerPartyReference"),
        ("receiverPartyReference", "receiverPartyReference"),
    ] {
        if let Some(h) = child(p, fpml).and_then(|n| n.attribute("href")) {
            pr.insert(cdm.into(), json!({ "externalReference": h }));
        }
    }
    transfer.insert("payerReceiver".into(), Value::Object(pr));
    // An option premium is a premium; a swap's additional payment or a CDS's initial payment
    // is an upfront fee.
    let kind = if matches!(p.tag_name().name(), "additionalPayment" | "initialPayment") {
        "Upfront"
    } else {
        "Premium"
    };
    transfer.insert(
        "transferExpression".into(),
        json!({ "priceTransfer": kind }),
    );
    json!({ "transfer": transfer })
}

/// FpML code lists are wider than CDM enums (`ISDA1998FX`, `Midpoint`…): a coded value the
/// CDM enum lacks is removed (with its `FieldWithMeta` wrapper) and recorded as a problem, so
/// the output never carries an invalid enum. Other violations (newer required properties) are
/// left for the caller's own validation.
fn drop_invalid_enums(state: &mut Value, schemas: &CdmSchemas, problems: &mut Vec<Problem>) {
    let Ok(violations) = schemas.validate_trade_state(state) else {
        return;
    };
    let mut paths: Vec<String> = violations
        .into_iter()
        .filter(|v| v.schema_path.ends_with("/enum"))
        .map(|v| v.path)
        .collect();
    paths.sort();
    paths.dedup();
    // Deepest first, and array elements from the back, so earlier removals keep later
    // pointers valid.
    paths.reverse();
    for path in paths {
        let Some((mut parent, mut key)) = path
            .rsplit_once('/')
            .map(|(p, k)| (p.to_owned(), k.to_owned()))
        else {
            continue;
        };
        let bad = state.pointer(&path).cloned().unwrap_or(Value::Null);
        if key == "value"
            && let Some((pp, pk)) = parent.rsplit_once('/')
        {
            key = pk.to_owned();
            parent = pp.to_owned();
        }
        match state.pointer_mut(&parent) {
            Some(Value::Object(o)) => {
                o.remove(&key);
            }
            Some(Value::Array(a)) => {
                if let Ok(i) = key.parse::<usize>()
                    && i < a.len()
                {
                    a.remove(i);
                }
            }
            _ => continue,
        }
        problems.push(Problem {
            path,
            message: format!("{bad} is not a value of the CDM enum there; dropped"),
        });
    }
}

/// Replaces the `@@kind#n` placeholders with `kind-1`, `kind-2`… per kind, numbered in the
/// order they first appear in the document (product before trade lot).
fn number_addresses(doc: &mut Value) {
    fn collect(v: &Value, order: &mut Vec<String>) {
        match v {
            Value::String(s) if s.starts_with("@@") && !order.contains(s) => {
                order.push(s.clone());
            }
            Value::Array(a) => a.iter().for_each(|x| collect(x, order)),
            Value::Object(o) => o.values().for_each(|x| collect(x, order)),
            _ => {}
        }
    }
    fn replace(v: &mut Value, map: &HashMap<String, String>) {
        match v {
            Value::String(s) => {
                if let Some(r) = map.get(s.as_str()) {
                    *s = r.clone();
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| replace(x, map)),
            Value::Object(o) => o.values_mut().for_each(|x| replace(x, map)),
            _ => {}
        }
    }
    let mut order = Vec::new();
    collect(&doc["trade"]["product"], &mut order);
    collect(&doc["trade"], &mut order);
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut map = HashMap::new();
    for key in order {
        let kind = key[2..].split('#').next().unwrap_or("").to_owned();
        let n = counts.entry(kind.clone()).or_insert(0);
        *n += 1;
        map.insert(key, format!("{kind}-{n}"));
    }
    replace(doc, &map);
}
