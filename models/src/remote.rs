//! The remote backend: [`Generator`] and [`Embedder`] over an OpenAI-compatible server (vLLM,
//! llama.cpp server, Ollama, or another Deskmate), for models too big for one machine.
//!
//! Calls are blocking (reqwest's blocking client over rustls): from async code, call them inside
//! `spawn_blocking`, as for local models. Connection failures, timeouts, 429 and 5xx answers are
//! retried with exponential backoff (honouring `Retry-After`) as long as nothing was streamed to
//! the caller yet. JSON output is requested with `response_format: json_schema` and validated
//! here again, since a remote server's constraint cannot be trusted.

use std::io::{BufRead, BufReader};
use std::ops::ControlFlow;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::embed::{EmbedKind, Embedder, Embeddings};
use crate::error::ModelError;
use crate::generate::{
    ChatRequest, ChatResponse, FinishReason, Generator, ResponseFormat, Timings, Usage, check_json,
};
use crate::json::SchemaLimits;
use policies::{Clearance, DataClass};

/// Where the server is and how to talk to it.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// The API root, e.g. `http://10.0.0.5:8000/v1` (requests go to `{base_url}/chat/completions`).
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// The model name the server knows.
    pub model: String,
    /// The id this backend answers to locally (defaults to `model`).
    pub id: Option<String>,
    /// Connecting and waiting for each read.
    pub timeout: Duration,
    /// Extra attempts after a retryable failure.
    pub retries: u32,
    /// The first backoff; doubled each retry.
    pub backoff: Duration,
    /// The model's context length, for callers that budget prompts.
    pub context_length: usize,
    /// What a `response_format` schema may ask: it is compiled here too, to refuse what the
    /// answer could not be checked against (the server is not trusted to refuse it).
    pub schema_limits: SchemaLimits,
    /// The most restricted data the server may receive (default `important`, not sensitive):
    /// a prompt declaring more is refused before anything is sent ([`ModelError::Clearance`]).
    pub max_class: DataClass,
    /// A PEM file of CA certificates to trust besides the bundled web roots and the system's
    /// (a server behind a corporate CA).
    pub ca_file: Option<std::path::PathBuf>,
}

impl RemoteConfig {
    /// A configuration with 60 s timeouts, 2 retries from 0.5 s, and an 8192-token context.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key: None,
            model: model.into(),
            id: None,
            timeout: Duration::from_secs(60),
            retries: 2,
            backoff: Duration::from_millis(500),
            context_length: 8192,
            schema_limits: SchemaLimits::default(),
            max_class: DataClass::IMPORTANT,
            ca_file: None,
        }
    }
}

struct Client {
    cfg: RemoteConfig,
    /// Built on first use: reqwest's blocking client starts a runtime of its own, which must
    /// not happen on an async thread (where a registry may be built), only where calls run.
    http: OnceLock<reqwest::blocking::Client>,
}

impl Client {
    fn new(cfg: RemoteConfig) -> Self {
        Self {
            cfg,
            http: OnceLock::new(),
        }
    }

    fn http(&self) -> Result<&reqwest::blocking::Client, ModelError> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let fail = |reason: String| ModelError::Remote {
            url: self.cfg.base_url.clone(),
            status: None,
            reason,
        };
        let mut b = reqwest::blocking::Client::builder()
            .connect_timeout(self.cfg.timeout)
            // Blocking reqwest applies this to each connect, read and write, so a long
            // stream is fine as long as tokens keep coming.
            .timeout(self.cfg.timeout)
            .tls_built_in_webpki_certs(true)
            .tls_built_in_native_certs(true);
        if let Some(path) = &self.cfg.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| fail(format!("reading the CA file {}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| fail(format!("the CA file {} is not PEM: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(fail(format!(
                    "the CA file {} holds no certificate",
                    path.display()
                )));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        let c = b
            .build()
            .map_err(|e| fail(format!("building the HTTP client: {e}")))?;
        Ok(self.http.get_or_init(|| c))
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.cfg.base_url)
    }

    /// POSTs `body`, retrying retryable failures; returns the successful response.
    fn post(&self, path: &str, body: &Value) -> Result<reqwest::blocking::Response, ModelError> {
        self.post_until(path, body, None)
    }

    /// [`Client::post`] within a caller's deadline ([`crate::Cancel::within`]): each attempt's
    /// timeout is what is left of it, no retry starts after it, and running out of it is
    /// [`ModelError::Timeout`].
    fn post_until(
        &self,
        path: &str,
        body: &Value,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<reqwest::blocking::Response, ModelError> {
        let url = self.url(path);
        let mut attempt = 0;
        let timeout = |limit: Duration| ModelError::Timeout {
            model: self
                .cfg
                .id
                .clone()
                .unwrap_or_else(|| self.cfg.model.clone()),
            limit_ms: limit.as_millis() as u64,
        };
        loop {
            let mut rb = self.http()?.post(&url).json(body);
            if let Some((at, limit)) = deadline {
                let left = at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(timeout(limit));
                }
                rb = rb.timeout(left.min(self.cfg.timeout));
            }
            if let Some(k) = &self.cfg.api_key {
                rb = rb.bearer_auth(k);
            }
            let (err, retry_after) = match rb.send() {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) => {
                    let status = r.status();
                    let retry_after = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = r.text().unwrap_or_default();
                    let reason = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                        .unwrap_or_else(|| text.chars().take(300).collect());
                    let e = ModelError::Remote {
                        url: url.clone(),
                        status: Some(status.as_u16()),
                        reason,
                    };
                    if !(status.as_u16() == 429 || status.is_server_error()) {
                        return Err(e);
                    }
                    (e, retry_after)
                }
                Err(e) => (
                    ModelError::Remote {
                        url: url.clone(),
                        status: None,
                        reason: e.to_string(),
                    },
                    None,
                ),
            };
            if let Some((at, limit)) = deadline
                && Instant::now() >= at
            {
                return Err(timeout(limit));
            }
            if attempt >= self.cfg.retries {
                return Err(err);
            }
            let wait = retry_after
                .unwrap_or(self.cfg.backoff * 2u32.pow(attempt))
                .min(Duration::from_secs(30));
            if let Some((at, limit)) = deadline
                && Instant::now() + wait >= at
            {
                return Err(timeout(limit));
            }
            tracing::warn!(url = %url, attempt, ?wait, error = %err, "retrying remote model call");
            std::thread::sleep(wait);
            attempt += 1;
        }
    }
}

/// A generator served by an OpenAI-compatible server.
pub struct RemoteGenerator {
    client: Client,
    id: String,
}

impl std::fmt::Debug for RemoteGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteGenerator")
            .field("id", &self.id)
            .field("base_url", &self.client.cfg.base_url)
            .finish()
    }
}

impl RemoteGenerator {
    /// A client for `cfg` (no request is made yet).
    pub fn new(cfg: RemoteConfig) -> Result<Self, ModelError> {
        let id = cfg.id.clone().unwrap_or_else(|| cfg.model.clone());
        Ok(Self {
            client: Client::new(cfg),
            id,
        })
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let messages: Vec<Value> = req
            .messages
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        let s = &req.sampling;
        let mut body = json!({
            "model": self.client.cfg.model,
            "messages": messages,
            "max_tokens": req.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            // OpenAI's seed is a signed 64-bit integer: send the same 64 bits as one (the
            // serving side maps it back with `as u64`), never a number above i64::MAX.
            "seed": s.seed as i64,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if s.top_k > 0 {
            body["top_k"] = json!(s.top_k);
        }
        if s.repetition_penalty != 1.0 {
            body["repetition_penalty"] = json!(s.repetition_penalty);
        }
        if s.frequency_penalty != 0.0 {
            body["frequency_penalty"] = json!(s.frequency_penalty);
        }
        if s.presence_penalty != 0.0 {
            body["presence_penalty"] = json!(s.presence_penalty);
        }
        if s.min_p > 0.0 {
            body["min_p"] = json!(s.min_p);
        }
        if !s.logit_bias.is_empty() {
            // Token ids of the remote model's own vocabulary, as the client gave them.
            let bias: serde_json::Map<String, Value> = s
                .logit_bias
                .iter()
                .map(|(t, b)| (t.to_string(), json!(b)))
                .collect();
            body["logit_bias"] = Value::Object(bias);
        }
        if !req.stop.is_empty() {
            body["stop"] = json!(req.stop);
        }
        if let ResponseFormat::JsonSchema(schema) = &req.response_format {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema, "strict": true},
            });
        }
        body
    }
}

impl Generator for RemoteGenerator {
    fn id(&self) -> &str {
        &self.id
    }

    fn context_length(&self) -> usize {
        self.client.cfg.context_length
    }

    fn clearance(&self) -> Option<Clearance> {
        let m = self.client.cfg.max_class;
        Some(Clearance {
            max_level: m.level,
            sensitive: m.sensitive,
        })
    }

    fn chat_stream(
        &self,
        req: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse, ModelError> {
        let r = self.chat_stream_unrecorded(req, on_delta);
        crate::metrics::record_chat(&self.id, &r);
        r
    }
}

impl RemoteGenerator {
    /// [`Generator::chat_stream`] without the metrics.
    fn chat_stream_unrecorded(
        &self,
        req: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse, ModelError> {
        let class = req.class();
        if let Some(c) = self.clearance()
            && !c.can_read(class)
        {
            return Err(ModelError::Clearance {
                model: self.id.clone(),
                class,
                allowed: self.client.cfg.max_class,
            });
        }
        if req.logprobs.is_some() {
            return Err(self.unsupported("log-probabilities"));
        }
        if !req.tools.is_empty() && req.tool_choice != crate::generate::ToolChoice::None {
            return Err(self.unsupported("tool calls"));
        }
        if req.messages.iter().any(|m| !m.tool_calls.is_empty()) {
            return Err(self.unsupported("replayed tool calls"));
        }
        if let ResponseFormat::JsonSchema(s) = &req.response_format {
            // Refuse what we could not check afterwards, as the local backend does.
            crate::json::Schema::compile_with(s, &self.client.cfg.schema_limits)?;
        }
        let url = self.client.url("chat/completions");
        let t0 = Instant::now();
        let resp =
            self.client
                .post_until("chat/completions", &self.body(req), req.cancel.deadline())?;
        let bad = |reason: String| ModelError::Remote {
            url: url.clone(),
            status: None,
            reason,
        };
        let mut text = String::new();
        let mut finish = FinishReason::Length;
        let mut usage = Usage::default();
        let mut first = None;
        for line in BufReader::new(resp).lines() {
            if req.cancel.is_cancelled() {
                finish = FinishReason::Cancelled;
                break;
            }
            let line = line.map_err(|e| match req.cancel.deadline() {
                Some((_, limit)) if req.cancel.timed_out() => ModelError::Timeout {
                    model: self.id.clone(),
                    limit_ms: limit.as_millis() as u64,
                },
                _ => bad(format!("reading the stream: {e}")),
            })?;
            let Some(data) = line.strip_prefix("data:").map(str::trim) else {
                continue;
            };
            if data == "[DONE]" {
                break;
            }
            let v: Value =
                serde_json::from_str(data).map_err(|e| bad(format!("bad stream event: {e}")))?;
            if let Some(msg) = v["error"]["message"].as_str() {
                return Err(bad(msg.to_string()));
            }
            if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                usage.prompt_tokens = u["prompt_tokens"].as_u64().unwrap_or(0) as usize;
                usage.completion_tokens = u["completion_tokens"].as_u64().unwrap_or(0) as usize;
            }
            let choice = &v["choices"][0];
            if let Some(d) = choice["delta"]["content"].as_str()
                && !d.is_empty()
            {
                first.get_or_insert_with(|| t0.elapsed());
                text.push_str(d);
                if on_delta(d).is_break() {
                    finish = FinishReason::Cancelled;
                    break;
                }
            }
            match choice["finish_reason"].as_str() {
                Some("stop") => finish = FinishReason::Stop,
                Some("length") => finish = FinishReason::Length,
                _ => {}
            }
        }
        if finish == FinishReason::Cancelled
            && let Some((_, limit)) = req.cancel.deadline().filter(|_| req.cancel.timed_out())
        {
            return Err(ModelError::Timeout {
                model: self.id.clone(),
                limit_ms: limit.as_millis() as u64,
            });
        }
        let json = match &req.response_format {
            ResponseFormat::JsonSchema(s) if finish != FinishReason::Cancelled => {
                Some(check_json(&self.id, &text, s)?)
            }
            _ => None,
        };
        let prefill = first.unwrap_or_else(|| t0.elapsed());
        Ok(ChatResponse {
            redacted: Vec::new(),
            logprobs: None,
            prompt_logprobs: None,
            tool_calls: Vec::new(),
            model: self.id.clone(),
            text,
            tokens: Vec::new(),
            json,
            finish_reason: finish,
            usage,
            timings: Timings {
                prefill,
                decode: t0.elapsed().saturating_sub(prefill),
                ..Timings::default()
            },
        })
    }
}

/// Which prefixes an asymmetric remote embedder wants (e5: `query: ` / `passage: `).
#[derive(Debug, Clone, Default)]
pub struct Prefixes {
    /// Put before queries.
    pub query: String,
    /// Put before passages.
    pub passage: String,
}

/// An embedder served by an OpenAI-compatible server (`/embeddings`).
pub struct RemoteEmbedder {
    client: Client,
    id: String,
    dim: usize,
    max_tokens: usize,
    prefixes: Prefixes,
    input_type: bool,
}

impl std::fmt::Debug for RemoteEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteEmbedder")
            .field("id", &self.id)
            .field("dim", &self.dim)
            .finish()
    }
}

impl RemoteEmbedder {
    /// A client for `cfg` whose vectors have `dim` components.
    pub fn new(
        cfg: RemoteConfig,
        dim: usize,
        max_tokens: usize,
        prefixes: Prefixes,
    ) -> Result<Self, ModelError> {
        let id = cfg.id.clone().unwrap_or_else(|| cfg.model.clone());
        Ok(Self {
            client: Client::new(cfg),
            id,
            dim,
            max_tokens,
            prefixes,
            input_type: false,
        })
    }

    /// Also sends `"input_type": "query"` or `"passage"` with each request, for servers that
    /// prefix asymmetric models themselves (Deskmate's own `/v1/embeddings` reads it).
    pub fn with_input_type(mut self) -> Self {
        self.input_type = true;
        self
    }
}

impl Embedder for RemoteEmbedder {
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
        let prefix = match kind {
            EmbedKind::Query => &self.prefixes.query,
            EmbedKind::Passage => &self.prefixes.passage,
        };
        let input: Vec<String> = texts.iter().map(|t| format!("{prefix}{t}")).collect();
        let mut body = json!({"model": self.client.cfg.model, "input": input});
        if self.input_type {
            body["input_type"] = json!(match kind {
                EmbedKind::Query => "query",
                EmbedKind::Passage => "passage",
            });
        }
        let url = self.client.url("embeddings");
        let resp = self.client.post("embeddings", &body)?;
        let v: Value = resp.json().map_err(|e| ModelError::Remote {
            url: url.clone(),
            status: None,
            reason: format!("bad embeddings answer: {e}"),
        })?;
        let data = v["data"].as_array().cloned().unwrap_or_default();
        let mut vectors = vec![Vec::new(); texts.len()];
        for (pos, d) in data.iter().enumerate() {
            let i = d["index"].as_u64().map_or(pos, |i| i as usize);
            let mut vec: Vec<f32> = d["embedding"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_f64)
                        .map(|x| x as f32)
                        .collect()
                })
                .unwrap_or_default();
            if vec.len() != self.dim || i >= texts.len() {
                return Err(ModelError::Remote {
                    url,
                    status: None,
                    reason: format!(
                        "embedding {i} has {} components, expected {}",
                        vec.len(),
                        self.dim
                    ),
                });
            }
            let n = vec.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            vec.iter_mut().for_each(|x| *x /= n);
            vectors[i] = vec;
        }
        if vectors.iter().any(Vec::is_empty) {
            return Err(ModelError::Remote {
                url,
                status: None,
                reason: format!("{} embeddings for {} inputs", data.len(), texts.len()),
            });
        }
        Ok(Embeddings {
            vectors,
            truncated: vec![false; texts.len()],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    #[test]
    fn seeds_above_i64_max_go_out_as_signed_integers_with_the_same_bits() {
        let g = RemoteGenerator::new(RemoteConfig::new("http://127.0.0.1:9/v1", "m")).unwrap();
        for seed in [0, 42, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            let mut req = ChatRequest::new(vec![Message::user("hi")]);
            req.sampling.seed = seed;
            let body = g.body(&req);
            let sent = body["seed"].as_i64().expect("seed is sent as an i64");
            assert_eq!(sent as u64, seed);
        }
    }
}
