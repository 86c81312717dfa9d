//! Finite differences: Crank–Nicolson in `x = ln S` on a non-uniform grid, backward in time.
//!
//! * Grid: ±`n_sd` standard deviations around spot, cut exactly at continuous knock-out
//!   barriers; nodes concentrated (by equidistributing a density with peaks) at spot, strikes
//!   and every barrier level; spot and continuous barriers sit exactly on nodes.
//! * Time: every event time (knock-out, knock-in and coupon observations, maturity) is a time
//!   level; Rannacher start-up (implicit Euler half steps) after maturity and after every
//!   knock-out or coupon date, where the solution has fresh discontinuities.
//! * Payoffs and discrete events are cell-averaged (the fraction of each node's cell beyond a
//!   level), which restores second-order convergence with discontinuities.
//! * State: one grid per (knocked-in?, missed coupons) pair — the knocked-in / not-knocked-in
//!   pair of a snowball, times the memory states of a phoenix. Continuous knock-in makes the
//!   not-knocked-in grid equal the knocked-in grid beyond the barrier at every step (Dirichlet
//!   rows); discrete knock-in copies it on observation dates.
//! * American exercise by Brennan–Schwartz (exact projection inside the tridiagonal solve).
//! * Greeks from the grid: delta and gamma from the spot node's stencil, theta from the time
//!   level one day in; vega and rho by re-solving with bumped market data.

// Index loops over several parallel arrays read more clearly than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use crate::error::{PricingError, Result};
use crate::market::Market;
use crate::product::{Contract, Payoff};

/// PDE settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PdeConfig {
    /// Space nodes (default 500).
    pub space_nodes: usize,
    /// Time steps per year (default 730, two per calendar day).
    pub steps_per_year: usize,
    /// Implicit-Euler substeps (each as two half steps) after each restart (default 2).
    pub rannacher_steps: usize,
    /// Domain half-width in standard deviations (default 6).
    pub n_sd: f64,
    /// Node concentration strength at critical levels (default 6, 0 = uniform in ln S).
    pub concentration: f64,
}

impl Default for PdeConfig {
    fn default() -> Self {
        Self {
            space_nodes: 500,
            steps_per_year: 730,
            rannacher_steps: 2,
            n_sd: 6.0,
            concentration: 6.0,
        }
    }
}

impl PdeConfig {
    /// A fine grid for validation.
    pub fn fine() -> Self {
        Self {
            space_nodes: 3000,
            steps_per_year: 3000,
            ..Self::default()
        }
    }

    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if !(20..=200_000).contains(&self.space_nodes) {
            return Err(PricingError::field(
                "space_nodes",
                "must be between 20 and 200000",
            ));
        }
        if !(1..=1_000_000).contains(&self.steps_per_year) {
            return Err(PricingError::field(
                "steps_per_year",
                "must be between 1 and 1e6",
            ));
        }
        if !(self.n_sd > 1.0 && self.n_sd < 50.0) {
            return Err(PricingError::field("n_sd", "must be between 1 and 50"));
        }
        if !(0.0..=1000.0).contains(&self.concentration) {
            return Err(PricingError::field(
                "concentration",
                "must be between 0 and 1000",
            ));
        }
        Ok(())
    }
}

/// Output of one PDE solve, per unit notional.
#[derive(Debug, Clone, PartialEq)]
pub struct PdeOutput {
    /// Value at spot.
    pub value: f64,
    /// ∂V/∂S at spot.
    pub delta: f64,
    /// ∂²V/∂S² at spot.
    pub gamma: f64,
    /// Value one day (or the `theta_dt` used) later at the same spot.
    pub value_later: f64,
    /// The time step used for theta (years).
    pub theta_dt: f64,
    /// Node spots.
    pub spots: Vec<f64>,
    /// Values at every node at time 0 (the state the contract is in).
    pub values: Vec<f64>,
    /// Space nodes and time steps used.
    pub grid: (usize, usize),
}

impl PdeOutput {
    /// Value at any spot inside the grid (cubic Lagrange on the nearest four nodes).
    pub fn value_at(&self, s: f64) -> Option<f64> {
        let x = s.ln();
        let n = self.spots.len();
        let xs: Vec<f64> = self.spots.iter().map(|v| v.ln()).collect();
        if x < xs[0] - 1e-12 || x > xs[n - 1] + 1e-12 {
            return None;
        }
        let i = xs.partition_point(|v| *v < x).clamp(2, n - 2) - 2;
        let mut v = 0.0;
        for a in i..(i + 4).min(n) {
            let mut w = 1.0;
            for b in i..(i + 4).min(n) {
                if a != b {
                    w *= (x - xs[b]) / (xs[a] - xs[b]);
                }
            }
            v += w * self.values[a];
        }
        Some(v)
    }

    /// Delta and gamma at any node `i` (interior).
    pub fn delta_gamma_at(&self, s: f64) -> Option<(f64, f64)> {
        let n = self.spots.len();
        let x = s.ln();
        let xs: Vec<f64> = self.spots.iter().map(|v| v.ln()).collect();
        let i = xs.partition_point(|v| *v < x);
        if i == 0 || i >= n - 1 {
            return None;
        }
        let i = if (xs[i] - x).abs() < (x - xs[i - 1]).abs() {
            i
        } else {
            i - 1
        }
        .clamp(1, n - 2);
        let (vx, vxx) = derivs(&xs, &self.values, i);
        let si = self.spots[i];
        Some((vx / si, (vxx - vx) / (si * si)))
    }
}

fn unsupported(what: &str) -> PricingError {
    PricingError::Unsupported {
        engine: "pde",
        what: what.into(),
    }
}

/// First and second x-derivatives at node `i` from the non-uniform three-point stencil.
fn derivs(x: &[f64], v: &[f64], i: usize) -> (f64, f64) {
    let hm = x[i] - x[i - 1];
    let hp = x[i + 1] - x[i];
    let d1 = -hp / (hm * (hm + hp)) * v[i - 1]
        + (hp - hm) / (hm * hp) * v[i]
        + hm / (hp * (hm + hp)) * v[i + 1];
    let d2 = 2.0 * (v[i - 1] / (hm * (hm + hp)) - v[i] / (hm * hp) + v[i + 1] / (hp * (hm + hp)));
    (d1, d2)
}

/// Builds `n` nodes on [lo, hi] concentrated at `centres`, then snaps `snaps` onto nodes.
fn make_grid(
    lo: f64,
    hi: f64,
    n: usize,
    centres: &[f64],
    snaps: &[f64],
    strength: f64,
    width: f64,
) -> Vec<f64> {
    let fine = 40 * n;
    let h = (hi - lo) / fine as f64;
    let dens = |x: f64| {
        1.0 + centres
            .iter()
            .map(|c| strength / (1.0 + ((x - c) / width).powi(2)).sqrt())
            .sum::<f64>()
    };
    let mut cum = Vec::with_capacity(fine + 1);
    cum.push(0.0);
    for k in 0..fine {
        let xm = lo + (k as f64 + 0.5) * h;
        cum.push(cum[k] + dens(xm) * h);
    }
    let total = cum[fine];
    let mut nodes = Vec::with_capacity(n);
    let mut k = 0;
    for i in 0..n {
        let target = total * i as f64 / (n - 1) as f64;
        while k < fine && cum[k + 1] < target {
            k += 1;
        }
        let frac = if k < fine {
            (target - cum[k]) / (cum[k + 1] - cum[k])
        } else {
            0.0
        };
        nodes.push((lo + (k as f64 + frac) * h).min(hi));
    }
    nodes[0] = lo;
    nodes[n - 1] = hi;
    let mut used = vec![false; n];
    used[0] = true;
    used[n - 1] = true;
    for &s in snaps {
        if s <= lo || s >= hi {
            continue;
        }
        let i = nodes.partition_point(|v| *v < s).clamp(1, n - 1);
        let j = if (nodes[i] - s).abs() < (s - nodes[i - 1]).abs() {
            i
        } else {
            i - 1
        };
        if !used[j] {
            nodes[j] = s;
            used[j] = true;
        }
    }
    nodes
}

/// Fractions of each node's cell above level `ln_l`.
fn frac_above(cells: &[(f64, f64)], ln_l: f64) -> Vec<f64> {
    cells
        .iter()
        .map(|&(a, b)| ((b - ln_l) / (b - a)).clamp(0.0, 1.0))
        .collect()
}

const SUB: usize = 16;

/// Cell average of a payoff over each node's cell (midpoint rule in x).
fn cell_average(p: &Payoff, cells: &[(f64, f64)]) -> Vec<f64> {
    cells
        .iter()
        .map(|&(a, b)| {
            if b - a <= 0.0 {
                return p.eval(a.exp());
            }
            (0..SUB)
                .map(|k| p.eval((a + (b - a) * (k as f64 + 0.5) / SUB as f64).exp()))
                .sum::<f64>()
                / SUB as f64
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Event {
    Ko(usize),
    Ki,
    Coupon(usize),
}

/// Prices a contract by PDE.
pub fn solve(c: &Contract, m: &Market, cfg: &PdeConfig, want_theta: bool) -> Result<PdeOutput> {
    cfg.validate()?;
    m.validate()?;
    if c.averaging.is_some() {
        return Err(unsupported("averaging (use the mc engine)"));
    }
    let t_mat = c.t_mat;
    let sd = m.variance(t_mat).max(1e-8).sqrt().max(0.05 * t_mat.sqrt());
    let x0 = m.spot.ln();
    let mut lo = x0 - cfg.n_sd * sd;
    let mut hi = x0 + cfg.n_sd * sd;
    let mut centres = vec![x0];
    let mut levels: Vec<f64> = c.base.strikes();
    if let Some(p) = &c.after_ki {
        levels.extend(p.strikes());
    }
    if let Some(ki) = &c.ki {
        levels.push(ki.level);
    }
    if let Some(ko) = &c.ko {
        levels.extend(ko.obs.iter().map(|o| o.level));
    }
    if let Some(cp) = &c.coupons {
        levels.extend(cp.obs.iter().map(|o| o.barrier));
    }
    for l in &levels {
        let lx = l.ln();
        centres.push(lx);
        lo = lo.min(lx - 1.5 * sd);
        hi = hi.max(lx + 1.5 * sd);
    }
    let mut snaps = vec![x0];
    let cko =
        c.ko.as_ref()
            .and_then(|k| k.continuous.map(|cc| (k.up, cc)));
    if let Some((up, cc)) = cko {
        let lb = cc.level.ln();
        if up {
            hi = lb;
        } else {
            lo = lb;
        }
        centres.push(lb);
    }
    let ki_cont = c.ki.as_ref().is_some_and(|k| k.continuous) && !c.knocked_in;
    if let Some(ki) = &c.ki
        && ki.continuous
    {
        snaps.push(ki.level.ln());
        centres.push(ki.level.ln());
        if ki.up {
            hi = hi.max(ki.level.ln() + 2.0 * sd);
        } else {
            lo = lo.min(ki.level.ln() - 2.0 * sd);
        }
    }
    if !(lo < x0 && x0 < hi) {
        return Err(PricingError::field(
            "market.spot",
            "spot is outside the live region of the contract",
        ));
    }
    let n = cfg.space_nodes;
    let xs = make_grid(lo, hi, n, &centres, &snaps, cfg.concentration, 0.15 * sd);
    let spots: Vec<f64> = xs.iter().map(|x| x.exp()).collect();
    let cells: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = if i == 0 {
                xs[0]
            } else {
                0.5 * (xs[i - 1] + xs[i])
            };
            let b = if i == n - 1 {
                xs[n - 1]
            } else {
                0.5 * (xs[i] + xs[i + 1])
            };
            (a, b)
        })
        .collect();
    let i0 = xs
        .iter()
        .position(|x| (*x - x0).abs() < 1e-12)
        .unwrap_or_else(|| xs.partition_point(|v| *v < x0));

    // States: (knocked-in?, missed coupons).
    let has_ki = c.ki.is_some();
    let n_ki = if has_ki { 2 } else { 1 };
    let memory = c.coupons.as_ref().is_some_and(|cp| cp.memory);
    let n_mem = if memory {
        c.coupons.as_ref().map_or(0, |cp| cp.obs.len()) + c.missed_coupons as usize + 1
    } else {
        1
    };
    if n_ki * n_mem > 512 {
        return Err(unsupported("more than 512 memory states"));
    }
    let g_of = |ki: usize, mm: usize| ki * n_mem + mm.min(n_mem - 1);
    let ng = n_ki * n_mem;

    // Terminal values.
    let base = cell_average(&c.base, &cells);
    let after = c.after_ki.as_ref().map(|p| cell_average(p, &cells));
    let mut v: Vec<Vec<f64>> = (0..ng)
        .map(|g| {
            if g / n_mem == 1 {
                after.clone().unwrap_or_else(|| base.clone())
            } else {
                base.clone()
            }
        })
        .collect();
    let exercise = if c.american {
        Some(cell_average(&c.base, &cells))
    } else {
        None
    };

    // Event schedule.
    let mut events: Vec<(f64, Event)> = Vec::new();
    if let Some(ko) = &c.ko {
        events.extend(ko.obs.iter().enumerate().map(|(i, o)| (o.t, Event::Ko(i))));
    }
    if let Some(ki) = &c.ki
        && !ki.continuous
    {
        events.extend(ki.times.iter().map(|t| (*t, Event::Ki)));
    }
    if let Some(cp) = &c.coupons {
        events.extend(
            cp.obs
                .iter()
                .enumerate()
                .map(|(i, o)| (o.t, Event::Coupon(i))),
        );
    }
    // Backward order at equal times: KO first, then KI, then coupons.
    let rank = |e: &Event| match e {
        Event::Ko(_) => 0,
        Event::Ki => 1,
        Event::Coupon(_) => 2,
    };
    events.sort_by(|a, b| b.0.total_cmp(&a.0).then(rank(&a.1).cmp(&rank(&b.1))));
    let first_event = events.iter().map(|e| e.0).fold(t_mat, f64::min);
    let theta_dt = (1.0_f64 / 365.0).min(0.5 * first_event);
    let mut stops: Vec<f64> = events
        .iter()
        .map(|e| e.0)
        .filter(|t| *t < t_mat - 1e-12)
        .collect();
    stops.push(0.0);
    if want_theta {
        stops.push(theta_dt);
    }
    stops.sort_by(|a, b| b.total_cmp(a));
    stops.dedup_by(|a, b| (*a - *b).abs() < 1e-12);

    let mut ev_i = 0;
    let mut t = t_mat;
    let mut restart = true;
    let mut steps_done = 0;
    let mut value_later = f64::NAN;
    let mut sys = Tridiag::new(n);
    // Apply the events at maturity.
    apply_events(
        c,
        m,
        &events,
        &mut ev_i,
        t,
        &mut v,
        &cells,
        &xs,
        n_mem,
        &g_of,
        &mut restart,
    );
    for &stop in &stops {
        let len = t - stop;
        if len <= 1e-14 {
            continue;
        }
        let k = ((len * cfg.steps_per_year as f64).round() as usize).max(1);
        let dt = len / k as f64;
        for s in 0..k {
            let t1 = t - dt;
            if restart && s < cfg.rannacher_steps {
                step(
                    c,
                    m,
                    &xs,
                    &spots,
                    &mut v,
                    &mut sys,
                    t1 + 0.5 * dt,
                    t,
                    1.0,
                    cko,
                    ki_cont,
                    n_mem,
                    exercise.as_deref(),
                    t_mat,
                );
                step(
                    c,
                    m,
                    &xs,
                    &spots,
                    &mut v,
                    &mut sys,
                    t1,
                    t1 + 0.5 * dt,
                    1.0,
                    cko,
                    ki_cont,
                    n_mem,
                    exercise.as_deref(),
                    t_mat,
                );
            } else {
                step(
                    c,
                    m,
                    &xs,
                    &spots,
                    &mut v,
                    &mut sys,
                    t1,
                    t,
                    0.5,
                    cko,
                    ki_cont,
                    n_mem,
                    exercise.as_deref(),
                    t_mat,
                );
            }
            t = if s + 1 == k { stop } else { t1 };
            steps_done += 1;
        }
        restart = false;
        if want_theta && (stop - theta_dt).abs() < 1e-12 {
            value_later = v[g_of(
                usize::from(c.knocked_in && has_ki),
                c.missed_coupons as usize,
            )][i0];
        }
        apply_events(
            c,
            m,
            &events,
            &mut ev_i,
            stop,
            &mut v,
            &cells,
            &xs,
            n_mem,
            &g_of,
            &mut restart,
        );
    }
    let g0 = g_of(
        usize::from(c.knocked_in && has_ki),
        c.missed_coupons as usize,
    );
    let values = v[g0].clone();
    let value = values[i0];
    let (delta, gamma) = if i0 > 0 && i0 < n - 1 {
        let (vx, vxx) = derivs(&xs, &values, i0);
        (vx / spots[i0], (vxx - vx) / (spots[i0] * spots[i0]))
    } else {
        (f64::NAN, f64::NAN)
    };
    if !value.is_finite() {
        return Err(PricingError::NonFinite {
            engine: "pde",
            what: "value",
        });
    }
    Ok(PdeOutput {
        value,
        delta,
        gamma,
        value_later: if want_theta { value_later } else { value },
        theta_dt,
        spots,
        values,
        grid: (n, steps_done),
    })
}

#[allow(clippy::too_many_arguments)]
fn apply_events(
    c: &Contract,
    m: &Market,
    events: &[(f64, Event)],
    ev_i: &mut usize,
    t: f64,
    v: &mut [Vec<f64>],
    cells: &[(f64, f64)],
    xs: &[f64],
    n_mem: usize,
    g_of: &dyn Fn(usize, usize) -> usize,
    restart: &mut bool,
) {
    let ng = v.len();
    let n = xs.len();
    while *ev_i < events.len() && (events[*ev_i].0 - t).abs() < 1e-12 {
        match events[*ev_i].1 {
            Event::Ko(k) => {
                let Some(ko) = &c.ko else { break };
                let o = ko.obs[k];
                let pay = o.amount * m.df(o.pay_t) / m.df(o.t);
                let f = frac_above(cells, o.level.ln());
                for g in v.iter_mut() {
                    for i in 0..n {
                        let w = if ko.up { f[i] } else { 1.0 - f[i] };
                        g[i] = w * pay + (1.0 - w) * g[i];
                    }
                }
                *restart = true;
            }
            Event::Ki => {
                let Some(ki) = &c.ki else { break };
                let f = frac_above(cells, ki.level.ln());
                for mm in 0..n_mem {
                    let (a, b) = (g_of(0, mm), g_of(1, mm));
                    for i in 0..n {
                        let w = if ki.up { f[i] } else { 1.0 - f[i] };
                        v[a][i] = w * v[b][i] + (1.0 - w) * v[a][i];
                    }
                }
            }
            Event::Coupon(k) => {
                let Some(cp) = &c.coupons else { break };
                let o = cp.obs[k];
                let f = frac_above(cells, o.barrier.ln());
                let old: Vec<Vec<f64>> = v.to_vec();
                for g in 0..ng {
                    let (ki, mm) = (g / n_mem, g % n_mem);
                    let paid = o.amount * if cp.memory { 1.0 + mm as f64 } else { 1.0 };
                    let after_pay = &old[g_of(ki, 0)];
                    let after_miss = &old[g_of(ki, if cp.memory { mm + 1 } else { 0 })];
                    for i in 0..n {
                        v[g][i] = f[i] * (paid + after_pay[i]) + (1.0 - f[i]) * after_miss[i];
                    }
                }
                *restart = true;
            }
        }
        *ev_i += 1;
    }
}

struct Tridiag {
    l: Vec<f64>,
    d: Vec<f64>,
    u: Vec<f64>,
    rhs: Vec<f64>,
    cp: Vec<f64>,
    dp: Vec<f64>,
    // Operator coefficients.
    ol: Vec<f64>,
    oc: Vec<f64>,
    ou: Vec<f64>,
}

impl Tridiag {
    fn new(n: usize) -> Self {
        Self {
            l: vec![0.0; n],
            d: vec![0.0; n],
            u: vec![0.0; n],
            rhs: vec![0.0; n],
            cp: vec![0.0; n],
            dp: vec![0.0; n],
            ol: vec![0.0; n],
            oc: vec![0.0; n],
            ou: vec![0.0; n],
        }
    }

    /// Thomas algorithm into `out`.
    fn solve(&mut self, out: &mut [f64]) {
        let n = self.d.len();
        self.cp[0] = self.u[0] / self.d[0];
        self.dp[0] = self.rhs[0] / self.d[0];
        for i in 1..n {
            let den = self.d[i] - self.l[i] * self.cp[i - 1];
            self.cp[i] = self.u[i] / den;
            self.dp[i] = (self.rhs[i] - self.l[i] * self.dp[i - 1]) / den;
        }
        out[n - 1] = self.dp[n - 1];
        for i in (0..n - 1).rev() {
            out[i] = self.dp[i] - self.cp[i] * out[i + 1];
        }
    }

    /// Brennan–Schwartz: the linear complementarity solve with `out ≥ ex`, exercise region at
    /// the low end (`low = true`, put-like) or the high end.
    fn solve_american(&mut self, out: &mut [f64], ex: &[f64], low: bool) {
        let n = self.d.len();
        if low {
            // Eliminate from the top down, substitute upward with projection.
            self.cp[n - 1] = self.l[n - 1] / self.d[n - 1];
            self.dp[n - 1] = self.rhs[n - 1] / self.d[n - 1];
            for i in (0..n - 1).rev() {
                let den = self.d[i] - self.u[i] * self.cp[i + 1];
                self.cp[i] = self.l[i] / den;
                self.dp[i] = (self.rhs[i] - self.u[i] * self.dp[i + 1]) / den;
            }
            out[0] = self.dp[0].max(ex[0]);
            for i in 1..n {
                out[i] = (self.dp[i] - self.cp[i] * out[i - 1]).max(ex[i]);
            }
        } else {
            self.solve(out);
            // Forward elimination then projected back substitution.
            out[n - 1] = self.dp[n - 1].max(ex[n - 1]);
            for i in (0..n - 1).rev() {
                out[i] = (self.dp[i] - self.cp[i] * out[i + 1]).max(ex[i]);
            }
        }
    }
}

/// One θ-scheme step from `t_hi` back to `t_lo` on every grid.
#[allow(clippy::too_many_arguments)]
fn step(
    c: &Contract,
    m: &Market,
    xs: &[f64],
    spots: &[f64],
    v: &mut [Vec<f64>],
    sys: &mut Tridiag,
    t_lo: f64,
    t_hi: f64,
    theta: f64,
    cko: Option<(bool, crate::product::ContinuousKo)>,
    ki_cont: bool,
    n_mem: usize,
    exercise: Option<&[f64]>,
    t_mat: f64,
) {
    let n = xs.len();
    let dt = t_hi - t_lo;
    let (r, q, var) = m.step(t_lo, t_hi);
    let local = m.local_vol.is_some();
    let tm = 0.5 * (t_lo + t_hi);
    for i in 0..n {
        let a = if local {
            let s = m.local_vol_at(tm, spots[i], t_hi);
            0.5 * s * s
        } else {
            0.5 * var
        };
        let mu = r - q - a;
        if i == 0 || i == n - 1 {
            let h = if i == 0 {
                xs[1] - xs[0]
            } else {
                xs[n - 1] - xs[n - 2]
            };
            let g = (r - q) / h;
            if i == 0 {
                (sys.ol[i], sys.oc[i], sys.ou[i]) = (0.0, -g - r, g);
            } else {
                (sys.ol[i], sys.oc[i], sys.ou[i]) = (-g, g - r, 0.0);
            }
            continue;
        }
        let hm = xs[i] - xs[i - 1];
        let hp = xs[i + 1] - xs[i];
        let s = hm + hp;
        sys.ol[i] = a * 2.0 / (hm * s) - mu * hp / (hm * s);
        sys.oc[i] = -a * 2.0 / (hm * hp) + mu * (hp - hm) / (hm * hp) - r;
        sys.ou[i] = a * 2.0 / (hp * s) + mu * hm / (hp * s);
    }
    // Dirichlet values of a continuous knock-out at the cut boundary.
    let ko_bc = cko.map(|(up, cc)| {
        let val = if cc.at_hit {
            cc.rebate
        } else {
            cc.rebate * m.df(t_mat) / m.df(t_lo)
        };
        (if up { n - 1 } else { 0 }, val)
    });
    let ki = c.ki.as_ref();
    let order: Vec<usize> = if n_mem * 2 == v.len() && ki.is_some() {
        // Knocked-in grids first: the not-knocked-in grids' continuous barrier needs them.
        (n_mem..2 * n_mem).chain(0..n_mem).collect()
    } else {
        (0..v.len()).collect()
    };
    for g in order {
        let old = std::mem::take(&mut v[g]);
        for i in 0..n {
            let lv = if i > 0 { old[i - 1] } else { 0.0 };
            let uv = if i < n - 1 { old[i + 1] } else { 0.0 };
            let e = (1.0 - theta) * dt;
            sys.rhs[i] = old[i] + e * (sys.ol[i] * lv + sys.oc[i] * old[i] + sys.ou[i] * uv);
            sys.l[i] = -theta * dt * sys.ol[i];
            sys.d[i] = 1.0 - theta * dt * sys.oc[i];
            sys.u[i] = -theta * dt * sys.ou[i];
        }
        if let Some((i, val)) = ko_bc {
            (sys.l[i], sys.d[i], sys.u[i], sys.rhs[i]) = (0.0, 1.0, 0.0, val);
        }
        if ki_cont
            && g < n_mem
            && let Some(ki) = ki
        {
            let lb = ki.level.ln() + if ki.up { -1e-12 } else { 1e-12 };
            let src = g + n_mem;
            for i in 0..n {
                if (ki.up && xs[i] >= lb) || (!ki.up && xs[i] <= lb) {
                    (sys.l[i], sys.d[i], sys.u[i], sys.rhs[i]) = (0.0, 1.0, 0.0, v[src][i]);
                }
            }
        }
        let mut new = old;
        match exercise {
            Some(ex) => {
                let low = ex[0] > ex[n - 1];
                sys.solve_american(&mut new, ex, low);
            }
            None => sys.solve(&mut new),
        }
        v[g] = new;
    }
}
