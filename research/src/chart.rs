//! A price chart of an event's window as SVG: the daily prices as a line over trading days, the
//! price axis with its unit, the first, last and marked days on the time axis, and each marked
//! day (a move) as a point with its change. Deterministic text (the same bars give the same
//! bytes), no script, every text escaped; reports and pages embed it as it is.

use std::fmt::Write;

use kernels::dates::Date;

use crate::bars::Bar;

/// A day to mark on the chart, with its label (`−4.10%`).
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// The day.
    pub date: Date,
    /// What to write beside it.
    pub label: String,
}

const W: f64 = 720.0;
const H: f64 = 300.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 40.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The price a chart draws for a bar: the settlement where the bar has one, else the close.
pub fn price(b: &Bar) -> f64 {
    b.settlement.unwrap_or(b.close)
}

/// The SVG chart of `bars` (one contract, any order) with `marks`, titled `title`. `None`
/// when there are fewer than two bars to draw.
pub fn svg(bars: &[Bar], marks: &[Mark], title: &str) -> Option<String> {
    let mut bars: Vec<&Bar> = bars.iter().collect();
    bars.sort_by_key(|b| b.date);
    if bars.len() < 2 {
        return None;
    }
    let prices: Vec<f64> = bars.iter().map(|b| price(b)).collect();
    let lo = prices.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = prices.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.001);
    let (lo, hi) = (lo - pad, hi + pad);
    let n = bars.len() as f64;
    let x = |i: usize| LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1.0);
    let y = |p: f64| TOP + (H - TOP - BOTTOM) * (hi - p) / (hi - lo);
    let unit = bars.iter().find_map(|b| b.unit.clone()).unwrap_or_default();
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{t}" font-family="sans-serif" font-size="11">"#,
        t = esc(title)
    );
    let _ = write!(s, r#"<title>{}</title>"#, esc(title));
    let _ = write!(
        s,
        r##"<rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/><text x="{LEFT}" y="20" font-size="13" font-weight="bold">{}</text>"##,
        esc(title)
    );
    // Price axis: four gridlines with their prices.
    for k in 0..=4 {
        let p = lo + (hi - lo) * k as f64 / 4.0;
        let yy = y(p);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e0e0e0"/><text x="{:.1}" y="{:.1}" text-anchor="end">{p:.2}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    if !unit.is_empty() {
        let _ = write!(
            s,
            r#"<text x="8" y="{:.1}" transform="rotate(-90 8 {:.1})" text-anchor="middle">{}</text>"#,
            TOP + (H - TOP - BOTTOM) / 2.0,
            TOP + (H - TOP - BOTTOM) / 2.0,
            esc(&unit)
        );
    }
    // Time axis: the first and last day, and every marked day.
    let mut labelled: Vec<usize> = vec![0, bars.len() - 1];
    for m in marks {
        if let Some(i) = bars.iter().position(|b| b.date == m.date) {
            labelled.push(i);
        }
    }
    labelled.sort_unstable();
    labelled.dedup();
    for i in labelled {
        let anchor = if i == 0 {
            "start"
        } else if i == bars.len() - 1 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="{anchor}" fill="#555555">{}</text>"##,
            x(i),
            H - BOTTOM + 16.0,
            bars[i].date
        );
    }
    let points: Vec<String> = prices
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(*p)))
        .collect();
    let _ = write!(
        s,
        r##"<polyline fill="none" stroke="#1f5fa8" stroke-width="1.6" points="{}"/>"##,
        points.join(" ")
    );
    for m in marks {
        if let Some(i) = bars.iter().position(|b| b.date == m.date) {
            let (cx, cy) = (x(i), y(prices[i]));
            let _ = write!(
                s,
                r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="4" fill="#c62828"/><text x="{cx:.1}" y="{:.1}" text-anchor="middle" fill="#c62828" font-weight="bold">{}</text>"##,
                (cy - 9.0).max(TOP - 4.0),
                esc(&m.label)
            );
        }
    }
    s.push_str("</svg>");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(d: &str, close: f64) -> Bar {
        Bar {
            contract: "X".into(),
            date: Date::parse(d).unwrap(),
            open: None,
            high: None,
            low: None,
            close,
            settlement: None,
            volume: None,
            open_interest: None,
            unit: Some("USD/bbl".into()),
            row: 0,
        }
    }

    #[test]
    fn a_window_is_drawn_with_its_marks_and_the_same_bars_give_the_same_bytes() {
        let bars = vec![
            bar("2018-11-14", 56.25),
            bar("2018-11-12", 59.85),
            bar("2018-11-13", 55.63),
        ];
        let marks = [Mark {
            date: Date::parse("2018-11-13").unwrap(),
            label: "-7.05%".into(),
        }];
        let a = svg(&bars, &marks, "WTI <crude> & co").unwrap();
        assert_eq!(a, svg(&bars, &marks, "WTI <crude> & co").unwrap());
        assert!(a.starts_with("<svg") && a.ends_with("</svg>"));
        assert!(a.contains("WTI &lt;crude&gt; &amp; co"));
        assert!(
            a.contains(">2018-11-12<") && a.contains(">2018-11-13<") && a.contains(">2018-11-14<")
        );
        assert!(a.contains(">-7.05%<") && a.contains(">USD/bbl<"));
        assert!(!a.contains("<script"));
        // The lowest price is drawn lowest: 55.63's point has the largest y.
        let pts = a
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let ys: Vec<f64> = pts
            .split(' ')
            .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert!(ys[1] > ys[0] && ys[1] > ys[2], "{ys:?}");
        assert!(svg(&bars[..1], &[], "one").is_none());
    }
}
