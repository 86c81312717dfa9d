//! Solvers for RFQs: the coupon, strike, barrier or participation that gives a target value.
//!
//! Brent's method on the pricing function with a fixed seed, so every Monte Carlo evaluation
//! reuses the same random numbers (common random numbers) and the function is smooth in the
//! parameter; PDE and closed forms are deterministic anyway.

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::error::{PricingError, Result};
use crate::market::Market;
use crate::pricing::{PricingRequest, price_contract};
use crate::product::{LegSpec, Level, Product};

/// The parameter to solve for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SolveParameter {
    /// Autocall coupon: `phoenix.coupon` for a phoenix, else `ko_coupon` (the bonus coupon
    /// follows it unless set explicitly).
    Coupon,
    /// Strike of the first leg (or of the loss leg of an autocall), in price units.
    Strike,
    /// Single-barrier level, in price units.
    Barrier,
    /// Autocall knock-out level, in price units.
    KoLevel,
    /// Autocall knock-in level, in price units.
    KiLevel,
    /// Participation of the first leg (or of the loss leg).
    Participation,
}

/// What to solve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolveSpec {
    /// The parameter.
    pub parameter: SolveParameter,
    /// Target value per unit notional, holder's side (e.g. 0, or −0.01 for a 1% margin).
    pub target: f64,
    /// Lower end of the search bracket.
    pub lo: f64,
    /// Upper end of the search bracket.
    pub hi: f64,
    /// Absolute tolerance on the parameter (default 1e-6).
    #[serde(default = "tol")]
    pub tol: f64,
}

fn tol() -> f64 {
    1e-6
}

/// A solver's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolveResult {
    /// The parameter.
    pub parameter: SolveParameter,
    /// Its solved value.
    pub solution: f64,
    /// Value per unit notional at the solution.
    pub value_per_notional: f64,
    /// Standard error of that value per unit notional (MC).
    pub std_error: f64,
    /// Pricing calls made.
    pub evaluations: usize,
}

/// Sets `parameter` to `x` in a copy of the product.
pub fn with_parameter(p: &Product, parameter: SolveParameter, x: f64) -> Result<Product> {
    let mut q = p.clone();
    let field = |s: &str| PricingError::field("parameter", s.to_string());
    match parameter {
        SolveParameter::Coupon => {
            let a = q
                .autocall
                .as_mut()
                .ok_or_else(|| field("`coupon` needs an autocall product"))?;
            match a.phoenix.as_mut() {
                Some(ph) => ph.coupon = x,
                None => a.ko_coupon = x,
            }
        }
        SolveParameter::Strike | SolveParameter::Participation => {
            if let Some(a) = q.autocall.as_mut() {
                if parameter == SolveParameter::Strike {
                    a.loss.strike = Level::Absolute(x);
                } else {
                    a.loss.participation = x;
                }
            } else {
                let leg = q
                    .payoff
                    .legs
                    .first_mut()
                    .ok_or_else(|| field("the product has no leg"))?;
                match (leg, parameter) {
                    (
                        LegSpec::Call { strike, .. }
                        | LegSpec::Put { strike, .. }
                        | LegSpec::DigitalCall { strike, .. }
                        | LegSpec::DigitalPut { strike, .. }
                        | LegSpec::Forward { strike, .. },
                        SolveParameter::Strike,
                    ) => *strike = Level::Absolute(x),
                    (
                        LegSpec::Call { participation, .. }
                        | LegSpec::Put { participation, .. }
                        | LegSpec::Forward { participation, .. },
                        _,
                    ) => *participation = x,
                    _ => return Err(field("the first leg has no such parameter")),
                }
            }
        }
        SolveParameter::Barrier => {
            q.barrier
                .as_mut()
                .ok_or_else(|| field("`barrier` needs a barrier product"))?
                .level = Level::Absolute(x);
        }
        SolveParameter::KoLevel => {
            q.autocall
                .as_mut()
                .ok_or_else(|| field("`ko_level` needs an autocall"))?
                .ko_level = Level::Absolute(x);
        }
        SolveParameter::KiLevel => {
            let a = q
                .autocall
                .as_mut()
                .ok_or_else(|| field("`ki_level` needs an autocall"))?;
            a.ki.as_mut()
                .ok_or_else(|| field("the autocall has no knock-in"))?
                .level = Level::Absolute(x);
        }
    }
    Ok(q)
}

/// Finds the parameter value where the product is worth `spec.target` per unit notional.
pub fn solve(
    p: &Product,
    m: &Market,
    req: &PricingRequest,
    spec: &SolveSpec,
) -> Result<SolveResult> {
    if !(spec.lo.is_finite() && spec.hi.is_finite() && spec.lo < spec.hi) {
        return Err(PricingError::field(
            "lo",
            "the bracket must be finite with lo < hi",
        ));
    }
    if !spec.target.is_finite() {
        return Err(PricingError::field("target", "must be finite"));
    }
    let mut backend = Backend::select(req.backend)?;
    let q = PricingRequest {
        greeks: false,
        ..*req
    };
    let mut evals = 0;
    let mut last_se = 0.0;
    let mut f = |x: f64| -> Result<f64> {
        evals += 1;
        let prod = with_parameter(p, spec.parameter, x)?;
        let c = prod.compile(m)?;
        let r = price_contract(&c, m, &q, &mut backend)?;
        last_se = r.std_error / c.notional;
        Ok(r.value_per_notional - spec.target)
    };
    let name = format!("{:?}", spec.parameter).to_lowercase();
    let (mut a, mut b) = (spec.lo, spec.hi);
    let (mut fa, mut fb) = (f(a)?, f(b)?);
    if fa * fb > 0.0 {
        return Err(PricingError::Solver {
            parameter: name,
            reason: format!(
                "no sign change on [{a}, {b}]: values {:.6} and {:.6} vs target",
                fa + spec.target,
                fb + spec.target
            ),
        });
    }
    // Brent (1973).
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..100 {
        if fb * fc > 0.0 {
            (c, fc) = (a, fa);
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            (a, b, c) = (b, c, b);
            (fa, fb, fc) = (fb, fc, fb);
        }
        let tol1 = 2.0 * f64::EPSILON * b.abs() + 0.5 * spec.tol;
        let xm = 0.5 * (c - b);
        if xm.abs() <= tol1 || fb == 0.0 {
            let val = fb + spec.target;
            return Ok(SolveResult {
                parameter: spec.parameter,
                solution: b,
                value_per_notional: val,
                std_error: last_se,
                evaluations: evals,
            });
        }
        if e.abs() >= tol1 && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut pp, mut qq);
            if a == c {
                pp = 2.0 * xm * s;
                qq = 1.0 - s;
            } else {
                let q0 = fa / fc;
                let r = fb / fc;
                pp = s * (2.0 * xm * q0 * (q0 - r) - (b - a) * (r - 1.0));
                qq = (q0 - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if pp > 0.0 {
                qq = -qq;
            }
            pp = pp.abs();
            if 2.0 * pp < (3.0 * xm * qq - (tol1 * qq).abs()).min((e * qq).abs()) {
                e = d;
                d = pp / qq;
            } else {
                d = xm;
                e = d;
            }
        } else {
            d = xm;
            e = d;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol1 { d } else { tol1.copysign(xm) };
        fb = f(b)?;
    }
    Err(PricingError::Solver {
        parameter: name,
        reason: "no convergence in 100 iterations".into(),
    })
}
