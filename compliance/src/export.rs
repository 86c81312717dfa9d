//! The comparison as files: CSV (the matrix, one row per field, one column per regime) and
//! XLSX (sheets: matrix with differences highlighted, differences, missing facts, deadlines,
//! and one sheet per regime's report with each field's provisions).

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, XlsxError};
use serde_json::Value;

use crate::catalogue::Catalogue;
use crate::compare::{Comparison, Status};
use crate::elements::Cell;

fn cell_text(c: Option<&Cell>) -> String {
    match c {
        None => String::new(),
        Some(Cell::Value { value }) => show(value),
        Some(Cell::Default { value, .. }) => format!("{} (default)", show(value)),
        Some(Cell::Missing { needed }) => format!("MISSING: {needed}"),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn status_text(s: Status) -> &'static str {
    match s {
        Status::Same => "same",
        Status::DifferentFormat => "different format",
        Status::DifferentValue => "different value",
        Status::OnlyInSome => "only in some regimes",
        Status::Missing => "missing",
    }
}

/// One CSV cell. A value a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return, and not a plain number) is prefixed with `'`, so that a
/// trade value such as `=HYPERLINK(…)` is shown as text, never evaluated (CSV injection);
/// quotes, commas and line breaks are quoted as RFC 4180 says.
pub fn csv_field(s: &str) -> String {
    let formula =
        s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.trim().parse::<f64>().is_err();
    let s = if formula {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The matrix as CSV (UTF-8 with a byte-order mark so spreadsheet programs read Chinese).
pub fn csv(c: &Comparison) -> String {
    let mut out = String::from("\u{feff}");
    let mut header = vec![
        "field".to_owned(),
        "cpmi_iosco_cde".into(),
        "jrt_0294_3".into(),
        "status".into(),
    ];
    header.extend(c.columns.iter().map(|col| col.id.to_owned()));
    out.push_str(
        &header
            .iter()
            .map(|h| csv_field(h))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push('\n');
    for r in &c.rows {
        let mut line = vec![
            r.key.clone(),
            r.cde.unwrap_or("").to_owned(),
            r.jrt.clone().unwrap_or_default(),
            status_text(r.status).to_owned(),
        ];
        line.extend(r.cells.iter().map(|m| cell_text(m.cell.as_ref())));
        out.push_str(
            &line
                .iter()
                .map(|h| csv_field(h))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

/// The comparison as an XLSX workbook.
pub fn xlsx(c: &Comparison, catalogue: &Catalogue) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    let wrap = Format::new().set_text_wrap();
    let fills = |s: Status| -> Option<Format> {
        let color = match s {
            Status::Missing => Color::RGB(0xF8D7DA),
            Status::DifferentValue => Color::RGB(0xFFE5B4),
            Status::DifferentFormat => Color::RGB(0xFFF3C4),
            Status::OnlyInSome => Color::RGB(0xE7F0FA),
            Status::Same => return None,
        };
        Some(Format::new().set_background_color(color).set_text_wrap())
    };

    let ws = wb.add_worksheet().set_name("Matrix")?;
    let mut header = vec![
        "Field".to_owned(),
        "CPMI-IOSCO CDE".into(),
        "JR/T 0294.3".into(),
        "Status".into(),
    ];
    header.extend(c.columns.iter().map(|col| col.name.to_owned()));
    for (i, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, col(i), h, &bold)?;
    }
    for (ri, r) in c.rows.iter().enumerate() {
        let row = u32::try_from(ri + 1).unwrap_or(u32::MAX);
        ws.write_string(row, 0, &r.key)?;
        ws.write_string(row, 1, r.cde.unwrap_or(""))?;
        ws.write_string(row, 2, r.jrt.as_deref().unwrap_or(""))?;
        ws.write_string(row, 3, status_text(r.status))?;
        for (ci, m) in r.cells.iter().enumerate() {
            let text = cell_text(m.cell.as_ref());
            match fills(r.status) {
                Some(f) => ws.write_string_with_format(row, col(ci + 4), &text, &f)?,
                None => ws.write_string_with_format(row, col(ci + 4), &text, &wrap)?,
            };
        }
    }
    ws.set_column_width(0, 40)?;
    ws.set_column_width(1, 32)?;
    ws.set_column_width(2, 28)?;
    ws.set_freeze_panes(1, 1)?;

    let ws = wb.add_worksheet().set_name("Differences")?;
    for (i, h) in ["Summary", "摘要"].iter().enumerate() {
        ws.write_string_with_format(0, col(i), *h, &bold)?;
    }
    for (i, (en, zh)) in c.summary.iter().zip(&c.summary_zh).enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        ws.write_string_with_format(row, 0, en, &wrap)?;
        ws.write_string_with_format(row, 1, zh, &wrap)?;
    }
    ws.set_column_width(0, 90)?;
    ws.set_column_width(1, 70)?;

    let ws = wb.add_worksheet().set_name("Missing")?;
    for (i, h) in ["Regime", "Field", "What is needed"].iter().enumerate() {
        ws.write_string_with_format(0, col(i), *h, &bold)?;
    }
    for (i, (reg, field, needed)) in c.missing.iter().enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        ws.write_string(row, 0, reg)?;
        ws.write_string(row, 1, field)?;
        ws.write_string_with_format(row, 2, needed, &wrap)?;
    }
    ws.set_column_width(1, 40)?;
    ws.set_column_width(2, 90)?;

    let ws = wb.add_worksheet().set_name("Deadlines")?;
    for (i, h) in [
        "Regime",
        "Authority",
        "Role",
        "Deadline",
        "Rule",
        "规则",
        "Source",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string_with_format(0, col(i), *h, &bold)?;
    }
    for (i, colm) in c.columns.iter().enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        ws.write_string(row, 0, colm.name)?;
        ws.write_string(row, 1, colm.authority)?;
        ws.write_string(
            row,
            2,
            serde_json::to_value(colm.role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        )?;
        ws.write_string(row, 3, colm.deadline.short)?;
        ws.write_string_with_format(row, 4, colm.deadline.rule, &wrap)?;
        ws.write_string_with_format(row, 5, colm.deadline.rule_zh, &wrap)?;
        ws.write_string(row, 6, colm.deadline.source)?;
    }
    ws.set_column_width(0, 40)?;
    ws.set_column_width(4, 60)?;
    ws.set_column_width(5, 40)?;

    for colm in &c.columns {
        // Sheet names: at most 31 characters, no `/`.
        let name: String = colm.id.chars().take(31).collect();
        let ws = wb.add_worksheet().set_name(&name)?;
        for (i, h) in ["Field", "Value", "Kind", "Provision", "Provision text"]
            .iter()
            .enumerate()
        {
            ws.write_string_with_format(0, col(i), *h, &bold)?;
        }
        let regime = crate::regime::regime(colm.id);
        for (i, (k, cell)) in colm.report.iter().enumerate() {
            let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
            ws.write_string(row, 0, k)?;
            ws.write_string(row, 1, cell_text(Some(cell)))?;
            let kind = match cell {
                Cell::Value { .. } => "from the trade",
                Cell::Default { .. } => "rule default",
                Cell::Missing { .. } => "missing",
            };
            ws.write_string(row, 2, kind)?;
            if let Some(p) =
                regime.and_then(|r| catalogue.provisions_for(r.provisions, k).into_iter().next())
            {
                ws.write_string(row, 3, &p.id)?;
                ws.write_string_with_format(row, 4, &p.text, &wrap)?;
            }
        }
        ws.set_column_width(0, 45)?;
        ws.set_column_width(1, 30)?;
        ws.set_column_width(4, 80)?;
    }
    wb.save_to_buffer()
}

fn col(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}
