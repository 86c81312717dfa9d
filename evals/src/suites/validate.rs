//! Independent validation reports (issue #21 item 2): `deskmate eval validate CHAIN`, one suite
//! per chain (`validate-pricing`, `validate-rfq`), each figure judged against the chain's
//! thresholds in `policies::validation`.
//!
//! **Pricing** (`validate-pricing`): the example products of `kernels/examples` (European call
//! and put, a digital, an up-and-out call with rebate, a snowball) under extreme but plausible
//! markets: volatility 5% to 150%, rates −1% to 5%, tenors of one day to ten years, spot at the
//! barriers. Checks: every scenario priced to a finite value; no-arbitrage bounds; monotonicity
//! (calls rise with spot and volatility, puts fall with spot); agreement between engines (Monte
//! Carlo within `mc_standard_errors` standard errors of the closed form, PDE within
//! `pde_tolerance` of notional); the latency distribution per engine. A chart shows the call
//! against volatility by engine.
//!
//! **RFQ** (`validate-rfq`): the rule parser on its golden sets (dev, robustness, held-out:
//! message exact match with its 95% Wilson interval) and its stability under perturbation:
//! full-width characters, traditional characters, extra chatter, doubled spaces, the underlying
//! moved to the end, upper case; a perturbed message must parse exactly as the original. The
//! latency distribution of one parse.

use crate::{
    CaseResult, EvalContext, EvalError, Metric, Plot, Series, Suite, SuiteOutput, Threshold,
};
use kernels::{EngineKind, Market, PricingRequest, Product};
use policies::validation::{PRICING, RFQ};
use serde_json::Value;
use std::time::Instant;

/// The pricing validation suite.
#[derive(Debug, Clone, Default)]
pub struct ValidatePricing;

/// The RFQ validation suite.
#[derive(Debug, Clone, Default)]
pub struct ValidateRfq;

const CALL: &str = include_str!("../../../kernels/examples/european_call.json");
const DIGITAL: &str = include_str!("../../../kernels/examples/digital_call.json");
const UOC: &str = include_str!("../../../kernels/examples/barrier_up_out_call.json");
const SNOWBALL: &str = include_str!("../../../kernels/examples/snowball.json");

fn run_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Run(e.to_string())
}

/// An example product with fields replaced (`tenor`, `direction`, the first leg's `type`).
fn product(
    json: &str,
    tenor: &str,
    buy: bool,
    leg_type: Option<&str>,
) -> Result<Product, EvalError> {
    let mut v: Value = serde_json::from_str(json).map_err(run_err)?;
    v["tenor"] = Value::String(tenor.into());
    v["direction"] = Value::String(if buy { "buy" } else { "sell" }.into());
    if let Some(t) = leg_type {
        v["payoff"]["legs"][0]["type"] = Value::String(t.into());
    }
    Product::from_json("validation product", &v.to_string()).map_err(run_err)
}

fn market(spot: f64, rate: f64, vol: f64) -> Market {
    let date = kernels::dates::Date::from_ymd(2026, 1, 5).expect("a date");
    Market::flat(date, spot, rate, 0.01, vol)
}

fn request(engine: EngineKind) -> PricingRequest {
    let mut r = PricingRequest {
        engine,
        ..PricingRequest::default()
    };
    r.mc.paths = 20_000;
    r
}

/// Years of a tenor as the checks need them (calendar approximations; bounds get slack).
fn years(tenor: &str) -> f64 {
    let (n, unit) = tenor.split_at(tenor.len() - 1);
    let n: f64 = n.parse().unwrap_or(0.0);
    match unit {
        "D" => n / 365.0,
        "M" => n / 12.0,
        _ => n,
    }
}

#[derive(Default)]
struct Tally {
    finite: (usize, usize),
    bounds: (usize, usize),
    monotonic: (usize, usize),
    agreement: (usize, usize),
    latency: std::collections::BTreeMap<&'static str, Vec<f64>>,
}

fn share(x: (usize, usize)) -> f64 {
    if x.1 == 0 {
        1.0
    } else {
        x.0 as f64 / x.1 as f64
    }
}

pub(crate) fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

struct Pricer<'a> {
    tally: &'a mut Tally,
    cases: &'a mut Vec<CaseResult>,
}

impl Pricer<'_> {
    /// Prices and records finiteness; returns (value per notional, its standard error).
    fn price(&mut self, id: &str, p: &Product, m: &Market, e: EngineKind) -> Option<(f64, f64)> {
        let name = kernels::pricing::engine_name(e);
        self.tally.finite.1 += 1;
        match kernels::price(p, m, &request(e)) {
            Ok(r) if r.value.is_finite() && r.value_per_notional.is_finite() => {
                self.tally.finite.0 += 1;
                self.tally
                    .latency
                    .entry(name)
                    .or_default()
                    .push(r.elapsed_ms);
                Some((
                    r.value_per_notional,
                    r.std_error / p.notional.abs().max(1.0),
                ))
            }
            Ok(r) => {
                self.cases.push(CaseResult {
                    id: format!("finite/{id}/{name}"),
                    passed: false,
                    detail: format!(
                        "not finite: value {} per notional {}",
                        r.value, r.value_per_notional
                    ),
                });
                None
            }
            Err(err) => {
                self.cases.push(CaseResult {
                    id: format!("finite/{id}/{name}"),
                    passed: false,
                    detail: format!("refused: {err}"),
                });
                None
            }
        }
    }

    fn check(&mut self, kind: &str, id: String, ok: bool, detail: String) {
        let slot = match kind {
            "bounds" => &mut self.tally.bounds,
            "monotonic" => &mut self.tally.monotonic,
            _ => &mut self.tally.agreement,
        };
        slot.1 += 1;
        slot.0 += usize::from(ok);
        if !ok {
            self.cases.push(CaseResult {
                id: format!("{kind}/{id}"),
                passed: false,
                detail,
            });
        }
    }
}

/// Runs the pricing validation (see the module doc).
pub fn validate_pricing() -> Result<SuiteOutput, EvalError> {
    let th = PRICING;
    let mut tally = Tally::default();
    let mut cases = Vec::new();
    let vols = [0.05, 0.1, 0.2, 0.4, 0.8, 1.5];
    let rates = [-0.01, 0.0, 0.03, 0.05];
    let tenors = ["1D", "1M", "12M", "10Y"];
    let mut plot_series: Vec<Series> = ["analytic", "pde", "mc"]
        .iter()
        .map(|n| Series {
            name: format!("call, {n}"),
            points: Vec::new(),
        })
        .collect();
    let tol = th.abs_tolerance;
    {
        let mut pr = Pricer {
            tally: &mut tally,
            cases: &mut cases,
        };
        for tenor in tenors {
            let t = years(tenor);
            for rate in rates {
                let mut last: Option<(f64, f64)> = None;
                for vol in vols {
                    // Extreme but plausible: the extremes of volatility and of tenor are not
                    // combined (150% a year for ten years is no market).
                    if t > 3.0 && vol > 0.8 {
                        continue;
                    }
                    let m = market(100.0, rate, vol);
                    let id = format!("{tenor}/r{rate}/v{vol}");
                    let call = product(CALL, tenor, true, None)?;
                    let t = call.compile(&m).map_err(run_err)?.t_mat;
                    let put = product(CALL, tenor, true, Some("put"))?;
                    let dig = product(DIGITAL, tenor, true, None)?;
                    let engines = [EngineKind::Analytic, EngineKind::Pde, EngineKind::Mc];
                    let mut cv = Vec::new();
                    for (i, e) in engines.into_iter().enumerate() {
                        let c = pr.price(&format!("call/{id}"), &call, &m, e);
                        let p = pr.price(&format!("put/{id}"), &put, &m, e);
                        let d = pr.price(&format!("digital/{id}"), &dig, &m, e);
                        if tenor == "12M"
                            && rate == 0.03
                            && let Some((v, _)) = c
                        {
                            plot_series[i].points.push((vol * 100.0, v));
                        }
                        cv.push((c, p, d));
                    }
                    // Bounds on the closed form, at the contract's own year fraction.
                    let (df_r, df_q) = ((-rate * t).exp(), (-0.01 * t).exp());
                    let slack = tol;
                    if let (Some((c, _)), Some((p, _)), Some((d, _))) = cv[0] {
                        let lo = (df_q - df_r).max(0.0);
                        pr.check(
                            "bounds",
                            format!("call/{id}"),
                            c >= lo - slack && c <= df_q + slack,
                            format!("call {c} outside [{lo}, {df_q}]"),
                        );
                        let lo = (df_r - df_q).max(0.0);
                        pr.check(
                            "bounds",
                            format!("put/{id}"),
                            p >= lo - slack && p <= df_r + slack,
                            format!("put {p} outside [{lo}, {df_r}]"),
                        );
                        // Put-call parity at the money.
                        pr.check(
                            "bounds",
                            format!("parity/{id}"),
                            ((c - p) - (df_q - df_r)).abs() <= slack + 1e-9,
                            format!(
                                "call − put = {} but forward − strike = {}",
                                c - p,
                                df_q - df_r
                            ),
                        );
                        pr.check(
                            "bounds",
                            format!("digital/{id}"),
                            (-slack..=0.05 * df_r + slack).contains(&d),
                            format!("digital {d} outside [0, {}]", 0.05 * df_r),
                        );
                        // Monotone in volatility (closed form).
                        if let Some((lc, lp)) = last {
                            pr.check(
                                "monotonic",
                                format!("call-vol/{id}"),
                                c >= lc - tol,
                                format!("call fell from {lc} to {c} as vol rose"),
                            );
                            pr.check(
                                "monotonic",
                                format!("put-vol/{id}"),
                                p >= lp - tol,
                                format!("put fell from {lp} to {p} as vol rose"),
                            );
                        }
                        last = Some((c, p));
                        // Engines against the closed form.
                        for (k, name) in [(1, "pde"), (2, "mc")] {
                            for (which, a, b) in [
                                ("call", cv[0].0, cv[k].0),
                                ("put", cv[0].1, cv[k].1),
                                ("digital", cv[0].2, cv[k].2),
                            ] {
                                let (Some((a, _)), Some((b, se))) = (a, b) else {
                                    continue;
                                };
                                let allowed = if name == "mc" {
                                    th.mc_standard_errors * se + tol
                                } else {
                                    th.pde_tolerance + tol
                                };
                                pr.check(
                                    "agreement",
                                    format!("{which}/{id}/{name}"),
                                    (a - b).abs() <= allowed,
                                    format!("{name} {b} vs closed form {a}: {} apart, allowed {allowed}", (a - b).abs()),
                                );
                            }
                        }
                    }
                }
            }
        }
        // Spot grid: calls rise and puts fall with spot (PDE and closed form).
        for e in [EngineKind::Analytic, EngineKind::Pde] {
            let (mut lc, mut lp) = (f64::MIN, f64::MAX);
            for spot in [50.0, 80.0, 95.0, 100.0, 105.0, 120.0, 200.0] {
                let m = market(spot, 0.02, 0.25);
                let id = format!("spot{spot}/{}", kernels::pricing::engine_name(e));
                let c = pr.price(
                    &format!("call/{id}"),
                    &product(CALL, "12M", true, None)?,
                    &m,
                    e,
                );
                let p = pr.price(
                    &format!("put/{id}"),
                    &product(CALL, "12M", true, Some("put"))?,
                    &m,
                    e,
                );
                if let (Some((c, _)), Some((p, _))) = (c, p) {
                    pr.check(
                        "monotonic",
                        format!("call-spot/{id}"),
                        c >= lc - tol,
                        format!("call fell to {c} from {lc}"),
                    );
                    pr.check(
                        "monotonic",
                        format!("put-spot/{id}"),
                        p <= lp + tol,
                        format!("put rose to {p} from {lp}"),
                    );
                    lc = c;
                    lp = p;
                }
            }
        }
        // The barrier: below the vanilla, above zero; at and above the barrier only the rebate.
        for vol in vols {
            for tenor in ["1M", "12M", "10Y"] {
                if years(tenor) > 3.0 && vol > 0.8 {
                    continue;
                }
                let m = market(100.0, 0.02, vol);
                let id = format!("uoc/{tenor}/v{vol}");
                let uoc = product(UOC, tenor, true, None)?;
                let call = product(CALL, tenor, true, None)?;
                let van = pr.price(&format!("call-for-{id}"), &call, &m, EngineKind::Analytic);
                let a = pr.price(&id, &uoc, &m, EngineKind::Analytic);
                let mc = pr.price(&id, &uoc, &m, EngineKind::Mc);
                let pde = pr.price(&id, &uoc, &m, EngineKind::Pde);
                if let (Some((v, _)), Some((a, _))) = (van, a) {
                    pr.check(
                        "bounds",
                        id.clone(),
                        a >= -tol && a <= v + 0.02 + tol,
                        format!("up-and-out {a} outside [0, vanilla {v} + rebate 0.02]"),
                    );
                    if let Some((b, se)) = mc {
                        let allowed = th.mc_standard_errors * se + tol;
                        pr.check(
                            "agreement",
                            format!("{id}/mc"),
                            (a - b).abs() <= allowed,
                            format!("mc {b} vs closed form {a}, allowed {allowed}"),
                        );
                    }
                    if let Some((b, _)) = pde {
                        let allowed = th.pde_tolerance + tol;
                        pr.check(
                            "agreement",
                            format!("{id}/pde"),
                            (a - b).abs() <= allowed,
                            format!("pde {b} vs closed form {a}, allowed {allowed}"),
                        );
                    }
                }
            }
            // Spot just below the barrier: worth about the rebate, never more than the rebate
            // plus what the call can still pay before it is knocked out.
            for e in [EngineKind::Analytic, EngineKind::Pde, EngineKind::Mc] {
                let m = market(129.9, 0.02, vol);
                let id = format!(
                    "uoc/near-barrier/v{vol}/{}",
                    kernels::pricing::engine_name(e)
                );
                let uoc = product(UOC, "12M", true, None)?;
                if let Some((a, se)) = pr.price(&id, &uoc, &m, e) {
                    let cap = 0.02 + 0.005 + th.mc_standard_errors * se + tol;
                    pr.check(
                        "bounds",
                        id,
                        (-tol..=cap).contains(&a),
                        format!("value {a} near the barrier above rebate plus {cap}"),
                    );
                }
            }
            // At and beyond the barrier the contract is dead: refused with an error naming the
            // field (the desk books the knock-out), never a price or a NaN.
            for spot in [130.0, 150.0] {
                let m = market(spot, 0.02, vol);
                let id = format!("uoc/at-barrier/s{spot}/v{vol}");
                let uoc = product(UOC, "12M", true, None)?;
                let r = kernels::price(&uoc, &m, &request(EngineKind::Analytic));
                pr.check(
                    "bounds",
                    id,
                    matches!(&r, Err(e) if e.to_string().contains("barrier.level")),
                    format!(
                        "a dead contract was not refused by name: {:?}",
                        r.map(|r| r.value)
                    ),
                );
            }
        }
        // The snowball (the desk's short side): finite and bounded by the notional plus the
        // coupons, at spot, at the knock-in and at the knock-out level; MC and PDE agree.
        for vol in [0.05, 0.2, 0.4, 0.8, 1.5] {
            for (spot, tenor) in [
                (100.0, "12M"),
                (75.0, "12M"),
                (103.0, "12M"),
                (100.0, "36M"),
            ] {
                let m = market(spot, 0.02, vol);
                let id = format!("snowball/{tenor}/s{spot}/v{vol}");
                let sb = product(SNOWBALL, tenor, false, None)?;
                let mc = pr.price(&id, &sb, &m, EngineKind::Mc);
                let pde = pr.price(&id, &sb, &m, EngineKind::Pde);
                let cap = 1.0 + 0.15 * years(tenor) + tol;
                for (name, v) in [("mc", mc), ("pde", pde)] {
                    if let Some((v, _)) = v {
                        pr.check(
                            "bounds",
                            format!("{id}/{name}"),
                            v.abs() <= cap,
                            format!("|{v}| above notional plus coupons {cap}"),
                        );
                    }
                }
                if let (Some((a, se)), Some((b, _))) = (mc, pde) {
                    let allowed = th.mc_standard_errors * se + th.pde_tolerance * 5.0 + tol;
                    pr.check(
                        "agreement",
                        format!("{id}/mc-pde"),
                        (a - b).abs() <= allowed,
                        format!("mc {a} vs pde {b}, allowed {allowed}"),
                    );
                }
            }
        }
    }
    let mut out = SuiteOutput::default();
    for (name, x, t) in [
        ("finite", tally.finite, th.finite),
        ("bounds", tally.bounds, th.bounds),
        ("monotonic", tally.monotonic, th.monotonic),
        ("agreement", tally.agreement, th.agreement),
    ] {
        out.metrics.push(Metric::gated(
            name,
            share(x),
            "ratio",
            Threshold::AtLeast(t),
        ));
        out.metrics.push(Metric::info(
            &format!("{name}_checks"),
            x.1 as f64,
            "checks",
        ));
        out.cases.push(CaseResult {
            id: format!("summary/{name}"),
            passed: share(x) >= t,
            detail: format!("{} of {} hold (threshold {t})", x.0, x.1),
        });
    }
    for (engine, v) in &mut tally.latency {
        out.metrics.push(Metric::info(
            &format!("{engine}_p50_ms"),
            percentile(v, 0.5),
            "ms",
        ));
        out.metrics.push(Metric::info(
            &format!("{engine}_p95_ms"),
            percentile(v, 0.95),
            "ms",
        ));
    }
    out.cases.extend(cases);
    out.plots.push(Plot {
        title: "European call (12 months, rate 3%, ATM) against volatility, by engine".into(),
        x_label: "volatility (%)".into(),
        y_label: "value (share of notional)".into(),
        series: plot_series,
    });
    out.notes.push(format!(
        "Thresholds (policies::validation::PRICING): finite {}, bounds {}, monotonic {}, agreement {}; Monte Carlo within {} standard errors, PDE within {} of notional. Monte Carlo 20,000 paths, fixed seed.",
        th.finite, th.bounds, th.monotonic, th.agreement, th.mc_standard_errors, th.pde_tolerance
    ));
    Ok(out)
}

/// The 95% Wilson score interval of k successes in n.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    let z = 1.959_964;
    let (n, p) = (n as f64, k as f64 / n as f64);
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Simplified to traditional characters, for the perturbation (the characters of desk chat).
pub(crate) const TRADITIONAL: [(char, char); 30] = [
    ('个', '個'),
    ('价', '價'),
    ('权', '權'),
    ('报', '報'),
    ('涨', '漲'),
    ('费', '費'),
    ('义', '義'),
    ('证', '證'),
    ('沪', '滬'),
    ('现', '現'),
    ('钱', '錢'),
    ('请', '請'),
    ('询', '詢'),
    ('结', '結'),
    ('构', '構'),
    ('买', '買'),
    ('卖', '賣'),
    ('鲨', '鯊'),
    ('鱼', '魚'),
    ('鳍', '鰭'),
    ('万', '萬'),
    ('亿', '億'),
    ('额', '額'),
    ('执', '執'),
    ('无', '無'),
    ('币', '幣'),
    ('单', '單'),
    ('数', '數'),
    ('区', '區'),
    ('间', '間'),
];

/// A named change to a message that must not change its parse.
pub type Perturbation = (&'static str, fn(&str) -> String);

/// The perturbations.
pub fn perturbations() -> Vec<Perturbation> {
    vec![
        ("full_width", |s| {
            s.chars()
                .map(|c| match c {
                    '!'..='~' if c != '@' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                    ' ' => '\u{3000}',
                    _ => c,
                })
                .collect()
        }),
        ("traditional", |s| {
            s.chars()
                .map(|c| {
                    TRADITIONAL
                        .iter()
                        .find(|(a, _)| *a == c)
                        .map_or(c, |(_, b)| *b)
                })
                .collect()
        }),
        ("chatter", |s| format!("老师好，麻烦看下 {s} 谢谢！Thanks")),
        ("double_spaces", |s| s.replace(' ', "  ")),
        ("upper_case", |s| s.to_uppercase()),
        ("underlying_last", |s| {
            let mut words: Vec<&str> = s.split(' ').collect();
            if words.len() > 2 && !words[0].starts_with('@') {
                let first = words.remove(0);
                words.push(first);
            }
            words.join(" ")
        }),
    ]
}

/// Runs the RFQ validation (see the module doc).
pub fn validate_rfq() -> Result<SuiteOutput, EvalError> {
    use rfq::eval::{EVAL_TODAY, HOLDOUT_JSONL, ROBUSTNESS_JSONL, load_cases};
    use rfq::{ParseContext, RfqParser};
    let th = RFQ;
    let dev = std::fs::read_to_string(
        crate::shared_data()
            .ok_or_else(|| {
                EvalError::Data("shared data not found (set DESKMATE_SHARED_DATA)".into())
            })?
            .join("rfq/dev.jsonl"),
    )
    .map_err(run_err)?;
    let parser = RfqParser::builtin();
    let report = rfq::eval::run_suite(parser, &dev).map_err(run_err)?;
    let mut out = SuiteOutput::default();
    let mut k_total = 0;
    let mut n_total = 0;
    for (name, r) in [
        ("dev", &report.dev),
        ("robustness", &report.robustness),
        ("holdout", &report.holdout),
    ] {
        let k = (r.message_exact_match * r.cases as f64).round() as usize;
        let (lo, hi) = wilson(k, r.cases);
        out.metrics.push(Metric::info(
            &format!("exact_match_{name}"),
            r.message_exact_match,
            "ratio",
        ));
        out.notes.push(format!(
            "{name}: message exact match {k}/{} = {:.3}, 95% interval [{lo:.3}, {hi:.3}]",
            r.cases, r.message_exact_match
        ));
        k_total += k;
        n_total += r.cases;
    }
    let (lo, hi) = wilson(k_total, n_total);
    out.metrics.push(Metric::gated(
        "exact_match_lower_bound",
        lo,
        "ratio",
        Threshold::AtLeast(th.exact_match_lower_bound),
    ));
    out.metrics
        .push(Metric::info("exact_match_upper_bound", hi, "ratio"));
    // Stability: every message of the three sets, each perturbation.
    let mut messages: Vec<(String, time::Date)> = Vec::new();
    for (text, label) in [
        (dev.as_str(), "dev"),
        (ROBUSTNESS_JSONL, "robustness"),
        (HOLDOUT_JSONL, "holdout"),
    ] {
        for c in load_cases(text, label).map_err(run_err)? {
            messages.push((c.message.clone(), c.today));
        }
    }
    let _ = EVAL_TODAY;
    let mut latencies = Vec::new();
    let mut plot = Series {
        name: "unchanged parse".into(),
        points: Vec::new(),
    };
    for (i, (name, f)) in perturbations().into_iter().enumerate() {
        let (mut same, mut total) = (0usize, 0usize);
        let mut changed = Vec::new();
        for (m, today) in &messages {
            let ctx = ParseContext::new(*today);
            let t = Instant::now();
            let base = parser.parse(m, &ctx);
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            if base.parse.requests.is_empty() {
                continue;
            }
            total += 1;
            let perturbed = f(m);
            let got = parser.parse(&perturbed, &ctx);
            if got.parse == base.parse {
                same += 1;
            } else if changed.len() < 5 {
                changed.push(format!("{perturbed:?}"));
            }
        }
        let s = share((same, total));
        plot.points.push((i as f64 + 1.0, s));
        out.metrics.push(Metric::gated(
            &format!("stability_{name}"),
            s,
            "ratio",
            Threshold::AtLeast(th.stability),
        ));
        out.cases.push(CaseResult {
            id: format!("stability/{name}"),
            passed: s >= th.stability,
            detail: format!(
                "{same} of {total} parses unchanged{}",
                if changed.is_empty() {
                    String::new()
                } else {
                    format!("; changed, e.g. {}", changed.join(", "))
                }
            ),
        });
    }
    interaction(parser, &messages, &mut out)?;
    let p95 = percentile(&mut latencies, 0.95);
    out.metrics.push(Metric::info(
        "parse_p50_ms",
        percentile(&mut latencies, 0.5),
        "ms",
    ));
    out.metrics.push(Metric::gated(
        "parse_p95_ms",
        p95,
        "ms",
        Threshold::AtMost(th.p95_latency_ms),
    ));
    out.plots.push(Plot {
        title: "Share of parses unchanged, by perturbation (1 full width, 2 traditional, 3 chatter, 4 double spaces, 5 upper case, 6 underlying last)".into(),
        x_label: "perturbation".into(),
        y_label: "share unchanged".into(),
        series: vec![plot],
    });
    out.notes.push(format!(
        "Thresholds (policies::validation::RFQ): exact-match lower bound {}, stability {}, p95 latency {} ms. {} messages from the dev, robustness and held-out sets; messages without a request are left out of the stability figures.",
        th.exact_match_lower_bound, th.stability, th.p95_latency_ms, messages.len()
    ));
    Ok(out)
}

/// The client the interaction check quotes for: a representative permission set (no
/// autocallables, up to 100,000,000 CNY and 24 months) and one blocked code.
const INTERACTION_LIMITS: &str = r#"
blocked_underlyings = ["600519.SH"]
[clients.VALIDATION]
structures = ["vanilla", "digital", "barrier", "shark_fin", "asian"]
max_notional = 100_000_000
notional_currency = "CNY"
max_tenor_months = 24
"#;

/// A named wrong parse: what it changes in a request the limits pass (`false`: it does not
/// apply to this request, or the wrong value would still lie within the client's permissions).
type WrongParse = (&'static str, fn(&mut rfq::RfqRequest, u32) -> bool);

fn wrong_parses() -> Vec<WrongParse> {
    use rfq::Structure;
    vec![
        ("notional_ten_thousand_times", |r, _| {
            r.notional
                .map(|n| r.notional = Some(n * 10_000.0))
                .is_some()
        }),
        ("notional_lost", |r, _| r.notional.take().is_some()),
        ("years_read_as_months", |r, max| match r.tenor_months {
            Some(t) if t * 12 > max => {
                r.tenor_months = Some(t * 12);
                true
            }
            _ => false,
        }),
        ("tenor_lost", |r, _| r.tenor_months.take().is_some()),
        ("structure_read_as_snowball", |r, _| {
            r.structure = Some(Structure::Snowball);
            true
        }),
        ("currency_read_as_usd", |r, _| {
            r.currency = Some("USD".into());
            true
        }),
        ("underlying_read_as_blocked", |r, _| {
            r.underlying = Some("600519.SH".into());
            true
        }),
    ]
}

/// Interaction (issue #21 item 2): a wrong parse caught by the limits. Every request of the
/// golden messages that the representative client's limits pass is changed by each wrong
/// parse whose value lies outside those limits; the limit check must refuse each one.
fn interaction(
    parser: &rfq::RfqParser,
    messages: &[(String, time::Date)],
    out: &mut SuiteOutput,
) -> Result<(), EvalError> {
    let cfg: policies::limits::LimitsConfig =
        toml::from_str(INTERACTION_LIMITS).map_err(run_err)?;
    let client = "VALIDATION";
    let max_tenor = cfg.clients[client].max_tenor_months;
    let refused = |r: &rfq::RfqRequest| match rfq::limit_check(client, r, None) {
        Some(q) => !policies::limits::check(&cfg, &q, &Default::default()).is_empty(),
        None => true,
    };
    let mut per: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    let mut passing = 0usize;
    for (m, today) in messages {
        let parsed = parser.parse(m, &rfq::ParseContext::new(*today));
        for req in &parsed.parse.requests {
            if rfq::limit_check(client, req, None).is_none() || refused(req) {
                continue;
            }
            passing += 1;
            for (name, f) in wrong_parses() {
                let mut wrong = req.clone();
                if !f(&mut wrong, max_tenor) || wrong == *req {
                    continue;
                }
                let slot = per.entry(name).or_default();
                slot.1 += 1;
                if refused(&wrong) {
                    slot.0 += 1;
                } else {
                    out.cases.push(CaseResult {
                        id: format!("interaction/{name}"),
                        passed: false,
                        detail: format!("not refused by the limits: {m:?}"),
                    });
                }
            }
        }
    }
    let (k, n) = per.values().fold((0, 0), |(k, n), (a, b)| (k + a, n + b));
    for (name, (a, b)) in &per {
        out.metrics.push(Metric::info(
            &format!("limit_catch_{name}"),
            share((*a, *b)),
            "ratio",
        ));
    }
    let t = Threshold::AtLeast(RFQ.limit_catch);
    out.metrics
        .push(Metric::gated("limit_catch", share((k, n)), "ratio", t));
    out.cases.push(CaseResult {
        id: "interaction/limits".into(),
        passed: t.passes(share((k, n))),
        detail: format!(
            "{k} of {n} wrong parses refused by the limit check ({passing} golden requests within the representative client's limits, each changed by every wrong parse that lies outside them)"
        ),
    });
    out.notes.push("Interaction: a wrong parse whose value stays within the client's permissions (a 1-month tenor read as 12 months, a notional read 10% off) passes the limits by design; the trader's approval of every quote is the control for those.".into());
    Ok(())
}

impl Suite for ValidatePricing {
    fn name(&self) -> &'static str {
        "validate-pricing"
    }
    fn description(&self) -> &'static str {
        "Validation of the pricing chain: extreme but plausible markets (vol 5%-150%, negative rates, 1 day to 10 years, spot at barriers): finite values, no-arbitrage bounds, monotonicity, engine agreement, latency"
    }
    fn run(&self, _ctx: &EvalContext) -> Result<SuiteOutput, EvalError> {
        validate_pricing()
    }
}

impl Suite for ValidateRfq {
    fn name(&self) -> &'static str {
        "validate-rfq"
    }
    fn description(&self) -> &'static str {
        "Validation of the RFQ parser chain: golden-set exact match with its confidence interval, stability under perturbation (full width, traditional characters, chatter, spacing, case, field order), latency"
    }
    fn run(&self, _ctx: &EvalContext) -> Result<SuiteOutput, EvalError> {
        validate_rfq()
    }
}
