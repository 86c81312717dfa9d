//! Sobol points with a Brownian-bridge path construction, for quasi-Monte Carlo.
//!
//! Direction numbers: the first thirteen dimensions use the initial values of Joe and Kuo's
//! published table ("Constructing Sobol sequences with better two-dimensional projections",
//! 2008), which covers every primitive polynomial up to degree 5; further dimensions use the
//! next primitive polynomials (found here by testing the order of `x`) with odd initial values
//! from a fixed generator. The Brownian bridge puts the path's coarse shape (the terminal value,
//! then midpoints) on the first, best-distributed dimensions. Points are randomised by a
//! Philox-drawn digital shift per replication, which keeps them uniform and unbiased.

// Index loops over several parallel arrays read more clearly than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use crate::math::{Stream, inv_norm_cdf};

/// Joe-Kuo initial values for dimensions 2..=13: (degree, inner coefficients, m values).
const JOE_KUO: [(u32, u32, &[u32]); 12] = [
    (1, 0, &[1]),
    (2, 1, &[1, 3]),
    (3, 1, &[1, 3, 1]),
    (3, 2, &[1, 1, 1]),
    (4, 1, &[1, 1, 3, 3]),
    (4, 4, &[1, 3, 5, 13]),
    (5, 2, &[1, 1, 5, 5, 17]),
    (5, 4, &[1, 1, 5, 5, 5]),
    (5, 7, &[1, 1, 7, 11, 19]),
    (5, 11, &[1, 1, 5, 1, 1]),
    (5, 13, &[1, 1, 1, 3, 11]),
    (5, 14, &[1, 3, 5, 5, 31]),
];

/// Most dimensions (time steps) supported.
pub const MAX_DIMS: usize = 8192;

/// GF(2) polynomial multiplication modulo `p` (degree `deg`).
fn mulmod(a: u64, b: u64, p: u64, deg: u32) -> u64 {
    let mut r = 0u64;
    let mut a = a;
    let mut b = b;
    while b != 0 {
        if b & 1 != 0 {
            r ^= a;
        }
        b >>= 1;
        a <<= 1;
        if a >> deg & 1 != 0 {
            a ^= p;
        }
    }
    r
}

fn powmod(e: u64, p: u64, deg: u32) -> u64 {
    let (mut r, mut base, mut e) = (1u64, 2u64, e);
    if deg == 1 {
        base = 2 ^ p;
    }
    while e != 0 {
        if e & 1 != 0 {
            r = mulmod(r, base, p, deg);
        }
        base = mulmod(base, base, p, deg);
        e >>= 1;
    }
    r
}

fn is_primitive(p: u64, deg: u32) -> bool {
    let order = (1u64 << deg) - 1;
    if powmod(order, p, deg) != 1 {
        return false;
    }
    let mut n = order;
    let mut f = 2;
    while f * f <= n {
        if n.is_multiple_of(f) {
            if powmod(order / f, p, deg) == 1 {
                return false;
            }
            while n.is_multiple_of(f) {
                n /= f;
            }
        }
        f += 1;
    }
    n == order || n == 1 || powmod(order / n, p, deg) != 1
}

/// Direction numbers of `dims` dimensions, `v[d*32+b]`.
fn directions(dims: usize) -> Vec<u32> {
    let mut v = vec![0u32; dims * 32];
    for b in 0..32 {
        v[b] = 1u32 << (31 - b);
    }
    let mut polys: Vec<(u32, u32, Vec<u32>)> = JOE_KUO
        .iter()
        .map(|(s, a, m)| (*s, *a, m.to_vec()))
        .collect();
    let mut lcg: u64 = 0x2545_F491_4F6C_DD1D;
    let mut deg = 6u32;
    while polys.len() + 1 < dims {
        for inner in 0..(1u64 << (deg - 1)) {
            let p = (1u64 << deg) | (inner << 1) | 1;
            if is_primitive(p, deg) {
                let m = (1..=deg)
                    .map(|i| {
                        lcg = lcg
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        (((lcg >> 33) as u32) & ((1u32 << i) - 1)) | 1
                    })
                    .collect();
                polys.push((deg, inner as u32, m));
                if polys.len() + 1 >= dims {
                    break;
                }
            }
        }
        deg += 1;
    }
    for d in 1..dims {
        let (s, a, m0) = &polys[d - 1];
        let s = *s as usize;
        let mut m = [0u32; 33];
        m[1..=s].copy_from_slice(&m0[..s]);
        for i in (s + 1)..=32 {
            let mut x = m[i - s] ^ (m[i - s] << s);
            for k in 1..s {
                if (a >> (s - 1 - k)) & 1 != 0 {
                    x ^= m[i - k] << k;
                }
            }
            m[i] = x;
        }
        for b in 0..32 {
            v[d * 32 + b] = m[b + 1] << (31 - b);
        }
    }
    v
}

/// A Sobol generator plus the Brownian-bridge plan for a timeline.
#[derive(Debug, Clone)]
pub struct SobolBridge {
    dims: usize,
    v: Vec<u32>,
    /// (mid, left, right, left weight, right weight, sd) in construction order.
    plan: Vec<(usize, usize, usize, f64, f64, f64)>,
    sqrt_t_end: f64,
    inv_sqrt_dt: Vec<f64>,
}

/// Per-chunk state of the generator.
#[derive(Debug, Clone)]
pub struct SobolPoint {
    x: Vec<u32>,
    w: Vec<f64>,
}

impl SobolBridge {
    /// A generator for a timeline of step end times (at most [`MAX_DIMS`] steps).
    pub fn new(times: &[f64]) -> Self {
        let n = times.len().min(MAX_DIMS);
        let t = |i: usize| if i == 0 { 0.0 } else { times[i - 1] };
        let mut plan = Vec::with_capacity(n);
        let mut queue = std::collections::VecDeque::from([(0usize, n)]);
        while let Some((l, r)) = queue.pop_front() {
            if r - l < 2 {
                continue;
            }
            let m = (l + r) / 2;
            let (tl, tm, tr) = (t(l), t(m), t(r));
            let wr = (tm - tl) / (tr - tl);
            plan.push((
                m,
                l,
                r,
                1.0 - wr,
                wr,
                ((tm - tl) * (tr - tm) / (tr - tl)).sqrt(),
            ));
            queue.push_back((l, m));
            queue.push_back((m, r));
        }
        Self {
            dims: n,
            v: directions(n.max(1)),
            plan,
            sqrt_t_end: t(n).sqrt(),
            inv_sqrt_dt: (1..=n).map(|i| 1.0 / (t(i) - t(i - 1)).sqrt()).collect(),
        }
    }

    /// A fresh workspace.
    pub fn workspace(&self) -> SobolPoint {
        SobolPoint {
            x: vec![0; self.dims],
            w: vec![0.0; self.dims + 1],
        }
    }

    /// The digital shift of replication `r`.
    pub fn digital_shift(&self, stream: &Stream, r: u64) -> Vec<u32> {
        (0..self.dims)
            .map(|d| stream.block(u64::MAX - r, (d / 4) as u32)[d % 4])
            .collect()
    }

    /// Positions the workspace on point `i` (Gray-code order).
    pub fn start(&self, pt: &mut SobolPoint, i: u64) {
        let g = i ^ (i >> 1);
        for d in 0..self.dims {
            let mut x = 0u32;
            for b in 0..32 {
                if g >> b & 1 != 0 {
                    x ^= self.v[d * 32 + b];
                }
            }
            pt.x[d] = x;
        }
    }

    /// Moves the workspace from point `i` to point `i + 1`.
    pub fn advance(&self, pt: &mut SobolPoint, i: u64) {
        let c = (i.trailing_ones() as usize).min(31);
        for d in 0..self.dims {
            pt.x[d] ^= self.v[d * 32 + c];
        }
    }

    /// The step normals of the current point (Brownian-bridge construction) into `z`.
    pub fn normals(&self, pt: &mut SobolPoint, shift: &[u32], z: &mut [f64]) {
        let n = self.dims;
        let u = |d: usize| (f64::from(pt.x[d] ^ shift[d]) + 0.5) * (1.0 / 4_294_967_296.0);
        pt.w[0] = 0.0;
        pt.w[n] = self.sqrt_t_end * inv_norm_cdf(u(0));
        for (k, &(m, l, r, wl, wr, sd)) in self.plan.iter().enumerate() {
            pt.w[m] = wl * pt.w[l] + wr * pt.w[r] + sd * inv_norm_cdf(u(k + 1));
        }
        for j in 0..n {
            z[j] = (pt.w[j + 1] - pt.w[j]) * self.inv_sqrt_dt[j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_polynomials_of_low_degree_are_counted_right() {
        // Numbers of primitive polynomials over GF(2): φ(2^d − 1)/d.
        let counts = [
            (2u32, 1usize),
            (3, 2),
            (4, 2),
            (5, 6),
            (6, 6),
            (7, 18),
            (8, 16),
        ];
        for (d, want) in counts {
            let got = (0..(1u64 << (d - 1)))
                .filter(|i| is_primitive((1 << d) | (i << 1) | 1, d))
                .count();
            assert_eq!(got, want, "degree {d}");
        }
    }

    #[test]
    fn each_dimension_is_a_permutation_of_dyadic_cells() {
        // The first 2^k points of every dimension hit each of the 2^k cells exactly once.
        let v = directions(300);
        let k = 10;
        for d in [0, 1, 5, 12, 13, 100, 299] {
            let mut seen = vec![false; 1 << k];
            let mut x = 0u32;
            for i in 0u64..(1 << k) {
                if i > 0 {
                    x ^= v[d * 32 + ((i - 1).trailing_ones() as usize)];
                }
                let cell = (x >> (32 - k)) as usize;
                assert!(!seen[cell], "dim {d} point {i}");
                seen[cell] = true;
            }
        }
    }
}
