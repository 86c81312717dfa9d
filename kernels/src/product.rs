//! Products as data: one JSON shape whose features combine into every structure we price.
//!
//! A product is a terminal payoff (a sum of legs, with an optional cap and floor) plus optional
//! features: an American exercise right, averaging of the underlying, a single barrier (up/down,
//! in/out, continuous or discrete, with rebate), or an autocall block (knock-out schedule with
//! coupons, knock-in with a loss leg, phoenix coupons with memory). A vanilla is a leg; a shark
//! fin is a call leg with participation and an up-and-out barrier with rebate; a snowball is an
//! autocall with a knock-in; a phoenix is an autocall with phoenix coupons. No engine has a code
//! path per product name: [`Product::compile`] turns the JSON into a [`Contract`] of times and
//! absolute levels that every engine reads.
//!
//! Amounts (coupons, rebates, digital cash, leg payoffs) are fractions of `notional`; a call leg
//! pays `participation · max(U − K, 0) / initial_price`. Levels are a number in price units or a
//! string percentage of `initial_price` (`"103%"`). `direction` is the book's side: `buy` means
//! the book receives the payoff, so a value is what the position is worth to us.

use serde::{Deserialize, Deserializer, Serialize};

use crate::dates::{Calendar, Date, Frequency, Schedule, Tenor};
use crate::error::{PricingError, Result, finite};
use crate::market::Market;

/// A price level: absolute (number) or relative to the initial price (string `"103%"`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Level {
    /// In price units.
    Absolute(f64),
    /// A fraction of `initial_price` (serialised as `"103%"`).
    #[serde(serialize_with = "ser_pct")]
    Relative(f64),
}

fn ser_pct<S: serde::Serializer>(x: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{}%", x * 100.0))
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(f64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(x) => Ok(Level::Absolute(x)),
            Raw::S(s) => {
                let t = s.trim();
                let p = t
                    .strip_suffix('%')
                    .and_then(|n| n.trim().parse::<f64>().ok())
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!(
                            "`{s}` is neither a number nor a percentage like \"103%\""
                        ))
                    })?;
                Ok(Level::Relative(p / 100.0))
            }
        }
    }
}

impl Level {
    fn resolve(self, field: &str, s_ref: f64) -> Result<f64> {
        let v = match self {
            Level::Absolute(x) => finite(field, x)?,
            Level::Relative(p) => finite(field, p)? * s_ref,
        };
        if v <= 0.0 {
            return Err(PricingError::field(
                field,
                format!("level must be > 0, got {v}"),
            ));
        }
        Ok(v)
    }
}

/// The book's side of the trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The book holds the payoff (values are as seen by the holder).
    #[default]
    Buy,
    /// The book owes the payoff (values are negated).
    Sell,
}

/// Exercise style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Exercise {
    /// At maturity only.
    #[default]
    European,
    /// Any time up to maturity (vanilla legs only).
    American,
}

/// One leg of a terminal payoff, on the underlying `U` (the spot at maturity, or the average).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LegSpec {
    /// `participation · max(U − strike, 0) / initial_price`.
    Call {
        /// Strike level.
        strike: Level,
        /// Participation (default 1; negative for a short leg).
        #[serde(default = "one")]
        participation: f64,
    },
    /// `participation · max(strike − U, 0) / initial_price`.
    Put {
        /// Strike level.
        strike: Level,
        /// Participation (default 1).
        #[serde(default = "one")]
        participation: f64,
    },
    /// Cash-or-nothing: `cash` if `U > strike`.
    DigitalCall {
        /// Strike level.
        strike: Level,
        /// Cash amount, a fraction of notional.
        cash: f64,
    },
    /// Cash-or-nothing: `cash` if `U < strike`.
    DigitalPut {
        /// Strike level.
        strike: Level,
        /// Cash amount, a fraction of notional.
        cash: f64,
    },
    /// `participation · (U − strike) / initial_price`.
    Forward {
        /// Strike level.
        strike: Level,
        /// Participation (default 1).
        #[serde(default = "one")]
        participation: f64,
    },
    /// A fixed amount (fraction of notional).
    Cash {
        /// The amount.
        amount: f64,
    },
}

fn one() -> f64 {
    1.0
}

/// A terminal payoff: the sum of its legs, then floored and capped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PayoffSpec {
    /// The legs.
    #[serde(default)]
    pub legs: Vec<LegSpec>,
    /// Lower bound of the total, a fraction of notional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<f64>,
    /// Upper bound of the total, a fraction of notional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<f64>,
}

/// Averaging of the underlying for the terminal payoff (Asian options).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AveragingSpec {
    /// `arithmetic` (default) or `geometric`.
    #[serde(default)]
    pub kind: AverageKind,
    /// Fixing dates.
    pub schedule: Schedule,
}

/// Kind of average.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AverageKind {
    /// Arithmetic mean of the fixings.
    #[default]
    Arithmetic,
    /// Geometric mean of the fixings.
    Geometric,
}

/// Barrier direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpDown {
    /// Triggered at or above the level.
    Up,
    /// Triggered at or below the level.
    Down,
}

/// Barrier effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InOut {
    /// The payoff starts to exist when the barrier is hit.
    In,
    /// The payoff dies when the barrier is hit (the rebate is paid).
    Out,
}

/// How a barrier is monitored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Monitoring {
    /// `"continuous"`, `"daily"` or `"at_maturity"`.
    Named(MonitoringKind),
    /// An explicit schedule.
    Schedule(Schedule),
}

/// Named monitoring styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitoringKind {
    /// Continuously in time (Monte Carlo adds the Brownian-bridge crossing probability).
    Continuous,
    /// Every business day's close.
    Daily,
    /// Only at maturity.
    AtMaturity,
}

/// When a knock-out rebate is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RebateTiming {
    /// On the knock-out date.
    #[default]
    AtHit,
    /// At maturity.
    AtExpiry,
}

/// A single barrier on the terminal payoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarrierSpec {
    /// `up` or `down`.
    pub direction: UpDown,
    /// `in` or `out`.
    pub kind: InOut,
    /// Barrier level.
    pub level: Level,
    /// Monitoring (default continuous).
    #[serde(default = "continuous")]
    pub monitoring: Monitoring,
    /// Rebate (fraction of notional): paid on knock-out, or at expiry if never knocked in.
    #[serde(default)]
    pub rebate: f64,
    /// When a knock-out rebate is paid (knock-in rebates are paid at expiry).
    #[serde(default)]
    pub rebate_timing: RebateTiming,
}

fn continuous() -> Monitoring {
    Monitoring::Named(MonitoringKind::Continuous)
}

/// Knock-in of an autocall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnockInSpec {
    /// Knock-in level (down barrier).
    pub level: Level,
    /// Monitoring (default daily).
    #[serde(default = "daily")]
    pub monitoring: Monitoring,
}

fn daily() -> Monitoring {
    Monitoring::Named(MonitoringKind::Daily)
}

/// The loss leg paid at maturity after a knock-in without knock-out:
/// `clamp(−participation · max(strike − S_T, 0) / initial_price, floor, cap)`; the classic
/// snowball's `min(S_T/S_0 − 1, 0)` is the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossSpec {
    /// Participation in the loss (default 1).
    #[serde(default = "one")]
    pub participation: f64,
    /// Strike of the loss (default `"100%"`).
    #[serde(default = "hundred")]
    pub strike: Level,
    /// Largest loss as a negative fraction of notional (e.g. −0.2), if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<f64>,
    /// Upper bound of the loss leg (e.g. 0), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<f64>,
}

fn hundred() -> Level {
    Level::Relative(1.0)
}

impl Default for LossSpec {
    fn default() -> Self {
        Self {
            participation: 1.0,
            strike: hundred(),
            floor: None,
            cap: None,
        }
    }
}

/// Phoenix coupons: paid on each observation where the spot is at or above `barrier`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoenixSpec {
    /// Coupon barrier.
    pub barrier: Level,
    /// Coupon per observation, a fraction of notional (not annualised).
    pub coupon: f64,
    /// Coupon observation dates (default: monthly, no lock-up).
    #[serde(default = "monthly")]
    pub schedule: Schedule,
    /// Missed coupons are paid later when the barrier is met again.
    #[serde(default)]
    pub memory: bool,
}

fn monthly() -> Schedule {
    Schedule::every(Frequency::Monthly)
}

/// An autocall block: knock-out observations with coupons, knock-in with a loss leg, phoenix
/// coupons. Snowballs and phoenixes are both this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutocallSpec {
    /// Knock-out (autocall) level on the first observation.
    pub ko_level: Level,
    /// Step-down of the knock-out level per observation, a fraction of initial price.
    #[serde(default)]
    pub ko_step_down: f64,
    /// Knock-out observation schedule (monthly with a lock-up, typically).
    pub ko_schedule: Schedule,
    /// Annualised coupon paid on knock-out for the time elapsed since start (ACT/365).
    #[serde(default)]
    pub ko_coupon: f64,
    /// Annualised coupon paid at maturity if neither knocked out nor in (default: `ko_coupon`
    /// without phoenix coupons, 0 with them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bonus_coupon: Option<f64>,
    /// Knock-in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ki: Option<KnockInSpec>,
    /// Loss leg after knock-in (default `min(S_T/S_0 − 1, 0)`).
    #[serde(default)]
    pub loss: LossSpec,
    /// Phoenix coupons, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phoenix: Option<PhoenixSpec>,
}

/// The life-cycle state of a live contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ContractState {
    /// The knock-in already happened.
    #[serde(default)]
    pub knocked_in: bool,
    /// Sum of the averaging fixings already taken (arithmetic: prices; geometric: log prices).
    #[serde(default)]
    pub fixings_sum: f64,
    /// Number of averaging fixings already taken.
    #[serde(default)]
    pub fixings_count: u32,
    /// Phoenix coupons missed so far (with memory).
    #[serde(default)]
    pub missed_coupons: u32,
}

/// A product as written in JSON. See the module documentation for conventions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Contract id (reported back in book results).
    #[serde(default)]
    pub id: String,
    /// Free label such as `snowball` or `shark_fin`; informative only, engines ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Underlying id (e.g. `000905.SH`), used to find its market data.
    pub underlying: String,
    /// Notional in `currency`.
    pub notional: f64,
    /// Currency code.
    #[serde(default = "cny")]
    pub currency: String,
    /// The book's side.
    #[serde(default)]
    pub direction: Direction,
    /// Initial fixing `S_0` that relative levels refer to (default: market spot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_price: Option<f64>,
    /// Trade start (default: valuation date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Date>,
    /// Maturity date (or give `tenor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maturity: Option<Date>,
    /// Tenor from start, e.g. `12M` (or give `maturity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenor: Option<String>,
    /// Business-day calendar (default: the underlying's exchange, see
    /// [`Calendar::for_underlying`]; weekdays when the code names no exchange).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<Calendar>,
    /// Exercise style.
    #[serde(default)]
    pub exercise: Exercise,
    /// Terminal payoff (for a knock-in product: the payoff once knocked in).
    #[serde(default)]
    pub payoff: PayoffSpec,
    /// Averaging of the underlying, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub averaging: Option<AveragingSpec>,
    /// Single barrier, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barrier: Option<BarrierSpec>,
    /// Autocall block, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autocall: Option<AutocallSpec>,
    /// State of a live contract.
    #[serde(default)]
    pub state: ContractState,
}

fn cny() -> String {
    "CNY".into()
}

/// A compiled leg with an absolute strike.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leg {
    /// `w · max(U − k, 0)`.
    Call {
        /// Strike.
        k: f64,
        /// Weight: participation / initial price.
        w: f64,
    },
    /// `w · max(k − U, 0)`.
    Put {
        /// Strike.
        k: f64,
        /// Weight.
        w: f64,
    },
    /// `cash · 1{U > k}`.
    DigitalCall {
        /// Strike.
        k: f64,
        /// Cash.
        cash: f64,
    },
    /// `cash · 1{U < k}`.
    DigitalPut {
        /// Strike.
        k: f64,
        /// Cash.
        cash: f64,
    },
    /// `w · (U − k)`.
    Forward {
        /// Strike.
        k: f64,
        /// Weight.
        w: f64,
    },
    /// A constant.
    Cash {
        /// Amount.
        amount: f64,
    },
}

/// A compiled terminal payoff: sum of legs, floored, capped. Amounts are fractions of notional.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payoff {
    /// Legs.
    pub legs: Vec<Leg>,
    /// Floor of the total (−∞ if none).
    pub floor: f64,
    /// Cap of the total (+∞ if none).
    pub cap: f64,
}

impl Payoff {
    /// The payoff at underlying value `u`.
    #[inline]
    pub fn eval(&self, u: f64) -> f64 {
        let mut v = 0.0;
        for l in &self.legs {
            v += match *l {
                Leg::Call { k, w } => w * (u - k).max(0.0),
                Leg::Put { k, w } => w * (k - u).max(0.0),
                Leg::DigitalCall { k, cash } => {
                    if u > k {
                        cash
                    } else {
                        0.0
                    }
                }
                Leg::DigitalPut { k, cash } => {
                    if u < k {
                        cash
                    } else {
                        0.0
                    }
                }
                Leg::Forward { k, w } => w * (u - k),
                Leg::Cash { amount } => amount,
            };
        }
        v.max(self.floor).min(self.cap)
    }

    /// A constant payoff.
    pub fn cash(amount: f64) -> Self {
        Self {
            legs: vec![Leg::Cash { amount }],
            floor: f64::NEG_INFINITY,
            cap: f64::INFINITY,
        }
    }

    /// The strikes (kinks and jumps) of the payoff.
    pub fn strikes(&self) -> Vec<f64> {
        self.legs
            .iter()
            .filter_map(|l| match *l {
                Leg::Call { k, .. }
                | Leg::Put { k, .. }
                | Leg::DigitalCall { k, .. }
                | Leg::DigitalPut { k, .. }
                | Leg::Forward { k, .. } => Some(k),
                Leg::Cash { .. } => None,
            })
            .collect()
    }

    /// Whether the payoff is constant.
    pub fn is_constant(&self) -> bool {
        self.legs.iter().all(|l| matches!(l, Leg::Cash { .. }))
    }
}

/// Compiled averaging.
#[derive(Debug, Clone, PartialEq)]
pub struct Averaging {
    /// Geometric (true) or arithmetic.
    pub geometric: bool,
    /// Remaining fixing times (years from valuation), increasing, > 0.
    pub times: Vec<f64>,
    /// Sum of past fixings (log prices if geometric).
    pub past_sum: f64,
    /// Number of past fixings.
    pub past_count: u32,
}

/// Compiled knock-in.
#[derive(Debug, Clone, PartialEq)]
pub struct KnockIn {
    /// Up (true) or down barrier.
    pub up: bool,
    /// Level in price units.
    pub level: f64,
    /// Continuous monitoring (else `times`).
    pub continuous: bool,
    /// Discrete observation times.
    pub times: Vec<f64>,
}

/// One discrete knock-out observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KoObs {
    /// Observation time.
    pub t: f64,
    /// Level in price units.
    pub level: f64,
    /// Amount paid on knock-out (fraction of notional).
    pub amount: f64,
    /// Payment time.
    pub pay_t: f64,
}

/// A continuously monitored knock-out barrier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContinuousKo {
    /// Level in price units.
    pub level: f64,
    /// Rebate (fraction of notional).
    pub rebate: f64,
    /// Paid at hit (else at maturity).
    pub at_hit: bool,
}

/// Compiled knock-out.
#[derive(Debug, Clone, PartialEq)]
pub struct KnockOut {
    /// Up (true) or down.
    pub up: bool,
    /// Continuous barrier, if any.
    pub continuous: Option<ContinuousKo>,
    /// Discrete observations.
    pub obs: Vec<KoObs>,
}

/// One phoenix coupon observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CouponObs {
    /// Observation time.
    pub t: f64,
    /// Coupon barrier in price units.
    pub barrier: f64,
    /// Coupon (fraction of notional).
    pub amount: f64,
}

/// Compiled phoenix coupons.
#[derive(Debug, Clone, PartialEq)]
pub struct Coupons {
    /// Observations.
    pub obs: Vec<CouponObs>,
    /// Memory of missed coupons.
    pub memory: bool,
}

/// A product compiled against a valuation date: times in years (ACT/365F), absolute levels.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    /// Contract id.
    pub id: String,
    /// Underlying id.
    pub underlying: String,
    /// Sign × notional: multiplies every per-notional value.
    pub scale: f64,
    /// Notional.
    pub notional: f64,
    /// Initial price.
    pub s_ref: f64,
    /// Maturity time.
    pub t_mat: f64,
    /// American exercise.
    pub american: bool,
    /// Terminal payoff when no knock-in feature exists or it has not happened.
    pub base: Payoff,
    /// Terminal payoff after knock-in (`Some` iff there is a knock-in feature).
    pub after_ki: Option<Payoff>,
    /// Averaging.
    pub averaging: Option<Averaging>,
    /// Knock-in.
    pub ki: Option<KnockIn>,
    /// Knock-out.
    pub ko: Option<KnockOut>,
    /// Phoenix coupons.
    pub coupons: Option<Coupons>,
    /// Already knocked in.
    pub knocked_in: bool,
    /// Phoenix coupons missed so far.
    pub missed_coupons: u32,
    /// The business-day calendar its dates were scheduled on, with any caveat
    /// ([`Calendar::describe`]).
    pub calendar: String,
}

impl Product {
    /// Parses a product JSON document; `source_name` labels errors (serde names the field).
    pub fn from_json(source_name: &str, text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| PricingError::json(source_name, &e))
    }

    /// Compiles against a market: validates every field and turns dates into times.
    pub fn compile(&self, market: &Market) -> Result<Contract> {
        market.validate()?;
        finite("notional", self.notional)?;
        if self.notional <= 0.0 {
            return Err(PricingError::field(
                "notional",
                "must be > 0 (use `direction` for sells)",
            ));
        }
        let s_ref = match self.initial_price {
            Some(p) => {
                finite("initial_price", p)?;
                if p <= 0.0 {
                    return Err(PricingError::field("initial_price", "must be > 0"));
                }
                p
            }
            None => market.spot,
        };
        let val = market.valuation_date;
        let start = self.start.unwrap_or(val);
        let cal = &self
            .calendar
            .clone()
            .unwrap_or_else(|| Calendar::for_underlying(&self.underlying));
        let maturity = match (&self.maturity, &self.tenor) {
            (Some(m), None) => *m,
            (None, Some(t)) => cal.following(Tenor::parse("tenor", t)?.after(start)),
            (Some(_), Some(_)) => {
                return Err(PricingError::field(
                    "maturity",
                    "give `maturity` or `tenor`, not both",
                ));
            }
            (None, None) => {
                return Err(PricingError::field(
                    "maturity",
                    "missing: give `maturity` or `tenor`",
                ));
            }
        };
        if maturity <= start {
            return Err(PricingError::field(
                "maturity",
                format!("{maturity} is not after start {start}"),
            ));
        }
        if maturity <= val {
            return Err(PricingError::field(
                "maturity",
                format!(
                    "{maturity} is not after the valuation date {val} (the contract has expired)"
                ),
            ));
        }
        let t_of = |d: Date| val.year_fraction(d);
        let t_mat = t_of(maturity);
        let future = |dates: Vec<Date>| -> Vec<f64> {
            dates.into_iter().map(t_of).filter(|t| *t > 0.0).collect()
        };
        let scale = match self.direction {
            Direction::Buy => self.notional,
            Direction::Sell => -self.notional,
        };

        let payoff = compile_payoff("payoff", &self.payoff, s_ref)?;
        let mut c = Contract {
            id: self.id.clone(),
            underlying: self.underlying.clone(),
            scale,
            notional: self.notional,
            s_ref,
            t_mat,
            american: self.exercise == Exercise::American,
            base: payoff.clone(),
            after_ki: None,
            averaging: None,
            ki: None,
            ko: None,
            coupons: None,
            knocked_in: self.state.knocked_in,
            missed_coupons: self.state.missed_coupons,
            calendar: cal.describe(start, maturity),
        };

        if let Some(a) = &self.averaging {
            let times = future(
                a.schedule
                    .dates("averaging.schedule", start, maturity, cal)?,
            );
            if times.is_empty() && self.state.fixings_count == 0 {
                return Err(PricingError::field(
                    "averaging.schedule",
                    "no fixing left and none taken",
                ));
            }
            c.averaging = Some(Averaging {
                geometric: a.kind == AverageKind::Geometric,
                times,
                past_sum: finite("state.fixings_sum", self.state.fixings_sum)?,
                past_count: self.state.fixings_count,
            });
        }
        if c.american
            && (self.barrier.is_some() || self.autocall.is_some() || self.averaging.is_some())
        {
            return Err(PricingError::field(
                "exercise",
                "american exercise combines only with plain legs (no barrier, autocall or averaging)",
            ));
        }

        if let Some(b) = &self.barrier {
            if self.autocall.is_some() {
                return Err(PricingError::field(
                    "barrier",
                    "a product has either `barrier` or `autocall`, not both",
                ));
            }
            let level = b.level.resolve("barrier.level", s_ref)?;
            finite("barrier.rebate", b.rebate)?;
            let up = b.direction == UpDown::Up;
            let (continuous, times) = monitoring(
                "barrier.monitoring",
                &b.monitoring,
                start,
                maturity,
                cal,
                &future,
            )?;
            let breached = if up {
                market.spot >= level
            } else {
                market.spot <= level
            };
            match b.kind {
                InOut::Out => {
                    if breached && continuous {
                        return Err(PricingError::field(
                            "barrier.level",
                            format!(
                                "spot {} is already beyond the {} knock-out barrier {level}: the option is dead",
                                market.spot,
                                if up { "up" } else { "down" }
                            ),
                        ));
                    }
                    let at_hit = b.rebate_timing == RebateTiming::AtHit;
                    c.ko = Some(if continuous {
                        KnockOut {
                            up,
                            continuous: Some(ContinuousKo {
                                level,
                                rebate: b.rebate,
                                at_hit,
                            }),
                            obs: vec![],
                        }
                    } else {
                        KnockOut {
                            up,
                            continuous: None,
                            obs: times
                                .iter()
                                .map(|&t| KoObs {
                                    t,
                                    level,
                                    amount: b.rebate,
                                    pay_t: if at_hit { t } else { t_mat },
                                })
                                .collect(),
                        }
                    });
                }
                InOut::In => {
                    if breached && continuous && !c.knocked_in {
                        return Err(PricingError::field(
                            "barrier.level",
                            format!(
                                "spot {} is already beyond the knock-in barrier {level}: set `state.knocked_in`",
                                market.spot
                            ),
                        ));
                    }
                    c.base = Payoff::cash(b.rebate);
                    c.after_ki = Some(payoff);
                    c.ki = Some(KnockIn {
                        up,
                        level,
                        continuous,
                        times,
                    });
                }
            }
        }

        if let Some(a) = &self.autocall {
            if !self.payoff.legs.is_empty() {
                return Err(PricingError::field(
                    "payoff",
                    "an autocall's terminal payoff is given by `autocall.bonus_coupon` and `autocall.loss`; leave `payoff` empty",
                ));
            }
            let ko0 = a.ko_level.resolve("autocall.ko_level", s_ref)?;
            finite("autocall.ko_coupon", a.ko_coupon)?;
            finite("autocall.ko_step_down", a.ko_step_down)?;
            let ko_dates = a
                .ko_schedule
                .dates("autocall.ko_schedule", start, maturity, cal)?;
            let mut obs = Vec::new();
            for (i, d) in ko_dates.iter().enumerate() {
                let t = t_of(*d);
                let level = ko0 - a.ko_step_down * s_ref * i as f64;
                if level <= 0.0 {
                    return Err(PricingError::field(
                        "autocall.ko_step_down",
                        "steps the knock-out level below zero",
                    ));
                }
                if t > 0.0 {
                    obs.push(KoObs {
                        t,
                        level,
                        amount: a.ko_coupon * start.year_fraction(*d),
                        pay_t: t,
                    });
                }
            }
            c.ko = Some(KnockOut {
                up: true,
                continuous: None,
                obs,
            });
            let bonus = a.bonus_coupon.unwrap_or(if a.phoenix.is_some() {
                0.0
            } else {
                a.ko_coupon
            });
            finite("autocall.bonus_coupon", bonus)?;
            c.base = Payoff::cash(bonus * start.year_fraction(maturity));
            if let Some(ki) = &a.ki {
                let level = ki.level.resolve("autocall.ki.level", s_ref)?;
                if level >= ko0 {
                    return Err(PricingError::field(
                        "autocall.ki.level",
                        format!("knock-in level {level} is not below the knock-out level {ko0}"),
                    ));
                }
                let (continuous, times) = monitoring(
                    "autocall.ki.monitoring",
                    &ki.monitoring,
                    start,
                    maturity,
                    cal,
                    &future,
                )?;
                if continuous && market.spot <= level && !c.knocked_in {
                    return Err(PricingError::field(
                        "autocall.ki.level",
                        format!(
                            "spot {} is already below the knock-in level {level}: set `state.knocked_in`",
                            market.spot
                        ),
                    ));
                }
                let l = &a.loss;
                finite("autocall.loss.participation", l.participation)?;
                let k = l.strike.resolve("autocall.loss.strike", s_ref)?;
                c.after_ki = Some(Payoff {
                    legs: vec![Leg::Put {
                        k,
                        w: -l.participation / s_ref,
                    }],
                    floor: l
                        .floor
                        .map(|f| finite("autocall.loss.floor", f))
                        .transpose()?
                        .unwrap_or(f64::NEG_INFINITY),
                    cap: l
                        .cap
                        .map(|f| finite("autocall.loss.cap", f))
                        .transpose()?
                        .unwrap_or(f64::INFINITY),
                });
                c.ki = Some(KnockIn {
                    up: false,
                    level,
                    continuous,
                    times,
                });
            } else if c.knocked_in {
                return Err(PricingError::field(
                    "state.knocked_in",
                    "the product has no knock-in",
                ));
            }
            if let Some(p) = &a.phoenix {
                let barrier = p.barrier.resolve("autocall.phoenix.barrier", s_ref)?;
                finite("autocall.phoenix.coupon", p.coupon)?;
                let dates = p
                    .schedule
                    .dates("autocall.phoenix.schedule", start, maturity, cal)?;
                c.coupons = Some(Coupons {
                    obs: future(dates)
                        .into_iter()
                        .map(|t| CouponObs {
                            t,
                            barrier,
                            amount: p.coupon,
                        })
                        .collect(),
                    memory: p.memory,
                });
            }
        }

        if c.base.legs.is_empty() && c.after_ki.is_none() && c.ko.is_none() {
            return Err(PricingError::field(
                "payoff.legs",
                "the product pays nothing: give at least one leg",
            ));
        }
        if c.ko.is_some() && c.ki.is_some() && self.barrier.is_some() {
            return Err(PricingError::field("barrier", "one barrier per product"));
        }
        if let (Some(ki), Some(ko)) = (&c.ki, &c.ko)
            && let Some(first) = ko.obs.first()
            && ki.level >= first.level
        {
            return Err(PricingError::field(
                "autocall.ki.level",
                "knock-in level is not below the knock-out level",
            ));
        }
        Ok(c)
    }
}

fn compile_payoff(field: &str, p: &PayoffSpec, s_ref: f64) -> Result<Payoff> {
    let mut legs = Vec::with_capacity(p.legs.len());
    for (i, l) in p.legs.iter().enumerate() {
        let f = |name: &str| format!("{field}.legs[{i}].{name}");
        legs.push(match l {
            LegSpec::Call {
                strike,
                participation,
            } => Leg::Call {
                k: strike.resolve(&f("strike"), s_ref)?,
                w: finite(&f("participation"), *participation)? / s_ref,
            },
            LegSpec::Put {
                strike,
                participation,
            } => Leg::Put {
                k: strike.resolve(&f("strike"), s_ref)?,
                w: finite(&f("participation"), *participation)? / s_ref,
            },
            LegSpec::DigitalCall { strike, cash } => Leg::DigitalCall {
                k: strike.resolve(&f("strike"), s_ref)?,
                cash: finite(&f("cash"), *cash)?,
            },
            LegSpec::DigitalPut { strike, cash } => Leg::DigitalPut {
                k: strike.resolve(&f("strike"), s_ref)?,
                cash: finite(&f("cash"), *cash)?,
            },
            LegSpec::Forward {
                strike,
                participation,
            } => Leg::Forward {
                k: strike.resolve(&f("strike"), s_ref)?,
                w: finite(&f("participation"), *participation)? / s_ref,
            },
            LegSpec::Cash { amount } => Leg::Cash {
                amount: finite(&f("amount"), *amount)?,
            },
        });
    }
    let floor = p
        .floor
        .map(|x| finite(&format!("{field}.floor"), x))
        .transpose()?
        .unwrap_or(f64::NEG_INFINITY);
    let cap = p
        .cap
        .map(|x| finite(&format!("{field}.cap"), x))
        .transpose()?
        .unwrap_or(f64::INFINITY);
    if floor > cap {
        return Err(PricingError::field(
            format!("{field}.floor"),
            "floor is above cap",
        ));
    }
    Ok(Payoff { legs, floor, cap })
}

fn monitoring(
    field: &str,
    m: &Monitoring,
    start: Date,
    maturity: Date,
    cal: &Calendar,
    future: &dyn Fn(Vec<Date>) -> Vec<f64>,
) -> Result<(bool, Vec<f64>)> {
    let dates = match m {
        Monitoring::Named(MonitoringKind::Continuous) => return Ok((true, vec![])),
        Monitoring::Named(MonitoringKind::Daily) => {
            Schedule::every(Frequency::Daily).dates(field, start, maturity, cal)?
        }
        Monitoring::Named(MonitoringKind::AtMaturity) => vec![maturity],
        Monitoring::Schedule(s) => s.dates(field, start, maturity, cal)?,
    };
    Ok((false, future(dates)))
}

impl Contract {
    /// The first event time (fixing, observation or maturity).
    pub fn first_event(&self) -> f64 {
        let mut t = self.t_mat;
        if let Some(a) = &self.averaging {
            t = a.times.iter().copied().fold(t, f64::min);
        }
        if let Some(k) = &self.ki {
            t = k.times.iter().copied().fold(t, f64::min);
        }
        if let Some(k) = &self.ko {
            t = k.obs.iter().map(|o| o.t).fold(t, f64::min);
        }
        if let Some(c) = &self.coupons {
            t = c.obs.iter().map(|o| o.t).fold(t, f64::min);
        }
        t
    }

    /// The contract seen `dt` years later (every time shortened by `dt`, `dt` below the
    /// maturity).
    pub fn rolled(&self, dt: f64) -> Self {
        // Observations that the roll passes are dropped: the scenario assumes they did not
        // trigger (spot is set by the scenario, the state is kept).
        let mut c = self.clone();
        c.t_mat -= dt;
        if let Some(a) = &mut c.averaging {
            a.times.iter_mut().for_each(|t| *t -= dt);
            a.times.retain(|t| *t > 0.0);
        }
        if let Some(k) = &mut c.ki {
            k.times.iter_mut().for_each(|t| *t -= dt);
            k.times.retain(|t| *t > 0.0);
        }
        if let Some(k) = &mut c.ko {
            k.obs.iter_mut().for_each(|o| {
                o.t -= dt;
                o.pay_t -= dt;
            });
            k.obs.retain(|o| o.t > 0.0);
        }
        if let Some(cp) = &mut c.coupons {
            cp.obs.iter_mut().for_each(|o| o.t -= dt);
            cp.obs.retain(|o| o.t > 0.0);
        }
        c
    }

    /// The time step used for theta: one day, or half the time to the first event if sooner.
    pub fn theta_dt(&self) -> f64 {
        (1.0_f64 / 365.0).min(0.5 * self.first_event())
    }
}
