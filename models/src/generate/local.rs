//! The local generator: a GGUF model run in-process with candle ([`super::quantized`]), its
//! tokenizer and chat template read from the same file. Loaded once and shared (`Clone` is an
//! `Arc` clone); requests go through a bounded [`RequestQueue`].

use std::fs::File;
use std::io::BufReader;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use candle_core::quantized::gguf_file;
use candle_core::quantized::tokenizer::TokenizerFromGguf;
use tokenizers::Tokenizer;

use super::quantized::{Arch, Weights};
use super::queue::RequestQueue;
use super::sampler::{Rng, logprobs, sample};
use super::template::ChatTemplate;
use super::tools::{self, StreamGate, Tool, ToolChoice, Written};
use super::{
    ChatRequest, ChatResponse, FinishReason, Generator, Message, Prompt, ResponseFormat, Role,
    Timings, TokenLogprob, TokenizerInfo, Usage, check_json,
};
use crate::error::ModelError;
use crate::json::{JsonConstraint, SchemaLimits, TokenTable};
use crate::store::{Format, ModelEntry};

/// How a local generator runs.
#[derive(Debug, Clone)]
pub struct GeneratorOptions {
    /// Requests that may wait or run at once before [`ModelError::Busy`].
    pub queue_capacity: usize,
    /// Use at most this much context (defaults to the model's own, capped at 8192 so that one
    /// request's cache stays bounded).
    pub max_context: usize,
    /// Tokens per prefill chunk (bounds the attention matrix of long prompts).
    pub prefill_chunk: usize,
    /// Constrained JSON: when the schema forces the next bytes (a required key, `":`, a
    /// closing bracket), feed their tokens through the model in one step instead of decoding
    /// them one at a time ("jump forward"). The output is the same document in compact form.
    pub jump_forward: bool,
    /// What a `response_format` JSON Schema may ask of constrained decoding (size, depth,
    /// counts); a schema over a limit is refused with [`ModelError::Schema`] before the queue.
    pub schema_limits: SchemaLimits,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        Self {
            queue_capacity: 8,
            max_context: 8192,
            prefill_chunk: 512,
            jump_forward: true,
            schema_limits: SchemaLimits::default(),
        }
    }
}

struct Inner {
    id: String,
    path: PathBuf,
    weights: Weights,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    eos: Vec<u32>,
    /// Every token's bytes (`None` for special tokens), for constrained JSON.
    token_bytes: Vec<Option<Vec<u8>>>,
    table: OnceLock<Arc<TokenTable>>,
    /// The text of every special token (`<|im_start|>` ...), defused in message contents.
    specials: Vec<String>,
    queue: RequestQueue,
    context: usize,
    opts: GeneratorOptions,
    /// The BOS token, and whether a raw text prompt starts with it.
    bos: Option<u32>,
    add_bos: bool,
    bos_text: String,
    eos_text: String,
}

/// Tokens per prefill chunk when the prompt's log-probabilities are wanted (every position's
/// logits are kept: chunk × vocabulary floats).
const ECHO_CHUNK: usize = 256;

/// A GGUF model (qwen2 or llama architecture) run on the CPU with candle.
#[derive(Clone)]
pub struct LocalGenerator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LocalGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalGenerator")
            .field("id", &self.inner.id)
            .field("path", &self.inner.path)
            .finish()
    }
}

/// GPT-2's byte-to-character table, inverted: which byte each character of a byte-level BPE
/// token stands for.
fn byte_level_decoder() -> std::collections::HashMap<char, u8> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.into_iter()
        .zip(cs)
        .filter_map(|(b, c)| char::from_u32(c).map(|c| (c, b as u8)))
        .collect()
}

impl LocalGenerator {
    /// Loads an installed or registered GGUF model.
    pub fn load(entry: &ModelEntry, opts: GeneratorOptions) -> Result<Self, ModelError> {
        if entry.manifest.format != Format::Gguf {
            return Err(ModelError::InvalidInput(format!(
                "model `{}` is not a GGUF generator",
                entry.manifest.name
            )));
        }
        Self::load_file(&entry.weights(), &entry.manifest.name, opts)
    }

    /// Loads a GGUF file directly.
    pub fn load_file(path: &Path, id: &str, opts: GeneratorOptions) -> Result<Self, ModelError> {
        let bad = |reason: String| ModelError::BadModelFile {
            path: path.to_path_buf(),
            reason,
        };
        let f = File::open(path).map_err(|e| ModelError::io(path, e))?;
        let mut r = BufReader::new(f);
        let ct = gguf_file::Content::read(&mut r).map_err(|e| bad(format!("not GGUF: {e}")))?;
        let weights = Weights::from_gguf(&ct, &mut r, path).map_err(|e| bad(e.to_string()))?;
        let mut tokenizer =
            Tokenizer::from_gguf(&ct).map_err(|e| bad(format!("tokenizer: {e}")))?;
        let pre = ct
            .metadata
            .get("tokenizer.ggml.pre")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        if weights.config.arch == Arch::Llama && pre == "smollm" {
            // SmolLM's tokenizer.json: digits split one by one, then byte-level without a
            // prefix space; candle's GPT-2 default would add a space and group digits.
            use tokenizers::pre_tokenizers::{
                byte_level::ByteLevel, digits::Digits, sequence::Sequence,
            };
            tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
                Digits::new(true).into(),
                ByteLevel::new(false, true, false).into(),
            ])));
        }
        let tokens: Vec<String> = ct
            .metadata
            .get("tokenizer.ggml.tokens")
            .and_then(|v| v.to_vec().ok())
            .map(|v| {
                v.iter()
                    .map(|t| t.to_string().cloned().unwrap_or_default())
                    .collect()
            })
            .ok_or_else(|| bad("no tokenizer.ggml.tokens".into()))?;
        let types: Vec<u32> = ct
            .metadata
            .get("tokenizer.ggml.token_type")
            .and_then(|v| v.to_vec().ok())
            .map(|v| {
                v.iter()
                    .map(|t| {
                        t.to_i32()
                            .map(|x| x as u32)
                            .or_else(|_| t.to_u32())
                            .unwrap_or(1)
                    })
                    .collect()
            })
            .unwrap_or_else(|| vec![1; tokens.len()]);
        let md_id = |k: &str| {
            ct.metadata.get(k).and_then(|v| {
                v.to_u32()
                    .ok()
                    .or_else(|| v.to_i32().ok().map(|x| x as u32))
            })
        };
        let tok_text = |id: Option<u32>| {
            id.and_then(|i| tokens.get(i as usize))
                .cloned()
                .unwrap_or_default()
        };
        let mut eos: Vec<u32> = md_id("tokenizer.ggml.eos_token_id").into_iter().collect();
        for name in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>"] {
            if let Some(i) = tokens.iter().position(|t| t == name)
                && types.get(i).copied().unwrap_or(1) != 1
                && !eos.contains(&(i as u32))
            {
                eos.push(i as u32);
            }
        }
        let template_src = ct
            .metadata
            .get("tokenizer.chat_template")
            .and_then(|v| v.to_string().ok())
            .cloned();
        let bos_text = tok_text(md_id("tokenizer.ggml.bos_token_id"));
        let eos_text = tok_text(md_id("tokenizer.ggml.eos_token_id"));
        let template = ChatTemplate::new(template_src.as_deref(), &bos_text, &eos_text)?;
        let bos = md_id("tokenizer.ggml.bos_token_id");
        let add_bos = ct
            .metadata
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(false)
            && bos.is_some();
        let dec = byte_level_decoder();
        let token_bytes: Vec<Option<Vec<u8>>> = tokens
            .iter()
            .zip(types.iter().chain(std::iter::repeat(&1)))
            .map(|(t, &ty)| {
                if ty != 1 {
                    return None;
                }
                t.chars().map(|c| dec.get(&c).copied()).collect()
            })
            .collect();
        let specials: Vec<String> = tokens
            .iter()
            .zip(&types)
            .filter(|(t, ty)| **ty != 1 && t.starts_with('<') && t.len() > 2)
            .map(|(t, _)| t.clone())
            .collect();
        let context = weights.config.context_length.min(opts.max_context);
        Ok(Self {
            inner: Arc::new(Inner {
                id: id.to_string(),
                path: path.to_path_buf(),
                queue: RequestQueue::new(id, opts.queue_capacity),
                weights,
                tokenizer,
                template,
                eos,
                token_bytes,
                table: OnceLock::new(),
                specials,
                context,
                opts,
                bos,
                add_bos,
                bos_text,
                eos_text,
            }),
        })
    }

    /// A token's bytes: its text for special tokens.
    fn bytes_of(&self, id: u32) -> Vec<u8> {
        match self.inner.token_bytes.get(id as usize) {
            Some(Some(b)) => b.clone(),
            _ => self
                .inner
                .tokenizer
                .id_to_token(id)
                .unwrap_or_default()
                .into_bytes(),
        }
    }

    /// The log-probability entry of `chosen` under `logits`, with `k` alternatives.
    fn logprob_entry(&self, logits: &[f32], chosen: u32, k: usize) -> TokenLogprob {
        let (lp, top) = logprobs(logits, chosen, k);
        TokenLogprob {
            id: chosen,
            bytes: self.bytes_of(chosen),
            logprob: Some(lp),
            top: top
                .into_iter()
                .map(|(id, l)| (id, self.bytes_of(id), l))
                .collect(),
        }
    }

    /// The tokenizer read from the GGUF file.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.inner.tokenizer
    }

    /// Token ids of `text` (special-token text such as `<|im_start|>` is recognised).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        self.inner
            .tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| ModelError::Inference(format!("tokenizer of {}: {e}", self.inner.id)))
    }

    /// The prompt text the chat template makes of `req`'s messages. Special-token text inside
    /// a message (`<|im_end|>`, `<|im_start|>system` …) is defused with a zero-width space
    /// after its `<`, so that a user cannot close their turn and speak as the system.
    pub fn render(&self, req: &ChatRequest) -> Result<String, ModelError> {
        let mut messages = self.defused(req);
        if !self.inner.template.takes_tools() {
            tools::calls_as_text(&mut messages);
        }
        self.inner.template.render(&messages)
    }

    /// `req`'s messages with special-token text defused (see [`LocalGenerator::render`]).
    fn defused(&self, req: &ChatRequest) -> Vec<Message> {
        let specials = &self.inner.specials;
        let defuse = |text: &str| -> String {
            let mut out = text.to_string();
            for sp in specials.iter().filter(|sp| text.contains(sp.as_str())) {
                out = out.replace(sp.as_str(), &format!("<\u{200B}{}", &sp[1..]));
            }
            out
        };
        req.messages
            .iter()
            .map(|m| Message {
                content: defuse(&m.content),
                ..m.clone()
            })
            .collect()
    }

    /// The vocabulary indexed for constrained JSON (built on first use, then shared).
    pub fn token_table(&self) -> Arc<TokenTable> {
        self.inner
            .table
            .get_or_init(|| {
                Arc::new(TokenTable::new(
                    self.inner.token_bytes.clone(),
                    self.inner.eos.clone(),
                ))
            })
            .clone()
    }

    /// The model's hyper-parameters.
    pub fn config(&self) -> &super::quantized::Config {
        &self.inner.weights.config
    }

    /// Milliseconds of one decode step's matrix products alone (see
    /// [`Weights::matmul_floor`]), for profiling; `candle_only` times candle's own kernels.
    pub fn matmul_only_ms(&self, iters: usize, candle_only: bool) -> f64 {
        self.inner
            .weights
            .matmul_floor(iters, candle_only)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    }

    /// The request queue (for its length).
    pub fn queue(&self) -> &RequestQueue {
        &self.inner.queue
    }

    /// The tokens of the bytes `c` forces next (at most `room`), already taken by `c`; empty
    /// when fewer than two tokens are forced. The last token of the forced text is left to the
    /// model, so that it may merge with what follows (`":` + `"` → `":"`) as the model's own
    /// tokenization would.
    fn forced_tokens(&self, c: &mut JsonConstraint, room: usize) -> Vec<u32> {
        let forced = c.forced_bytes(256);
        if forced.len() < 2 || room == 0 {
            return Vec::new();
        }
        let text = match std::str::from_utf8(&forced) {
            Ok(t) => t,
            Err(e) => match std::str::from_utf8(&forced[..e.valid_up_to()]) {
                Ok(t) => t,
                Err(_) => return Vec::new(),
            },
        };
        let Ok(enc) = self.inner.tokenizer.encode(text, false) else {
            return Vec::new();
        };
        let ids = enc.get_ids();
        if ids.len() < 2 {
            return Vec::new();
        }
        let ids = &ids[..(ids.len() - 1).min(room)];
        // The tokens must spell exactly the forced bytes (no added prefix space or special
        // token), and the constraint must take them.
        let mut spelled = Vec::new();
        for &t in ids {
            match self
                .inner
                .token_bytes
                .get(t as usize)
                .and_then(|b| b.as_deref())
            {
                Some(b) => spelled.extend_from_slice(b),
                None => return Vec::new(),
            }
        }
        if !forced.starts_with(&spelled) || !c.advance_all(ids) {
            return Vec::new();
        }
        ids.to_vec()
    }

    /// Generates from raw prompt token ids (no chat template): the core loop behind
    /// [`Generator::chat_stream`], public for benchmarks and golden tests.
    pub fn generate_ids(
        &self,
        prompt: &[u32],
        req: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse, ModelError> {
        self.generate_full(prompt, req, false, on_delta)
    }

    /// [`LocalGenerator::generate_ids`]; `echo`: also the prompt tokens' log-probabilities
    /// (and `max_tokens` may be 0).
    fn generate_full(
        &self,
        prompt: &[u32],
        req: &ChatRequest,
        echo: bool,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse, ModelError> {
        let inner = &*self.inner;
        if prompt.is_empty() {
            return Err(ModelError::InvalidInput("the prompt is empty".into()));
        }
        if prompt.len() >= inner.context {
            return Err(ModelError::ContextLength {
                model: inner.id.clone(),
                prompt_tokens: prompt.len(),
                context: inner.context,
            });
        }
        if req.max_tokens == 0 && !echo {
            return Err(ModelError::InvalidInput(
                "max_tokens must be at least 1".into(),
            ));
        }
        if let Some(k) = req.logprobs
            && k > super::MAX_TOP_LOGPROBS
        {
            return Err(ModelError::InvalidInput(format!(
                "at most {} alternatives per token can be reported, not {k}",
                super::MAX_TOP_LOGPROBS
            )));
        }
        let top_k = req.logprobs.unwrap_or(0);
        let mut constraint = match &req.response_format {
            ResponseFormat::Text => None,
            ResponseFormat::JsonSchema(s) => Some((
                JsonConstraint::with_limits(s, &inner.opts.schema_limits, self.token_table())?,
                s,
            )),
        };
        let ticket = inner.queue.admit()?;
        let running = match req.cancel.deadline() {
            Some((at, limit)) => ticket.wait_until(at).ok_or_else(|| ModelError::Timeout {
                model: inner.id.clone(),
                limit_ms: limit.as_millis() as u64,
            })?,
            None => ticket.wait(),
        };
        let mut timings = Timings {
            queued: running.waited,
            ..Timings::default()
        };
        let budget = req.max_tokens.min(inner.context - prompt.len());
        let w = &inner.weights;
        let mut cache = w
            .new_cache(prompt.len() + budget)
            .map_err(ModelError::inference)?;
        let t0 = Instant::now();
        let mut logits = None;
        let mut prompt_lp: Option<Vec<TokenLogprob>> = echo.then(|| {
            vec![TokenLogprob {
                id: prompt[0],
                bytes: self.bytes_of(prompt[0]),
                logprob: None,
                top: Vec::new(),
            }]
        });
        let chunk_len = match echo {
            true => ECHO_CHUNK.min(inner.opts.prefill_chunk.max(1)),
            false => inner.opts.prefill_chunk.max(1),
        };
        let mut done = 0;
        for chunk in prompt.chunks(chunk_len) {
            if req.cancel.is_cancelled() {
                break;
            }
            if let Some(lps) = prompt_lp.as_mut() {
                let all = w
                    .forward_all(chunk, &mut cache)
                    .map_err(ModelError::inference)?;
                let rows: Vec<Vec<f32>> = all.to_vec2().map_err(ModelError::inference)?;
                for (j, row) in rows.iter().enumerate() {
                    if let Some(&next) = prompt.get(done + j + 1) {
                        lps.push(self.logprob_entry(row, next, top_k));
                    }
                }
                logits = Some(all.get(chunk.len() - 1).map_err(ModelError::inference)?);
            } else {
                logits = Some(
                    w.forward(chunk, &mut cache)
                        .map_err(ModelError::inference)?,
                );
            }
            done += chunk.len();
        }
        timings.prefill = t0.elapsed();
        let mut out_lp: Vec<TokenLogprob> = Vec::new();
        let t1 = Instant::now();
        let mut rng = Rng::new(req.sampling.seed);
        let mut out: Vec<u32> = Vec::new();
        let mut history: Vec<u32> = prompt.to_vec();
        let mut stream = inner.tokenizer.decode_stream(true);
        let mut text = String::new();
        let mut sent = 0usize;
        let hold = req
            .stop
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(1)
            .saturating_sub(1);
        let mut finish = FinishReason::Length;
        let mut masking = Duration::ZERO;
        'decode: loop {
            if req.cancel.is_cancelled() {
                finish = FinishReason::Cancelled;
                break;
            }
            if let Some((c, _)) = &constraint
                && c.is_done()
            {
                finish = FinishReason::Stop;
                break;
            }
            if out.len() >= budget {
                break;
            }
            let Some(l) = logits.take() else {
                finish = FinishReason::Cancelled;
                break;
            };
            let mut l: Vec<f32> = l.to_vec1().map_err(ModelError::inference)?;
            let raw = req.logprobs.is_some().then(|| l.clone());
            let tm = Instant::now();
            let mask = constraint.as_mut().map(|(c, _)| c.allowed().to_vec());
            masking += tm.elapsed();
            let Some(tok) = sample(
                &mut l,
                &history,
                &out,
                mask.as_deref(),
                &req.sampling,
                &mut rng,
            ) else {
                break;
            };
            if let Some((c, _)) = constraint.as_mut() {
                let tm = Instant::now();
                let ok = c.advance(tok);
                masking += tm.elapsed();
                if !ok {
                    return Err(ModelError::Inference(format!(
                        "constrained decoding of {} sampled token {tok}, which its mask forbids",
                        inner.id
                    )));
                }
            }
            if inner.eos.contains(&tok) {
                finish = FinishReason::Stop;
                break;
            }
            if let Some(raw) = &raw {
                out_lp.push(self.logprob_entry(raw, tok, top_k));
            }
            out.push(tok);
            history.push(tok);
            if let Some(piece) = stream
                .step(tok)
                .map_err(|e| ModelError::Inference(format!("detokenizing: {e}")))?
            {
                text.push_str(&piece);
            }
            if constraint.is_none() {
                // Stop strings: cut the text before the first one found.
                let from = sent.saturating_sub(hold);
                if let Some(cut) = req
                    .stop
                    .iter()
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| text[from..].find(s.as_str()).map(|i| from + i))
                    .min()
                {
                    text.truncate(cut);
                    finish = FinishReason::Stop;
                    break 'decode;
                }
            }
            let mut safe = text
                .len()
                .saturating_sub(if constraint.is_none() { hold } else { 0 });
            while !text.is_char_boundary(safe) {
                safe -= 1;
            }
            if safe > sent {
                let flow = on_delta(&text[sent..safe]);
                sent = safe;
                if flow.is_break() {
                    finish = FinishReason::Cancelled;
                    break;
                }
            }
            if constraint.as_ref().is_some_and(|(c, _)| c.is_done()) {
                finish = FinishReason::Stop;
                break;
            }
            if out.len() < budget {
                let mut step = vec![tok];
                // Jump-forward tokens are not sampled, so they would have no log-probability.
                if inner.opts.jump_forward
                    && req.logprobs.is_none()
                    && let Some((c, _)) = constraint.as_mut()
                {
                    let tm = Instant::now();
                    let forced = self.forced_tokens(c, budget - out.len());
                    masking += tm.elapsed();
                    for id in forced {
                        out.push(id);
                        history.push(id);
                        if let Some(piece) = stream
                            .step(id)
                            .map_err(|e| ModelError::Inference(format!("detokenizing: {e}")))?
                        {
                            text.push_str(&piece);
                        }
                        step.push(id);
                    }
                }
                logits = Some(
                    w.forward(&step, &mut cache)
                        .map_err(ModelError::inference)?,
                );
            }
        }
        if finish == FinishReason::Cancelled
            && let Some((_, limit)) = req.cancel.deadline().filter(|_| req.cancel.timed_out())
        {
            return Err(ModelError::Timeout {
                model: inner.id.clone(),
                limit_ms: limit.as_millis() as u64,
            });
        }
        let mut json = None;
        if let Some((c, schema)) = &constraint {
            if !c.is_complete() {
                // Out of tokens (or cancelled) mid-document: close it the shortest valid way,
                // so that the answer still parses; the finish reason says it was cut.
                let close = c.closing_bytes().ok_or_else(|| {
                    ModelError::Inference("cannot close the JSON document".into())
                })?;
                let mut bytes = c.text().to_vec();
                bytes.extend_from_slice(&close);
                text = String::from_utf8(bytes)
                    .map_err(|e| ModelError::Inference(format!("JSON output is not UTF-8: {e}")))?;
            } else {
                text = String::from_utf8(c.text().to_vec())
                    .map_err(|e| ModelError::Inference(format!("JSON output is not UTF-8: {e}")))?;
            }
            json = Some(check_json(&inner.id, &text, schema)?);
        }
        if text.len() > sent && finish != FinishReason::Cancelled {
            let _ = on_delta(&text[sent..]);
        }
        timings.decode = t1.elapsed();
        timings.masking = masking;
        drop(running);
        drop(ticket);
        if req.logprobs.is_some() && constraint.is_none() {
            // A stop string cut the text: drop the tokens past the cut.
            let mut at = 0;
            out_lp.retain(|t| {
                let keep = at < text.len();
                at += t.bytes.len();
                keep
            });
        }
        Ok(ChatResponse {
            redacted: Vec::new(),
            logprobs: req.logprobs.is_some().then_some(out_lp),
            prompt_logprobs: prompt_lp,
            tool_calls: Vec::new(),
            model: inner.id.clone(),
            text,
            tokens: out.clone(),
            json,
            finish_reason: finish,
            usage: Usage {
                prompt_tokens: prompt.len(),
                completion_tokens: out.len(),
            },
            timings,
        })
    }
}

impl Generator for LocalGenerator {
    fn id(&self) -> &str {
        &self.inner.id
    }

    fn context_length(&self) -> usize {
        self.inner.context
    }

    fn chat_stream(
        &self,
        req: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse, ModelError> {
        if req.messages.is_empty() {
            return Err(ModelError::InvalidInput("no messages".into()));
        }
        let r = if req.tools.is_empty() || req.tool_choice == ToolChoice::None {
            self.render(req)
                .and_then(|prompt| self.encode(&prompt))
                .and_then(|ids| self.generate_ids(&ids, req, on_delta))
        } else {
            self.chat_with_tools(req, on_delta)
        };
        crate::metrics::record_chat(&self.inner.id, &r);
        r
    }

    fn complete_stream(
        &self,
        prompt: &Prompt,
        req: &ChatRequest,
        echo: bool,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse, ModelError> {
        let ids = match prompt {
            Prompt::Text(t) => self.tokenize(t, true)?,
            Prompt::Tokens(ids) => {
                let vocab = self.inner.token_bytes.len();
                if let Some(bad) = ids.iter().find(|&&i| i as usize >= vocab) {
                    return Err(ModelError::InvalidInput(format!(
                        "token id {bad} is outside the vocabulary of `{}` ({vocab} tokens)",
                        self.inner.id
                    )));
                }
                ids.clone()
            }
        };
        let mut r = req.clone();
        r.response_format = ResponseFormat::Text;
        r.tools.clear();
        let out = self.generate_full(&ids, &r, echo, on_delta);
        crate::metrics::record_chat(&self.inner.id, &out);
        out
    }

    fn tokenize(&self, text: &str, special: bool) -> Result<Vec<u32>, ModelError> {
        let mut ids = self.encode(text)?;
        if special
            && self.inner.add_bos
            && let Some(b) = self.inner.bos
            && ids.first() != Some(&b)
        {
            ids.insert(0, b);
        }
        Ok(ids)
    }

    fn detokenize(&self, ids: &[u32]) -> Result<String, ModelError> {
        let vocab = self.inner.token_bytes.len();
        if let Some(bad) = ids.iter().find(|&&i| i as usize >= vocab) {
            return Err(ModelError::InvalidInput(format!(
                "token id {bad} is outside the vocabulary of `{}` ({vocab} tokens)",
                self.inner.id
            )));
        }
        let bytes: Vec<u8> = ids.iter().flat_map(|&i| self.bytes_of(i)).collect();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn render_prompt(&self, req: &ChatRequest) -> Result<String, ModelError> {
        if req.tools.is_empty() || req.tool_choice == ToolChoice::None {
            self.render(req)
        } else {
            self.render_tools(req)
        }
    }

    fn tokenizer_info(&self) -> Option<TokenizerInfo> {
        let i = &*self.inner;
        Some(TokenizerInfo {
            bos_token: Some(i.bos_text.clone()).filter(|t| !t.is_empty()),
            eos_token: Some(i.eos_text.clone()).filter(|t| !t.is_empty()),
            add_bos: i.add_bos,
            chat_template: i.template.source().map(str::to_string),
            vocab_size: i.token_bytes.len(),
        })
    }
}

impl LocalGenerator {
    /// The prompt with the tools shown: by the template when it takes them, else in the system
    /// message ([`tools::system_text`]).
    fn render_tools(&self, req: &ChatRequest) -> Result<String, ModelError> {
        let tpl = &self.inner.template;
        let mut msgs = self.defused(req);
        if tpl.takes_tools() {
            let json: Vec<&str> = req.tools.iter().map(|t| t.source.as_str()).collect();
            return tpl.render_with_tools(&msgs, Some(&format!("[{}]", json.join(", "))));
        }
        tools::calls_as_text(&mut msgs);
        let text = tools::system_text(&req.tools);
        match msgs.first_mut() {
            Some(m) if m.role == Role::System => m.content = format!("{}\n\n{text}", m.content),
            _ => msgs.insert(0, Message::system(text)),
        }
        tpl.render(&msgs)
    }

    /// A chat with tools offered (see [`tools`] for what each `tool_choice` does).
    fn chat_with_tools(
        &self,
        req: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse, ModelError> {
        if !matches!(req.response_format, ResponseFormat::Text) {
            return Err(ModelError::InvalidInput(
                "tools and a JSON response format cannot be combined; the tool's parameters are the schema of a call".into(),
            ));
        }
        let prompt = self.render_tools(req)?;
        let tpl = &self.inner.template;
        let hermes = !tpl.takes_tools() || tpl.hermes_calls();
        let open = if hermes {
            format!("{}\n", tools::CALL_OPEN)
        } else {
            String::new()
        };
        let find = |name: &str| req.tools.iter().find(|t| t.name == name);
        let forced = match &req.tool_choice {
            ToolChoice::Named(n) => Some(find(n).ok_or_else(|| {
                ModelError::InvalidInput(format!(
                    "`tool_choice` names the function {n:?}, which is not among the tools"
                ))
            })?),
            ToolChoice::Required if req.tools.len() == 1 => Some(&req.tools[0]),
            _ => None,
        };
        if let Some(tool) = forced {
            return self.constrained_call(&prompt, &open, tool, req);
        }
        let required = req.tool_choice == ToolChoice::Required;
        let mut free = req.clone();
        let first = if required {
            free.stop.push(tools::CALL_CLOSE.to_string());
            let ids = self.encode(&format!("{prompt}{open}"))?;
            self.generate_ids(&ids, &free, &mut |_| ControlFlow::Continue(()))?
        } else if hermes {
            let ids = self.encode(&prompt)?;
            let mut gate = StreamGate::new(on_delta);
            let r = self.generate_ids(&ids, &free, &mut |d| gate.push(d))?;
            gate.finish();
            r
        } else {
            let ids = self.encode(&prompt)?;
            let r = self.generate_ids(&ids, &free, &mut |_| ControlFlow::Continue(()))?;
            if !r.text.trim_start().starts_with('{') {
                let _ = on_delta(&r.text);
            }
            r
        };
        if first.finish_reason == FinishReason::Cancelled {
            return Ok(first);
        }
        let written: Option<(String, Vec<Written>)> = if required {
            Some((String::new(), vec![tools::read_call(&first.text)]))
        } else if hermes {
            tools::parse_calls(&first.text)
        } else {
            let t = first.text.trim_start();
            t.starts_with('{')
                .then(|| (String::new(), vec![tools::read_call(t)]))
        };
        let Some((content, calls)) = written else {
            return Ok(first);
        };
        let mut checked = Vec::new();
        let mut failed = None;
        for w in &calls {
            match tools::check(w, &req.tools) {
                Ok(c) => checked.push(c),
                Err(why) => {
                    failed = Some((w.name.clone(), why));
                    break;
                }
            }
        }
        let Some((name, why)) = failed else {
            return Ok(ChatResponse {
                text: content,
                tool_calls: checked,
                finish_reason: FinishReason::ToolCalls,
                ..first
            });
        };
        tracing::debug!(model = %self.inner.id, %why, "a tool call is decoded again under its schema");
        let mut spent = first.usage.completion_tokens;
        let mut timings = first.timings;
        let tool = match name.as_deref().and_then(find) {
            Some(t) => t,
            None => {
                let mut pick = req.clone();
                pick.response_format = ResponseFormat::JsonSchema(tools::name_schema(&req.tools));
                pick.stop.clear();
                let ids = self.encode(&format!("{prompt}{open}"))?;
                let r = self.generate_ids(&ids, &pick, &mut |_| ControlFlow::Continue(()))?;
                spent += r.usage.completion_tokens;
                add_timings(&mut timings, &r.timings);
                let n = r
                    .json
                    .as_ref()
                    .and_then(|j| j["name"].as_str())
                    .unwrap_or("");
                find(n).ok_or_else(|| {
                    ModelError::Inference(format!("the constrained choice named {n:?}"))
                })?
            }
        };
        let mut r = self.constrained_call(&prompt, &open, tool, req)?;
        r.text = content;
        r.usage.completion_tokens += spent;
        add_timings(&mut timings, &r.timings);
        r.timings = timings;
        Ok(r)
    }

    /// One call of `tool`, decoded under [`tools::call_schema`] after the call's opening.
    fn constrained_call(
        &self,
        prompt: &str,
        open: &str,
        tool: &Tool,
        req: &ChatRequest,
    ) -> Result<ChatResponse, ModelError> {
        let mut r = req.clone();
        r.response_format = ResponseFormat::JsonSchema(tools::call_schema(tool));
        r.stop.clear();
        let ids = self.encode(&format!("{prompt}{open}"))?;
        let mut resp = self.generate_ids(&ids, &r, &mut |_| ControlFlow::Continue(()))?;
        if resp.finish_reason == FinishReason::Cancelled {
            return Ok(resp);
        }
        let doc = resp.json.take().unwrap_or_default();
        let args = doc
            .get("arguments")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({}));
        resp.tool_calls = vec![tools::ToolCall::new(&tool.name, &args)];
        resp.text = String::new();
        resp.finish_reason = FinishReason::ToolCalls;
        Ok(resp)
    }
}

fn add_timings(a: &mut Timings, b: &Timings) {
    a.queued += b.queued;
    a.prefill += b.prefill;
    a.decode += b.decode;
    a.masking += b.masking;
}
