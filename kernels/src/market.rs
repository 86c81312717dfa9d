//! Market data: spot, rate and dividend curves, volatility.
//!
//! Rates and yields are continuously compounded zero rates, flat or a term structure given at
//! pillar times in years (piecewise-constant forwards between pillars). Volatility is flat or a
//! term structure of Black volatilities (total variance linear between pillars, i.e.
//! piecewise-constant forward variance). A local-volatility surface plugs in through the
//! [`LocalVol`] trait: the PDE engine evaluates `σ(t, S)` per node and per step, while the
//! closed forms and the exact log-normal Monte Carlo stepping refuse it with a clear error.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::dates::Date;
use crate::error::{PricingError, Result, finite};

/// A term structure of a rate, a yield or a volatility: flat, or values at pillar times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Term {
    /// One value for all maturities.
    Flat(f64),
    /// Values at increasing pillar times (years from the valuation date).
    Pillars {
        /// Pillar times in years, strictly increasing, positive.
        times: Vec<f64>,
        /// The value at each pillar (zero rate, or Black volatility).
        values: Vec<f64>,
    },
}

impl Term {
    fn validate(&self, field: &str, vol: bool) -> Result<()> {
        match self {
            Term::Flat(v) => {
                finite(field, *v)?;
                if vol && *v < 0.0 {
                    return Err(PricingError::field(
                        field,
                        format!("volatility must be ≥ 0, got {v}"),
                    ));
                }
                if !vol && v.abs() > 1.0 {
                    return Err(PricingError::field(
                        field,
                        format!("rate {v} is beyond ±100%"),
                    ));
                }
            }
            Term::Pillars { times, values } => {
                if times.is_empty() || times.len() != values.len() {
                    return Err(PricingError::field(
                        field,
                        "`times` and `values` must be non-empty and of equal length",
                    ));
                }
                let mut prev = 0.0;
                for (i, (&t, &v)) in times.iter().zip(values).enumerate() {
                    finite(&format!("{field}.times[{i}]"), t)?;
                    finite(&format!("{field}.values[{i}]"), v)?;
                    if t <= prev {
                        return Err(PricingError::field(
                            format!("{field}.times[{i}]"),
                            "pillar times must be positive and strictly increasing",
                        ));
                    }
                    prev = t;
                    if vol && v < 0.0 {
                        return Err(PricingError::field(
                            format!("{field}.values[{i}]"),
                            format!("volatility must be ≥ 0, got {v}"),
                        ));
                    }
                }
                if vol {
                    let mut w = 0.0;
                    for (i, (&t, &v)) in times.iter().zip(values).enumerate() {
                        if v * v * t < w - 1e-14 {
                            return Err(PricingError::field(
                                format!("{field}.values[{i}]"),
                                "total variance decreases: the term structure implies a negative forward variance",
                            ));
                        }
                        w = v * v * t;
                    }
                }
            }
        }
        Ok(())
    }

    /// ∫₀ᵗ of the instantaneous quantity: z(t)·t for rates, σ(t)²·t (total variance) for vols.
    fn integral(&self, t: f64, squared: bool) -> f64 {
        let f = |v: f64| if squared { v * v } else { v };
        match self {
            Term::Flat(v) => f(*v) * t,
            Term::Pillars { times, values } => {
                let n = times.len();
                if t <= times[0] {
                    return f(values[0]) * t;
                }
                for i in 1..n {
                    if t <= times[i] {
                        let (a, b) = (f(values[i - 1]) * times[i - 1], f(values[i]) * times[i]);
                        return a + (b - a) * (t - times[i - 1]) / (times[i] - times[i - 1]);
                    }
                }
                // Beyond the last pillar: extend the last forward.
                let last = f(values[n - 1]) * times[n - 1];
                let fwd = if n >= 2 {
                    (last - f(values[n - 2]) * times[n - 2]) / (times[n - 1] - times[n - 2])
                } else {
                    f(values[0])
                };
                last + fwd * (t - times[n - 1])
            }
        }
    }

    fn shifted(&self, dv: f64) -> Self {
        match self {
            Term::Flat(v) => Term::Flat(v + dv),
            Term::Pillars { times, values } => Term::Pillars {
                times: times.clone(),
                values: values.iter().map(|v| v + dv).collect(),
            },
        }
    }

    /// The flat value, if the structure is flat (one pillar counts as flat).
    pub fn as_flat(&self) -> Option<f64> {
        match self {
            Term::Flat(v) => Some(*v),
            Term::Pillars { values, .. } if values.iter().all(|v| *v == values[0]) => {
                Some(values[0])
            }
            Term::Pillars { .. } => None,
        }
    }
}

/// A local-volatility surface `σ(t, S)`: the hook for smile dynamics.
pub trait LocalVol: Send + Sync + std::fmt::Debug {
    /// Instantaneous volatility at time `t` (years) and spot `s`.
    fn local_vol(&self, t: f64, s: f64) -> f64;
}

/// Market data for one underlying.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Market {
    /// The valuation date; product dates are turned into times from here.
    pub valuation_date: Date,
    /// Spot price of the underlying.
    pub spot: f64,
    /// Continuously compounded risk-free zero rate.
    pub rate: Term,
    /// Continuous dividend or borrow yield (default 0).
    #[serde(default = "zero_term")]
    pub dividend: Term,
    /// Black volatility.
    pub vol: Term,
    /// Optional local-volatility surface (library API only; not part of the JSON).
    #[serde(skip)]
    pub local_vol: Option<Arc<dyn LocalVol>>,
}

fn zero_term() -> Term {
    Term::Flat(0.0)
}

impl Market {
    /// A flat market.
    pub fn flat(valuation_date: Date, spot: f64, rate: f64, dividend: f64, vol: f64) -> Self {
        Self {
            valuation_date,
            spot,
            rate: Term::Flat(rate),
            dividend: Term::Flat(dividend),
            vol: Term::Flat(vol),
            local_vol: None,
        }
    }

    /// Parses a market JSON document; `source_name` labels errors.
    pub fn from_json(source_name: &str, text: &str) -> Result<Self> {
        let m: Market =
            serde_json::from_str(text).map_err(|e| PricingError::json(source_name, &e))?;
        m.validate()?;
        Ok(m)
    }

    /// Checks every field; errors name the field (`market.vol.values[2]`).
    pub fn validate(&self) -> Result<()> {
        finite("market.spot", self.spot)?;
        if self.spot <= 0.0 {
            return Err(PricingError::field(
                "market.spot",
                format!("must be > 0, got {}", self.spot),
            ));
        }
        self.rate.validate("market.rate", false)?;
        self.dividend.validate("market.dividend", false)?;
        self.vol.validate("market.vol", true)?;
        if self.vol.integral(1.0, true) <= 0.0 && self.local_vol.is_none() {
            return Err(PricingError::field("market.vol", "volatility is zero"));
        }
        Ok(())
    }

    /// Discount factor to time `t`.
    pub fn df(&self, t: f64) -> f64 {
        (-self.rate.integral(t, false)).exp()
    }

    /// Dividend discount factor to time `t`.
    pub fn div_df(&self, t: f64) -> f64 {
        (-self.dividend.integral(t, false)).exp()
    }

    /// Forward price at `t`.
    pub fn forward(&self, t: f64) -> f64 {
        self.spot * self.div_df(t) / self.df(t)
    }

    /// Total Black variance to `t`.
    pub fn variance(&self, t: f64) -> f64 {
        self.vol.integral(t, true)
    }

    /// Average (r, q, σ²) over [t0, t1]: the exact log-normal step's ingredients.
    pub fn step(&self, t0: f64, t1: f64) -> (f64, f64, f64) {
        let dt = t1 - t0;
        (
            (self.rate.integral(t1, false) - self.rate.integral(t0, false)) / dt,
            (self.dividend.integral(t1, false) - self.dividend.integral(t0, false)) / dt,
            ((self.vol.integral(t1, true) - self.vol.integral(t0, true)) / dt).max(0.0),
        )
    }

    /// Black volatility to `t` (√(variance/t)).
    pub fn black_vol(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return self.vol.integral(1e-6, true).sqrt() / 1e-3;
        }
        (self.variance(t) / t).sqrt()
    }

    /// Instantaneous volatility at time `t` and spot `s` (local vol if set).
    pub fn local_vol_at(&self, t: f64, s: f64, t_next: f64) -> f64 {
        match &self.local_vol {
            Some(lv) => lv.local_vol(t, s),
            None => self.step(t, t_next.max(t + 1e-12)).2.sqrt(),
        }
    }

    /// A copy with spot multiplied by `factor`.
    pub fn with_spot(&self, spot: f64) -> Self {
        Self {
            spot,
            ..self.clone()
        }
    }

    /// A copy with every volatility shifted by `dv` (absolute).
    pub fn with_vol_shift(&self, dv: f64) -> Self {
        Self {
            vol: self.vol.shifted(dv),
            ..self.clone()
        }
    }

    /// A copy with the rate curve shifted by `dr` (absolute).
    pub fn with_rate_shift(&self, dr: f64) -> Self {
        Self {
            rate: self.rate.shifted(dr),
            ..self.clone()
        }
    }

    /// Whether r, q and σ are all flat and no local vol is set.
    pub fn is_flat(&self) -> bool {
        self.rate.as_flat().is_some()
            && self.dividend.as_flat().is_some()
            && self.vol.as_flat().is_some()
            && self.local_vol.is_none()
    }
}

/// Market data for several underlyings, keyed by underlying id, as read from a market file.
///
/// A market file holds either one market object (used for every contract) or
/// `{"markets": {"000905.SH": {...}, ...}}`.
#[derive(Debug, Clone)]
pub enum MarketSet {
    /// One market for every underlying.
    Single(Market),
    /// One market per underlying id.
    ByUnderlying(BTreeMap<String, Market>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarketsFile {
    markets: BTreeMap<String, Market>,
}

impl MarketSet {
    /// Parses a market file; `source_name` labels errors.
    pub fn from_json(source_name: &str, text: &str) -> Result<Self> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| PricingError::json(source_name, &e))?;
        if v.get("markets").is_some() {
            let f: MarketsFile =
                serde_json::from_str(text).map_err(|e| PricingError::json(source_name, &e))?;
            for (k, m) in &f.markets {
                m.validate()
                    .map_err(|e| prefix(e, &format!("markets.{k}")))?;
            }
            Ok(Self::ByUnderlying(f.markets))
        } else {
            Ok(Self::Single(Market::from_json(source_name, text)?))
        }
    }

    /// The market of an underlying.
    pub fn get(&self, underlying: &str) -> Result<&Market> {
        match self {
            Self::Single(m) => Ok(m),
            Self::ByUnderlying(map) => map.get(underlying).ok_or_else(|| {
                PricingError::field("underlying", format!("no market data for `{underlying}`"))
            }),
        }
    }
}

/// Prefixes the field path of an [`PricingError::InvalidField`].
pub(crate) fn prefix(e: PricingError, p: &str) -> PricingError {
    match e {
        PricingError::InvalidField { field, reason } => PricingError::InvalidField {
            field: format!("{p}.{}", field.trim_start_matches("market.")),
            reason,
        },
        other => other,
    }
}
