//! The error type of the model layer.

use std::path::PathBuf;

/// Everything that can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A model file is missing, truncated or corrupt (the caller's or the installer's fault).
    #[error("model file {path}: {reason}")]
    BadModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The input cannot be processed (too long, empty, invalid schema): the caller's fault.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A failure inside the inference engine (our bug or the machine's).
    #[error("inference failed: {0}")]
    Inference(String),
}
