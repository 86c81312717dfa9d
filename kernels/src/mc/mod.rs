//! Monte Carlo: a contract compiled into a flat [`Program`] that the CPU loop here and the CUDA
//! kernel (`src/cuda/mc.cu`) both interpret.
//!
//! * Exact log-normal steps on a timeline that holds every event time (fixings, knock-in and
//!   knock-out observations, coupons, maturity), refined to `steps_per_year` where a barrier is
//!   continuous. Term structures enter through each step's average r, q and σ².
//! * Normals from Philox4x32-10 keyed by (seed, contract, path pair, step) ([`crate::math::Stream`]),
//!   antithetic pairs, so any path can be recomputed anywhere (CPU, GPU, another batch).
//! * Several scenarios on the same normals in one pass: spot bumps are shifts of the log path,
//!   vol and rate bumps change the step coefficients, a time shift shortens the first step.
//!   Greeks are differences between scenarios on common random numbers.
//! * Continuous barriers use the Brownian-bridge crossing probability between steps
//!   (`exp(−2(b−x₀)(b−x₁)/(σ²Δt))`) as a survival weight instead of a coin flip: smoother and
//!   unbiased to first order.
//! * The standard error is always computed, from antithetic pair averages (or across Sobol
//!   replications), and for the scenario covariance so that Greeks get errors too.

pub mod cpu;
pub mod sobol;

use crate::error::{PricingError, Result};
use crate::market::Market;
use crate::product::{Contract, Leg, Payoff};

/// Which numbers drive the paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampler {
    /// Philox4x32-10 pseudo-random normals, antithetic pairs.
    #[default]
    Philox,
    /// Sobol points with a Brownian bridge, digitally shifted by Philox for 16 independent
    /// replications (the standard error is taken across replications).
    SobolBridge,
}

/// Monte Carlo settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McConfig {
    /// Number of paths (antithetic partners counted), 2 ..= 1e9.
    pub paths: u64,
    /// Seed of the Philox key.
    pub seed: u64,
    /// Time steps per year where monitoring is continuous (default 252).
    pub steps_per_year: u32,
    /// Brownian-bridge crossing correction for continuous barriers (default on).
    pub bridge_correction: bool,
    /// Pseudo-random or Sobol + Brownian bridge.
    pub sampler: Sampler,
}

impl Default for McConfig {
    fn default() -> Self {
        Self {
            paths: 100_000,
            seed: 20_260_105,
            steps_per_year: 252,
            bridge_correction: true,
            sampler: Sampler::Philox,
        }
    }
}

impl McConfig {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.paths < 2 || self.paths > 1_000_000_000 {
            return Err(PricingError::field(
                "paths",
                format!("must be between 2 and 1e9, got {}", self.paths),
            ));
        }
        if self.steps_per_year == 0 || self.steps_per_year > 100_000 {
            return Err(PricingError::field(
                "steps_per_year",
                "must be between 1 and 100000",
            ));
        }
        Ok(())
    }

    /// Number of antithetic pairs.
    pub fn pairs(&self) -> u64 {
        self.paths.div_ceil(2)
    }
}

/// One set of market moves evaluated on the common paths.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scenario {
    /// Relative spot move (0.01 = +1%).
    pub spot_rel: f64,
    /// Absolute vol shift (0.01 = one vol point).
    pub vol_shift: f64,
    /// Absolute rate shift.
    pub rate_shift: f64,
    /// Valuation date moved forward by this many years.
    pub time_shift: f64,
}

/// Event kinds at the end of a step, processed in this order at equal times.
pub mod ev {
    /// Averaging fixing.
    pub const AVG: u32 = 0;
    /// Phoenix coupon observation.
    pub const COUPON: u32 = 1;
    /// Discrete knock-in observation.
    pub const KI: u32 = 2;
    /// Discrete knock-out observation.
    pub const KO: u32 = 3;
}

/// Leg kinds in [`Program::leg_kind`].
pub mod leg {
    /// Call.
    pub const CALL: u32 = 0;
    /// Put.
    pub const PUT: u32 = 1;
    /// Digital call.
    pub const DCALL: u32 = 2;
    /// Digital put.
    pub const DPUT: u32 = 3;
    /// Forward.
    pub const FWD: u32 = 4;
    /// Cash.
    pub const CASH: u32 = 5;
}

/// Flag bits of [`Program::flags`].
pub mod flag {
    /// There is a knock-in feature.
    pub const HAS_KI: u32 = 1;
    /// The knock-in is an up barrier.
    pub const KI_UP: u32 = 2;
    /// The knock-in is monitored continuously.
    pub const KI_CONT: u32 = 4;
    /// Already knocked in.
    pub const KNOCKED_IN: u32 = 8;
    /// There is a continuous knock-out.
    pub const HAS_CKO: u32 = 16;
    /// Knock-outs are up barriers.
    pub const KO_UP: u32 = 32;
    /// Continuous knock-out rebate paid at hit.
    pub const CKO_AT_HIT: u32 = 64;
    /// Averaging present.
    pub const HAS_AVG: u32 = 128;
    /// Geometric averaging.
    pub const GEOMETRIC: u32 = 256;
    /// Phoenix coupons with memory.
    pub const MEMORY: u32 = 512;
    /// Brownian-bridge correction on.
    pub const BRIDGE: u32 = 1024;
}

/// A contract compiled for Monte Carlo: flat arrays, log levels relative to `s_ref`.
/// The CUDA kernel reads the same arrays (see `src/cuda/mc.cu` for the layout).
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// Number of time steps.
    pub n_steps: usize,
    /// Number of scenarios.
    pub n_scen: usize,
    /// Flag bits ([`flag`]).
    pub flags: u32,
    /// Initial price that log levels refer to.
    pub s_ref: f64,
    /// Step end times (years).
    pub times: Vec<f64>,
    /// Per scenario: initial log spot `ln(S/s_ref)`.
    pub x0: Vec<f64>,
    /// Per scenario and step (`s*n_steps+j`): drift of the log spot.
    pub drift: Vec<f64>,
    /// Per scenario and step: σ√Δt.
    pub diff: Vec<f64>,
    /// Per scenario and step: 1/(σ²Δt) for the bridge (0 when σ = 0).
    pub inv_var: Vec<f64>,
    /// Per scenario and step: discount factor to the step's end (continuous rebates at hit).
    pub step_df: Vec<f64>,
    /// Events at the end of step `j` are `ev_start[j]..ev_start[j+1]`.
    pub ev_start: Vec<u32>,
    /// Event kind ([`ev`]).
    pub ev_kind: Vec<u32>,
    /// Index into the event's table.
    pub ev_idx: Vec<u32>,
    /// Per scenario and event (`s*n_ev+e`): discount factor of the event's payment.
    pub ev_df: Vec<f64>,
    /// Knock-out observation log levels.
    pub ko_log: Vec<f64>,
    /// Knock-out amounts.
    pub ko_amount: Vec<f64>,
    /// Coupon barrier log levels.
    pub cpn_log: Vec<f64>,
    /// Coupon amounts.
    pub cpn_amount: Vec<f64>,
    /// Knock-in log level.
    pub ki_log: f64,
    /// Continuous knock-out log level.
    pub cko_log: f64,
    /// Continuous knock-out rebate.
    pub cko_rebate: f64,
    /// Past fixing sum (prices, or log prices if geometric).
    pub avg_past_sum: f64,
    /// Total number of fixings (past and future).
    pub avg_n: f64,
    /// Missed phoenix coupons so far.
    pub missed0: f64,
    /// Per scenario: discount factor to maturity.
    pub df_mat: Vec<f64>,
    /// Legs of both payoffs: `[0, n_base)` base, `[n_base, ..)` after knock-in.
    pub leg_kind: Vec<u32>,
    /// Leg strikes.
    pub leg_k: Vec<f64>,
    /// Leg weights (or cash).
    pub leg_w: Vec<f64>,
    /// Number of base legs.
    pub n_base: usize,
    /// Floor and cap of base and after-knock-in payoffs: `[base_floor, base_cap, ki_floor, ki_cap]`.
    pub bounds: [f64; 4],
}

fn push_payoff(p: &Payoff, kind: &mut Vec<u32>, k: &mut Vec<f64>, w: &mut Vec<f64>) {
    for l in &p.legs {
        let (a, b, c) = match *l {
            Leg::Call { k, w } => (leg::CALL, k, w),
            Leg::Put { k, w } => (leg::PUT, k, w),
            Leg::DigitalCall { k, cash } => (leg::DCALL, k, cash),
            Leg::DigitalPut { k, cash } => (leg::DPUT, k, cash),
            Leg::Forward { k, w } => (leg::FWD, k, w),
            Leg::Cash { amount } => (leg::CASH, 0.0, amount),
        };
        kind.push(a);
        k.push(b);
        w.push(c);
    }
}

/// Builds the timeline: every event time, plus a refinement for continuous monitoring.
fn timeline(c: &Contract, cfg: &McConfig) -> Vec<f64> {
    let mut t: Vec<f64> = vec![c.t_mat];
    if let Some(a) = &c.averaging {
        t.extend(&a.times);
    }
    if let Some(ki) = &c.ki {
        t.extend(&ki.times);
    }
    if let Some(ko) = &c.ko {
        t.extend(ko.obs.iter().map(|o| o.t));
    }
    if let Some(cp) = &c.coupons {
        t.extend(cp.obs.iter().map(|o| o.t));
    }
    t.retain(|x| *x > 0.0 && *x <= c.t_mat);
    t.sort_by(f64::total_cmp);
    t.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    let continuous = c.ki.as_ref().is_some_and(|k| k.continuous && !c.knocked_in)
        || c.ko.as_ref().is_some_and(|k| k.continuous.is_some());
    if continuous {
        let max_dt = 1.0 / f64::from(cfg.steps_per_year);
        let mut out = Vec::with_capacity(t.len() * 2);
        let mut prev = 0.0;
        for &x in &t {
            let n = ((x - prev) / max_dt - 1e-9).ceil().max(1.0) as usize;
            for i in 1..n {
                out.push(prev + (x - prev) * i as f64 / n as f64);
            }
            out.push(x);
            prev = x;
        }
        t = out;
    }
    t
}

/// Whether time `x` is (numerically) in `set`.
fn index_of(times: &[f64], x: f64) -> Option<usize> {
    let i = times.partition_point(|t| *t < x - 1e-12);
    (i < times.len() && (times[i] - x).abs() < 1e-12).then_some(i)
}

impl Program {
    /// Compiles a contract for the given scenarios (the first is usually the base case).
    pub fn build(c: &Contract, m: &Market, scenarios: &[Scenario], cfg: &McConfig) -> Result<Self> {
        if c.american {
            return Err(PricingError::Unsupported {
                engine: "mc",
                what: "American exercise (use the pde engine)".into(),
            });
        }
        if m.local_vol.is_some() {
            return Err(PricingError::Unsupported {
                engine: "mc",
                what: "local volatility (use the pde engine)".into(),
            });
        }
        if scenarios.is_empty() {
            return Err(PricingError::field("scenarios", "at least one scenario"));
        }
        let times = timeline(c, cfg);
        let n = times.len();
        let ns = scenarios.len();
        // Events per step, in kind order.
        let mut per_step: Vec<Vec<(u32, u32, f64)>> = vec![Vec::new(); n];
        let mut add = |t: f64, kind: u32, idx: u32, pay_t: f64| {
            if let Some(j) = index_of(&times, t) {
                per_step[j].push((kind, idx, pay_t));
            }
        };
        let mut ko_log = vec![];
        let mut ko_amount = vec![];
        let mut cpn_log = vec![];
        let mut cpn_amount = vec![];
        if let Some(a) = &c.averaging {
            for &t in &a.times {
                add(t, ev::AVG, 0, c.t_mat);
            }
        }
        if let Some(cp) = &c.coupons {
            for o in &cp.obs {
                add(o.t, ev::COUPON, cpn_log.len() as u32, o.t);
                cpn_log.push((o.barrier / c.s_ref).ln());
                cpn_amount.push(o.amount);
            }
        }
        if let Some(ki) = &c.ki
            && !ki.continuous
        {
            for &t in &ki.times {
                add(t, ev::KI, 0, c.t_mat);
            }
        }
        if let Some(ko) = &c.ko {
            for o in &ko.obs {
                add(o.t, ev::KO, ko_log.len() as u32, o.pay_t);
                ko_log.push((o.level / c.s_ref).ln());
                ko_amount.push(o.amount);
            }
        }
        let mut ev_start = Vec::with_capacity(n + 1);
        let mut ev_kind = vec![];
        let mut ev_idx = vec![];
        let mut ev_pay = vec![];
        for evs in &mut per_step {
            evs.sort_by_key(|e| e.0);
            ev_start.push(ev_kind.len() as u32);
            for &(k, i, p) in evs.iter() {
                ev_kind.push(k);
                ev_idx.push(i);
                ev_pay.push(p);
            }
        }
        ev_start.push(ev_kind.len() as u32);
        let n_ev = ev_kind.len();

        let mut x0 = Vec::with_capacity(ns);
        let mut drift = vec![0.0; ns * n];
        let mut diff = vec![0.0; ns * n];
        let mut inv_var = vec![0.0; ns * n];
        let mut step_df = vec![0.0; ns * n];
        let mut ev_df = vec![0.0; ns * n_ev];
        let mut df_mat = Vec::with_capacity(ns);
        for (s, sc) in scenarios.iter().enumerate() {
            let mk = m
                .with_vol_shift(sc.vol_shift)
                .with_rate_shift(sc.rate_shift);
            mk.validate()
                .map_err(|e| crate::market::prefix(e, "scenario"))?;
            let spot = m.spot * (1.0 + sc.spot_rel);
            if spot <= 0.0 {
                return Err(PricingError::field(
                    "scenario.spot_rel",
                    "moves spot to ≤ 0",
                ));
            }
            let d = sc.time_shift;
            if d > 0.0 && d >= times[0] {
                return Err(PricingError::field(
                    "scenario.time_shift",
                    "passes the first event",
                ));
            }
            x0.push((spot / c.s_ref).ln());
            let mut prev = 0.0;
            for j in 0..n {
                let t1 = times[j] - d;
                let dt = t1 - prev;
                let (r, q, v) = mk.step(prev, t1);
                drift[s * n + j] = (r - q - 0.5 * v) * dt;
                diff[s * n + j] = (v * dt).sqrt();
                inv_var[s * n + j] = if v * dt > 0.0 { 1.0 / (v * dt) } else { 0.0 };
                step_df[s * n + j] = mk.df(t1);
                prev = t1;
            }
            for e in 0..n_ev {
                ev_df[s * n_ev + e] = mk.df(ev_pay[e] - d);
            }
            df_mat.push(mk.df(c.t_mat - d));
        }

        let mut flags = 0;
        if cfg.bridge_correction {
            flags |= flag::BRIDGE;
        }
        let mut ki_log = 0.0;
        if let Some(ki) = &c.ki {
            flags |= flag::HAS_KI;
            if ki.up {
                flags |= flag::KI_UP;
            }
            if ki.continuous {
                flags |= flag::KI_CONT;
            }
            ki_log = (ki.level / c.s_ref).ln();
        }
        if c.knocked_in {
            flags |= flag::KNOCKED_IN;
        }
        let (mut cko_log, mut cko_rebate) = (0.0, 0.0);
        if let Some(ko) = &c.ko {
            if ko.up {
                flags |= flag::KO_UP;
            }
            if let Some(ck) = &ko.continuous {
                flags |= flag::HAS_CKO;
                if ck.at_hit {
                    flags |= flag::CKO_AT_HIT;
                }
                cko_log = (ck.level / c.s_ref).ln();
                cko_rebate = ck.rebate;
            }
        }
        let (mut avg_past_sum, mut avg_n) = (0.0, 0.0);
        if let Some(a) = &c.averaging {
            flags |= flag::HAS_AVG;
            if a.geometric {
                flags |= flag::GEOMETRIC;
            }
            avg_past_sum = a.past_sum;
            avg_n = a.times.len() as f64 + f64::from(a.past_count);
        }
        if c.coupons.as_ref().is_some_and(|c| c.memory) {
            flags |= flag::MEMORY;
        }
        let (mut leg_kind, mut leg_k, mut leg_w) = (vec![], vec![], vec![]);
        push_payoff(&c.base, &mut leg_kind, &mut leg_k, &mut leg_w);
        let n_base = leg_kind.len();
        let ki_pay = c.after_ki.clone().unwrap_or_else(|| c.base.clone());
        push_payoff(&ki_pay, &mut leg_kind, &mut leg_k, &mut leg_w);
        Ok(Self {
            n_steps: n,
            n_scen: ns,
            flags,
            s_ref: c.s_ref,
            times,
            x0,
            drift,
            diff,
            inv_var,
            step_df,
            ev_start,
            ev_kind,
            ev_idx,
            ev_df,
            ko_log,
            ko_amount,
            cpn_log,
            cpn_amount,
            ki_log,
            cko_log,
            cko_rebate,
            avg_past_sum,
            avg_n,
            missed0: f64::from(c.missed_coupons),
            df_mat,
            leg_kind,
            leg_k,
            leg_w,
            n_base,
            bounds: [c.base.floor, c.base.cap, ki_pay.floor, ki_pay.cap],
        })
    }

    /// Payoff `which` (0 base, 1 after knock-in) at underlying value `u`.
    #[inline]
    pub fn payoff(&self, which: usize, u: f64) -> f64 {
        let (lo, hi) = if which == 0 {
            (0, self.n_base)
        } else {
            (self.n_base, self.leg_kind.len())
        };
        let mut v = 0.0;
        for i in lo..hi {
            let (k, w) = (self.leg_k[i], self.leg_w[i]);
            v += match self.leg_kind[i] {
                leg::CALL => w * (u - k).max(0.0),
                leg::PUT => w * (k - u).max(0.0),
                leg::DCALL => {
                    if u > k {
                        w
                    } else {
                        0.0
                    }
                }
                leg::DPUT => {
                    if u < k {
                        w
                    } else {
                        0.0
                    }
                }
                leg::FWD => w * (u - k),
                _ => w,
            };
        }
        v.max(self.bounds[2 * which])
            .min(self.bounds[2 * which + 1])
    }
}

/// Raw Monte Carlo output, per unit notional, before the contract's scale.
#[derive(Debug, Clone, PartialEq)]
pub struct McOutput {
    /// Paths simulated.
    pub paths: u64,
    /// Mean discounted payoff per scenario.
    pub mean: Vec<f64>,
    /// Covariance of the per-sample estimates between scenarios (`n_scen²`), divided by the
    /// number of independent samples: the covariance of the means.
    pub cov_of_mean: Vec<f64>,
}

impl McOutput {
    /// Standard error of scenario `s`'s mean.
    pub fn se(&self, s: usize) -> f64 {
        let n = self.mean.len();
        self.cov_of_mean[s * n + s].max(0.0).sqrt()
    }

    /// Value and standard error of a linear combination `Σ w_s · mean_s`.
    pub fn combo(&self, w: &[(usize, f64)]) -> (f64, f64) {
        let n = self.mean.len();
        let v = w.iter().map(|(s, a)| a * self.mean[*s]).sum();
        let mut var = 0.0;
        for (s1, a1) in w {
            for (s2, a2) in w {
                var += a1 * a2 * self.cov_of_mean[s1 * n + s2];
            }
        }
        (v, var.max(0.0).sqrt())
    }

    /// Builds the output from sums over `n` independent samples.
    pub fn from_sums(paths: u64, n: f64, sum: &[f64], sum_xy: &[f64]) -> Self {
        let k = sum.len();
        let mean: Vec<f64> = sum.iter().map(|x| x / n).collect();
        let mut cov = vec![0.0; k * k];
        if n > 1.0 {
            for a in 0..k {
                for b in 0..k {
                    cov[a * k + b] =
                        (sum_xy[a * k + b] / n - mean[a] * mean[b]) * n / (n - 1.0) / n;
                }
            }
        }
        Self {
            paths,
            mean,
            cov_of_mean: cov,
        }
    }
}

impl Program {
    /// Packs the program for the GPU: a `u32` buffer (header `[n_steps, n_scen, flags, n_ev,
    /// n_base, n_legs, n_ko, n_cpn]`, then `ev_start`, `ev_kind`, `ev_idx`, `leg_kind`) and an
    /// `f64` buffer (`s_ref, ki_log, cko_log, cko_rebate, avg_past_sum, avg_n, missed0,
    /// bounds[4]`, then `x0, drift, diff, inv_var, step_df, ev_df, df_mat, ko_log, ko_amount,
    /// cpn_log, cpn_amount, leg_k, leg_w`). `src/cuda/mc.cu` reads exactly this layout.
    pub fn pack(&self) -> (Vec<u32>, Vec<f64>) {
        let mut u = vec![
            self.n_steps as u32,
            self.n_scen as u32,
            self.flags,
            self.ev_kind.len() as u32,
            self.n_base as u32,
            self.leg_kind.len() as u32,
            self.ko_log.len() as u32,
            self.cpn_log.len() as u32,
        ];
        u.extend(&self.ev_start);
        u.extend(&self.ev_kind);
        u.extend(&self.ev_idx);
        u.extend(&self.leg_kind);
        let mut f = vec![
            self.s_ref,
            self.ki_log,
            self.cko_log,
            self.cko_rebate,
            self.avg_past_sum,
            self.avg_n,
            self.missed0,
        ];
        f.extend(self.bounds);
        for v in [
            &self.x0,
            &self.drift,
            &self.diff,
            &self.inv_var,
            &self.step_df,
            &self.ev_df,
            &self.df_mat,
            &self.ko_log,
            &self.ko_amount,
            &self.cpn_log,
            &self.cpn_amount,
            &self.leg_k,
            &self.leg_w,
        ] {
            f.extend(v);
        }
        (u, f)
    }
}
