//! A CDM `ReportableEvent` (or a bare `TradeState` with the reporting facts given beside it)
//! read into [`Trade`]: the facts every regime's rules draw on, each read from one place in the
//! document, references (`globalReference`, document `address`es) resolved.
//!
//! The reader is strict about shape and lenient about absence: a value of the wrong JSON type
//! where a value is expected is an error naming its JSON path ([`TradeError::Shape`]); a value
//! that is simply not there is `None`, and the regimes' rules decide whether they needed it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a document could not be read as a trade.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TradeError {
    /// The document is not the shape of a CDM ReportableEvent or TradeState at `path`.
    #[error("{path}: {reason}")]
    Shape {
        /// JSON path of the offending value (`$.trade`), or the given fact (`facts.ccp_lei`).
        path: String,
        /// What is wrong there.
        reason: String,
    },
    /// A reference points at nothing in the document.
    #[error("{path}: reference {reference:?} points at nothing in the document")]
    Dangling {
        /// JSON path of the reference.
        path: String,
        /// The reference's JSON text as the document gives it.
        reference: String,
    },
    /// No payout this reader knows (option, interest rate, performance, forward/settlement,
    /// credit default, commodity) is in the product.
    #[error("{path}: the product has no payout the reporting rules cover (found: {found})")]
    UnknownProduct {
        /// JSON path of the payout (`….economicTerms.payout`).
        path: String,
        /// The payout types found, comma-separated (`nothing` when there were none).
        found: String,
    },
}

/// One party of the trade.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Party {
    /// The party's `meta.globalKey`, what references point at.
    pub key: String,
    /// Its `meta.externalKey` (`party1`), the other way references point at it.
    pub external: Option<String>,
    /// The party's LEI (ISO 17442), when a `partyId` is typed `LEI` or has an iso17442 scheme.
    pub lei: Option<String>,
    /// The party's `name`; else, when the party has an LEI, its first `partyId` if not that.
    pub name: Option<String>,
    /// Country of the party's first `contactInformation` address, as the document writes it.
    pub country: Option<String>,
}

/// A party's facts under one reporting regime (`reportableInformation.partyInformation[].
/// regimeInformation[]`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RegimeFacts {
    /// Supervisory body (`ESMA`, `CFTC`, `CA.AB.ASC`, …).
    pub body: String,
    /// Regime name where given (`EMIR`, `UKEMIR`, …).
    #[serde(default)]
    pub name: Option<String>,
    /// `ReportingParty`, `VoluntaryParty`, `NonReportingParty`.
    #[serde(default)]
    pub role: Option<String>,
    /// `Financial`, `NonFinancial`, `CentralCounterparty`, `Other`.
    #[serde(default)]
    pub nature: Option<String>,
    /// Corporate sector codes (`AIFD`, `UCIT`, `CDTI`, …).
    #[serde(default)]
    pub sectors: Vec<String>,
    /// Whether the party exceeds the clearing threshold (`exceedsClearingThreshold`).
    #[serde(default)]
    pub exceeds_clearing_threshold: Option<bool>,
    /// `mandatorilyClearable` (`ProductMandatory`, `ProductMandatoryButNotCpty`, …).
    #[serde(default)]
    pub mandatorily_clearable: Option<String>,
    /// The party's own technical record id for this report (`technicalRecordId`).
    #[serde(default)]
    pub technical_record_id: Option<String>,
}

/// What the reporting side knows of one party.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PartyReporting {
    /// Index into [`Trade::parties`].
    pub party: usize,
    /// The party's facts under each regime it is reported under.
    pub regimes: Vec<RegimeFacts>,
    /// Related parties by role (`ArrangingBroker`, `ClearingOrganization`, `Beneficiary`, …),
    /// each an index into [`Trade::parties`].
    pub related: Vec<(String, usize)>,
}

/// Reporting facts beside the trade.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Reporting {
    /// Counterparty 1: the reporting party.
    pub reporting_party: Option<usize>,
    /// Counterparty 2.
    pub counterparty: Option<usize>,
    /// The entity that submits the report where it is not counterparty 1.
    pub submitting_party: Option<usize>,
    /// Per-party facts (`reportableInformation.partyInformation[]`, then the given facts).
    pub parties: Vec<PartyReporting>,
    /// `Electronic`, `NonElectronic`, `NotConfirmed`.
    pub confirmation_method: Option<String>,
    /// `SEF`, `DCM`, `OffFacility`, `Platform`.
    pub venue_type: Option<String>,
    /// Whether the trade is between two entities of the same group.
    pub intragroup: Option<bool>,
    /// Whether the trade is a large-size (block) trade (`largeSizeTrade`).
    pub large_size_trade: Option<bool>,
    /// `originalExecutionTimestamp` (ISO 8601); reported before [`Trade::execution_timestamp`].
    pub original_execution_timestamp: Option<String>,
}

/// Who pays one leg, as indexes into [`Trade::parties`].
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PayerReceiver {
    /// The paying party, an index into [`Trade::parties`].
    pub payer: Option<usize>,
    /// The receiving party, an index into [`Trade::parties`].
    pub receiver: Option<usize>,
}

/// A quantity with its unit.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Quantity {
    /// The amount, where a single value is given.
    pub value: Option<f64>,
    /// ISO 4217 currency where the unit is money.
    pub currency: Option<String>,
    /// `Contract`, `Share`, `IndexUnit`, a capacity unit (`USGAL`, `BBL`), a weight unit.
    pub unit: Option<String>,
    /// A schedule (`datedValue`) rather than one value.
    pub schedule: Vec<f64>,
    /// The unit of the multiplier (a contract of 1 `Share`).
    pub multiplier_unit: Option<String>,
}

/// A price with its unit.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Price {
    /// The price's number (a rate as a decimal: 0.0253 = 2.53 %).
    pub value: f64,
    /// ISO 4217 currency the price is in, where it is money.
    pub currency: Option<String>,
    /// The currency priced per, for an exchange rate (`perUnitOf.currency`).
    pub per_currency: Option<String>,
    /// The financial, capacity or weather unit priced per (`Share`, `BBL`).
    pub per_unit: Option<String>,
    /// `AssetPrice`, `ExchangeRate`, `InterestRate`, …
    pub price_type: Option<String>,
}

/// An underlier's identifiers.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Underlier {
    /// `Index`, `Equity`, `Basket`, `Commodity`, `Currency`, `Rate`, `Loan`, `Bond`.
    pub kind: String,
    /// (source, identifier): `("ISIN", "CH…")`, `("Other", ".SSMI")`, `("Name", "…")`,
    /// `("ISDACRP", "HEATING OIL - …")`.
    pub ids: Vec<(String, String)>,
    /// A basket's constituents.
    pub constituents: Vec<Underlier>,
    /// A rate underlier's floating rate index (`USD-LIBOR-BBA`).
    pub rate_index: Option<String>,
    /// The rate index's tenor as (multiplier, period unit): `(3, "M")`.
    pub rate_tenor: Option<(i64, String)>,
}

/// A period (`3M`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Period {
    /// Number of units (`3` of `3M`).
    pub multiplier: i64,
    /// The period unit as CDM writes it (`D`, `W`, `M`, `Y`).
    pub unit: String,
}

/// One payout of the product.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum Payout {
    /// An option (`optionPayout`), boxed: it is much larger than the other payouts.
    Option(Box<OptionPayout>),
    /// One fixed or floating interest-rate leg (`interestRatePayout`).
    InterestRate(RateLeg),
    /// An equity or total-return performance leg (`performancePayout`).
    Performance(PerformanceLeg),
    /// An FX forward or other settlement of two exchanged currencies.
    Forward(ForwardLeg),
    /// A credit default payout (`creditDefaultPayout`).
    Credit(CreditLeg),
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
/// An option payout: who buys and sells, exercise terms, strike, settlement and underlier.
pub struct OptionPayout {
    /// The option buyer (`buyerSeller.buyer`), an index into [`Trade::parties`].
    pub buyer: Option<usize>,
    /// The option seller (`buyerSeller.seller`), an index into [`Trade::parties`].
    pub seller: Option<usize>,
    /// The payout's own `payerReceiver`, as party indexes.
    pub flow: PayerReceiver,
    /// `Call`, `Put`, `Payer`, `Receiver`, `Straddle`; `None` for an FX option (it is a call
    /// on one currency and a put on the other).
    pub option_type: Option<String>,
    /// `European`, `American`, `Bermuda`.
    pub style: Option<String>,
    /// Expiration date (the first `expirationDate`), as the document writes it.
    pub expiration: Option<String>,
    /// American: the first day it may be exercised.
    pub earliest_exercise: Option<String>,
    /// Strike price (`strikePrice`), from the exercise terms or the payout.
    pub strike: Option<Price>,
    /// `Cash`, `Physical`, `Election`.
    pub settlement_type: Option<String>,
    /// ISO 4217 settlement currency (`settlementTerms.settlementCurrency`).
    pub settlement_currency: Option<String>,
    /// A fixed settlement date (`valueDate`), where one is given.
    pub settlement_date: Option<String>,
    /// The payout's quantity (`priceQuantity.quantitySchedule`): options, shares or money.
    pub quantity: Option<Quantity>,
    /// What the option is on, where the reader recognises it.
    pub underlier: Option<Underlier>,
    /// An FX option's two currencies: (amount, currency, payer, receiver) each.
    pub fx_legs: Vec<(Quantity, PayerReceiver)>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
/// One interest-rate leg: fixed rate or floating index, notional, schedule and dates.
pub struct RateLeg {
    /// Who pays and who receives this leg, as party indexes.
    pub flow: PayerReceiver,
    /// The leg's notional (`priceQuantity.quantitySchedule`).
    pub notional: Option<Quantity>,
    /// Fixed rate as a decimal (0.0253 = 2.53 %).
    pub fixed_rate: Option<f64>,
    /// A floating leg's rate index (`USD-LIBOR-BBA`).
    pub floating_index: Option<String>,
    /// A floating leg's index tenor (`3M`).
    pub floating_tenor: Option<Period>,
    /// Spread over the floating index, as a decimal (0.001 = 10 bp).
    pub spread: Option<f64>,
    /// Day count fraction as written (`ACT/360`, `30/360`).
    pub day_count: Option<String>,
    /// Payment frequency (`paymentDates.paymentFrequency`).
    pub payment_frequency: Option<Period>,
    /// A floating leg's reset frequency (`resetDates.resetFrequency`).
    pub reset_frequency: Option<Period>,
    /// The leg's start date (`calculationPeriodDates.effectiveDate`).
    pub effective: Option<String>,
    /// The leg's end date (`calculationPeriodDates.terminationDate`).
    pub termination: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
/// A performance leg: the return of an equity, index or basket.
pub struct PerformanceLeg {
    /// Who pays and who receives the performance, as party indexes.
    pub flow: PayerReceiver,
    /// The leg's notional (`priceQuantity.quantitySchedule`).
    pub notional: Option<Quantity>,
    /// The asset, index or basket whose return is paid.
    pub underlier: Option<Underlier>,
    /// `Price`, `Total`.
    pub return_type: Option<String>,
    /// `Cash`, `Physical`, `Election` (`settlementTerms.settlementType`).
    pub settlement_type: Option<String>,
    /// ISO 4217 settlement currency (`settlementTerms.settlementCurrency`).
    pub settlement_currency: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
/// An FX forward or settlement payout: currency amounts exchanged on a value date.
pub struct ForwardLeg {
    /// Each exchanged currency amount with who pays and who receives it (usually two).
    pub legs: Vec<(Quantity, PayerReceiver)>,
    /// The value date (`settlementTerms.settlementDate.valueDate`), as written.
    pub value_date: Option<String>,
    /// The agreed rate (first `priceQuantity.priceSchedule`): the forward exchange rate.
    pub rate: Option<Price>,
    /// `Cash` or `Physical` (`settlementTerms.settlementType`).
    pub settlement_type: Option<String>,
    /// ISO 4217 settlement currency (`settlementTerms.settlementCurrency`).
    pub settlement_currency: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
/// A credit default payout: protection on a reference entity or index.
pub struct CreditLeg {
    /// The payout's `payerReceiver`, as party indexes.
    pub flow: PayerReceiver,
    /// The protection notional (`priceQuantity.quantitySchedule`).
    pub notional: Option<Quantity>,
    /// Name of the reference entity, or of the index for an index CDS.
    pub reference_entity: Option<String>,
}

/// An option premium or other payment made at the trade's start.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Payment {
    /// The amount paid, in [`Payment::currency`].
    pub amount: f64,
    /// ISO 4217 currency of the amount.
    pub currency: Option<String>,
    /// Settlement date, as the document writes it.
    pub date: Option<String>,
    /// Who pays and who receives it, as party indexes.
    pub flow: PayerReceiver,
    /// `Premium`, `Fee`, …
    pub kind: Option<String>,
}

/// The trade, read.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Trade {
    /// The UTI: the first `UniqueTransactionIdentifier` identifier, else the given one.
    pub uti: Option<String>,
    /// Other trade identifiers (a party's own reference), in document order.
    pub other_ids: Vec<String>,
    /// Who issued each of [`Trade::other_ids`] (a party index), where stated.
    pub other_id_issuers: Vec<Option<usize>>,
    /// `tradeDate` as the document writes it (YYYY-MM-DD).
    pub trade_date: Option<String>,
    /// Execution time (ISO 8601): the given one, else the step's `executionDateTime`.
    pub execution_timestamp: Option<String>,
    /// When the event was created (`eventCreationDateTime`).
    pub event_timestamp: Option<String>,
    /// The workflow step's first `eventIdentifier`.
    pub event_id: Option<String>,
    /// The workflow step's `messageInformation.messageId`.
    pub message_id: Option<String>,
    /// The business event's `eventDate`, as written.
    pub event_date: Option<String>,
    /// CDM `action` of the workflow step (`New`, `Correct`, `Cancel`).
    pub action: Option<String>,
    /// The business event's `intent` (`Clearing`, `ContractFormation`, …).
    pub intent: Option<String>,
    /// The taxonomy's `primaryAssetClass` (`InterestRate`, `Equity`, `ForeignExchange`, …).
    pub primary_asset_class: Option<String>,
    /// ISO 10962 CFI code, from the taxonomy entry whose source is `CFI`.
    pub cfi: Option<String>,
    /// ISDA product qualifier (`InterestRate_IRSwap_FixedFloat`), from the taxonomy.
    pub qualifier: Option<String>,
    /// Every party object in the document (one per `globalKey`), then any added by given LEIs.
    pub parties: Vec<Party>,
    /// `Party1`/`Party2` roles → party indexes.
    pub roles: Vec<(String, usize)>,
    /// Party roles on the trade (`ArrangingBroker`, `ClearingOrganization`, …).
    pub party_roles: Vec<(String, usize)>,
    /// The payouts this reader knows, in document order; never empty.
    pub payouts: Vec<Payout>,
    /// `economicTerms.effectiveDate`, as written.
    pub effective_date: Option<String>,
    /// `economicTerms.terminationDate`, as written.
    pub termination_date: Option<String>,
    /// Premiums and other payments, from the trade state's `transferHistory`.
    pub payments: Vec<Payment>,
    /// Master agreement type (`ISDAMaster`; `Other` if untyped) and its vintage year.
    pub master_agreement: Option<(String, Option<i64>)>,
    /// Whether the terms are non-standard (`economicTerms.nonStandardisedTerms`).
    pub non_standard_terms: Option<bool>,
    /// `contractDetails.governingLaw` as written (`GBEN`, `USNY`).
    pub governing_law: Option<String>,
    /// The trade-lot quantity (the number of options or contracts) where one is given.
    pub lot_quantities: Vec<Quantity>,
    /// The collateral portfolio code (`trade.collateral.portfolioIdentifier`).
    pub collateral_portfolio: Option<String>,
    /// The reporting facts: `reportableInformation`, `reportingSide`, then the given facts.
    pub reporting: Reporting,
}

impl Trade {
    /// The party at `i`, if any.
    pub fn party(&self, i: Option<usize>) -> Option<&Party> {
        i.and_then(|i| self.parties.get(i))
    }

    /// The party of a counterparty role (`Party1`).
    pub fn role(&self, role: &str) -> Option<usize> {
        self.roles.iter().find(|(r, _)| r == role).map(|(_, i)| *i)
    }

    /// The first option payout.
    pub fn option(&self) -> Option<&OptionPayout> {
        self.payouts.iter().find_map(|p| match p {
            Payout::Option(o) => Some(&**o),
            _ => None,
        })
    }

    /// Every interest-rate leg, in document order.
    pub fn rate_legs(&self) -> impl Iterator<Item = &RateLeg> {
        self.payouts.iter().filter_map(|p| match p {
            Payout::InterestRate(l) => Some(l),
            _ => None,
        })
    }

    /// The first performance leg.
    pub fn performance(&self) -> Option<&PerformanceLeg> {
        self.payouts.iter().find_map(|p| match p {
            Payout::Performance(l) => Some(l),
            _ => None,
        })
    }

    /// The first FX forward or settlement payout.
    pub fn forward(&self) -> Option<&ForwardLeg> {
        self.payouts.iter().find_map(|p| match p {
            Payout::Forward(l) => Some(l),
            _ => None,
        })
    }

    /// The first credit default payout.
    pub fn credit(&self) -> Option<&CreditLeg> {
        self.payouts.iter().find_map(|p| match p {
            Payout::Credit(l) => Some(l),
            _ => None,
        })
    }

    /// The reporting facts of party `i` under the supervisory body `body`.
    pub fn regime_facts(&self, i: Option<usize>, body: &str) -> Option<&RegimeFacts> {
        let i = i?;
        self.reporting
            .parties
            .iter()
            .find(|p| p.party == i)?
            .regimes
            .iter()
            .find(|r| r.body.eq_ignore_ascii_case(body))
    }

    /// Every supervisory body a party reports to.
    pub fn bodies_of(&self, i: Option<usize>) -> Vec<String> {
        let Some(i) = i else { return Vec::new() };
        self.reporting
            .parties
            .iter()
            .filter(|p| p.party == i)
            .flat_map(|p| p.regimes.iter().map(|r| r.body.clone()))
            .collect()
    }

    /// A party related to the reporting side by role (`ArrangingBroker`), from the reporting
    /// facts first, then the trade's party roles.
    pub fn related(&self, role: &str) -> Option<usize> {
        self.reporting
            .parties
            .iter()
            .flat_map(|p| p.related.iter())
            .chain(self.party_roles.iter())
            .find(|(r, _)| r == role)
            .map(|(_, i)| *i)
    }
}

/// Reporting facts given beside a bare TradeState (the API's `facts`), or overriding those of
/// a ReportableEvent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GivenFacts {
    /// LEI of counterparty 1 (the reporting party).
    #[serde(default)]
    pub reporting_party_lei: Option<String>,
    /// LEI of counterparty 2.
    #[serde(default)]
    pub counterparty_lei: Option<String>,
    /// Counterparty 1's regimes.
    #[serde(default)]
    pub reporting_party_regimes: Vec<RegimeFacts>,
    /// Counterparty 2's regimes.
    #[serde(default)]
    pub counterparty_regimes: Vec<RegimeFacts>,
    /// `Electronic`, `NonElectronic`, `NotConfirmed`; replaces the document's.
    #[serde(default)]
    pub confirmation_method: Option<String>,
    /// `SEF`, `DCM`, `OffFacility`, `Platform`; replaces the document's.
    #[serde(default)]
    pub venue_type: Option<String>,
    /// Whether the trade is intragroup; replaces the document's.
    #[serde(default)]
    pub intragroup: Option<bool>,
    /// Whether the trade is cleared; a cleared trade without [`GivenFacts::ccp_lei`] is refused.
    #[serde(default)]
    pub cleared: Option<bool>,
    /// The CCP's LEI, added to the trade as its `ClearingOrganization`.
    #[serde(default)]
    pub ccp_lei: Option<String>,
    /// When the trade was executed (ISO 8601 with offset), where the document does not say.
    #[serde(default)]
    pub execution_timestamp: Option<String>,
    /// The UTI, where the document does not carry one.
    #[serde(default)]
    pub uti: Option<String>,
}

/// Reads a CDM document: a `ReportableEvent` (with `originatingWorkflowStep`) or a bare
/// `TradeState` (with `trade`), plus optional given facts.
pub fn read(doc: &Value, given: Option<&GivenFacts>) -> Result<Trade, TradeError> {
    let Some(obj) = doc.as_object() else {
        return Err(shape(
            "$",
            "a CDM ReportableEvent or TradeState must be a JSON object",
        ));
    };
    let index = Index::build(doc);
    let r = Reader { index: &index };
    let (state, state_path, step, step_path) = if let Some(step) =
        obj.get("originatingWorkflowStep")
    {
        let step_path = "$.originatingWorkflowStep".to_owned();
        let be = want_obj(step, "businessEvent", &step_path)?;
        let after = be.get("after").ok_or_else(|| {
            shape(
                &format!("{step_path}.businessEvent"),
                "has no `after` trade state: a ReportableEvent must carry the trade after the event",
            )
        })?;
        let first = after.as_array().and_then(|a| a.first()).ok_or_else(|| {
            shape(
                &format!("{step_path}.businessEvent.after"),
                "must be a non-empty array of TradeState",
            )
        })?;
        (
            first,
            format!("{step_path}.businessEvent.after[0]"),
            Some(step),
            Some(step_path),
        )
    } else if obj.contains_key("trade") {
        (doc, "$".to_owned(), None, None)
    } else {
        return Err(shape(
            "$",
            "is neither a CDM ReportableEvent (no `originatingWorkflowStep`) nor a TradeState (no `trade`)",
        ));
    };
    if obj.contains_key("@model") || obj.contains_key("@type") {
        return Err(shape(
            "$",
            "is CDM 7 in the Rune serialisation (`@type`, `@ref`): give the trade in the CDM 6 legacy JSON layout (what Deskmate's extraction and FpML ingestion write) or as a DRR ReportableEvent",
        ));
    }
    let trade_v = want(state, "trade", &state_path)?;
    let tp = format!("{state_path}.trade");
    if !trade_v.is_object() {
        return Err(shape(&tp, "must be an object"));
    }
    let mut t = Trade::default();

    // Parties: every party object anywhere in the document, by globalKey.
    r.parties(doc, &mut t);

    // Identifiers.
    if let Some(ids) = trade_v.get("tradeIdentifier") {
        let ids = arr(ids, &format!("{tp}.tradeIdentifier"))?;
        for (i, id) in ids.iter().enumerate() {
            let p = format!("{tp}.tradeIdentifier[{i}]");
            let value = id
                .get("assignedIdentifier")
                .and_then(|a| a.get(0))
                .and_then(|a| a.get("identifier"))
                .and_then(unwrap_str);
            let Some(value) = value else { continue };
            let is_uti = id.get("identifierType").and_then(Value::as_str)
                == Some("UniqueTransactionIdentifier");
            if is_uti && t.uti.is_none() {
                t.uti = Some(value.to_owned());
            } else {
                t.other_ids.push(value.to_owned());
                let issuer = id
                    .get("issuerReference")
                    .and_then(|x| r.party_ref(x, &t))
                    .or_else(|| {
                        let lei = id.get("issuer").and_then(unwrap_str)?;
                        t.parties.iter().position(|p| p.lei.as_deref() == Some(lei))
                    });
                t.other_id_issuers.push(issuer);
            }
            let _ = p;
        }
    }
    t.trade_date = trade_v
        .get("tradeDate")
        .and_then(unwrap_str)
        .map(str::to_owned);

    // The product: `trade.tradableProduct.product.contractualProduct` (CDM 5, DRR's inputs) or
    // `trade.product` (CDM 6, the legacy layout our extraction and FpML ingestion write).
    let (tprod, tprod_path) = match trade_v.get("tradableProduct") {
        Some(x) => (x, format!("{tp}.tradableProduct")),
        None => (trade_v, tp.clone()),
    };
    let product = tprod
        .get("product")
        .ok_or_else(|| shape(&tprod_path, "has no `product`"))?;
    let (cp, cpp) = match product.get("contractualProduct") {
        Some(x) => (x, format!("{tprod_path}.product.contractualProduct")),
        None => (product, format!("{tprod_path}.product")),
    };
    let taxonomy = cp.get("productTaxonomy").or_else(|| cp.get("taxonomy"));
    if let Some(tax) = taxonomy {
        for x in arr(tax, &format!("{cpp}.taxonomy"))? {
            if let Some(a) = x.get("primaryAssetClass").and_then(unwrap_str) {
                t.primary_asset_class.get_or_insert_with(|| a.to_owned());
            }
            let source = x.get("source").and_then(Value::as_str);
            let name = x
                .get("value")
                .and_then(|v| v.get("name"))
                .and_then(unwrap_str);
            if source == Some("CFI")
                && let Some(n) = name
            {
                t.cfi.get_or_insert_with(|| n.to_owned());
            }
            if let Some(q) = x.get("productQualifier").and_then(Value::as_str) {
                t.qualifier.get_or_insert_with(|| q.to_owned());
            }
        }
    }
    let et = cp
        .get("economicTerms")
        .ok_or_else(|| shape(&cpp, "has no `economicTerms`"))?;
    let etp = format!("{cpp}.economicTerms");
    t.effective_date = et.get("effectiveDate").and_then(|d| r.date(d));
    t.termination_date = et.get("terminationDate").and_then(|d| r.date(d));
    t.non_standard_terms = et.get("nonStandardisedTerms").and_then(Value::as_bool);

    // Counterparty roles before payouts (payouts name roles).
    if let Some(cps) = tprod.get("counterparty") {
        for (i, c) in arr(cps, &format!("{tprod_path}.counterparty"))?
            .iter()
            .enumerate()
        {
            let role = c.get("role").and_then(Value::as_str);
            let party = c.get("partyReference").and_then(|x| r.party_ref(x, &t));
            match (role, party) {
                (Some(role), Some(p)) => t.roles.push((role.to_owned(), p)),
                (Some(_), None) => {
                    return Err(TradeError::Dangling {
                        path: format!("{tprod_path}.counterparty[{i}].partyReference"),
                        reference: c
                            .get("partyReference")
                            .map(|x| x.to_string())
                            .unwrap_or_default(),
                    });
                }
                _ => {}
            }
        }
    }
    if let Some(roles) = trade_v.get("partyRole") {
        for x in arr(roles, &format!("{tp}.partyRole"))? {
            if let (Some(role), Some(p)) = (
                x.get("role").and_then(Value::as_str),
                x.get("partyReference").and_then(|x| r.party_ref(x, &t)),
            ) {
                t.party_roles.push((role.to_owned(), p));
            }
        }
    }

    // Trade lot: quantities and observables, for the payouts' addresses.
    if let Some(lots) = tprod.get("tradeLot").and_then(Value::as_array) {
        for lot in lots {
            for pq in lot
                .get("priceQuantity")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for q in pq
                    .get("quantity")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    t.lot_quantities
                        .push(r.quantity(q.get("value").unwrap_or(q)));
                }
            }
        }
    }

    let payout = et
        .get("payout")
        .ok_or_else(|| shape(&etp, "has no `payout`"))?;
    let pp = format!("{etp}.payout");
    let mut found = Vec::new();
    // CDM 5: an object of arrays (`{"optionPayout": [..]}`); CDM 6: an array of one-key
    // objects (`[{"OptionPayout": {..}}]`).
    let mut items: Vec<(String, &Value, String)> = Vec::new();
    if let Some(po) = payout.as_object() {
        for (k, v) in po {
            if k == "meta" {
                continue;
            }
            for (i, item) in arr(v, &format!("{pp}.{k}"))?.iter().enumerate() {
                items.push((k.clone(), item, format!("{pp}.{k}[{i}]")));
            }
        }
    } else if let Some(list) = payout.as_array() {
        for (i, one) in list.iter().enumerate() {
            let Some(m) = one.as_object() else {
                return Err(shape(
                    &format!("{pp}[{i}]"),
                    "must be an object naming its payout type",
                ));
            };
            for (k, item) in m {
                if k == "meta" {
                    continue;
                }
                let mut name = k.clone();
                if let Some(first) = name.get(..1) {
                    name = format!("{}{}", first.to_ascii_lowercase(), &name[1..]);
                }
                items.push((name, item, format!("{pp}[{i}].{k}")));
            }
        }
    } else {
        return Err(shape(
            &pp,
            "must be an object of payout arrays or an array of payouts",
        ));
    }
    for (k, item, path) in items {
        found.push(k.clone());
        match k.as_str() {
            "optionPayout" => t
                .payouts
                .push(Payout::Option(Box::new(r.option(item, &t, &path)?))),
            "interestRatePayout" => t.payouts.push(Payout::InterestRate(r.rate_leg(item, &t))),
            "performancePayout" => t.payouts.push(Payout::Performance(r.performance(item, &t))),
            "forwardPayout" | "settlementPayout" => {
                t.payouts.push(Payout::Forward(r.forward(item, &t)))
            }
            "creditDefaultPayout" => {
                let gt = item.get("generalTerms");
                let name = gt
                    .and_then(|g| g.get("referenceInformation"))
                    .and_then(|ri| ri.get("referenceEntity"))
                    .and_then(|e| e.get("name"))
                    .or_else(|| {
                        gt.and_then(|g| g.get("indexReferenceInformation"))
                            .and_then(|i| i.get("name"))
                    })
                    .and_then(unwrap_str)
                    .map(str::to_owned);
                t.payouts.push(Payout::Credit(CreditLeg {
                    flow: r.flow(item, &t),
                    notional: r.payout_quantity(item),
                    reference_entity: name,
                }));
            }
            _ => {}
        }
    }
    found.dedup();
    if t.payouts.is_empty() {
        return Err(TradeError::UnknownProduct {
            path: pp,
            found: if found.is_empty() {
                "nothing".into()
            } else {
                found.join(", ")
            },
        });
    }

    // Master agreement and governing law.
    if let Some(cd) = trade_v.get("contractDetails") {
        for d in cd
            .get("documentation")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = d
                .get("legalAgreementIdentification")
                .and_then(|l| l.get("agreementName"));
            if name
                .and_then(|n| n.get("agreementType"))
                .and_then(Value::as_str)
                == Some("MasterAgreement")
            {
                let ty = name
                    .and_then(|n| n.get("masterAgreementType"))
                    .and_then(unwrap_str)
                    .unwrap_or("Other");
                let vintage = d
                    .get("legalAgreementIdentification")
                    .and_then(|l| l.get("vintage"))
                    .and_then(Value::as_i64);
                t.master_agreement
                    .get_or_insert_with(|| (ty.to_owned(), vintage));
            }
        }
        t.governing_law = cd
            .get("governingLaw")
            .and_then(unwrap_str)
            .map(str::to_owned);
    }

    t.collateral_portfolio = trade_v
        .get("collateral")
        .and_then(|c| c.get("portfolioIdentifier"))
        .and_then(|p| p.get(0))
        .and_then(|p| p.get("assignedIdentifier"))
        .and_then(|a| a.get(0))
        .and_then(|a| a.get("identifier"))
        .and_then(unwrap_str)
        .map(str::to_owned);

    // Premiums and other payments: the transfer history.
    for th in state
        .get("transferHistory")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let tr = th.get("transfer").unwrap_or(th);
        let q = tr
            .get("quantity")
            .map(|q| r.quantity(q))
            .unwrap_or_default();
        let Some(amount) = q.value else { continue };
        let flow = tr
            .get("payerReceiver")
            .map(|pr| PayerReceiver {
                payer: pr
                    .get("payerPartyReference")
                    .and_then(|x| r.party_ref(x, &t)),
                receiver: pr
                    .get("receiverPartyReference")
                    .and_then(|x| r.party_ref(x, &t)),
            })
            .unwrap_or_default();
        t.payments.push(Payment {
            amount,
            currency: q.currency,
            date: tr.get("settlementDate").and_then(|d| r.date(d)),
            flow,
            kind: tr
                .get("transferExpression")
                .and_then(|e| {
                    e.get("priceTransfer")
                        .or_else(|| e.get("scheduledTransfer"))
                })
                .and_then(|x| {
                    x.as_str().map(str::to_owned).or_else(|| {
                        x.get("transferType")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                }),
        });
    }

    // The workflow step: action, timestamps, event identifier, message.
    if let (Some(step), Some(sp)) = (step, step_path) {
        t.action = step
            .get("action")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let be = step.get("businessEvent").expect("checked above");
        t.intent = be.get("intent").and_then(Value::as_str).map(str::to_owned);
        t.event_date = be
            .get("eventDate")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(ts) = step.get("timestamp") {
            for (i, x) in arr(ts, &format!("{sp}.timestamp"))?.iter().enumerate() {
                let dt = x.get("dateTime").and_then(Value::as_str).map(str::to_owned);
                match x.get("qualification").and_then(Value::as_str) {
                    Some("eventCreationDateTime") => {
                        t.event_timestamp = t.event_timestamp.take().or(dt)
                    }
                    Some("executionDateTime") => {
                        t.execution_timestamp = t.execution_timestamp.take().or(dt)
                    }
                    Some(_) | None => {}
                }
                let _ = i;
            }
        }
        t.event_id = step
            .get("eventIdentifier")
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("assignedIdentifier"))
            .and_then(|a| a.get(0))
            .and_then(|a| a.get("identifier"))
            .and_then(unwrap_str)
            .map(str::to_owned);
        t.message_id = step
            .get("messageInformation")
            .and_then(|m| m.get("messageId"))
            .and_then(unwrap_str)
            .map(str::to_owned);
    }

    // Reporting facts.
    if let Some(ri) = obj.get("reportableInformation") {
        let rp = "$.reportableInformation";
        t.reporting.confirmation_method = ri
            .get("confirmationMethod")
            .and_then(Value::as_str)
            .map(str::to_owned);
        t.reporting.venue_type = ri
            .get("executionVenueType")
            .and_then(Value::as_str)
            .map(str::to_owned);
        t.reporting.intragroup = ri.get("intragroup").and_then(Value::as_bool);
        t.reporting.large_size_trade = ri.get("largeSizeTrade").and_then(Value::as_bool);
        t.reporting.original_execution_timestamp = ri
            .get("originalExecutionTimestamp")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(pis) = ri.get("partyInformation") {
            for (i, pi) in arr(pis, &format!("{rp}.partyInformation"))?
                .iter()
                .enumerate()
            {
                let pip = format!("{rp}.partyInformation[{i}]");
                let Some(party) = pi.get("partyReference").and_then(|x| r.party_ref(x, &t)) else {
                    return Err(TradeError::Dangling {
                        path: format!("{pip}.partyReference"),
                        reference: pi
                            .get("partyReference")
                            .map(|x| x.to_string())
                            .unwrap_or_default(),
                    });
                };
                let mut out = PartyReporting {
                    party,
                    ..PartyReporting::default()
                };
                for rel in pi
                    .get("relatedParty")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let (Some(role), Some(p)) = (
                        rel.get("role").and_then(Value::as_str),
                        rel.get("partyReference").and_then(|x| r.party_ref(x, &t)),
                    ) {
                        out.related.push((role.to_owned(), p));
                    }
                }
                if let Some(regs) = pi.get("regimeInformation") {
                    for reg in arr(regs, &format!("{pip}.regimeInformation"))? {
                        // An entry without a supervisory body names no regime (DRR inputs carry
                        // `{"reportingRole": "Counterparty"}` alone): nothing to read.
                        if let Some(f) = regime_facts(reg) {
                            out.regimes.push(f);
                        }
                    }
                }
                t.reporting.parties.push(out);
            }
        }
    }
    if let Some(side) = obj.get("reportingSide") {
        t.reporting.reporting_party = side.get("reportingParty").and_then(|x| r.party_ref(x, &t));
        t.reporting.counterparty = side
            .get("reportingCounterparty")
            .and_then(|x| r.party_ref(x, &t));
        t.reporting.submitting_party = side
            .get("partyReferenceSubmitting")
            .and_then(|x| r.party_ref(x, &t));
        if t.reporting.reporting_party.is_none() {
            return Err(TradeError::Dangling {
                path: "$.reportingSide.reportingParty".into(),
                reference: side
                    .get("reportingParty")
                    .map(|x| x.to_string())
                    .unwrap_or_default(),
            });
        }
    }
    if let Some(g) = given {
        apply_given(&mut t, g)?;
    }
    Ok(t)
}

fn regime_facts(reg: &Value) -> Option<RegimeFacts> {
    let body = reg.get("supervisoryBody").and_then(unwrap_str)?;
    let info = [
        "esmaPartyInformation",
        "fcaPartyInformation",
        "hkmaPartyInformation",
    ]
    .iter()
    .find_map(|k| reg.get(*k));
    Some(RegimeFacts {
        body: body.to_owned(),
        name: reg
            .get("regimeName")
            .and_then(unwrap_str)
            .map(str::to_owned),
        role: reg
            .get("reportingRole")
            .and_then(Value::as_str)
            .map(str::to_owned),
        nature: info
            .and_then(|i| i.get("natureOfParty"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        sectors: info
            .and_then(|i| i.get("corporateSector"))
            .map(|cs| {
                ["financialSector", "nonFinancialSector"]
                    .iter()
                    .filter_map(|k| cs.get(*k).and_then(Value::as_array))
                    .flatten()
                    .filter_map(|s| {
                        s.as_str()
                            .map(str::to_owned)
                            .or_else(|| s.get("value").and_then(Value::as_str).map(str::to_owned))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        exceeds_clearing_threshold: info
            .and_then(|i| i.get("exceedsClearingThreshold"))
            .and_then(Value::as_bool),
        mandatorily_clearable: reg
            .get("mandatorilyClearable")
            .and_then(Value::as_str)
            .map(str::to_owned),
        technical_record_id: reg
            .get("technicalRecordId")
            .and_then(unwrap_str)
            .map(str::to_owned),
    })
}

fn apply_given(t: &mut Trade, g: &GivenFacts) -> Result<(), TradeError> {
    // A reporting party must be one of the trade's parties where the trade names its parties
    // by LEI: reporting for a stranger is a mistake in the facts, not a new party.
    let trade_leis: Vec<String> = t
        .roles
        .iter()
        .filter_map(|(_, i)| t.parties.get(*i).and_then(|p| p.lei.clone()))
        .collect();
    for (field, lei) in [
        ("facts.reporting_party_lei", &g.reporting_party_lei),
        ("facts.counterparty_lei", &g.counterparty_lei),
    ] {
        if let Some(lei) = lei
            && !trade_leis.is_empty()
            && !trade_leis.contains(lei)
        {
            return Err(shape(
                field,
                &format!(
                    "LEI {lei} is not a counterparty of the trade (its counterparties: {})",
                    trade_leis.join(", ")
                ),
            ));
        }
    }
    if g.reporting_party_lei.is_some() && g.reporting_party_lei == g.counterparty_lei {
        return Err(shape(
            "facts.counterparty_lei",
            "is the same LEI as the reporting party: counterparty 2 must be the other side of the trade",
        ));
    }
    let mut find_or_add = |lei: &str| -> usize {
        if let Some(i) = t.parties.iter().position(|p| p.lei.as_deref() == Some(lei)) {
            i
        } else {
            t.parties.push(Party {
                key: format!("given:{lei}"),
                lei: Some(lei.to_owned()),
                ..Party::default()
            });
            t.parties.len() - 1
        }
    };
    if let Some(lei) = &g.reporting_party_lei {
        let i = find_or_add(lei);
        t.reporting.reporting_party = Some(i);
    }
    if let Some(lei) = &g.counterparty_lei {
        let i = find_or_add(lei);
        t.reporting.counterparty = Some(i);
    }
    if g.cleared == Some(true) && g.ccp_lei.is_none() {
        return Err(shape(
            "facts.ccp_lei",
            "the trade is said to be cleared but no central counterparty (CCP LEI) is given: cleared trades are reported with the CCP as counterparty",
        ));
    }
    for (side, regs) in [
        (t.reporting.reporting_party, &g.reporting_party_regimes),
        (t.reporting.counterparty, &g.counterparty_regimes),
    ] {
        if regs.is_empty() {
            continue;
        }
        let Some(party) = side else {
            return Err(shape(
                "facts",
                "regimes are given for a party whose LEI is not known: give reporting_party_lei / counterparty_lei",
            ));
        };
        match t.reporting.parties.iter_mut().find(|p| p.party == party) {
            Some(p) => {
                for r in regs {
                    p.regimes.retain(|x| !x.body.eq_ignore_ascii_case(&r.body));
                    p.regimes.push(r.clone());
                }
            }
            None => t.reporting.parties.push(PartyReporting {
                party,
                regimes: regs.clone(),
                related: Vec::new(),
            }),
        }
    }
    if g.confirmation_method.is_some() {
        t.reporting
            .confirmation_method
            .clone_from(&g.confirmation_method);
    }
    if g.venue_type.is_some() {
        t.reporting.venue_type.clone_from(&g.venue_type);
    }
    if g.intragroup.is_some() {
        t.reporting.intragroup = g.intragroup;
    }
    if g.execution_timestamp.is_some() {
        t.execution_timestamp.clone_from(&g.execution_timestamp);
    }
    if t.uti.is_none() {
        t.uti.clone_from(&g.uti);
    }
    if let Some(ccp) = &g.ccp_lei {
        let i = find_or_add(ccp);
        t.party_roles.push(("ClearingOrganization".into(), i));
    }
    Ok(())
}

fn shape(path: &str, reason: &str) -> TradeError {
    TradeError::Shape {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

fn want<'v>(v: &'v Value, key: &str, path: &str) -> Result<&'v Value, TradeError> {
    v.get(key)
        .ok_or_else(|| shape(path, &format!("has no `{key}`")))
}

fn want_obj<'v>(
    v: &'v Value,
    key: &str,
    path: &str,
) -> Result<&'v serde_json::Map<String, Value>, TradeError> {
    want(v, key, path)?
        .as_object()
        .ok_or_else(|| shape(&format!("{path}.{key}"), "must be an object"))
}

fn arr<'v>(v: &'v Value, path: &str) -> Result<&'v Vec<Value>, TradeError> {
    v.as_array().ok_or_else(|| shape(path, "must be an array"))
}

/// A string, or the `value` of a CDM field-with-meta wrapper.
fn unwrap_str(v: &Value) -> Option<&str> {
    v.as_str()
        .or_else(|| v.get("value").and_then(Value::as_str))
}

/// Where every `meta.globalKey`, `meta.externalKey` and `meta.location` points.
struct Index<'a> {
    keys: HashMap<&'a str, &'a Value>,
    locations: HashMap<&'a str, &'a Value>,
}

impl<'a> Index<'a> {
    fn build(doc: &'a Value) -> Self {
        let mut ix = Index {
            keys: HashMap::new(),
            locations: HashMap::new(),
        };
        ix.walk(doc, None);
        ix
    }

    fn walk(&mut self, v: &'a Value, parent: Option<&'a Value>) {
        match v {
            Value::Object(m) => {
                if let Some(meta) = m.get("meta") {
                    if let Some(k) = meta.get("globalKey").and_then(Value::as_str) {
                        self.keys.entry(k).or_insert(v);
                    }
                    if let Some(k) = meta.get("externalKey").and_then(Value::as_str) {
                        self.keys.entry(k).or_insert(v);
                    }
                    for loc in meta
                        .get("location")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(k) = loc.get("value").and_then(Value::as_str) {
                            self.locations.entry(k).or_insert(v);
                        }
                    }
                }
                let _ = parent;
                for x in m.values() {
                    self.walk(x, Some(v));
                }
            }
            Value::Array(a) => {
                for x in a {
                    self.walk(x, parent);
                }
            }
            _ => {}
        }
    }
}

struct Reader<'i, 'a> {
    index: &'i Index<'a>,
}

impl Reader<'_, '_> {
    /// Every party object (`partyId` present) in the document, deduplicated by globalKey.
    fn parties(&self, doc: &Value, t: &mut Trade) {
        fn walk(v: &Value, out: &mut Vec<Party>) {
            match v {
                Value::Object(m) => {
                    if m.contains_key("partyId") {
                        let meta = m.get("meta");
                        let key = meta
                            .and_then(|x| x.get("globalKey"))
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned();
                        let external = meta
                            .and_then(|x| x.get("externalKey"))
                            .and_then(Value::as_str)
                            .map(str::to_owned);
                        let mut lei = None;
                        let mut first = None;
                        for id in m
                            .get("partyId")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            let value = id.get("identifier").and_then(unwrap_str);
                            let is_lei = id.get("identifierType").and_then(Value::as_str)
                                == Some("LEI")
                                || id
                                    .get("identifier")
                                    .and_then(|i| i.get("meta"))
                                    .and_then(|m| m.get("scheme"))
                                    .and_then(Value::as_str)
                                    .is_some_and(|s| s.ends_with("iso17442"));
                            if is_lei && lei.is_none() {
                                lei = value.map(str::to_owned);
                            }
                            if first.is_none() {
                                first = value.map(str::to_owned);
                            }
                        }
                        let name = m.get("name").and_then(unwrap_str).map(str::to_owned).or(
                            if lei.is_some() && first != lei {
                                first
                            } else {
                                None
                            },
                        );
                        let country = m
                            .get("contactInformation")
                            .and_then(|c| c.get("address"))
                            .and_then(|a| a.get(0))
                            .and_then(|a| a.get("country"))
                            .and_then(unwrap_str)
                            .map(str::to_owned);
                        let party = Party {
                            key,
                            external,
                            lei,
                            name,
                            country,
                        };
                        if let Some(same) = out
                            .iter_mut()
                            .find(|p| !party.key.is_empty() && p.key == party.key)
                        {
                            if same.name.is_none() {
                                same.name = party.name;
                            }
                            if same.country.is_none() {
                                same.country = party.country;
                            }
                            if same.external.is_none() {
                                same.external = party.external;
                            }
                        } else {
                            out.push(party);
                        }
                    }
                    for x in m.values() {
                        walk(x, out);
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        walk(doc, &mut t.parties);
    }

    /// A `{globalReference, externalReference}` (or a plain value object) → party index.
    fn party_ref(&self, v: &Value, t: &Trade) -> Option<usize> {
        let by_key = |k: &str| t.parties.iter().position(|p| p.key == k);
        if let Some(g) = v.get("globalReference").and_then(Value::as_str)
            && let Some(i) = by_key(g)
        {
            return Some(i);
        }
        if let Some(e) = v.get("externalReference").and_then(Value::as_str) {
            if let Some(i) = t
                .parties
                .iter()
                .position(|p| p.external.as_deref() == Some(e))
            {
                return Some(i);
            }
            if let Some(party) = self.index.keys.get(e)
                && let Some(k) = party
                    .get("meta")
                    .and_then(|m| m.get("globalKey"))
                    .and_then(Value::as_str)
            {
                return by_key(k);
            }
        }
        if v.get("partyId").is_some() {
            let k = v
                .get("meta")
                .and_then(|m| m.get("globalKey"))
                .and_then(Value::as_str)?;
            return by_key(k);
        }
        None
    }

    /// A payout's `payerReceiver` (roles) → party indexes.
    fn flow(&self, v: &Value, t: &Trade) -> PayerReceiver {
        let pr = v.get("payerReceiver");
        PayerReceiver {
            payer: pr
                .and_then(|p| p.get("payer"))
                .and_then(Value::as_str)
                .and_then(|r| t.role(r)),
            receiver: pr
                .and_then(|p| p.get("receiver"))
                .and_then(Value::as_str)
                .and_then(|r| t.role(r)),
        }
    }

    /// Follows a document address or reference to what it points at.
    fn deref<'v>(&'v self, v: &'v Value) -> &'v Value {
        if let Some(a) = v
            .get("address")
            .and_then(|a| a.get("value"))
            .and_then(Value::as_str)
            && let Some(x) = self.index.locations.get(a)
        {
            return x;
        }
        if let Some(g) = v.get("globalReference").and_then(Value::as_str)
            && let Some(x) = self.index.keys.get(g)
        {
            return x;
        }
        v
    }

    fn date(&self, v: &Value) -> Option<String> {
        let v = self.deref(v);
        if let Some(s) = v.as_str() {
            return Some(s.to_owned());
        }
        for path in [
            &["adjustableDate", "unadjustedDate"][..],
            &["adjustableDate", "adjustedDate", "value"],
            &["adjustableDate", "adjustedDate"],
            &["unadjustedDate"],
            &["adjustedDate", "value"],
            &["adjustedDate"],
            &["value"],
        ] {
            let mut cur = v;
            let mut ok = true;
            for k in path {
                match cur.get(*k) {
                    Some(x) => cur = x,
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && let Some(s) = cur.as_str() {
                return Some(s.to_owned());
            }
        }
        None
    }

    fn unit(v: &Value) -> (Option<String>, Option<String>) {
        let currency = v.get("currency").and_then(unwrap_str).map(str::to_owned);
        let unit = ["financialUnit", "capacityUnit", "weatherUnit"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .map(str::to_owned);
        (currency, unit)
    }

    fn quantity(&self, v: &Value) -> Quantity {
        let v = self.deref(v);
        let v = if v.get("value").is_some_and(Value::is_object) {
            &v["value"]
        } else {
            v
        };
        let (currency, unit) = v.get("unit").map(Self::unit).unwrap_or_default();
        Quantity {
            value: v.get("value").and_then(Value::as_f64),
            currency,
            unit,
            multiplier_unit: v
                .get("multiplier")
                .and_then(|m| m.get("unit"))
                .and_then(|u| Self::unit(u).1),
            schedule: v
                .get("datedValue")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|d| d.get("value").and_then(Value::as_f64))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    fn price(&self, v: &Value) -> Option<Price> {
        let v = self.deref(v);
        let v = if v.get("value").is_some_and(Value::is_object) {
            &v["value"]
        } else {
            v
        };
        let value = v.get("value").and_then(Value::as_f64)?;
        let (currency, _) = v.get("unit").map(Self::unit).unwrap_or_default();
        let (per_currency, per_unit) = v.get("perUnitOf").map(Self::unit).unwrap_or_default();
        Some(Price {
            value,
            currency,
            per_currency,
            per_unit,
            price_type: v
                .get("priceType")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    fn payout_quantity(&self, item: &Value) -> Option<Quantity> {
        let q = item.get("priceQuantity")?.get("quantitySchedule")?;
        Some(self.quantity(q))
    }

    fn underlier(&self, v: &Value) -> Option<Underlier> {
        let v = self.deref(v);
        // CDM 6: `underlier.Observable` (an address into the trade lot) or `underlier.Product`.
        if let Some(o) = v.get("Observable") {
            return self.observable(o);
        }
        if v.get("Product").is_some() {
            return Some(Underlier {
                kind: "Product".into(),
                ..Underlier::default()
            });
        }
        if v.get("value").is_some_and(|x| {
            x.get("Asset").is_some() || x.get("Index").is_some() || x.get("Basket").is_some()
        }) {
            return self.observable(v);
        }
        for (key, kind) in [
            ("index", "Index"),
            ("equity", "Equity"),
            ("security", "Equity"),
            ("basket", "Basket"),
            ("commodity", "Commodity"),
            ("foreignExchange", "Currency"),
            ("loan", "Loan"),
            ("bond", "Bond"),
            ("contractualProduct", "Product"),
        ] {
            let Some(x) = v.get(key) else { continue };
            let x = self.deref(x);
            let x = if x.get("value").is_some_and(Value::is_object) {
                &x["value"]
            } else {
                x
            };
            let mut u = Underlier {
                kind: kind.into(),
                ..Underlier::default()
            };
            for id in x
                .get("productIdentifier")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let id = self.deref(id);
                let id = if id.get("value").is_some_and(Value::is_object) {
                    &id["value"]
                } else {
                    id
                };
                if let (Some(source), Some(value)) = (
                    id.get("source").and_then(Value::as_str),
                    id.get("identifier").and_then(unwrap_str),
                ) {
                    u.ids.push((source.to_owned(), value.to_owned()));
                }
            }
            for c in x
                .get("basketConstituent")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(cu) = self.underlier(c) {
                    u.constituents.push(cu);
                }
            }
            return Some(u);
        }
        None
    }

    /// A CDM 6 observable (`{"value": {"Asset": …} | {"Index": …} | {"Basket": …}}`).
    fn observable(&self, o: &Value) -> Option<Underlier> {
        let o = self.deref(o);
        let v = o.get("value").filter(|x| x.is_object()).unwrap_or(o);
        let ids = |x: &Value| -> Vec<(String, String)> {
            x.get("identifier")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|id| {
                    let value = id.get("identifier").and_then(unwrap_str)?;
                    let ty = id
                        .get("identifierType")
                        .and_then(Value::as_str)
                        .unwrap_or("Other");
                    let ty = if ty == "CurrencyCode" { "CCY" } else { ty };
                    Some((ty.to_owned(), value.to_owned()))
                })
                .collect()
        };
        if let Some(asset) = v.get("Asset") {
            if let Some(sec) = asset.get("Instrument").and_then(|i| {
                i.get("Security")
                    .or_else(|| i.get("Loan"))
                    .or_else(|| i.get("ListedDerivative"))
            }) {
                return Some(Underlier {
                    kind: "Equity".into(),
                    ids: ids(sec),
                    ..Underlier::default()
                });
            }
            if let Some(cash) = asset.get("Cash") {
                return Some(Underlier {
                    kind: "Currency".into(),
                    ids: ids(cash),
                    ..Underlier::default()
                });
            }
            if let Some(c) = asset.get("Commodity") {
                return Some(Underlier {
                    kind: "Commodity".into(),
                    ids: ids(c),
                    ..Underlier::default()
                });
            }
        }
        if let Some(ix) = v.get("Index") {
            if let Some(e) = ix
                .get("EquityIndex")
                .or_else(|| ix.get("CreditIndex"))
                .or_else(|| ix.get("OtherIndex"))
            {
                let mut u = Underlier {
                    kind: "Index".into(),
                    ids: ids(e),
                    ..Underlier::default()
                };
                if let Some(n) = e.get("name").and_then(unwrap_str)
                    && !u.ids.iter().any(|(s, _)| s == "Name")
                {
                    u.ids.push(("Name".into(), n.to_owned()));
                }
                return Some(u);
            }
            if let Some(fri) = ix.get("InterestRateIndex") {
                let f = fri.get("value").unwrap_or(fri);
                let f = f.get("FloatingRateIndex").unwrap_or(f);
                return Some(Underlier {
                    kind: "Rate".into(),
                    rate_index: f
                        .get("floatingRateIndex")
                        .and_then(unwrap_str)
                        .map(str::to_owned),
                    rate_tenor: Self::period(f.get("indexTenor")).map(|p| (p.multiplier, p.unit)),
                    ..Underlier::default()
                });
            }
        }
        if let Some(b) = v.get("Basket") {
            let mut u = Underlier {
                kind: "Basket".into(),
                ..Underlier::default()
            };
            for c in b
                .get("basketConstituent")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let inner = c.get("Observable").unwrap_or(c);
                if let Some(cu) = self.observable(inner) {
                    u.constituents.push(cu);
                }
            }
            return Some(u);
        }
        None
    }

    fn option(&self, item: &Value, t: &Trade, path: &str) -> Result<OptionPayout, TradeError> {
        let bs = item.get("buyerSeller");
        let role = |k: &str| {
            bs.and_then(|b| b.get(k))
                .and_then(Value::as_str)
                .and_then(|r| t.role(r))
        };
        let et = item.get("exerciseTerms");
        let style_v = et.and_then(|e| e.get("optionStyle"));
        let (style, ex) = match style_v {
            Some(s) if s.get("europeanExercise").is_some() => {
                (Some("European"), s.get("europeanExercise"))
            }
            Some(s) if s.get("americanExercise").is_some() => {
                (Some("American"), s.get("americanExercise"))
            }
            Some(s) if s.get("bermudaExercise").is_some() => {
                (Some("Bermuda"), s.get("bermudaExercise"))
            }
            // CDM 6: `exerciseTerms.style` with the dates on the exercise terms themselves.
            _ => match et.and_then(|e| e.get("style")).and_then(Value::as_str) {
                Some("European") => (Some("European"), et),
                Some("American") => (Some("American"), et),
                Some("Bermuda") => (Some("Bermuda"), et),
                _ => (None, et),
            },
        };
        let expiration = ex
            .and_then(|e| e.get("expirationDate"))
            .and_then(|d| d.as_array().and_then(|a| a.first()).or(Some(d)))
            .and_then(|d| self.date(d));
        let earliest = ex
            .and_then(|e| e.get("commencementDate"))
            .and_then(|d| self.date(d));
        let strike = et
            .and_then(|e| e.get("strike"))
            .or_else(|| item.get("strike"))
            .and_then(|s| s.get("strikePrice"))
            .and_then(|p| self.price(p));
        let st = item.get("settlementTerms");
        let underlier_v = item.get("underlier");
        let mut fx_legs = Vec::new();
        if let Some(fx) = underlier_v.and_then(|u| u.get("foreignExchange")) {
            for k in ["exchangedCurrency1", "exchangedCurrency2"] {
                if let Some(c) = fx.get(k) {
                    let q = c
                        .get("priceQuantity")
                        .and_then(|pq| pq.get("quantitySchedule"))
                        .map(|q| self.quantity(q))
                        .unwrap_or_default();
                    fx_legs.push((q, self.flow(c, t)));
                }
            }
        }
        let _ = path;
        Ok(OptionPayout {
            buyer: role("buyer"),
            seller: role("seller"),
            flow: self.flow(item, t),
            option_type: item
                .get("optionType")
                .and_then(Value::as_str)
                .map(str::to_owned),
            style: style.map(str::to_owned),
            expiration,
            earliest_exercise: earliest,
            strike,
            settlement_type: st
                .and_then(|s| s.get("settlementType"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            settlement_currency: st
                .and_then(|s| s.get("settlementCurrency"))
                .and_then(unwrap_str)
                .map(str::to_owned),
            settlement_date: st.and_then(|s| s.get("settlementDate")).and_then(|d| {
                d.get("valueDate")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| {
                        d.get("adjustableOrRelativeDate")
                            .and_then(|a| a.get("adjustableDate"))
                            .and_then(|a| self.date(&serde_json::json!({"adjustableDate": a})))
                    })
            }),
            quantity: self.payout_quantity(item),
            underlier: underlier_v.and_then(|u| self.underlier(u)),
            fx_legs,
        })
    }

    fn period(v: Option<&Value>) -> Option<Period> {
        let v = v?;
        Some(Period {
            multiplier: v.get("periodMultiplier").and_then(Value::as_i64)?,
            unit: v.get("period").and_then(Value::as_str)?.to_owned(),
        })
    }

    fn rate_leg(&self, item: &Value, t: &Trade) -> RateLeg {
        let rs = item.get("rateSpecification");
        let pick = |names: &[&str]| names.iter().find_map(|n| rs.and_then(|r| r.get(*n)));
        let fixed = pick(&[
            "fixedRate",
            "fixedRateSpecification",
            "FixedRateSpecification",
        ]);
        let floating = pick(&[
            "floatingRate",
            "floatingRateSpecification",
            "FloatingRateSpecification",
        ]);
        let fixed_rate = fixed.and_then(|f| {
            f.get("rateSchedule")
                .and_then(|s| s.get("price").or_else(|| s.get("initialValue")))
                .and_then(|p| {
                    self.price(p)
                        .map(|p| p.value)
                        .or_else(|| p.get("value").and_then(Value::as_f64))
                })
        });
        let rate_option = floating
            .and_then(|f| f.get("rateOption"))
            .map(|o| self.deref(o));
        let rate_option = rate_option.map(|o| {
            let o = if o.get("value").is_some_and(Value::is_object) {
                &o["value"]
            } else {
                o
            };
            // CDM 6: `{"Index": {"InterestRateIndex": {"value": {"FloatingRateIndex": …}}}}`.
            let o = o
                .get("Index")
                .and_then(|i| i.get("InterestRateIndex"))
                .map(|i| i.get("value").unwrap_or(i))
                .unwrap_or(o);
            o.get("FloatingRateIndex").unwrap_or(o)
        });
        let cpd = item.get("calculationPeriodDates");
        RateLeg {
            flow: self.flow(item, t),
            notional: self.payout_quantity(item),
            fixed_rate,
            floating_index: rate_option
                .and_then(|o| o.get("floatingRateIndex"))
                .and_then(unwrap_str)
                .map(str::to_owned),
            floating_tenor: Self::period(rate_option.and_then(|o| o.get("indexTenor"))),
            spread: floating
                .and_then(|f| f.get("spreadSchedule"))
                .and_then(|s| s.get("price").or_else(|| s.get("initialValue")))
                .and_then(|p| self.price(p).map(|p| p.value)),
            day_count: item
                .get("dayCountFraction")
                .and_then(unwrap_str)
                .map(str::to_owned),
            payment_frequency: Self::period(
                item.get("paymentDates")
                    .and_then(|p| p.get("paymentFrequency")),
            ),
            reset_frequency: Self::period(
                item.get("resetDates").and_then(|r| r.get("resetFrequency")),
            ),
            effective: cpd
                .and_then(|c| c.get("effectiveDate"))
                .and_then(|d| self.date(d)),
            termination: cpd
                .and_then(|c| c.get("terminationDate"))
                .and_then(|d| self.date(d)),
        }
    }

    fn performance(&self, item: &Value, t: &Trade) -> PerformanceLeg {
        let st = item.get("settlementTerms");
        PerformanceLeg {
            flow: self.flow(item, t),
            notional: self.payout_quantity(item),
            underlier: item.get("underlier").and_then(|u| self.underlier(u)),
            return_type: item
                .get("returnTerms")
                .and_then(|r| {
                    r.get("priceReturnTerms")
                        .or_else(|| r.get("totalReturnTerms"))
                })
                .and_then(|r| r.get("returnType"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            settlement_type: st
                .and_then(|s| s.get("settlementType"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            settlement_currency: st
                .and_then(|s| s.get("settlementCurrency"))
                .and_then(unwrap_str)
                .map(str::to_owned),
        }
    }

    fn forward(&self, item: &Value, t: &Trade) -> ForwardLeg {
        let mut legs = Vec::new();
        if let Some(fx) = item
            .get("underlier")
            .and_then(|u| u.get("foreignExchange"))
            .or_else(|| item.get("foreignExchange"))
        {
            for k in ["exchangedCurrency1", "exchangedCurrency2"] {
                if let Some(c) = fx.get(k) {
                    let q = c
                        .get("priceQuantity")
                        .and_then(|pq| pq.get("quantitySchedule"))
                        .map(|q| self.quantity(q))
                        .unwrap_or_default();
                    legs.push((q, self.flow(c, t)));
                }
            }
        }
        if legs.is_empty() {
            // CDM 6 `SettlementPayout`: the payer delivers the quantity (the underlier's
            // currency) and receives the other currency of the trade lot.
            let flow = self.flow(item, t);
            if let Some(q1) = self.payout_quantity(item) {
                let other = t
                    .lot_quantities
                    .iter()
                    .find(|q| q.currency.is_some() && q.currency != q1.currency)
                    .cloned();
                legs.push((q1, flow.clone()));
                if let Some(q2) = other {
                    legs.push((
                        q2,
                        PayerReceiver {
                            payer: flow.receiver,
                            receiver: flow.payer,
                        },
                    ));
                }
            }
        }
        let rate = item
            .get("priceQuantity")
            .and_then(|pq| pq.get("priceSchedule"))
            .and_then(|p| p.get(0))
            .and_then(|p| self.price(p));
        let st = item.get("settlementTerms");
        ForwardLeg {
            legs,
            value_date: st
                .and_then(|s| s.get("settlementDate"))
                .and_then(|d| d.get("valueDate"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            rate,
            settlement_type: st
                .and_then(|s| s.get("settlementType"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            settlement_currency: st
                .and_then(|s| s.get("settlementCurrency"))
                .and_then(unwrap_str)
                .map(str::to_owned),
        }
    }
}
