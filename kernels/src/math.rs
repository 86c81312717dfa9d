//! Numerical building blocks shared by the engines: the normal distribution and the
//! Philox4x32-10 counter-based generator.
//!
//! The generator and the normal transform are written so that `src/cuda/mc.cu` can repeat them
//! bit for bit: integer Philox rounds, 53-bit uniforms from two 32-bit words, and Acklam's
//! rational inverse normal (relative error below 1.2e-9, no refinement step in the Monte Carlo
//! path so that CPU and GPU run the same few operations).

/// Standard normal density.
#[inline]
pub fn norm_pdf(x: f64) -> f64 {
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Standard normal cumulative distribution, accurate to the last bits (via `erfc`).
#[inline]
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// Inverse standard normal cumulative distribution for `p` in (0, 1) (Acklam's algorithm).
///
/// Relative error below 1.15e-9; good enough to turn uniforms into normals for Monte Carlo
/// (the error is a fixed deterministic distortion far below any statistical error). Use
/// [`inv_norm_cdf_precise`] where full precision matters.
#[inline]
pub fn inv_norm_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.02425;
    if p < P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

/// Inverse normal to full double precision: Acklam plus one Halley step on `erfc`.
pub fn inv_norm_cdf_precise(p: f64) -> f64 {
    let x = inv_norm_cdf(p);
    let e = norm_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (0.5 * x * x).exp();
    x - u / (1.0 + 0.5 * x * u)
}

const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

/// Philox4x32-10 (Salmon et al., SC'11): a bijection of a 128-bit counter under a 64-bit key.
#[inline]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
        let p0 = u64::from(PHILOX_M0) * u64::from(c[0]);
        let p1 = u64::from(PHILOX_M1) * u64::from(c[2]);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// A uniform in the open interval (0, 1) with 53 random bits from two 32-bit words.
#[inline]
pub fn uniform53(hi: u32, lo: u32) -> f64 {
    let bits = (u64::from(hi) << 21) ^ (u64::from(lo) >> 11);
    (bits as f64 + 0.5) * (1.0 / 9_007_199_254_740_992.0)
}

/// The random-number stream of one contract: normals keyed by (seed, contract, path, step).
///
/// Normal number `step` of path pair `path` is lane pair `step % 2` of the Philox block with
/// counter `[step / 2, path_lo, path_hi, contract]` and key `[seed_lo, seed_hi]`. Antithetic
/// partners share the pair index and use the negated normals. `src/cuda/mc.cu` implements the
/// same mapping.
#[derive(Debug, Clone, Copy)]
pub struct Stream {
    key: [u32; 2],
    contract: u32,
}

impl Stream {
    /// A stream for one contract under one seed.
    pub fn new(seed: u64, contract: u32) -> Self {
        Self {
            key: [seed as u32, (seed >> 32) as u32],
            contract,
        }
    }

    /// Key words and contract word, as the CUDA kernel takes them.
    pub fn parts(&self) -> (u32, u32, u32) {
        (self.key[0], self.key[1], self.contract)
    }

    /// The Philox block holding normals `2*block` and `2*block+1` of path pair `path`.
    #[inline]
    pub fn block(&self, path: u64, block: u32) -> [u32; 4] {
        philox4x32_10(
            [block, path as u32, (path >> 32) as u32, self.contract],
            self.key,
        )
    }

    /// The two normals of a block.
    #[inline]
    pub fn normals(&self, path: u64, block: u32) -> [f64; 2] {
        let r = self.block(path, block);
        [
            inv_norm_cdf(uniform53(r[0], r[1])),
            inv_norm_cdf(uniform53(r[2], r[3])),
        ]
    }

    /// Normal number `step` of path pair `path`.
    pub fn normal(&self, path: u64, step: u32) -> f64 {
        self.normals(path, step / 2)[(step % 2) as usize]
    }
}
