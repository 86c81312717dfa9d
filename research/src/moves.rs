//! Extreme moves: every day a contract's price changes by its product's threshold or more
//! against its previous bar (3% by default; the exchange practice paper's extreme-move
//! report starts at 3% in a day).
//!
//! The change is settlement to settlement where the rule says so and both bars carry a
//! settlement price (futures), else close to close; the move says which. A move carries the
//! number of weekdays without a bar since the previous one (a holiday, or missing data), so a
//! report does not present a week's change as a day's.

use kernels::dates::Date;
use serde::Serialize;

use crate::bars::{Bar, weekdays_between};

/// Which price a move compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Close to close.
    Close,
    /// Settlement to settlement (futures).
    Settlement,
}

impl Basis {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Close => "close",
            Basis::Settlement => "settlement",
        }
    }
}

/// A product's move rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MoveRule {
    /// The threshold in percent (3.0 = 3%), compared with the absolute change.
    pub threshold_pct: f64,
    /// The price compared, when both bars carry it.
    pub basis: Basis,
}

impl Default for MoveRule {
    fn default() -> Self {
        MoveRule {
            threshold_pct: 3.0,
            basis: Basis::Settlement,
        }
    }
}

/// A day a contract moved by its threshold or more.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Move {
    /// The contract.
    pub contract: String,
    /// The day of the move.
    pub date: Date,
    /// The previous bar's day.
    pub previous_date: Date,
    /// The price compared.
    pub basis: Basis,
    /// The previous bar's price.
    pub previous: f64,
    /// The day's price.
    pub value: f64,
    /// The change in percent, signed (−4.10 = a 4.10% fall).
    pub change_pct: f64,
    /// The day's high and low, when the file gives them.
    pub high: Option<f64>,
    /// See `high`.
    pub low: Option<f64>,
    /// Weekdays without a bar between the two bars (0 for consecutive trading days).
    pub missing_weekdays: i32,
    /// The threshold the move reached, in percent.
    pub threshold_pct: f64,
    /// What the prices are in, when known.
    pub unit: Option<String>,
}

impl Move {
    /// The move in a sentence, in English or Chinese, every number with its unit.
    pub fn describe(&self, chinese: bool) -> String {
        let gap = if self.missing_weekdays > 0 {
            if chinese {
                format!("（两根K线之间缺少{}个工作日的数据）", self.missing_weekdays)
            } else {
                format!(
                    " (across {} weekday(s) without data)",
                    self.missing_weekdays
                )
            }
        } else {
            String::new()
        };
        let basis = match (self.basis, chinese) {
            (Basis::Close, false) => "close",
            (Basis::Settlement, false) => "settlement",
            (Basis::Close, true) => "收盘价",
            (Basis::Settlement, true) => "结算价",
        };
        let unit = self
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        if chinese {
            format!(
                "{} {} {}{:.2}{unit}，较 {} 的 {:.2}{unit} {}{:.2}%{gap}",
                self.contract,
                self.date,
                basis,
                self.value,
                self.previous_date,
                self.previous,
                if self.change_pct < 0.0 {
                    "下跌"
                } else {
                    "上涨"
                },
                self.change_pct.abs(),
            )
        } else {
            format!(
                "{} {} {} {:.2}{unit}, {} {:.2}% from {:.2}{unit} on {}{gap}",
                self.contract,
                self.date,
                basis,
                self.value,
                if self.change_pct < 0.0 { "down" } else { "up" },
                self.change_pct.abs(),
                self.previous,
                self.previous_date,
            )
        }
    }
}

/// Every move of `bars` (any order, several contracts) that reaches its contract's rule.
/// Sorted by date, then contract.
pub fn detect(bars: &[Bar], rule: impl Fn(&str) -> MoveRule) -> Vec<Move> {
    let mut sorted: Vec<&Bar> = bars.iter().collect();
    sorted.sort_by(|a, b| (&a.contract, a.date).cmp(&(&b.contract, b.date)));
    let mut out = Vec::new();
    for w in sorted.windows(2) {
        let (prev, day) = (w[0], w[1]);
        if prev.contract != day.contract || prev.date == day.date {
            continue;
        }
        let r = rule(&day.contract);
        let (basis, previous, value) = match (r.basis, prev.settlement, day.settlement) {
            (Basis::Settlement, Some(p), Some(v)) => (Basis::Settlement, p, v),
            _ => (Basis::Close, prev.close, day.close),
        };
        let change_pct = (value / previous - 1.0) * 100.0;
        // Compared at a hundredth of a basis point, so 3.00% written in the data is a move.
        if (change_pct.abs() * 1e4).round() / 1e4 + 1e-9 < r.threshold_pct {
            continue;
        }
        out.push(Move {
            contract: day.contract.clone(),
            date: day.date,
            previous_date: prev.date,
            basis,
            previous,
            value,
            change_pct,
            high: day.high,
            low: day.low,
            missing_weekdays: weekdays_between(prev.date, day.date),
            threshold_pct: r.threshold_pct,
            unit: day.unit.clone(),
        });
    }
    out.sort_by(|a, b| (a.date, &a.contract).cmp(&(b.date, &b.contract)));
    out
}
