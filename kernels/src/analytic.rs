//! Closed forms: the references the numerical engines are checked against.
//!
//! * Black-Scholes for European legs (call, put, forward, cash-or-nothing digitals, cash) under
//!   term structures of r, q and σ (exact: only total variance and discount factors matter).
//! * Reiner-Rubinstein (1991) single continuous barriers, in and out, with rebate (at hit for
//!   knock-outs by default, or at expiry), in a flat market, for one call or put leg.
//! * Discrete geometric-average Asians, exact under term structures (the log of the geometric
//!   mean is normal).
//!
//! All values are per unit of notional before the contract's `scale`.

use crate::error::{PricingError, Result};
use crate::market::Market;
use crate::math::norm_cdf;
use crate::product::{Contract, Leg, Payoff};

fn unsupported(what: impl Into<String>) -> PricingError {
    PricingError::Unsupported {
        engine: "analytic",
        what: what.into(),
    }
}

/// Black's formula on a lognormal variable with forward `f` and total variance `w`:
/// undiscounted `E[max(φ(X − k), 0)]`.
pub fn black(f: f64, k: f64, w: f64, call: bool) -> f64 {
    let phi = if call { 1.0 } else { -1.0 };
    if w <= 0.0 {
        return (phi * (f - k)).max(0.0);
    }
    let sd = w.sqrt();
    let d1 = ((f / k).ln() + 0.5 * w) / sd;
    let d2 = d1 - sd;
    phi * (f * norm_cdf(phi * d1) - k * norm_cdf(phi * d2))
}

/// Undiscounted probability `P(X > k)` for a lognormal with forward `f`, total variance `w`.
pub fn prob_above(f: f64, k: f64, w: f64) -> f64 {
    if w <= 0.0 {
        return if f > k { 1.0 } else { 0.0 };
    }
    let sd = w.sqrt();
    norm_cdf(((f / k).ln() - 0.5 * w) / sd)
}

/// Undiscounted expectation of a payoff on a lognormal variable (forward `f`, variance `w`).
fn lognormal_payoff(p: &Payoff, f: f64, w: f64) -> Result<f64> {
    if p.floor.is_finite() || p.cap.is_finite() {
        return Err(unsupported("a cap or floor on the total payoff"));
    }
    let mut v = 0.0;
    for l in &p.legs {
        v += match *l {
            Leg::Call { k, w: wt } => wt * black(f, k, w, true),
            Leg::Put { k, w: wt } => wt * black(f, k, w, false),
            Leg::DigitalCall { k, cash } => cash * prob_above(f, k, w),
            Leg::DigitalPut { k, cash } => cash * (1.0 - prob_above(f, k, w)),
            Leg::Forward { k, w: wt } => wt * (f - k),
            Leg::Cash { amount } => amount,
        };
    }
    Ok(v)
}

/// Value per unit notional of a contract by closed form, or `Unsupported`.
pub fn value(c: &Contract, m: &Market) -> Result<f64> {
    if m.local_vol.is_some() {
        return Err(unsupported("local volatility"));
    }
    if c.american {
        return Err(unsupported("American exercise"));
    }
    if c.coupons.is_some() || c.ko.as_ref().is_some_and(|k| !k.obs.is_empty()) {
        return Err(unsupported(
            "discrete knock-out or coupon schedules (autocalls)",
        ));
    }
    let t = c.t_mat;
    let df = m.df(t);
    if let Some(a) = &c.averaging {
        if !a.geometric {
            return Err(unsupported("arithmetic averaging"));
        }
        if c.ki.is_some() || c.ko.is_some() {
            return Err(unsupported("averaging combined with a barrier"));
        }
        return geometric_asian(c, m, a);
    }
    match (&c.ki, &c.ko) {
        (None, None) => Ok(df * lognormal_payoff(&c.base, m.forward(t), m.variance(t))?),
        (Some(ki), None) if !ki.continuous => Err(unsupported("discretely monitored barriers")),
        (None, Some(ko)) if ko.continuous.is_none() => {
            Err(unsupported("discretely monitored barriers"))
        }
        (Some(ki), None) => {
            if c.knocked_in {
                let p = c.after_ki.as_ref().unwrap_or(&c.base);
                return Ok(df * lognormal_payoff(p, m.forward(t), m.variance(t))?);
            }
            let rebate = match c.base.legs.as_slice() {
                [Leg::Cash { amount }] => *amount,
                [] => 0.0,
                _ => {
                    return Err(unsupported(
                        "a knock-in whose untriggered payoff is not a cash rebate",
                    ));
                }
            };
            let (k, w, call) = single_vanilla(c.after_ki.as_ref().unwrap_or(&c.base))?;
            let h = ki.level;
            let flat = FlatMarket::of(m, t)?;
            let opt = w * reiner_rubinstein(&flat, k, h, call, ki.up, true, 0.0, true);
            Ok(opt + rebate_only(&flat, h, ki.up, true, rebate, false))
        }
        (None, Some(ko)) => {
            let cko = ko
                .continuous
                .as_ref()
                .ok_or_else(|| unsupported("discrete barriers"))?;
            let (k, w, call) = single_vanilla(&c.base)?;
            let flat = FlatMarket::of(m, t)?;
            let opt = w * reiner_rubinstein(&flat, k, cko.level, call, ko.up, false, 0.0, true);
            let rebate = rebate_only(&flat, cko.level, ko.up, false, cko.rebate, cko.at_hit);
            Ok(opt + rebate)
        }
        (Some(_), Some(_)) => Err(unsupported("knock-in combined with knock-out")),
    }
}

/// The single call or put leg of a barrier payoff: (strike, weight, is_call).
fn single_vanilla(p: &Payoff) -> Result<(f64, f64, bool)> {
    if p.floor.is_finite() || p.cap.is_finite() {
        return Err(unsupported("a cap or floor on a barrier payoff"));
    }
    match p.legs.as_slice() {
        [Leg::Call { k, w }] => Ok((*k, *w, true)),
        [Leg::Put { k, w }] => Ok((*k, *w, false)),
        _ => Err(unsupported(
            "barrier payoffs other than one call or put leg",
        )),
    }
}

/// A flat market seen from one maturity.
#[derive(Debug, Clone, Copy)]
pub struct FlatMarket {
    /// Spot.
    pub s: f64,
    /// Rate.
    pub r: f64,
    /// Dividend yield.
    pub q: f64,
    /// Volatility.
    pub sigma: f64,
    /// Time to maturity.
    pub t: f64,
}

impl FlatMarket {
    fn of(m: &Market, t: f64) -> Result<Self> {
        if !m.is_flat() {
            return Err(unsupported(
                "barriers under term structures (use mc or pde)",
            ));
        }
        let (r, q, v) = m.step(0.0, t);
        Ok(Self {
            s: m.spot,
            r,
            q,
            sigma: v.sqrt(),
            t,
        })
    }
}

/// The rebate part of a barrier option: `rebate` paid at hit (knock-out) or at expiry.
fn rebate_only(f: &FlatMarket, h: f64, up: bool, knock_in: bool, rebate: f64, at_hit: bool) -> f64 {
    if rebate == 0.0 {
        return 0.0;
    }
    let (e, ff) = rr_rebates(f, h, up, rebate);
    if knock_in {
        e
    } else if at_hit {
        ff
    } else {
        // Paid at expiry if hit: the discounted rebate times the hitting probability.
        rebate * (-f.r * f.t).exp() - e
    }
}

/// Reiner-Rubinstein rebate terms (E: paid at expiry if never hit; F: paid at hit), as in Haug,
/// "The Complete Guide to Option Pricing Formulas", 2nd ed., §4.17.1.
fn rr_rebates(f: &FlatMarket, h: f64, up: bool, k: f64) -> (f64, f64) {
    let eta = if up { -1.0 } else { 1.0 };
    let (s, r, b, sig, t) = (f.s, f.r, f.r - f.q, f.sigma, f.t);
    let sst = sig * t.sqrt();
    let mu = (b - 0.5 * sig * sig) / (sig * sig);
    let lambda = (mu * mu + 2.0 * r / (sig * sig)).sqrt();
    let x2 = (s / h).ln() / sst + (1.0 + mu) * sst;
    let y2 = (h / s).ln() / sst + (1.0 + mu) * sst;
    let z = (h / s).ln() / sst + lambda * sst;
    let hs = h / s;
    let e = k
        * (-r * t).exp()
        * (norm_cdf(eta * x2 - eta * sst) - hs.powf(2.0 * mu) * norm_cdf(eta * y2 - eta * sst));
    let ff = k
        * (hs.powf(mu + lambda) * norm_cdf(eta * z)
            + hs.powf(mu - lambda) * norm_cdf(eta * z - 2.0 * eta * lambda * sst));
    (e, ff)
}

/// Reiner-Rubinstein single-barrier option value per unit of underlying (Haug §4.17.1), with
/// the rebate `k_reb` paid at expiry for knock-ins and at hit for knock-outs (`at_hit`).
#[allow(clippy::too_many_arguments)]
pub fn reiner_rubinstein(
    f: &FlatMarket,
    x: f64,
    h: f64,
    call: bool,
    up: bool,
    knock_in: bool,
    k_reb: f64,
    at_hit: bool,
) -> f64 {
    let phi = if call { 1.0 } else { -1.0 };
    let eta = if up { -1.0 } else { 1.0 };
    let (s, r, b, sig, t) = (f.s, f.r, f.r - f.q, f.sigma, f.t);
    let sst = sig * t.sqrt();
    let mu = (b - 0.5 * sig * sig) / (sig * sig);
    let x1 = (s / x).ln() / sst + (1.0 + mu) * sst;
    let x2 = (s / h).ln() / sst + (1.0 + mu) * sst;
    let y1 = (h * h / (s * x)).ln() / sst + (1.0 + mu) * sst;
    let y2 = (h / s).ln() / sst + (1.0 + mu) * sst;
    let hs = h / s;
    let carry = ((b - r) * t).exp();
    let disc = (-r * t).exp();
    let a = phi * s * carry * norm_cdf(phi * x1) - phi * x * disc * norm_cdf(phi * x1 - phi * sst);
    let bb = phi * s * carry * norm_cdf(phi * x2) - phi * x * disc * norm_cdf(phi * x2 - phi * sst);
    let c = phi * s * carry * hs.powf(2.0 * (mu + 1.0)) * norm_cdf(eta * y1)
        - phi * x * disc * hs.powf(2.0 * mu) * norm_cdf(eta * y1 - eta * sst);
    let d = phi * s * carry * hs.powf(2.0 * (mu + 1.0)) * norm_cdf(eta * y2)
        - phi * x * disc * hs.powf(2.0 * mu) * norm_cdf(eta * y2 - eta * sst);
    let reb = rebate_only(f, h, up, knock_in, k_reb, at_hit);
    let above = x > h;
    let core = match (knock_in, up, call, above) {
        // Down-and-in call, up-and-in call, down-and-in put, up-and-in put.
        (true, false, true, true) => c,
        (true, false, true, false) => a - bb + d,
        (true, true, true, true) => a,
        (true, true, true, false) => bb - c + d,
        (true, false, false, true) => bb - c + d,
        (true, false, false, false) => a,
        (true, true, false, true) => a - bb + d,
        (true, true, false, false) => c,
        // Down-and-out call, up-and-out call, down-and-out put, up-and-out put.
        (false, false, true, true) => a - c,
        (false, false, true, false) => bb - d,
        (false, true, true, true) => 0.0,
        (false, true, true, false) => a - bb + c - d,
        (false, false, false, true) => a - bb + c - d,
        (false, false, false, false) => 0.0,
        (false, true, false, true) => bb - d,
        (false, true, false, false) => a - c,
    };
    core + reb
}

fn geometric_asian(c: &Contract, m: &Market, a: &crate::product::Averaging) -> Result<f64> {
    let n_f = a.times.len();
    let n = n_f as f64 + f64::from(a.past_count);
    let ln_s = m.spot.ln();
    let mut mean = a.past_sum;
    let mut var = 0.0;
    for (k, &t) in a.times.iter().enumerate() {
        let w = m.variance(t);
        mean += ln_s + (m.forward(t) / m.spot).ln() - 0.5 * w;
        var += w * (2.0 * (n_f - 1 - k) as f64 + 1.0);
    }
    let mean = mean / n;
    let var = var / (n * n);
    // G is lognormal with E[G] = exp(mean + var/2).
    let fwd = (mean + 0.5 * var).exp();
    Ok(m.df(c.t_mat) * lognormal_payoff(&c.base, fwd, var)?)
}
