//! The pricing pages: price one product (JSON product format) with Greeks, a scenario grid
//! drawn as a heat map (rows vol shift, columns spot, one table per day), and a book revalued
//! with totals and per-contract errors. Each run goes through the same workflow as the API
//! (`assistant::desk::adhoc`: bounds, market data, audit entry); results are in the
//! product's notional currency, as the pricing core computes them.

use super::i18n::{T, number};
use super::{CsrfForm, Nav, Viewer, page};
use crate::error::AppError;
use crate::state::AppState;
use assistant::desk::adhoc::{BookInput, GridInput, PriceInput};
use axum::extract::State;
use axum::response::Response;
use kernels::pricing::{EngineKind, Greeks, PriceResult};
use kernels::risk::{BookResult, GridResult, GridSpec};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

const EXAMPLE_PRODUCT: &str = r#"{
  "id": "EX-VAN-C",
  "kind": "european_vanilla",
  "underlying": "000300.SH",
  "notional": 1000000,
  "direction": "buy",
  "initial_price": 100.0,
  "start": "2026-01-05",
  "tenor": "12M",
  "payoff": { "legs": [ { "type": "call", "strike": "100%" } ] }
}"#;

const EXAMPLE_MARKET: &str = r#"{
  "valuation_date": "2026-01-05",
  "spot": 100.0,
  "rate": 0.02,
  "dividend": 0.01,
  "vol": 0.22
}"#;

/// The pricing form's fields (all pages share them; unused ones are ignored).
#[derive(Debug, Deserialize, Default, Clone)]
pub struct PricingForm {
    /// The product (price) or the products (book, grid: a JSON array or one per line).
    #[serde(default)]
    pub product: String,
    /// The market (JSON); the desk's market data when empty.
    #[serde(default)]
    pub market: String,
    /// `auto`, `analytic`, `mc` or `pde`.
    #[serde(default)]
    pub engine: String,
    /// Monte Carlo paths (empty: the core's default).
    #[serde(default)]
    pub paths: String,
    /// Grid spot axis (`80:120:5` in %, or `90;100;110`).
    #[serde(default)]
    pub spot: String,
    /// Grid vol axis in vol points (`-5:5:5`).
    #[serde(default)]
    pub vol: String,
    /// Grid days (`0;30`).
    #[serde(default)]
    pub days: String,
}

fn bad(field: &str, reason: String) -> AppError {
    AppError::BadRequest {
        code: "invalid_request",
        message: format!("{field}: {reason}"),
    }
}

impl PricingForm {
    fn example() -> PricingForm {
        PricingForm {
            product: EXAMPLE_PRODUCT.into(),
            market: EXAMPLE_MARKET.into(),
            engine: "auto".into(),
            paths: String::new(),
            spot: "80:120:5".into(),
            vol: "-5:5:5".into(),
            days: "0;30".into(),
        }
    }

    fn engine(&self) -> Result<EngineKind, AppError> {
        let e = if self.engine.trim().is_empty() {
            "auto"
        } else {
            self.engine.trim()
        };
        serde_json::from_value(Value::String(e.into()))
            .map_err(|_| bad("engine", format!("{e:?}: use auto, analytic, mc or pde")))
    }

    fn paths(&self) -> Result<Option<u64>, AppError> {
        let p = self.paths.trim().replace(['_', ','], "");
        if p.is_empty() {
            return Ok(None);
        }
        p.parse()
            .map(Some)
            .map_err(|_| bad("paths", format!("{p:?} is not a whole number")))
    }

    fn market(&self) -> Result<Option<Value>, AppError> {
        if self.market.trim().is_empty() {
            return Ok(None);
        }
        serde_json::from_str(&self.market)
            .map(Some)
            .map_err(|e| bad("market", format!("not valid JSON: {e}")))
    }

    fn products(&self) -> Result<Vec<Value>, AppError> {
        let t = self.product.trim();
        if t.starts_with('[') {
            return serde_json::from_str(t)
                .map_err(|e| bad("products", format!("not a JSON array: {e}")));
        }
        if let Ok(one) = serde_json::from_str::<Value>(t) {
            return Ok(vec![one]);
        }
        t.lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| {
                    bad(
                        &format!("products line {}", i + 1),
                        format!("not valid JSON: {e}"),
                    )
                })
            })
            .collect()
    }
}

fn forms(v: &Viewer, f: &PricingForm) -> Markup {
    let engine = if f.engine.is_empty() {
        "auto"
    } else {
        f.engine.as_str()
    };
    html! {
        form.stack method="post" action="/pricing/price" {
            (v.csrf_field())
            label for="product" { (v.t(T::ProductJson)) }
            textarea #product name="product" required { (f.product) }
            label for="market" { (v.t(T::MarketJson)) }
            textarea #market name="market" { (f.market) }
            div.inline {
                label for="engine" { (v.t(T::Engine)) }
                select #engine name="engine" {
                    @for e in ["auto", "analytic", "mc", "pde"] {
                        option value=(e) selected[e == engine] { (e) }
                    }
                }
                label for="paths" { (v.t(T::McPaths)) }
                input #paths type="text" name="paths" value=(f.paths) inputmode="numeric" placeholder="200000";
            }
            div.inline {
                button type="submit" { (v.t(T::Price)) }
                button.secondary type="submit" formaction="/pricing/book" { (v.t(T::RevalueBook)) }
            }
            fieldset {
                legend { (v.t(T::ScenarioGrid)) }
                div.inline {
                    label for="spot" { (v.t(T::SpotAxis)) }
                    input #spot type="text" name="spot" value=(f.spot);
                    label for="vol" { (v.t(T::VolAxis)) }
                    input #vol type="text" name="vol" value=(f.vol);
                    label for="days" { (v.t(T::DaysAxis)) }
                    input #days type="text" name="days" value=(f.days);
                    button.secondary type="submit" formaction="/pricing/grid" { (v.t(T::RunGrid)) }
                }
            }
        }
    }
}

fn greeks_rows(v: &Viewer, g: &Greeks, se: Option<&Greeks>) -> Markup {
    let row = |name: &str, x: f64, e: Option<f64>| {
        html! {
            tr { th { (name) } td.num { (number(x, 4)) } td.num { @if let Some(e) = e { "± " (number(e, 4)) } } }
        }
    };
    html! {
        table {
            thead { tr { th { (v.t(T::Greek)) } th.num { (v.t(T::Value)) } th.num { (v.t(T::StdError)) } } }
            tbody {
                (row("delta (∂V/∂S)", g.delta, se.map(|s| s.delta)))
                (row("gamma (∂²V/∂S²)", g.gamma, se.map(|s| s.gamma)))
                (row("vega (per vol point)", g.vega, se.map(|s| s.vega)))
                (row("theta (per day)", g.theta, se.map(|s| s.theta)))
                (row("rho (per 1% rate)", g.rho, se.map(|s| s.rho)))
            }
        }
    }
}

fn result_card(v: &Viewer, r: &PriceResult) -> Markup {
    html! {
        section.card {
            h2 { (v.t(T::Result)) " · " code { (r.id) } }
            table { tbody {
                tr { th { (v.t(T::Value)) } td.num { (number(r.value, 2)) " " span.muted { (v.t(T::NotionalCurrency)) } } }
                tr { th { (v.t(T::PerNotional)) } td.num { (super::i18n::percent(r.value_per_notional, 4)) } }
                tr { th { (v.t(T::StdError)) } td.num { (number(r.std_error, 2)) } }
                tr { th { (v.t(T::Engine)) } td { (format!("{:?}", r.engine).to_lowercase()) " · " (r.backend) span.muted { " (" (r.backend_reason) ")" } } }
                @if let Some(p) = r.paths { tr { th { (v.t(T::McPaths)) } td.num { (number(p as f64, 0)) } } }
                @if let Some(n) = r.time_steps { tr { th { "time steps" } td.num { (n) } } }
                @if let Some(n) = r.space_nodes { tr { th { "space nodes" } td.num { (n) } } }
            } }
            @if let Some(g) = &r.greeks { (greeks_rows(v, g, r.greeks_std_error.as_ref())) }
        }
    }
}

fn pricing_page(v: &Viewer, f: &PricingForm, result: Markup) -> Response {
    let body = html! {
        h1 { (v.t(T::Pricing)) }
        div.grid2 {
            section.card { (forms(v, f)) }
            div { (result) }
        }
    };
    page(v, v.t(T::Pricing), Nav::Pricing, body)
}

/// `GET /pricing`: the forms with an example product and market.
pub async fn index(v: Viewer) -> Response {
    pricing_page(&v, &PricingForm::example(), html! {})
}

/// `POST /pricing/price`.
pub async fn price(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<PricingForm>,
) -> Result<Response, AppError> {
    let product: Value = serde_json::from_str(&f.product)
        .map_err(|e| bad("product", format!("not valid JSON: {e}")))?;
    let input = PriceInput {
        product,
        market: f.market()?,
        engine: f.engine()?,
        greeks: true,
        paths: f.paths()?,
        seed: None,
        backend: Default::default(),
    };
    let actor = v.actor.clone();
    let r = s.blocking(move |a| a.price_product(&actor, &input)).await?;
    let card = result_card(&v, &r);
    Ok(pricing_page(&v, &f, card))
}

fn book_card(v: &Viewer, b: &BookResult) -> Markup {
    html! {
        section.card {
            h2 { (v.t(T::BookTotals)) }
            table { tbody {
                tr { th { (v.t(T::Value)) } td.num { (number(b.total_value, 2)) " " span.muted { (v.t(T::NotionalCurrency)) } } }
                tr { th { (v.t(T::Priced)) } td.num { (b.priced) } }
                tr { th { (v.t(T::Failed)) } td.num { (b.failed) } }
                tr { th { "ms" } td.num { (number(b.elapsed_ms, 1)) } }
            } }
            @if let Some(g) = &b.total_greeks { (greeks_rows(v, g, None)) }
            h2 { (v.t(T::Contracts)) }
            table {
                thead { tr { th.num { "#" } th { "id" } th.num { (v.t(T::Value)) } th.num { "delta" } th.num { "vega" } th { (v.t(T::Error)) } } }
                tbody {
                    @for c in &b.contracts {
                        tr data-id=(c.id) {
                            td.num { (c.index) } td { code { (c.id) } }
                            @if let Some(r) = &c.result {
                                td.num { (number(r.value, 2)) }
                                td.num { (r.greeks.as_ref().map(|g| number(g.delta, 4)).unwrap_or_default()) }
                                td.num { (r.greeks.as_ref().map(|g| number(g.vega, 2)).unwrap_or_default()) }
                                td {}
                            } @else {
                                td {} td {} td {}
                                td { span.status.bad { (c.error.as_ref().map(|e| e.message.clone()).unwrap_or_default()) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /pricing/book`: the products field as a JSON array or one product per line.
pub async fn book(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<PricingForm>,
) -> Result<Response, AppError> {
    let input = BookInput {
        products: f.products()?,
        market: f.market()?,
        engine: f.engine()?,
        greeks: true,
        paths: f.paths()?,
        seed: None,
        backend: Default::default(),
    };
    let actor = v.actor.clone();
    let b = s.blocking(move |a| a.risk_book(&actor, &input)).await?;
    let card = book_card(&v, &b);
    Ok(pricing_page(&v, &f, card))
}

/// The heat-map class of `x` between `lo` and `hi`: `heat-0` (lowest) to `heat-9`.
fn heat(x: f64, lo: f64, hi: f64) -> String {
    let k = if hi > lo && x.is_finite() {
        (((x - lo) / (hi - lo)) * 9.0).round().clamp(0.0, 9.0) as u8
    } else {
        5
    };
    format!("heat-{k}")
}

fn grid_card(v: &Viewer, g: &GridResult) -> Markup {
    let all = g
        .value
        .iter()
        .flatten()
        .flatten()
        .copied()
        .filter(|x| x.is_finite());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    html! {
        section.card {
            h2 { (v.t(T::ScenarioGrid)) }
            p.muted { (v.t(T::HeatMapHelp)) " " (v.t(T::NotionalCurrency)) " · " (number(g.elapsed_ms, 1)) " ms" }
            @for (d, day) in g.axes.days.iter().enumerate() {
                h2 { "+" (day) " " (v.t(T::Days)) }
                div.scroll { table.heat {
                    thead { tr {
                        th { "vol \\ spot" }
                        @for sp in &g.axes.spot_pct { th.num { (number(*sp, 0)) "%" } }
                    } }
                    tbody {
                        @for (vi, vol) in g.axes.vol_shift.iter().enumerate() {
                            tr {
                                th { (if *vol >= 0.0 { "+" } else { "" }) (number(vol * 100.0, 1)) " pt" }
                                @for (si, _) in g.axes.spot_pct.iter().enumerate() {
                                    @let x = g.value[d][vi][si];
                                    td class={"num " (heat(x, lo, hi))} { (number(x, 0)) }
                                }
                            }
                        }
                    }
                } }
            }
            @if !g.errors.is_empty() {
                h2 { (v.t(T::Failed)) }
                ul { @for e in &g.errors { li { code { (e.id) } ": " (e.error.as_ref().map(|e| e.message.clone()).unwrap_or_default()) } } }
            }
        }
    }
}

/// `POST /pricing/grid`: value over spot × vol × days for the products.
pub async fn grid(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<PricingForm>,
) -> Result<Response, AppError> {
    for (field, v) in [("spot", &f.spot), ("vol", &f.vol), ("days", &f.days)] {
        if v.trim().is_empty() || v.contains([',', '=']) {
            return Err(bad(field, "give a range a:b:step or a list x;y;z".into()));
        }
    }
    let spec = GridSpec::parse(&format!(
        "spot={},vol={},days={}",
        f.spot.trim(),
        f.vol.trim(),
        f.days.trim()
    ))
    .map_err(|e| bad("grid", e.to_string()))?;
    let input = GridInput {
        products: f.products()?,
        market: f.market()?,
        grid: spec,
        engine: f.engine()?,
        greeks: false,
        paths: f.paths()?,
        seed: None,
        backend: Default::default(),
    };
    let actor = v.actor.clone();
    let g = s.blocking(move |a| a.risk_grid(&actor, &input)).await?;
    let card = grid_card(&v, &g);
    Ok(pricing_page(&v, &f, card))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_classes_span_the_range() {
        assert_eq!(heat(0.0, 0.0, 10.0), "heat-0");
        assert_eq!(heat(10.0, 0.0, 10.0), "heat-9");
        assert_eq!(heat(5.0, 0.0, 10.0), "heat-5");
        assert_eq!(heat(3.0, 3.0, 3.0), "heat-5");
        assert_eq!(heat(f64::NAN, 0.0, 1.0), "heat-5");
    }

    #[test]
    fn products_are_read_as_one_an_array_or_lines() {
        let f = |p: &str| {
            PricingForm {
                product: p.into(),
                ..PricingForm::default()
            }
            .products()
        };
        assert_eq!(f("{\"a\":1}").unwrap().len(), 1);
        assert_eq!(f("[{\"a\":1},{\"a\":2}]").unwrap().len(), 2);
        assert_eq!(f("{\"a\":1}\n\n{\"a\":2}\n").unwrap().len(), 2);
        let e = f("{\"a\":1}\nnot json").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
