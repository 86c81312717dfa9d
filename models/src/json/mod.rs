//! Constrained JSON output: a JSON Schema subset ([`schema`]) compiled into a byte-level
//! automaton ([`automaton`]) that a token trie ([`mask`]) turns into a logit mask at every
//! decoding step, so only tokens that keep the output a valid prefix of a valid document can be
//! sampled; plus an independent validator ([`validate`]) run on the finished document.
//!
//! Schemas come from clients, so compiling one is bounded by [`SchemaLimits`] and every refusal
//! is a [`SchemaError`] naming the place in the schema and the limit or reason: a schema that
//! compiles can always be generated and closed within bounded time and memory.

pub mod automaton;
pub mod error;
pub mod limits;
pub mod mask;
pub mod schema;
pub mod validate;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::Value;

pub use automaton::{Automaton, State};
pub use error::{Contradiction, SchemaError};
pub use limits::SchemaLimits;
pub use mask::TokenTable;
pub use schema::Schema;
pub use validate::validate;

/// The per-request state of constrained decoding over one model's vocabulary.
#[derive(Debug)]
pub struct JsonConstraint {
    aut: Automaton,
    state: State,
    table: Arc<TokenTable>,
    mask: Vec<u64>,
    text: Vec<u8>,
}

impl JsonConstraint {
    /// Compiles `schema` under the default [`SchemaLimits`] for a vocabulary.
    pub fn new(schema: &Value, table: Arc<TokenTable>) -> Result<Self, SchemaError> {
        Self::with_limits(schema, &SchemaLimits::default(), table)
    }

    /// Compiles `schema` under `limits` for a vocabulary.
    pub fn with_limits(
        schema: &Value,
        limits: &SchemaLimits,
        table: Arc<TokenTable>,
    ) -> Result<Self, SchemaError> {
        let aut = Automaton::new(Schema::compile_with(schema, limits)?);
        let state = aut.start();
        let mask = vec![0; table.len().div_ceil(64)];
        Ok(Self {
            aut,
            state,
            table,
            mask,
            text: Vec::new(),
        })
    }

    /// The tokens allowed next, one bit per token id.
    pub fn allowed(&mut self) -> &[u64] {
        self.table.allowed(&self.aut, &self.state, &mut self.mask);
        &self.mask
    }

    /// Takes the sampled token; false if it was not allowed (a bug: the mask forbids it).
    pub fn advance(&mut self, token: u32) -> bool {
        if self.table.is_eos(token) {
            return self.aut.is_accepting(&self.state);
        }
        let ok = self.table.advance(&self.aut, &mut self.state, token);
        if ok && let Some(b) = self.table.bytes(token) {
            self.text.extend_from_slice(b);
        }
        ok
    }

    /// The bytes every valid continuation begins with, at most `max` of them: what the schema
    /// makes the model write whatever it chooses (keys of required properties in order,
    /// `":`, `,"`, closing brackets). Whitespace between tokens is left out, so a document
    /// written this way stays compact; whitespace that is text (inside a string) stops it.
    /// Decoding uses it to jump forward: these bytes go through the model in one step instead
    /// of one token at a time.
    pub fn forced_bytes(&self, max: usize) -> Vec<u8> {
        let is_ws = |b: u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
        let mut st = self.state;
        let mut out = Vec::new();
        while out.len() < max && !self.aut.is_done(&st) && !self.aut.is_accepting(&st) {
            let mut next = None;
            let mut gaps = Vec::new();
            for b in 0..=255u8 {
                let mut s = st;
                if !self.aut.feed(&mut s, b) {
                    continue;
                }
                if is_ws(b) {
                    gaps.push(b);
                } else if next.is_some() {
                    return out;
                } else {
                    next = Some((b, s));
                }
            }
            let Some((b, s)) = next else {
                break;
            };
            // Allowed whitespace must be a gap the same byte may follow, not text.
            for w in gaps {
                let mut t = st;
                if !(self.aut.feed(&mut t, w) && self.aut.feed(&mut t, b)) {
                    return out;
                }
            }
            out.push(b);
            st = s;
        }
        out
    }

    /// Takes several tokens at once if each is allowed in turn (no end-of-sequence tokens);
    /// on a refusal nothing changes and the answer is false.
    pub fn advance_all(&mut self, tokens: &[u32]) -> bool {
        let mut st = self.state;
        let mut bytes = Vec::new();
        for &t in tokens {
            if self.table.is_eos(t) || !self.table.advance(&self.aut, &mut st, t) {
                return false;
            }
            bytes.extend_from_slice(self.table.bytes(t).unwrap_or_default());
        }
        self.state = st;
        self.text.extend_from_slice(&bytes);
        true
    }

    /// Whether the document is closed (nothing more may follow).
    pub fn is_done(&self) -> bool {
        self.aut.is_done(&self.state)
    }

    /// Whether the bytes so far are a complete document.
    pub fn is_complete(&self) -> bool {
        self.aut.is_accepting(&self.state)
    }

    /// The bytes that close the document the shortest way (used when the token budget ends).
    pub fn closing_bytes(&self) -> Option<Vec<u8>> {
        self.aut.closing_bytes(&self.state)
    }

    /// The document's bytes so far.
    pub fn text(&self) -> &[u8] {
        &self.text
    }
}
