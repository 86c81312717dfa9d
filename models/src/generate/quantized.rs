//! A quantized decoder-only transformer read from GGUF: the `qwen2` (q/k/v biases, NeoX rotary)
//! and `llama` (no biases, interleaved rotary, often tied embeddings) architectures.
//!
//! Unlike candle-transformers' `quantized_qwen2` / `quantized_llama`, the weights here are
//! immutable and shared between requests (`Arc`), and each request owns a [`KvCache`] that is
//! allocated once at the size it needs and filled in place (no concatenation per step). Grouped
//! query attention folds the query heads onto their key/value head instead of repeating the
//! cache, so a decode step never copies the cache.

use std::io::{Read, Seek};
use std::path::Path;

use candle_core::quantized::{QMatMul, QTensor, gguf_file};
use candle_core::{DType, Device, Module, Result, Tensor};

use super::gemv::Gemv;

/// A projection: candle's quantized matmul, plus the decode-step kernel of [`super::gemv`] where
/// the weight type has one.
struct Proj {
    w: QMatMul,
    gemv: Option<Gemv>,
}

impl Proj {
    fn new(t: QTensor) -> Result<Self> {
        let gemv = Gemv::new(&t);
        Ok(Self {
            w: QMatMul::from_qtensor(t)?,
            gemv,
        })
    }
}

/// The architecture-specific differences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Qwen2 / Qwen2.5.
    Qwen2,
    /// Llama and its relatives (SmolLM2).
    Llama,
}

/// Hyper-parameters read from the GGUF metadata.
#[derive(Debug, Clone)]
pub struct Config {
    /// Which architecture.
    pub arch: Arch,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads.
    pub n_kv_head: usize,
    /// Per-head size.
    pub head_dim: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Layers.
    pub layers: usize,
    /// RMS-norm epsilon.
    pub eps: f32,
    /// Rotary base.
    pub rope_base: f32,
    /// The longest context in tokens.
    pub context_length: usize,
    /// Vocabulary size.
    pub vocab: usize,
}

struct Layer {
    attn_norm: Tensor,
    wq: Proj,
    wk: Proj,
    wv: Proj,
    bq: Option<Tensor>,
    bk: Option<Tensor>,
    bv: Option<Tensor>,
    wo: Proj,
    ffn_norm: Tensor,
    gate: Proj,
    up: Proj,
    down: Proj,
}

/// The weights of a model, shared read-only by every request.
pub struct Weights {
    /// Its hyper-parameters.
    pub config: Config,
    embed: QTensor,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Proj,
    cos: Tensor,
    sin: Tensor,
}

/// One request's attention cache: per layer, keys and values of every position so far, in
/// buffers allocated once with room for the whole request.
pub struct KvCache {
    k: Vec<Tensor>,
    v: Vec<Tensor>,
    len: usize,
    cap: usize,
}

impl KvCache {
    /// How many positions are cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many positions fit.
    pub fn capacity(&self) -> usize {
        self.cap
    }
}

fn md_u32(ct: &gguf_file::Content, key: &str) -> Result<usize> {
    match ct.metadata.get(key) {
        Some(v) => Ok(v.to_u32()? as usize),
        None => candle_core::bail!("missing GGUF metadata `{key}`"),
    }
}

impl Weights {
    /// Reads the weights named by llama.cpp's GGUF convention.
    pub fn from_gguf<R: Read + Seek>(
        ct: &gguf_file::Content,
        r: &mut R,
        path: &Path,
    ) -> Result<Self> {
        let dev = Device::Cpu;
        let arch_name = ct
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        let arch = match arch_name.as_str() {
            "qwen2" => Arch::Qwen2,
            "llama" => Arch::Llama,
            other => candle_core::bail!(
                "{}: architecture `{other}` is not supported (qwen2, llama)",
                path.display()
            ),
        };
        let a = &arch_name;
        let n_head = md_u32(ct, &format!("{a}.attention.head_count"))?;
        let n_kv_head = md_u32(ct, &format!("{a}.attention.head_count_kv"))?;
        let hidden = md_u32(ct, &format!("{a}.embedding_length"))?;
        let layers_n = md_u32(ct, &format!("{a}.block_count"))?;
        let context_length = md_u32(ct, &format!("{a}.context_length"))?;
        let eps = ct
            .metadata
            .get(&format!("{a}.attention.layer_norm_rms_epsilon"))
            .and_then(|v| v.to_f32().ok())
            .unwrap_or(1e-6);
        let rope_base = ct
            .metadata
            .get(&format!("{a}.rope.freq_base"))
            .and_then(|v| v.to_f32().ok())
            .unwrap_or(10_000.0);
        if n_head == 0 || n_kv_head == 0 || hidden % n_head != 0 || n_head % n_kv_head != 0 {
            candle_core::bail!("{}: inconsistent head counts", path.display());
        }
        let head_dim = hidden / n_head;
        let t = |name: &str, r: &mut R| ct.tensor(r, name, &dev);
        let deq = |name: &str, r: &mut R| -> Result<Tensor> { t(name, r)?.dequantize(&dev) };
        let embed = t("token_embd.weight", r)?;
        let vocab = embed.shape().dims()[0];
        let output = match ct.tensor_infos.contains_key("output.weight") {
            true => Proj::new(t("output.weight", r)?)?,
            false => Proj::new(t("token_embd.weight", r)?)?,
        };
        let mut layers = Vec::with_capacity(layers_n);
        for i in 0..layers_n {
            let p = format!("blk.{i}");
            let q = |n: &str, r: &mut R| -> Result<Proj> {
                Proj::new(t(&format!("{p}.{n}.weight"), r)?)
            };
            let bias = |n: &str, r: &mut R| -> Result<Option<Tensor>> {
                let name = format!("{p}.{n}.bias");
                if ct.tensor_infos.contains_key(&name) {
                    Ok(Some(deq(&name, r)?))
                } else {
                    Ok(None)
                }
            };
            layers.push(Layer {
                attn_norm: deq(&format!("{p}.attn_norm.weight"), r)?,
                wq: q("attn_q", r)?,
                wk: q("attn_k", r)?,
                wv: q("attn_v", r)?,
                bq: bias("attn_q", r)?,
                bk: bias("attn_k", r)?,
                bv: bias("attn_v", r)?,
                wo: q("attn_output", r)?,
                ffn_norm: deq(&format!("{p}.ffn_norm.weight"), r)?,
                gate: q("ffn_gate", r)?,
                up: q("ffn_up", r)?,
                down: q("ffn_down", r)?,
            });
        }
        let norm = deq("output_norm.weight", r)?;
        let theta: Vec<f32> = (0..head_dim)
            .step_by(2)
            .map(|i| 1f32 / rope_base.powf(i as f32 / head_dim as f32))
            .collect();
        let theta = Tensor::new(theta.as_slice(), &dev)?;
        let idx = Tensor::arange(0, context_length as u32, &dev)?
            .to_dtype(DType::F32)?
            .reshape((context_length, 1))?;
        let freqs = idx.matmul(&theta.reshape((1, head_dim / 2))?)?;
        Ok(Self {
            config: Config {
                arch,
                n_head,
                n_kv_head,
                head_dim,
                hidden,
                layers: layers_n,
                eps,
                rope_base,
                context_length,
                vocab,
            },
            embed,
            layers,
            norm,
            output,
            cos: freqs.cos()?,
            sin: freqs.sin()?,
        })
    }

    /// A cache with room for `cap` positions (at most the context length).
    pub fn new_cache(&self, cap: usize) -> Result<KvCache> {
        let c = &self.config;
        let cap = cap.clamp(1, c.context_length);
        let mk = || Tensor::zeros((1, c.n_kv_head, cap, c.head_dim), DType::F32, &Device::Cpu);
        let mut k = Vec::with_capacity(c.layers);
        let mut v = Vec::with_capacity(c.layers);
        for _ in 0..c.layers {
            k.push(mk()?);
            v.push(mk()?);
        }
        Ok(KvCache { k, v, len: 0, cap })
    }

    fn rope(&self, x: &Tensor, pos: usize, seq: usize) -> Result<Tensor> {
        let cos = self.cos.narrow(0, pos, seq)?;
        let sin = self.sin.narrow(0, pos, seq)?;
        match self.config.arch {
            Arch::Qwen2 => candle_nn::rotary_emb::rope(x, &cos, &sin),
            Arch::Llama => candle_nn::rotary_emb::rope_i(x, &cos, &sin),
        }
    }

    /// Runs `tokens` (appended after what `cache` holds) and returns the logits of the last one
    /// as a `[vocab]` tensor.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let x = self.hidden(tokens, cache)?;
        let seq = tokens.len();
        let last = x.narrow(1, seq - 1, 1)?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, self.config.eps)?;
        mm(&self.output, &last, 1)?
            .flatten_all()?
            .to_dtype(DType::F32)
    }

    /// [`Weights::forward`] returning the logits of every one of `tokens`, `[seq, vocab]`
    /// (for the log-probabilities of a prompt).
    pub fn forward_all(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let x = self.hidden(tokens, cache)?;
        let seq = tokens.len();
        let x = candle_nn::ops::rms_norm(&x, &self.norm, self.config.eps)?;
        mm(&self.output, &x, seq)?.squeeze(0)?.to_dtype(DType::F32)
    }

    /// The last layer's hidden states of `tokens`, `[1, seq, hidden]`, after the cache.
    fn hidden(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let c = &self.config;
        let seq = tokens.len();
        let pos = cache.len;
        if seq == 0 {
            candle_core::bail!("no tokens to run");
        }
        if pos + seq > cache.cap {
            candle_core::bail!(
                "the cache holds {} positions; {} more do not fit",
                cache.cap,
                pos + seq
            );
        }
        let dev = Device::Cpu;
        let ids = Tensor::new(tokens, &dev)?;
        let mut x = self.embed.embedding(&ids)?.unsqueeze(0)?; // [1, seq, hidden]
        let n_rep = c.n_head / c.n_kv_head;
        let mask = if seq > 1 {
            Some(causal_mask(seq, pos, n_rep)?)
        } else {
            None
        };
        let scale = 1.0 / (c.head_dim as f64).sqrt();
        for (li, l) in self.layers.iter().enumerate() {
            let h = candle_nn::ops::rms_norm(&x, &l.attn_norm, c.eps)?;
            let add = |t: Tensor, b: &Option<Tensor>| match b {
                Some(b) => t.broadcast_add(b),
                None => Ok(t),
            };
            let [q, k, v] = mm_many([&l.wq, &l.wk, &l.wv], &h, seq)?;
            let q = add(q, &l.bq)?;
            let k = add(k, &l.bk)?;
            let v = add(v, &l.bv)?;
            let q = q
                .reshape((1, seq, c.n_head, c.head_dim))?
                .transpose(1, 2)?
                .contiguous()?;
            let k = k
                .reshape((1, seq, c.n_kv_head, c.head_dim))?
                .transpose(1, 2)?
                .contiguous()?;
            let v = v
                .reshape((1, seq, c.n_kv_head, c.head_dim))?
                .transpose(1, 2)?
                .contiguous()?;
            let q = self.rope(&q, pos, seq)?;
            let k = self.rope(&k, pos, seq)?;
            cache.k[li].slice_set(&k, 2, pos)?;
            cache.v[li].slice_set(&v, 2, pos)?;
            let t = pos + seq;
            let kall = cache.k[li].narrow(2, 0, t)?;
            let vall = cache.v[li].narrow(2, 0, t)?;
            // Fold the query heads that share a key/value head into one batch row.
            let q = q.reshape((1, c.n_kv_head, n_rep * seq, c.head_dim))?;
            let att = (q.matmul(&kall.t()?)? * scale)?;
            let att = match &mask {
                Some(m) => att.broadcast_add(m)?,
                None => att,
            };
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att.matmul(&vall)?; // [1, n_kv, n_rep*seq, hd]
            let y = y
                .reshape((1, c.n_head, seq, c.head_dim))?
                .transpose(1, 2)?
                .reshape((1, seq, c.hidden))?;
            let y = mm(&l.wo, &y, seq)?;
            x = (x + y)?;
            let h = candle_nn::ops::rms_norm(&x, &l.ffn_norm, c.eps)?;
            let [g, u] = mm_many([&l.gate, &l.up], &h, seq)?;
            let g = candle_nn::ops::silu(&g)?;
            let y = mm(&l.down, &(g * u)?, seq)?;
            x = (x + y)?;
        }
        cache.len += seq;
        Ok(x)
    }
}

impl Weights {
    /// The time of one decode step's matrix-vector products alone (every layer's projections and
    /// the output head, on a random vector), averaged over `iters` steps: the floor under a
    /// decode step, to compare with the whole step when profiling. `candle_only` times candle's
    /// own kernels instead of the decode kernels of [`super::gemv`].
    pub fn matmul_floor(&self, iters: usize, candle_only: bool) -> Result<std::time::Duration> {
        let c = &self.config;
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1.0, (1, 1, c.hidden), &dev)?;
        let f = |p: &Proj, x: &Tensor| match candle_only {
            true => p.w.forward(x),
            false => mm(p, x, 1),
        };
        let t = std::time::Instant::now();
        for _ in 0..iters.max(1) {
            for l in &self.layers {
                f(&l.wq, &x)?;
                f(&l.wk, &x)?;
                f(&l.wv, &x)?;
                f(&l.wo, &x)?;
                let g = f(&l.gate, &x)?;
                f(&l.up, &x)?;
                f(&l.down, &g)?;
            }
            f(&self.output, &x)?;
        }
        Ok(t.elapsed() / iters.max(1) as u32)
    }
}

/// Tokens in a forward pass from which a Q8_0 (or other non-k-quant) matrix is dequantized and
/// multiplied in f32. candle's AVX2 kernels for those types run a matrix-vector product per
/// prompt token, streaming the whole matrix from memory each time; one dequantization plus an
/// f32 GEMM is several times faster for prompts. k-quants (Q4_K, Q6_K) have tiled kernels and
/// keep them.
const DEQUANT_PREFILL_MIN: usize = 8;

/// `x @ w.T`: the decode kernels for a few rows, else the prefill strategy above.
fn mm(p: &Proj, x: &Tensor, seq: usize) -> Result<Tensor> {
    use candle_core::quantized::GgmlDType as G;
    let QMatMul::QTensor(q) = &p.w else {
        return p.w.forward(x);
    };
    if seq <= GEMV_MAX
        && let Some(g) = &p.gemv
    {
        return g.forward(q, x);
    }
    if seq >= DEQUANT_PREFILL_MIN
        && !matches!(
            q.dtype(),
            G::Q2K | G::Q3K | G::Q4K | G::Q5K | G::Q6K | G::Q8K
        )
    {
        let wf = q.dequantize(x.device())?;
        return x.broadcast_matmul(&wf.t()?);
    }
    p.w.forward(x)
}

/// Up to this many tokens in a pass, the decode kernels of [`super::gemv`] run (each weight row
/// is read once for all of them); from [`DEQUANT_PREFILL_MIN`] on, the prefill strategy.
const GEMV_MAX: usize = DEQUANT_PREFILL_MIN - 1;
const _: () = assert!(GEMV_MAX <= super::gemv::MAX_M);

/// [`mm`] of several projections of the same input; for a few tokens, one dispatch of the
/// decode kernels when every projection has one.
fn mm_many<const N: usize>(ps: [&Proj; N], x: &Tensor, seq: usize) -> Result<[Tensor; N]> {
    if seq <= GEMV_MAX {
        let parts: Vec<(&Gemv, &QTensor)> = ps
            .iter()
            .filter_map(|p| match (&p.gemv, &p.w) {
                (Some(g), QMatMul::QTensor(q)) => Some((g, q.as_ref())),
                _ => None,
            })
            .collect();
        if parts.len() == N {
            let outs = Gemv::forward_many(&parts, x)?;
            return outs
                .try_into()
                .map_err(|_| candle_core::Error::Msg("gemv: output count".into()));
        }
    }
    let mut outs = Vec::with_capacity(N);
    for p in ps {
        outs.push(mm(p, x, seq)?);
    }
    outs.try_into()
        .map_err(|_| candle_core::Error::Msg("gemv: output count".into()))
}

/// The additive causal mask for `seq` new positions after `pos` cached ones, repeated for the
/// `n_rep` query heads folded onto each key/value head: `[n_rep * seq, pos + seq]`.
fn causal_mask(seq: usize, pos: usize, n_rep: usize) -> Result<Tensor> {
    let t = pos + seq;
    let mut m = Vec::with_capacity(n_rep * seq * t);
    for _ in 0..n_rep {
        for i in 0..seq {
            for j in 0..t {
                m.push(if j > pos + i { f32::NEG_INFINITY } else { 0.0 });
            }
        }
    }
    Tensor::from_vec(m, (n_rep * seq, t), &Device::Cpu)
}
