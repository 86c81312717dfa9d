//! The rule catalogue: every field provision of the regimes (ISDA DRR's regulatory references,
//! regulatory text and ISDA working-group interpretation kept apart), China's JR/T 0294.3
//! critical data elements, and the alignment of each report field to the CPMI-IOSCO critical
//! data element and the JR/T element that is "the same" field, so fields can be compared
//! across regimes.
//!
//! A catalogue is built from source texts ([`Catalogue::from_sources`]: the DRR provisions as
//! JSON lines, the JR/T elements as JSON); `assistant` keeps each loaded version in the store
//! and a firm's own provisions are added as a further source ([`Catalogue::add_provisions`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Why a catalogue source could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CatalogueError {
    /// A provisions line is not valid JSON of the expected shape.
    #[error("provisions line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The JR/T elements file is not the expected shape.
    #[error("JR/T 0294.3 elements: {0}")]
    Jrt(String),
    /// A provision id is used twice.
    #[error("provision id {0} is used twice")]
    Duplicate(String),
}

/// Regulatory text, or ISDA's reading of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The regulator's own words (rule text, technical standard, technical specification).
    RegulatoryText,
    /// An ISDA working group's interpretation, as DRR implements it.
    IsdaInterpretation,
    /// The firm's own addition or update.
    Firm,
}

/// One field provision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provision {
    /// Stable id: `drr:<line>` for the DRR provisions file, `firm:<id>` for a firm's own.
    pub id: String,
    /// Regime key (`esma`, `cftc`, …).
    pub regime: String,
    /// The report type it belongs to (`ESMAEMIRTransactionReport`).
    pub report_type: String,
    /// The report field, in the dotted common names (`leg1.notionalAmount`).
    pub field_key: String,
    /// The field's number in the regime's table (`2.42`), where it has one.
    pub number: Option<String>,
    /// The field's name in the regime's table (`Execution Timestamp`).
    pub name: Option<String>,
    /// Where the text comes from: regulation, regulator guidance, ISDA interpretation or the firm.
    pub kind: SourceKind,
    /// Who wrote it (`ESMA`, `CFTC`, `ISDA`).
    pub body: String,
    /// The document (`EMIR`, `Part45_V3_1`, `PeerReviewGroup`).
    pub corpus: String,
    /// The reference as DRR records it.
    pub reference: String,
    /// The quoted text.
    pub text: String,
}

/// One JR/T 0294.3—2024 critical data element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JrtElement {
    /// Section number (`5.1.1`).
    pub sec: String,
    /// The element's name in Chinese, as the standard gives it (`执行时间戳`).
    pub zh: String,
    /// The element's name in English (`Execution timestamp`).
    pub en: String,
    /// Definition (Chinese); a few elements of the extraction carry none.
    #[serde(default)]
    pub def: String,
    /// The standard it follows (`ISO 8601-1`).
    #[serde(default)]
    pub std: Option<String>,
    /// Its format (`Char(20)`, `YYYY-MM-DD (UTC+8)`).
    #[serde(default)]
    pub format: String,
    /// Its allowed values.
    #[serde(default)]
    pub allowed: Option<String>,
    /// The elements it depends on.
    #[serde(default)]
    pub deps: Option<String>,
}

/// "The same" field across regimes: a common field key, its CPMI-IOSCO critical data element
/// and its JR/T 0294.3 element.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Alignment {
    /// The common key prefix (`leg1.notionalAmount`, or `leg` for both legs' field).
    pub key: &'static str,
    /// The CPMI-IOSCO CDE (Technical Guidance, 2023 version).
    pub cde: &'static str,
    /// The CDE in Chinese.
    pub cde_zh: &'static str,
    /// JR/T 0294.3—2024 section, where the element is one of its 48.
    pub jrt: Option<&'static str>,
}

/// The alignment table. Keys match a field exactly or, with a trailing `*`, by prefix.
pub const ALIGNMENT: &[Alignment] = &[
    Alignment {
        key: "uniqueTransactionIdentifier",
        cde: "Unique transaction identifier (UTI)",
        cde_zh: "唯一交易识别码（UTI）",
        jrt: None,
    },
    Alignment {
        key: "counterparty1",
        cde: "Counterparty 1 (reporting counterparty)",
        cde_zh: "交易对手方1（交易报告方）",
        jrt: Some("5.2.1"),
    },
    Alignment {
        key: "counterparty2",
        cde: "Counterparty 2",
        cde_zh: "交易对手方2",
        jrt: Some("5.2.2"),
    },
    Alignment {
        key: "counterparty2IdentifierType",
        cde: "Counterparty 2 identifier type",
        cde_zh: "交易对手方2标识类型",
        jrt: Some("5.2.3"),
    },
    Alignment {
        key: "counterparty2IdentifierSource",
        cde: "Counterparty 2 identifier type",
        cde_zh: "交易对手方2标识类型",
        jrt: Some("5.2.3"),
    },
    Alignment {
        key: "counterparty2IdentifierFormat",
        cde: "Counterparty 2 identifier type",
        cde_zh: "交易对手方2标识类型",
        jrt: Some("5.2.3"),
    },
    Alignment {
        key: "direction1",
        cde: "Direction 1 (buyer/seller)",
        cde_zh: "方向1（买方/卖方）",
        jrt: Some("5.2.4.2"),
    },
    Alignment {
        key: "buyerIdentifier",
        cde: "Buyer identifier",
        cde_zh: "买方标识符",
        jrt: Some("5.2.4.2"),
    },
    Alignment {
        key: "sellerIdentifier",
        cde: "Seller identifier",
        cde_zh: "卖方标识符",
        jrt: Some("5.2.4.2"),
    },
    Alignment {
        key: "leg1.direction2",
        cde: "Direction 2 (payer/receiver), leg 1",
        cde_zh: "方向2（付款方/接收方），第1腿",
        jrt: Some("5.2.4.3"),
    },
    Alignment {
        key: "leg2.direction2",
        cde: "Direction 2 (payer/receiver), leg 2",
        cde_zh: "方向2（付款方/接收方），第2腿",
        jrt: Some("5.2.4.3"),
    },
    Alignment {
        key: "leg1.payerIdentifier",
        cde: "Payer identifier, leg 1",
        cde_zh: "付款方标识符，第1腿",
        jrt: Some("5.2.4.3"),
    },
    Alignment {
        key: "leg1.receiverIdentifier",
        cde: "Receiver identifier, leg 1",
        cde_zh: "接收方标识符，第1腿",
        jrt: Some("5.2.4.3"),
    },
    Alignment {
        key: "leg2.payerIdentifier",
        cde: "Payer identifier, leg 2",
        cde_zh: "付款方标识符，第2腿",
        jrt: Some("5.2.4.3"),
    },
    Alignment {
        key: "leg2.receiverIdentifier",
        cde: "Receiver identifier, leg 2",
        cde_zh: "接收方标识符，第2腿",
        jrt: Some("5.2.4.3"),
    },
    Alignment {
        key: "effectiveDate",
        cde: "Effective date",
        cde_zh: "生效日期",
        jrt: Some("5.1.1"),
    },
    Alignment {
        key: "expirationDate",
        cde: "Expiration date",
        cde_zh: "到期日期",
        jrt: Some("5.1.2"),
    },
    Alignment {
        key: "reportingTimestamp",
        cde: "Reporting timestamp",
        cde_zh: "报告时间戳",
        jrt: Some("5.1.4"),
    },
    Alignment {
        key: "executionTimestamp",
        cde: "Execution timestamp",
        cde_zh: "执行时间戳",
        jrt: Some("5.1.5"),
    },
    Alignment {
        key: "cleared",
        cde: "Cleared",
        cde_zh: "清算标识符",
        jrt: Some("5.3.1"),
    },
    Alignment {
        key: "venueOfExecution",
        cde: "Platform identifier",
        cde_zh: "平台识别码",
        jrt: Some("5.3.4"),
    },
    Alignment {
        key: "confirmed",
        cde: "Confirmed",
        cde_zh: "确认标识符",
        jrt: Some("5.3.5"),
    },
    Alignment {
        key: "finalContractualSettlementDate",
        cde: "Final contractual settlement date",
        cde_zh: "最终合同结算日期",
        jrt: Some("5.3.6"),
    },
    Alignment {
        key: "leg1.settlementCurrency",
        cde: "Settlement currency, leg 1",
        cde_zh: "结算货币，第1腿",
        jrt: Some("5.3.7"),
    },
    Alignment {
        key: "leg2.settlementCurrency",
        cde: "Settlement currency, leg 2",
        cde_zh: "结算货币，第2腿",
        jrt: Some("5.3.7"),
    },
    Alignment {
        key: "leg1.periodicPayment.fixedRateDayCountConvention",
        cde: "Day count convention, leg 1",
        cde_zh: "计息天数惯例，第1腿",
        jrt: Some("5.4.1"),
    },
    Alignment {
        key: "leg2.periodicPayment.floatingRateDayCountConvention",
        cde: "Day count convention, leg 2",
        cde_zh: "计息天数惯例，第2腿",
        jrt: Some("5.4.1"),
    },
    Alignment {
        key: "leg1.periodicPayment.fixedRatePaymentFrequencyPeriod",
        cde: "Payment frequency period, leg 1",
        cde_zh: "支付频率周期，第1腿",
        jrt: Some("5.4.2"),
    },
    Alignment {
        key: "leg2.periodicPayment.floatingRatePaymentFrequencyPeriod",
        cde: "Payment frequency period, leg 2",
        cde_zh: "支付频率周期，第2腿",
        jrt: Some("5.4.2"),
    },
    Alignment {
        key: "leg1.periodicPayment.fixedRatePaymentFrequencyPeriodMultiplier",
        cde: "Payment frequency period multiplier, leg 1",
        cde_zh: "支付频率周期乘数，第1腿",
        jrt: Some("5.4.3"),
    },
    Alignment {
        key: "leg2.periodicPayment.floatingRatePaymentFrequencyPeriodMultiplier",
        cde: "Payment frequency period multiplier, leg 2",
        cde_zh: "支付频率周期乘数，第2腿",
        jrt: Some("5.4.3"),
    },
    Alignment {
        key: "collateralPortfolioIndicator",
        cde: "Collateral portfolio indicator",
        cde_zh: "抵押品基于投资组合的标识符",
        jrt: Some("5.6.1"),
    },
    Alignment {
        key: "collateralPortfolioCode",
        cde: "Collateral portfolio code",
        cde_zh: "抵押品基于投资组合的代码",
        jrt: Some("5.6.2"),
    },
    Alignment {
        key: "variationMarginCollateralPortfolioCode",
        cde: "Collateral portfolio code",
        cde_zh: "抵押品基于投资组合的代码",
        jrt: Some("5.6.2"),
    },
    Alignment {
        key: "leg1.notionalAmount",
        cde: "Notional amount, leg 1",
        cde_zh: "名义本金，第1腿",
        jrt: None,
    },
    Alignment {
        key: "leg2.notionalAmount",
        cde: "Notional amount, leg 2",
        cde_zh: "名义本金，第2腿",
        jrt: None,
    },
    Alignment {
        key: "leg1.notionalCurrency",
        cde: "Notional currency, leg 1",
        cde_zh: "名义本金货币，第1腿",
        jrt: None,
    },
    Alignment {
        key: "leg2.notionalCurrency",
        cde: "Notional currency, leg 2",
        cde_zh: "名义本金货币，第2腿",
        jrt: None,
    },
    Alignment {
        key: "leg1.totalNotionalQuantity",
        cde: "Total notional quantity, leg 1",
        cde_zh: "总名义数量，第1腿",
        jrt: None,
    },
    Alignment {
        key: "leg1.notionalQuantity",
        cde: "Notional quantity, leg 1",
        cde_zh: "名义数量，第1腿",
        jrt: None,
    },
    Alignment {
        key: "leg1.quantityUnitOfMeasure",
        cde: "Quantity unit of measure, leg 1",
        cde_zh: "数量计量单位，第1腿",
        jrt: None,
    },
    Alignment {
        key: "leg1.fixedRate",
        cde: "Fixed rate, leg 1",
        cde_zh: "固定利率，第1腿",
        jrt: None,
    },
    Alignment {
        key: "strikePrice*",
        cde: "Strike price",
        cde_zh: "行权价格",
        jrt: None,
    },
    Alignment {
        key: "strikePriceCurrency",
        cde: "Strike price currency/currency pair",
        cde_zh: "行权价格货币/货币对",
        jrt: None,
    },
    Alignment {
        key: "strikePriceNotation",
        cde: "Strike price notation",
        cde_zh: "行权价格表示法",
        jrt: None,
    },
    Alignment {
        key: "optionPremiumAmount",
        cde: "Option premium amount",
        cde_zh: "期权费金额",
        jrt: None,
    },
    Alignment {
        key: "optionPremiumCurrency",
        cde: "Option premium currency",
        cde_zh: "期权费货币",
        jrt: None,
    },
    Alignment {
        key: "optionPremiumPaymentDate",
        cde: "Option premium payment date",
        cde_zh: "期权费支付日期",
        jrt: None,
    },
    Alignment {
        key: "optionType",
        cde: "Option type",
        cde_zh: "期权类型",
        jrt: None,
    },
    Alignment {
        key: "optionStyle",
        cde: "Option style",
        cde_zh: "期权行权方式",
        jrt: None,
    },
    Alignment {
        key: "firstExerciseDate",
        cde: "First exercise date",
        cde_zh: "首个行权日",
        jrt: None,
    },
    Alignment {
        key: "callAmount",
        cde: "Call amount",
        cde_zh: "看涨金额",
        jrt: None,
    },
    Alignment {
        key: "callCurrency",
        cde: "Call currency",
        cde_zh: "看涨货币",
        jrt: None,
    },
    Alignment {
        key: "putAmount",
        cde: "Put amount",
        cde_zh: "看跌金额",
        jrt: None,
    },
    Alignment {
        key: "putCurrency",
        cde: "Put currency",
        cde_zh: "看跌货币",
        jrt: None,
    },
    Alignment {
        key: "exchangeRate",
        cde: "Exchange rate",
        cde_zh: "汇率",
        jrt: None,
    },
    Alignment {
        key: "forwardExchangeRate",
        cde: "Exchange rate",
        cde_zh: "汇率",
        jrt: None,
    },
    Alignment {
        key: "exchangeRateBasis",
        cde: "Exchange rate basis",
        cde_zh: "汇率基准",
        jrt: None,
    },
    Alignment {
        key: "actionType",
        cde: "Action type",
        cde_zh: "行动类型",
        jrt: None,
    },
    Alignment {
        key: "eventType",
        cde: "Event type",
        cde_zh: "事件类型",
        jrt: None,
    },
    Alignment {
        key: "eventTimestamp",
        cde: "Event timestamp",
        cde_zh: "事件时间戳",
        jrt: None,
    },
    Alignment {
        key: "reportSubmittingEntityID",
        cde: "Report submitting entity ID",
        cde_zh: "报告提交实体识别码",
        jrt: None,
    },
    Alignment {
        key: "entityResponsibleForReporting",
        cde: "Entity responsible for reporting",
        cde_zh: "报告责任实体",
        jrt: None,
    },
    Alignment {
        key: "customBasketIndicator",
        cde: "Custom basket indicator",
        cde_zh: "定制篮子标识符",
        jrt: None,
    },
    Alignment {
        key: "packageIndicator",
        cde: "Package indicator",
        cde_zh: "组合交易标识符",
        jrt: None,
    },
    Alignment {
        key: "deliveryType",
        cde: "Delivery type",
        cde_zh: "交割方式",
        jrt: None,
    },
    Alignment {
        key: "cftcGuidebook.settlementType",
        cde: "Delivery type",
        cde_zh: "交割方式",
        jrt: None,
    },
    Alignment {
        key: "dtccAdditionalFields.settlementType",
        cde: "Delivery type",
        cde_zh: "交割方式",
        jrt: None,
    },
    Alignment {
        key: "assetClass",
        cde: "Asset class (UPI reference data)",
        cde_zh: "资产类别（UPI参考数据）",
        jrt: None,
    },
    Alignment {
        key: "cftcGuidebook.assetClass",
        cde: "Asset class (UPI reference data)",
        cde_zh: "资产类别（UPI参考数据）",
        jrt: None,
    },
    Alignment {
        key: "dtccAdditionalFields.primaryAssetClass",
        cde: "Asset class (UPI reference data)",
        cde_zh: "资产类别（UPI参考数据）",
        jrt: None,
    },
];

/// The alignment of a field key.
pub fn alignment(key: &str) -> Option<&'static Alignment> {
    ALIGNMENT.iter().find(|a| match a.key.strip_suffix('*') {
        Some(prefix) => key.starts_with(prefix),
        None => a.key == key,
    })
}

/// The key that groups a field with "the same" field of other regimes in the matrix: the
/// CDE for fields whose names differ by regime (`forwardExchangeRate` and `exchangeRate`), the
/// field itself otherwise.
pub fn row_key(key: &str) -> String {
    match key {
        "forwardExchangeRate" => "exchangeRate".into(),
        "strikePrice.decimal" => "strikePrice.monetary".into(),
        "variationMarginCollateralPortfolioCode" => "collateralPortfolioCode".into(),
        "cftcGuidebook.settlementType" | "dtccAdditionalFields.settlementType" => {
            "deliveryType".into()
        }
        "cftcGuidebook.assetClass" | "dtccAdditionalFields.primaryAssetClass" => {
            "assetClass".into()
        }
        "cftcGuidebook.optionStyle" | "dtccAdditionalFields.optionStyle" => "optionStyle".into(),
        "cftcGuidebook.optionType" | "dtccAdditionalFields.optionType" => "optionType".into(),
        "counterparty2IdentifierSource" | "counterparty2IdentifierFormat" => {
            "counterparty2IdentifierType".into()
        }
        "reportingSpecifiedPerson" => "entityResponsibleForReporting".into(),
        "dtccAdditionalFields.submittedForParty" => "counterparty1".into(),
        "underlyingIndexIndicator" => "leg2.periodicPayment.floatingRateIndicator".into(),
        other => other.to_owned(),
    }
}

/// A provisions line as the shared file writes it.
#[derive(Deserialize)]
struct Line {
    regime: String,
    report_type: String,
    attribute: String,
    sub_path: Option<String>,
    label: Option<String>,
    body: String,
    corpus: String,
    table_or_appendix: Option<String>,
    data_element: Option<String>,
    field: Option<String>,
    source_kind: String,
    regulatory_reference: String,
    provision: String,
}

#[derive(Deserialize)]
struct JrtFile {
    elements: Vec<JrtElement>,
}

/// The catalogue, with its indexes.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// A version label (`drr-6.10.0+jrt0294.3-2024`, then the firm's updates).
    pub version: String,
    /// Every provision: DRR's (`drr:<line>`), one per JR/T element (`jrt:<sec>`), then the firm's.
    pub provisions: Vec<Provision>,
    /// The JR/T 0294.3—2024 critical data elements, as the elements file lists them.
    pub jrt: Vec<JrtElement>,
    by_key: HashMap<(String, String), Vec<usize>>,
    by_id: HashMap<String, usize>,
}

/// A field key without list indexes (`basketConstituents[0].identifier` →
/// `basketConstituents.identifier`).
pub fn bare_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut skip = false;
    for c in key.chars() {
        match c {
            '[' => skip = true,
            ']' => skip = false,
            c if !skip => out.push(c),
            _ => {}
        }
    }
    out
}

impl Catalogue {
    /// Builds a catalogue from the DRR provisions (JSON lines) and the JR/T elements (JSON).
    pub fn from_sources(
        version: &str,
        provisions_jsonl: &str,
        jrt_json: &str,
    ) -> Result<Catalogue, CatalogueError> {
        let mut provisions = Vec::new();
        for (i, line) in provisions_jsonl.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let l: Line = serde_json::from_str(line).map_err(|e| CatalogueError::Line {
                line: i + 1,
                reason: e.to_string(),
            })?;
            let field_key = match &l.sub_path {
                Some(sp) => format!("{}.{}", l.attribute, sp.replace(" -> ", ".")),
                None => l.attribute.clone(),
            };
            let kind = match l.source_kind.as_str() {
                "regulatory_text" => SourceKind::RegulatoryText,
                "isda_interpretation" => SourceKind::IsdaInterpretation,
                other => {
                    return Err(CatalogueError::Line {
                        line: i + 1,
                        reason: format!("unknown source_kind {other:?}"),
                    });
                }
            };
            let number = match (&l.table_or_appendix, &l.data_element) {
                (Some(t), Some(d)) => Some(format!("{t}.{d}")),
                (None, Some(d)) => Some(d.clone()),
                _ => None,
            };
            provisions.push(Provision {
                id: format!("drr:{}", i + 1),
                regime: l.regime,
                report_type: l.report_type,
                field_key,
                number,
                name: l.field.or(l.label),
                kind,
                body: l.body,
                corpus: l.corpus,
                reference: l.regulatory_reference,
                text: l.provision,
            });
        }
        let jrt: JrtFile =
            serde_json::from_str(jrt_json).map_err(|e| CatalogueError::Jrt(e.to_string()))?;
        // Each JR/T element is also a provision of the Chinese standard (`jrt:5.1.5`).
        for j in &jrt.elements {
            let key = ALIGNMENT
                .iter()
                .find(|a| a.jrt == Some(j.sec.as_str()))
                .map(|a| a.key.to_owned());
            let mut text = format!("{}（{}）：{}。格式：{}", j.zh, j.en, j.def, j.format);
            if let Some(a) = &j.allowed {
                text.push_str(&format!("；允许值：{a}"));
            }
            if let Some(s) = &j.std {
                text.push_str(&format!("；标准：{s}"));
            }
            provisions.push(Provision {
                id: format!("jrt:{}", j.sec),
                regime: "jrt".into(),
                report_type: "JR/T 0294.3—2024".into(),
                field_key: key.unwrap_or_else(|| format!("jrt.{}", j.sec)),
                number: Some(j.sec.clone()),
                name: Some(format!("{} {}", j.zh, j.en)),
                kind: SourceKind::RegulatoryText,
                body: "SAC/TC 180".into(),
                corpus: "JR/T 0294.3—2024".into(),
                reference: format!("JR/T 0294.3—2024 §{}", j.sec),
                text,
            });
        }
        let mut c = Catalogue {
            version: version.to_owned(),
            provisions,
            jrt: jrt.elements,
            ..Catalogue::default()
        };
        c.reindex()?;
        Ok(c)
    }

    /// A catalogue from stored parts (a version read back from the store).
    pub fn from_parts(
        version: &str,
        provisions: Vec<Provision>,
        jrt: Vec<JrtElement>,
    ) -> Result<Catalogue, CatalogueError> {
        let mut c = Catalogue {
            version: version.to_owned(),
            provisions,
            jrt,
            ..Catalogue::default()
        };
        c.reindex()?;
        Ok(c)
    }

    /// Adds (or, by id, replaces) provisions: a firm's own regimes or updates.
    pub fn add_provisions(
        &mut self,
        version: &str,
        provisions: Vec<Provision>,
    ) -> Result<(), CatalogueError> {
        for p in provisions {
            match self.by_id.get(&p.id) {
                Some(&i) => self.provisions[i] = p,
                None => {
                    self.by_id.insert(p.id.clone(), self.provisions.len());
                    self.provisions.push(p);
                }
            }
        }
        self.version = version.to_owned();
        self.reindex()
    }

    fn reindex(&mut self) -> Result<(), CatalogueError> {
        self.by_key.clear();
        self.by_id.clear();
        for (i, p) in self.provisions.iter().enumerate() {
            if self.by_id.insert(p.id.clone(), i).is_some() {
                return Err(CatalogueError::Duplicate(p.id.clone()));
            }
            self.by_key
                .entry((p.regime.clone(), bare_key(&p.field_key)))
                .or_default()
                .push(i);
            // A JR/T element stands for every field aligned to it.
            if let Some(sec) = p.id.strip_prefix("jrt:") {
                for a in ALIGNMENT
                    .iter()
                    .filter(|a| a.jrt == Some(sec) && a.key != p.field_key)
                {
                    self.by_key
                        .entry((p.regime.clone(), a.key.to_owned()))
                        .or_default()
                        .push(i);
                }
            }
        }
        Ok(())
    }

    /// The provision with this id.
    pub fn provision(&self, id: &str) -> Option<&Provision> {
        self.by_id.get(id).map(|&i| &self.provisions[i])
    }

    /// The provisions of `regime` (the provisions file's key, `esma`) for a field, regulatory
    /// text first.
    pub fn provisions_for(&self, regime: &str, key: &str) -> Vec<&Provision> {
        let mut out: Vec<&Provision> = self
            .by_key
            .get(&(regime.to_owned(), bare_key(key)))
            .into_iter()
            .flatten()
            .map(|&i| &self.provisions[i])
            .collect();
        out.sort_by_key(|p| p.kind != SourceKind::RegulatoryText);
        out
    }

    /// The JR/T element of a section.
    pub fn jrt_element(&self, sec: &str) -> Option<&JrtElement> {
        self.jrt.iter().find(|e| e.sec == sec)
    }

    /// The regimes the catalogue has provisions for.
    pub fn regimes(&self) -> Vec<String> {
        let mut r: Vec<String> = self.provisions.iter().map(|p| p.regime.clone()).collect();
        r.sort();
        r.dedup();
        r
    }
}
