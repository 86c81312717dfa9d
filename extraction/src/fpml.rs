//! FpML confirmations: the key terms read from the XML (method `fpml`, evidence pointing at the
//! element's text in the message), the TradeState from `connectors::fpml::fpml_to_cdm`.

use roxmltree::{Document, Node};
use serde_json::Value;

use super::parse::{is_currency, number_json, parse_iso};
use super::terms::{Candidate, DAY_COUNTS};
use super::text::{Method, Sheet};

/// Whether `text` is an FpML message holding a trade.
pub fn is_fpml(text: &str) -> bool {
    let head: String = text.chars().take(4096).collect();
    head.contains("fpml") && text.contains("<trade")
        || head.contains("FpML") && text.contains("<trade")
}

/// Elements of a trade that are not its product.
const NOT_PRODUCT: &[&str] = &[
    "tradeHeader",
    "calculationAgent",
    "calculationAgentBusinessCenter",
    "documentation",
    "governingLaw",
    "otherPartyPayment",
    "brokerPartyReference",
    "collateral",
];

fn local<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.descendants()
        .find(|d| d.is_element() && d.tag_name().name() == name)
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|d| d.is_element() && d.tag_name().name() == name)
}

fn text_node<'a, 'i>(n: Node<'a, 'i>) -> Option<(Node<'a, 'i>, &'a str)> {
    let t = n.children().find(Node::is_text)?;
    let s = t.text()?.trim();
    (!s.is_empty()).then_some((t, s))
}

struct Reader<'s, 'a, 'i> {
    sheet: &'s Sheet,
    out: Vec<Candidate>,
    parties: Vec<String>,
    _doc: std::marker::PhantomData<Node<'a, 'i>>,
}

impl<'a, 'i> Reader<'_, 'a, 'i> {
    fn push(&mut self, field: &str, value: Value, node: Node<'a, 'i>) {
        let (start, end) = match text_node(node) {
            Some((t, s)) => {
                let r = t.range();
                let lead = t.text().unwrap_or("").find(s).unwrap_or(0);
                (r.start + lead, r.start + lead + s.len())
            }
            None => (node.range().start, node.range().end),
        };
        let evidence = self.sheet.evidence(
            (start, end),
            None,
            Method::Fpml,
            1.0,
            format!("<{}>", node.tag_name().name()),
        );
        self.out.push(Candidate {
            field: field.into(),
            value,
            evidence,
        });
    }

    fn text(&mut self, field: &str, node: Option<Node<'a, 'i>>) {
        if let Some(n) = node
            && let Some((_, s)) = text_node(n)
        {
            let v = Value::from(s);
            self.push(field, v, n);
        }
    }

    fn date(&mut self, field: &str, node: Option<Node<'a, 'i>>) {
        let n = node.and_then(|n| {
            if n.tag_name().name() == "unadjustedDate" || n.tag_name().name() == "adjustedDate" {
                Some(n)
            } else {
                local(n, "unadjustedDate")
                    .or_else(|| local(n, "adjustedDate"))
                    .or(Some(n))
            }
        });
        if let Some(n) = n
            && let Some((_, s)) = text_node(n)
            && parse_iso(s).is_some()
        {
            self.push(field, Value::from(s), n);
        }
    }

    fn number(&mut self, field: &str, node: Option<Node<'a, 'i>>) {
        if let Some(n) = node
            && let Some((_, s)) = text_node(n)
            && let Ok(v) = s.parse::<f64>()
        {
            self.push(field, number_json(v), n);
        }
    }

    fn party(&self, node: Option<Node>) -> Option<&'static str> {
        let href = node?.attribute("href")?;
        match self.parties.iter().position(|p| p == href) {
            Some(0) => Some("party_a"),
            Some(1) => Some("party_b"),
            _ => None,
        }
    }

    fn role(&mut self, field: &str, node: Option<Node<'a, 'i>>) {
        if let (Some(n), Some(p)) = (node, self.party(node)) {
            self.push(field, Value::from(p), n);
        }
    }

    fn money(&mut self, base: &str, node: Option<Node<'a, 'i>>) {
        let Some(n) = node else { return };
        let amount = child(n, "amount").or_else(|| child(n, "initialValue"));
        let ccy = child(n, "currency");
        self.number(&format!("{base}.amount"), amount);
        if let Some(c) = ccy
            && let Some((_, s)) = text_node(c)
            && is_currency(s)
        {
            self.push(&format!("{base}.currency"), Value::from(s), c);
        }
    }
}

/// The product family of an FpML product element.
pub fn product_type(element: &str) -> &'static str {
    match element {
        "swap" => "interest_rate_swap",
        "fra" => "fra",
        "capFloor" => "cap_floor",
        "swaption" => "swaption",
        "fxSingleLeg" => "fx_forward",
        "fxSwap" => "fx_swap",
        "fxOption" | "fxDigitalOption" => "fx_option",
        "equityOption" | "brokerEquityOption" | "equityOptionTransactionSupplement" => {
            "equity_option"
        }
        "returnSwap" | "equitySwapTransactionSupplement" => "equity_swap",
        "varianceSwap" | "varianceSwapTransactionSupplement" => "variance_swap",
        "commodityOption" => "commodity_option",
        "commoditySwap" => "commodity_swap",
        "bondOption" => "bond_option",
        "creditDefaultSwap" => "credit_default_swap",
        _ => "other",
    }
}

/// The key terms of an FpML message, each with its evidence in the XML. `Err` when the XML
/// does not parse or holds no trade.
pub fn key_terms(xml: &str, sheet: &Sheet) -> Result<Vec<Candidate>, String> {
    let doc = Document::parse(xml).map_err(|e| format!("FpML is not well-formed XML: {e}"))?;
    let trade = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "trade")
        .ok_or("no FpML trade element")?;
    let product = trade
        .children()
        .filter(Node::is_element)
        .find(|n| !NOT_PRODUCT.contains(&n.tag_name().name()))
        .ok_or("the FpML trade holds no product")?;
    let party_nodes: Vec<Node> = doc
        .root_element()
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "party")
        .collect();
    let mut r = Reader {
        sheet,
        out: Vec::new(),
        parties: party_nodes
            .iter()
            .filter_map(|p| p.attribute("id").map(str::to_owned))
            .collect(),
        _doc: std::marker::PhantomData,
    };
    let family = product_type(product.tag_name().name());
    r.push("product_type", Value::from(family), product);
    r.date(
        "trade_date",
        child(trade, "tradeHeader").and_then(|h| child(h, "tradeDate")),
    );
    for (i, p) in party_nodes.iter().take(2).enumerate() {
        let field = if i == 0 { "party_a" } else { "party_b" };
        r.text(
            field,
            child(*p, "partyName").or_else(|| child(*p, "partyId")),
        );
    }
    r.role("buyer", child(product, "buyerPartyReference"));
    r.role("seller", child(product, "sellerPartyReference"));
    if let Some(t) = child(product, "optionType")
        && let Some((_, s)) = text_node(t)
        && matches!(s, "Call" | "Put")
    {
        r.push("option_type", Value::from(s.to_lowercase()), t);
    }
    let style = [
        ("equityEuropeanExercise", "european"),
        ("europeanExercise", "european"),
        ("equityAmericanExercise", "american"),
        ("americanExercise", "american"),
        ("equityBermudaExercise", "bermudan"),
        ("bermudaExercise", "bermudan"),
    ]
    .into_iter()
    .find_map(|(e, v)| local(product, e).map(|n| (n, v)));
    if let Some((n, v)) = style {
        r.push("exercise_style", Value::from(v), n);
        r.date("expiration_date", local(n, "expirationDate"));
    } else if let Some(e) = local(product, "expiryDate") {
        r.date("expiration_date", Some(e));
    }
    if let Some(strike) = child(product, "strike") {
        if let Some(p) = child(strike, "strikePrice") {
            r.number("strike.value", Some(p));
            r.push("strike.unit", Value::from("price"), p);
        } else if let Some(p) = child(strike, "strikePercentage") {
            r.number("strike.value", Some(p));
            r.push("strike.unit", Value::from("percent"), p);
        }
        if let Some(c) = child(strike, "currency")
            && let Some((_, s)) = text_node(c)
        {
            r.push("strike.currency", Value::from(s), c);
        }
    }
    r.number("number_of_options", child(product, "numberOfOptions"));
    r.number("option_entitlement", child(product, "optionEntitlement"));
    if let Some(u) = child(product, "underlyer") {
        r.text("underlier.id", local(u, "instrumentId"));
        r.text("underlier.name", local(u, "description"));
    }
    if let Some(p) = child(product, "equityPremium").or_else(|| child(product, "premium")) {
        r.money("premium", child(p, "paymentAmount"));
        r.date("premium.payment_date", child(p, "paymentDate"));
    }
    if let Some(s) = local(product, "settlementType")
        && let Some((_, t)) = text_node(s)
    {
        let v = match t {
            "Cash" => Some("cash"),
            "Physical" => Some("physical"),
            "Election" => Some("cash_or_physical"),
            _ => None,
        };
        if let Some(v) = v {
            r.push("settlement", Value::from(v), s);
        }
    }
    if let Some(ns) = local(product, "notionalStepSchedule") {
        r.money("notional", Some(ns));
    } else if let Some(na) = child(product, "notionalAmount").or_else(|| local(product, "notional"))
    {
        r.money("notional", Some(na));
    }
    let fixed_stream = product.descendants().find(|n| {
        n.is_element()
            && n.tag_name().name() == "swapStream"
            && local(*n, "fixedRateSchedule").is_some()
    });
    if let Some(rate) = local(product, "fixedRateSchedule").and_then(|f| child(f, "initialValue")) {
        r.number("fixed_rate", Some(rate));
    } else if let Some(rate) = child(product, "fixedRate") {
        r.number("fixed_rate", Some(rate));
    }
    if let Some(idx) = local(product, "floatingRateIndex") {
        r.text("floating_rate_index", Some(idx));
        if let Some(t) = idx.parent().and_then(|p| child(p, "indexTenor")) {
            let m = child(t, "periodMultiplier")
                .and_then(text_node)
                .map(|x| x.1);
            let p = child(t, "period").and_then(text_node).map(|x| x.1);
            if let (Some(m), Some(p)) = (m, p) {
                r.push("floating_rate_tenor", Value::from(format!("{m}{p}")), t);
            }
        }
    }
    let dc_node = fixed_stream
        .and_then(|s| local(s, "dayCountFraction"))
        .or_else(|| local(product, "dayCountFraction"));
    if let Some(dc) = dc_node
        && let Some((_, s)) = text_node(dc)
        && DAY_COUNTS.contains(&s)
    {
        r.push("day_count", Value::from(s), dc);
    }
    if family != "equity_option" {
        r.date("effective_date", local(product, "effectiveDate"));
        r.date("termination_date", local(product, "terminationDate"));
    }
    if family == "credit_default_swap" {
        credit_default_swap(&mut r, product);
    }
    if let Some(fs) = fixed_stream {
        r.role("other.fixed_rate_payer", child(fs, "payerPartyReference"));
        r.role(
            "other.floating_rate_payer",
            child(fs, "receiverPartyReference"),
        );
    }
    Ok(r.out)
}

/// A credit default swap's own terms: the protection buyer and seller, the scheduled
/// termination date, the reference entity or index, the fixed rate, the calculation amount
/// (the notional) and the initial (upfront) payment with who pays it.
fn credit_default_swap<'a, 'i>(r: &mut Reader<'_, 'a, 'i>, product: Node<'a, 'i>) {
    let Some(general) = child(product, "generalTerms") else {
        return;
    };
    r.role("buyer", child(general, "buyerPartyReference"));
    r.role("seller", child(general, "sellerPartyReference"));
    r.date(
        "termination_date",
        child(general, "scheduledTerminationDate"),
    );
    if let Some(ix) = child(general, "indexReferenceInformation") {
        r.text("underlier.name", child(ix, "indexName"));
        r.text("underlier.id", child(ix, "indexId"));
    } else if let Some(e) =
        child(general, "referenceInformation").and_then(|ri| child(ri, "referenceEntity"))
    {
        r.text("underlier.name", child(e, "entityName"));
        r.text("underlier.id", child(e, "entityId"));
    }
    if let Some(fee) = child(product, "feeLeg") {
        if let Some(rate) = local(fee, "fixedAmountCalculation").and_then(|f| child(f, "fixedRate"))
        {
            r.number("fixed_rate", Some(rate));
        }
        if let Some(ip) = child(fee, "initialPayment") {
            r.money("other.initial_payment", child(ip, "paymentAmount"));
            r.role(
                "other.initial_payment.payer",
                child(ip, "payerPartyReference"),
            );
            r.date(
                "other.initial_payment.payment_date",
                child(ip, "paymentDate"),
            );
        }
    }
    if let Some(amount) =
        child(product, "protectionTerms").and_then(|p| child(p, "calculationAmount"))
    {
        r.money("notional", Some(amount));
    }
    let settled = [
        ("cashSettlementTerms", "cash"),
        ("physicalSettlementTerms", "physical"),
    ]
    .into_iter()
    .find_map(|(e, v)| child(product, e).map(|n| (n, v)));
    if let Some((n, v)) = settled {
        r.push("settlement", Value::from(v), n);
    }
}

/// Where FpML carries properties that CDM 6.30 requires and the mapping may leave out: the
/// CDM property with the name of the object that holds it, and the FpML element paths
/// (slash-separated element names, the first one anywhere in the trade) that state it. Known
/// from the FpML 5.13 schema and the CDM project's own ingestion; a property not listed is
/// reported as "not known".
const SOURCE_OF_REQUIRED: &[(&str, &str, &[&str])] = &[
    (
        "exerciseProcedure",
        "followUpConfirmation",
        &["followUpConfirmation"],
    ),
    (
        "exerciseTerms",
        "expirationTimeType",
        &["equityExpirationTimeType", "expirationTimeType"],
    ),
    (
        "calculationPeriodFrequency",
        "rollConvention",
        &[
            "calculationPeriodFrequency/rollConvention",
            "calculationPeriodsSchedule/rollConvention",
        ],
    ),
    (
        "parametricDates",
        "businessCenters",
        &[
            "pricingDates/businessCalendar",
            "pricingDates/businessCenters",
        ],
    ),
    ("Commodity", "priceQuoteType", &["specifiedPrice"]),
    (
        "dividendPeriod",
        "dateAdjustments",
        &["dividendPeriod/dateAdjustments"],
    ),
];

/// Whether the FpML message `xml` carries the CDM property at `pointer` (a JSON pointer into
/// the TradeState) that the mapped TradeState lacks, and the element(s) looked for. Decided by
/// element names in the trade ([`SOURCE_OF_REQUIRED`]), not by a full mapping: "yes" means an
/// element that states the property is present in the trade.
pub fn source_carries(xml: &str, pointer: &str) -> (crate::cdm::InSource, Option<String>) {
    use crate::cdm::InSource;
    let mut segments = pointer
        .rsplit('/')
        .filter(|s| !s.is_empty() && s.parse::<usize>().is_err());
    let (Some(property), Some(parent)) = (segments.next(), segments.next()) else {
        return (InSource::NotKnown, None);
    };
    let Some((_, _, paths)) = SOURCE_OF_REQUIRED
        .iter()
        .find(|(p, name, _)| *p == parent && *name == property)
    else {
        return (InSource::NotKnown, None);
    };
    let looked_for = paths.join(" or ");
    let Ok(doc) = Document::parse(xml) else {
        return (InSource::NotKnown, Some(looked_for));
    };
    let Some(trade) = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "trade")
    else {
        return (InSource::NotKnown, Some(looked_for));
    };
    let present = paths.iter().any(|path| {
        let mut names = path.split('/');
        let first = names.next().unwrap_or_default();
        let rest: Vec<&str> = names.collect();
        trade
            .descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == first)
            .any(|n| rest.iter().try_fold(n, |n, name| child(n, name)).is_some())
    });
    (
        if present { InSource::Yes } else { InSource::No },
        Some(looked_for),
    )
}
