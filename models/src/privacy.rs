//! Personal and secret data kept out of prompts: every generator the [`crate::Models`] registry
//! hands out is a [`Redacting`] generator around the real one. Before the model sees a request,
//! the texts of its messages are redacted together (one placeholder table, so the same phone
//! number is the same `⟦PHONE_1⟧` in every message) under the registry's
//! [`PromptPolicy`]; the model's output is restored as it streams (a placeholder split across
//! two deltas is held back until it is whole), in the final text and in the parsed JSON
//! document. The kinds replaced are reported in [`ChatResponse::redacted`] for the audit entry.
//!
//! Whether a backend is "remote" for the policy's client-name rule is whether it has a
//! [`Generator::clearance`] (backends outside the process do).

use std::ops::ControlFlow;
use std::sync::{Arc, RwLock};

use policies::Clearance;
use policies::redact::PromptPolicy;

use crate::error::ModelError;
use crate::generate::{
    ChatRequest, ChatResponse, Generator, Prompt, ResponseFormat, TokenizerInfo,
};

/// A generator whose prompts are redacted and whose output is restored (see the module doc).
pub struct Redacting {
    inner: Arc<dyn Generator>,
    policy: Arc<RwLock<PromptPolicy>>,
}

impl Redacting {
    /// Wraps `inner`; `policy` is read at every request (the registry's, shared).
    pub fn new(inner: Arc<dyn Generator>, policy: Arc<RwLock<PromptPolicy>>) -> Self {
        Self { inner, policy }
    }
}

impl Redacting {
    /// What the policy replaces in `texts` for this backend; `None` when nothing.
    fn redactions(&self, texts: &[&str]) -> Option<Vec<policies::redact::Redaction>> {
        let remote = self.inner.clearance().is_some();
        let policy = self.policy.read().unwrap_or_else(|p| p.into_inner());
        policy
            .apply(texts, remote)
            .filter(|r| r.iter().any(|x| !x.replaced.is_empty()))
    }
}

/// Runs `generate` with deltas restored through `table` before they reach `on_delta` (a
/// placeholder split across deltas is held back until whole); the response is returned as
/// the model gave it.
fn restoring(
    table: &policies::redact::Redaction,
    json: bool,
    on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    generate: impl FnOnce(&mut dyn FnMut(&str) -> ControlFlow<()>) -> Result<ChatResponse, ModelError>,
) -> Result<ChatResponse, ModelError> {
    let mut restorer = table.restorer(json);
    let mut stopped = false;
    let resp = generate(&mut |d| {
        let out = restorer.push(d);
        if out.is_empty() {
            return ControlFlow::Continue(());
        }
        let flow = on_delta(&out);
        stopped = flow.is_break();
        flow
    })?;
    let rest = restorer.finish();
    if !rest.is_empty() && !stopped {
        let _ = on_delta(&rest);
    }
    Ok(resp)
}

impl Generator for Redacting {
    fn id(&self) -> &str {
        self.inner.id()
    }

    fn context_length(&self) -> usize {
        self.inner.context_length()
    }

    fn clearance(&self) -> Option<Clearance> {
        self.inner.clearance()
    }

    fn chat_stream(
        &self,
        req: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse, ModelError> {
        let texts: Vec<&str> = req.messages.iter().map(|m| m.content.as_str()).collect();
        let Some(redactions) = self.redactions(&texts) else {
            return self.inner.chat_stream(req, on_delta);
        };
        if req.logprobs.is_some() {
            return Err(refused_logprobs(&redactions));
        }
        let mut redacted = req.clone();
        for (m, r) in redacted.messages.iter_mut().zip(&redactions) {
            m.content.clone_from(&r.text);
        }
        // Every redaction of one call shares the full table.
        let table = redactions
            .last()
            .expect("at least one message was redacted");
        let json = matches!(req.response_format, ResponseFormat::JsonSchema(_));
        let mut resp = restoring(table, json, on_delta, |d| {
            self.inner.chat_stream(&redacted, d)
        })?;
        resp.text = if json {
            table.restore_json_text(&resp.text)
        } else {
            table.restore(&resp.text)
        };
        if let Some(v) = &mut resp.json {
            table.restore_json(v);
        }
        for c in &mut resp.tool_calls {
            c.arguments = table.restore_json_text(&c.arguments);
        }
        resp.redacted = table.kinds().into_iter().collect();
        Ok(resp)
    }

    fn complete_stream(
        &self,
        prompt: &Prompt,
        req: &ChatRequest,
        echo: bool,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<ChatResponse, ModelError> {
        // A token prompt is checked as its text: what it holds cannot be replaced token by
        // token, so a prompt that needs redaction is refused.
        let text = match prompt {
            Prompt::Text(t) => t.clone(),
            Prompt::Tokens(ids) => self.inner.detokenize(ids)?,
        };
        let Some(redactions) = self.redactions(&[text.as_str()]) else {
            return self.inner.complete_stream(prompt, req, echo, on_delta);
        };
        if req.logprobs.is_some() || echo || matches!(prompt, Prompt::Tokens(_)) {
            return Err(refused_logprobs(&redactions));
        }
        let table = redactions.last().expect("one text was redacted");
        let redacted = Prompt::Text(table.text.clone());
        let mut resp = restoring(table, false, on_delta, |d| {
            self.inner.complete_stream(&redacted, req, false, d)
        })?;
        resp.text = table.restore(&resp.text);
        resp.redacted = table.kinds().into_iter().collect();
        Ok(resp)
    }

    fn tokenize(&self, text: &str, special: bool) -> Result<Vec<u32>, ModelError> {
        self.inner.tokenize(text, special)
    }

    fn detokenize(&self, ids: &[u32]) -> Result<String, ModelError> {
        self.inner.detokenize(ids)
    }

    fn render_prompt(&self, req: &ChatRequest) -> Result<String, ModelError> {
        self.inner.render_prompt(req)
    }

    fn tokenizer_info(&self) -> Option<TokenizerInfo> {
        self.inner.tokenizer_info()
    }
}

/// Token-level answers (log-probabilities, an echoed or token prompt) are refused for a prompt
/// that the policy redacts: they would show or score the placeholders, not the caller's text.
fn refused_logprobs(redactions: &[policies::redact::Redaction]) -> ModelError {
    let mut kinds: Vec<&str> = redactions
        .iter()
        .flat_map(|r| r.replaced.iter().map(|x| x.kind.as_str()))
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    ModelError::InvalidInput(format!(
        "the prompt holds data the privacy policy replaces before a model sees it ({}); log-probabilities, `echo` and token prompts are not available for it (an evaluation server whose prompts hold no real personal data can set `models.redact_personal = false`)",
        kinds.join(", ")
    ))
}
