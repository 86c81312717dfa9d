//! Validation of a report the firm already has (uploaded as JSON or CSV) against one regime:
//! every field's format (ISO 8601 dates and timestamps, ISO 17442 LEIs with their check
//! digits, ISO 4217 currencies, decimals within the regime's length, booleans, the ISO 20022
//! code lists), fields the regime does not have, fields the trade needs that the report lacks,
//! cross-field conditions (dates in order, the execution before the report), and each value
//! against the value the trade gives. Every finding names its field and the provisions behind
//! it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::catalogue::Catalogue;
use crate::elements::Cell;
use crate::regime::Regime;
use crate::score::{flatten, same};

/// Why an uploaded report could not be read at all.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReportError {
    /// Not JSON or CSV of a report.
    #[error("{0}")]
    Unreadable(String),
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The repository would reject it, or it is wrong for the trade.
    Error,
    /// Worth a look (a default value, a field the trade cannot confirm).
    Warning,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The field (dotted name).
    pub field: String,
    /// How bad it is.
    pub severity: Severity,
    /// Stable code (`format`, `unknown_field`, `missing_field`, `differs_from_trade`,
    /// `condition`, `allowed_values`).
    pub code: &'static str,
    /// What is wrong, in English.
    pub message: String,
    /// What is wrong, in Chinese.
    pub message_zh: String,
    /// The provisions that state the rule (ids).
    pub provisions: Vec<String>,
}

/// Reads an uploaded report: a JSON object (nested as the regimes write them, or flat with
/// dotted names), or CSV with a `field,value` header, or one header row of field names and
/// one row of values.
pub fn read_report(bytes: &[u8]) -> Result<BTreeMap<String, Value>, ReportError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ReportError::Unreadable("the report is not UTF-8 text".into()))?;
    let text = text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| ReportError::Unreadable(format!("the report is not valid JSON: {e}")))?;
        return Ok(flatten(&v));
    }
    if trimmed.is_empty() {
        return Err(ReportError::Unreadable("the report is empty".into()));
    }
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(csv_row)
        .collect();
    let header = &rows[0];
    let mut out = BTreeMap::new();
    if header.len() == 2
        && header[0].eq_ignore_ascii_case("field")
        && header[1].eq_ignore_ascii_case("value")
    {
        for (i, r) in rows.iter().enumerate().skip(1) {
            if r.len() != 2 {
                return Err(ReportError::Unreadable(format!(
                    "CSV line {}: expected 2 columns (field,value), found {}",
                    i + 1,
                    r.len()
                )));
            }
            out.insert(r[0].clone(), typed(&r[0], &r[1]));
        }
    } else {
        let Some(values) = rows.get(1) else {
            return Err(ReportError::Unreadable(
                "CSV: a header row of field names needs one row of values under it".into(),
            ));
        };
        if values.len() != header.len() {
            return Err(ReportError::Unreadable(format!(
                "CSV: {} field names but {} values",
                header.len(),
                values.len()
            )));
        }
        for (k, v) in header.iter().zip(values) {
            if !v.is_empty() {
                out.insert(k.clone(), typed(k, v));
            }
        }
    }
    Ok(out)
}

/// A CSV cell as the JSON value its field holds: booleans and numbers where the field's
/// format is one, text otherwise (a portfolio code `0606801` stays text).
fn typed(key: &str, s: &str) -> Value {
    match format_of(key) {
        Format::Bool => match s.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(s.to_owned()),
        },
        Format::Decimal(..) | Format::Integer => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(s.to_owned())),
        _ => Value::String(s.to_owned()),
    }
}

/// One CSV row (RFC 4180 quoting).
fn csv_row(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// ISO 17442: 18 alphanumerics and two check digits, valid under ISO 7064 mod 97-10.
pub fn lei_ok(s: &str) -> Result<(), &'static str> {
    if s.len() != 20
        || !s
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Err("an LEI is 20 characters, upper-case letters and digits (ISO 17442)");
    }
    let mut rem: u64 = 0;
    for c in s.chars() {
        let n = if c.is_ascii_digit() {
            c as u64 - '0' as u64
        } else {
            c as u64 - 'A' as u64 + 10
        };
        rem = if n >= 10 {
            (rem * 100 + n) % 97
        } else {
            (rem * 10 + n) % 97
        };
    }
    if rem == 1 {
        Ok(())
    } else {
        Err("the LEI's check digits are wrong (ISO 17442, ISO 7064 mod 97-10)")
    }
}

/// A currency of a report: ISO 4217 (policies' list) or one of its codes for precious metals
/// and the SDR, which the trading list leaves out.
fn currency_ok(code: &str) -> bool {
    policies::currency::is_currency(code) || matches!(code, "XAG" | "XAU" | "XDR" | "XPD" | "XPT")
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s[..4].parse::<u32>().is_ok()
        && s[5..7].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && s[8..10].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
}

fn is_utc_timestamp(s: &str) -> bool {
    s.len() >= 20 && is_date(&s[..10]) && s.as_bytes()[10] == b'T' && s.ends_with('Z') && {
        let t = &s[11..s.len() - 1];
        let mut p = t.split(':');
        let h = p.next().and_then(|x| x.parse::<u32>().ok());
        let m = p.next().and_then(|x| x.parse::<u32>().ok());
        let sec = p.next().and_then(|x| x.parse::<f64>().ok());
        matches!((h, m, sec), (Some(h), Some(m), Some(sec)) if h < 24 && m < 60 && sec < 61.0)
    }
}

/// The format rule of a field, with the standard it comes from.
enum Format {
    Date,
    Timestamp,
    Lei,
    Currency,
    /// Total digits, decimals.
    Decimal(usize, usize),
    Integer,
    Bool,
    Codes(&'static [&'static str], &'static str),
    Text,
}

fn format_of(key: &str) -> Format {
    let last = key.rsplit('.').next().unwrap_or(key);
    let codes = |c: &'static [&'static str], std: &'static str| Format::Codes(c, std);
    match last {
        "counterparty1"
        | "reportSubmittingEntityID"
        | "entityResponsibleForReporting"
        | "brokerID"
        | "buyerIdentifier"
        | "sellerIdentifier"
        | "payerIdentifier"
        | "receiverIdentifier"
        | "reportingSpecifiedPerson"
        | "submittedForParty" => Format::Lei,
        "actionType" => codes(
            &[
                "NEWT", "MODI", "CORR", "TERM", "EROR", "REVI", "PRTO", "VALU", "MARU", "POSC",
            ],
            "ISO 20022 action type",
        ),
        "eventType" => codes(
            &[
                "TRAD", "NOVA", "COMP", "ETRM", "CLRG", "EXER", "ALOC", "CLAL", "INCP", "CORP",
                "UPDT", "PTNG", "CREV",
            ],
            "ISO 20022 event type",
        ),
        "cleared" => codes(&["Y", "N", "I"], "CPMI-IOSCO CDE Cleared"),
        "assetClass" => codes(
            &["COMM", "CRDT", "CURR", "EQUI", "INTR"],
            "ISO 20022 asset class",
        ),
        "contractType" => codes(
            &[
                "CFDS", "FORW", "FRAS", "FUTR", "OPTN", "SPDB", "SWAP", "SWPT", "OTHR",
            ],
            "ISO 20022 contract type",
        ),
        "deliveryType" => codes(&["CASH", "PHYS", "OPTL"], "ISO 20022 delivery type"),
        "direction1" => codes(&["BYER", "SLLR"], "CPMI-IOSCO CDE Direction 1"),
        "direction2" => codes(&["MAKE", "TAKE"], "CPMI-IOSCO CDE Direction 2"),
        "optionType" => codes(&["CALL", "PUTO", "OTHR"], "ISO 20022 option type"),
        "optionStyle" => codes(&["AMER", "BERM", "EURO"], "ISO 20022 option style"),
        "confirmed" => codes(&["NCNF", "ECNF", "YCNF"], "ISO 20022 confirmation"),
        "level" => codes(&["TCTN", "PSTN"], "ISO 20022 reporting level"),
        "natureOfCounterparty1" | "natureOfCounterparty2" => codes(
            &["F", "N", "C", "O"],
            "EMIR Refit table 1 fields 1.11, 1.12",
        ),
        "clearingObligation" => codes(&["TRUE", "FLSE", "UKWN"], "EMIR Refit table 2 field 2.32"),
        "strikePriceNotation" => codes(
            &["Monetary", "Percentage", "Decimal", "Basis"],
            "CPMI-IOSCO CDE price notation",
        ),
        "counterparty2IdentifierSource" => codes(
            &["LEID", "NPID", "NATL"],
            "CFTC counterparty identifier source",
        ),
        "fixedRateDayCountConvention" | "floatingRateDayCountConvention" => codes(
            &[
                "A001", "A002", "A003", "A004", "A005", "A006", "A007", "A008", "A009", "A010",
                "A011", "A012", "A013", "A014", "A015", "A016", "A017", "A018", "A019", "A020",
                "NARR",
            ],
            "ISO 20022 day count",
        ),
        "fixedRatePaymentFrequencyPeriod"
        | "floatingRatePaymentFrequencyPeriod"
        | "floatingRateResetFrequencyPeriod"
        | "floatingRateReferencePeriod" => codes(
            &["DAIL", "WEEK", "MNTH", "YEAR", "ADHO", "EXPI", "TERM"],
            "ISO 20022 frequency",
        ),
        "counterparty2IdentifierType"
        | "ptrr"
        | "intragroup"
        | "collateralPortfolioIndicator"
        | "cryptoAssetUnderlyingIndicator"
        | "clearingThresholdOfCounterparty1"
        | "clearingThresholdOfCounterparty2"
        | "reportingObligationOfTheCounterparty2"
        | "customBasketIndicator"
        | "packageIndicator"
        | "nonStandardizedTermIndicator"
        | "blockTradeElectionIndicator"
        | "postPricedSwapIndicator"
        | "primeBrokerageTransactionIndicator" => Format::Bool,
        k if k.ends_with("Timestamp") => Format::Timestamp,
        k if k.ends_with("Date") => Format::Date,
        k if k.ends_with("Currency") && !k.contains("Notation") => Format::Currency,
        k if k.ends_with("Multiplier") || k == "masterAgreementVersion" => Format::Integer,
        "notionalAmount"
        | "totalNotionalQuantity"
        | "notionalQuantity"
        | "optionPremiumAmount"
        | "callAmount"
        | "putAmount"
        | "monetary"
        | "decimal"
        | "fixedRate"
        | "exchangeRate"
        | "forwardExchangeRate"
        | "spread" => Format::Decimal(25, 13),
        _ => Format::Text,
    }
}

fn check_format(key: &str, v: &Value) -> Option<(String, String)> {
    let s = v.as_str();
    match format_of(key) {
        Format::Date => match s {
            Some(x) if is_date(x) => None,
            _ => Some((
                "a date in ISO 8601 form YYYY-MM-DD".into(),
                "应为 ISO 8601 日期（YYYY-MM-DD）".into(),
            )),
        },
        Format::Timestamp => match s {
            Some(x) if is_utc_timestamp(x) => None,
            _ => Some((
                "a UTC timestamp in ISO 8601 form YYYY-MM-DDThh:mm:ssZ".into(),
                "应为 ISO 8601 UTC 时间戳（YYYY-MM-DDThh:mm:ssZ）".into(),
            )),
        },
        Format::Lei => match s.map(lei_ok) {
            Some(Ok(())) => None,
            Some(Err(why)) => Some((
                why.into(),
                "应为有效的 LEI（ISO 17442，20 位，含校验位）".into(),
            )),
            None => Some((
                "an LEI (ISO 17442), as text".into(),
                "应为 LEI 文本（ISO 17442）".into(),
            )),
        },
        Format::Currency => match s {
            Some(x) if currency_ok(x) => None,
            Some(x)
                if x.len() == 7
                    && x.as_bytes()[3] == b'/'
                    && currency_ok(&x[..3])
                    && currency_ok(&x[4..]) =>
            {
                None
            }
            _ => Some((
                "an ISO 4217 currency code (three upper-case letters)".into(),
                "应为 ISO 4217 货币代码（三位大写字母）".into(),
            )),
        },
        Format::Decimal(total, decimals) => {
            match v.as_f64() {
                Some(x) => {
                    let text = crate::elements::num(x).to_string();
                    let (int, frac) = text
                        .trim_start_matches('-')
                        .split_once('.')
                        .unwrap_or((text.trim_start_matches('-'), ""));
                    let digits = int.len() + frac.len();
                    let too_long = digits > total || frac.len() > decimals;
                    // The all-9s "not available" value is allowed.
                    (too_long && !text.chars().all(|c| c == '9' || c == '.' || c == 'e' || c == '+'))
                    .then(|| (format!("a number of at most {total} digits with at most {decimals} decimals"), format!("应为最多 {total} 位、最多 {decimals} 位小数的数值")))
                }
                None => Some(("a number".into(), "应为数值".into())),
            }
        }
        Format::Integer => match v.as_f64() {
            Some(x) if x.fract() == 0.0 => None,
            Some(_) | None => Some(("a whole number".into(), "应为整数".into())),
        },
        Format::Bool => match v {
            Value::Bool(_) => None,
            _ => Some(("true or false".into(), "应为 true 或 false".into())),
        },
        Format::Codes(codes, std) => match s {
            Some(x) if codes.contains(&x) => None,
            _ => Some((
                format!("one of {} ({std})", codes.join(", ")),
                format!("应为以下之一：{}（{std}）", codes.join("、")),
            )),
        },
        Format::Text => None,
    }
}

/// Checks `uploaded` as `regime`'s report of the trade whose generated report is `expected`.
pub fn validate(
    regime: &Regime,
    uploaded: &BTreeMap<String, Value>,
    expected: &BTreeMap<String, Cell>,
    catalogue: &Catalogue,
) -> Vec<Finding> {
    let provisions = |key: &str| -> Vec<String> {
        catalogue
            .provisions_for(regime.provisions, key)
            .iter()
            .take(3)
            .map(|p| p.id.clone())
            .collect()
    };
    let known = |key: &str| -> bool {
        let bare = crate::catalogue::bare_key(key);
        regime
            .fields
            .iter()
            .any(|f| crate::catalogue::bare_key(f) == bare)
            || expected.contains_key(key)
    };
    let mut out = Vec::new();
    for (key, v) in uploaded {
        if !known(key) {
            out.push(Finding {
                field: key.clone(),
                severity: Severity::Error,
                code: "unknown_field",
                message: format!(
                    "{key} is not a field of the {} transaction report",
                    regime.name
                ),
                message_zh: format!("{key} 不是 {} 交易报告的字段", regime.name_zh),
                provisions: Vec::new(),
            });
            continue;
        }
        if let Some((en, zh)) = check_format(key, v) {
            let code = if matches!(format_of(key), Format::Codes(..)) {
                "allowed_values"
            } else {
                "format"
            };
            out.push(Finding {
                field: key.clone(),
                severity: Severity::Error,
                code,
                message: format!("{key} = {v}: must be {en}"),
                message_zh: format!("{key} = {v}：{zh}"),
                provisions: provisions(key),
            });
            continue;
        }
        match expected.get(key) {
            Some(Cell::Value { value }) if !same(value, v) => out.push(Finding {
                field: key.clone(),
                severity: Severity::Error,
                code: "differs_from_trade",
                message: format!("{key} = {v}, but the trade gives {value}"),
                message_zh: format!("{key} = {v}，但交易数据为 {value}"),
                provisions: provisions(key),
            }),
            Some(Cell::Default { value, reason }) if !same(value, v) => out.push(Finding {
                field: key.clone(),
                severity: Severity::Warning,
                code: "differs_from_trade",
                message: format!(
                    "{key} = {v}; the rules would give {value} ({reason}): check the fact behind it"
                ),
                message_zh: format!(
                    "{key} = {v}；按规则应为 {value}（{}），请核对所依据的事实",
                    crate::i18n::zh(reason)
                ),
                provisions: provisions(key),
            }),
            Some(Cell::Missing { needed }) => out.push(Finding {
                field: key.clone(),
                severity: Severity::Warning,
                code: "unconfirmed",
                message: format!("{key} = {v} cannot be checked: the trade does not give {needed}"),
                message_zh: format!(
                    "{key} = {v} 无法核对：交易数据缺少{}",
                    crate::i18n::zh(needed)
                ),
                provisions: provisions(key),
            }),
            _ => {}
        }
    }
    for (key, cell) in expected {
        if uploaded.contains_key(key) {
            continue;
        }
        if let Some(value) = cell.value() {
            out.push(Finding {
                field: key.clone(),
                severity: Severity::Error,
                code: "missing_field",
                message: format!(
                    "{key} is missing: for this trade the report must give it ({value})"
                ),
                message_zh: format!("缺少 {key}：本笔交易须报告该字段（{value}）"),
                provisions: provisions(key),
            });
        }
    }
    // Cross-field conditions.
    let s = |k: &str| uploaded.get(k).and_then(Value::as_str).map(str::to_owned);
    if let (Some(eff), Some(exp)) = (s("effectiveDate"), s("expirationDate"))
        && is_date(&eff)
        && is_date(&exp)
        && exp < eff
    {
        out.push(Finding {
            field: "expirationDate".into(),
            severity: Severity::Error,
            code: "condition",
            message: format!("expirationDate {exp} is before effectiveDate {eff}"),
            message_zh: format!("到期日期 {exp} 早于生效日期 {eff}"),
            provisions: provisions("expirationDate"),
        });
    }
    if let (Some(ex), Some(rep)) = (s("executionTimestamp"), s("reportingTimestamp"))
        && is_utc_timestamp(&ex)
        && is_utc_timestamp(&rep)
        && rep < ex
    {
        out.push(Finding {
            field: "reportingTimestamp".into(),
            severity: Severity::Error,
            code: "condition",
            message: format!("reportingTimestamp {rep} is before executionTimestamp {ex}"),
            message_zh: format!("报告时间戳 {rep} 早于执行时间戳 {ex}"),
            provisions: provisions("reportingTimestamp"),
        });
    }
    if uploaded.keys().any(|k| k.starts_with("strikePrice."))
        && !uploaded.contains_key("strikePriceCurrency")
        && !uploaded.contains_key("strikePriceNotation")
    {
        out.push(Finding {
            field: "strikePriceNotation".into(),
            severity: Severity::Error,
            code: "condition",
            message: "a strike price is given without its notation or currency".into(),
            message_zh: "给出了行权价格，但缺少其表示法或货币".into(),
            provisions: provisions("strikePriceNotation"),
        });
    }
    out.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.field.cmp(&b.field)));
    out
}
