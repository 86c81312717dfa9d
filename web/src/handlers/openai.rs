//! The OpenAI-compatible endpoints: `POST /v1/chat/completions` (plain and SSE streaming),
//! `POST /v1/embeddings`, `GET /v1/models` and `GET /v1/models/{id}`, over the assistant's one
//! model registry.
//!
//! # Wire format
//!
//! Requests follow OpenAI's chat-completions and embeddings APIs, so the official clients
//! and tools built on them (RAGAS, promptfoo, lm-eval-harness, Dify) work unchanged:
//!
//! - `model` names an installed or registered model or an alias (`default`, `fast`,
//!   `embedder`); absent, the configured default (`models.generator` / `models.embedder`).
//! - Chat: `messages` (`system`/`developer`, `user`, `assistant`; content a string or text
//!   parts), `max_tokens` or `max_completion_tokens` (default 1024, never past the context),
//!   `temperature` (default 1, as OpenAI; 0 is greedy), `top_p`, `seed` (absent: random),
//!   `stop` (a string or up to 16), `n` (1 only), `stream`, `stream_options.include_usage`,
//!   `response_format` (`text`, `json_object`, or `json_schema` with `json_schema.schema`: both
//!   JSON kinds are decoded under constraint, so the answer always parses and validates), and
//!   the vLLM extensions `top_k` and `repetition_penalty`. `frequency_penalty`,
//!   `presence_penalty`, `logprobs`, `logit_bias` and `tools` are accepted only at their
//!   neutral values, as are `best_of`, `top_logprobs`, `min_p`, `functions`, `function_call`,
//!   `modalities`, `audio` and `web_search_options`; `tool_choice` only as `none` or `auto`,
//!   and replayed assistant messages only without `tool_calls` (else 400 naming the field). Fields that do not change the
//!   answer (`user`, `metadata`, `store`, `parallel_tool_calls`, a message's `refusal`, …) and
//!   unknown fields are accepted and ignored, logged at debug level, as OpenAI's API and vLLM
//!   do: SDKs and frameworks send them routinely.
//! - Embeddings: `input` (a string or an array of up to 2048 strings), `encoding_format`
//!   (`float` or `base64`: little-endian f32, what the official Python client asks for),
//!   `dimensions` (only the model's own), and the extension `input_type` (`passage`, the
//!   default, or `query`), which asymmetric models (e5) use to prefix the text.
//!
//! Answers are OpenAI's shapes (`chat.completion`, `chat.completion.chunk` events ending with
//! `data: [DONE]`, `list` of `embedding`s, `list` of `model`s) with `usage` counts; embeddings
//! carry an extra `truncated` flag per input.
//!
//! Errors keep the API's one shape, `{"error": {"code", "message", "type", "param", "request_id"}}`, which the
//! official clients read (`error.message`, `error.code`): 400 for bad input (a prompt longer
//! than the context, naming the limit), 400 `invalid_response_format` for a JSON Schema that
//! constrained decoding refuses (an unsupported keyword, an unsatisfiable schema, one over a
//! `models::json::SchemaLimits` cap: the message names the place in the schema, such as
//! `#/properties/a/items`, and the keyword, reason or limit), 404 for an unknown model, 503 with `Retry-After` when the model's queue is full,
//! 502 when a remote backend fails, 500 for our faults. A stream answers with a status only
//! after the first token (so that every error before it is a plain HTTP error); an error after
//! it arrives as a final `data: {"error": …}` event.
//!
//! # Cancellation and time
//!
//! Generation runs on a blocking thread and sends its text through a channel; the handler (or,
//! when streaming, the response body) holds a guard that sets the request's [`Cancel`] when it
//! is dropped, which is what happens when the client disconnects, so the model stops at the
//! next token. The route's own timeout (`models.generation_timeout_secs`, from the route
//! table) bounds the whole generation, streamed or not. Every call, cancelled or failed ones
//! included, is audited by `assistant::inference` (workflow `openai.chat` or
//! `openai.embeddings`).

use crate::error::AppError;
use crate::extract::{ApiJson, Ctx};
use crate::middleware::Deadline;
use crate::state::{AppState, RequestId};
use assistant::AssistantError;
use axum::Json;
use axum::extract::{Extension, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use models::{
    Cancel, ChatRequest, ChatResponse, EmbedKind, FinishReason, Message, ResponseFormat, Role,
    Sampling,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Tokens generated when the request names no limit.
pub const DEFAULT_MAX_TOKENS: usize = 1024;
/// Most stop strings in one request.
pub const MAX_STOP: usize = 16;
/// Most inputs in one embeddings request.
pub const MAX_EMBED_INPUTS: usize = 2048;

// ---------------------------------------------------------------------------------------------
// Wire types.

/// `POST /v1/chat/completions` body.
#[derive(Debug, Deserialize)]
pub struct ChatCompletionRequest {
    /// The model; absent or empty: the default generator.
    #[serde(default)]
    pub model: Option<String>,
    /// The conversation.
    pub messages: Vec<WireMessage>,
    /// Stream the answer as server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// Most tokens to generate (older name).
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Most tokens to generate.
    #[serde(default)]
    pub max_completion_tokens: Option<u64>,
    /// Sampling temperature, 0 to 2 (default 1; 0 is greedy).
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Nucleus sampling, in (0, 1].
    #[serde(default)]
    pub top_p: Option<f32>,
    /// Top-k (vLLM extension; 0 = off).
    #[serde(default)]
    pub top_k: Option<u32>,
    /// Repetition penalty (vLLM extension; 1 = off).
    #[serde(default)]
    pub repetition_penalty: Option<f32>,
    /// Random seed (absent: a random one).
    #[serde(default)]
    pub seed: Option<i64>,
    /// Stop strings.
    #[serde(default)]
    pub stop: Option<Stop>,
    /// Number of choices: 1 only.
    #[serde(default)]
    pub n: Option<u32>,
    /// Text or JSON.
    #[serde(default)]
    pub response_format: Option<WireResponseFormat>,
    /// An end-user id (ignored).
    #[serde(default)]
    pub user: Option<String>,
    /// Must be absent or 0.
    #[serde(default)]
    pub frequency_penalty: Option<f32>,
    /// Must be absent or 0.
    #[serde(default)]
    pub presence_penalty: Option<f32>,
    /// Must be absent or false.
    #[serde(default)]
    pub logprobs: Option<bool>,
    /// Must be absent or empty.
    #[serde(default)]
    pub logit_bias: Option<serde_json::Map<String, Value>>,
    /// Must be absent or empty.
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    /// `none` or `auto` (no tools are offered); a required or named tool is refused.
    #[serde(default)]
    pub tool_choice: Option<Value>,
    /// Fields OpenAI's clients send that do not change the answer here (`metadata`, `store`,
    /// `parallel_tool_calls`, `service_tier`, …) and any unknown field: accepted and ignored
    /// (logged at debug level), as OpenAI's own API and vLLM do.
    #[serde(flatten)]
    pub ignored: serde_json::Map<String, Value>,
}

/// `stream_options`.
#[derive(Debug, Default, Deserialize)]
pub struct StreamOptions {
    /// Send a last chunk with the token usage.
    #[serde(default)]
    pub include_usage: bool,
}

/// One message.
#[derive(Debug, Deserialize)]
pub struct WireMessage {
    /// `system`, `developer`, `user` or `assistant`.
    pub role: String,
    /// The text, or text parts.
    #[serde(default)]
    pub content: Option<Content>,
    /// A participant name (ignored).
    #[serde(default)]
    pub name: Option<String>,
    /// Tool calls an assistant message made (history replayed by a client): refused only when
    /// non-empty, since no tools are offered.
    #[serde(default)]
    pub tool_calls: Option<Vec<Value>>,
    /// Other fields of a replayed message (`refusal`, `audio`, …): ignored.
    #[serde(flatten)]
    pub ignored: serde_json::Map<String, Value>,
}

/// Message content: a string or an array of parts.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Parts; only `{"type": "text", "text": …}` is supported.
    Parts(Vec<ContentPart>),
}

/// One content part.
#[derive(Debug, Deserialize)]
pub struct ContentPart {
    /// `text` (others are refused).
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    #[serde(default)]
    pub text: Option<String>,
}

/// `stop`: one string or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// One stop string.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// `response_format`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireResponseFormat {
    /// Free text.
    Text,
    /// Any JSON object.
    JsonObject,
    /// A document valid against a JSON Schema.
    JsonSchema {
        /// The schema and its name.
        json_schema: JsonSchemaSpec,
    },
}

/// `response_format.json_schema`.
#[derive(Debug, Deserialize)]
pub struct JsonSchemaSpec {
    /// A name (ignored).
    #[serde(default)]
    pub name: Option<String>,
    /// A description (ignored).
    #[serde(default)]
    pub description: Option<String>,
    /// The JSON Schema; absent: any JSON object.
    #[serde(default)]
    pub schema: Option<Value>,
    /// Strict mode (always on here: decoding is constrained).
    #[serde(default)]
    pub strict: Option<bool>,
}

/// `POST /v1/embeddings` body.
#[derive(Debug, Deserialize)]
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
#[derive(Debug, Deserialize)]
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
// Request conversion.

/// Fields of OpenAI's (or vLLM's) chat API that would change the answer and are not
/// implemented: refused unless at their neutral value, naming the field.
fn refuse_unsupported(fields: &serde_json::Map<String, Value>) -> Result<(), AppError> {
    let neutral = |k: &str, v: &Value| match k {
        "best_of" => v.is_null() || v.as_u64() == Some(1),
        "top_logprobs" | "min_p" => v.is_null() || v.as_f64() == Some(0.0),
        "functions" => v.is_null() || v.as_array().is_some_and(Vec::is_empty),
        "function_call" => v.is_null() || v == "none" || v == "auto",
        "modalities" => v.is_null() || v.as_array().is_some_and(|m| m.iter().all(|x| x == "text")),
        "audio" | "web_search_options" => v.is_null(),
        _ => true,
    };
    for (k, v) in fields {
        if !neutral(k, v) {
            return Err(bad(format!("`{k}` = {v} is not supported")));
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

/// A chat request in core terms, with what the wire answer needs.
struct ChatCall {
    model: Option<String>,
    req: ChatRequest,
    stream: bool,
    include_usage: bool,
}

fn random_seed() -> u64 {
    let b = *uuid::Uuid::new_v4().as_bytes();
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

fn convert(body: ChatCompletionRequest) -> Result<ChatCall, AppError> {
    if body.n.is_some_and(|n| n != 1) {
        return Err(bad(
            "`n` must be 1: Deskmate generates one choice per request (send several requests)",
        ));
    }
    for (field, v) in [
        ("frequency_penalty", body.frequency_penalty),
        ("presence_penalty", body.presence_penalty),
    ] {
        if v.is_some_and(|v| v != 0.0) {
            return Err(bad(format!(
                "`{field}` is not supported (use `repetition_penalty`)"
            )));
        }
    }
    if body.logprobs == Some(true) {
        return Err(bad("`logprobs` is not supported"));
    }
    if body.logit_bias.as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(bad("`logit_bias` is not supported"));
    }
    if body.tools.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(bad("`tools` (function calling) is not supported"));
    }
    match &body.tool_choice {
        None | Some(Value::Null) => {}
        Some(Value::String(c)) if c == "none" || c == "auto" => {}
        Some(other) => {
            return Err(bad(format!(
                "`tool_choice` {other} asks for a tool call; no tools are offered (use \"none\" or \"auto\")"
            )));
        }
    }
    refuse_unsupported(&body.ignored)?;
    ignore_fields("chat completion", &body.ignored);
    if body.messages.is_empty() {
        return Err(bad("`messages` must hold at least one message"));
    }
    let mut messages = Vec::with_capacity(body.messages.len());
    for (i, m) in body.messages.into_iter().enumerate() {
        if m.tool_calls.as_ref().is_some_and(|t| !t.is_empty()) {
            return Err(bad(format!(
                "`messages[{i}].tool_calls` replays tool calls; no tools are offered here"
            )));
        }
        ignore_fields("message", &m.ignored);
        let role = match m.role.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(bad(format!(
                    "`messages[{i}].role` {other:?} is not supported; use system, developer, user or assistant"
                )));
            }
        };
        let content = match m.content {
            None => String::new(),
            Some(Content::Text(t)) => t,
            Some(Content::Parts(parts)) => {
                let mut text = String::new();
                for (j, p) in parts.into_iter().enumerate() {
                    match (p.kind.as_str(), p.text) {
                        ("text", Some(t)) => text.push_str(&t),
                        ("text", None) => {
                            return Err(bad(format!(
                                "`messages[{i}].content[{j}]` is a text part without `text`"
                            )));
                        }
                        (other, _) => {
                            return Err(bad(format!(
                                "`messages[{i}].content[{j}].type` {other:?} is not supported; only text parts are"
                            )));
                        }
                    }
                }
                text
            }
        };
        messages.push(Message::new(role, content));
    }
    let max_tokens = match (body.max_completion_tokens, body.max_tokens) {
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => DEFAULT_MAX_TOKENS as u64,
    };
    if max_tokens == 0 {
        return Err(bad("`max_tokens` must be at least 1"));
    }
    let temperature = body.temperature.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(bad(format!(
            "`temperature` {temperature} is not between 0 and 2"
        )));
    }
    let top_p = body.top_p.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(bad(format!("`top_p` {top_p} is not in (0, 1]")));
    }
    let repetition_penalty = body.repetition_penalty.unwrap_or(1.0);
    if !(repetition_penalty > 0.0 && repetition_penalty.is_finite()) {
        return Err(bad("`repetition_penalty` must be a positive number"));
    }
    let stop = match body.stop {
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
    let response_format = match body.response_format {
        None | Some(WireResponseFormat::Text) => ResponseFormat::Text,
        Some(WireResponseFormat::JsonObject) => {
            ResponseFormat::JsonSchema(json!({"type": "object"}))
        }
        Some(WireResponseFormat::JsonSchema { json_schema }) => ResponseFormat::JsonSchema(
            json_schema
                .schema
                .unwrap_or_else(|| json!({"type": "object"})),
        ),
    };
    let req = ChatRequest {
        messages,
        max_tokens: usize::try_from(max_tokens).unwrap_or(usize::MAX),
        stop,
        sampling: Sampling {
            temperature,
            top_p,
            top_k: body.top_k.unwrap_or(0) as usize,
            repetition_penalty,
            seed: body.seed.map_or_else(random_seed, |s| s as u64),
            ..Sampling::default()
        },
        response_format,
        cancel: Cancel::new(),
        // The caller's own words: no stored data (their personal data is still redacted).
        classes: Vec::new(),
    };
    Ok(ChatCall {
        model: body.model.filter(|m| !m.trim().is_empty()),
        req,
        stream: body.stream,
        include_usage: body.stream_options.is_some_and(|o| o.include_usage),
    })
}

// ---------------------------------------------------------------------------------------------
// Chat completions.

/// Sets the generation's cancel flag when dropped: held by whatever waits for the answer (the
/// handler, or the response stream), so a client that goes away stops the model.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// What the generation thread sends.
enum GenEvent {
    Delta(String),
    Done(Box<Result<ChatResponse, AssistantError>>),
}

/// The fields every chunk and completion carries.
#[derive(Clone)]
struct Meta {
    id: String,
    created: u64,
    model: String,
}

impl Meta {
    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "system_fingerprint": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        })
    }
}

fn usage(r: &ChatResponse) -> Value {
    json!({
        "prompt_tokens": r.usage.prompt_tokens,
        "completion_tokens": r.usage.completion_tokens,
        "total_tokens": r.usage.prompt_tokens + r.usage.completion_tokens,
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(s): State<AppState>,
    ctx: Ctx,
    Extension(deadline): Extension<Deadline>,
    rid: Option<Extension<RequestId>>,
    ApiJson(body): ApiJson<ChatCompletionRequest>,
) -> Result<Response, AppError> {
    let call = convert(body)?;
    let name = call.model.clone();
    let generator = s.blocking(move |a| a.generator(name.as_deref())).await?;
    let meta = Meta {
        id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        created: unix_now(),
        model: generator.id().to_string(),
    };
    let guard = CancelOnDrop(call.req.cancel.clone());
    let (tx, mut rx) = mpsc::unbounded_channel::<GenEvent>();
    {
        // Unbounded on purpose: a slow reader must not hold the model (the queue behind it
        // waits); the text is bounded by max_tokens.
        let assistant = s.assistant.clone();
        let actor = ctx.actor.clone();
        let req = call.req;
        tokio::task::spawn_blocking(move || {
            let delta_tx = tx.clone();
            let mut on_delta = |d: &str| match delta_tx.send(GenEvent::Delta(d.to_string())) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            };
            let r = assistant.model_chat(
                &actor,
                "openai.chat",
                generator.as_ref(),
                &req,
                &mut on_delta,
            );
            let _ = tx.send(GenEvent::Done(Box::new(r)));
        });
    }
    if !call.stream {
        let resp = loop {
            match rx.recv().await {
                Some(GenEvent::Delta(_)) => continue,
                Some(GenEvent::Done(r)) => break (*r)?,
                None => return Err(AppError::Internal("the generation thread stopped".into())),
            }
        };
        drop(guard);
        let finish = match resp.finish_reason {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => {
                return Err(AppError::Internal(
                    "generation was cancelled while the client waited".into(),
                ));
            }
        };
        return Ok(Json(json!({
            "id": meta.id, "object": "chat.completion", "created": meta.created,
            "model": meta.model, "system_fingerprint": null,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": resp.text, "refusal": null},
                "logprobs": null,
                "finish_reason": finish,
            }],
            "usage": usage(&resp),
        }))
        .into_response());
    }
    // Streaming: the status is decided by the first event, so that errors before the first
    // token (unknown schema keyword, prompt too long, busy) are plain HTTP errors.
    let first = match rx.recv().await {
        Some(GenEvent::Done(r)) => match *r {
            Err(e) => return Err(e.into()),
            ok => GenEvent::Done(Box::new(ok)),
        },
        Some(ev) => ev,
        None => return Err(AppError::Internal("the generation thread stopped".into())),
    };
    let mut pending = VecDeque::new();
    pending.push_back(
        meta.chunk(json!({"role": "assistant", "content": ""}), None)
            .to_string(),
    );
    let state = SseState {
        rx,
        pending,
        first: Some(first),
        meta,
        include_usage: call.include_usage,
        deadline,
        request_id: rid.map(|Extension(r)| r.0).unwrap_or_default(),
        done: false,
        _guard: guard,
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
    pending: VecDeque<String>,
    /// The event that decided the status, not yet turned into data.
    first: Option<GenEvent>,
    meta: Meta,
    include_usage: bool,
    deadline: Deadline,
    request_id: String,
    done: bool,
    _guard: CancelOnDrop,
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
                        self._guard.0.cancel();
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
                Some(GenEvent::Delta(d)) => self
                    .pending
                    .push_back(self.meta.chunk(json!({"content": d}), None).to_string()),
                Some(GenEvent::Done(r)) => match *r {
                    Ok(r) => self.done_ok(&r),
                    Err(e) => {
                        let (_, code, message) = AppError::from(e).parts();
                        self.fail(code, message);
                    }
                },
                None => self.fail("internal", "internal error; quote the request id".into()),
            }
        }
    }

    /// The last chunks of a finished generation.
    fn done_ok(&mut self, r: &ChatResponse) {
        let finish = match r.finish_reason {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            // Only our own timeout cancels while the client still reads; it has
            // already been reported.
            FinishReason::Cancelled => "stop",
        };
        self.pending
            .push_back(self.meta.chunk(json!({}), Some(finish)).to_string());
        if self.include_usage {
            let mut c = self.meta.chunk(json!({}), None);
            c["choices"] = json!([]);
            c["usage"] = usage(r);
            self.pending.push_back(c.to_string());
        }
        self.finish();
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
