//! The CPU Monte Carlo engine: rayon over chunks of path pairs, f64, no allocation per path.
//!
//! Each chunk owns a small workspace (one state per scenario and antithetic sign) reused for
//! every path of the chunk; partial sums come back in chunk order and are added sequentially,
//! so results do not depend on the number of threads.

// Index loops over several parallel arrays read more clearly than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use rayon::prelude::*;

use super::sobol::SobolBridge;
use super::{McConfig, McOutput, Program, Sampler, ev, flag};
use crate::math::Stream;

/// Path pairs per rayon task.
const CHUNK: u64 = 512;

/// Up to this many scenarios the full covariance is accumulated (Greeks' standard errors).
const FULL_COV_MAX: usize = 16;

struct Work {
    x: Vec<f64>,
    alive: Vec<bool>,
    ki: Vec<bool>,
    q_ki: Vec<f64>,
    q_ko: Vec<f64>,
    avg: Vec<f64>,
    missed: Vec<f64>,
    pv: Vec<f64>,
    out: Vec<f64>,
    z: Vec<f64>,
}

impl Work {
    fn new(n_paths: usize, n_scen: usize, n_steps: usize) -> Self {
        Self {
            x: vec![0.0; n_paths],
            alive: vec![true; n_paths],
            ki: vec![false; n_paths],
            q_ki: vec![1.0; n_paths],
            q_ko: vec![1.0; n_paths],
            avg: vec![0.0; n_paths],
            missed: vec![0.0; n_paths],
            pv: vec![0.0; n_paths],
            out: vec![0.0; n_scen],
            z: vec![0.0; n_steps],
        }
    }
}

/// Step coefficients laid out step-major (`[j*k + s]`) so that the scenarios of one step sit
/// in one cache line.
struct StepTable {
    drift: Vec<f64>,
    diff: Vec<f64>,
}

impl StepTable {
    fn new(p: &Program) -> Self {
        let (n, k) = (p.n_steps, p.n_scen);
        let mut drift = vec![0.0; n * k];
        let mut diff = vec![0.0; n * k];
        for s in 0..k {
            for j in 0..n {
                drift[j * k + s] = p.drift[s * n + j];
                diff[j * k + s] = p.diff[s * n + j];
            }
        }
        Self { drift, diff }
    }
}

/// Runs the program on the CPU for one contract's random stream.
pub fn run(prog: &Program, stream: Stream, cfg: &McConfig) -> McOutput {
    match cfg.sampler {
        Sampler::Philox => run_philox(prog, stream, cfg),
        Sampler::SobolBridge => run_sobol(prog, stream, cfg),
    }
}

fn accumulate(out: &[f64], sum: &mut [f64], sxy: &mut [f64]) {
    let k = out.len();
    for a in 0..k {
        sum[a] += out[a];
    }
    if k <= FULL_COV_MAX {
        for a in 0..k {
            for b in 0..k {
                sxy[a * k + b] += out[a] * out[b];
            }
        }
    } else {
        for a in 0..k {
            sxy[a * k + a] += out[a] * out[a];
        }
    }
}

fn run_philox(prog: &Program, stream: Stream, cfg: &McConfig) -> McOutput {
    let pairs = cfg.pairs();
    let k = prog.n_scen;
    let n_chunks = pairs.div_ceil(CHUNK);
    let tp = StepTable::new(prog);
    let partials: Vec<(Vec<f64>, Vec<f64>)> = (0..n_chunks)
        .into_par_iter()
        .map(|ci| {
            let mut sum = vec![0.0; k];
            let mut sxy = vec![0.0; k * k];
            let mut w = Work::new(2 * k, k, prog.n_steps);
            for pair in ci * CHUNK..pairs.min((ci + 1) * CHUNK) {
                let mut blk = [0.0; 2];
                for j in 0..prog.n_steps {
                    if j & 1 == 0 {
                        blk = stream.normals(pair, (j / 2) as u32);
                    }
                    w.z[j] = blk[j & 1];
                }
                simulate::<2>(prog, &tp, &mut w);
                accumulate(&w.out, &mut sum, &mut sxy);
            }
            (sum, sxy)
        })
        .collect();
    finish(prog, pairs * 2, pairs as f64, partials)
}

fn finish(prog: &Program, paths: u64, n: f64, partials: Vec<(Vec<f64>, Vec<f64>)>) -> McOutput {
    let k = prog.n_scen;
    let mut sum = vec![0.0; k];
    let mut sxy = vec![0.0; k * k];
    for (s, x) in partials {
        for (a, b) in sum.iter_mut().zip(&s) {
            *a += b;
        }
        for (a, b) in sxy.iter_mut().zip(&x) {
            *a += b;
        }
    }
    McOutput::from_sums(paths, n, &sum, &sxy)
}

/// Sobol + Brownian bridge, digitally shifted: `REPLICATIONS` independent randomised QMC
/// estimates; the standard error is taken across them.
pub const REPLICATIONS: u64 = 16;

fn run_sobol(prog: &Program, stream: Stream, cfg: &McConfig) -> McOutput {
    let per = cfg.paths.div_ceil(REPLICATIONS).max(1);
    let k = prog.n_scen;
    let sob = SobolBridge::new(&prog.times);
    let tp = StepTable::new(prog);
    let reps: Vec<Vec<f64>> = (0..REPLICATIONS)
        .into_par_iter()
        .map(|r| {
            let shift = sob.digital_shift(&stream, r);
            let chunks = per.div_ceil(CHUNK);
            let parts: Vec<Vec<f64>> = (0..chunks)
                .into_par_iter()
                .map(|ci| {
                    let mut sum = vec![0.0; k];
                    let mut w = Work::new(k, k, prog.n_steps);
                    let mut pt = sob.workspace();
                    let lo = ci * CHUNK;
                    let hi = per.min(lo + CHUNK);
                    sob.start(&mut pt, lo);
                    for i in lo..hi {
                        sob.normals(&mut pt, &shift, &mut w.z);
                        simulate::<1>(prog, &tp, &mut w);
                        for a in 0..k {
                            sum[a] += w.out[a];
                        }
                        sob.advance(&mut pt, i);
                    }
                    sum
                })
                .collect();
            let mut s = vec![0.0; k];
            for p in parts {
                for a in 0..k {
                    s[a] += p[a] / per as f64;
                }
            }
            s
        })
        .collect();
    let mut sum = vec![0.0; k];
    let mut sxy = vec![0.0; k * k];
    for r in &reps {
        accumulate(r, &mut sum, &mut sxy);
    }
    McOutput::from_sums(per * REPLICATIONS, REPLICATIONS as f64, &sum, &sxy)
}

/// Simulates one sample for every scenario from the normals in `w.z`: an antithetic pair
/// (`w.out[s]` = pair average) or a single path.
fn simulate<const M: usize>(p: &Program, tp: &StepTable, w: &mut Work) {
    let antithetic = M == 2;
    let k = p.n_scen;
    let n = p.n_steps;
    let m = M;
    let np = k * m;
    let f = p.flags;
    let ki0 = f & flag::KNOCKED_IN != 0;
    for i in 0..np {
        w.x[i] = p.x0[i / m];
        w.alive[i] = true;
        w.ki[i] = ki0;
        w.q_ki[i] = 1.0;
        w.q_ko[i] = 1.0;
        w.avg[i] = 0.0;
        w.missed[i] = p.missed0;
        w.pv[i] = 0.0;
    }
    let mut n_alive = np;
    let has_cko = f & flag::HAS_CKO != 0;
    let ko_up = f & flag::KO_UP != 0;
    let ki_cont = f & flag::HAS_KI != 0 && f & flag::KI_CONT != 0 && !ki0;
    let ki_up = f & flag::KI_UP != 0;
    let bridge = f & flag::BRIDGE != 0;
    let cko_at_hit = f & flag::CKO_AT_HIT != 0;
    let n_ev = p.ev_kind.len();
    for j in 0..n {
        let z = w.z[j];
        let jk = j * k;
        for i in 0..np {
            if !w.alive[i] {
                continue;
            }
            let s = i / m;
            let dz = if i % m == 1 { -z } else { z };
            let xp = w.x[i];
            let xn = xp + tp.drift[jk + s] + tp.diff[jk + s] * dz;
            w.x[i] = xn;
            if has_cko {
                let b = p.cko_log;
                let df = if cko_at_hit {
                    p.step_df[s * n + j]
                } else {
                    p.df_mat[s]
                };
                if (ko_up && xn >= b) || (!ko_up && xn <= b) {
                    w.pv[i] += w.q_ko[i] * p.cko_rebate * df;
                    w.alive[i] = false;
                    n_alive -= 1;
                    continue;
                } else if bridge {
                    let a = 2.0 * (b - xp) * (b - xn) * p.inv_var[s * n + j];
                    if a < 50.0 {
                        let pr = (-a).exp();
                        w.pv[i] += w.q_ko[i] * pr * p.cko_rebate * df;
                        w.q_ko[i] *= 1.0 - pr;
                    }
                }
            }
            if ki_cont && !w.ki[i] {
                let b = p.ki_log;
                if (ki_up && xn >= b) || (!ki_up && xn <= b) {
                    w.ki[i] = true;
                } else if bridge {
                    let a = 2.0 * (b - xp) * (b - xn) * p.inv_var[s * n + j];
                    if a < 50.0 {
                        w.q_ki[i] *= 1.0 - (-a).exp();
                    }
                }
            }
        }
        for e in p.ev_start[j] as usize..p.ev_start[j + 1] as usize {
            let idx = p.ev_idx[e] as usize;
            match p.ev_kind[e] {
                ev::AVG => {
                    let geo = f & flag::GEOMETRIC != 0;
                    let lr = p.s_ref.ln();
                    for i in 0..np {
                        if w.alive[i] {
                            w.avg[i] += if geo {
                                lr + w.x[i]
                            } else {
                                p.s_ref * w.x[i].exp()
                            };
                        }
                    }
                }
                ev::COUPON => {
                    let mem = f & flag::MEMORY != 0;
                    for i in 0..np {
                        if w.alive[i] {
                            if w.x[i] >= p.cpn_log[idx] {
                                let mult = if mem { 1.0 + w.missed[i] } else { 1.0 };
                                w.pv[i] += p.cpn_amount[idx] * mult * p.ev_df[(i / m) * n_ev + e];
                                w.missed[i] = 0.0;
                            } else {
                                w.missed[i] += 1.0;
                            }
                        }
                    }
                }
                ev::KI => {
                    for i in 0..np {
                        if w.alive[i]
                            && ((ki_up && w.x[i] >= p.ki_log) || (!ki_up && w.x[i] <= p.ki_log))
                        {
                            w.ki[i] = true;
                        }
                    }
                }
                _ => {
                    let b = p.ko_log[idx];
                    for i in 0..np {
                        if w.alive[i] && ((ko_up && w.x[i] >= b) || (!ko_up && w.x[i] <= b)) {
                            w.pv[i] += w.q_ko[i] * p.ko_amount[idx] * p.ev_df[(i / m) * n_ev + e];
                            w.alive[i] = false;
                            n_alive -= 1;
                        }
                    }
                }
            }
        }
        if n_alive == 0 {
            break;
        }
    }
    let has_ki = f & flag::HAS_KI != 0;
    for i in 0..np {
        if !w.alive[i] {
            continue;
        }
        let s = i / m;
        let u = if f & flag::HAS_AVG != 0 {
            let a = (p.avg_past_sum + w.avg[i]) / p.avg_n;
            if f & flag::GEOMETRIC != 0 { a.exp() } else { a }
        } else {
            p.s_ref * w.x[i].exp()
        };
        let v = if !has_ki {
            p.payoff(0, u)
        } else if w.ki[i] {
            p.payoff(1, u)
        } else if w.q_ki[i] < 1.0 {
            w.q_ki[i] * p.payoff(0, u) + (1.0 - w.q_ki[i]) * p.payoff(1, u)
        } else {
            p.payoff(0, u)
        };
        w.pv[i] += w.q_ko[i] * v * p.df_mat[s];
    }
    for s in 0..k {
        w.out[s] = if antithetic {
            0.5 * (w.pv[2 * s] + w.pv[2 * s + 1])
        } else {
            w.pv[s]
        };
    }
}
