//! Local models for Deskmate: text generation, embeddings and constrained JSON, run in-process
//! with candle, plus an OpenAI-compatible remote backend behind the same traits.

pub mod embed;
pub mod error;

pub use embed::{EmbedKind, Embedder, Embeddings};
pub use error::ModelError;
