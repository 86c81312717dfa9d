//! A parsed request priced on the pricing core with the desk's conventions and margin.
//!
//! # Conventions (`[rfq]` in the configuration; shown to the trader with every quote)
//!
//! The desk never guesses a term that changes the economics and that the client could have
//! meant otherwise: levels, tenor, notional, call/put and the structure are asked for
//! (`missing` in the parse). What a desk always fills in by convention is filled in here:
//!
//! | term | convention |
//! | --- | --- |
//! | side not stated | `rfq.default_side` (client buys: the desk sells the payoff) |
//! | exercise not stated | `rfq.default_exercise` (European) |
//! | start, initial price | today's valuation date and spot of the market file |
//! | snowball / phoenix knock-out | `rfq.autocall_ko_frequency` (monthly) observations after `rfq.autocall_lockup_months` (3); coupon annualised, paid on knock-out for the time elapsed, and at maturity if neither knocked out nor in |
//! | snowball knock-in | `rfq.snowball_ki_monitoring` (daily closes); loss after knock-in `min(S_T/S_0 − 1, 0)` |
//! | phoenix | coupon barrier observed with the knock-out schedule without lock-up, memory per `rfq.phoenix_memory`, knock-in per `rfq.phoenix_ki_monitoring` (at maturity); the annual coupon is paid per observation (÷12 monthly) |
//! | barrier option | `rfq.barrier_kind` (knock-out); up if the barrier is above 100%, else down; `rfq.barrier_monitoring` (daily) |
//! | shark fin | up-and-out call above 100% (down-and-out put below), strike 100% and participation 100% unless given, rebate `rfq.shark_fin_rebate_pct` at expiry |
//! | Asian | arithmetic average of `rfq.asian_fixings` (monthly) fixings |
//!
//! # What is quoted
//!
//! `solve_for` decides: `premium` (or nothing, for options and for autocallables with a coupon)
//! prices the product; `coupon` solves an autocallable's coupon; `barrier` its knock-out level;
//! `strike` its loss strike. Options solved for anything but their premium would need a target
//! premium the request cannot carry, so they are refused with that reason (a trader takes over).
//!
//! # Margin
//!
//! The margin `m` (`rfq.margin_bps`, `rfq.margin_bps_autocall`, in basis points of notional) is
//! charged against the client. A premium is quoted at `fair + m` when the client buys and
//! `max(fair − m, 0)` when the client sells. A solved term is the one at which the product is
//! worth `−m` to a buying client (`+m` to a selling one) instead of 0, so the fair and the
//! client terms are both shown: fair coupon 15.10% p.a., client coupon 14.02% p.a. Coupons are
//! exactly linear in the value (the same paths price every coupon), so two pricings give both;
//! other terms are found with the core's Brent solver, once for each.
//!
//! Engines: closed forms where they exist (vanillas, digitals, barriers with continuous
//! monitoring), the PDE for autocallables by default (`rfq.autocall_engine`; Monte Carlo with
//! `rfq.mc_paths` on request), Monte Carlo for arithmetic Asians.
//!
//! Greeks are the desk's (the side it would hold): cash delta `Δ·S` and vega per vol point
//! `∂V/∂σ / 100`, in the notional's currency, at the client's terms; they feed the exposure
//! limits.

use crate::config::{AsianFixings, InOut, KoFrequency, MonitoringKind, RfqConfig};
use kernels::pricing::{EngineKind, PricingRequest};
use kernels::solve::{SolveParameter, SolveSpec};
use kernels::{Greeks, Market, Product};
use rfq::schema::{Exercise, OptionType, RfqRequest, Side, SolveFor, Structure};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Instant;

/// Why a request could not be priced (shown to the trader; the client gets neutral words).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    /// A term the desk needs is missing (the parse should have asked).
    #[error("cannot price without {0}")]
    Missing(&'static str),
    /// The desk does not quote this combination.
    #[error("not quoted automatically: {0}")]
    Unsupported(String),
    /// The pricing core refused the product or failed (naming the field).
    #[error("pricing core: {0}")]
    Pricing(#[from] kernels::PricingError),
    /// The desk built a product or quote the pricing core's types do not accept: our fault.
    #[error("the desk's product for {id} is not valid: {message}")]
    Product {
        /// The quote id.
        id: String,
        /// What serde said.
        message: String,
    },
}

/// The desk's pricing conventions, from `[rfq]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conventions {
    /// Side when not stated.
    pub default_side: Side,
    /// Exercise when not stated.
    pub default_exercise: Exercise,
    /// Autocall lock-up in months.
    pub lockup_months: u32,
    /// Autocall knock-out frequency.
    pub ko_frequency: KoFrequency,
    /// Snowball knock-in monitoring.
    pub snowball_ki: MonitoringKind,
    /// Phoenix knock-in monitoring.
    pub phoenix_ki: MonitoringKind,
    /// Phoenix memory.
    pub phoenix_memory: bool,
    /// Barrier options: knock-out or knock-in.
    pub barrier_kind: InOut,
    /// Barrier options and shark fins: monitoring.
    pub barrier_monitoring: MonitoringKind,
    /// Shark fin rebate, fraction of notional.
    pub shark_fin_rebate: f64,
    /// Asian fixings frequency.
    pub asian_fixings: AsianFixings,
    /// Engine for autocallables.
    pub autocall_engine: EngineKind,
    /// Monte Carlo paths.
    pub mc_paths: u64,
    /// Monte Carlo seed.
    pub mc_seed: u64,
    /// Margin on options, fraction of notional.
    pub margin: f64,
    /// Margin on autocallables, fraction of notional.
    pub margin_autocall: f64,
}

impl Conventions {
    /// The conventions of a (validated) configuration.
    pub fn from_config(c: &RfqConfig) -> Conventions {
        Conventions {
            default_side: c.default_side,
            default_exercise: c.default_exercise,
            lockup_months: c.autocall_lockup_months,
            ko_frequency: c.autocall_ko_frequency,
            snowball_ki: c.snowball_ki_monitoring,
            phoenix_ki: c.phoenix_ki_monitoring,
            phoenix_memory: c.phoenix_memory,
            barrier_kind: c.barrier_kind,
            barrier_monitoring: c.barrier_monitoring,
            shark_fin_rebate: c.shark_fin_rebate_pct / 100.0,
            asian_fixings: c.asian_fixings,
            autocall_engine: c.autocall_engine.into(),
            mc_paths: c.mc_paths,
            mc_seed: c.mc_seed,
            margin: c.margin_bps / 1e4,
            margin_autocall: c.margin_bps_autocall / 1e4,
        }
    }

    fn observations_per_year(&self) -> f64 {
        self.ko_frequency.per_year()
    }
}

/// What a quote states (also read back from a quote approval's payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteKind {
    /// The price, in percent of notional.
    Premium,
    /// An autocallable's annualised coupon, in percent.
    Coupon,
    /// An autocallable's knock-out level, in percent of the initial price.
    KnockOut,
    /// An autocallable's loss strike, in percent of the initial price.
    Strike,
}

impl QuoteKind {
    /// The unit of the quoted figure.
    pub fn unit(self) -> &'static str {
        match self {
            QuoteKind::Premium => "% of notional",
            QuoteKind::Coupon => "% p.a.",
            QuoteKind::KnockOut | QuoteKind::Strike => "% of initial price",
        }
    }
}

/// The quoted figure: fair, with margin, and the margin itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuoteFigure {
    /// What is quoted.
    pub kind: QuoteKind,
    /// Its unit.
    pub unit: &'static str,
    /// The fair figure (no margin).
    pub fair: f64,
    /// The figure offered to the client (with margin): what the reply states.
    pub client: f64,
    /// The margin in basis points of notional.
    pub margin_bps: f64,
    /// The margin in currency.
    pub margin_amount: f64,
    /// For premiums: the client price in currency.
    pub client_amount: Option<f64>,
}

/// The desk's Greeks of a quote (the side it would hold), in currency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DeskGreeks {
    /// ∂V/∂S.
    pub delta: f64,
    /// Cash delta `Δ·S`: what exposure limits use.
    pub cash_delta: f64,
    /// ∂²V/∂S².
    pub gamma: f64,
    /// Vega per vol point (`∂V/∂σ / 100`): what exposure limits use.
    pub vega_per_point: f64,
    /// One-day theta.
    pub theta: f64,
    /// ∂V/∂r per basis point.
    pub rho_per_bp: f64,
}

impl DeskGreeks {
    fn of(g: &Greeks, spot: f64) -> DeskGreeks {
        DeskGreeks {
            delta: g.delta,
            cash_delta: g.delta * spot,
            gamma: g.gamma,
            vega_per_point: g.vega / 100.0,
            theta: g.theta,
            rho_per_bp: g.rho / 1e4,
        }
    }
}

/// A request priced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Priced {
    /// The product as quoted (the client's terms), in the pricing core's JSON.
    pub product: Value,
    /// The client's side.
    pub side: Side,
    /// The quoted figure.
    pub quote: QuoteFigure,
    /// Value per unit notional to the holder at the client's terms, in percent.
    pub value_pct: f64,
    /// Its Monte Carlo standard error, in percent of notional (0 for closed forms and PDE).
    pub std_error_pct: f64,
    /// The desk's Greeks at the client's terms.
    pub greeks: DeskGreeks,
    /// Engine (`analytic`, `mc`, `pde` on the wire).
    pub engine: EngineKind,
    /// Monte Carlo paths, if any.
    pub paths: Option<u64>,
    /// Pricing calls made.
    pub evaluations: usize,
    /// Wall time of pricing, in milliseconds.
    pub elapsed_ms: f64,
    /// The conventions applied, in words (for the trader).
    pub conventions: Vec<String>,
}

/// A level in percent (`103.0`) as the pricing core's string (`"103%"`).
fn pct(percent: f64) -> String {
    format!("{}%", (percent * 1e6).round() / 1e6)
}

/// A monitoring style in words (`at maturity`).
fn monitoring_words(m: MonitoringKind) -> &'static str {
    match m {
        MonitoringKind::Continuous => "continuous",
        MonitoringKind::Daily => "daily",
        MonitoringKind::AtMaturity => "at maturity",
    }
}

/// A barrier effect in words (`out`, `in`).
fn in_out_words(k: InOut) -> &'static str {
    match k {
        InOut::In => "in",
        InOut::Out => "out",
    }
}

fn leg(option: OptionType, strike_pct: f64) -> Value {
    json!({"type": option.as_str(), "strike": pct(strike_pct)})
}

/// The product for `req` under `conv` (the id labels it), what is quoted, and the conventions
/// applied in words.
pub fn build(
    id: &str,
    req: &RfqRequest,
    conv: &Conventions,
) -> Result<(Product, QuoteKind, Vec<String>), PriceError> {
    let underlying = req
        .underlying
        .as_deref()
        .ok_or(PriceError::Missing("an underlying"))?;
    let structure = req.structure.ok_or(PriceError::Missing("a structure"))?;
    let tenor = req.tenor_months.ok_or(PriceError::Missing("a tenor"))?;
    let notional = req.notional.ok_or(PriceError::Missing("a notional"))?;
    if !(notional.is_finite() && notional > 0.0) {
        return Err(PriceError::Missing("a positive notional"));
    }
    let mut notes = Vec::new();
    let side = match req.side {
        Some(s) => s,
        None => {
            notes.push(format!(
                "side not stated: {}",
                conv.default_side.as_str().replace('_', " ")
            ));
            conv.default_side
        }
    };
    let direction = match side {
        Side::ClientBuys => "sell",
        Side::ClientSells => "buy",
    };
    let mut p = json!({
        "id": id,
        "kind": structure.as_str(),
        "underlying": underlying,
        "notional": notional,
        "currency": req.currency.clone().unwrap_or_else(|| "CNY".into()),
        "direction": direction,
        "tenor": format!("{tenor}M"),
    });
    let option = || req.option_type.ok_or(PriceError::Missing("call or put"));
    let strike = || req.strike_pct.ok_or(PriceError::Missing("a strike"));
    let solving = req.solve_for;
    let kind = match structure {
        Structure::Snowball | Structure::Phoenix => match solving {
            Some(SolveFor::Coupon) => QuoteKind::Coupon,
            Some(SolveFor::Barrier) => QuoteKind::KnockOut,
            Some(SolveFor::Strike) => QuoteKind::Strike,
            Some(SolveFor::Participation) => {
                return Err(PriceError::Unsupported(
                    "a participation is not a term of an autocallable".into(),
                ));
            }
            Some(SolveFor::Premium) => QuoteKind::Premium,
            None if req.coupon_pct.is_some() => QuoteKind::Premium,
            None => QuoteKind::Coupon,
        },
        _ => match solving {
            None | Some(SolveFor::Premium) => QuoteKind::Premium,
            Some(s) => {
                return Err(PriceError::Unsupported(format!(
                    "solving the {} of a {} needs a target premium, which the request does not give",
                    s.as_str(),
                    structure.as_str()
                )));
            }
        },
    };
    match structure {
        Structure::Vanilla => {
            let exercise = match req.exercise {
                Some(e) => e,
                None => {
                    notes.push(format!(
                        "exercise not stated: {}",
                        conv.default_exercise.as_str()
                    ));
                    conv.default_exercise
                }
            };
            p["exercise"] = json!(exercise.as_str());
            p["payoff"] = json!({"legs": [leg(option()?, strike()?)]});
        }
        Structure::Digital => {
            let payout = req.payout_pct.ok_or(PriceError::Missing("a payout"))?;
            let t = match option()? {
                OptionType::Call => "digital_call",
                OptionType::Put => "digital_put",
            };
            p["payoff"] =
                json!({"legs": [{"type": t, "strike": pct(strike()?), "cash": payout / 100.0}]});
        }
        Structure::Barrier => {
            let b = req.barrier_pct.ok_or(PriceError::Missing("a barrier"))?;
            let up = b > 100.0;
            p["payoff"] = json!({"legs": [leg(option()?, strike()?)]});
            p["barrier"] = json!({
                "direction": if up { "up" } else { "down" },
                "kind": conv.barrier_kind,
                "level": pct(b),
                "monitoring": conv.barrier_monitoring,
            });
            notes.push(format!(
                "barrier: {}-and-{}, {} monitoring",
                if up { "up" } else { "down" },
                in_out_words(conv.barrier_kind),
                monitoring_words(conv.barrier_monitoring)
            ));
        }
        Structure::SharkFin => {
            let b = req.barrier_pct.ok_or(PriceError::Missing("a barrier"))?;
            let up = b > 100.0;
            let opt = match req.option_type {
                Some(o) => o,
                None => {
                    let o = if up {
                        OptionType::Call
                    } else {
                        OptionType::Put
                    };
                    notes.push(format!("shark fin without call/put: {}", o.as_str()));
                    o
                }
            };
            let k = match req.strike_pct {
                Some(k) => k,
                None => {
                    notes.push("shark fin strike not stated: 100%".into());
                    100.0
                }
            };
            let part = match req.participation_pct {
                Some(x) => x / 100.0,
                None => {
                    notes.push("participation not stated: 100%".into());
                    1.0
                }
            };
            p["payoff"] =
                json!({"legs": [{"type": opt.as_str(), "strike": pct(k), "participation": part}]});
            p["barrier"] = json!({
                "direction": if up { "up" } else { "down" },
                "kind": "out",
                "level": pct(b),
                "monitoring": conv.barrier_monitoring,
                "rebate": conv.shark_fin_rebate,
                "rebate_timing": "at_expiry",
            });
            notes.push(format!(
                "shark fin: knock-out {} monitoring, rebate {}% at expiry",
                monitoring_words(conv.barrier_monitoring),
                conv.shark_fin_rebate * 100.0
            ));
        }
        Structure::Asian => {
            p["payoff"] = json!({"legs": [leg(option()?, strike()?)]});
            p["averaging"] =
                json!({"kind": "arithmetic", "schedule": {"frequency": conv.asian_fixings}});
            notes.push(format!("Asian: arithmetic {} fixings", conv.asian_fixings));
        }
        Structure::Snowball | Structure::Phoenix => {
            let ko = match (req.knock_out_pct, kind) {
                (Some(k), _) => k,
                (None, QuoteKind::KnockOut) => 100.0,
                (None, _) => return Err(PriceError::Missing("a knock-out level")),
            };
            let ki = req
                .knock_in_pct
                .ok_or(PriceError::Missing("a knock-in level"))?;
            let coupon = match (req.coupon_pct, kind) {
                (_, QuoteKind::Coupon) => 0.10,
                (Some(c), _) => c / 100.0,
                (None, _) => return Err(PriceError::Missing("a coupon")),
            };
            let ki_monitoring = if structure == Structure::Snowball {
                conv.snowball_ki
            } else {
                conv.phoenix_ki
            };
            let mut a = json!({
                "ko_level": pct(ko),
                "ko_schedule": {"frequency": conv.ko_frequency, "lockup_months": conv.lockup_months},
                "ki": {"level": pct(ki), "monitoring": ki_monitoring},
            });
            if let Some(k) = req.strike_pct.filter(|_| kind != QuoteKind::Strike) {
                a["loss"] = json!({"strike": pct(k)});
            }
            if structure == Structure::Snowball {
                a["ko_coupon"] = json!(coupon);
                notes.push(format!(
                    "snowball: knock-out {} after a {}-month lock-up, knock-in {}, loss min(S_T/S_0 - 1, 0)",
                    conv.ko_frequency,
                    conv.lockup_months,
                    monitoring_words(ki_monitoring)
                ));
            } else {
                let cb = req
                    .coupon_barrier_pct
                    .ok_or(PriceError::Missing("a coupon barrier"))?;
                a["phoenix"] = json!({
                    "barrier": pct(cb),
                    "coupon": coupon / conv.observations_per_year(),
                    "schedule": {"frequency": conv.ko_frequency},
                    "memory": conv.phoenix_memory,
                });
                notes.push(format!(
                    "phoenix: knock-out {} after a {}-month lock-up, coupon {} per observation{}, knock-in {}",
                    conv.ko_frequency,
                    conv.lockup_months,
                    conv.ko_frequency,
                    if conv.phoenix_memory { " with memory" } else { "" },
                    monitoring_words(ki_monitoring)
                ));
            }
            p["autocall"] = a;
        }
    }
    let product: Product = serde_json::from_value(p).map_err(|e| PriceError::Product {
        id: id.to_string(),
        message: e.to_string(),
    })?;
    Ok((product, kind, notes))
}

fn request(conv: &Conventions, structure: Structure, greeks: bool) -> PricingRequest {
    let mut r = PricingRequest {
        greeks,
        ..PricingRequest::default()
    };
    r.mc.paths = conv.mc_paths;
    r.mc.seed = conv.mc_seed;
    if structure.is_autocallable() {
        r.engine = conv.autocall_engine;
    }
    r
}

/// Prices `req` on `market` under `conv`: the product, the quoted figure with margin, and the
/// desk's Greeks at the client's terms.
pub fn price(
    id: &str,
    req: &RfqRequest,
    market: &Market,
    conv: &Conventions,
) -> Result<Priced, PriceError> {
    let t0 = Instant::now();
    let (product, kind, conventions) = build(id, req, conv)?;
    let structure = req.structure.ok_or(PriceError::Missing("a structure"))?;
    let side = req.side.unwrap_or(conv.default_side);
    let margin = if structure.is_autocallable() {
        conv.margin_autocall
    } else {
        conv.margin
    };
    // +1: the client buys (pays more, receives less); −1: the client sells.
    let s = if side == Side::ClientBuys { 1.0 } else { -1.0 };
    let notional = product.notional;
    let mut evaluations = 0;
    let (quoted, quote) = match kind {
        QuoteKind::Premium => {
            let fair = kernels::price(&product, market, &request(conv, structure, false))?;
            evaluations += 1;
            let fair_pct = fair.value_per_notional * 100.0;
            let mut client = fair_pct + s * margin * 100.0;
            if !structure.is_autocallable() && side == Side::ClientSells {
                client = client.max(0.0);
            }
            let q = QuoteFigure {
                kind,
                unit: kind.unit(),
                fair: fair_pct,
                client,
                margin_bps: margin * 1e4,
                margin_amount: (client - fair_pct).abs() / 100.0 * notional,
                client_amount: Some(client / 100.0 * notional),
            };
            (product, q)
        }
        QuoteKind::Coupon => {
            // The value is affine in the coupon on common random numbers: two pricings give it.
            let (c0, c1) = (0.0, 0.2);
            let v = |c: f64| -> Result<f64, PriceError> {
                let p = kernels::solve::with_parameter(&product, SolveParameter::Coupon, c)?;
                Ok(
                    kernels::price(&p, market, &request(conv, structure, false))?
                        .value_per_notional,
                )
            };
            let (v0, v1) = (v(c0)?, v(c1)?);
            evaluations += 2;
            let slope = (v1 - v0) / (c1 - c0);
            if !(slope.is_finite() && slope > 1e-9) {
                return Err(PriceError::Unsupported(
                    "the coupon does not move the value (the product cannot knock out)".into(),
                ));
            }
            let fair = (0.0 - v0) / slope;
            let client = (-s * margin - v0) / slope;
            if !(0.0..=2.0).contains(&client) || !(0.0..=2.0).contains(&fair) {
                return Err(PriceError::Unsupported(format!(
                    "the solved coupon ({:.2}% p.a. fair) is outside 0-200% p.a.",
                    fair * 100.0
                )));
            }
            let per_year = if structure == Structure::Phoenix {
                conv.observations_per_year()
            } else {
                1.0
            };
            let quoted = kernels::solve::with_parameter(&product, SolveParameter::Coupon, client)?;
            let q = QuoteFigure {
                kind,
                unit: kind.unit(),
                fair: fair * per_year * 100.0,
                client: client * per_year * 100.0,
                margin_bps: margin * 1e4,
                margin_amount: margin * notional,
                client_amount: None,
            };
            (quoted, q)
        }
        QuoteKind::KnockOut | QuoteKind::Strike => {
            let parameter = if kind == QuoteKind::KnockOut {
                SolveParameter::KoLevel
            } else {
                SolveParameter::Strike
            };
            let spot = market.spot;
            let (lo, hi) = if kind == QuoteKind::KnockOut {
                (0.8 * spot, 1.5 * spot)
            } else {
                (0.5 * spot, 1.5 * spot)
            };
            let solve = |target: f64| {
                kernels::solve::solve(
                    &product,
                    market,
                    &request(conv, structure, false),
                    &SolveSpec {
                        parameter,
                        target,
                        lo,
                        hi,
                        tol: 1e-6 * spot,
                    },
                )
            };
            let fair = solve(0.0)?;
            let client = solve(-s * margin)?;
            evaluations += fair.evaluations + client.evaluations;
            let quoted = kernels::solve::with_parameter(&product, parameter, client.solution)?;
            let q = QuoteFigure {
                kind,
                unit: kind.unit(),
                fair: fair.solution / spot * 100.0,
                client: client.solution / spot * 100.0,
                margin_bps: margin * 1e4,
                margin_amount: margin * notional,
                client_amount: None,
            };
            (quoted, q)
        }
    };
    let r = kernels::price(&quoted, market, &request(conv, structure, true))?;
    evaluations += 1;
    let g = r.greeks.unwrap_or_default();
    let product_json = serde_json::to_value(&quoted).map_err(|e| PriceError::Product {
        id: id.to_string(),
        message: e.to_string(),
    })?;
    let mut conventions = conventions;
    if !r.calendar.is_empty() {
        conventions.push(format!("business days: {}", r.calendar));
    }
    Ok(Priced {
        product: product_json,
        side,
        quote,
        value_pct: r.value_per_notional * 100.0,
        std_error_pct: r.std_error / notional * 100.0,
        greeks: DeskGreeks::of(&g, market.spot),
        engine: r.engine,
        paths: r.paths,
        evaluations,
        elapsed_ms: t0.elapsed().as_secs_f64() * 1e3,
        conventions,
    })
}
