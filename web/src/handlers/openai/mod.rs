//! The OpenAI-compatible endpoints, over the assistant's one model registry:
//! `POST /v1/chat/completions` ([`chat`]), `POST /v1/completions` ([`completions`]),
//! `POST /v1/embeddings`, `GET /v1/models` and `GET /v1/models/{id}`, and vLLM's tokenizer
//! endpoints `POST /tokenize`, `POST /detokenize` and `GET /tokenizer_info` ([`tokenize`]),
//! which lm-evaluation-harness's `remote` tokenizer backend reads.
//!
//! # Wire format
//!
//! Requests follow OpenAI's APIs, so the official clients and tools built on them (LangChain's
//! `ChatOpenAI`, lm-evaluation-harness's `local-completions` and `local-chat-completions`,
//! RAGAS, promptfoo, Dify) work unchanged (tests run the first two against a live server):
//!
//! - `model` names an installed or registered model or an alias (`default`, `fast`,
//!   `embedder`); absent, the configured default (`models.generator` / `models.embedder`).
//! - Sampling, on both completion endpoints: `temperature` (default 1; 0 is greedy), `top_p`,
//!   `seed` (absent: random), `stop` (a string or up to 16), `n` (up to 16 choices, each drawn
//!   with seed, seed + 1, …), `frequency_penalty` and `presence_penalty` (-2 to 2, counted
//!   over the generated tokens), `logit_bias` (token id → -100 to 100), and the vLLM
//!   extensions `top_k`, `min_p` and `repetition_penalty`.
//! - Chat: `messages` (`system`/`developer`, `user`, `assistant` with `tool_calls`, `tool` with
//!   `tool_call_id`; content a string or text parts), `max_tokens` or `max_completion_tokens`
//!   (default 1024), `logprobs` with `top_logprobs` (0 to 20), `tools` (functions) with
//!   `tool_choice` (`none`, `auto`, `required` or a named function; a forced call is decoded
//!   under its parameter schema, see `models::generate::tools`), `response_format` (`text`,
//!   `json_object`, or `json_schema`: decoded under constraint, so the answer always parses
//!   and validates), `stream` with `stream_options.include_usage`.
//! - Completions: `prompt` (a string, strings, token ids or lists of token ids), `max_tokens`
//!   (default 16, 0 with `echo`), `echo` (the prompt back, with its tokens' log-probabilities
//!   when `logprobs` is set), `logprobs` (0 to 20 alternatives per token, in the legacy
//!   `tokens` / `token_logprobs` / `top_logprobs` / `text_offset` shape).
//! - Log-probabilities are the model's own (softmax of its logits at temperature 1, before
//!   penalties, masks or sampling settings), as vLLM reports them.
//! - Embeddings: `input` (a string or an array of up to 2048 strings), `encoding_format`
//!   (`float` or `base64`), `dimensions` (only the model's own), and the extension
//!   `input_type` (`passage`, the default, or `query`) for asymmetric models (e5).
//! - Fields that would change the answer and are not implemented (`best_of` above 1,
//!   `suffix`, `modalities` other than text, `audio`, `web_search_options`, the deprecated
//!   `functions` / `function_call`) are refused naming the field; fields that do not change it
//!   (`user`, `metadata`, `store`, `parallel_tool_calls`, a message's `refusal`, …) and unknown
//!   fields are accepted and ignored, logged at debug level, as OpenAI's API and vLLM do.
//!
//! Answers are OpenAI's shapes (`chat.completion`, `chat.completion.chunk` and
//! `text_completion` events ending with `data: [DONE]`, `list` of `embedding`s, `list` of
//! `model`s) with `usage` counts. When streaming, a choice's log-probabilities and tool calls
//! arrive in its last chunk.
//!
//! Errors keep the API's one shape, `{"error": {"code", "message", "type", "param",
//! "request_id"}}`: 400 for bad input (`context_length_exceeded` for a prompt longer than the
//! context, `invalid_response_format` for a JSON Schema that constrained decoding refuses),
//! 404 for an unknown model, 503 with `Retry-After` when the model's queue is full, 502 when a
//! remote backend fails, 500 for our faults. A stream answers with a status only after its
//! first event (so every error before it is a plain HTTP error); an error after it arrives as
//! a final `data: {"error": …}` event.
//!
//! # Cancellation and time
//!
//! Generation runs on a blocking thread and sends its text through a channel; the handler (or,
//! when streaming, the response body) holds a guard that sets the request's [`Cancel`] when it
//! is dropped, which is what happens when the client disconnects, so the model stops at the
//! next token. The route's own timeout (`models.generation_timeout_secs`) bounds the whole
//! request, every choice included. Every call, cancelled or failed ones included, is audited
//! by `assistant::inference` (workflows `openai.chat`, `openai.completions`,
//! `openai.embeddings`).

pub mod chat;
pub mod completions;
pub mod tokenize;

pub use chat::chat_completions;
pub use completions::completions;
pub use tokenize::{detokenize, tokenize, tokenizer_info};

use crate::error::AppError;
use crate::extract::{ApiJson, Ctx};
use crate::middleware::Deadline;
use crate::state::AppState;
use assistant::{AssistantError, store::Actor};
use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use models::{Cancel, ChatRequest, ChatResponse, EmbedKind, Generator, Prompt, Sampling};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Tokens generated by a chat completion that names no limit.
pub const DEFAULT_MAX_TOKENS: usize = 1024;
/// Most stop strings in one request.
pub const MAX_STOP: usize = 16;
/// Most inputs in one embeddings request.
pub const MAX_EMBED_INPUTS: usize = 2048;
/// Most choices (`n`) per prompt.
pub const MAX_CHOICES: u32 = 16;
/// Most prompts in one completions request.
pub const MAX_PROMPTS: usize = 64;

// ---------------------------------------------------------------------------------------------
// Shared wire types and checks.

/// `stop`: one string or several.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Stop {
    /// One stop string.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// `stream_options`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct StreamOptions {
    /// Send a last chunk with the token usage.
    #[serde(default)]
    pub include_usage: bool,
}

/// The sampling fields both completion endpoints take, as sent.
#[derive(Debug, Default)]
pub struct Knobs {
    /// `temperature`.
    pub temperature: Option<f32>,
    /// `top_p`.
    pub top_p: Option<f32>,
    /// `top_k` (vLLM).
    pub top_k: Option<u32>,
    /// `min_p` (vLLM).
    pub min_p: Option<f32>,
    /// `repetition_penalty` (vLLM).
    pub repetition_penalty: Option<f32>,
    /// `frequency_penalty`.
    pub frequency_penalty: Option<f32>,
    /// `presence_penalty`.
    pub presence_penalty: Option<f32>,
    /// `logit_bias`.
    pub logit_bias: Option<serde_json::Map<String, Value>>,
    /// `seed`.
    pub seed: Option<i64>,
}

impl Knobs {
    /// The checked sampling settings.
    pub fn sampling(self) -> Result<Sampling, AppError> {
        let temperature = self.temperature.unwrap_or(1.0);
        if !(0.0..=2.0).contains(&temperature) {
            return Err(bad(format!(
                "`temperature` {temperature} is not between 0 and 2"
            )));
        }
        let top_p = self.top_p.unwrap_or(1.0);
        if !(top_p > 0.0 && top_p <= 1.0) {
            return Err(bad(format!("`top_p` {top_p} is not in (0, 1]")));
        }
        let min_p = self.min_p.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&min_p) {
            return Err(bad(format!("`min_p` {min_p} is not in [0, 1]")));
        }
        let repetition_penalty = self.repetition_penalty.unwrap_or(1.0);
        if !(repetition_penalty > 0.0 && repetition_penalty.is_finite()) {
            return Err(bad("`repetition_penalty` must be a positive number"));
        }
        let mut pen = [0.0f32; 2];
        for (i, (field, v)) in [
            ("frequency_penalty", self.frequency_penalty),
            ("presence_penalty", self.presence_penalty),
        ]
        .into_iter()
        .enumerate()
        {
            let v = v.unwrap_or(0.0);
            if !(-2.0..=2.0).contains(&v) {
                return Err(bad(format!("`{field}` {v} is not between -2 and 2")));
            }
            pen[i] = v;
        }
        let mut logit_bias = Vec::new();
        for (k, v) in self.logit_bias.unwrap_or_default() {
            let id: u32 = k
                .parse()
                .map_err(|_| bad(format!("`logit_bias` key {k:?} is not a token id")))?;
            let b = v
                .as_f64()
                .filter(|b| (-100.0..=100.0).contains(b))
                .ok_or_else(|| {
                    bad(format!(
                        "`logit_bias` of token {id} must be a number from -100 to 100, not {v}"
                    ))
                })?;
            logit_bias.push((id, b as f32));
        }
        Ok(Sampling {
            temperature,
            top_p,
            top_k: self.top_k.unwrap_or(0) as usize,
            repetition_penalty,
            seed: self.seed.map_or_else(random_seed, |s| s as u64),
            frequency_penalty: pen[0],
            presence_penalty: pen[1],
            min_p,
            logit_bias,
            ..Sampling::default()
        })
    }
}

/// The checked stop strings.
pub fn stop_strings(stop: Option<Stop>) -> Result<Vec<String>, AppError> {
    let stop = match stop {
        None => Vec::new(),
        Some(Stop::One(s)) => vec![s],
        Some(Stop::Many(v)) => v,
    };
    if stop.len() > MAX_STOP {
        return Err(bad(format!("`stop` has more than {MAX_STOP} strings")));
    }
    if stop.iter().any(String::is_empty) {
        return Err(bad("`stop` strings must not be empty"));
    }
    Ok(stop)
}

/// The checked `n`.
pub fn choices(n: Option<u32>) -> Result<usize, AppError> {
    match n.unwrap_or(1) {
        n @ 1..=MAX_CHOICES => Ok(n as usize),
        n => Err(bad(format!("`n` {n} is not between 1 and {MAX_CHOICES}"))),
    }
}

/// Fields of OpenAI's (or vLLM's) APIs that would change the answer and are not
/// implemented: refused unless at their neutral value, naming the field.
fn refuse_unsupported(fields: &serde_json::Map<String, Value>) -> Result<(), AppError> {
    let neutral = |k: &str, v: &Value| match k {
        "best_of" => v.is_null() || v.as_u64() == Some(1),
        "suffix" => v.is_null() || v.as_str() == Some(""),
        "functions" => v.is_null() || v.as_array().is_some_and(Vec::is_empty),
        "function_call" => v.is_null() || v == "none" || v == "auto",
        "modalities" => v.is_null() || v.as_array().is_some_and(|m| m.iter().all(|x| x == "text")),
        "audio" | "web_search_options" | "prediction" => v.is_null(),
        _ => true,
    };
    for (k, v) in fields {
        if !neutral(k, v) {
            let hint = match k.as_str() {
                "functions" | "function_call" => " (use `tools` and `tool_choice`)",
                "best_of" => " (use `n`)",
                _ => "",
            };
            return Err(bad(format!("`{k}` = {v} is not supported{hint}")));
        }
    }
    Ok(())
}

/// Logs the fields of a request that were accepted and ignored.
fn ignore_fields(what: &str, ignored: &serde_json::Map<String, Value>) {
    if !ignored.is_empty() {
        let names: Vec<&str> = ignored.keys().map(String::as_str).collect();
        tracing::debug!(fields = ?names, "{what}: fields accepted and ignored");
    }
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::BadRequest {
        code: "invalid_request",
        message: message.into(),
    }
}

fn random_seed() -> u64 {
    let b = *uuid::Uuid::new_v4().as_bytes();
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `usage` of a set of answers: prompt tokens once per prompt, completion tokens of all.
fn usage(answers: &[(bool, &ChatResponse)]) -> Value {
    let prompt: usize = answers
        .iter()
        .filter(|(first, _)| *first)
        .map(|(_, r)| r.usage.prompt_tokens)
        .sum();
    let completion: usize = answers.iter().map(|(_, r)| r.usage.completion_tokens).sum();
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    })
}

// ---------------------------------------------------------------------------------------------
// Running generations.

/// Sets the generation's cancel flag when dropped: held by whatever waits for the answer (the
/// handler, or the response stream), so a client that goes away stops the model.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// One generation of a request: a choice of a chat, or a choice of one prompt of a completion.
struct Job {
    /// The choice's index in the answer.
    index: usize,
    /// Whether it is the first choice of its prompt (its prompt tokens count in `usage`).
    first_of_prompt: bool,
    /// A raw prompt (completions) and whether to echo it; `None`: the chat request's messages.
    prompt: Option<(Prompt, bool)>,
    req: ChatRequest,
}

/// What the generation thread sends.
enum GenEvent {
    Delta(usize, String),
    Done(usize, Box<Result<ChatResponse, AssistantError>>),
}

/// Runs `jobs` one after the other on a blocking thread, audited as `workflow`; the first
/// failure ends the run.
fn spawn_jobs(
    s: &AppState,
    actor: Actor,
    workflow: &'static str,
    generator: Arc<dyn Generator>,
    jobs: Vec<Job>,
) -> mpsc::UnboundedReceiver<GenEvent> {
    // Unbounded on purpose: a slow reader must not hold the model (the queue behind it waits);
    // the text is bounded by max_tokens.
    let (tx, rx) = mpsc::unbounded_channel::<GenEvent>();
    let assistant = s.assistant.clone();
    tokio::task::spawn_blocking(move || {
        for job in jobs {
            let i = job.index;
            let delta_tx = tx.clone();
            let mut on_delta = |d: &str| match delta_tx.send(GenEvent::Delta(i, d.to_string())) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            };
            let r = match &job.prompt {
                None => assistant.model_chat(
                    &actor,
                    workflow,
                    generator.as_ref(),
                    &job.req,
                    &mut on_delta,
                ),
                Some((prompt, echo)) => assistant.model_complete(
                    &actor,
                    workflow,
                    generator.as_ref(),
                    assistant::inference::RawPrompt {
                        prompt,
                        echo: *echo,
                    },
                    &job.req,
                    &mut on_delta,
                ),
            };
            let failed = r.is_err();
            if tx.send(GenEvent::Done(i, Box::new(r))).is_err() || failed {
                break;
            }
        }
    });
    rx
}

/// Waits for `count` answers (in index order); the first failure is the answer.
async fn collect(
    mut rx: mpsc::UnboundedReceiver<GenEvent>,
    count: usize,
) -> Result<Vec<ChatResponse>, AppError> {
    let mut out: Vec<Option<ChatResponse>> = (0..count).map(|_| None).collect();
    let mut got = 0;
    while got < count {
        match rx.recv().await {
            Some(GenEvent::Delta(..)) => {}
            Some(GenEvent::Done(i, r)) => {
                out[i] = Some((*r)?);
                got += 1;
            }
            None => return Err(AppError::Internal("the generation thread stopped".into())),
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// How one endpoint writes its stream events.
trait ChunkFormat: Send + 'static {
    /// The fields the whole answer starts with (`id`, `object`, `created`, `model`, …).
    fn head(&self) -> Value;
    /// Choice `index` of the whole (not streamed) answer.
    fn choice(&self, index: usize, r: &ChatResponse) -> Value;
    /// Events that open choice `index` (before its first text).
    fn open(&self, index: usize) -> Vec<Value>;
    /// A piece of choice `index`'s text.
    fn delta(&self, index: usize, text: &str) -> Value;
    /// The events that close choice `index`, given its answer.
    fn close(&self, index: usize, r: &ChatResponse) -> Vec<Value>;
    /// The last event with the usage.
    fn usage(&self, usage: Value) -> Value;
}

/// Answers the jobs' results: one JSON document (the format's head, its choices and the usage),
/// or server-sent events when `stream`.
#[allow(clippy::too_many_arguments)]
async fn respond(
    rx: mpsc::UnboundedReceiver<GenEvent>,
    guard: CancelOnDrop,
    format: Box<dyn ChunkFormat>,
    jobs: Vec<bool>,
    stream: bool,
    include_usage: bool,
    deadline: Deadline,
    request_id: String,
) -> Result<Response, AppError> {
    if stream {
        return stream_response(rx, guard, format, jobs, include_usage, deadline, request_id).await;
    }
    let answers = collect(rx, jobs.len()).await?;
    drop(guard);
    if answers
        .iter()
        .any(|r| r.finish_reason == models::FinishReason::Cancelled)
    {
        return Err(AppError::Internal(
            "generation was cancelled while the client waited".into(),
        ));
    }
    let refs: Vec<(bool, &ChatResponse)> = jobs.iter().copied().zip(&answers).collect();
    let mut v = format.head();
    v["choices"] = answers
        .iter()
        .enumerate()
        .map(|(i, r)| format.choice(i, r))
        .collect();
    v["usage"] = usage(&refs);
    Ok(Json(v).into_response())
}

/// Answers as server-sent events. The status is decided by the first event, so that errors
/// before any text (a schema refused, a prompt too long, the model busy) are plain HTTP errors.
async fn stream_response(
    mut rx: mpsc::UnboundedReceiver<GenEvent>,
    guard: CancelOnDrop,
    format: Box<dyn ChunkFormat>,
    jobs: Vec<bool>,
    include_usage: bool,
    deadline: Deadline,
    request_id: String,
) -> Result<Response, AppError> {
    let first = match rx.recv().await {
        Some(GenEvent::Done(i, r)) => match *r {
            Err(e) => return Err(e.into()),
            ok => GenEvent::Done(i, Box::new(ok)),
        },
        Some(ev) => ev,
        None => return Err(AppError::Internal("the generation thread stopped".into())),
    };
    let state = SseState {
        rx,
        pending: Default::default(),
        first: Some(first),
        format,
        opened: HashSet::new(),
        first_of_prompt: jobs,
        answers: Vec::new(),
        include_usage,
        deadline,
        request_id,
        done: false,
        guard,
    };
    let stream = futures::stream::unfold(state, |mut st| async move {
        let data = st.next_data().await?;
        Some((Ok::<_, Infallible>(Event::default().data(data)), st))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// The state of one SSE answer.
struct SseState {
    rx: mpsc::UnboundedReceiver<GenEvent>,
    /// Event data ready to send.
    pending: std::collections::VecDeque<String>,
    /// The event that decided the status, not yet turned into data.
    first: Option<GenEvent>,
    format: Box<dyn ChunkFormat>,
    /// Choices whose opening events were sent.
    opened: HashSet<usize>,
    /// Per choice: whether it is the first of its prompt.
    first_of_prompt: Vec<bool>,
    /// Finished choices (for the usage).
    answers: Vec<(bool, ChatResponse)>,
    include_usage: bool,
    deadline: Deadline,
    request_id: String,
    done: bool,
    guard: CancelOnDrop,
}

impl SseState {
    /// The data of the next event; `None` after `[DONE]`.
    async fn next_data(&mut self) -> Option<String> {
        loop {
            if let Some(d) = self.pending.pop_front() {
                return Some(d);
            }
            if self.done {
                return None;
            }
            let ev = match self.first.take() {
                Some(ev) => Some(ev),
                None => match tokio::time::timeout_at(self.deadline.at(), self.rx.recv()).await {
                    Ok(ev) => ev,
                    Err(_) => {
                        self.guard.0.cancel();
                        let limit = self.deadline.limit().as_secs();
                        self.fail(
                            "timeout",
                            format!("the generation took longer than {limit} s"),
                        );
                        continue;
                    }
                },
            };
            match ev {
                Some(GenEvent::Delta(i, d)) => {
                    self.open(i);
                    let c = self.format.delta(i, &d);
                    self.pending.push_back(c.to_string());
                }
                Some(GenEvent::Done(i, r)) => match *r {
                    Ok(r) => {
                        self.open(i);
                        for c in self.format.close(i, &r) {
                            self.pending.push_back(c.to_string());
                        }
                        let first = self.first_of_prompt.get(i).copied().unwrap_or(true);
                        self.answers.push((first, r));
                        if self.answers.len() == self.first_of_prompt.len() {
                            if self.include_usage {
                                let refs: Vec<(bool, &ChatResponse)> =
                                    self.answers.iter().map(|(f, r)| (*f, r)).collect();
                                let u = self.format.usage(usage(&refs));
                                self.pending.push_back(u.to_string());
                            }
                            self.finish();
                        }
                    }
                    Err(e) => {
                        let (_, code, message) = AppError::from(e).parts();
                        self.fail(code, message);
                    }
                },
                None => self.fail("internal", "internal error; quote the request id".into()),
            }
        }
    }

    fn open(&mut self, i: usize) {
        if self.opened.insert(i) {
            for c in self.format.open(i) {
                self.pending.push_back(c.to_string());
            }
        }
    }

    fn fail(&mut self, code: &str, message: String) {
        self.pending.push_back(
            json!({"error": {"code": code, "message": message, "request_id": self.request_id}})
                .to_string(),
        );
        self.finish();
    }

    fn finish(&mut self) {
        self.pending.push_back("[DONE]".into());
        self.done = true;
    }
}

/// The finish reason on the wire; a cancelled generation is only reported after our own
/// timeout, which has already been said.
fn finish_reason(r: &ChatResponse) -> &'static str {
    match r.finish_reason {
        models::FinishReason::Cancelled => "stop",
        other @ (models::FinishReason::Stop
        | models::FinishReason::Length
        | models::FinishReason::ToolCalls) => other.as_str(),
    }
}

// ---------------------------------------------------------------------------------------------
// Embeddings wire types.

/// `POST /v1/embeddings` body.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EmbeddingsRequest {
    /// The model; absent or empty: the default embedder.
    #[serde(default)]
    pub model: Option<String>,
    /// A string or an array of strings.
    pub input: EmbedInput,
    /// `float` (default) or `base64`.
    #[serde(default)]
    pub encoding_format: Option<String>,
    /// Must be the model's own dimension when given.
    #[serde(default)]
    pub dimensions: Option<u32>,
    /// `passage` (default) or `query` (extension, for asymmetric models such as e5).
    #[serde(default)]
    pub input_type: Option<String>,
    /// An end-user id (ignored).
    #[serde(default)]
    pub user: Option<String>,
    /// Any other field: accepted and ignored (logged at debug level).
    #[serde(flatten)]
    pub ignored: serde_json::Map<String, Value>,
}

/// `input` of an embeddings request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EmbedInput {
    /// One text.
    One(String),
    /// Several texts.
    Many(Vec<String>),
    /// Token ids (refused with a clear message).
    Tokens(Vec<Value>),
}

// ---------------------------------------------------------------------------------------------
// Embeddings and models.

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<EmbeddingsRequest>,
) -> Result<Json<Value>, AppError> {
    let texts = match body.input {
        EmbedInput::One(t) => vec![t],
        EmbedInput::Many(v) => v,
        EmbedInput::Tokens(_) => {
            return Err(bad(
                "`input` must be a string or an array of strings (token ids are not supported)",
            ));
        }
    };
    if texts.is_empty() {
        return Err(bad("`input` must hold at least one text"));
    }
    if texts.len() > MAX_EMBED_INPUTS {
        return Err(bad(format!(
            "`input` has {} texts; at most {MAX_EMBED_INPUTS} per request",
            texts.len()
        )));
    }
    let base64 = match body.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(bad(format!(
                "`encoding_format` {other:?} is not supported; use float or base64"
            )));
        }
    };
    let kind = match body.input_type.as_deref() {
        None | Some("passage") | Some("document") => EmbedKind::Passage,
        Some("query") => EmbedKind::Query,
        Some(other) => {
            return Err(bad(format!(
                "`input_type` {other:?} is not supported; use passage or query"
            )));
        }
    };
    let name = body.model.filter(|m| !m.trim().is_empty());
    let dimensions = body.dimensions;
    let (id, embeddings, tokens) = s
        .blocking(move |a| {
            let e = a.embedder(name.as_deref())?;
            if let Some(d) = dimensions
                && d as usize != e.dim()
            {
                return Err(AssistantError::Invalid(format!(
                    "`dimensions` {d} is not supported: model `{}` gives {} dimensions",
                    e.id(),
                    e.dim()
                )));
            }
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let out = a.model_embed(&ctx.actor, "openai.embeddings", e.as_ref(), &refs, kind)?;
            let tokens = e.token_count(&refs, kind).unwrap_or(0);
            Ok::<_, AssistantError>((e.id().to_string(), out, tokens))
        })
        .await?;
    let data: Vec<Value> = embeddings
        .vectors
        .iter()
        .zip(&embeddings.truncated)
        .enumerate()
        .map(|(i, (v, cut))| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding, "truncated": cut})
        })
        .collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "model": id,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })))
}

/// One model as OpenAI's `model` object, with its role and backend.
fn model_object(m: &models::registry::ModelInfo) -> Value {
    let role = match m.role {
        models::store::Role::Generator => "generator",
        models::store::Role::Embedder => "embedder",
    };
    json!({"id": m.id, "object": "model", "created": 0, "owned_by": "deskmate",
           "role": role, "backend": m.backend})
}

/// `GET /v1/models`: installed and registered models, with their role and backend.
pub async fn list_models(State(s): State<AppState>, _ctx: Ctx) -> Result<Json<Value>, AppError> {
    let list = s
        .blocking(|a| a.models().list().map_err(AssistantError::from))
        .await?;
    let data: Vec<Value> = list.iter().map(model_object).collect();
    Ok(Json(json!({"object": "list", "data": data})))
}

/// `GET /v1/models/{id}`: one model (404 `model_not_found` naming the installed ones).
pub async fn get_model(
    State(s): State<AppState>,
    _ctx: Ctx,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<Value>, AppError> {
    let list = s
        .blocking(|a| a.models().list().map_err(AssistantError::from))
        .await?;
    match list.iter().find(|m| m.id == id) {
        Some(m) => Ok(Json(model_object(m))),
        None => Err(AppError::Assistant(AssistantError::Model(
            models::ModelError::UnknownModel {
                name: id,
                installed: list
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        ))),
    }
}
