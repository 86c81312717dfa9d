//! `POST /v1/chat/completions`: OpenAI's chat completions, plain and streamed, with `n`
//! choices, log-probabilities and tool calls (see the parent module for the wire format).

use super::{
    CancelOnDrop, ChunkFormat, DEFAULT_MAX_TOKENS, Job, Knobs, Stop, StreamOptions, bad, choices,
    finish_reason, ignore_fields, refuse_unsupported, respond, spawn_jobs, stop_strings, unix_now,
};
use crate::error::AppError;
use crate::extract::{ApiJson, Ctx};
use crate::middleware::Deadline;
use crate::state::{AppState, RequestId};
use axum::extract::{Extension, State};
use axum::response::Response;
use models::{
    Cancel, ChatRequest, ChatResponse, MAX_TOP_LOGPROBS, Message, ResponseFormat, Role,
    TokenLogprob, Tool, ToolCall, ToolChoice,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /v1/chat/completions` body.
#[derive(Debug, Deserialize, JsonSchema)]
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
    /// Min-p (vLLM extension; 0 = off).
    #[serde(default)]
    pub min_p: Option<f32>,
    /// Repetition penalty (vLLM extension; 1 = off).
    #[serde(default)]
    pub repetition_penalty: Option<f32>,
    /// -2 to 2, per time a token was generated.
    #[serde(default)]
    pub frequency_penalty: Option<f32>,
    /// -2 to 2, once a token was generated.
    #[serde(default)]
    pub presence_penalty: Option<f32>,
    /// Token id → bias from -100 to 100.
    #[serde(default)]
    pub logit_bias: Option<serde_json::Map<String, Value>>,
    /// Random seed (absent: a random one).
    #[serde(default)]
    pub seed: Option<i64>,
    /// Stop strings.
    #[serde(default)]
    pub stop: Option<Stop>,
    /// Number of choices (1 to 16).
    #[serde(default)]
    pub n: Option<u32>,
    /// Report the generated tokens' log-probabilities.
    #[serde(default)]
    pub logprobs: Option<bool>,
    /// With `logprobs`: this many most likely alternatives per token (0 to 20).
    #[serde(default)]
    pub top_logprobs: Option<u32>,
    /// Text or JSON.
    #[serde(default)]
    pub response_format: Option<WireResponseFormat>,
    /// Functions the model may call (`{"type": "function", "function": {...}}`).
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    /// `none`, `auto`, `required` or `{"type": "function", "function": {"name": …}}`.
    #[serde(default)]
    pub tool_choice: Option<Value>,
    /// An end-user id (ignored).
    #[serde(default)]
    pub user: Option<String>,
    /// Fields OpenAI's clients send that do not change the answer here (`metadata`, `store`,
    /// `parallel_tool_calls`, `service_tier`, …) and any unknown field: accepted and ignored
    /// (logged at debug level), as OpenAI's own API and vLLM do; see
    /// [`super::refuse_unsupported`] for the ones refused.
    #[serde(flatten)]
    pub ignored: serde_json::Map<String, Value>,
}

/// One message.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WireMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The text, or text parts.
    #[serde(default)]
    pub content: Option<Content>,
    /// A participant name (ignored).
    #[serde(default)]
    pub name: Option<String>,
    /// Tool calls an assistant message made (history replayed by a client).
    #[serde(default)]
    pub tool_calls: Option<Vec<WireToolCall>>,
    /// For a `tool` message: the call it answers.
    #[serde(default)]
    pub tool_call_id: Option<String>,
    /// Other fields of a replayed message (`refusal`, `audio`, …): ignored.
    #[serde(flatten)]
    pub ignored: serde_json::Map<String, Value>,
}

/// A replayed tool call.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WireToolCall {
    /// The call's id.
    #[serde(default)]
    pub id: Option<String>,
    /// `function`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The function called.
    pub function: WireFunctionCall,
}

/// The function of a replayed tool call.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WireFunctionCall {
    /// Its name.
    pub name: String,
    /// Its arguments, JSON text (an object is accepted too).
    #[serde(default)]
    pub arguments: Option<Value>,
}

/// Message content: a string or an array of parts.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Parts; only `{"type": "text", "text": …}` is supported.
    Parts(Vec<ContentPart>),
}

/// One content part.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContentPart {
    /// `text` (others are refused).
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    #[serde(default)]
    pub text: Option<String>,
}

/// `response_format`.
#[derive(Debug, Deserialize, JsonSchema)]
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
#[derive(Debug, Deserialize, JsonSchema)]
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

/// A chat request in core terms, with what the wire answer needs.
struct ChatCall {
    model: Option<String>,
    req: ChatRequest,
    n: usize,
    stream: bool,
    include_usage: bool,
    logprobs: bool,
}

fn content_text(i: usize, content: Option<Content>) -> Result<String, AppError> {
    Ok(match content {
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
    })
}

pub(super) fn convert_message(i: usize, m: WireMessage) -> Result<Message, AppError> {
    ignore_fields("message", &m.ignored);
    let role = match m.role.as_str() {
        "system" | "developer" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        other => {
            return Err(bad(format!(
                "`messages[{i}].role` {other:?} is not supported; use system, developer, user, assistant or tool"
            )));
        }
    };
    let mut msg = Message::new(role, content_text(i, m.content)?);
    for (j, c) in m.tool_calls.unwrap_or_default().into_iter().enumerate() {
        if role != Role::Assistant {
            return Err(bad(format!(
                "`messages[{i}].tool_calls` is only allowed on assistant messages"
            )));
        }
        if c.kind.as_deref().is_some_and(|k| k != "function") {
            return Err(bad(format!(
                "`messages[{i}].tool_calls[{j}].type` must be \"function\""
            )));
        }
        let arguments = match c.function.arguments {
            None | Some(Value::Null) => "{}".to_string(),
            Some(Value::String(s)) => s,
            Some(v @ Value::Object(_)) => v.to_string(),
            Some(other) => {
                return Err(bad(format!(
                    "`messages[{i}].tool_calls[{j}].function.arguments` must be JSON text, not {other}"
                )));
            }
        };
        msg.tool_calls.push(ToolCall {
            id: c.id.unwrap_or_else(|| format!("call_{i}_{j}")),
            name: c.function.name,
            arguments,
        });
    }
    if role == Role::Tool {
        msg.tool_call_id = Some(m.tool_call_id.ok_or_else(|| {
            bad(format!(
                "`messages[{i}]` is a tool message without `tool_call_id`"
            ))
        })?);
    }
    Ok(msg)
}

fn convert_tools(
    tools: Option<Vec<Value>>,
    choice: Option<Value>,
) -> Result<(Vec<Tool>, ToolChoice), AppError> {
    let mut out = Vec::new();
    for (i, t) in tools.unwrap_or_default().into_iter().enumerate() {
        let tool =
            Tool::from_openai(&t.to_string()).map_err(|e| bad(format!("`tools[{i}]`: {e}")))?;
        if out.iter().any(|x: &Tool| x.name == tool.name) {
            return Err(bad(format!(
                "`tools[{i}]`: the function name {:?} is given twice",
                tool.name
            )));
        }
        models::json::Schema::compile(&tool.parameters).map_err(|e| AppError::BadRequest {
            code: "invalid_request",
            message: format!("`tools[{i}].function.parameters` cannot constrain a call: {e}"),
        })?;
        out.push(tool);
    }
    let choice = match choice {
        None | Some(Value::Null) if out.is_empty() => ToolChoice::None,
        None | Some(Value::Null) => ToolChoice::Auto,
        Some(Value::String(c)) => match c.as_str() {
            "none" => ToolChoice::None,
            "auto" => ToolChoice::Auto,
            "required" => ToolChoice::Required,
            other => {
                return Err(bad(format!(
                    "`tool_choice` {other:?} is not one of none, auto, required"
                )));
            }
        },
        Some(v) => match v["function"]["name"].as_str() {
            Some(name) if v["type"] == "function" => ToolChoice::Named(name.to_string()),
            _ => {
                return Err(bad(format!(
                    "`tool_choice` {v} is not none, auto, required or {{\"type\": \"function\", \"function\": {{\"name\": …}}}}"
                )));
            }
        },
    };
    if out.is_empty() && !matches!(choice, ToolChoice::None | ToolChoice::Auto) {
        return Err(bad(
            "`tool_choice` asks for a tool call but no `tools` are given",
        ));
    }
    if let ToolChoice::Named(n) = &choice
        && !out.iter().any(|t| &t.name == n)
    {
        return Err(bad(format!(
            "`tool_choice` names the function {n:?}, which is not among the tools"
        )));
    }
    Ok((out, choice))
}

fn convert(body: ChatCompletionRequest) -> Result<ChatCall, AppError> {
    refuse_unsupported(&body.ignored)?;
    ignore_fields("chat completion", &body.ignored);
    let n = choices(body.n)?;
    let top = body.top_logprobs.unwrap_or(0) as usize;
    if top > MAX_TOP_LOGPROBS {
        return Err(bad(format!(
            "`top_logprobs` {top} is above {MAX_TOP_LOGPROBS}"
        )));
    }
    let logprobs = body.logprobs == Some(true);
    if body.top_logprobs.is_some() && !logprobs {
        return Err(bad("`top_logprobs` needs `logprobs`: true"));
    }
    if body.messages.is_empty() {
        return Err(bad("`messages` must hold at least one message"));
    }
    let messages = body
        .messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| convert_message(i, m))
        .collect::<Result<Vec<_>, _>>()?;
    let (tools, tool_choice) = convert_tools(body.tools, body.tool_choice)?;
    let max_tokens = match (body.max_completion_tokens, body.max_tokens) {
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => DEFAULT_MAX_TOKENS as u64,
    };
    if max_tokens == 0 {
        return Err(bad("`max_tokens` must be at least 1"));
    }
    let sampling = Knobs {
        temperature: body.temperature,
        top_p: body.top_p,
        top_k: body.top_k,
        min_p: body.min_p,
        repetition_penalty: body.repetition_penalty,
        frequency_penalty: body.frequency_penalty,
        presence_penalty: body.presence_penalty,
        logit_bias: body.logit_bias,
        seed: body.seed,
    }
    .sampling()?;
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
    if !matches!(response_format, ResponseFormat::Text) && tool_choice != ToolChoice::None {
        return Err(bad(
            "`response_format` JSON and `tools` cannot be combined (a forced call is already decoded under its parameter schema)",
        ));
    }
    let mut req = ChatRequest::new(messages);
    req.max_tokens = usize::try_from(max_tokens).unwrap_or(usize::MAX);
    req.stop = stop_strings(body.stop)?;
    req.sampling = sampling;
    req.response_format = response_format;
    req.cancel = Cancel::new();
    // The caller's own words: no stored data (their personal data is still redacted).
    req.classes = Vec::new();
    req.logprobs = logprobs.then_some(top);
    req.tools = tools;
    req.tool_choice = tool_choice;
    Ok(ChatCall {
        model: body.model.filter(|m| !m.trim().is_empty()),
        req,
        n,
        stream: body.stream,
        include_usage: body.stream_options.is_some_and(|o| o.include_usage),
        logprobs,
    })
}

/// `logprobs.content` of a chat choice.
pub(super) fn chat_logprobs(lps: &[TokenLogprob]) -> Value {
    let entry =
        |text: String, lp: f32, bytes: &[u8]| json!({"token": text, "logprob": lp, "bytes": bytes});
    let content: Vec<Value> = lps
        .iter()
        .map(|t| {
            let mut e = entry(t.text(), t.logprob.unwrap_or(0.0), &t.bytes);
            e["top_logprobs"] = t
                .top
                .iter()
                .map(|(_, b, lp)| entry(String::from_utf8_lossy(b).into_owned(), *lp, b))
                .collect();
            e
        })
        .collect();
    json!({"content": content, "refusal": null})
}

fn wire_calls(calls: &[ToolCall], streaming: bool) -> Value {
    calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut v = json!({"id": c.id, "type": "function",
                               "function": {"name": c.name, "arguments": c.arguments}});
            if streaming {
                v["index"] = json!(i);
            }
            v
        })
        .collect()
}

/// The fields every chunk and completion carries.
#[derive(Clone)]
struct Meta {
    id: String,
    created: u64,
    model: String,
    logprobs: bool,
}

impl Meta {
    fn chunk(&self, index: usize, delta: Value, logprobs: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "system_fingerprint": null,
            "choices": [{"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}],
        })
    }

    fn lp(&self, r: &ChatResponse) -> Value {
        match (&r.logprobs, self.logprobs) {
            (Some(l), true) => chat_logprobs(l),
            _ => Value::Null,
        }
    }
}

impl ChunkFormat for Meta {
    fn head(&self) -> Value {
        json!({"id": self.id, "object": "chat.completion", "created": self.created,
               "model": self.model, "system_fingerprint": null})
    }

    fn choice(&self, index: usize, r: &ChatResponse) -> Value {
        let content = match (r.tool_calls.is_empty(), r.text.is_empty()) {
            (false, true) => Value::Null,
            _ => json!(r.text),
        };
        let mut message = json!({"role": "assistant", "content": content, "refusal": null});
        if !r.tool_calls.is_empty() {
            message["tool_calls"] = wire_calls(&r.tool_calls, false);
        }
        json!({
            "index": index,
            "message": message,
            "logprobs": self.lp(r),
            "finish_reason": finish_reason(r),
        })
    }

    fn open(&self, index: usize) -> Vec<Value> {
        vec![self.chunk(
            index,
            json!({"role": "assistant", "content": ""}),
            Value::Null,
            None,
        )]
    }

    fn delta(&self, index: usize, text: &str) -> Value {
        self.chunk(index, json!({"content": text}), Value::Null, None)
    }

    fn close(&self, index: usize, r: &ChatResponse) -> Vec<Value> {
        let mut out = Vec::new();
        if !r.tool_calls.is_empty() {
            out.push(self.chunk(
                index,
                json!({"tool_calls": wire_calls(&r.tool_calls, true)}),
                Value::Null,
                None,
            ));
        }
        out.push(self.chunk(index, json!({}), self.lp(r), Some(finish_reason(r))));
        out
    }

    fn usage(&self, usage: Value) -> Value {
        let mut c = self.chunk(0, json!({}), Value::Null, None);
        c["choices"] = json!([]);
        c["usage"] = usage;
        c
    }
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
        logprobs: call.logprobs,
    };
    let guard = CancelOnDrop(call.req.cancel.clone());
    let jobs: Vec<Job> = (0..call.n)
        .map(|i| {
            let mut req = call.req.clone();
            req.sampling.seed = req.sampling.seed.wrapping_add(i as u64);
            Job {
                index: i,
                first_of_prompt: i == 0,
                prompt: None,
                req,
            }
        })
        .collect();
    let firsts: Vec<bool> = jobs.iter().map(|j| j.first_of_prompt).collect();
    let rx = spawn_jobs(&s, ctx.actor.clone(), "openai.chat", generator, jobs);
    respond(
        rx,
        guard,
        Box::new(meta),
        firsts,
        call.stream,
        call.include_usage,
        deadline,
        rid.map(|Extension(r)| r.0).unwrap_or_default(),
    )
    .await
}
