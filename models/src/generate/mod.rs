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

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use policies::redact::PiiKind;
use policies::{Clearance, DataClass};
use serde_json::Value;

pub use local::{GeneratorOptions, LocalGenerator};

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
}

impl Role {
    /// The role's name in chat templates and the OpenAI format.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
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
}

impl Message {
    /// A message from `role`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
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
}

impl FinishReason {
    /// The OpenAI wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
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
