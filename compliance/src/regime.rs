//! The reporting regimes: who they are, what each one's transaction report holds, how its
//! formats differ from the common fields of [`crate::elements`], when it applies to a trade and
//! its deadline.
//!
//! The field lists are each regime's transaction report as ISDA DRR 6.10 builds it for the
//! products we read (options, interest-rate, equity and FX products); a field a regime has that
//! no rule of ours fills is not listed (the catalogue still holds its provision). Formats that
//! differ by regime are written out in [`regime_value`] with the provision that asks for them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::cdm::Trade;
use crate::elements::{Cell, Elements, num};

/// A reporting deadline and where it comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Deadline {
    /// Short form (`T+1`).
    pub short: &'static str,
    /// The rule in full, in English.
    pub rule: &'static str,
    /// The rule in full, in Chinese.
    pub rule_zh: &'static str,
    /// The legal source (article or rule number).
    pub source: &'static str,
}

/// One reporting regime's transaction report.
#[derive(Debug, Clone, Serialize)]
pub struct Regime {
    /// Stable id, as ISDA DRR names the report (`esma-emir-trade`).
    pub id: &'static str,
    /// Its name in English (`EU EMIR Refit`).
    pub name: &'static str,
    /// Its name in Chinese.
    pub name_zh: &'static str,
    /// The authority that runs it (`U.S. Commodity Futures Trading Commission`).
    pub authority: &'static str,
    /// The supervisory-body codes that make a party subject to it (`reportableInformation`).
    pub bodies: &'static [&'static str],
    /// The regime key in the provisions file (`esma`).
    pub provisions: &'static str,
    /// The fields of the report, in the common names.
    pub fields: &'static [&'static str],
    /// When its report is due.
    pub deadline: Deadline,
}

const COMMON_CORE: &[&str] = &[
    "actionType",
    "eventType",
    "uniqueTransactionIdentifier",
    "counterparty1",
    "counterparty2",
    "reportSubmittingEntityID",
    "reportingTimestamp",
    "executionTimestamp",
    "effectiveDate",
    "expirationDate",
    "cleared",
    "leg1.notionalAmount",
    "leg1.notionalCurrency",
    "leg2.notionalAmount",
    "leg2.notionalCurrency",
    "leg1.fixedRate",
    "leg1.periodicPayment.fixedRateDayCountConvention",
    "leg1.periodicPayment.fixedRatePaymentFrequencyPeriod",
    "leg1.periodicPayment.fixedRatePaymentFrequencyPeriodMultiplier",
    "leg2.periodicPayment.floatingRateDayCountConvention",
    "leg2.periodicPayment.floatingRatePaymentFrequencyPeriod",
    "leg2.periodicPayment.floatingRatePaymentFrequencyPeriodMultiplier",
    "strikePrice.monetary",
    "strikePriceCurrency",
    "strikePriceNotation",
    "optionPremiumAmount",
    "optionPremiumCurrency",
    "exchangeRateBasis",
];

macro_rules! fields {
    ($($extra:literal),* $(,)?) => {{
        const EXTRA: &[&str] = &[$($extra),*];
        EXTRA
    }};
}

const EMIR: &[&str] = fields![
    "assetClass",
    "basketConstituents[].identifier",
    "brokerID",
    "clearingObligation",
    "clearingThresholdOfCounterparty1",
    "clearingThresholdOfCounterparty2",
    "collateralPortfolioCode",
    "collateralPortfolioIndicator",
    "confirmed",
    "contractType",
    "corporateSectorOfTheCounterparty1",
    "corporateSectorOfTheCounterparty2",
    "counterparty2IdentifierType",
    "cryptoAssetUnderlyingIndicator",
    "deliveryType",
    "direction1",
    "entityResponsibleForReporting",
    "eventDate",
    "finalContractualSettlementDate",
    "forwardExchangeRate",
    "intragroup",
    "leg1.direction2",
    "leg1.settlementCurrency",
    "leg1.totalNotionalQuantity",
    "leg2.direction2",
    "leg2.periodicPayment.floatingRateIndicator",
    "leg2.periodicPayment.floatingRateReferencePeriod",
    "leg2.periodicPayment.floatingRateReferencePeriodMultiplier",
    "leg2.periodicPayment.floatingRateResetFrequencyMultiplier",
    "leg2.periodicPayment.floatingRateResetFrequencyPeriod",
    "level",
    "masterAgreementType",
    "masterAgreementVersion",
    "nameOfTheUnderlyingIndex",
    "natureOfCounterparty1",
    "natureOfCounterparty2",
    "optionPremiumPaymentDate",
    "optionStyle",
    "optionType",
    "productClassification",
    "ptrr",
    "reportingObligationOfTheCounterparty2",
    "underlyingIdentification",
    "underlyingIdentificationType",
    "venueOfExecution",
];

const CFTC43: &[&str] = fields![
    "blockTradeElectionIndicator",
    "callAmount",
    "callCurrency",
    "cftcGuidebook.assetClass",
    "cftcGuidebook.largeNotionalOffFacilitySwapElectionIndicator",
    "cftcGuidebook.mandatoryClearingIndicator",
    "cftcGuidebook.messageType",
    "cftcGuidebook.optionStyle",
    "cftcGuidebook.optionType",
    "cftcGuidebook.physicalCommodityIndicator",
    "cftcGuidebook.sefOrDcmAnonymousExecutionIndicator",
    "cftcGuidebook.sefOrDcmIndicator",
    "cftcGuidebook.settlementType",
    "counterparty2IdentifierSource",
    "customBasketIndicator",
    "eventTimestamp",
    "exchangeRate",
    "firstExerciseDate",
    "leg1.quantityUnitOfMeasure",
    "leg1.settlementCurrency",
    "leg1.totalNotionalQuantity",
    "leg2.periodicPayment.floatingRateResetFrequencyMultiplier",
    "leg2.periodicPayment.floatingRateResetFrequencyPeriod",
    "leg2.settlementCurrency",
    "nonStandardizedTermIndicator",
    "packageIndicator",
    "postPricedSwapIndicator",
    "primeBrokerageTransactionIndicator",
    "putAmount",
    "putCurrency",
];

const CFTC45_EXTRA: &[&str] = fields![
    "allocationIndicator",
    "buyerIdentifier",
    "sellerIdentifier",
    "counterparty1FederalEntityIndicator",
    "counterparty1FinancialEntityIndicator",
    "counterparty2FederalEntityIndicator",
    "counterparty2FinancialEntityIndicator",
    "eventIdentifier",
    "finalContractualSettlementDate",
    "jurisdiction",
    "leg1.payerIdentifier",
    "leg1.payerIdentifierFormat",
    "leg1.receiverIdentifier",
    "leg1.receiverIdentifierFormat",
    "leg2.payerIdentifier",
    "leg2.payerIdentifierFormat",
    "leg2.receiverIdentifier",
    "leg2.receiverIdentifierFormat",
    "optionPremiumPaymentDate",
];

const ASIC: &[&str] = fields![
    "assetClass",
    "basketConstituents[].identifier",
    "basketConstituents[].source",
    "brokerID",
    "callAmount",
    "callCurrency",
    "collateralPortfolioIndicator",
    "contractType",
    "counterparty2IdentifierType",
    "direction1",
    "entityResponsibleForReporting",
    "eventIdentifier",
    "eventTimestamp",
    "leg1.direction2",
    "leg1.notionalQuantity",
    "leg1.quantityUnitOfMeasure",
    "leg1.settlementCurrency",
    "leg1.totalNotionalQuantity",
    "leg2.direction2",
    "leg2.settlementCurrency",
    "optionPremiumPaymentDate",
    "putAmount",
    "putCurrency",
    "secondaryTransactionIdentifier",
    "underlyingIdOther",
    "underlyingIdOtherSource",
    "underlyingIdentification",
    "underlyingIdentificationType",
    "variationMarginCollateralPortfolioCode",
];

const MAS: &[&str] = fields![
    "assetClass",
    "basketConstituents[].identifier",
    "basketConstituents[].source",
    "bookingLocation",
    "callAmount",
    "callCurrency",
    "collateralPortfolioIndicator",
    "confirmed",
    "contractType",
    "counterparty2IdentifierType",
    "deliveryType",
    "direction1",
    "eventTimestamp",
    "exchangeRate",
    "finalContractualSettlementDate",
    "firstExerciseDate",
    "leg1.direction2",
    "leg1.notionalQuantity",
    "leg1.quantityUnitOfMeasure",
    "leg1.settlementCurrency",
    "leg1.totalNotionalQuantity",
    "leg2.direction2",
    "leg2.periodicPayment.floatingRateResetFrequencyMultiplier",
    "leg2.periodicPayment.floatingRateResetFrequencyPeriod",
    "leg2.settlementCurrency",
    "nameOfTheUnderlyingIndex",
    "optionStyle",
    "optionType",
    "putAmount",
    "putCurrency",
    "reportingSpecifiedPerson",
    "underlyingIdOther",
    "underlyingIdOtherSource",
    "underlyingIdentification",
    "underlyingIdentificationType",
];

const HKMA: &[&str] = fields![
    "assetClass",
    "basketConstituents[].identifier",
    "basketConstituents[].source",
    "bookingLocation",
    "brokerID",
    "brokerIdentifierFormat",
    "callAmount",
    "callCurrency",
    "collateralPortfolioIndicator",
    "confirmed",
    "contractType",
    "corporateSectorOfTheCounterparty1",
    "corporateSectorOfTheCounterparty2",
    "counterparty2IdentifierFormat",
    "counterparty2IdentifierType",
    "cryptoAssetUnderlyingIndicator",
    "deliveryType",
    "direction1",
    "entityResponsibleForReporting",
    "eventIdentifier",
    "eventTimestamp",
    "exchangeRate",
    "finalContractualSettlementDate",
    "firstExerciseDate",
    "intragroup",
    "leg1.direction2",
    "leg1.notionalQuantity",
    "leg1.quantityUnitOfMeasure",
    "leg1.settlementCurrency",
    "leg1.totalNotionalQuantity",
    "leg2.direction2",
    "leg2.periodicPayment.floatingRateIndicator",
    "leg2.periodicPayment.floatingRateReferencePeriod",
    "leg2.periodicPayment.floatingRateReferencePeriodMultiplier",
    "leg2.settlementCurrency",
    "nameOfTheUnderlyingIndex",
    "natureOfCounterparty1",
    "natureOfCounterparty2",
    "nonStandardizedTermIndicator",
    "optionPremiumPaymentDate",
    "optionStyle",
    "optionType",
    "putAmount",
    "putCurrency",
    "secondaryTransactionIdentifier",
    "technicalRecordId",
    "underlyingIdOther",
    "underlyingIdOtherSource",
    "underlyingIdentification",
    "underlyingIdentificationType",
];

const JFSA: &[&str] = fields![
    "assetClass",
    "basketConstituents[].identifier",
    "basketConstituents[].source",
    "callAmount",
    "callCurrency",
    "collateralPortfolioIndicator",
    "confirmed",
    "contractType",
    "counterparty2IdentifierType",
    "cryptoAssetUnderlyingIndicator",
    "deliveryType",
    "direction1",
    "entityResponsibleForReporting",
    "eventIdentifier",
    "eventTimestamp",
    "exchangeRate",
    "finalContractualSettlementDate",
    "firstExerciseDate",
    "leg1.direction2",
    "leg1.quantityUnitOfMeasure",
    "leg1.settlementCurrency",
    "leg1.totalNotionalQuantity",
    "leg2.direction2",
    "leg2.periodicPayment.floatingRateIndicator",
    "leg2.periodicPayment.floatingRateReferencePeriod",
    "leg2.periodicPayment.floatingRateReferencePeriodMultiplier",
    "leg2.periodicPayment.floatingRateResetFrequencyMultiplier",
    "leg2.periodicPayment.floatingRateResetFrequencyPeriod",
    "leg2.settlementCurrency",
    "nameOfTheUnderlyingIndex",
    "optionPremiumPaymentDate",
    "optionStyle",
    "optionType",
    "putAmount",
    "putCurrency",
    "strikePrice.decimal",
    "technicalRecordId",
    "underlyingIdentification",
    "underlyingIdentificationType",
    "underlyingIndexIndicator",
];

const CSA: &[&str] = fields![
    "basketConstituents[].identifier",
    "basketConstituents[].source",
    "brokerID",
    "buyerIdentifier",
    "callAmount",
    "callCurrency",
    "counterparty2IdentifierSource",
    "customBasketIndicator",
    "dtccAdditionalFields.allocationType",
    "dtccAdditionalFields.messageID",
    "dtccAdditionalFields.messageTypeTransaction",
    "dtccAdditionalFields.optionStyle",
    "dtccAdditionalFields.optionType",
    "dtccAdditionalFields.primaryAssetClass",
    "dtccAdditionalFields.settlementType",
    "dtccAdditionalFields.submittedForParty",
    "dtccAdditionalFields.submittingPartyIDType",
    "dtccAdditionalFields.tradeParty1BrokerIDType",
    "dtccAdditionalFields.tradeParty1IDType",
    "dtccAdditionalFields.tradeParty1ReportingDestination",
    "dtccAdditionalFields.tradeParty2ReportingDestination",
    "dtccAdditionalFields.tradeParty1TransactionID",
    "dtccAdditionalFields.versionTransaction",
    "dtccAdditionalFields.underlyingAsset[].underlyingAssetID",
    "dtccAdditionalFields.underlyingAsset[].underlyingAssetIDType",
    "eventIdentifier",
    "eventTimestamp",
    "exchangeRate",
    "finalContractualSettlementDate",
    "firstExerciseDate",
    "jurisdictionOfCounterparty1",
    "jurisdictionOfCounterparty2",
    "leg1.commodityInstrumentID",
    "leg1.cryptoAssetUnderlyingIndicator",
    "leg1.notionalQuantity",
    "leg1.payerIdentifier",
    "leg1.quantityUnitOfMeasure",
    "leg1.receiverIdentifier",
    "leg1.settlementCurrency",
    "leg1.totalNotionalQuantity",
    "leg1.underlierIDOther",
    "leg1.underlierIDOtherSource",
    "leg2.payerIdentifier",
    "leg2.periodicPayment.floatingRateResetFrequencyMultiplier",
    "leg2.periodicPayment.floatingRateResetFrequencyPeriod",
    "leg2.receiverIdentifier",
    "leg2.settlementCurrency",
    "leg2.underlierIDOther",
    "leg2.underlierIDOtherSource",
    "level",
    "masterAgreementType",
    "masterAgreementVersion",
    "nonStandardizedTermIndicator",
    "optionPremiumPaymentDate",
    "packageIndicator",
    "putAmount",
    "putCurrency",
    "sellerIdentifier",
];

/// China's JR/T 0294.3—2024 "other critical data elements" we can fill: the standard's part 3
/// (dates, timestamps in UTC+8, counterparties, clearing, platform, confirmation, settlement,
/// periodic payments, collateral portfolio). Its price, notional and quantity elements are
/// published separately and are not in the catalogue.
const JRT: &[&str] = &[
    "effectiveDate",
    "expirationDate",
    "reportingTimestamp",
    "executionTimestamp",
    "counterparty1",
    "counterparty2",
    "counterparty2IdentifierType",
    "direction1",
    "leg1.direction2",
    "leg2.direction2",
    "cleared",
    "venueOfExecution",
    "confirmed",
    "finalContractualSettlementDate",
    "leg1.settlementCurrency",
    "leg2.settlementCurrency",
    "leg1.periodicPayment.fixedRateDayCountConvention",
    "leg2.periodicPayment.floatingRateDayCountConvention",
    "leg1.periodicPayment.fixedRatePaymentFrequencyPeriod",
    "leg2.periodicPayment.floatingRatePaymentFrequencyPeriod",
    "leg1.periodicPayment.fixedRatePaymentFrequencyPeriodMultiplier",
    "leg2.periodicPayment.floatingRatePaymentFrequencyPeriodMultiplier",
    "collateralPortfolioIndicator",
    "collateralPortfolioCode",
];

/// Every regime we generate, in display order.
pub fn regimes() -> &'static [Regime] {
    use std::sync::OnceLock;
    static ALL: OnceLock<Vec<Regime>> = OnceLock::new();
    ALL.get_or_init(|| {
        let join = |a: &[&'static str], b: &[&'static str]| -> &'static [&'static str] {
            let mut v: Vec<&'static str> = a.iter().chain(b.iter()).copied().collect();
            v.sort_unstable();
            v.dedup();
            Box::leak(v.into_boxed_slice())
        };
        let cftc43 = join(COMMON_CORE, CFTC43);
        let cftc45 = join(cftc43, CFTC45_EXTRA);
        vec![
            Regime {
                id: "cftc-part43",
                name: "CFTC Part 43 (real-time public reporting)",
                name_zh: "美国CFTC第43部分（实时公开报告）",
                authority: "U.S. Commodity Futures Trading Commission",
                bodies: &["CFTC"],
                provisions: "cftc",
                fields: cftc43,
                deadline: Deadline {
                    short: "ASATP",
                    rule: "As soon as technologically practicable after execution (block trades and large notional off-facility swaps may be delayed)",
                    rule_zh: "执行后在技术可行的情况下尽快报告（大宗交易可延迟）",
                    source: "17 CFR 43.3(b)",
                },
            },
            Regime {
                id: "cftc-part45",
                name: "CFTC Part 45 (swap data reporting)",
                name_zh: "美国CFTC第45部分（掉期数据报告）",
                authority: "U.S. Commodity Futures Trading Commission",
                bodies: &["CFTC"],
                provisions: "cftc",
                fields: cftc45,
                deadline: Deadline {
                    short: "T+1 (SD/MSP), T+2 (others)",
                    rule: "Swap dealers, major swap participants, SEFs and DCMs: by the end of the next business day after execution; other counterparties: by the end of the second business day",
                    rule_zh: "掉期交易商、主要掉期参与者：执行后下一营业日结束前；其他交易对手方：第二个营业日结束前",
                    source: "17 CFR 45.3",
                },
            },
            Regime {
                id: "esma-emir-trade",
                name: "EU EMIR Refit",
                name_zh: "欧盟EMIR Refit",
                authority: "European Securities and Markets Authority",
                bodies: &["ESMA"],
                provisions: "esma",
                fields: join(COMMON_CORE, EMIR),
                deadline: Deadline {
                    short: "T+1",
                    rule: "No later than the working day following the conclusion, modification or termination of the contract",
                    rule_zh: "不迟于合约订立、修改或终止后的下一个工作日",
                    source: "Regulation (EU) No 648/2012 (EMIR), Article 9(1)",
                },
            },
            Regime {
                id: "fca-ukemir-trade",
                name: "UK EMIR",
                name_zh: "英国EMIR",
                authority: "Financial Conduct Authority (UK)",
                bodies: &["FCA"],
                provisions: "fca",
                fields: join(COMMON_CORE, EMIR),
                deadline: Deadline {
                    short: "T+1",
                    rule: "No later than the working day following the conclusion, modification or termination of the contract",
                    rule_zh: "不迟于合约订立、修改或终止后的下一个工作日",
                    source: "UK EMIR (retained Regulation (EU) No 648/2012), Article 9(1)",
                },
            },
            Regime {
                id: "asic-trade",
                name: "ASIC Derivative Transaction Rules (Reporting) 2024",
                name_zh: "澳大利亚ASIC衍生品交易报告规则（2024）",
                authority: "Australian Securities and Investments Commission",
                bodies: &["ASIC"],
                provisions: "asic",
                fields: join(COMMON_CORE, ASIC),
                deadline: Deadline {
                    short: "T+2",
                    rule: "As soon as practicable and no later than the end of the second business day after the transaction",
                    rule_zh: "尽快报告，不迟于交易后第二个营业日结束",
                    source: "ASIC Derivative Transaction Rules (Reporting) 2024, rule 2.2.1",
                },
            },
            Regime {
                id: "mas-trade",
                name: "MAS Securities and Futures (Reporting of Derivatives Contracts) Regulations",
                name_zh: "新加坡金融管理局衍生品合约报告规例",
                authority: "Monetary Authority of Singapore",
                bodies: &["MAS"],
                provisions: "mas",
                fields: join(COMMON_CORE, MAS),
                deadline: Deadline {
                    short: "T+2",
                    rule: "No later than two business days after the trade",
                    rule_zh: "不迟于交易后两个营业日",
                    source: "Securities and Futures (Reporting of Derivatives Contracts) Regulations 2013, regulation 7",
                },
            },
            Regime {
                id: "hkma-trade",
                name: "HKMA OTC derivatives reporting",
                name_zh: "香港金融管理局场外衍生工具报告",
                authority: "Hong Kong Monetary Authority",
                bodies: &["HKMA"],
                provisions: "hkma",
                fields: join(COMMON_CORE, HKMA),
                deadline: Deadline {
                    short: "T+2",
                    rule: "Within two business days after the transaction",
                    rule_zh: "交易后两个营业日内",
                    source: "Securities and Futures (OTC Derivative Transactions—Reporting and Record Keeping Obligations) Rules, section 9",
                },
            },
            Regime {
                id: "jfsa-trade",
                name: "JFSA OTC derivatives reporting",
                name_zh: "日本金融厅场外衍生品报告",
                authority: "Japan Financial Services Agency",
                bodies: &["JFSA"],
                provisions: "jfsa",
                fields: join(COMMON_CORE, JFSA),
                deadline: Deadline {
                    short: "T+1",
                    rule: "By the business day following the trade",
                    rule_zh: "交易后的下一个营业日",
                    source: "Cabinet Office Ordinance on OTC Derivatives Transactions, Article 6",
                },
            },
            Regime {
                id: "csa-trade",
                name: "CSA (Canada) trade reporting",
                name_zh: "加拿大证券管理局交易报告",
                authority: "Canadian Securities Administrators",
                bodies: &["CA.AB.ASC", "CA.ON.OSC", "CA.QC.AMF", "CA.BC.BCSC", "CA.MB.MSC", "CA.NS.NSSC", "CA.NB.FCSC", "CA.SK.FCAA", "CA.NL.OSR", "CA.PE.OSS", "CA.NT.OSS", "CA.NU.OSS", "CA.YT.OSS"],
                provisions: "csa",
                fields: join(COMMON_CORE, CSA),
                deadline: Deadline {
                    short: "T+1 (dealers), T+2 (others)",
                    rule: "By the end of the business day following execution; a non-dealer reporting counterparty by the end of the second business day",
                    rule_zh: "执行后下一营业日结束前；非交易商报告方为第二个营业日结束前",
                    source: "Multilateral Instrument 96-101 / OSC Rule 91-507, section 31",
                },
            },
            Regime {
                id: "cn-jrt0294",
                name: "China JR/T 0294.3—2024 critical data elements (part 3)",
                name_zh: "中国 JR/T 0294.3—2024 金融市场交易报告关键数据要素（第3部分）",
                authority: "People's Bank of China / SAC/TC 180 (financial standard)",
                bodies: &["PBOC", "CSRC", "NFRA", "CFETS", "SHCH", "CFMMC", "SAC"],
                provisions: "jrt",
                fields: JRT,
                deadline: Deadline {
                    short: "not set by the standard",
                    rule: "JR/T 0294.3 is a data standard: it defines the elements and their formats; the reporting deadline is set by the repository's own rules, not by this standard",
                    rule_zh: "JR/T 0294.3 为数据标准，只规定数据要素及格式；报告时限由交易报告库的规则规定，不在本标准中",
                    source: "JR/T 0294.3—2024 scope (clause 1)",
                },
            },
        ]
    })
}

/// The regime with this id.
pub fn regime(id: &str) -> Option<&'static Regime> {
    regimes().iter().find(|r| r.id == id)
}

/// How a party is placed under a regime for this trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Counterparty 1 is subject to it and reports.
    ReportingParty,
    /// Only counterparty 2 is subject to it (its own report, or one delegated to us).
    CounterpartyOnly,
    /// Neither party is subject to it; generated because it was asked for.
    Requested,
}

/// Which regimes apply to the trade and how.
pub fn applicable(t: &Trade) -> Vec<(&'static Regime, Role)> {
    let cp1 = t.bodies_of(t.reporting.reporting_party);
    let cp2 = t.bodies_of(t.reporting.counterparty);
    let has = |bodies: &[String], r: &Regime| {
        bodies
            .iter()
            .any(|b| r.bodies.iter().any(|x| x.eq_ignore_ascii_case(b)))
    };
    regimes()
        .iter()
        .filter_map(|r| {
            if has(&cp1, r) {
                Some((r, Role::ReportingParty))
            } else if has(&cp2, r) {
                Some((r, Role::CounterpartyOnly))
            } else {
                None
            }
        })
        .collect()
}

/// One regime's report for one trade: every field of the regime that applies to the trade.
pub fn report(regime: &Regime, t: &Trade, e: &Elements) -> BTreeMap<String, Cell> {
    let mut out = BTreeMap::new();
    for key in regime.fields {
        // `list[].field`: every element of a repeated block.
        if let Some((head, tail)) = key.split_once("[]") {
            for (k, c) in e.iter() {
                let Some(rest) = k.strip_prefix(head).and_then(|r| r.strip_prefix('[')) else {
                    continue;
                };
                let Some((ix, field)) = rest.split_once(']') else {
                    continue;
                };
                if ix.parse::<usize>().is_ok() && field == tail {
                    out.insert(k.clone(), c.clone());
                }
            }
            continue;
        }
        if let Some(cell) = regime_value(regime, key, t, e) {
            out.insert((*key).to_owned(), cell);
        }
    }
    out
}

fn party_facts<'t>(
    t: &'t Trade,
    regime: &Regime,
    which: u8,
) -> Option<&'t crate::cdm::RegimeFacts> {
    let party = if which == 1 {
        t.reporting.reporting_party
    } else {
        t.reporting.counterparty
    };
    regime.bodies.iter().find_map(|b| t.regime_facts(party, b))
}

fn nature_code(n: &str) -> &'static str {
    match n {
        "Financial" => "F",
        "NonFinancial" => "N",
        "CentralCounterparty" => "C",
        _ => "O",
    }
}

/// A timestamp with its fraction of a second written to nanoseconds (`.868542600Z`), as the
/// HKMA technical record id carries it.
fn nanos(ts: &str) -> String {
    match ts.split_once('.') {
        Some((head, frac)) => {
            let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
            let rest = &frac[digits.len()..];
            format!("{head}.{digits:0<9}{rest}")
        }
        None => ts.to_owned(),
    }
}

fn s(e: &Elements, k: &str) -> Option<String> {
    e.get(k)
        .and_then(Cell::value)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The value of `key` in `regime`'s report, or `None` where the field does not apply.
pub fn regime_value(regime: &Regime, key: &str, t: &Trade, e: &Elements) -> Option<Cell> {
    let v = |x: Value| Some(Cell::Value { value: x });
    let d = |x: Value, why: &str| {
        Some(Cell::Default {
            value: x,
            reason: why.to_owned(),
        })
    };
    let missing = |why: &str| {
        Some(Cell::Missing {
            needed: why.to_owned(),
        })
    };
    let emir_like = matches!(regime.id, "esma-emir-trade" | "fca-ukemir-trade");
    let option = t.option();
    let fx = option.is_some_and(|o| !o.fx_legs.is_empty());
    match key {
        // JR/T 0294.3 timestamps are Beijing time (UTC+8), 5.1.4 and 5.1.5.
        "reportingTimestamp" | "executionTimestamp" if regime.id == "cn-jrt0294" => {
            let ts = s(e, key)?;
            match crate::compare::to_beijing(&ts) {
                Some(b) => v(json!(b)),
                None => missing(&format!(
                    "a timestamp that can be written in UTC+8 (got {ts:?})"
                )),
            }
        }
        // EMIR writes rates as percentages (field 2.79 "Fixed rate of leg 1 … expressed as a
        // percentage"); the other regimes as decimals.
        "leg1.fixedRate" | "leg2.fixedRate" if emir_like => {
            let x = e.get(key)?.value()?.as_f64()?;
            v(num((x * 100.0 * 1e10).round() / 1e10))
        }
        "natureOfCounterparty1" | "natureOfCounterparty2" => {
            let which = if key.ends_with('1') { 1 } else { 2 };
            match party_facts(t, regime, which).and_then(|f| f.nature.as_deref()) {
                Some(n) => v(json!(nature_code(n))),
                None => missing(&format!(
                    "the nature of counterparty {which} (financial, non-financial, CCP) under {}",
                    regime.name
                )),
            }
        }
        "corporateSectorOfTheCounterparty1" | "corporateSectorOfTheCounterparty2" => {
            let which = if key.ends_with('1') { 1 } else { 2 };
            match party_facts(t, regime, which).map(|f| f.sectors.clone()) {
                Some(s) if !s.is_empty() => v(json!(s)),
                _ => missing(&format!(
                    "the corporate sector of counterparty {which} under {}",
                    regime.name
                )),
            }
        }
        "clearingThresholdOfCounterparty1" | "clearingThresholdOfCounterparty2" => {
            let which = if key.ends_with('1') { 1 } else { 2 };
            match party_facts(t, regime, which).and_then(|f| f.exceeds_clearing_threshold) {
                Some(b) => v(json!(b)),
                None => missing(&format!(
                    "whether counterparty {which} is above the clearing threshold under {}",
                    regime.name
                )),
            }
        }
        "reportingObligationOfTheCounterparty2" => {
            let f = party_facts(t, regime, 2);
            v(json!(f.is_some_and(
                |f| f.role.as_deref() == Some("ReportingParty")
            )))
        }
        "counterparty1FederalEntityIndicator" | "counterparty2FederalEntityIndicator" => d(
            json!(false),
            "no party fact says the counterparty is a U.S. federal entity",
        ),
        "counterparty1FinancialEntityIndicator" | "counterparty2FinancialEntityIndicator" => d(
            json!(false),
            "no party fact says the counterparty is a financial entity under CEA 2(h)(7)(C)",
        ),
        "jurisdiction" => {
            // The U.S. regulators either counterparty reports to; none, no field.
            let mut bodies = t.bodies_of(t.reporting.reporting_party);
            bodies.extend(t.bodies_of(t.reporting.counterparty));
            let cftc = bodies.iter().any(|b| b == "CFTC");
            let sec = bodies.iter().any(|b| b == "SEC");
            match (cftc, sec) {
                (true, true) => v(json!("MIXX")),
                (false, true) => v(json!("SEC")),
                (true, false) => v(json!("CFTC")),
                (false, false) => None,
            }
        }
        // No CFTC clearing mandate or large-notional election for FX (DRR leaves them out).
        "cftcGuidebook.mandatoryClearingIndicator"
        | "cftcGuidebook.largeNotionalOffFacilitySwapElectionIndicator"
            if s(e, "assetClass").as_deref() == Some("CURR") =>
        {
            None
        }
        // The guidebook's settlement type is for options and equity/commodity swaps, not rate
        // swaps.
        "cftcGuidebook.settlementType"
            if option.is_none() && s(e, "assetClass").as_deref() == Some("INTR") =>
        {
            None
        }
        // DTCC's own option and settlement fields are for commodity options (the others are
        // carried by the CDE fields).
        "dtccAdditionalFields.optionStyle"
        | "dtccAdditionalFields.optionType"
        | "dtccAdditionalFields.settlementType"
            if s(e, "assetClass").as_deref() != Some("COMM") =>
        {
            None
        }
        "cftcGuidebook.messageType" => v(json!(if regime.id == "cftc-part43" {
            "RT"
        } else {
            "Trade State"
        })),
        "dtccAdditionalFields.messageTypeTransaction" => v(json!("Trade State")),
        "dtccAdditionalFields.versionTransaction" => v(json!("CORE1.0")),
        "dtccAdditionalFields.submittingPartyIDType" | "dtccAdditionalFields.tradeParty1IDType" => {
            v(json!("LEI"))
        }
        "dtccAdditionalFields.tradeParty1BrokerIDType" => e.get("brokerID").map(|_| Cell::Value {
            value: json!("LEI"),
        }),
        "dtccAdditionalFields.submittedForParty" => e.get("counterparty1").cloned(),
        "dtccAdditionalFields.messageID" => {
            let id = t.message_id.clone().or(t.event_id.clone())?;
            let ts = s(e, "reportingTimestamp")?;
            // The reporting timestamp to the minute, `2024-04-29T00:00Z`.
            let minute = ts.get(..16).map(|m| format!("{m}Z")).unwrap_or(ts);
            v(json!(format!("{id}{minute}")))
        }
        "dtccAdditionalFields.tradeParty1ReportingDestination"
        | "dtccAdditionalFields.tradeParty2ReportingDestination" => {
            // DTCC's North American destinations go with trade party 1, the others with trade
            // party 2 (as DRR fills them).
            let first = key.contains("Party1");
            let party = if first {
                t.reporting.reporting_party
            } else {
                t.reporting.counterparty
            };
            let na = |b: &str| b == "CFTC" || b == "SEC" || b.starts_with("CA.");
            let mut bodies: Vec<String> = t
                .bodies_of(party)
                .into_iter()
                .filter(|b| na(b) == first)
                .collect();
            if first {
                bodies.retain(|b| !b.starts_with("CA.") || regime.bodies.contains(&b.as_str()));
                bodies.dedup();
                // One provincial regulator: the reporting one.
                let mut seen_ca = false;
                bodies.retain(|b| {
                    if b.starts_with("CA.") {
                        !std::mem::replace(&mut seen_ca, true)
                    } else {
                        true
                    }
                });
            }
            if bodies.is_empty() {
                None
            } else {
                v(json!(bodies))
            }
        }
        "jurisdictionOfCounterparty1" | "jurisdictionOfCounterparty2" => {
            let party = if key.ends_with('1') {
                t.reporting.reporting_party
            } else {
                t.reporting.counterparty
            };
            match t.party(party).and_then(|p| p.country.as_deref()) {
                Some("CA") => missing(
                    "the Canadian province or territory of the counterparty's head office or principal place of business",
                ),
                Some(_) => v(json!(["NON-CA"])),
                None => d(
                    json!(["NON-CA"]),
                    "no Canadian address is given for the counterparty",
                ),
            }
        }
        "technicalRecordId" if regime.id == "hkma-trade" => {
            let cp1 = s(e, "counterparty1")?;
            let cp2 = s(e, "counterparty2")?;
            let uti = s(e, "uniqueTransactionIdentifier")?;
            let ts = s(e, "eventTimestamp")?;
            v(json!(format!("HKMA-{cp1}-{cp2}-{uti}-{}", nanos(&ts))))
        }
        "technicalRecordId" => {
            let own = party_facts(t, regime, 1).and_then(|f| f.technical_record_id.clone());
            match own.or(t.event_id.clone()) {
                Some(id) => v(json!(id)),
                None => missing("the technical record id"),
            }
        }
        "eventIdentifier" if regime.id == "jfsa-trade" => {
            let own = party_facts(t, regime, 1).and_then(|f| f.technical_record_id.clone());
            own.or(t.event_id.clone())
                .map(|id| Cell::Value { value: json!(id) })
        }
        // JFSA reports an FX option's strike as a decimal rate.
        "strikePrice.monetary" if regime.id == "jfsa-trade" && fx => None,
        "strikePrice.decimal" if regime.id == "jfsa-trade" && !fx => None,
        "strikePriceNotation" if regime.id == "jfsa-trade" && fx => v(json!("Decimal")),
        // Exchange rates: the FX option's strike under the regimes that report one.
        "exchangeRate" | "forwardExchangeRate" if !fx => None,
        // Call and put amounts: HKMA reports them for every option; the other regimes for FX
        // options only.
        "callAmount" | "callCurrency" | "putAmount" | "putCurrency"
            if !fx && regime.id != "hkma-trade" =>
        {
            None
        }
        // The EMIR family identifies an underlier by ISIN, index or basket only.
        "underlyingIdentificationType"
            if emir_like || matches!(regime.id, "hkma-trade" | "jfsa-trade") =>
        {
            let c = e.get(key)?;
            if c.value().and_then(Value::as_str) == Some("O") {
                None
            } else {
                Some(c.clone())
            }
        }
        // DTCC's leg underlier for an FX trade: each leg's currency.
        "leg1.underlierIDOther" | "leg2.underlierIDOther" if fx => {
            let leg = if key.starts_with("leg1") { 1 } else { 2 };
            s(e, &format!("leg{leg}.notionalCurrency")).map(|c| Cell::Value { value: json!(c) })
        }
        "leg1.underlierIDOtherSource" | "leg2.underlierIDOtherSource" if fx => v(json!("CCY")),
        "leg1.underlierIDOther" | "leg2.underlierIDOther" => {
            if key.starts_with("leg2") {
                return None;
            }
            e.get("underlyingIdOther").cloned()
        }
        "leg1.underlierIDOtherSource" => e.get("underlyingIdOtherSource").cloned(),
        "leg2.underlierIDOtherSource" => None,
        "leg1.notionalQuantity" => {
            let o = option?;
            let q = o.quantity.as_ref()?;
            // A quantity by period (a schedule) has no one notional quantity.
            let scheduled =
                !q.schedule.is_empty() || t.lot_quantities.iter().any(|l| !l.schedule.is_empty());
            if q.currency.is_some() || scheduled {
                return None;
            }
            q.value.map(|x| Cell::Value { value: num(x) })
        }
        // A swap's directions are per leg; an option's is direction 1.
        "leg1.direction2" | "leg2.direction2" if option.is_some() => None,
        // CFTC and CSA identify payer and receiver for swaps, buyer and seller for options.
        "leg1.payerIdentifier"
        | "leg1.receiverIdentifier"
        | "leg2.payerIdentifier"
        | "leg2.receiverIdentifier"
            if option.is_some() =>
        {
            None
        }
        "buyerIdentifier" | "sellerIdentifier" if option.is_none() => None,
        "leg1.payerIdentifierFormat"
        | "leg1.receiverIdentifierFormat"
        | "leg2.payerIdentifierFormat"
        | "leg2.receiverIdentifierFormat" => Some(Cell::Value {
            value: json!("Lei"),
        }),
        // CFTC Part 43 is public: no premium payment date, no settlement date, no identities
        // beyond the counterparties the guidebook lists.
        "leg1.totalNotionalQuantity" if matches!(regime.id, "cftc-part43" | "cftc-part45") => {
            let c = e.get(key)?;
            if matches!(c, Cell::Default { .. }) {
                None
            } else {
                Some(c.clone())
            }
        }
        "leg1.quantityUnitOfMeasure" if emir_like => None,
        // `OTHR` (a number of contracts) is DTCC's; the other regimes leave the unit out.
        "leg1.quantityUnitOfMeasure" if regime.id != "csa-trade" => {
            let c = e.get(key)?;
            if c.value().and_then(Value::as_str) == Some("OTHR") {
                None
            } else {
                Some(c.clone())
            }
        }
        // CSA's provision for an unavailable total notional quantity: '99999999999999999999.99999'.
        "leg1.totalNotionalQuantity"
            if regime.id == "csa-trade" && matches!(e.get(key), Some(Cell::Default { .. })) =>
        {
            d(
                json!(99_999_999_999_999_999_999.999_99_f64),
                "the notional is an amount of money, so the quantity is not available: CSA's '99999999999999999999.99999'",
            )
        }
        _ => e.get(key).cloned(),
    }
}
