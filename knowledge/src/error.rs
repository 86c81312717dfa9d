//! The errors of the knowledge layer: [`InputError`] for bad input (the caller's fault, per
//! file), [`KnowledgeError`] for everything the knowledge base does (indexes, manifest, models).

use std::path::PathBuf;

/// A source that cannot be turned into text: always the input's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Nothing but whitespace.
    #[error("{origin}: empty input, nothing to index")]
    Empty {
        /// The file or upload.
        origin: String,
    },
    /// Over the size limit.
    #[error("{origin}: {bytes} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The file or upload.
        origin: String,
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Binary data, not text.
    #[error("{origin}: binary data, not text: {reason}")]
    Binary {
        /// The file or upload.
        origin: String,
        /// Why it looks binary.
        reason: String,
    },
    /// Text in no encoding we can recognise.
    #[error("{origin}: cannot decode the text: {reason}")]
    Undecodable {
        /// The file or upload.
        origin: String,
        /// What was tried.
        reason: String,
    },
    /// A document format that is read but whose content cannot be (a corrupt or encrypted
    /// PDF, a broken DOCX, an image when OCR is off).
    #[error("{origin}: {reason}")]
    Unreadable {
        /// The file or upload.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A request field is invalid (a document id, a collection name).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Everything that can go wrong in the knowledge base.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// The input is bad (the caller's fault).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The embedding model failed.
    #[error("embedding failed: {0}")]
    Embed(#[from] models::ModelError),
    /// The generator failed (answers, reranking).
    #[error("generation failed: {0}")]
    Generate(models::ModelError),
    /// The lexical index (tantivy) failed.
    #[error("lexical index at {path}: {reason}")]
    Lexical {
        /// The index directory.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The vector store failed.
    #[error("vector store {store}: {reason}")]
    Vector {
        /// Which store (a path or URL).
        store: String,
        /// What failed.
        reason: String,
    },
    /// The manifest or intent file is unreadable or cannot be written.
    #[error("manifest {path}: {reason}")]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The knowledge base on disk was built with another embedder or dimension.
    #[error(
        "knowledge base at {path} was built with {found}; this process uses {expected}: re-index"
    )]
    EmbedderMismatch {
        /// The data directory.
        path: PathBuf,
        /// What the disk says.
        found: String,
        /// What the process has.
        expected: String,
    },
    /// Another process holds the knowledge base's single-writer lock.
    #[error(
        "the knowledge base at {path} is in use by {holder}; stop it, or go through the running server"
    )]
    Locked {
        /// The knowledge-base directory.
        path: PathBuf,
        /// What the lock file says about its holder (`server, pid 1234`).
        holder: String,
    },
    /// No such document.
    #[error("no document {0}")]
    NotFound(String),
    /// An I/O error outside the indexes.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}
