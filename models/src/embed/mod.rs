//! The embedding interface every embedder (local candle models, remote servers) implements.

pub mod bert;
pub mod e5;
mod encoder;

pub use bert::{BertEmbedder, Precision};

use crate::error::ModelError;

/// Whether a text is a search query or a passage to be searched. Asymmetric models (e5) prefix
/// them differently (`query: ` / `passage: `); the embedder does that, callers never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmbedKind {
    /// A question or search string.
    Query,
    /// A chunk of a document.
    Passage,
}

/// The vectors for a batch of texts, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// One L2-normalised vector per input text, each of length [`Embedder::dim`].
    pub vectors: Vec<Vec<f32>>,
    /// For each input, whether it was truncated to [`Embedder::max_tokens`].
    pub truncated: Vec<bool>,
}

/// A text embedding model.
pub trait Embedder: Send + Sync {
    /// A stable id naming the model (`multilingual-e5-small`, `all-MiniLM-L6-v2`).
    fn id(&self) -> &str;
    /// The length of every vector.
    fn dim(&self) -> usize;
    /// The longest input in tokens; longer inputs are truncated and reported as such.
    fn max_tokens(&self) -> usize;
    /// Embeds a batch of texts (batched and padded internally), mean-pooled and L2-normalised.
    fn embed(&self, texts: &[&str], kind: EmbedKind) -> Result<Embeddings, ModelError>;

    /// How many tokens [`Embedder::embed`] reads for these texts (prefixes, special tokens and
    /// truncation included), for usage reports; `None` when the backend cannot say.
    fn token_count(&self, texts: &[&str], kind: EmbedKind) -> Option<usize> {
        let _ = (texts, kind);
        None
    }
}
