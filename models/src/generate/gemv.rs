//! Decode-step matrix-vector products for the common quantizations of GGUF files (Q4_K, Q6_K,
//! Q8_0), read in place from the file's own block layout.
//!
//! A decode step multiplies every weight matrix by one activation vector, so its speed is how
//! fast the weights stream from memory. candle 0.11's x86 path expands Q4_K into 16-row tiles
//! with unpacked `f32` scales and minimums (192 bytes per 256 weights instead of 144) and
//! multiplies Q6_K and Q8_0 four rows at a time, interleaving four memory streams that are each
//! too short for the hardware prefetcher. Here each worker walks its rows in memory order, one
//! row at a time against one quantized activation (ggml's `vec_dot_q4_K_q8_K`,
//! `vec_dot_q6_K_q8_K` and `vec_dot_q8_0_q8_0` arithmetic, AVX2), and the rows are split over
//! candle's own CPU worker pool so the thread count set by [`crate::runtime::set_threads`]
//! holds. Up to [`MAX_M`] activation rows (a forced constrained-JSON continuation) share each
//! pass over the weights; longer prompts keep candle's tiled kernels, which reuse each weight
//! for many rows.
//!
//! Only x86-64 with AVX2, FMA and F16C takes this path; elsewhere [`Gemv::new`] returns `None`
//! and candle's kernels run.
//!
//! `unsafe` is allowed here, and only here in `generate`: SIMD intrinsics behind a runtime CPU
//! check, and workers writing disjoint rows of one output buffer. Each block says why it holds.
#![allow(unsafe_code)]

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Result, Tensor};

/// Values per k-quant block.
const QK: usize = 256;

/// Weight rows in one unit of work handed to a worker.
const ROWS: usize = 4;

/// The most activation rows one call takes: the few tokens of a short forced continuation (a
/// constrained-JSON key, say). Longer prompts go to candle's tiled or dequantized matmuls.
pub const MAX_M: usize = 7;

/// The activation quantized as ggml's `block_q8_K`: one scale, 256 signed bytes and the sums of
/// each 16 of them (used by Q4_K's minimums).
#[derive(Clone, Copy)]
#[repr(C)]
struct Q8K {
    d: f32,
    qs: [i8; QK],
    bsums: [i16; QK / 16],
}

/// Quantizes `x` (a multiple of 256 long) as ggml's `quantize_row_q8_K` (and candle) do.
fn quantize_q8k(x: &[f32], out: &mut Vec<Q8K>) {
    out.clear();
    for chunk in x.chunks_exact(QK) {
        let mut max = 0f32;
        let mut amax = 0f32;
        for &v in chunk {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        let mut b = Q8K {
            d: 0.0,
            qs: [0; QK],
            bsums: [0; QK / 16],
        };
        if amax != 0.0 {
            let iscale = -127.0 / max;
            for (q, &v) in b.qs.iter_mut().zip(chunk) {
                *q = (iscale * v).round().clamp(-128.0, 127.0) as i8;
            }
            for (s, g) in b.bsums.iter_mut().zip(b.qs.chunks_exact(16)) {
                *s = g.iter().map(|&q| q as i16).sum();
            }
            b.d = 1.0 / iscale;
        }
        out.push(b);
    }
}

/// The activation quantized as ggml's `block_q8_0` (32 values per block), with the scale kept as
/// the `f32` value of its `f16` rounding so that products match candle's bit for bit.
#[derive(Clone, Copy)]
#[repr(C)]
struct Q8Blk {
    d: f32,
    qs: [i8; 32],
}

/// Quantizes `x` (a multiple of 32 long) as candle's `BlockQ8_0::from_float` does.
fn quantize_q8_0(x: &[f32], out: &mut Vec<Q8Blk>) {
    out.clear();
    for chunk in x.chunks_exact(32) {
        let amax = chunk.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut b = Q8Blk {
            d: half::f16::from_f32(d).to_f32(),
            qs: [0; 32],
        };
        for (q, &v) in b.qs.iter_mut().zip(chunk) {
            *q = (v * id).round() as i8;
        }
        out.push(b);
    }
}

/// Each `k`-long row of `xv` quantized by `f`, or nothing when `needed` is false.
fn quantize_rows<T>(xv: &[f32], k: usize, f: fn(&[f32], &mut Vec<T>), needed: bool) -> Vec<Vec<T>> {
    if !needed {
        return Vec::new();
    }
    xv.chunks_exact(k)
        .map(|row| {
            let mut q = Vec::new();
            f(row, &mut q);
            q
        })
        .collect()
}

/// Byte sizes of one block in the GGUF layout.
const Q4K_BYTES: usize = 144; // d, dmin (f16), scales[12], qs[128]
const Q6K_BYTES: usize = 210; // ql[128], qh[64], scales[16] (i8), d (f16)
const Q8_0_BYTES: usize = 34; // d (f16), qs[32]

/// A quantized weight matrix `[n, k]` multiplied by one or a few activation rows.
pub struct Gemv {
    kind: Kind,
    n: usize,
    k: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Q4K,
    Q6K,
    Q8_0,
}

impl Kind {
    /// Values per block.
    fn block_len(self) -> usize {
        match self {
            Kind::Q4K | Kind::Q6K => QK,
            Kind::Q8_0 => 32,
        }
    }

    fn block_bytes(self) -> usize {
        match self {
            Kind::Q4K => Q4K_BYTES,
            Kind::Q6K => Q6K_BYTES,
            Kind::Q8_0 => Q8_0_BYTES,
        }
    }
}

impl Gemv {
    /// The fast path for `w`, when its type has one here and the CPU has AVX2, FMA and F16C.
    pub fn new(w: &QTensor) -> Option<Self> {
        let kind = match w.dtype() {
            GgmlDType::Q4K => Kind::Q4K,
            GgmlDType::Q6K => Kind::Q6K,
            GgmlDType::Q8_0 => Kind::Q8_0,
            _ => return None,
        };
        if !avx2() {
            return None;
        }
        let (n, k) = w.shape().dims2().ok()?;
        if k == 0 || !k.is_multiple_of(kind.block_len()) || n == 0 {
            return None;
        }
        Some(Self { kind, n, k })
    }

    /// `x @ w.T` for a few rows `x` (`[1, m, k]`, `m` at most [`MAX_M`]); `w` is the tensor
    /// this was made for. Returns `[1, m, n]`.
    pub fn forward(&self, w: &QTensor, x: &Tensor) -> Result<Tensor> {
        let mut out = Self::forward_many(&[(self, w)], x)?;
        Ok(out.remove(0))
    }

    /// [`Gemv::forward`] for several matrices sharing the input (a layer's query/key/value, or
    /// its gate and up projections): the activation is quantized once and all rows go to the
    /// workers in one dispatch.
    pub fn forward_many(parts: &[(&Gemv, &QTensor)], x: &Tensor) -> Result<Vec<Tensor>> {
        let x = x.to_dtype(candle_core::DType::F32)?;
        let k = x.dim(candle_core::D::Minus1)?;
        let xv = x.flatten_all()?.to_vec1::<f32>()?;
        let m = xv.len() / k.max(1);
        if m == 0 || m > MAX_M {
            candle_core::bail!("gemv: {m} input rows (1 to {MAX_M})");
        }
        let mut jobs = Vec::with_capacity(parts.len());
        let mut outs: Vec<Vec<f32>> = Vec::with_capacity(parts.len());
        let mut units = 0;
        for (g, w) in parts {
            if k != g.k {
                candle_core::bail!("gemv: input rows have {k} values, the matrix {}", g.k);
            }
            let data = w.data()?;
            let block_bytes = g.kind.block_bytes();
            let kb = g.k / g.kind.block_len();
            if data.len() != g.n * kb * block_bytes {
                candle_core::bail!("gemv: {} bytes for a [{}, {}] matrix", data.len(), g.n, g.k);
            }
            let mut out = vec![0f32; m * g.n];
            jobs.push(Job {
                kind: g.kind,
                n: g.n,
                row_bytes: kb * block_bytes,
                first_unit: units,
                w: data,
                out: SendPtr(out.as_mut_ptr()),
            });
            outs.push(out);
            units += g.n.div_ceil(ROWS);
        }
        let xk = quantize_rows(
            &xv,
            k,
            quantize_q8k,
            jobs.iter().any(|j| j.kind != Kind::Q8_0),
        );
        let x0 = quantize_rows(
            &xv,
            k,
            quantize_q8_0,
            jobs.iter().any(|j| j.kind == Kind::Q8_0),
        );
        candle_core::utils::barrier_pool().execute_chunked(units, |range| {
            for unit in range {
                let j = jobs.partition_point(|j| j.first_unit <= unit) - 1;
                let job = &jobs[j];
                let r0 = (unit - job.first_unit) * ROWS;
                let rows = (job.n - r0).min(ROWS);
                let w = &job.w[r0 * job.row_bytes..(r0 + rows) * job.row_bytes];
                // The unit's weights (4 rows, at most ~30 KB) stay in cache for the other rows.
                for i in 0..m {
                    let mut res = [0f32; ROWS];
                    // SAFETY: `avx2()` was checked in `new`; the slices hold `rows` whole rows.
                    unsafe {
                        match job.kind {
                            Kind::Q4K => avx::q4k_rows(w, rows, xk[i].len(), &xk[i], &mut res),
                            Kind::Q6K => avx::q6k_rows(w, rows, xk[i].len(), &xk[i], &mut res),
                            Kind::Q8_0 => avx::q8_0_rows(w, rows, x0[i].len(), &x0[i], &mut res),
                        }
                    }
                    for (c, v) in res.iter().take(rows).enumerate() {
                        // SAFETY: each unit writes only its own columns `r0..r0 + rows` of
                        // its job's output rows, which outlive the pool call.
                        unsafe { *job.out.0.add(i * job.n + r0 + c) = *v };
                    }
                }
            }
        });
        drop(jobs);
        outs.into_iter()
            .map(|o| {
                let n = o.len() / m;
                Tensor::from_vec(o, (1, m, n), &Device::Cpu)
            })
            .collect()
    }
}

/// One matrix of a [`Gemv::forward_many`] dispatch.
struct Job<'a> {
    kind: Kind,
    n: usize,
    row_bytes: usize,
    /// The index of its first unit of [`ROWS`] rows among all the dispatch's units.
    first_unit: usize,
    w: std::borrow::Cow<'a, [u8]>,
    out: SendPtr,
}

struct SendPtr(*mut f32);
// SAFETY: the workers write disjoint elements through it (see `Gemv::forward`).
unsafe impl Sync for SendPtr {}
unsafe impl Send for SendPtr {}

fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod avx {
    pub unsafe fn q4k_rows(_: &[u8], _: usize, _: usize, _: &[super::Q8K], _: &mut [f32]) {
        unreachable!("gated by Gemv::new")
    }
    pub unsafe fn q6k_rows(_: &[u8], _: usize, _: usize, _: &[super::Q8K], _: &mut [f32]) {
        unreachable!("gated by Gemv::new")
    }
    pub unsafe fn q8_0_rows(_: &[u8], _: usize, _: usize, _: &[super::Q8Blk], _: &mut [f32]) {
        unreachable!("gated by Gemv::new")
    }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use super::{Q4K_BYTES, Q6K_BYTES, Q8_0_BYTES, Q8Blk, Q8K, ROWS};
    use core::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "f16c")]
    fn f16_at(b: &[u8], at: usize) -> f32 {
        let h = u16::from_le_bytes([b[at], b[at + 1]]);
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
    }

    /// Broadcasts the `i`-th 16-bit lane (of 8) across a 256-bit register.
    const fn shuffle_k4(i: usize) -> [u8; 32] {
        let mut s = [0u8; 32];
        let mut j = 0;
        while j < 16 {
            s[2 * j] = (2 * i) as u8;
            s[2 * j + 1] = (2 * i + 1) as u8;
            j += 1;
        }
        s
    }
    const SHUF_K4: [[u8; 32]; 8] = [
        shuffle_k4(0),
        shuffle_k4(1),
        shuffle_k4(2),
        shuffle_k4(3),
        shuffle_k4(4),
        shuffle_k4(5),
        shuffle_k4(6),
        shuffle_k4(7),
    ];

    /// Bytes `2i` (×8) then `2i + 1` (×8): two 16-value scales of Q6_K side by side.
    const fn shuffle_q6(i: usize) -> [u8; 16] {
        let mut s = [0u8; 16];
        let mut j = 0;
        while j < 8 {
            s[j] = (2 * i) as u8;
            s[8 + j] = (2 * i + 1) as u8;
            j += 1;
        }
        s
    }
    const SHUF_Q6: [[u8; 16]; 8] = [
        shuffle_q6(0),
        shuffle_q6(1),
        shuffle_q6(2),
        shuffle_q6(3),
        shuffle_q6(4),
        shuffle_q6(5),
        shuffle_q6(6),
        shuffle_q6(7),
    ];

    /// The 16-bit scales of Q6_K's 16-value groups `2i` and `2i + 1`, each over 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn q6_scale(scales: __m128i, i: usize) -> __m256i {
        // SAFETY: `SHUF_Q6[i]` is 16 readable bytes.
        let shuf = unsafe { _mm_loadu_si128(SHUF_Q6[i].as_ptr().cast()) };
        _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, shuf))
    }

    /// Scaled products of 32 six-bit weights (stored +32) with 32 activation bytes.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn q6_part(q: __m256i, y: __m256i, scale: __m256i, m32s: __m256i) -> __m256i {
        let p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(q, y), _mm256_maddubs_epi16(m32s, y));
        _mm256_madd_epi16(scale, p16)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    fn hsum8(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// Dot products of `rows` consecutive Q4_K rows (`kb` blocks each, in `w`) with `x`.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `w` must hold `rows * kb` blocks and `x` `kb` blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q4k_rows(w: &[u8], rows: usize, kb: usize, x: &[Q8K], out: &mut [f32]) {
        debug_assert!(w.len() >= rows * kb * Q4K_BYTES && x.len() >= kb && rows <= ROWS);
        let m4 = _mm256_set1_epi8(0xF);
        for r in 0..rows {
            let mut acc = _mm256_setzero_ps();
            let mut acc_m = _mm_setzero_ps();
            for (b, y) in x.iter().enumerate().take(kb) {
                let q8sums = unsafe { _mm256_loadu_si256(y.bsums.as_ptr().cast()) };
                let q8s = _mm_hadd_epi16(
                    _mm256_castsi256_si128(q8sums),
                    _mm256_extracti128_si256(q8sums, 1),
                );
                let blk = &w[(r * kb + b) * Q4K_BYTES..(r * kb + b + 1) * Q4K_BYTES];
                let d = y.d * f16_at(blk, 0);
                let dmin = -y.d * f16_at(blk, 2);
                let sc = &blk[4..16];
                let u = |i: usize| {
                    u32::from_le_bytes([sc[4 * i], sc[4 * i + 1], sc[4 * i + 2], sc[4 * i + 3]])
                };
                let (u0, u1, u2) = (u(0), u(1), u(2));
                const KMASK1: u32 = 0x3f3f3f3f;
                const KMASK2: u32 = 0x0f0f0f0f;
                const KMASK3: u32 = 0x03030303;
                let m3 = ((u2 >> 4) & KMASK2) | (((u1 >> 6) & KMASK3) << 4);
                let m2 = u1 & KMASK1;
                let s1 = (u2 & KMASK2) | (((u0 >> 6) & KMASK3) << 4);
                let s0 = u0 & KMASK1;
                let mins_and_scales =
                    _mm256_cvtepu8_epi16(_mm_set_epi32(m3 as i32, m2 as i32, s1 as i32, s0 as i32));
                let prod = _mm_madd_epi16(_mm256_extracti128_si256(mins_and_scales, 1), q8s);
                acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m);
                let sc128 = _mm256_castsi256_si128(mins_and_scales);
                let scales = _mm256_set_m128i(sc128, sc128);
                let q4 = blk[16..].as_ptr();
                let q8 = y.qs.as_ptr();
                let mut sumi = _mm256_setzero_si256();
                for j in 0..4 {
                    unsafe {
                        let scale_l = _mm256_shuffle_epi8(
                            scales,
                            _mm256_loadu_si256(SHUF_K4[2 * j].as_ptr().cast()),
                        );
                        let scale_h = _mm256_shuffle_epi8(
                            scales,
                            _mm256_loadu_si256(SHUF_K4[2 * j + 1].as_ptr().cast()),
                        );
                        let q4bits = _mm256_loadu_si256(q4.add(32 * j).cast());
                        let q4l = _mm256_and_si256(q4bits, m4);
                        let q4h = _mm256_and_si256(_mm256_srli_epi16(q4bits, 4), m4);
                        let q8l = _mm256_loadu_si256(q8.add(64 * j).cast());
                        let q8h = _mm256_loadu_si256(q8.add(64 * j + 32).cast());
                        let pl = _mm256_madd_epi16(scale_l, _mm256_maddubs_epi16(q4l, q8l));
                        let ph = _mm256_madd_epi16(scale_h, _mm256_maddubs_epi16(q4h, q8h));
                        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
                    }
                }
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
            }
            let m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
            let m = _mm_add_ss(m, _mm_movehdup_ps(m));
            out[r] = hsum8(acc) + _mm_cvtss_f32(m);
        }
    }

    /// Dot products of `rows` consecutive Q6_K rows with `x` (see [`q4k_rows`]).
    ///
    /// # Safety
    /// As for [`q4k_rows`].
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q6k_rows(w: &[u8], rows: usize, kb: usize, x: &[Q8K], out: &mut [f32]) {
        debug_assert!(w.len() >= rows * kb * Q6K_BYTES && x.len() >= kb && rows <= ROWS);
        let m4 = _mm256_set1_epi8(0xF);
        let m2 = _mm256_set1_epi8(3);
        let m32s = _mm256_set1_epi8(32);
        for r in 0..rows {
            let mut acc = _mm256_setzero_ps();
            for (b, y) in x.iter().enumerate().take(kb) {
                let blk = &w[(r * kb + b) * Q6K_BYTES..(r * kb + b + 1) * Q6K_BYTES];
                let d = y.d * f16_at(blk, 208);
                let scales = unsafe { _mm_loadu_si128(blk[192..].as_ptr().cast()) };
                let ql = blk.as_ptr();
                let qh = blk[128..].as_ptr();
                let q8 = y.qs.as_ptr();
                let mut sumi = _mm256_setzero_si256();
                for j in 0..2 {
                    unsafe {
                        let is = 4 * j;
                        let q4bits1 = _mm256_loadu_si256(ql.add(64 * j).cast());
                        let q4bits2 = _mm256_loadu_si256(ql.add(64 * j + 32).cast());
                        let q4bits_h = _mm256_loadu_si256(qh.add(32 * j).cast());
                        let h0 = _mm256_slli_epi16(_mm256_and_si256(q4bits_h, m2), 4);
                        let h1 = _mm256_slli_epi16(
                            _mm256_and_si256(_mm256_srli_epi16(q4bits_h, 2), m2),
                            4,
                        );
                        let h2 = _mm256_slli_epi16(
                            _mm256_and_si256(_mm256_srli_epi16(q4bits_h, 4), m2),
                            4,
                        );
                        let h3 = _mm256_slli_epi16(
                            _mm256_and_si256(_mm256_srli_epi16(q4bits_h, 6), m2),
                            4,
                        );
                        let q0 = _mm256_or_si256(_mm256_and_si256(q4bits1, m4), h0);
                        let q1 = _mm256_or_si256(_mm256_and_si256(q4bits2, m4), h1);
                        let q2 = _mm256_or_si256(
                            _mm256_and_si256(_mm256_srli_epi16(q4bits1, 4), m4),
                            h2,
                        );
                        let q3 = _mm256_or_si256(
                            _mm256_and_si256(_mm256_srli_epi16(q4bits2, 4), m4),
                            h3,
                        );
                        let y0 = _mm256_loadu_si256(q8.add(128 * j).cast());
                        let y1 = _mm256_loadu_si256(q8.add(128 * j + 32).cast());
                        let y2 = _mm256_loadu_si256(q8.add(128 * j + 64).cast());
                        let y3 = _mm256_loadu_si256(q8.add(128 * j + 96).cast());
                        let p0 = q6_part(q0, y0, q6_scale(scales, is), m32s);
                        let p1 = q6_part(q1, y1, q6_scale(scales, is + 1), m32s);
                        let p2 = q6_part(q2, y2, q6_scale(scales, is + 2), m32s);
                        let p3 = q6_part(q3, y3, q6_scale(scales, is + 3), m32s);
                        sumi = _mm256_add_epi32(
                            sumi,
                            _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3)),
                        );
                    }
                }
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
            }
            out[r] = hsum8(acc);
        }
    }
    /// Dot products of `rows` consecutive Q8_0 rows (`kb` blocks of 32 each) with `x`, in
    /// candle's order of operations (the same sums, bit for bit).
    ///
    /// # Safety
    /// As for [`q4k_rows`].
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q8_0_rows(w: &[u8], rows: usize, kb: usize, x: &[Q8Blk], out: &mut [f32]) {
        debug_assert!(w.len() >= rows * kb * Q8_0_BYTES && x.len() >= kb && rows <= ROWS);
        let ones = _mm256_set1_epi16(1);
        for r in 0..rows {
            let mut acc = _mm256_setzero_ps();
            for (b, y) in x.iter().enumerate().take(kb) {
                let blk = &w[(r * kb + b) * Q8_0_BYTES..(r * kb + b + 1) * Q8_0_BYTES];
                let d = _mm256_set1_ps(f16_at(blk, 0) * y.d);
                // SAFETY: `blk[2..]` and `y.qs` are 32 readable bytes each.
                let (bx, by) = unsafe {
                    (
                        _mm256_loadu_si256(blk[2..].as_ptr().cast()),
                        _mm256_loadu_si256(y.qs.as_ptr().cast()),
                    )
                };
                let ax = _mm256_sign_epi8(bx, bx);
                let sy = _mm256_sign_epi8(by, bx);
                let dot = _mm256_madd_epi16(ones, _mm256_maddubs_epi16(ax, sy));
                acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot), acc);
            }
            out[r] = hsum8(acc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Module;
    use candle_core::quantized::QMatMul;

    /// The fast path agrees with candle's own kernels on random matrices of every type, for one
    /// activation row and for several.
    #[test]
    fn matches_candle() {
        let dev = Device::Cpu;
        for (dtype, n) in [
            (GgmlDType::Q4K, 37usize),
            (GgmlDType::Q6K, 41),
            (GgmlDType::Q8_0, 43),
        ] {
            let k = 512;
            let w = Tensor::randn(0f32, 1.0, (n, k), &dev).unwrap();
            let q = QTensor::quantize(&w, dtype).unwrap();
            let Some(g) = Gemv::new(&q) else {
                return; // no AVX2 here: candle's kernels run instead
            };
            let q = std::sync::Arc::new(q);
            let mm = QMatMul::from_arc(q.clone()).unwrap();
            for m in [1, 3, MAX_M] {
                let x = Tensor::randn(0f32, 1.0, (1, m, k), &dev).unwrap();
                let ours = g.forward(&q, &x).unwrap();
                assert_eq!(ours.dims(), &[1, m, n]);
                let ours = ours.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let theirs = mm.forward(&x).unwrap().flatten_all().unwrap();
                let theirs = theirs.to_vec1::<f32>().unwrap();
                let exact = x.reshape((m, k)).unwrap().matmul(&w.t().unwrap()).unwrap();
                let exact = exact.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                for i in 0..m * n {
                    let scale = exact[i].abs().max(1.0);
                    assert!(
                        (ours[i] - theirs[i]).abs() / scale < 1e-4,
                        "{dtype:?} m={m} value {i}: ours {} candle {} exact {}",
                        ours[i],
                        theirs[i],
                        exact[i]
                    );
                }
            }
        }
    }
}
