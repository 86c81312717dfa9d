//! vLLM's tokenizer endpoints, which clients that count or cut tokens themselves use
//! (lm-evaluation-harness's `remote` tokenizer backend among them):
//!
//! - `POST /tokenize`: `{"model"?, "prompt": "…"}` (or llama.cpp's `"content"`) or
//!   `{"model"?, "messages": [...]}` (rendered by the model's chat template, as the chat
//!   endpoint renders them), `add_special_tokens` (default true: the BOS token when the model
//!   adds one), `return_token_strs` → `{"count", "max_model_len", "tokens", "token_strs"?}`.
//! - `POST /detokenize`: `{"model"?, "tokens": [...]}` → `{"prompt": "…"}`.
//! - `GET /tokenizer_info?model=…` → `{"eos_token", "bos_token", "pad_token",
//!   "chat_template", "add_bos_token", "model_max_length", "vocab_size", "tokenizer_class"}`.
//!
//! Remote backends do not expose their tokenizer: 400 naming the model.

use super::bad;
use super::chat::WireMessage;
use crate::error::AppError;
use crate::extract::{ApiJson, Ctx};
use crate::state::AppState;
use assistant::AssistantError;
use axum::Json;
use axum::extract::{Query, State};
use models::ChatRequest;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// `POST /tokenize` body.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TokenizeRequest {
    /// The model; absent or empty: the default generator.
    #[serde(default)]
    pub model: Option<String>,
    /// The text to tokenize.
    #[serde(default)]
    pub prompt: Option<String>,
    /// The text (llama.cpp server's name).
    #[serde(default)]
    pub content: Option<String>,
    /// A conversation, rendered by the chat template.
    #[serde(default)]
    pub messages: Option<Vec<WireMessage>>,
    /// Add the model's BOS token to a text (default true).
    #[serde(default)]
    pub add_special_tokens: Option<bool>,
    /// Also return each token's text.
    #[serde(default)]
    pub return_token_strs: bool,
    /// Other fields (`add_generation_prompt`, …): accepted and ignored.
    #[serde(flatten)]
    pub ignored: Map<String, Value>,
}

/// `POST /detokenize` body.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DetokenizeRequest {
    /// The model; absent or empty: the default generator.
    #[serde(default)]
    pub model: Option<String>,
    /// Token ids.
    pub tokens: Vec<u32>,
}

/// `GET /tokenizer_info` query.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct InfoQuery {
    /// The model; absent: the default generator.
    #[serde(default)]
    pub model: Option<String>,
}

/// `POST /tokenize`.
pub async fn tokenize(
    State(s): State<AppState>,
    _ctx: Ctx,
    ApiJson(body): ApiJson<TokenizeRequest>,
) -> Result<Json<Value>, AppError> {
    super::ignore_fields("tokenize", &body.ignored);
    let text = match (body.prompt.or(body.content), body.messages) {
        (Some(_), Some(_)) => return Err(bad("give `prompt` or `messages`, not both")),
        (None, None) => return Err(bad("`prompt` (or `messages`) is required")),
        (Some(t), None) => Ok(t),
        (None, Some(m)) => Err(m),
    };
    let (text, messages) = match text {
        Ok(t) => (Some(t), None),
        Err(m) => (
            None,
            Some(
                m.into_iter()
                    .enumerate()
                    .map(|(i, m)| super::chat::convert_message(i, m))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        ),
    };
    let special = body.add_special_tokens.unwrap_or(true);
    let name = body.model.filter(|m| !m.trim().is_empty());
    let strs = body.return_token_strs;
    let v = s
        .blocking(move |a| {
            let g = a.generator(name.as_deref())?;
            let (text, special) = match (text, messages) {
                (Some(t), _) => (t, special),
                // A rendered conversation holds its special tokens already.
                (None, Some(m)) => (g.render_prompt(&ChatRequest::new(m))?, false),
                (None, None) => unreachable!("one of them was checked"),
            };
            let ids = g.tokenize(&text, special)?;
            let mut v = json!({"count": ids.len(), "max_model_len": g.context_length(),
                               "tokens": ids});
            if strs {
                let parts: Vec<String> = ids
                    .iter()
                    .map(|&i| g.detokenize(&[i]))
                    .collect::<Result<_, _>>()?;
                v["token_strs"] = json!(parts);
            }
            Ok::<_, AssistantError>(v)
        })
        .await?;
    Ok(Json(v))
}

/// `POST /detokenize`.
pub async fn detokenize(
    State(s): State<AppState>,
    _ctx: Ctx,
    ApiJson(body): ApiJson<DetokenizeRequest>,
) -> Result<Json<Value>, AppError> {
    let name = body.model.filter(|m| !m.trim().is_empty());
    let text = s
        .blocking(move |a| {
            let g = a.generator(name.as_deref())?;
            Ok::<_, AssistantError>(g.detokenize(&body.tokens)?)
        })
        .await?;
    Ok(Json(json!({"prompt": text})))
}

/// `GET /tokenizer_info`.
pub async fn tokenizer_info(
    State(s): State<AppState>,
    _ctx: Ctx,
    Query(q): Query<InfoQuery>,
) -> Result<Json<Value>, AppError> {
    let name = q.model.filter(|m| !m.trim().is_empty());
    let v = s
        .blocking(move |a| {
            let g = a.generator(name.as_deref())?;
            let info = g
                .tokenizer_info()
                .ok_or_else(|| AssistantError::from(g.unsupported("its tokenizer")))?;
            Ok::<_, AssistantError>(json!({
                "model": g.id(),
                "tokenizer_class": "PreTrainedTokenizerFast",
                "eos_token": info.eos_token,
                "bos_token": info.bos_token,
                "pad_token": null,
                "add_bos_token": info.add_bos,
                "chat_template": info.chat_template,
                "model_max_length": g.context_length(),
                "vocab_size": info.vocab_size,
            }))
        })
        .await?;
    Ok(Json(v))
}
