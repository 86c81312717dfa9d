//! The pricing entry points: one contract with an engine, a backend and optional Greeks.
//!
//! Result fields (stable JSON names): `id`, `value` (currency, book's side),
//! `value_per_notional`, `std_error` (of `value`; 0 for deterministic engines), `greeks`
//! (`delta` ∂V/∂S, `gamma` ∂²V/∂S², `vega` ∂V/∂σ per 1.00 of vol, `rho` ∂V/∂r per 1.00 of rate,
//! `theta` the value change over one calendar day), `greeks_std_error` (MC only), `engine`,
//! `backend`, `backend_reason`, `paths`, `time_steps`, `space_nodes`, `elapsed_ms`.
//!
//! Bump sizes: Monte Carlo and PDE vega/rho use central bumps of `bumps.spot_rel` (1% of spot),
//! `bumps.vol` (1 vol point) and `bumps.rate` (1 bp) on common random numbers; the PDE takes delta
//! and gamma from the grid; closed forms use 1e-4 relative bumps (they have no noise); theta
//! moves the valuation date by one day (or half the time to the first event, rescaled).

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::analytic;
use crate::backend::{Backend, BackendChoice};
use crate::error::{PricingError, Result};
use crate::market::Market;
use crate::math::Stream;
use crate::mc::{McConfig, McOutput, Program, Scenario};
use crate::pde::{self, PdeConfig};
use crate::product::{Contract, Product};

/// Engine choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// Closed form if one exists, else PDE if it applies, else Monte Carlo.
    #[default]
    Auto,
    /// Closed form.
    Analytic,
    /// Monte Carlo.
    Mc,
    /// Finite differences.
    Pde,
}

impl std::str::FromStr for EngineKind {
    type Err = PricingError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "analytic" => Ok(Self::Analytic),
            "mc" => Ok(Self::Mc),
            "pde" => Ok(Self::Pde),
            _ => Err(PricingError::field(
                "engine",
                format!("`{s}` is not one of auto, analytic, mc, pde"),
            )),
        }
    }
}

/// Bump sizes for Greeks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bumps {
    /// Relative spot bump (default 0.01).
    pub spot_rel: f64,
    /// Absolute vol bump (default 0.01).
    pub vol: f64,
    /// Absolute rate bump (default 0.0001).
    pub rate: f64,
}

impl Default for Bumps {
    fn default() -> Self {
        Self {
            spot_rel: 0.01,
            vol: 0.01,
            rate: 0.0001,
        }
    }
}

/// What to compute and how.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PricingRequest {
    /// Engine.
    pub engine: EngineKind,
    /// Compute Greeks.
    pub greeks: bool,
    /// Monte Carlo settings.
    pub mc: McConfig,
    /// PDE settings.
    pub pde: PdeConfig,
    /// Backend for Monte Carlo.
    pub backend: BackendChoice,
    /// Bump sizes.
    pub bumps: Bumps,
}

/// Sensitivities, in currency (see the module doc for units).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Greeks {
    /// ∂V/∂S.
    pub delta: f64,
    /// ∂²V/∂S².
    pub gamma: f64,
    /// ∂V/∂σ (per 1.00 of vol).
    pub vega: f64,
    /// Value change over one calendar day.
    pub theta: f64,
    /// ∂V/∂r (per 1.00 of rate).
    pub rho: f64,
}

impl Greeks {
    fn scaled(self, k: f64) -> Self {
        Self {
            delta: self.delta * k,
            gamma: self.gamma * k,
            vega: self.vega * k,
            theta: self.theta * k,
            rho: self.rho * k,
        }
    }

    fn check(&self, engine: &'static str) -> Result<()> {
        for (x, what) in [
            (self.delta, "delta"),
            (self.gamma, "gamma"),
            (self.vega, "vega"),
            (self.theta, "theta"),
            (self.rho, "rho"),
        ] {
            if !x.is_finite() {
                return Err(PricingError::NonFinite { engine, what });
            }
        }
        Ok(())
    }

    /// Adds another set.
    pub fn add(&mut self, o: &Greeks) {
        self.delta += o.delta;
        self.gamma += o.gamma;
        self.vega += o.vega;
        self.theta += o.theta;
        self.rho += o.rho;
    }
}

/// The result of pricing one contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceResult {
    /// Contract id.
    pub id: String,
    /// Value in currency, from the book's side.
    pub value: f64,
    /// Value per unit notional (holder's side, unsigned by direction).
    pub value_per_notional: f64,
    /// Standard error of `value` (0 for closed forms and PDE).
    pub std_error: f64,
    /// Greeks, if asked for.
    pub greeks: Option<Greeks>,
    /// Standard errors of the Monte Carlo Greeks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greeks_std_error: Option<Greeks>,
    /// Engine used.
    pub engine: EngineKind,
    /// `cpu` or `cuda` (closed forms and PDE run on the CPU).
    pub backend: String,
    /// Why that backend.
    pub backend_reason: String,
    /// Monte Carlo paths.
    pub paths: Option<u64>,
    /// Time steps (MC timeline or PDE time levels).
    pub time_steps: Option<usize>,
    /// PDE space nodes.
    pub space_nodes: Option<usize>,
    /// Wall time in milliseconds.
    pub elapsed_ms: f64,
    /// The business-day calendar of the contract's dates, with any caveat (projected or
    /// uncovered years).
    #[serde(default)]
    pub calendar: String,
}

/// Prices a product against a market.
pub fn price(product: &Product, market: &Market, req: &PricingRequest) -> Result<PriceResult> {
    let c = product.compile(market)?;
    let mut backend = Backend::select(req.backend)?;
    price_contract(&c, market, req, &mut backend)
}

/// The engine `auto` resolves to for a contract.
pub fn resolve_engine(c: &Contract, m: &Market, e: EngineKind) -> EngineKind {
    match e {
        EngineKind::Auto => {
            if analytic::value(c, m).is_ok() {
                EngineKind::Analytic
            } else if c.averaging.is_none() {
                EngineKind::Pde
            } else {
                EngineKind::Mc
            }
        }
        other => other,
    }
}

/// A stable 32-bit key of a contract id (FNV-1a), so a contract draws the same random numbers
/// alone or inside any book.
pub fn contract_key(id: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The scenarios of a Monte Carlo Greeks pass: base, S±, σ±, r±, one day later.
pub fn greek_scenarios(b: &Bumps, theta_dt: f64) -> Vec<Scenario> {
    let s = |spot_rel, vol_shift, rate_shift, time_shift| Scenario {
        spot_rel,
        vol_shift,
        rate_shift,
        time_shift,
    };
    vec![
        s(0.0, 0.0, 0.0, 0.0),
        s(b.spot_rel, 0.0, 0.0, 0.0),
        s(-b.spot_rel, 0.0, 0.0, 0.0),
        s(0.0, b.vol, 0.0, 0.0),
        s(0.0, -b.vol, 0.0, 0.0),
        s(0.0, 0.0, b.rate, 0.0),
        s(0.0, 0.0, -b.rate, 0.0),
        s(0.0, 0.0, 0.0, theta_dt),
    ]
}

/// Greeks and their standard errors from a [`greek_scenarios`] pass, per unit notional.
pub fn mc_greeks(o: &McOutput, spot: f64, b: &Bumps, theta_dt: f64) -> (Greeks, Greeks) {
    let h = b.spot_rel * spot;
    let day = (1.0 / 365.0) / theta_dt;
    let (delta, sd) = o.combo(&[(1, 0.5 / h), (2, -0.5 / h)]);
    let (gamma, sg) = o.combo(&[(1, 1.0 / (h * h)), (0, -2.0 / (h * h)), (2, 1.0 / (h * h))]);
    let (vega, sv) = o.combo(&[(3, 0.5 / b.vol), (4, -0.5 / b.vol)]);
    let (rho, sr) = o.combo(&[(5, 0.5 / b.rate), (6, -0.5 / b.rate)]);
    let (theta, st) = o.combo(&[(7, day), (0, -day)]);
    (
        Greeks {
            delta,
            gamma,
            vega,
            theta,
            rho,
        },
        Greeks {
            delta: sd,
            gamma: sg,
            vega: sv,
            theta: st,
            rho: sr,
        },
    )
}

/// Prices a compiled contract with a resolved backend.
pub fn price_contract(
    c: &Contract,
    m: &Market,
    req: &PricingRequest,
    backend: &mut Backend,
) -> Result<PriceResult> {
    let t0 = Instant::now();
    let engine = resolve_engine(c, m, req.engine);
    let mut r = PriceResult {
        id: c.id.clone(),
        value: 0.0,
        value_per_notional: 0.0,
        std_error: 0.0,
        greeks: None,
        greeks_std_error: None,
        engine,
        backend: "cpu".into(),
        backend_reason: "closed forms and PDE run on the CPU".into(),
        paths: None,
        time_steps: None,
        space_nodes: None,
        elapsed_ms: 0.0,
        calendar: c.calendar.clone(),
    };
    match engine {
        EngineKind::Analytic | EngineKind::Auto => {
            let v = analytic::value(c, m)?;
            r.value_per_notional = v;
            if req.greeks {
                r.greeks = Some(analytic_greeks(c, m, v)?);
            }
        }
        EngineKind::Pde => {
            let o = pde::solve(c, m, &req.pde, req.greeks)?;
            r.value_per_notional = o.value;
            r.time_steps = Some(o.grid.1);
            r.space_nodes = Some(o.grid.0);
            if req.greeks {
                let b = req.bumps;
                let bump = |mk: &Market| pde::solve(c, mk, &req.pde, false).map(|o| o.value);
                let vega = (bump(&m.with_vol_shift(b.vol))? - bump(&m.with_vol_shift(-b.vol))?)
                    / (2.0 * b.vol);
                let rho = (bump(&m.with_rate_shift(b.rate))? - bump(&m.with_rate_shift(-b.rate))?)
                    / (2.0 * b.rate);
                let theta = (o.value_later - o.value) * (1.0 / 365.0) / o.theta_dt;
                r.greeks = Some(Greeks {
                    delta: o.delta,
                    gamma: o.gamma,
                    vega,
                    theta,
                    rho,
                });
            }
        }
        EngineKind::Mc => {
            req.mc.validate()?;
            let theta_dt = c.theta_dt();
            let scen = if req.greeks {
                greek_scenarios(&req.bumps, theta_dt)
            } else {
                vec![Scenario::default()]
            };
            let prog = Program::build(c, m, &scen, &req.mc)?;
            let stream = Stream::new(req.mc.seed, contract_key(&c.id));
            let o = backend.run_mc(&[(&prog, stream)], &req.mc)?.remove(0);
            r.value_per_notional = o.mean[0];
            r.std_error = o.se(0) * c.scale.abs();
            r.paths = Some(o.paths);
            r.time_steps = Some(prog.n_steps);
            r.backend = backend.name.into();
            r.backend_reason = backend.reason.clone();
            if req.greeks {
                let (g, se) = mc_greeks(&o, m.spot, &req.bumps, theta_dt);
                r.greeks = Some(g);
                r.greeks_std_error = Some(se.scaled(c.scale.abs()));
            }
        }
    }
    r.value = r.value_per_notional * c.scale;
    r.greeks = r.greeks.map(|g| g.scaled(c.scale));
    if !r.value.is_finite() || !r.std_error.is_finite() {
        return Err(PricingError::NonFinite {
            engine: engine_name(engine),
            what: "value",
        });
    }
    if let Some(g) = &r.greeks {
        g.check(engine_name(engine))?;
    }
    r.elapsed_ms = t0.elapsed().as_secs_f64() * 1e3;
    Ok(r)
}

/// The engine's name as in JSON.
pub fn engine_name(e: EngineKind) -> &'static str {
    match e {
        EngineKind::Auto => "auto",
        EngineKind::Analytic => "analytic",
        EngineKind::Mc => "mc",
        EngineKind::Pde => "pde",
    }
}

fn analytic_greeks(c: &Contract, m: &Market, v: f64) -> Result<Greeks> {
    let h = 1e-4 * m.spot;
    let up = analytic::value(c, &m.with_spot(m.spot + h))?;
    let dn = analytic::value(c, &m.with_spot(m.spot - h))?;
    let dv = 1e-4;
    let vu = analytic::value(c, &m.with_vol_shift(dv))?;
    let vd = analytic::value(c, &m.with_vol_shift(-dv))?;
    let dr = 1e-5;
    let ru = analytic::value(c, &m.with_rate_shift(dr))?;
    let rd = analytic::value(c, &m.with_rate_shift(-dr))?;
    let tdt = c.theta_dt();
    let later = analytic::value(&c.rolled(tdt), m)?;
    Ok(Greeks {
        delta: (up - dn) / (2.0 * h),
        gamma: (up - 2.0 * v + dn) / (h * h),
        vega: (vu - vd) / (2.0 * dv),
        theta: (later - v) * (1.0 / 365.0) / tdt,
        rho: (ru - rd) / (2.0 * dr),
    })
}
