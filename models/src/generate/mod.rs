//! The generation interface every generator (local candle models, remote servers) implements,
//! and its request/response types. They are shaped so that an OpenAI-compatible endpoint is a
//! thin mapping: messages in, streamed text deltas out, a finish reason and token usage at the
//! end.

pub mod gemv;
pub mod local;
pub mod quantized;
pub mod queue;
pub mod sampler;
pub mod template;
pub mod tools;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use policies::redact::PiiKind;
use policies::{Clearance, DataClass};
use serde_json::Value;

pub use local::{GeneratorOptions, LocalGenerator};
pub use tools::{Tool, ToolCall, ToolChoice};

use crate::error::ModelError;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The person asking.
    User,
    /// The model's earlier answers.
    Assistant,
    /// The result of a tool the model called (its `tool_call_id` names the call).
    Tool,
}

impl Role {
    /// The role's name in chat templates and the OpenAI format.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
    /// The tools an assistant message called (history a client replays).
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the call it answers.
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A message from `role`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }
}

/// How the next token is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// 0 for greedy decoding; higher is more random.
    pub temperature: f32,
    /// Nucleus sampling: keep the most likely tokens whose probabilities add up to this (1 = off).
    pub top_p: f32,
    /// Keep only the k most likely tokens (0 = off).
    pub top_k: usize,
    /// Divide the logits of recently generated tokens by this (1 = off).
    pub repetition_penalty: f32,
    /// How many recent tokens the penalty looks at.
    pub repeat_last_n: usize,
    /// The random seed (same seed, same request, same model: same output).
    pub seed: u64,
    /// Subtracted from a token's logit once per time it was generated already (OpenAI's
    /// `frequency_penalty`, -2 to 2; 0 = off).
    pub frequency_penalty: f32,
    /// Subtracted from a token's logit once it was generated at all (OpenAI's
    /// `presence_penalty`, -2 to 2; 0 = off).
    pub presence_penalty: f32,
    /// Drop tokens whose probability is below this share of the most likely token's (0 = off).
    pub min_p: f32,
    /// Added to the logits of these tokens before sampling (OpenAI's `logit_bias`, -100 to
    /// 100; -100 bans a token).
    pub logit_bias: Vec<(u32, f32)>,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            repetition_penalty: 1.0,
            repeat_last_n: 64,
            seed: 42,
            frequency_penalty: 0.0,
            presence_penalty: 0.0,
            min_p: 0.0,
            logit_bias: Vec::new(),
        }
    }
}

/// The shape the output must have.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ResponseFormat {
    /// Free text.
    #[default]
    Text,
    /// A JSON document valid against this JSON Schema (subset: see [`crate::json::schema`]);
    /// decoding is constrained so that it always is.
    JsonSchema(Value),
}

/// A flag a caller sets to stop a generation early (e.g. when an HTTP client disconnects),
/// with an optional deadline ([`Cancel::within`]): past it, the generation stops as if
/// cancelled and the backend answers [`crate::ModelError::Timeout`] (a model-backed chain then
/// falls back for that request).
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    deadline: Option<(Instant, Duration)>,
}

impl Cancel {
    /// A flag not yet set, without a deadline.
    pub fn new() -> Self {
        Self::default()
    }
    /// A flag that also trips `limit` from now (waiting for the model included).
    pub fn within(limit: Duration) -> Self {
        Self {
            flag: Arc::default(),
            deadline: Some((Instant::now() + limit, limit)),
        }
    }
    /// Asks the generation to stop at the next token.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }
    /// Whether [`Cancel::cancel`] was called or the deadline has passed.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed) || self.timed_out()
    }
    /// Whether the deadline has passed.
    pub fn timed_out(&self) -> bool {
        self.deadline.is_some_and(|(at, _)| Instant::now() >= at)
    }
    /// The deadline and the limit it was set from, if any.
    pub fn deadline(&self) -> Option<(Instant, Duration)> {
        self.deadline
    }
}

/// A chat completion request.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The conversation so far; the model answers the last message.
    pub messages: Vec<Message>,
    /// The most tokens to generate.
    pub max_tokens: usize,
    /// Generation stops before any of these strings (they are not included in the output).
    pub stop: Vec<String>,
    /// Sampling settings.
    pub sampling: Sampling,
    /// Free text or schema-constrained JSON.
    pub response_format: ResponseFormat,
    /// Set it to stop early.
    pub cancel: Cancel,
    /// The classification of the stored data the prompt holds (evidence chunks, a document, a
    /// draft), declared by the workflow that built it: a backend refuses a prompt above its
    /// clearance ([`Generator::clearance`]) and the audit entry records them. Empty: only the
    /// requester's own words.
    pub classes: Vec<DataClass>,
    /// Report the log-probability of every generated token and of this many most likely
    /// alternatives at each step (at most [`MAX_TOP_LOGPROBS`]); `None`: no log-probabilities.
    pub logprobs: Option<usize>,
    /// Functions the model may call ([`tools`]).
    pub tools: Vec<Tool>,
    /// Whether and which of [`ChatRequest::tools`] the model must call.
    pub tool_choice: ToolChoice,
}

/// Most alternatives [`ChatRequest::logprobs`] may ask for (OpenAI's limit).
pub const MAX_TOP_LOGPROBS: usize = 20;

/// The log-probability of one token, as the model gave it (before sampling settings, masks or
/// penalties), with the most likely alternatives at its position.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLogprob {
    /// The token id.
    pub id: u32,
    /// The token's bytes (its text, for special tokens).
    pub bytes: Vec<u8>,
    /// Natural log of its probability; `None` for the first token of a prompt (nothing
    /// precedes it).
    pub logprob: Option<f32>,
    /// The most likely tokens at this position, most likely first: `(id, bytes, logprob)`.
    pub top: Vec<(u32, Vec<u8>, f32)>,
}

impl TokenLogprob {
    /// The token's text (invalid UTF-8 of a partial character shown as U+FFFD).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A raw prompt for [`Generator::complete_stream`] (no chat template).
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// Text, tokenized by the model's tokenizer (with its BOS token when the model adds one).
    Text(String),
    /// Token ids, used as given.
    Tokens(Vec<u32>),
}

/// What a model's tokenizer is, for clients that tokenize themselves (vLLM's
/// `/tokenizer_info`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TokenizerInfo {
    /// The beginning-of-sequence token's text.
    pub bos_token: Option<String>,
    /// The end-of-sequence token's text.
    pub eos_token: Option<String>,
    /// Whether a text prompt starts with the BOS token.
    pub add_bos: bool,
    /// The chat template's source (Jinja).
    pub chat_template: Option<String>,
    /// The vocabulary's size.
    pub vocab_size: usize,
}

impl ChatRequest {
    /// A request with one user message and default settings (greedy, 256 tokens).
    pub fn user(prompt: impl Into<String>) -> Self {
        Self::new(vec![Message::user(prompt)])
    }

    /// A request for these messages with default settings (greedy, 256 tokens).
    pub fn new(messages: Vec<Message>) -> Self {
        Self {
            messages,
            max_tokens: 256,
            stop: Vec::new(),
            sampling: Sampling::default(),
            response_format: ResponseFormat::Text,
            cancel: Cancel::new(),
            classes: Vec::new(),
            logprobs: None,
            tools: Vec::new(),
            tool_choice: ToolChoice::None,
        }
    }

    /// Declares that the prompt holds data of `class` (see [`ChatRequest::classes`]).
    pub fn holding(mut self, class: DataClass) -> Self {
        if !self.classes.contains(&class) {
            self.classes.push(class);
        }
        self
    }

    /// The most restricted class declared: the highest level, sensitive if any is (general
    /// when none is declared).
    pub fn class(&self) -> DataClass {
        self.classes
            .iter()
            .fold(DataClass::GENERAL, |a, b| DataClass {
                level: a.level.max(b.level),
                sensitive: a.sensitive || b.sensitive,
            })
    }
}

/// Why generation ended (the OpenAI `finish_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model ended its answer, a stop string was met, or the JSON document closed.
    Stop,
    /// `max_tokens` or the context length was reached. For JSON output the document was then
    /// closed the shortest valid way, so it still parses and validates.
    Length,
    /// The caller cancelled.
    Cancelled,
    /// The model called one or more tools ([`ChatResponse::tool_calls`]).
    ToolCalls,
}

impl FinishReason {
    /// The OpenAI wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
            FinishReason::ToolCalls => "tool_calls",
        }
    }
}

/// Token counts (the OpenAI `usage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Tokens in the rendered prompt.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
}

/// Where the time went.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timings {
    /// Waiting in the model's queue.
    pub queued: Duration,
    /// Running the prompt (time to first token, less queueing).
    pub prefill: Duration,
    /// Generating the rest.
    pub decode: Duration,
    /// Computing JSON token masks (part of `decode`).
    pub masking: Duration,
}

/// A finished chat completion.
#[derive(Debug, Clone)]
pub struct ChatResponse {
    /// The model that answered.
    pub model: String,
    /// The generated text (for JSON output: the document).
    pub text: String,
    /// The generated token ids, when the backend exposes them (local models).
    pub tokens: Vec<u32>,
    /// The parsed and validated document, for [`ResponseFormat::JsonSchema`].
    pub json: Option<Value>,
    /// Why it ended.
    pub finish_reason: FinishReason,
    /// Token counts.
    pub usage: Usage,
    /// Where the time went.
    pub timings: Timings,
    /// The kinds of personal or secret data replaced by placeholders before the model saw the
    /// prompt (and restored in `text`), sorted; empty when nothing was replaced.
    pub redacted: Vec<PiiKind>,
    /// The generated tokens' log-probabilities, when [`ChatRequest::logprobs`] asked for them.
    pub logprobs: Option<Vec<TokenLogprob>>,
    /// The prompt tokens' log-probabilities, when a completion asked for them (`echo`).
    pub prompt_logprobs: Option<Vec<TokenLogprob>>,
    /// The tools the model called (finish reason [`FinishReason::ToolCalls`]); `text` then
    /// holds what it wrote besides, if anything.
    pub tool_calls: Vec<ToolCall>,
}

/// A text generation model.
pub trait Generator: Send + Sync {
    /// A stable id naming the model (`qwen2.5-coder-1.5b-instruct`).
    fn id(&self) -> &str;

    /// The longest prompt plus completion in tokens.
    fn context_length(&self) -> usize;

    /// The most restricted data this backend may receive: `None` for models run in this
    /// process (they may see whatever the requester may), a configured maximum for backends
    /// outside it (remote servers), which refuse prompts holding more
    /// ([`ModelError::Clearance`]).
    fn clearance(&self) -> Option<Clearance> {
        None
    }

    /// Answers the conversation, calling `on_delta` with each new piece of text as it is
    /// generated; returning [`ControlFlow::Break`] from it cancels (finish reason `Cancelled`).
    /// For JSON output the deltas are pieces of the document.
    fn chat_stream(
        &self,
        req: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse, ModelError>;

    /// Answers the conversation without streaming.
    fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, ModelError> {
        self.chat_stream(req, &mut |_| ControlFlow::Continue(()))
    }

    /// Continues a raw prompt (no chat template; `req.messages`, `tools` and
    /// `response_format` other than text are not used). `echo`: also return the prompt's
    /// tokens with their log-probabilities ([`ChatResponse::prompt_logprobs`]); then
    /// `req.max_tokens` may be 0. Backends that cannot run raw prompts refuse.
    fn complete_stream(
        &self,
        prompt: &Prompt,
        req: &ChatRequest,
        echo: bool,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse, ModelError> {
        let _ = (prompt, req, echo, on_delta);
        Err(self.unsupported("raw-prompt completions"))
    }

    /// Token ids of `text`; `special`: add the BOS token when the model adds one.
    fn tokenize(&self, text: &str, special: bool) -> Result<Vec<u32>, ModelError> {
        let _ = (text, special);
        Err(self.unsupported("tokenization"))
    }

    /// The text of token ids.
    fn detokenize(&self, ids: &[u32]) -> Result<String, ModelError> {
        let _ = ids;
        Err(self.unsupported("detokenization"))
    }

    /// The prompt the chat template makes of `req` (what [`Generator::chat_stream`] runs).
    fn render_prompt(&self, req: &ChatRequest) -> Result<String, ModelError> {
        let _ = req;
        Err(self.unsupported("chat-template rendering"))
    }

    /// The tokenizer's special tokens and template, when the backend exposes them.
    fn tokenizer_info(&self) -> Option<TokenizerInfo> {
        None
    }

    /// The error of a feature this backend does not offer.
    fn unsupported(&self, what: &str) -> ModelError {
        ModelError::InvalidInput(format!(
            "model `{}` does not offer {what} through Deskmate (a remote backend); use a local model",
            self.id()
        ))
    }
}

/// Generates a JSON document valid against `schema` in answer to `prompt`: decoding is
/// constrained to the schema and the result is validated again before it is returned.
/// `classes`: the classification of the stored data in `prompt` ([`ChatRequest::classes`]).
pub fn generate_json(
    generator: &dyn Generator,
    prompt: &str,
    schema: &Value,
    max_tokens: usize,
    classes: &[DataClass],
) -> Result<Value, ModelError> {
    // Constrained decoding guarantees the shape; showing the schema helps the model fill it
    // with the right content.
    let mut req = ChatRequest::user(format!(
        "{prompt}\n\nAnswer with one JSON document that follows this JSON Schema:\n{schema}"
    ));
    req.max_tokens = max_tokens;
    req.response_format = ResponseFormat::JsonSchema(schema.clone());
    req.classes = classes.to_vec();
    let resp = generator.chat(&req)?;
    resp.json.ok_or_else(|| {
        ModelError::Inference(format!("{} returned no JSON document", generator.id()))
    })
}

/// Parses and validates a generated document (used by every backend).
pub(crate) fn check_json(model: &str, text: &str, schema: &Value) -> Result<Value, ModelError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        ModelError::Inference(format!("{model} produced JSON that does not parse: {e}"))
    })?;
    let problems = crate::json::validate(schema, &doc);
    if !problems.is_empty() {
        return Err(ModelError::Inference(format!(
            "{model} produced JSON that breaks the schema: {}",
            problems.join("; ")
        )));
    }
    Ok(doc)
}
