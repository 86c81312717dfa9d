//! The comparison: one trade's reports under several regimes side by side, field by field.
//!
//! Rows are "the same" field across regimes ([`crate::catalogue::row_key`]: `exchangeRate` and
//! EMIR's `forwardExchangeRate` are one row); each cell is that regime's value, missing value or
//! absence, with the regime's field number, name and provisions. A row is the same everywhere,
//! the same value written in different formats (a percentage against a decimal, a code against
//! a name, UTC against UTC+8), a different value, only in some regimes, or missing somewhere.
//! [`differences`] turns the rows into the difference list (the eval checks it against one
//! computed from the expected reports themselves) and [`summary`] into sentences.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use crate::catalogue::{Catalogue, SourceKind, alignment, row_key};
use crate::cdm::Trade;
use crate::elements::{Cell, Elements};
use crate::regime::{Deadline, Regime, Role, report};

/// How a row's regimes agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Some regime needs it and the trade does not give it.
    Missing,
    /// Different values.
    DifferentValue,
    /// The same value written differently.
    DifferentFormat,
    /// Asked for by some regimes only (the others agree where they ask).
    OnlyInSome,
    /// Every regime asks for it, with the same value.
    Same,
}

/// One regime's column.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// The regime's id (`esma-emir-trade`), as [`Regime::id`].
    pub id: &'static str,
    /// The regime's name in English.
    pub name: &'static str,
    /// The regime's name in Chinese.
    pub name_zh: &'static str,
    /// The authority that runs the regime.
    pub authority: &'static str,
    /// How the trade's parties are placed under the regime.
    pub role: Role,
    /// When the report is due.
    pub deadline: Deadline,
    /// The generated report (dotted field names).
    pub report: BTreeMap<String, Cell>,
}

/// One regime's cell of a row.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixCell {
    /// The regime's id, as [`Column::id`].
    pub regime: &'static str,
    /// The regime's own field name where it differs from the row's.
    pub field: Option<String>,
    /// `None`: the regime does not ask for the field.
    pub cell: Option<Cell>,
    /// The regime's field number and name (from its provision).
    pub number: Option<String>,
    /// The regime's field name (`Execution timestamp`), where its provision gives one.
    pub name: Option<String>,
    /// The provisions that require it, regulatory text first (ids).
    pub provisions: Vec<String>,
    /// The regime whose provision is shown where this regime's own is not in the catalogue
    /// (the field is a CPMI-IOSCO critical data element they share).
    pub provision_from: Option<String>,
}

/// One row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The row key shared across regimes ([`crate::catalogue::row_key`]).
    pub key: String,
    /// The CPMI-IOSCO critical data element the row is, where it is aligned.
    pub cde: Option<&'static str>,
    /// That critical data element's name in Chinese.
    pub cde_zh: Option<&'static str>,
    /// The JR/T 0294.3 element (`5.1.5 执行时间戳 Execution timestamp`).
    pub jrt: Option<String>,
    /// How the regimes agree on the row.
    pub status: Status,
    /// One cell per column, in column order.
    pub cells: Vec<MatrixCell>,
}

/// A difference between regimes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Difference {
    /// The row key of the field.
    pub key: String,
    /// Whether only some regimes ask for it, or the value or its format differs.
    pub kind: DiffKind,
    /// The regimes grouped by the value they report (as JSON text), in order; for
    /// [`DiffKind::OnlyIn`], the regimes that ask for it.
    pub groups: Vec<(String, Vec<String>)>,
}

/// The kind of a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// Only some of the regimes ask for the field.
    OnlyIn,
    /// Values differ in substance.
    Value,
    /// The same value written differently.
    Format,
}

/// The whole comparison for one trade.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The catalogue version the provisions come from ([`Catalogue::version`]).
    pub catalogue_version: String,
    /// One column per regime compared, in the order asked.
    pub columns: Vec<Column>,
    /// The rows: aligned CDEs first, then by status, then by key.
    pub rows: Vec<Row>,
    /// Where the regimes' values differ, from [`differences`].
    pub differences: Vec<Difference>,
    /// Every field a regime needs that the trade does not give: (regime, field, what is needed).
    pub missing: Vec<(String, String, String)>,
    /// The differences that matter, as English sentences ([`summary`]).
    pub summary: Vec<String>,
    /// The same sentences in Chinese.
    pub summary_zh: Vec<String>,
}

/// Canonical text of a value for "same value, different format": lower case, known code/name
/// pairs folded, numbers as numbers, timestamps as UTC instants.
fn canonical(key: &str, v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.to_ascii_lowercase(),
        Value::Bool(b) if key == "counterparty2IdentifierType" => {
            if *b {
                "lei".into()
            } else {
                "other".into()
            }
        }
        Value::Array(a) if a.len() == 1 => return canonical(key, &a[0]),
        other => other.to_string(),
    };
    let folded = match s.as_str() {
        "equity" => "equi",
        "interestrate" => "intr",
        "foreignexchange" => "curr",
        "commodity" => "comm",
        "credit" => "crdt",
        "physical" => "phys",
        "put" => "puto",
        "european" => "euro",
        "american" => "amer",
        "leid" => "lei",
        other => other,
    };
    if let Some(instant) = utc_instant(folded) {
        return instant;
    }
    if let Ok(x) = folded.parse::<f64>() {
        return format!("{x}");
    }
    folded.to_owned()
}

/// An RFC 3339 timestamp in any letter case (`canonical` lowers it) read as an instant.
fn instant(s: &str) -> Option<time::OffsetDateTime> {
    if s.len() < 20 || !matches!(s.as_bytes().get(10), Some(b't' | b'T')) {
        return None;
    }
    time::OffsetDateTime::parse(&s.to_ascii_uppercase(), &Rfc3339).ok()
}

/// `2001-09-05T00:20:47+08:00` and `2001-09-04T16:20:47Z` → the same UTC text.
fn utc_instant(s: &str) -> Option<String> {
    instant(s)?
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .ok()
}

/// A UTC timestamp written in UTC+8 (`2001-09-05T00:20:47+08:00`), as JR/T 0294.3 wants.
pub fn to_beijing(ts: &str) -> Option<String> {
    let beijing = time::UtcOffset::from_hms(8, 0, 0).ok()?;
    instant(ts)?.to_offset(beijing).format(&Rfc3339).ok()
}

/// Whether `a` is `b` as a percentage (2.53 and 0.0253).
fn percent_pair(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if x != 0.0 && y != 0.0 => {
            ((x / y) - 100.0).abs() < 1e-9 || ((y / x) - 100.0).abs() < 1e-9
        }
        _ => false,
    }
}

/// The difference list of reports side by side: `columns` are (regime, fields by dotted name).
/// A field counts under its row key; the regimes that ask for none of a row's fields are the
/// ones it is absent from.
pub fn differences(columns: &[(String, BTreeMap<String, Value>)]) -> Vec<Difference> {
    // row key → regime → (field, value)
    let mut rows: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for (regime, fields) in columns {
        for (k, v) in fields {
            rows.entry(row_key(k))
                .or_default()
                .entry(regime.clone())
                .or_insert_with(|| v.clone());
        }
    }
    let all: Vec<&String> = columns.iter().map(|(r, _)| r).collect();
    let mut out = Vec::new();
    for (key, by_regime) in rows {
        if by_regime.len() < all.len() {
            let present: Vec<String> = all
                .iter()
                .filter(|r| by_regime.contains_key(**r))
                .map(|r| (*r).clone())
                .collect();
            out.push(Difference {
                key: key.clone(),
                kind: DiffKind::OnlyIn,
                groups: vec![(String::new(), present)],
            });
        }
        // Group by exact value (normalised numbers), then decide value vs format.
        let mut groups: Vec<(Value, Vec<String>)> = Vec::new();
        for r in &all {
            let Some(v) = by_regime.get(*r) else { continue };
            match groups.iter_mut().find(|(g, _)| crate::score::same(g, v)) {
                Some((_, rs)) => rs.push((*r).clone()),
                None => groups.push((v.clone(), vec![(*r).clone()])),
            }
        }
        if groups.len() > 1 {
            let canon: BTreeSet<String> = groups.iter().map(|(v, _)| canonical(&key, v)).collect();
            let format_only =
                canon.len() == 1 || (groups.len() == 2 && percent_pair(&groups[0].0, &groups[1].0));
            out.push(Difference {
                key,
                kind: if format_only {
                    DiffKind::Format
                } else {
                    DiffKind::Value
                },
                groups: groups
                    .into_iter()
                    .map(|(v, rs)| (v.to_string(), rs))
                    .collect(),
            });
        }
    }
    out.sort();
    out
}

/// The comparison of `regimes` (with their roles) for one trade.
pub fn compare(
    t: &Trade,
    e: &Elements,
    regimes: &[(&'static Regime, Role)],
    catalogue: &Catalogue,
) -> Comparison {
    let columns: Vec<Column> = regimes
        .iter()
        .map(|(r, role)| Column {
            id: r.id,
            name: r.name,
            name_zh: r.name_zh,
            authority: r.authority,
            role: *role,
            deadline: r.deadline.clone(),
            report: report(r, t, e),
        })
        .collect();
    // Rows: every row key any column has, in a stable order (aligned CDEs first).
    let mut keys: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    for (ci, c) in columns.iter().enumerate() {
        for k in c.report.keys() {
            keys.entry(row_key(k)).or_default().push((ci, k.clone()));
        }
    }
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for (key, fields) in &keys {
        let al = alignment(key);
        let mut cells = Vec::new();
        for (ci, c) in columns.iter().enumerate() {
            let regime = regimes[ci].0;
            let field = fields
                .iter()
                .find(|(i, _)| *i == ci)
                .map(|(_, f)| f.clone());
            let cell = field.as_ref().and_then(|f| c.report.get(f)).cloned();
            let mut provisions = Vec::new();
            let mut number = None;
            let mut name = None;
            let mut provision_from = None;
            if let Some(f) = &field {
                let own = catalogue.provisions_for(regime.provisions, f);
                let (list, from) = if own.is_empty() {
                    // A shared CDE: the first regime that words it in regulatory text.
                    let other = ["cftc", "esma", "fca", "csa", "asic", "mas", "hkma", "jfsa"]
                        .iter()
                        .filter(|r| **r != regime.provisions)
                        .map(|r| (r, catalogue.provisions_for(r, f)))
                        .find(|(_, l)| l.iter().any(|p| p.kind == SourceKind::RegulatoryText));
                    match other {
                        Some((r, l)) => (l, Some((*r).to_owned())),
                        None => (Vec::new(), None),
                    }
                } else {
                    (own, None)
                };
                if let Some(p) = list.iter().find(|p| p.kind == SourceKind::RegulatoryText)
                    && from.is_none()
                {
                    number = p.number.clone();
                    name = p.name.clone();
                }
                provisions = list.iter().take(4).map(|p| p.id.clone()).collect();
                provision_from = from;
                if let Some(Cell::Missing { needed }) = &cell {
                    missing.push((regime.id.to_owned(), f.clone(), needed.clone()));
                }
            }
            cells.push(MatrixCell {
                regime: regime.id,
                field: field.filter(|f| f != key),
                cell,
                number,
                name,
                provisions,
                provision_from,
            });
        }
        let present: Vec<&MatrixCell> = cells.iter().filter(|c| c.cell.is_some()).collect();
        let status = if present
            .iter()
            .any(|c| matches!(c.cell, Some(Cell::Missing { .. })))
        {
            Status::Missing
        } else {
            let values: Vec<&Value> = present
                .iter()
                .filter_map(|c| c.cell.as_ref().and_then(Cell::value))
                .collect();
            let all_same = values.windows(2).all(|w| crate::score::same(w[0], w[1]));
            if !all_same {
                let canon: BTreeSet<String> = values.iter().map(|v| canonical(key, v)).collect();
                let pct = values.len() >= 2
                    && values
                        .iter()
                        .all(|v| crate::score::same(v, values[0]) || percent_pair(v, values[0]));
                if canon.len() == 1 || pct {
                    Status::DifferentFormat
                } else {
                    Status::DifferentValue
                }
            } else if present.len() < cells.len() {
                Status::OnlyInSome
            } else {
                Status::Same
            }
        };
        rows.push(Row {
            key: key.clone(),
            cde: al.map(|a| a.cde),
            cde_zh: al.map(|a| a.cde_zh),
            jrt: al
                .and_then(|a| a.jrt)
                .and_then(|s| catalogue.jrt_element(s))
                .map(|j| format!("{} {} {}", j.sec, j.zh, j.en)),
            status,
            cells,
        });
    }
    rows.sort_by(|a, b| {
        a.cde
            .is_none()
            .cmp(&b.cde.is_none())
            .then(a.status.cmp(&b.status))
            .then(a.key.cmp(&b.key))
    });
    let diff_input: Vec<(String, BTreeMap<String, Value>)> = columns
        .iter()
        .map(|c| {
            (
                c.id.to_owned(),
                c.report
                    .iter()
                    .filter_map(|(k, v)| v.value().map(|x| (k.clone(), x.clone())))
                    .collect(),
            )
        })
        .collect();
    let differences = differences(&diff_input);
    let (summary, summary_zh) = summary(&rows, &columns);
    Comparison {
        catalogue_version: catalogue.version.clone(),
        columns,
        rows,
        differences,
        missing,
        summary,
        summary_zh,
    }
}

fn short(c: &Column) -> &'static str {
    match c.id {
        "cftc-part43" => "CFTC Part 43",
        "cftc-part45" => "CFTC Part 45",
        "esma-emir-trade" => "EMIR",
        "fca-ukemir-trade" => "UK EMIR",
        "asic-trade" => "ASIC",
        "mas-trade" => "MAS",
        "hkma-trade" => "HKMA",
        "jfsa-trade" => "JFSA",
        "csa-trade" => "CSA",
        "cn-jrt0294" => "JR/T 0294.3",
        other => other,
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The differences that matter, as sentences (English and Chinese): every field a regime
/// needs and the trade lacks, then differing values, then format differences, then the
/// aligned fields only some regimes ask for.
pub fn summary(rows: &[Row], columns: &[Column]) -> (Vec<String>, Vec<String>) {
    let mut en = Vec::new();
    let mut zh = Vec::new();
    let name_of = |r: &Row| r.cde.map(str::to_owned).unwrap_or_else(|| r.key.clone());
    let zh_name_of = |r: &Row| r.cde_zh.map(str::to_owned).unwrap_or_else(|| r.key.clone());
    let regimes_of = |r: &Row, pred: &dyn Fn(&MatrixCell) -> bool| -> Vec<&'static str> {
        r.cells
            .iter()
            .zip(columns)
            .filter(|(c, _)| pred(c))
            .map(|(_, col)| short(col))
            .collect()
    };
    for r in rows.iter().filter(|r| r.status == Status::Missing) {
        for (c, col) in r.cells.iter().zip(columns) {
            if let Some(Cell::Missing { needed }) = &c.cell {
                en.push(format!(
                    "{} needs {} ({}): the trade does not give {needed}.",
                    short(col),
                    name_of(r),
                    r.key
                ));
                zh.push(format!(
                    "{}要求报告「{}」（{}），但交易数据中缺少：{}。",
                    short(col),
                    zh_name_of(r),
                    r.key,
                    crate::i18n::zh(needed)
                ));
            }
        }
    }
    for status in [Status::DifferentValue, Status::DifferentFormat] {
        for r in rows.iter().filter(|r| r.status == status) {
            let mut groups: Vec<(String, Vec<&'static str>)> = Vec::new();
            for (c, col) in r.cells.iter().zip(columns) {
                let Some(v) = c.cell.as_ref().and_then(Cell::value) else {
                    continue;
                };
                let text = show(v);
                match groups.iter_mut().find(|(g, _)| *g == text) {
                    Some((_, rs)) => rs.push(short(col)),
                    None => groups.push((text, vec![short(col)])),
                }
            }
            let parts: Vec<String> = groups
                .iter()
                .map(|(v, rs)| format!("{}: {v}", rs.join(", ")))
                .collect();
            if status == Status::DifferentValue {
                en.push(format!("{} differs — {}.", name_of(r), parts.join("; ")));
                zh.push(format!(
                    "「{}」取值不同——{}。",
                    zh_name_of(r),
                    parts.join("；")
                ));
            } else {
                en.push(format!(
                    "{}: the same value in different formats — {}.",
                    name_of(r),
                    parts.join("; ")
                ));
                zh.push(format!(
                    "「{}」：同一数值、格式不同——{}。",
                    zh_name_of(r),
                    parts.join("；")
                ));
            }
        }
    }
    for r in rows
        .iter()
        .filter(|r| r.status == Status::OnlyInSome && r.cde.is_some())
    {
        let asked = regimes_of(r, &|c: &MatrixCell| c.cell.is_some());
        let not = regimes_of(r, &|c: &MatrixCell| c.cell.is_none());
        en.push(format!(
            "{}: reported under {} only (not {}).",
            name_of(r),
            asked.join(", "),
            not.join(", ")
        ));
        zh.push(format!(
            "「{}」：仅{}要求报告（{}不要求）。",
            zh_name_of(r),
            asked.join("、"),
            not.join("、")
        ));
    }
    (en, zh)
}
