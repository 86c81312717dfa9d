//! Books and scenario grids: many contracts in one call, with per-contract errors.
//!
//! A book is a list of products (JSON Lines, one product per line). Contracts are compiled,
//! grouped by engine, and the Monte Carlo group runs as one batch on the chosen backend (one
//! GPU launch for the whole group, or rayon over contracts on the CPU); closed forms and PDE
//! run in parallel on the CPU. A contract that fails (bad field, unsupported feature) carries
//! its error in its own result; the batch never fails as a whole.
//!
//! A scenario grid values a contract or a book over spot × vol (× days forward): spot as a
//! percentage of each underlying's current spot, vol as an absolute shift of every vol, days
//! as a roll of the valuation date (observations passed by the roll are assumed not to have
//! triggered). PDE grids read all spots from one solve per (vol, day); Monte Carlo grids put all
//! spots on the same paths in one pass per (vol, day).

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analytic;
use crate::backend::Backend;
use crate::error::{PricingError, Result};
use crate::market::{Market, MarketSet};
use crate::math::Stream;
use crate::mc::{Program, Scenario};
use crate::pde;
use crate::pricing::{
    EngineKind, Greeks, PriceResult, PricingRequest, contract_key, engine_name, greek_scenarios,
    mc_greeks, price_contract, resolve_engine,
};
use crate::product::{Contract, Product};

/// An error attached to one contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractError {
    /// The error message (names the field).
    pub message: String,
    /// True when the input is at fault.
    pub input_error: bool,
}

impl From<&PricingError> for ContractError {
    fn from(e: &PricingError) -> Self {
        Self {
            message: e.to_string(),
            input_error: e.is_input_error(),
        }
    }
}

/// One contract's outcome in a book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookEntry {
    /// Position in the book (0-based; for JSON Lines, line number − 1).
    pub index: usize,
    /// Contract id.
    pub id: String,
    /// The result, if priced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<PriceResult>,
    /// The error, if not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ContractError>,
}

/// A book's revaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookResult {
    /// Per-contract outcomes, in book order.
    pub contracts: Vec<BookEntry>,
    /// Sum of values of the priced contracts (currencies are not converted).
    pub total_value: f64,
    /// Sum of Greeks of the priced contracts.
    pub total_greeks: Option<Greeks>,
    /// Number priced.
    pub priced: usize,
    /// Number failed.
    pub failed: usize,
    /// Monte Carlo backend.
    pub backend: String,
    /// Why that backend.
    pub backend_reason: String,
    /// Wall time.
    pub elapsed_ms: f64,
}

/// Parses a JSON Lines book; a bad line becomes an error for that line only.
pub fn parse_book(source_name: &str, text: &str) -> Vec<Result<Product>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            Product::from_json(&format!("{source_name}:{}", i + 1), l).map(|mut p| {
                if p.id.is_empty() {
                    p.id = format!("line-{}", i + 1);
                }
                p
            })
        })
        .collect()
}

/// A progress hook: called with (contracts done, contracts in the book) as contracts finish, from
/// any worker thread.
pub type OnProgress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Revalues a book: price (and Greeks if asked) for every contract.
pub fn revalue_book(
    products: &[Result<Product>],
    markets: &MarketSet,
    req: &PricingRequest,
) -> Result<BookResult> {
    revalue_book_with_progress(products, markets, req, &|_, _| {})
}

/// [`revalue_book`], reporting each finished contract to `on_progress` (the Monte Carlo group,
/// priced as one batch, all at once).
pub fn revalue_book_with_progress(
    products: &[Result<Product>],
    markets: &MarketSet,
    req: &PricingRequest,
    on_progress: OnProgress<'_>,
) -> Result<BookResult> {
    let t0 = Instant::now();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let finished = |n: usize| {
        let d = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        on_progress(d, products.len());
    };
    let mut backend = Backend::select(req.backend)?;
    let compiled: Vec<Result<(Contract, &Market)>> = products
        .par_iter()
        .map(|p| {
            let p = p.as_ref().map_err(Clone::clone)?;
            let m = markets.get(&p.underlying)?;
            Ok((p.compile(m)?, m))
        })
        .collect();
    let mut out: Vec<Option<Result<PriceResult>>> = vec![None; products.len()];
    // Monte Carlo group: build programs in parallel, then one batch.
    let mc_group: Vec<(usize, &Contract, &Market)> = compiled
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|(c, m)| (i, c, *m)))
        .filter(|(_, c, m)| resolve_engine(c, m, req.engine) == EngineKind::Mc)
        .collect();
    if !mc_group.is_empty() {
        req.mc.validate()?;
        let built: Vec<Result<(Program, f64)>> = mc_group
            .par_iter()
            .map(|(_, c, m)| {
                let dt = c.theta_dt();
                let scen = if req.greeks {
                    greek_scenarios(&req.bumps, dt)
                } else {
                    vec![Scenario::default()]
                };
                Program::build(c, m, &scen, &req.mc).map(|p| (p, dt))
            })
            .collect();
        let mut jobs = Vec::new();
        let mut members = Vec::new();
        for ((i, c, m), b) in mc_group.iter().zip(&built) {
            match b {
                Ok((p, dt)) => {
                    jobs.push((p, Stream::new(req.mc.seed, contract_key(&c.id))));
                    members.push((*i, *c, *m, *dt));
                }
                Err(e) => out[*i] = Some(Err(e.clone())),
            }
        }
        let t_mc = Instant::now();
        let res = backend.run_mc(&jobs, &req.mc)?;
        finished(mc_group.len());
        let per = t_mc.elapsed().as_secs_f64() * 1e3 / res.len().max(1) as f64;
        for (k, o) in res.iter().enumerate() {
            let (i, c, m, dt) = members[k];
            let mut r = PriceResult {
                id: c.id.clone(),
                value: o.mean[0] * c.scale,
                value_per_notional: o.mean[0],
                std_error: o.se(0) * c.scale.abs(),
                greeks: None,
                greeks_std_error: None,
                engine: EngineKind::Mc,
                backend: backend.name.into(),
                backend_reason: backend.reason.clone(),
                paths: Some(o.paths),
                time_steps: Some(jobs[k].0.n_steps),
                space_nodes: None,
                elapsed_ms: per,
                calendar: c.calendar.clone(),
            };
            if req.greeks {
                let (g, se) = mc_greeks(o, m.spot, &req.bumps, dt);
                r.greeks = Some(scale(g, c.scale));
                r.greeks_std_error = Some(scale(se, c.scale.abs()));
            }
            out[i] = Some(if r.value.is_finite() {
                Ok(r)
            } else {
                Err(PricingError::NonFinite {
                    engine: "mc",
                    what: "value",
                })
            });
        }
    }
    // Everything else in parallel on the CPU.
    let rest: Vec<(usize, Result<PriceResult>)> = (0..products.len())
        .into_par_iter()
        .filter(|i| out[*i].is_none())
        .map(|i| {
            let r = match &compiled[i] {
                Err(e) => Err(e.clone()),
                Ok((c, m)) => {
                    let mut b = backend.clone();
                    price_contract(c, m, req, &mut b)
                }
            };
            finished(1);
            (i, r)
        })
        .collect();
    for (i, r) in rest {
        out[i] = Some(r);
    }
    let mut contracts = Vec::with_capacity(products.len());
    let (mut total, mut greeks, mut priced, mut failed) = (0.0, Greeks::default(), 0, 0);
    for (i, r) in out.into_iter().enumerate() {
        let id = match &products[i] {
            Ok(p) => p.id.clone(),
            Err(_) => format!("line-{}", i + 1),
        };
        match r.unwrap_or_else(|| Err(PricingError::field("book", "not priced"))) {
            Ok(r) => {
                total += r.value;
                if let Some(g) = &r.greeks {
                    greeks.add(g);
                }
                priced += 1;
                contracts.push(BookEntry {
                    index: i,
                    id,
                    result: Some(r),
                    error: None,
                });
            }
            Err(e) => {
                failed += 1;
                contracts.push(BookEntry {
                    index: i,
                    id,
                    result: None,
                    error: Some((&e).into()),
                });
            }
        }
    }
    Ok(BookResult {
        contracts,
        total_value: total,
        total_greeks: req.greeks.then_some(greeks),
        priced,
        failed,
        backend: backend.name.into(),
        backend_reason: backend.reason.clone(),
        elapsed_ms: t0.elapsed().as_secs_f64() * 1e3,
    })
}

fn scale(g: Greeks, k: f64) -> Greeks {
    Greeks {
        delta: g.delta * k,
        gamma: g.gamma * k,
        vega: g.vega * k,
        theta: g.theta * k,
        rho: g.rho * k,
    }
}

/// Axes of a scenario grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridSpec {
    /// Spot as a percentage of current spot.
    pub spot_pct: Vec<f64>,
    /// Absolute vol shifts (0.01 = one vol point).
    pub vol_shift: Vec<f64>,
    /// Days forward.
    pub days: Vec<u32>,
}

fn axis(field: &str, s: &str) -> Result<Vec<f64>> {
    let bad = || PricingError::field(field, format!("`{s}` is not `a:b:step` or a list `x;y;z`"));
    if s.contains(':') {
        let p: Vec<f64> = s
            .split(':')
            .map(|x| x.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad())?;
        let [a, b, st] = p[..] else { return Err(bad()) };
        if st.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
            || b < a
            || ((b - a) / st) > 10_000.0
        {
            return Err(bad());
        }
        let n = ((b - a) / st + 1e-9).floor() as usize;
        Ok((0..=n).map(|i| a + st * i as f64).collect())
    } else {
        s.split(';')
            .map(|x| x.trim().parse::<f64>().map_err(|_| bad()))
            .collect()
    }
}

impl GridSpec {
    /// Parses `spot=80:120:1,vol=-5:5:1,days=0;30` (spot in %, vol in vol points, days; lists
    /// separated by `;`). Missing axes default to spot 100, vol 0, days 0.
    pub fn parse(s: &str) -> Result<Self> {
        let mut g = GridSpec {
            spot_pct: vec![100.0],
            vol_shift: vec![0.0],
            days: vec![0],
        };
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| PricingError::field("grid", format!("`{part}` is not key=value")))?;
            match k.trim() {
                "spot" => g.spot_pct = axis("grid.spot", v)?,
                "vol" => {
                    g.vol_shift = axis("grid.vol", v)?
                        .into_iter()
                        .map(|x| x / 100.0)
                        .collect()
                }
                "days" => {
                    g.days = axis("grid.days", v)?
                        .into_iter()
                        .map(|x| x.max(0.0) as u32)
                        .collect();
                }
                other => {
                    return Err(PricingError::field(
                        "grid",
                        format!("unknown axis `{other}` (spot, vol, days)"),
                    ));
                }
            }
        }
        g.validate()?;
        Ok(g)
    }

    fn validate(&self) -> Result<()> {
        if self.spot_pct.is_empty() || self.vol_shift.is_empty() || self.days.is_empty() {
            return Err(PricingError::field(
                "grid",
                "every axis needs at least one point",
            ));
        }
        if self.spot_pct.iter().any(|p| !(*p > 0.0 && p.is_finite())) {
            return Err(PricingError::field(
                "grid.spot",
                "spots must be positive percentages",
            ));
        }
        if self.spot_pct.len() * self.vol_shift.len() * self.days.len() > 1_000_000 {
            return Err(PricingError::field("grid", "more than a million cells"));
        }
        Ok(())
    }
}

/// A scenario grid's output: matrices indexed `[day][vol][spot]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridResult {
    /// The axes.
    pub axes: GridSpec,
    /// Book value per cell.
    pub value: Vec<Vec<Vec<f64>>>,
    /// Book delta per cell (∂V/∂S, summed over contracts).
    pub delta: Vec<Vec<Vec<f64>>>,
    /// Book gamma per cell.
    pub gamma: Vec<Vec<Vec<f64>>>,
    /// Contracts left out, with their errors.
    pub errors: Vec<BookEntry>,
    /// Wall time.
    pub elapsed_ms: f64,
}

/// One contract's grid: value, delta, gamma per cell (flattened `[d][v][s]`).
fn contract_grid(
    c: &Contract,
    m: &Market,
    g: &GridSpec,
    req: &PricingRequest,
    backend: &Backend,
) -> Result<[Vec<f64>; 3]> {
    let (nd, nv, ns) = (g.days.len(), g.vol_shift.len(), g.spot_pct.len());
    let mut out = [
        vec![0.0; nd * nv * ns],
        vec![0.0; nd * nv * ns],
        vec![0.0; nd * nv * ns],
    ];
    let engine = resolve_engine(c, m, req.engine);
    for (di, &d) in g.days.iter().enumerate() {
        let dt = f64::from(d) / 365.0;
        if dt >= c.t_mat {
            return Err(PricingError::field(
                "grid.days",
                format!("{d} days is past the contract's maturity"),
            ));
        }
        let cd = if d > 0 { c.rolled(dt) } else { c.clone() };
        for (vi, &dv) in g.vol_shift.iter().enumerate() {
            let mv = m.with_vol_shift(dv);
            mv.validate()
                .map_err(|e| crate::market::prefix(e, "grid.vol"))?;
            let base = (di * nv + vi) * ns;
            match engine {
                EngineKind::Pde => {
                    let o = pde::solve(&cd, &mv, &req.pde, false)?;
                    for (si, p) in g.spot_pct.iter().enumerate() {
                        let s = m.spot * p / 100.0;
                        let (v, dl, gm) = match (o.value_at(s), o.delta_gamma_at(s)) {
                            (Some(v), Some((dl, gm))) => (v, dl, gm),
                            _ => {
                                // Beyond a cut knock-out barrier: the rebate (or an exact PDE at that spot).
                                let k = cd.ko.as_ref().and_then(|k| k.continuous);
                                match k {
                                    Some(k) => (
                                        if k.at_hit {
                                            k.rebate
                                        } else {
                                            k.rebate * mv.df(cd.t_mat)
                                        },
                                        0.0,
                                        0.0,
                                    ),
                                    None => {
                                        let o2 =
                                            pde::solve(&cd, &mv.with_spot(s), &req.pde, false)?;
                                        (o2.value, o2.delta, o2.gamma)
                                    }
                                }
                            }
                        };
                        out[0][base + si] = v;
                        out[1][base + si] = dl;
                        out[2][base + si] = gm;
                    }
                }
                EngineKind::Mc => {
                    let h = req.bumps.spot_rel;
                    let mut scen = Vec::with_capacity(3 * ns);
                    for p in &g.spot_pct {
                        let f = p / 100.0;
                        scen.push(Scenario {
                            spot_rel: f - 1.0,
                            ..Default::default()
                        });
                        scen.push(Scenario {
                            spot_rel: f * (1.0 + h) - 1.0,
                            ..Default::default()
                        });
                        scen.push(Scenario {
                            spot_rel: f * (1.0 - h) - 1.0,
                            ..Default::default()
                        });
                    }
                    let prog = Program::build(&cd, &mv, &scen, &req.mc)?;
                    let mut b = backend.clone();
                    let o = b
                        .run_mc(
                            &[(&prog, Stream::new(req.mc.seed, contract_key(&c.id)))],
                            &req.mc,
                        )?
                        .remove(0);
                    for (si, p) in g.spot_pct.iter().enumerate() {
                        let s = m.spot * p / 100.0;
                        let (v0, vu, vd) = (o.mean[3 * si], o.mean[3 * si + 1], o.mean[3 * si + 2]);
                        out[0][base + si] = v0;
                        out[1][base + si] = (vu - vd) / (2.0 * h * s);
                        out[2][base + si] = (vu - 2.0 * v0 + vd) / (h * s * h * s);
                    }
                }
                EngineKind::Analytic | EngineKind::Auto => {
                    for (si, p) in g.spot_pct.iter().enumerate() {
                        let s = m.spot * p / 100.0;
                        let hs = 1e-4 * s;
                        let v0 = analytic::value(&cd, &mv.with_spot(s))?;
                        let vu = analytic::value(&cd, &mv.with_spot(s + hs))?;
                        let vd = analytic::value(&cd, &mv.with_spot(s - hs))?;
                        out[0][base + si] = v0;
                        out[1][base + si] = (vu - vd) / (2.0 * hs);
                        out[2][base + si] = (vu - 2.0 * v0 + vd) / (hs * hs);
                    }
                }
            }
        }
    }
    for x in out.iter_mut() {
        for v in x.iter_mut() {
            *v *= c.scale;
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(PricingError::NonFinite {
                engine: engine_name(engine),
                what: "grid cell",
            });
        }
    }
    Ok(out)
}

/// Values a book over a scenario grid.
pub fn scenario_grid(
    products: &[Result<Product>],
    markets: &MarketSet,
    grid: &GridSpec,
    req: &PricingRequest,
) -> Result<GridResult> {
    scenario_grid_with_progress(products, markets, grid, req, &|_, _| {})
}

/// [`scenario_grid`], reporting each contract whose grid is done to `on_progress`.
pub fn scenario_grid_with_progress(
    products: &[Result<Product>],
    markets: &MarketSet,
    grid: &GridSpec,
    req: &PricingRequest,
    on_progress: OnProgress<'_>,
) -> Result<GridResult> {
    let t0 = Instant::now();
    let done = std::sync::atomic::AtomicUsize::new(0);
    grid.validate()?;
    if req.engine == EngineKind::Mc {
        req.mc.validate()?;
    }
    let backend = Backend::select(req.backend)?;
    let (nd, nv, ns) = (grid.days.len(), grid.vol_shift.len(), grid.spot_pct.len());
    let per: Vec<(usize, Result<[Vec<f64>; 3]>)> = products
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let r = (|| {
                let p = p.as_ref().map_err(Clone::clone)?;
                let m = markets.get(&p.underlying)?;
                let c = p.compile(m)?;
                contract_grid(&c, m, grid, req, &backend)
            })();
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            on_progress(d, products.len());
            (i, r)
        })
        .collect();
    let mut acc = [
        vec![0.0; nd * nv * ns],
        vec![0.0; nd * nv * ns],
        vec![0.0; nd * nv * ns],
    ];
    let mut errors = vec![];
    for (i, r) in per {
        match r {
            Ok(x) => {
                for k in 0..3 {
                    for (a, b) in acc[k].iter_mut().zip(&x[k]) {
                        *a += b;
                    }
                }
            }
            Err(e) => errors.push(BookEntry {
                index: i,
                id: products[i]
                    .as_ref()
                    .map(|p| p.id.clone())
                    .unwrap_or_default(),
                result: None,
                error: Some((&e).into()),
            }),
        }
    }
    let shape = |v: &[f64]| -> Vec<Vec<Vec<f64>>> {
        (0..nd)
            .map(|d| {
                (0..nv)
                    .map(|j| v[(d * nv + j) * ns..(d * nv + j + 1) * ns].to_vec())
                    .collect()
            })
            .collect()
    };
    Ok(GridResult {
        axes: grid.clone(),
        value: shape(&acc[0]),
        delta: shape(&acc[1]),
        gamma: shape(&acc[2]),
        errors,
        elapsed_ms: t0.elapsed().as_secs_f64() * 1e3,
    })
}
