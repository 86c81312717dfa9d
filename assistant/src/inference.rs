//! The model layer as the workflows see it: the process's one [`Models`] registry built from
//! `[models]`, the default generator and embedder, and the audit record every model call leaves.
//!
//! # Design
//!
//! - **One registry.** [`Assistant::open`] builds a [`Models`] from the configuration
//!   ([`registry`]) without loading anything; a model is loaded on first use and shared by
//!   every caller (the server preloads the defaults in the background, see `models.preload`).
//!   With `backend = "remote"` a [`RemoteGenerator`] (and, when `remote_embedder` is set, a
//!   [`RemoteEmbedder`]) is registered under the remote model's name and answers for the
//!   default; installed local models stay available by name.
//! - **Every call audited the same way.** Workflows call models through [`chat`] and [`embed`]
//!   (or the [`Assistant`] methods that wrap them), which time the call and append one audit
//!   entry `model.call` per call, success or failure: the workflow, the model id, SHA-256 of
//!   the prompt and of the output (never the text itself), token counts, latency, the finish
//!   reason, and the caller (the entry's actor and request id). See [`ModelCall`] for exactly
//!   what is hashed.
//! - **Blocking.** Model calls are blocking (CPU inference, or a blocking HTTP client for the
//!   remote backend): async callers run them inside `spawn_blocking`.
//! - [`JsonModel`] asks one generator for one schema-constrained JSON document, audited as a
//!   named workflow; the RFQ desk wires it to the parser's model fallback (`crate::desk`). This
//!   module imports no workflow.

use crate::Assistant;
use crate::config::{Config, EmbedderPrefixes, ModelBackend, ModelsConfig};
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord, Store};
use models::remote::{Prefixes, RemoteConfig, RemoteEmbedder, RemoteGenerator};
use models::store::ModelStore;
use models::{
    ChatRequest, ChatResponse, EmbedKind, Embedder, Embeddings, Generator, GeneratorOptions,
    Message, ModelError, Models, Prompt, ResponseFormat,
};
use policies::DataClass;
use policies::redact::PromptPolicy;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The audit action of a model call.
pub const MODEL_CALL_ACTION: &str = "model.call";

/// The model registry for a (validated) configuration. Nothing is loaded yet; remote backends
/// are registered (no request is made).
pub fn registry(config: &Config) -> std::result::Result<Models, ModelError> {
    let m = &config.models;
    let opts = GeneratorOptions {
        queue_capacity: m.queue_capacity as usize,
        max_context: m.max_context as usize,
        ..GeneratorOptions::default()
    };
    let models = Models::new(ModelStore::new(config.models_dir()), opts);
    models.set_prompt_policy(prompt_policy(config));
    if m.backend == ModelBackend::Remote {
        let mut rc = remote_config(m, &m.remote_model);
        rc.context_length = m.remote_context_length as usize;
        models.add_generator(Arc::new(RemoteGenerator::new(rc)?));
        if !m.remote_embedder.is_empty() {
            let rc = remote_config(m, &m.remote_embedder);
            let (prefixes, input_type) = match m.remote_embedder_prefixes {
                EmbedderPrefixes::E5 => (
                    Prefixes {
                        query: "query: ".into(),
                        passage: "passage: ".into(),
                    },
                    false,
                ),
                EmbedderPrefixes::InputType => (Prefixes::default(), true),
                EmbedderPrefixes::None => (Prefixes::default(), false),
            };
            let mut e = RemoteEmbedder::new(rc, m.remote_embedder_dim as usize, 512, prefixes)?;
            if input_type {
                e = e.with_input_type();
            }
            models.add_embedder(Arc::new(e));
        }
    }
    Ok(models)
}

/// What is redacted before prompts under `config` (`[models] redact_*`; client names from
/// `[limits.clients]`: the names, not the ids, which are short codes that also occur in
/// ordinary text).
pub fn prompt_policy(config: &Config) -> PromptPolicy {
    let names = config
        .limits
        .clients
        .values()
        .filter_map(|c| c.name.as_deref().map(str::trim))
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    PromptPolicy {
        personal: config.models.redact_personal,
        client_names: config.models.redact_client_names,
        names,
    }
}

fn remote_config(m: &ModelsConfig, model: &str) -> RemoteConfig {
    let mut rc = RemoteConfig::new(&m.remote_base_url, model);
    rc.max_class = m.remote_max_class;
    rc.api_key = (!m.remote_api_key.is_empty()).then(|| m.remote_api_key.clone());
    rc.timeout = Duration::from_secs(m.remote_timeout_secs);
    rc.retries = m.remote_retries;
    rc.ca_file =
        (!m.remote_ca_file.is_empty()).then(|| crate::config::expand_home(&m.remote_ca_file));
    rc
}

/// The name the default generator answers to: the remote model with `backend = "remote"`,
/// else `models.generator`.
pub fn default_generator_name(config: &Config) -> &str {
    let m = &config.models;
    if m.backend == ModelBackend::Remote {
        &m.remote_model
    } else {
        &m.generator
    }
}

/// The name the default embedder answers to: the remote embedder when one is configured with
/// `backend = "remote"`, else `models.embedder`.
pub fn default_embedder_name(config: &Config) -> &str {
    let m = &config.models;
    if m.backend == ModelBackend::Remote && !m.remote_embedder.is_empty() {
        &m.remote_embedder
    } else {
        &m.embedder
    }
}

/// One model call as the audit log records it (details of the `model.call` entry; the caller is
/// the entry's actor and request id).
///
/// Hashes are lowercase hex SHA-256:
/// - chat: the prompt is the messages as compact JSON `[{"role":…,"content":…},…]` followed,
///   for JSON output, by a newline and the schema as compact JSON; the output is the generated
///   text (the JSON document for JSON output);
/// - embeddings: the prompt is the input texts as a compact JSON array of strings, followed by
///   a newline and `query` or `passage`; the output is every vector's components as
///   little-endian `f32`, in input order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelCall {
    /// What called the model (`openai.chat`, `openai.embeddings`, `rfq.parse`).
    pub workflow: String,
    /// The model asked.
    pub model: String,
    /// SHA-256 of the prompt.
    pub prompt_sha256: String,
    /// SHA-256 of the output; `None` when the call failed.
    pub output_sha256: Option<String>,
    /// Tokens in the prompt (0 when the backend does not say).
    pub prompt_tokens: usize,
    /// Tokens generated (0 for embeddings).
    pub completion_tokens: usize,
    /// Wall time of the call, queueing included, in milliseconds.
    pub latency_ms: u64,
    /// `stop`, `length`, `cancelled` (chat), `ok` (embeddings) or `error`.
    pub outcome: String,
    /// What went wrong, when `outcome` is `error`.
    pub error: Option<String>,
    /// The classes of the stored data the prompt held, as the workflow declared them
    /// ([`ChatRequest::classes`]; `general` when none was); empty for embeddings.
    pub classes: Vec<String>,
    /// The kinds of personal or secret data replaced by placeholders before the model saw the
    /// prompt (`phone`, `id_card`, …); empty when nothing was.
    pub redacted: Vec<String>,
    /// Why the call was refused, when a backend refused the prompt's data class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<policies::explain::Explanation>,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The prompt hash of a chat request (see [`ModelCall`]).
pub fn chat_prompt_sha256(req: &ChatRequest) -> String {
    let msgs: Vec<Value> = req
        .messages
        .iter()
        .map(|m| {
            let mut v = json!({"role": m.role.as_str(), "content": m.content});
            if !m.tool_calls.is_empty() {
                v["tool_calls"] = m
                    .tool_calls
                    .iter()
                    .map(|c| json!([c.id, c.name, c.arguments]))
                    .collect();
            }
            if let Some(id) = &m.tool_call_id {
                v["tool_call_id"] = json!(id);
            }
            v
        })
        .collect();
    let mut bytes = serde_json::to_vec(&msgs).expect("JSON of strings serialises");
    for t in &req.tools {
        bytes.push(b'\n');
        bytes.extend_from_slice(t.source.as_bytes());
    }
    if let ResponseFormat::JsonSchema(s) = &req.response_format {
        bytes.push(b'\n');
        bytes.extend(serde_json::to_vec(s).expect("a JSON value serialises"));
    }
    sha256_hex(&bytes)
}

/// The prompt hash of an embedding request (see [`ModelCall`]).
pub fn embed_prompt_sha256(texts: &[&str], kind: EmbedKind) -> String {
    let mut bytes = serde_json::to_vec(texts).expect("JSON of strings serialises");
    bytes.push(b'\n');
    bytes.extend_from_slice(match kind {
        EmbedKind::Query => b"query",
        EmbedKind::Passage => b"passage",
    });
    sha256_hex(&bytes)
}

/// The output hash of embeddings (see [`ModelCall`]).
pub fn embeddings_sha256(e: &Embeddings) -> String {
    let mut h = Sha256::new();
    for v in &e.vectors {
        for x in v {
            h.update(x.to_le_bytes());
        }
    }
    hex::encode(h.finalize())
}

/// A short, stable name for a model error kind (what the audit entry records).
fn error_kind(e: &ModelError) -> &'static str {
    e.kind()
}

/// Appends the audit entry of one model call.
pub fn record(store: &Store, actor: &Actor, call: &ModelCall) -> Result<u64> {
    let details = serde_json::to_value(call).expect("a ModelCall serialises");
    store.write(actor, |tx| {
        tx.audit(AuditRecord {
            action: MODEL_CALL_ACTION,
            object_kind: "model",
            object_id: &call.model,
            class: DataClass::IMPORTANT,
            details,
        })
        .map_err(AssistantError::from)
    })
}

/// Runs a chat request on `generator`, streaming deltas to `on_delta`, and records the call.
/// A model error is recorded too, then returned as [`AssistantError::Model`].
pub fn chat(
    store: &Store,
    actor: &Actor,
    workflow: &str,
    generator: &dyn Generator,
    req: &ChatRequest,
    on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
) -> Result<ChatResponse> {
    let t0 = Instant::now();
    let result = generator.chat_stream(req, on_delta);
    finish_call(
        store,
        actor,
        workflow,
        generator,
        req,
        chat_prompt_sha256(req),
        t0,
        result,
    )
}

/// The prompt hash of a raw-prompt completion (see [`ModelCall`]).
pub fn completion_prompt_sha256(prompt: &Prompt) -> String {
    match prompt {
        Prompt::Text(t) => sha256_hex(t.as_bytes()),
        Prompt::Tokens(ids) => {
            sha256_hex(&serde_json::to_vec(ids).expect("JSON of integers serialises"))
        }
    }
}

/// A raw prompt to continue, and whether its own tokens are scored too (`echo`).
#[derive(Debug, Clone, Copy)]
pub struct RawPrompt<'a> {
    /// The prompt.
    pub prompt: &'a Prompt,
    /// Return the prompt tokens' log-probabilities ([`ChatResponse::prompt_logprobs`]).
    pub echo: bool,
}

/// Runs a raw-prompt completion on `generator` ([`Generator::complete_stream`]) and records the
/// call as [`chat`] does.
pub fn complete(
    store: &Store,
    actor: &Actor,
    workflow: &str,
    generator: &dyn Generator,
    raw: RawPrompt<'_>,
    req: &ChatRequest,
    on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
) -> Result<ChatResponse> {
    let t0 = Instant::now();
    let (prompt, echo) = (raw.prompt, raw.echo);
    let result = generator.complete_stream(prompt, req, echo, on_delta);
    finish_call(
        store,
        actor,
        workflow,
        generator,
        req,
        completion_prompt_sha256(prompt),
        t0,
        result,
    )
}

/// Records a finished generation call and returns its result.
#[allow(clippy::too_many_arguments)]
fn finish_call(
    store: &Store,
    actor: &Actor,
    workflow: &str,
    generator: &dyn Generator,
    req: &ChatRequest,
    prompt_sha256: String,
    t0: Instant,
    result: std::result::Result<ChatResponse, ModelError>,
) -> Result<ChatResponse> {
    let mut call = ModelCall {
        workflow: workflow.into(),
        model: generator.id().into(),
        prompt_sha256,
        output_sha256: None,
        prompt_tokens: 0,
        completion_tokens: 0,
        latency_ms: t0.elapsed().as_millis() as u64,
        outcome: "error".into(),
        error: None,
        classes: if req.classes.is_empty() {
            vec![DataClass::GENERAL.to_string()]
        } else {
            req.classes.iter().map(ToString::to_string).collect()
        },
        redacted: Vec::new(),
        explanation: None,
    };
    match &result {
        Ok(r) => {
            call.redacted = r.redacted.iter().map(|k| k.as_str().to_string()).collect();
            call.output_sha256 = Some(sha256_hex(r.text.as_bytes()));
            call.prompt_tokens = r.usage.prompt_tokens;
            call.completion_tokens = r.usage.completion_tokens;
            call.outcome = r.finish_reason.as_str().into();
        }
        Err(e) => {
            call.error = Some(format!("{}: {e}", error_kind(e)));
            if let ModelError::Clearance {
                model,
                class,
                allowed,
            } = e
            {
                call.explanation = Some(policies::explain::Explanation::new(
                    policies::explain::Decision::ModelRefused,
                    format!(
                        "未发送：提示含 {class} 级数据，模型 {model} 最多只能接收 {allowed} 级数据。"
                    ),
                    format!(
                        "not sent: the prompt holds {class} data and model {model} may receive at most {allowed}."
                    ),
                    vec![
                        ("model", model.clone()),
                        ("class", class.to_string()),
                        ("allowed", allowed.to_string()),
                        ("setting", "models.remote_max_class".into()),
                    ],
                ));
            }
        }
    }
    record(store, actor, &call)?;
    result.map_err(AssistantError::Model)
}

/// Embeds `texts` with `embedder` and records the call (failures too).
pub fn embed(
    store: &Store,
    actor: &Actor,
    workflow: &str,
    embedder: &dyn Embedder,
    texts: &[&str],
    kind: EmbedKind,
) -> Result<Embeddings> {
    let t0 = Instant::now();
    let result = embedder.embed(texts, kind);
    let mut call = ModelCall {
        workflow: workflow.into(),
        model: embedder.id().into(),
        prompt_sha256: embed_prompt_sha256(texts, kind),
        output_sha256: None,
        prompt_tokens: 0,
        completion_tokens: 0,
        latency_ms: t0.elapsed().as_millis() as u64,
        outcome: "error".into(),
        error: None,
        classes: Vec::new(),
        redacted: Vec::new(),
        explanation: None,
    };
    match &result {
        Ok(e) => {
            call.output_sha256 = Some(embeddings_sha256(e));
            call.prompt_tokens = embedder.token_count(texts, kind).unwrap_or(0);
            call.outcome = "ok".into();
        }
        Err(e) => call.error = Some(format!("{}: {e}", error_kind(e))),
    }
    record(store, actor, &call)?;
    result.map_err(AssistantError::Model)
}

/// One schema-constrained JSON document from a generator of the registry (the RFQ parser's model
/// fallback, or any workflow that wants one): a generator of the registry, asked with the prompt as
/// written (the schema is enforced by constrained decoding, not shown, which keeps the prompt
/// short), greedy, audited when a store is given.
pub struct JsonModel {
    models: Arc<Models>,
    name: String,
    max_tokens: usize,
    workflow: String,
    class: DataClass,
    audit: Option<(Store, Actor)>,
    timeout: Option<std::time::Duration>,
}

impl std::fmt::Debug for JsonModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonModel")
            .field("name", &self.name)
            .field("max_tokens", &self.max_tokens)
            .field("workflow", &self.workflow)
            .finish_non_exhaustive()
    }
}

impl JsonModel {
    /// Asks generator `name` of `models` (loaded on first use) for at most `max_tokens` tokens;
    /// the calls are recorded as `workflow` once [`JsonModel::audited`] is set. Prompts are
    /// declared `important` (client requests and trade data) unless [`JsonModel::holding`]
    /// says otherwise.
    pub fn new(models: Arc<Models>, name: &str, max_tokens: usize, workflow: &str) -> JsonModel {
        JsonModel {
            models,
            name: name.into(),
            max_tokens,
            workflow: workflow.into(),
            class: DataClass::IMPORTANT,
            audit: None,
            timeout: None,
        }
    }

    /// Gives each call up after `limit`, waiting for the model included
    /// ([`models::Cancel::within`]): the call then fails with a timeout.
    pub fn within(mut self, limit: std::time::Duration) -> JsonModel {
        self.timeout = Some(limit);
        self
    }

    /// The classification of the data its prompts hold ([`ChatRequest::classes`]).
    pub fn holding(mut self, class: DataClass) -> JsonModel {
        self.class = class;
        self
    }

    /// Records every call in `store`'s audit log as `actor`.
    pub fn audited(mut self, store: Store, actor: Actor) -> JsonModel {
        self.audit = Some((store, actor));
        self
    }

    /// Generates one document valid against `schema`, with the token usage.
    pub fn generate(&self, prompt: &str, schema: &Value) -> Result<ChatResponse> {
        let generator = self.models.generator(&self.name)?;
        let mut req = ChatRequest::new(vec![Message::user(prompt)]).holding(self.class);
        req.max_tokens = self.max_tokens;
        req.response_format = ResponseFormat::JsonSchema(schema.clone());
        if let Some(limit) = self.timeout {
            req.cancel = models::Cancel::within(limit);
        }
        let mut ignore = |_: &str| ControlFlow::Continue(());
        match &self.audit {
            Some((store, actor)) => chat(
                store,
                actor,
                &self.workflow,
                generator.as_ref(),
                &req,
                &mut ignore,
            ),
            None => generator
                .chat_stream(&req, &mut ignore)
                .map_err(AssistantError::Model),
        }
    }
}

impl Assistant {
    /// The process's model registry.
    pub fn models(&self) -> &Arc<Models> {
        &self.models
    }

    /// The generator called `name` (`None`: the default generator), loaded on first use.
    pub fn generator(&self, name: Option<&str>) -> Result<Arc<dyn Generator>> {
        let name = name.unwrap_or_else(|| default_generator_name(&self.config));
        Ok(self.models.generator(name)?)
    }

    /// The embedder called `name` (`None`: the default embedder), loaded on first use.
    pub fn embedder(&self, name: Option<&str>) -> Result<Arc<dyn Embedder>> {
        let name = name.unwrap_or_else(|| default_embedder_name(&self.config));
        Ok(self.models.embedder(name)?)
    }

    /// Runs and records a chat request (see [`chat`]).
    pub fn model_chat(
        &self,
        actor: &Actor,
        workflow: &str,
        generator: &dyn Generator,
        req: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse> {
        chat(&self.store, actor, workflow, generator, req, on_delta)
    }

    /// Runs and records a raw-prompt completion (see [`complete`]).
    pub fn model_complete(
        &self,
        actor: &Actor,
        workflow: &str,
        generator: &dyn Generator,
        raw: RawPrompt<'_>,
        req: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse> {
        complete(&self.store, actor, workflow, generator, raw, req, on_delta)
    }

    /// Runs and records an embedding request (see [`embed`]).
    pub fn model_embed(
        &self,
        actor: &Actor,
        workflow: &str,
        embedder: &dyn Embedder,
        texts: &[&str],
        kind: EmbedKind,
    ) -> Result<Embeddings> {
        embed(&self.store, actor, workflow, embedder, texts, kind)
    }

    /// Loads the default generator and embedder now (the server calls it in the background at
    /// start-up when `models.preload` is on). Returns what failed, if anything, for the log.
    pub fn preload_models(&self) -> Vec<(String, ModelError)> {
        let mut failed = Vec::new();
        let g = default_generator_name(&self.config).to_string();
        if let Err(e) = self.models.generator(&g) {
            failed.push((g, e));
        }
        let e = default_embedder_name(&self.config).to_string();
        if let Err(err) = self.models.embedder(&e) {
            failed.push((e, err));
        }
        failed
    }
}
