//! `POST /v1/completions`: OpenAI's (legacy) text completions of raw prompts, no chat
//! template: prompt strings or token ids, `echo`, `logprobs` in the legacy shape (`tokens`,
//! `token_logprobs`, `top_logprobs`, `text_offset`), `n` choices per prompt. This is what
//! lm-evaluation-harness's `local-completions` (and its `gguf` client) score multiple-choice
//! tasks with: `echo: true, max_tokens: 1, logprobs: 1` gives every prompt token's
//! log-probability.

use super::{
    CancelOnDrop, ChunkFormat, Job, Knobs, MAX_PROMPTS, Stop, StreamOptions, bad, choices,
    finish_reason, ignore_fields, refuse_unsupported, respond, spawn_jobs, stop_strings, unix_now,
};
use crate::error::AppError;
use crate::extract::{ApiJson, Ctx};
use crate::middleware::Deadline;
use crate::state::{AppState, RequestId};
use axum::extract::{Extension, State};
use axum::response::Response;
use models::{Cancel, ChatRequest, ChatResponse, MAX_TOP_LOGPROBS, Prompt, TokenLogprob};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Tokens generated when the request names no limit (OpenAI's default).
pub const DEFAULT_COMPLETION_TOKENS: usize = 16;

/// `POST /v1/completions` body.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CompletionRequest {
    /// The model; absent or empty: the default generator.
    #[serde(default)]
    pub model: Option<String>,
    /// A string, strings, token ids, or lists of token ids.
    pub prompt: Value,
    /// Most tokens to generate (default 16; 0 with `echo`).
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Return the prompt before the completion.
    #[serde(default)]
    pub echo: bool,
    /// Report log-probabilities with this many alternatives per token (0 to 20).
    #[serde(default)]
    pub logprobs: Option<u32>,
    /// Stream the answer as server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
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
    pub logit_bias: Option<Map<String, Value>>,
    /// Random seed (absent: a random one).
    #[serde(default)]
    pub seed: Option<i64>,
    /// Stop strings.
    #[serde(default)]
    pub stop: Option<Stop>,
    /// Choices per prompt (1 to 16).
    #[serde(default)]
    pub n: Option<u32>,
    /// An end-user id (ignored).
    #[serde(default)]
    pub user: Option<String>,
    /// Other fields: refused when they would change the answer (`best_of` above 1,
    /// `suffix`), else accepted and ignored.
    #[serde(flatten)]
    pub ignored: Map<String, Value>,
}

/// The prompts of a request: OpenAI's four shapes.
fn prompts(v: Value) -> Result<Vec<Prompt>, AppError> {
    let ids = |a: &[Value], at: &str| -> Result<Vec<u32>, AppError> {
        a.iter()
            .map(|x| {
                x.as_u64()
                    .and_then(|t| u32::try_from(t).ok())
                    .ok_or_else(|| bad(format!("`{at}` holds {x}, which is not a token id")))
            })
            .collect()
    };
    let out = match v {
        Value::String(s) => vec![Prompt::Text(s)],
        Value::Array(a) if a.is_empty() => return Err(bad("`prompt` is empty")),
        Value::Array(a) if a[0].is_string() => a
            .iter()
            .enumerate()
            .map(|(i, p)| {
                p.as_str()
                    .map(|s| Prompt::Text(s.to_string()))
                    .ok_or_else(|| {
                        bad(format!(
                            "`prompt[{i}]` is {p}; a list of prompts holds strings only"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?,
        Value::Array(a) if a[0].is_array() => a
            .iter()
            .enumerate()
            .map(|(i, p)| match p.as_array() {
                Some(t) if !t.is_empty() => Ok(Prompt::Tokens(ids(t, &format!("prompt[{i}]"))?)),
                _ => Err(bad(format!(
                    "`prompt[{i}]` is not a non-empty list of token ids"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Value::Array(a) => vec![Prompt::Tokens(ids(&a, "prompt")?)],
        other @ (Value::Null | Value::Bool(_) | Value::Number(_) | Value::Object(_)) => {
            return Err(bad(format!(
                "`prompt` is {other}; use a string, strings, token ids or lists of token ids"
            )));
        }
    };
    if out
        .iter()
        .any(|p| matches!(p, Prompt::Text(t) if t.is_empty()))
    {
        return Err(bad("`prompt` strings must not be empty"));
    }
    if out.len() > MAX_PROMPTS {
        return Err(bad(format!(
            "`prompt` holds {} prompts; at most {MAX_PROMPTS} per request",
            out.len()
        )));
    }
    Ok(out)
}

/// The legacy `logprobs` object of one choice; offsets in characters from the start of the
/// choice's `text` (the prompt's start when echoed), where `base` is the first entry's offset.
fn legacy_logprobs(entries: &[&TokenLogprob], base: usize) -> Value {
    let mut tokens = Vec::with_capacity(entries.len());
    let mut token_logprobs = Vec::with_capacity(entries.len());
    let mut top_logprobs = Vec::with_capacity(entries.len());
    let mut text_offset = Vec::with_capacity(entries.len());
    let mut bytes: Vec<u8> = Vec::new();
    for t in entries {
        let valid = match std::str::from_utf8(&bytes) {
            Ok(s) => s.chars().count(),
            Err(e) => {
                std::str::from_utf8(&bytes[..e.valid_up_to()]).map_or(0, |s| s.chars().count())
            }
        };
        text_offset.push(base + valid);
        bytes.extend_from_slice(&t.bytes);
        tokens.push(json!(t.text()));
        match t.logprob {
            None => {
                token_logprobs.push(Value::Null);
                top_logprobs.push(Value::Null);
            }
            Some(lp) => {
                token_logprobs.push(json!(lp));
                let mut top = Map::new();
                for (_, b, l) in &t.top {
                    top.entry(String::from_utf8_lossy(b).into_owned())
                        .or_insert(json!(l));
                }
                top.entry(t.text()).or_insert(json!(lp));
                top_logprobs.push(Value::Object(top));
            }
        }
    }
    json!({"tokens": tokens, "token_logprobs": token_logprobs,
           "top_logprobs": top_logprobs, "text_offset": text_offset})
}

/// The stream and answer shape of one request.
#[derive(Clone)]
struct Meta {
    id: String,
    created: u64,
    model: String,
    logprobs: bool,
    echo: bool,
    /// Per choice: the prompt's text (for `echo` and the offsets).
    prompt_text: Vec<String>,
}

impl Meta {
    fn chunk(&self, index: usize, text: &str, logprobs: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id, "object": "text_completion", "created": self.created,
            "model": self.model, "system_fingerprint": null,
            "choices": [{"index": index, "text": text, "logprobs": logprobs, "finish_reason": finish}],
        })
    }

    fn lp(&self, index: usize, r: &ChatResponse) -> Value {
        if !self.logprobs {
            return Value::Null;
        }
        let prompt_chars = self.prompt_text[index].chars().count();
        let mut entries: Vec<&TokenLogprob> = Vec::new();
        let base = match (&r.prompt_logprobs, self.echo) {
            (Some(p), true) => {
                entries.extend(p.iter());
                0
            }
            _ => prompt_chars,
        };
        if let Some(g) = &r.logprobs {
            entries.extend(g.iter());
        }
        legacy_logprobs(&entries, base)
    }
}

impl ChunkFormat for Meta {
    fn head(&self) -> Value {
        json!({"id": self.id, "object": "text_completion", "created": self.created,
               "model": self.model, "system_fingerprint": null})
    }

    fn choice(&self, index: usize, r: &ChatResponse) -> Value {
        let text = match self.echo {
            true => format!("{}{}", self.prompt_text[index], r.text),
            false => r.text.clone(),
        };
        json!({"index": index, "text": text, "logprobs": self.lp(index, r),
               "finish_reason": finish_reason(r)})
    }

    fn open(&self, index: usize) -> Vec<Value> {
        match self.echo {
            true => vec![self.chunk(index, &self.prompt_text[index], Value::Null, None)],
            false => Vec::new(),
        }
    }

    fn delta(&self, index: usize, text: &str) -> Value {
        self.chunk(index, text, Value::Null, None)
    }

    fn close(&self, index: usize, r: &ChatResponse) -> Vec<Value> {
        vec![self.chunk(index, "", self.lp(index, r), Some(finish_reason(r)))]
    }

    fn usage(&self, usage: Value) -> Value {
        let mut c = self.chunk(0, "", Value::Null, None);
        c["choices"] = json!([]);
        c["usage"] = usage;
        c
    }
}

/// `POST /v1/completions`.
pub async fn completions(
    State(s): State<AppState>,
    ctx: Ctx,
    Extension(deadline): Extension<Deadline>,
    rid: Option<Extension<RequestId>>,
    ApiJson(body): ApiJson<CompletionRequest>,
) -> Result<Response, AppError> {
    refuse_unsupported(&body.ignored)?;
    ignore_fields("completion", &body.ignored);
    let n = choices(body.n)?;
    let prompts = prompts(body.prompt)?;
    let top = body.logprobs.map(|k| k as usize);
    if let Some(k) = top
        && k > MAX_TOP_LOGPROBS
    {
        return Err(bad(format!("`logprobs` {k} is above {MAX_TOP_LOGPROBS}")));
    }
    let max_tokens = body.max_tokens.unwrap_or(DEFAULT_COMPLETION_TOKENS as u64);
    if max_tokens == 0 && !body.echo {
        return Err(bad("`max_tokens` must be at least 1 (0 only with `echo`)"));
    }
    let mut req = ChatRequest::new(Vec::new());
    req.max_tokens = usize::try_from(max_tokens).unwrap_or(usize::MAX);
    req.stop = stop_strings(body.stop)?;
    req.sampling = Knobs {
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
    req.cancel = Cancel::new();
    req.logprobs = top;
    let name = body.model.filter(|m| !m.trim().is_empty());
    let echo = body.echo;
    // The prompts' texts (token prompts decoded), for `echo` and the offsets.
    let (generator, texts) = s
        .blocking(move |a| {
            let g = a.generator(name.as_deref())?;
            let texts = prompts
                .iter()
                .map(|p| match p {
                    Prompt::Text(t) => Ok(t.clone()),
                    Prompt::Tokens(ids) => g.detokenize(ids),
                })
                .collect::<Result<Vec<String>, _>>()
                .map_err(assistant::AssistantError::from)?;
            Ok::<_, assistant::AssistantError>((g, (prompts, texts)))
        })
        .await?;
    let (prompts, texts) = texts;
    let mut jobs = Vec::new();
    let mut prompt_text = Vec::new();
    for (p, text) in prompts.into_iter().zip(texts) {
        for j in 0..n {
            let mut r = req.clone();
            r.sampling.seed = r.sampling.seed.wrapping_add(j as u64);
            jobs.push(Job {
                index: jobs.len(),
                first_of_prompt: j == 0,
                prompt: Some((p.clone(), echo)),
                req: r,
            });
            prompt_text.push(text.clone());
        }
    }
    let meta = Meta {
        id: format!("cmpl-{}", uuid::Uuid::new_v4().simple()),
        created: unix_now(),
        model: generator.id().to_string(),
        logprobs: top.is_some(),
        echo,
        prompt_text,
    };
    let firsts: Vec<bool> = jobs.iter().map(|j| j.first_of_prompt).collect();
    let guard = CancelOnDrop(req.cancel.clone());
    let rx = spawn_jobs(&s, ctx.actor.clone(), "openai.completions", generator, jobs);
    respond(
        rx,
        guard,
        Box::new(meta),
        firsts,
        body.stream,
        body.stream_options.is_some_and(|o| o.include_usage),
        deadline,
        rid.map(|Extension(r)| r.0).unwrap_or_default(),
    )
    .await
}
