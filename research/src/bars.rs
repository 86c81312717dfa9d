//! Daily bars from a CSV or JSON file.
//!
//! # Columns
//! Header names are matched case-insensitively, ignoring spaces, underscores and hyphens, in
//! English and Chinese: `date`/`日期`/`交易日期`, `contract`/`symbol`/`code`/`合约`/`代码`,
//! `open`/`开盘价`, `high`/`最高价`, `low`/`最低价`, `close`/`收盘价`, `settlement`/`settle`/`结算价`,
//! `volume`/`成交量`, `open_interest`/`oi`/`持仓量`, `unit`/`currency`/`单位` (what the prices are
//! in: `USD/bbl`, `CNY/t`, `points`). `Adj Close` is read as nothing (an adjusted
//! series is not the traded price). A file with a date and one other column (FRED's
//! `DATE,DCOILWTICO`) is a close series named after that column unless a contract is given.
//! A JSON file is an array of objects with the same keys, or `{"bars": [...]}`.
//!
//! # Dates
//! `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`, `YYYY年M月D日`, and `M/D/YYYY` or `D/M/YYYY` (which of
//! the two is decided by the file: a first part above 12 makes it day-first, a second part
//! above 12 month-first; a file where nothing decides is refused, asking for ISO dates).

use std::collections::BTreeMap;

use kernels::dates::Date;
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

/// One contract's prices on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    /// The contract, index or ETF as the file names it (`SC2406`, `S&P 500`).
    pub contract: String,
    /// The trading day.
    pub date: Date,
    /// Opening price.
    pub open: Option<f64>,
    /// Highest price.
    pub high: Option<f64>,
    /// Lowest price.
    pub low: Option<f64>,
    /// Closing price.
    pub close: f64,
    /// Settlement price (futures).
    pub settlement: Option<f64>,
    /// Volume traded.
    pub volume: Option<f64>,
    /// Open interest (futures).
    pub open_interest: Option<f64>,
    /// What the prices are in (`USD/bbl`, `CNY/t`, `points`), when the file or the importer
    /// says.
    pub unit: Option<String>,
    /// The file's row (1 = the first data row; the header is row 0).
    pub row: usize,
}

/// Why a file of bars is refused. Nothing of a refused file is kept.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum BarsError {
    /// Not a file of daily bars (no date or price column, not CSV or JSON, empty).
    #[error("not daily bars: {0}")]
    Format(String),
    /// A value that cannot be right.
    #[error("row {row}, column {column}: {what}")]
    Row {
        /// The data row (from 1).
        row: usize,
        /// The column as the file names it.
        column: String,
        /// What is wrong.
        what: String,
    },
    /// Two different bars for one contract on one day.
    #[error("rows {first} and {second} give different bars for {contract} on {date}")]
    Conflict {
        /// The contract.
        contract: String,
        /// The day.
        date: Date,
        /// The first row.
        first: usize,
        /// The row that disagrees with it.
        second: usize,
    },
}

/// What a reader should know about a file that was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A row that repeats another exactly; kept once.
    Duplicate,
    /// A row without a price (FRED writes `.` on holidays); left out.
    NoPrice,
    /// A bar dated on a Saturday or Sunday; left out (no exchange trades then).
    NonTradingDay,
    /// Three weekdays or more without a bar; moves across the gap say so.
    Gap,
    /// Columns the reader does not use.
    IgnoredColumns,
}

/// A notice about a file that was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// Which kind.
    pub kind: NoticeKind,
    /// The rows it concerns (from 1), when it concerns rows.
    pub rows: Vec<usize>,
    /// What it says, in a sentence.
    pub message: String,
}

/// A file of bars read: the bars by contract and date, and the notices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parsed {
    /// The bars, sorted by contract then date.
    pub bars: Vec<Bar>,
    /// What was left out or is worth knowing.
    pub notices: Vec<Notice>,
}

impl Bar {
    /// Whether `other` gives the same contract, day, prices, volume, open interest and unit
    /// (numbers equal to a billionth, relative); the row it came from does not count.
    pub fn same_values(&self, other: &Bar) -> bool {
        let eq = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
            (None, None) => true,
            _ => false,
        };
        self.contract == other.contract
            && self.date == other.date
            && eq(Some(self.close), Some(other.close))
            && eq(self.open, other.open)
            && eq(self.high, other.high)
            && eq(self.low, other.low)
            && eq(self.settlement, other.settlement)
            && eq(self.volume, other.volume)
            && eq(self.open_interest, other.open_interest)
            && self.unit == other.unit
    }
}

impl Parsed {
    /// The contracts in the file, sorted.
    pub fn contracts(&self) -> Vec<&str> {
        let mut c: Vec<&str> = self.bars.iter().map(|b| b.contract.as_str()).collect();
        c.dedup();
        c
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Date,
    Contract,
    Open,
    High,
    Low,
    Close,
    Settlement,
    Volume,
    OpenInterest,
    Unit,
    Skip,
}

fn column(name: &str) -> Option<Col> {
    let n: String = name
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    Some(match n.as_str() {
        "date" | "tradedate" | "tradingday" | "日期" | "交易日期" | "交易日" => Col::Date,
        "contract" | "symbol" | "code" | "instrument" | "ticker" | "合约" | "合约代码" | "代码"
        | "品种" => Col::Contract,
        "open" | "开盘价" | "开盘" => Col::Open,
        "high" | "最高价" | "最高" => Col::High,
        "low" | "最低价" | "最低" => Col::Low,
        "close" | "last" | "price" | "收盘价" | "收盘" => Col::Close,
        "settlement" | "settle" | "settlementprice" | "结算价" | "今结算" => Col::Settlement,
        "volume" | "vol" | "成交量" => Col::Volume,
        "openinterest" | "oi" | "持仓量" => Col::OpenInterest,
        "unit" | "currency" | "单位" | "币种" | "计价单位" => Col::Unit,
        "adjclose" | "adjustedclose" => Col::Skip,
        _ => return None,
    })
}

/// How slash dates are written in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlashOrder {
    MonthFirst,
    DayFirst,
}

fn slash_parts(s: &str) -> Option<(u32, u32, i32)> {
    let mut it = s.trim().split('/');
    let a = it.next()?.parse().ok()?;
    let b = it.next()?.parse().ok()?;
    let y: i32 = it.next()?.parse().ok()?;
    (it.next().is_none() && y > 999).then_some((a, b, y))
}

fn parse_date(s: &str, order: Option<SlashOrder>) -> Option<Date> {
    let s = s.trim();
    if let Some(d) = Date::parse(s) {
        return Some(d);
    }
    if let Some((a, b, y)) = slash_parts(s) {
        return match order? {
            SlashOrder::MonthFirst => Date::from_ymd(y, a, b),
            SlashOrder::DayFirst => Date::from_ymd(y, b, a),
        };
    }
    if let Some(rest) = s.strip_suffix('日') {
        let (y, rest) = rest.split_once('年')?;
        let (m, d) = rest.split_once('月')?;
        return Date::from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    }
    let mut parts = s.split('/');
    if let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
        && y.len() == 4
    {
        return Date::from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Date::from_ymd(
            s[..4].parse().ok()?,
            s[4..6].parse().ok()?,
            s[6..].parse().ok()?,
        );
    }
    None
}

/// The order of a file's `a/b/YYYY` dates, decided by any part above 12.
fn slash_order(dates: &[&str]) -> Result<Option<SlashOrder>, BarsError> {
    let parts: Vec<(u32, u32, i32)> = dates.iter().filter_map(|d| slash_parts(d)).collect();
    if parts.is_empty() {
        return Ok(None);
    }
    let day_first = parts.iter().any(|p| p.0 > 12);
    let month_first = parts.iter().any(|p| p.1 > 12);
    match (day_first, month_first) {
        (true, false) => Ok(Some(SlashOrder::DayFirst)),
        (false, true) => Ok(Some(SlashOrder::MonthFirst)),
        (true, true) => Err(BarsError::Format(
            "the dates mix day-first and month-first writing (a/b/YYYY with a > 12 in some rows and b > 12 in others); write them as YYYY-MM-DD".into(),
        )),
        (false, false) => Err(BarsError::Format(format!(
            "dates like {} could be day-first or month-first and no date in the file decides; write them as YYYY-MM-DD",
            dates.iter().find(|d| slash_parts(d).is_some()).copied().unwrap_or_default()
        ))),
    }
}

/// A table of cells: the header and the rows, as text.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn csv_table(text: &str) -> Result<Table, BarsError> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| BarsError::Format(format!("not CSV: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| BarsError::Format(format!("row {}: {e}", i + 1)))?;
        rows.push(rec.iter().map(str::to_string).collect());
    }
    Ok(Table { header, rows })
}

fn json_table(v: &Value) -> Result<Table, BarsError> {
    let items = match v {
        Value::Array(a) => a,
        Value::Object(o) => o.get("bars").and_then(Value::as_array).ok_or_else(|| {
            BarsError::Format(
                "a JSON file of bars is an array of objects or {\"bars\": [...]}".into(),
            )
        })?,
        _ => {
            return Err(BarsError::Format(
                "a JSON file of bars is an array of objects or {\"bars\": [...]}".into(),
            ));
        }
    };
    let mut header: Vec<String> = Vec::new();
    for item in items {
        let Some(o) = item.as_object() else {
            return Err(BarsError::Format(
                "every bar in a JSON file is an object".into(),
            ));
        };
        for k in o.keys() {
            if !header.contains(k) {
                header.push(k.clone());
            }
        }
    }
    let rows = items
        .iter()
        .map(|item| {
            header
                .iter()
                .map(|k| match item.get(k) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                })
                .collect()
        })
        .collect();
    Ok(Table { header, rows })
}

/// Reads a file of daily bars (CSV or JSON). `contract` names the contract when the file has
/// no contract column, `unit` what its prices are in when it has no unit column. Refused whole
/// ([`BarsError`]) when any row cannot be right.
pub fn parse(
    bytes: &[u8],
    contract: Option<&str>,
    unit: Option<&str>,
) -> Result<Parsed, BarsError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| BarsError::Format("the file is not UTF-8 text (CSV or JSON)".into()))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(BarsError::Format("the file is empty".into()));
    }
    let table = if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let v: Value = serde_json::from_str(trimmed)
            .map_err(|e| BarsError::Format(format!("not valid JSON: {e}")))?;
        json_table(&v)?
    } else {
        csv_table(trimmed)?
    };
    read_table(&table, contract, unit)
}

fn read_table(t: &Table, contract: Option<&str>, unit: Option<&str>) -> Result<Parsed, BarsError> {
    let mut cols: Vec<Col> = Vec::new();
    let mut unknown: Vec<usize> = Vec::new();
    for (i, h) in t.header.iter().enumerate() {
        match column(h) {
            Some(c) => {
                if c != Col::Skip && cols.contains(&c) {
                    return Err(BarsError::Format(format!(
                        "two columns are read as the same thing ({h:?} and an earlier one)"
                    )));
                }
                cols.push(c);
            }
            None => {
                cols.push(Col::Skip);
                unknown.push(i);
            }
        }
    }
    let date_col = cols.iter().position(|c| *c == Col::Date).ok_or_else(|| {
        BarsError::Format(format!(
            "no date column (the header is {:?}; name one date, 日期 or trade_date)",
            t.header
        ))
    })?;
    let mut series_name: Option<String> = None;
    if !cols.contains(&Col::Close) {
        // FRED's layout: the date and one series, named by its code.
        if t.header.len() == 2 && unknown.len() == 1 {
            cols[unknown[0]] = Col::Close;
            series_name = Some(t.header[unknown[0]].trim().to_string());
            unknown.clear();
        } else {
            return Err(BarsError::Format(format!(
                "no close price column (the header is {:?}; name one close, price or 收盘价)",
                t.header
            )));
        }
    }
    let contract_col = cols.iter().position(|c| *c == Col::Contract);
    let fixed_contract = match (contract_col, contract, series_name) {
        (Some(_), _, _) => None,
        (None, Some(c), _) if !c.trim().is_empty() => Some(c.trim().to_string()),
        (None, _, Some(s)) => Some(s),
        (None, _, None) => {
            return Err(BarsError::Format(
                "the file has no contract column: name the contract it holds".into(),
            ));
        }
    };
    let mut notices = Vec::new();
    if !unknown.is_empty() {
        notices.push(Notice {
            kind: NoticeKind::IgnoredColumns,
            rows: Vec::new(),
            message: format!(
                "columns not read: {}",
                unknown
                    .iter()
                    .map(|i| format!("{:?}", t.header[*i]))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let dates: Vec<&str> = t.rows.iter().map(|r| r[date_col].as_str()).collect();
    let order = slash_order(&dates)?;
    let mut by_key: BTreeMap<(String, Date), Bar> = BTreeMap::new();
    let (mut no_price, mut weekend, mut duplicate) = (Vec::new(), Vec::new(), Vec::new());
    for (i, row) in t.rows.iter().enumerate() {
        let n = i + 1;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |c: Col| cols.iter().position(|x| *x == c).map(|j| row[j].trim());
        let name = |c: Col| {
            cols.iter()
                .position(|x| *x == c)
                .map(|j| t.header[j].clone())
                .unwrap_or_default()
        };
        let raw_date = row[date_col].trim();
        let date = parse_date(raw_date, order).ok_or_else(|| BarsError::Row {
            row: n,
            column: name(Col::Date),
            what: format!("{raw_date:?} is not a date"),
        })?;
        let close_text = cell(Col::Close).unwrap_or_default();
        if close_text.is_empty() || close_text == "." || close_text.eq_ignore_ascii_case("nan") {
            no_price.push(n);
            continue;
        }
        // A number of column `c`: a price must be above zero, a count (volume, open
        // interest) at least zero.
        let number = |c: Col, price: bool| -> Result<Option<f64>, BarsError> {
            let Some(s) = cell(c).filter(|s| !s.is_empty()) else {
                return Ok(None);
            };
            let bad = |what: String| BarsError::Row {
                row: n,
                column: name(c),
                what,
            };
            let v: f64 = s
                .replace(',', "")
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| bad(format!("{s:?} is not a number")))?;
            if price && v <= 0.0 {
                return Err(bad(format!("a price of {s} (a price must be above zero)")));
            }
            if v < 0.0 {
                return Err(bad(format!("{s} is below zero")));
            }
            Ok(Some(v))
        };
        let price = |c: Col| number(c, true);
        let count = |c: Col| number(c, false);
        let contract = match &fixed_contract {
            Some(c) => c.clone(),
            None => {
                let c = cell(Col::Contract).unwrap_or_default();
                if c.is_empty() {
                    return Err(BarsError::Row {
                        row: n,
                        column: name(Col::Contract),
                        what: "no contract".into(),
                    });
                }
                c.to_string()
            }
        };
        let bar = Bar {
            contract,
            date,
            open: price(Col::Open)?,
            high: price(Col::High)?,
            low: price(Col::Low)?,
            close: price(Col::Close)?.expect("a close was checked above"),
            settlement: price(Col::Settlement)?,
            volume: count(Col::Volume)?,
            open_interest: count(Col::OpenInterest)?,
            unit: cell(Col::Unit)
                .filter(|u| !u.is_empty())
                .or(unit.map(str::trim).filter(|u| !u.is_empty()))
                .map(str::to_string),
            row: n,
        };
        if let (Some(h), Some(l)) = (bar.high, bar.low) {
            if h < l {
                return Err(BarsError::Row {
                    row: n,
                    column: name(Col::High),
                    what: format!("the high {h} is below the low {l}"),
                });
            }
            for (c, v) in [(Col::Open, bar.open), (Col::Close, Some(bar.close))] {
                if let Some(v) = v
                    && (v > h * (1.0 + 1e-9) || v < l * (1.0 - 1e-9))
                {
                    return Err(BarsError::Row {
                        row: n,
                        column: name(c),
                        what: format!("{v} lies outside the day's range {l} to {h}"),
                    });
                }
            }
        }
        if date.weekday() >= 5 {
            weekend.push(n);
            continue;
        }
        let key = (bar.contract.clone(), date);
        match by_key.get(&key) {
            Some(first) => {
                if !first.same_values(&bar) {
                    return Err(BarsError::Conflict {
                        contract: bar.contract,
                        date,
                        first: first.row,
                        second: n,
                    });
                }
                duplicate.push(n);
            }
            None => {
                by_key.insert(key, bar);
            }
        }
    }
    if by_key.is_empty() {
        return Err(BarsError::Format("no bar with a price in the file".into()));
    }
    for (kind, rows, what) in [
        (
            NoticeKind::Duplicate,
            duplicate,
            "repeat an earlier row exactly and were kept once",
        ),
        (
            NoticeKind::NoPrice,
            no_price,
            "have no price and were left out",
        ),
        (
            NoticeKind::NonTradingDay,
            weekend,
            "are dated on a Saturday or Sunday, when no exchange trades, and were left out",
        ),
    ] {
        if !rows.is_empty() {
            notices.push(Notice {
                kind,
                message: format!("{} row(s) {what}: {}", rows.len(), row_list(&rows)),
                rows,
            });
        }
    }
    let bars: Vec<Bar> = by_key.into_values().collect();
    for w in bars.windows(2) {
        if w[0].contract != w[1].contract {
            continue;
        }
        let missing = weekdays_between(w[0].date, w[1].date);
        if missing >= 3 {
            notices.push(Notice {
                kind: NoticeKind::Gap,
                rows: vec![w[0].row, w[1].row],
                message: format!(
                    "{}: no bars between {} and {} ({missing} weekdays)",
                    w[0].contract, w[0].date, w[1].date
                ),
            });
        }
    }
    Ok(Parsed { bars, notices })
}

/// Weekdays strictly between two dates.
pub fn weekdays_between(a: Date, b: Date) -> i32 {
    let mut n = 0;
    let mut d = a.add_days(1);
    while d < b {
        if d.weekday() < 5 {
            n += 1;
        }
        d = d.add_days(1);
    }
    n
}

fn row_list(rows: &[usize]) -> String {
    let shown: Vec<String> = rows.iter().take(10).map(usize::to_string).collect();
    if rows.len() > 10 {
        format!("{} and {} more", shown.join(", "), rows.len() - 10)
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_written_form() {
        let d = Date::from_ymd(2018, 2, 5).unwrap();
        for s in ["2018-02-05", "2018/02/05", "20180205", "2018年2月5日"] {
            assert_eq!(parse_date(s, None), Some(d), "{s}");
        }
        assert_eq!(
            parse_date("2/5/2018", Some(SlashOrder::MonthFirst)),
            Some(d)
        );
        assert_eq!(parse_date("5/2/2018", Some(SlashOrder::DayFirst)), Some(d));
        assert_eq!(parse_date("2/5/2018", None), None);
        assert_eq!(
            slash_order(&["1/4/2018", "1/15/2018"]).unwrap(),
            Some(SlashOrder::MonthFirst)
        );
        assert_eq!(
            slash_order(&["15/1/2018"]).unwrap(),
            Some(SlashOrder::DayFirst)
        );
        assert!(slash_order(&["1/4/2018", "2/3/2018"]).is_err());
    }

    #[test]
    fn column_names_in_english_and_chinese() {
        assert_eq!(column("Adj Close"), Some(Col::Skip));
        assert_eq!(column("open_interest"), Some(Col::OpenInterest));
        assert_eq!(column("持仓量"), Some(Col::OpenInterest));
        assert_eq!(column("\u{feff}Date"), Some(Col::Date));
        assert_eq!(column("DCOILWTICO"), None);
    }
}
