//! A BERT encoder for sentence embeddings with 8-bit integer matrix products, on x86-64 with
//! AVX2 and FMA.
//!
//! Why not candle's `bert::BertModel`: on the 2-core CPU its f32 forward pass spent only ~40% of
//! its time in matrix products; the rest went to scalar `erf` in GELU, scalar `exp` in softmax,
//! padding, and tensor copies between ops. Even at the f32 peak of two cores (~100 G-MAC/s
//! measured) the e5 encoder could not reach 100 passages/s. Here:
//!
//! * **No padding.** A batch's texts are laid end to end as one `[tokens, hidden]` matrix;
//!   attention runs per text and per head over that text's own tokens only.
//! * **8-bit products.** Each weight row is quantized once at load to signed 7 bits (±63) with
//!   one `f32` scale per row (the least-squares scale of a few candidates, rounding error's
//!   mean folded into the bias); each activation row (one token's input to a dense layer) is
//!   quantized per call to unsigned 8 bits (0..=255) with a per-token scale and zero point.
//!   `vpmaddubsw` + `vpmaddwd` multiply 32 pairs per instruction pair into `i32` sums that run
//!   the whole row without rescaling: 1.85× the f32 FMA rate on this machine (255 × 63 × 2
//!   never saturates `vpmaddubsw`'s `i16` pairs). Measured on 128 regulation passages against
//!   candle's f32 forward: ±63 weights with 0..=255 activations gave cosine 0.9996 on average,
//!   ±127 with 0..=127 0.9993 (activation rounding costs more than weight rounding).
//! * **Outlier channels in f32**: see [`OUTLIERS`].
//! * **Vectorised GELU and softmax** (`erf` to 1.5e-7, `exp` to ~2 ulp), fused into the dense
//!   layer's output and the attention loop.
//! * The e5 word table (250,037 × 384) stays in its Q4_0 blocks (54 MB instead of 384 MB of
//!   f32); rows are expanded when a token is looked up.
//!
//! Work is split over candle's CPU worker pool, so the thread count set by
//! [`crate::runtime::set_threads`] holds here too.
//!
//! `unsafe` is allowed in this module only: SIMD intrinsics behind [`Encoder::supported`]'s
//! runtime CPU check, and workers writing disjoint parts of one output buffer. Each block says
//! why it holds.
#![allow(unsafe_code)]
#![cfg(target_arch = "x86_64")]

use std::collections::HashMap;

use candle_core::Tensor;

use crate::error::ModelError;

/// Largest quantized activation value (unsigned 8 bits).
const ACT_MAX: f32 = 255.0;
/// Largest quantized weight magnitude (7 bits, so that `ACT_MAX · W_MAX · 2 < 2^15`).
const W_MAX: f32 = 63.0;
/// Input channels of each dense layer fed by a LayerNorm that stay in f32. BERT LayerNorms
/// give a few fixed channels values 5-40× the rest (e5: channels 15, 35, 321 reach 20-44 where
/// the median channel peaks below 2), which would leave the other channels a handful of levels
/// on a per-token 8-bit grid. The channels are the LayerNorm's largest `|β| + 4|γ|`, known at
/// load time; their products run in f32 (8 of 384 channels: ~2% of the work).
const OUTLIERS: usize = 8;
/// Weight rows per work unit (two groups of eight, one `i32` lane per row).
const PANEL: usize = 16;
/// Tokens multiplied together against one panel (4: eight `i32` accumulators stay in
/// registers; 6 spilled and was slower).
const TILE: usize = 4;

/// Width of an attention head the encoder takes (e5-small and MiniLM: 384 / 12).
const HEAD_DIM: usize = 32;

/// The shape of a BERT encoder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub hidden: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub max_positions: usize,
    pub eps: f32,
}

impl Shape {
    /// Whether the encoder runs this shape: 32-wide heads, widths a multiple of 32.
    pub fn supported(&self) -> bool {
        self.heads > 0
            && self.hidden == self.heads * HEAD_DIM
            && self.intermediate.is_multiple_of(32)
    }
}

/// A dense layer `y = W x + b` with `W` quantized per row.
struct Dense {
    out: usize,
    inp: usize,
    /// Rows in groups of 8; within a group, for each 4 columns, 8 × 4 bytes (row-major).
    packed: Vec<i8>,
    /// Per-row scale: `W[r][c] ≈ scale[r] · packed`.
    scale: Vec<f32>,
    /// Per-row sum of the quantized weights (for the activations' zero point).
    wsum: Vec<f32>,
    bias: Vec<f32>,
    /// Input channels kept out of the 8-bit product (see [`OUTLIERS`]) ...
    outliers: Vec<usize>,
    /// ... and their weight columns in f32, one `out`-long row per channel.
    outlier_w: Vec<f32>,
}

impl Dense {
    fn new(
        w: &[f32],
        out: usize,
        inp: usize,
        mut bias: Vec<f32>,
        outliers: Vec<usize>,
        mean_x: Option<&[f32]>,
    ) -> Self {
        assert!(out.is_multiple_of(PANEL) && inp.is_multiple_of(32));
        assert_eq!(w.len(), out * inp);
        let mut outlier_w = Vec::with_capacity(outliers.len() * out);
        for &c in &outliers {
            outlier_w.extend((0..out).map(|r| w[r * inp + c]));
        }
        let mut w = w.to_vec();
        for r in 0..out {
            for &c in &outliers {
                w[r * inp + c] = 0.0;
            }
        }
        let mut q = vec![0i8; out * inp];
        let mut scale = vec![0f32; out];
        let mut wsum = vec![0f32; out];
        for r in 0..out {
            let row = &w[r * inp..(r + 1) * inp];
            let amax = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            // The scale with the least squared rounding error among a few below the
            // max-magnitude one (clipping the odd largest weight beats a coarser grid).
            let sse = |s: f32| -> f32 {
                row.iter()
                    .map(|v| (v - (v / s).round().clamp(-W_MAX, W_MAX) * s).powi(2))
                    .sum()
            };
            let s = if amax > 0.0 {
                (0..12)
                    .map(|i| amax / W_MAX * (1.0 - 0.025 * i as f32))
                    .min_by(|a, b| sse(*a).total_cmp(&sse(*b)))
                    .unwrap_or(amax / W_MAX)
            } else {
                1.0
            };
            scale[r] = s;
            let mut sum = 0i32;
            for (c, v) in row.iter().enumerate() {
                let qv = (v / s).round().clamp(-W_MAX, W_MAX) as i8;
                sum += i32::from(qv);
                // Group g = r / 8, column quad c / 4: 32 bytes of 8 rows × 4 columns.
                let (g, lane) = (r / 8, r % 8);
                let at = (g * (inp / 4) + c / 4) * 32 + lane * 4 + c % 4;
                q[at] = qv;
            }
            wsum[r] = sum as f32;
            if let Some(m) = mean_x {
                // Bias correction: the rounding error's expected contribution for inputs
                // centred on `m` (a LayerNorm's β) goes into the bias.
                let err: f64 = row
                    .iter()
                    .zip(m)
                    .map(|(v, m)| {
                        let qv = (v / s).round().clamp(-W_MAX, W_MAX) * s;
                        f64::from(v - qv) * f64::from(*m)
                    })
                    .sum();
                bias[r] += err as f32;
            }
        }
        Self {
            out,
            inp,
            packed: q,
            scale,
            wsum,
            bias,
            outliers,
            outlier_w,
        }
    }
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl Norm {
    /// The channels this LayerNorm can push furthest from zero.
    fn outliers(&self) -> Vec<usize> {
        let reach = |k: usize| self.beta[k].abs() + 4.0 * self.gamma[k].abs();
        let mut idx: Vec<usize> = (0..self.gamma.len()).collect();
        idx.sort_by(|a, b| reach(*b).total_cmp(&reach(*a)));
        idx.truncate(OUTLIERS.min(idx.len()));
        idx.sort_unstable();
        idx
    }
}

struct Layer {
    /// Query, key and value projections stacked (3 × hidden rows).
    qkv: Dense,
    attn_out: Dense,
    attn_norm: Norm,
    ffn_in: Dense,
    ffn_out: Dense,
    ffn_norm: Norm,
    /// The outlier channels of `ffn_norm`'s output (the next layer's `qkv` input).
    feeding: Vec<usize>,
}

/// A BERT encoder ready for inference (see the module docs).
pub(crate) struct Encoder {
    shape: Shape,
    vocab: usize,
    /// The word-embedding table in ggml Q4_0 blocks (`hidden` values per row, 18 bytes per 32).
    words_q4: Vec<u8>,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
}

/// A pointer workers write through, each to its own disjoint part.
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
impl<T> SendPtr<T> {
    /// The pointer (a method, so closures capture the whole `Sync` wrapper).
    fn ptr(self) -> *mut T {
        self.0
    }
}
// SAFETY: only used to write disjoint ranges of a buffer that outlives the pool call.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendPtr<T> {}

/// Dequantizes one Q4_0 row (`n` values).
fn q4_0_row(bytes: &[u8], n: usize, out: &mut [f32]) {
    for (b, block) in bytes.chunks_exact(18).take(n / 32).enumerate() {
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        for i in 0..16 {
            let q = block[2 + i];
            out[b * 32 + i] = (f32::from(q & 0x0f) - 8.0) * d;
            out[b * 32 + i + 16] = (f32::from(q >> 4) - 8.0) * d;
        }
    }
}

impl Encoder {
    /// Whether this CPU runs the encoder (x86-64 with AVX2 and FMA).
    pub fn supported() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    /// Builds the encoder from f32 tensors named like a Hugging Face BERT checkpoint (with or
    /// without a `bert.` prefix) and the Q4_0 word table.
    pub fn new(
        tensors: &HashMap<String, Tensor>,
        words_q4: Vec<u8>,
        vocab: usize,
        shape: Shape,
    ) -> Result<Self, ModelError> {
        if !Self::supported() {
            return Err(ModelError::Inference(
                "the 8-bit encoder needs a CPU with AVX2 and FMA".into(),
            ));
        }
        let h = shape.hidden;
        let get = |name: &str, len: usize| -> Result<Vec<f32>, ModelError> {
            let t = tensors
                .get(name)
                .or_else(|| tensors.get(&format!("bert.{name}")))
                .ok_or_else(|| {
                    ModelError::Inference(format!("BERT weights: no tensor `{name}`"))
                })?;
            let v = t
                .flatten_all()
                .and_then(|t| t.to_dtype(candle_core::DType::F32))
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(ModelError::inference)?;
            // Exact sizes, except the token-type table (only its row 0 is used): `len` = 0.
            if (len > 0 && v.len() != len) || v.len() < h {
                return Err(ModelError::Inference(format!(
                    "BERT weights: tensor `{name}` has {} values, expected {len}",
                    v.len()
                )));
            }
            Ok(v)
        };
        let norm = |p: &str| -> Result<Norm, ModelError> {
            Ok(Norm {
                gamma: get(&format!("{p}.weight"), h)?,
                beta: get(&format!("{p}.bias"), h)?,
            })
        };
        if !shape.supported() {
            return Err(ModelError::Inference(format!(
                "BERT shape not supported by the 8-bit encoder: hidden {h}, {} heads, intermediate {}",
                shape.heads, shape.intermediate
            )));
        }
        let ff = shape.intermediate;
        let emb_norm = norm("embeddings.LayerNorm")?;
        let mut feeding = emb_norm.outliers();
        let mut feeding_beta = emb_norm.beta.clone();
        let mut layers = Vec::with_capacity(shape.layers);
        for i in 0..shape.layers {
            let p = format!("encoder.layer.{i}");
            let mut w = get(&format!("{p}.attention.self.query.weight"), h * h)?;
            w.extend(get(&format!("{p}.attention.self.key.weight"), h * h)?);
            w.extend(get(&format!("{p}.attention.self.value.weight"), h * h)?);
            let mut b = get(&format!("{p}.attention.self.query.bias"), h)?;
            b.extend(get(&format!("{p}.attention.self.key.bias"), h)?);
            b.extend(get(&format!("{p}.attention.self.value.bias"), h)?);
            let attn_norm = norm(&format!("{p}.attention.output.LayerNorm"))?;
            let ffn_norm = norm(&format!("{p}.output.LayerNorm"))?;
            layers.push(Layer {
                qkv: Dense::new(&w, 3 * h, h, b, feeding, Some(&feeding_beta)),
                attn_out: Dense::new(
                    &get(&format!("{p}.attention.output.dense.weight"), h * h)?,
                    h,
                    h,
                    get(&format!("{p}.attention.output.dense.bias"), h)?,
                    Vec::new(),
                    None,
                ),
                ffn_in: Dense::new(
                    &get(&format!("{p}.intermediate.dense.weight"), ff * h)?,
                    ff,
                    h,
                    get(&format!("{p}.intermediate.dense.bias"), ff)?,
                    attn_norm.outliers(),
                    Some(&attn_norm.beta),
                ),
                attn_norm,
                ffn_out: Dense::new(
                    &get(&format!("{p}.output.dense.weight"), h * ff)?,
                    h,
                    ff,
                    get(&format!("{p}.output.dense.bias"), h)?,
                    Vec::new(),
                    None,
                ),
                feeding: ffn_norm.outliers(),
                ffn_norm,
            });
            feeding = layers[i].feeding.clone();
            feeding_beta = layers[i].ffn_norm.beta.clone();
        }
        if words_q4.len() != vocab * h / 32 * 18 {
            return Err(ModelError::Inference(
                "BERT weights: word table size does not match vocab × hidden".into(),
            ));
        }
        Ok(Self {
            shape,
            vocab,
            words_q4,
            positions: get(
                "embeddings.position_embeddings.weight",
                shape.max_positions * h,
            )?,
            token_type: get("embeddings.token_type_embeddings.weight", 0)?[..h].to_vec(),
            emb_norm,
            layers,
        })
    }

    /// Mean-pooled, L2-normalised embeddings of token-id sequences (special tokens included,
    /// each at most `max_positions` long).
    pub fn embed(&self, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, ModelError> {
        let h = self.shape.hidden;
        let mut starts = Vec::with_capacity(seqs.len() + 1);
        let mut total = 0;
        for s in seqs {
            if s.is_empty() || s.len() > self.shape.max_positions {
                return Err(ModelError::InvalidInput(format!(
                    "a sequence of {} tokens (the encoder takes 1 to {})",
                    s.len(),
                    self.shape.max_positions
                )));
            }
            starts.push(total);
            total += s.len();
        }
        starts.push(total);
        // Embeddings: word + position + token type 0, then LayerNorm.
        let mut x = vec![0f32; total * h];
        for (s, ids) in seqs.iter().enumerate() {
            for (p, &id) in ids.iter().enumerate() {
                let id = id as usize;
                if id >= self.vocab {
                    return Err(ModelError::InvalidInput(format!(
                        "token id {id} outside the vocabulary of {}",
                        self.vocab
                    )));
                }
                let row = &mut x[(starts[s] + p) * h..(starts[s] + p + 1) * h];
                let rb = h / 32 * 18;
                q4_0_row(&self.words_q4[id * rb..(id + 1) * rb], h, row);
                let pos = &self.positions[p * h..(p + 1) * h];
                for ((r, a), b) in row.iter_mut().zip(pos).zip(&self.token_type) {
                    *r += a + b;
                }
            }
        }
        layer_norm(&mut x, None, &self.emb_norm, h, self.shape.eps);
        let ff = self.shape.intermediate;
        let mut q = Quantized::default();
        let mut qkv = vec![0f32; total * 3 * h];
        let mut ctx = vec![0f32; total * h];
        let mut tmp = vec![0f32; total * h];
        let mut inner = vec![0f32; total * ff];
        for layer in &self.layers {
            q.fill(&x, h, &layer.qkv.outliers);
            dense(&layer.qkv, &q, &mut qkv, false);
            self.attention(&qkv, &starts, &mut ctx);
            q.fill(&ctx, h, &[]);
            dense(&layer.attn_out, &q, &mut tmp, false);
            layer_norm(&mut x, Some(&tmp), &layer.attn_norm, h, self.shape.eps);
            q.fill(&x, h, &layer.ffn_in.outliers);
            dense(&layer.ffn_in, &q, &mut inner, true);
            q.fill(&inner, ff, &[]);
            dense(&layer.ffn_out, &q, &mut tmp, false);
            layer_norm(&mut x, Some(&tmp), &layer.ffn_norm, h, self.shape.eps);
        }
        // Mean pooling over each text's tokens, then L2 normalisation.
        Ok(seqs
            .iter()
            .enumerate()
            .map(|(s, ids)| {
                let mut v = vec![0f64; h];
                for t in starts[s]..starts[s] + ids.len() {
                    for (a, b) in v.iter_mut().zip(&x[t * h..(t + 1) * h]) {
                        *a += f64::from(*b);
                    }
                }
                let n = ids.len() as f64;
                let norm = v
                    .iter()
                    .map(|a| (a / n) * (a / n))
                    .sum::<f64>()
                    .sqrt()
                    .max(1e-12);
                v.iter().map(|a| (a / n / norm) as f32).collect()
            })
            .collect())
    }

    /// Self-attention of every text and head over its own tokens: `qkv` rows are
    /// `[query | key | value]`, `ctx` receives the heads' outputs side by side.
    fn attention(&self, qkv: &[f32], starts: &[usize], ctx: &mut [f32]) {
        let h = self.shape.hidden;
        let heads = self.shape.heads;
        let texts = starts.len() - 1;
        let out = SendPtr(ctx.as_mut_ptr());
        candle_core::utils::barrier_pool().execute_chunked(texts * heads, |range| {
            let mut kt = Vec::new();
            let mut scores = Vec::new();
            for unit in range {
                let (s, head) = (unit / heads, unit % heads);
                let (a, b) = (starts[s], starts[s + 1]);
                // SAFETY: `supported()` was checked when the encoder was built; this unit
                // writes only columns `head·dh..(head+1)·dh` of rows `a..b` of `ctx`.
                unsafe {
                    attend(qkv, h, head, a, b, &mut kt, &mut scores, out);
                }
            }
        });
    }
}

/// Activation rows quantized per row to `0..=ACT_MAX` with scale and zero point:
/// `x ≈ scale · (q − zero)`.
#[derive(Default)]
struct Quantized {
    cols: usize,
    q: Vec<u8>,
    scale: Vec<f32>,
    zero: Vec<f32>,
    /// Per row, the f32 values of the outlier channels (quantized as zero).
    outlier_x: Vec<f32>,
}

impl Quantized {
    /// Quantizes the rows of `x` (`cols` wide), keeping channels `outliers` aside in f32.
    fn fill(&mut self, x: &[f32], cols: usize, outliers: &[usize]) {
        let rows = x.len() / cols;
        let n_out = outliers.len();
        self.cols = cols;
        self.q.resize(x.len(), 0);
        self.scale.resize(rows, 0.0);
        self.zero.resize(rows, 0.0);
        self.outlier_x.resize(rows * n_out, 0.0);
        let q = SendPtr(self.q.as_mut_ptr());
        let sc = SendPtr(self.scale.as_mut_ptr());
        let ze = SendPtr(self.zero.as_mut_ptr());
        let ox = SendPtr(self.outlier_x.as_mut_ptr());
        candle_core::utils::barrier_pool().execute_chunked(rows, |range| {
            let mut scratch = Vec::new();
            for r in range {
                let mut row = &x[r * cols..(r + 1) * cols];
                if n_out > 0 {
                    scratch.clear();
                    scratch.extend_from_slice(row);
                    for (i, &c) in outliers.iter().enumerate() {
                        // SAFETY: row `r` of `outlier_x` belongs to this unit alone.
                        unsafe { *ox.ptr().add(r * n_out + i) = scratch[c] };
                        scratch[c] = 0.0;
                    }
                    row = &scratch;
                }
                // SAFETY: row `r` of the outputs belongs to this unit alone; CPU support was
                // checked when the encoder was built.
                unsafe {
                    let out = std::slice::from_raw_parts_mut(q.ptr().add(r * cols), cols);
                    let (s, z) = avx::quantize_row(row, out);
                    *sc.ptr().add(r) = s;
                    *ze.ptr().add(r) = z;
                }
            }
        });
    }
}

/// `out[t] = W · x[t] + b` for every token `t` (GELU applied when `gelu`).
fn dense(d: &Dense, x: &Quantized, out: &mut [f32], gelu: bool) {
    assert_eq!(x.cols, d.inp);
    let tokens = x.scale.len();
    let o = SendPtr(out.as_mut_ptr());
    candle_core::utils::barrier_pool().execute_chunked(d.out / PANEL, |range| {
        for panel in range {
            // SAFETY: CPU support was checked when the encoder was built; the panel writes only
            // its own 16 columns of each output row.
            unsafe { avx::panel(d, x, panel, tokens, o.ptr(), gelu) };
        }
    });
}

/// `x = LayerNorm(x + add)` row by row.
fn layer_norm(x: &mut [f32], add: Option<&[f32]>, n: &Norm, h: usize, eps: f32) {
    let rows = x.len() / h;
    let p = SendPtr(x.as_mut_ptr());
    candle_core::utils::barrier_pool().execute_chunked(rows, |range| {
        for r in range {
            // SAFETY: row `r` belongs to this unit alone.
            let row = unsafe { std::slice::from_raw_parts_mut(p.ptr().add(r * h), h) };
            if let Some(a) = add {
                for (v, a) in row.iter_mut().zip(&a[r * h..(r + 1) * h]) {
                    *v += a;
                }
            }
            // Eight partial sums (vectorised; two passes, as candle's LayerNorm).
            let lanes = |f: &dyn Fn(f32) -> f32| -> f32 {
                let mut acc = [0f32; 8];
                for c in row.chunks_exact(8) {
                    for (a, v) in acc.iter_mut().zip(c) {
                        *a += f(*v);
                    }
                }
                acc.iter().sum::<f32>()
                    + row
                        .chunks_exact(8)
                        .remainder()
                        .iter()
                        .map(|v| f(*v))
                        .sum::<f32>()
            };
            let mean = lanes(&|v| v) / h as f32;
            let var = lanes(&|v| (v - mean) * (v - mean)) / h as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&n.gamma).zip(&n.beta) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    });
}

/// One text's attention for one head (rows `a..b` of `qkv`, 32-wide heads).
///
/// # Safety
/// AVX2 and FMA must be available; no other thread may write the same part of `out`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn attend(
    qkv: &[f32],
    h: usize,
    head: usize,
    a: usize,
    b: usize,
    kt: &mut Vec<f32>,
    scores: &mut Vec<f32>,
    out: SendPtr<f32>,
) {
    const DH: usize = HEAD_DIM;
    let n = b - a;
    let stride = 3 * h;
    // Keys transposed (32 × n, rows padded to a multiple of 8) so scores vectorise over keys.
    let np = n.div_ceil(8) * 8;
    kt.clear();
    kt.resize(DH * np, 0.0);
    for j in 0..n {
        let k = &qkv[(a + j) * stride + h + head * DH..][..DH];
        for (d, v) in k.iter().enumerate() {
            kt[d * np + j] = *v;
        }
    }
    // SAFETY: forwarded from the caller; `kt` is `32 × np`, zero beyond `n`.
    unsafe { avx::attend32(qkv, h, head, a, n, kt, np, scores, out) };
}

mod avx {
    use std::arch::x86_64::*;

    use super::{ACT_MAX, Dense, PANEL, Quantized, TILE};

    /// Quantizes a row (length a multiple of 32) to `0..=ACT_MAX`; returns `(scale, zero)`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn quantize_row(x: &[f32], out: &mut [u8]) -> (f32, f32) {
        let (mut vlo, mut vhi) = (
            _mm256_set1_ps(f32::INFINITY),
            _mm256_set1_ps(f32::NEG_INFINITY),
        );
        for c in x.chunks_exact(8) {
            // SAFETY: `c` holds 8 values.
            let v = unsafe { _mm256_loadu_ps(c.as_ptr()) };
            vlo = _mm256_min_ps(vlo, v);
            vhi = _mm256_max_ps(vhi, v);
        }
        let (mut l8, mut h8) = ([0f32; 8], [0f32; 8]);
        // SAFETY: 8 lanes into 8 floats each.
        unsafe {
            _mm256_storeu_ps(l8.as_mut_ptr(), vlo);
            _mm256_storeu_ps(h8.as_mut_ptr(), vhi);
        }
        let lo = l8.iter().fold(f32::INFINITY, |m, v| m.min(*v));
        let hi = h8.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
        let range = hi - lo;
        let scale = if range > 0.0 { range / ACT_MAX } else { 1.0 };
        let zero = (-lo / scale).round().clamp(0.0, ACT_MAX);
        let inv = _mm256_set1_ps(1.0 / scale);
        let z = _mm256_set1_ps(zero);
        let top = _mm256_set1_epi32(ACT_MAX as i32);
        let bottom = _mm256_setzero_si256();
        let fix = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (c, o) in x.chunks_exact(32).zip(out.chunks_exact_mut(32)) {
            let mut q = [_mm256_setzero_si256(); 4];
            for (k, q) in q.iter_mut().enumerate() {
                // SAFETY: `c` holds 32 values.
                let v = unsafe { _mm256_loadu_ps(c.as_ptr().add(8 * k)) };
                let r = _mm256_cvtps_epi32(_mm256_fmadd_ps(v, inv, z));
                *q = _mm256_min_epi32(_mm256_max_epi32(r, bottom), top);
            }
            let w = _mm256_packs_epi32(q[0], q[1]);
            let w2 = _mm256_packs_epi32(q[2], q[3]);
            let b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w, w2), fix);
            // SAFETY: `o` holds 32 bytes.
            unsafe { _mm256_storeu_si256(o.as_mut_ptr().cast(), b) };
        }
        (scale, zero)
    }

    /// One weight panel (16 rows) against every token, [`TILE`] tokens at a time.
    ///
    /// # Safety
    /// AVX2 and FMA must be available; `out` must be `tokens × d.out` values, and no other
    /// thread may write columns `16·panel..16·panel + 16`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn panel(
        d: &Dense,
        x: &Quantized,
        panel: usize,
        tokens: usize,
        out: *mut f32,
        gelu: bool,
    ) {
        let mut t = 0;
        while t < tokens {
            let n = (tokens - t).min(TILE);
            // SAFETY: forwarded from the caller; `t + n <= tokens`.
            unsafe {
                match n {
                    4 => tile::<4>(d, x, panel, t, out, gelu),
                    3 => tile::<3>(d, x, panel, t, out, gelu),
                    2 => tile::<2>(d, x, panel, t, out, gelu),
                    _ => tile::<1>(d, x, panel, t, out, gelu),
                }
            }
            t += n;
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile<const N: usize>(
        d: &Dense,
        x: &Quantized,
        panel: usize,
        t0: usize,
        out: *mut f32,
        gelu: bool,
    ) {
        let k4 = d.inp / 4;
        let ones = _mm256_set1_epi16(1);
        let mut acc = [[_mm256_setzero_si256(); 2]; N];
        let g0 = d.packed.as_ptr().wrapping_add(2 * panel * k4 * 32);
        let g1 = g0.wrapping_add(k4 * 32);
        let rows: [*const u8; N] =
            std::array::from_fn(|t| x.q.as_ptr().wrapping_add((t0 + t) * d.inp));
        let (mut wp0, mut wp1) = (g0, g1);
        for j in 0..k4 {
            // SAFETY: groups `2·panel` and `2·panel + 1` hold `k4` 32-byte quads (`wp0`, `wp1`
            // advance one quad per step); token rows `t0..t0 + N` hold `inp = 4·k4` bytes each.
            unsafe {
                let w0 = _mm256_loadu_si256(wp0.cast());
                let w1 = _mm256_loadu_si256(wp1.cast());
                wp0 = wp0.add(32);
                wp1 = wp1.add(32);
                for (t, acc) in acc.iter_mut().enumerate() {
                    let q = _mm256_set1_epi32(std::ptr::read_unaligned(
                        rows[t].add(4 * j).cast::<i32>(),
                    ));
                    acc[0] = _mm256_add_epi32(
                        acc[0],
                        _mm256_madd_epi16(_mm256_maddubs_epi16(q, w0), ones),
                    );
                    acc[1] = _mm256_add_epi32(
                        acc[1],
                        _mm256_madd_epi16(_mm256_maddubs_epi16(q, w1), ones),
                    );
                }
            }
        }
        let r0 = panel * PANEL;
        for (t, acc) in acc.iter().enumerate() {
            let tok = t0 + t;
            let sa = _mm256_set1_ps(x.scale[tok]);
            let za = _mm256_set1_ps(x.zero[tok]);
            for (g, acc) in acc.iter().enumerate() {
                let r = r0 + 8 * g;
                // SAFETY: rows `r..r + 8` exist in every per-row table; the output row of
                // `tok` has `d.out` columns and `r + 8 <= d.out`.
                unsafe {
                    let ws = _mm256_loadu_ps(d.wsum.as_ptr().add(r));
                    let sw = _mm256_loadu_ps(d.scale.as_ptr().add(r));
                    let b = _mm256_loadu_ps(d.bias.as_ptr().add(r));
                    let f = _mm256_fnmadd_ps(za, ws, _mm256_cvtepi32_ps(*acc));
                    let mut y = _mm256_fmadd_ps(f, _mm256_mul_ps(sa, sw), b);
                    let n_out = d.outliers.len();
                    for o in 0..n_out {
                        let xo = _mm256_set1_ps(*x.outlier_x.get_unchecked(tok * n_out + o));
                        let wo = _mm256_loadu_ps(d.outlier_w.as_ptr().add(o * d.out + r));
                        y = _mm256_fmadd_ps(xo, wo, y);
                    }
                    if gelu {
                        y = gelu8(y);
                    }
                    _mm256_storeu_ps(out.add(tok * d.out + r), y);
                }
            }
        }
    }

    /// [`super::attend`] for 32-wide heads with the running sums in registers: scores for four
    /// queries at a time (each key load used four times), then each query's weighted sum of
    /// values in four registers.
    ///
    /// # Safety
    /// AVX2 and FMA must be available; `kt` holds the head's keys transposed (`32 × np`, zero
    /// beyond `n`); no other thread writes this head's columns of rows `a..a + n` of `out`.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn attend32(
        qkv: &[f32],
        h: usize,
        head: usize,
        a: usize,
        n: usize,
        kt: &[f32],
        np: usize,
        scores: &mut Vec<f32>,
        out: super::SendPtr<f32>,
    ) {
        const DH: usize = 32;
        let stride = 3 * h;
        let scale = 1.0 / (DH as f32).sqrt();
        scores.clear();
        scores.resize(4 * np, 0.0);
        let qp = qkv.as_ptr();
        let ktp = kt.as_ptr();
        let mut i = 0;
        while i < n {
            let rows = (n - i).min(4);
            // Scores of queries i..i+rows against every key, 8 keys at a time.
            for jb in (0..np).step_by(8) {
                let mut acc = [_mm256_setzero_ps(); 4];
                for d in 0..DH {
                    // SAFETY: `kt` is `32 × np`; `jb + 8 <= np`.
                    let k = unsafe { _mm256_loadu_ps(ktp.add(d * np + jb)) };
                    for (r, acc) in acc.iter_mut().enumerate().take(rows) {
                        // SAFETY: query row `a + i + r` exists (`i + r < n`).
                        let q = unsafe { *qp.add((a + i + r) * stride + head * DH + d) };
                        *acc = _mm256_fmadd_ps(_mm256_set1_ps(q * scale), k, *acc);
                    }
                }
                for (r, acc) in acc.iter().enumerate().take(rows) {
                    // SAFETY: `scores` holds 4 rows of `np`.
                    unsafe { _mm256_storeu_ps(scores.as_mut_ptr().add(r * np + jb), *acc) };
                }
            }
            for r in 0..rows {
                let row = &mut scores[r * np..r * np + n];
                let max = row.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
                // SAFETY: AVX2 and FMA are enabled here.
                let sum = unsafe { exp_shift(row, max) };
                let mut acc = [_mm256_setzero_ps(); 4];
                for (j, p) in row.iter().enumerate() {
                    let p = _mm256_set1_ps(*p);
                    // SAFETY: value row `a + j` exists; the head's 32 values start at
                    // `2h + 32·head`.
                    let v = unsafe { qp.add((a + j) * stride + 2 * h + head * DH) };
                    for (c, acc) in acc.iter_mut().enumerate() {
                        // SAFETY: as above, `8c + 8 <= 32`.
                        *acc = _mm256_fmadd_ps(p, unsafe { _mm256_loadu_ps(v.add(8 * c)) }, *acc);
                    }
                }
                let inv = _mm256_set1_ps(1.0 / sum);
                // SAFETY: this head's columns of row `a + i + r`, written by this unit only.
                let dst = unsafe { out.ptr().add((a + i + r) * h + head * DH) };
                for (c, acc) in acc.iter().enumerate() {
                    // SAFETY: as above.
                    unsafe { _mm256_storeu_ps(dst.add(8 * c), _mm256_mul_ps(*acc, inv)) };
                }
            }
            i += rows;
        }
    }

    /// `exp(x)` for 8 lanes, `x` in [-87, 88] (Cephes' `expf` polynomial, ~2 ulp).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn exp8(x: __m256) -> __m256 {
        let x = _mm256_min_ps(
            _mm256_max_ps(x, _mm256_set1_ps(-87.3)),
            _mm256_set1_ps(88.3),
        );
        let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm256_mul_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E)),
        );
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
        let mut p = _mm256_set1_ps(1.987_569_1e-4);
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.398_199_9e-3));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.333_452e-3));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.166_579_6e-2));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.166_666_66));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5));
        let r2 = _mm256_mul_ps(r, r);
        let y = _mm256_add_ps(_mm256_fmadd_ps(p, r2, r), _mm256_set1_ps(1.0));
        let e = _mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(n),
            _mm256_set1_epi32(127),
        ));
        _mm256_mul_ps(y, _mm256_castsi256_ps(e))
    }

    /// GELU with the exact `erf` form, `0.5·x·(1 + erf(x/√2))`, as BERT uses; `erf` by
    /// Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn gelu8(x: __m256) -> __m256 {
        let z = _mm256_mul_ps(x, _mm256_set1_ps(std::f32::consts::FRAC_1_SQRT_2));
        let sign = _mm256_and_ps(z, _mm256_set1_ps(-0.0));
        let az = _mm256_andnot_ps(_mm256_set1_ps(-0.0), z);
        let t = _mm256_div_ps(
            _mm256_set1_ps(1.0),
            _mm256_fmadd_ps(az, _mm256_set1_ps(0.327_591_1), _mm256_set1_ps(1.0)),
        );
        let mut p = _mm256_set1_ps(1.061_405_4);
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453_152_1));
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421_413_7));
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284_496_72));
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254_829_6));
        p = _mm256_mul_ps(p, t);
        let e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(az, az)));
        let erf_abs = _mm256_fnmadd_ps(p, e, _mm256_set1_ps(1.0));
        let erf = _mm256_or_ps(erf_abs, sign);
        _mm256_mul_ps(
            _mm256_mul_ps(_mm256_set1_ps(0.5), x),
            _mm256_add_ps(_mm256_set1_ps(1.0), erf),
        )
    }

    /// `s = exp(s − max)` in place; returns the sum.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn exp_shift(s: &mut [f32], max: f32) -> f32 {
        let m = _mm256_set1_ps(max);
        let mut sum = _mm256_setzero_ps();
        let mut chunks = s.chunks_exact_mut(8);
        for c in &mut chunks {
            // SAFETY: `c` holds 8 values.
            unsafe {
                let e = exp8(_mm256_sub_ps(_mm256_loadu_ps(c.as_ptr()), m));
                sum = _mm256_add_ps(sum, e);
                _mm256_storeu_ps(c.as_mut_ptr(), e);
            }
        }
        let mut lanes = [0f32; 8];
        // SAFETY: 8 lanes into 8 floats.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
        let mut total: f32 = lanes.iter().sum();
        for v in chunks.into_remainder() {
            let mut tail = [0f32; 8];
            tail[0] = *v - max;
            // SAFETY: 8 floats in and out.
            unsafe {
                _mm256_storeu_ps(tail.as_mut_ptr(), exp8(_mm256_loadu_ps(tail.as_ptr())));
            }
            *v = tail[0];
            total += tail[0];
        }
        total
    }
}
