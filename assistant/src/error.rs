//! The error type of the workflow layer. The HTTP layer maps every variant explicitly.

use crate::store::StoreError;
use policies::Denial;

/// What went wrong in a workflow, and whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    /// No such object (or the caller may not know it exists).
    #[error("{kind} {id:?} not found")]
    NotFound {
        /// The kind of object.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The input is invalid: the caller's fault.
    #[error("{0}")]
    Invalid(String),
    /// The caller is authenticated but not allowed (role, clearance).
    #[error("{0}")]
    Forbidden(String),
    /// An approval rule refused the decision.
    #[error("{0}")]
    Denied(#[from] Denial),
    /// The object is in a state that does not allow this (already exists, wrong state).
    #[error("{0}")]
    Conflict(String),
    /// The store failed: our bug or the machine's.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A model call failed (its variant says whose fault: bad input, unknown model, busy,
    /// remote server, or ours).
    #[error(transparent)]
    Model(#[from] models::ModelError),
    /// The knowledge base failed or refused a document (its variant says whose fault: bad
    /// input, a lock held by another process, or the indexes).
    #[error(transparent)]
    Knowledge(#[from] knowledge::KnowledgeError),
}

impl From<rusqlite::Error> for AssistantError {
    fn from(e: rusqlite::Error) -> Self {
        AssistantError::Store(StoreError::Sqlite(e))
    }
}

/// Shorthand.
pub type Result<T, E = AssistantError> = std::result::Result<T, E>;
