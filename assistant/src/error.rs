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
    /// One named field of the input is invalid (`payload.quote.client: must be > 0`): the
    /// caller's fault. Approval payloads, titles and notes are refused with this.
    #[error("{field}: {reason}")]
    InvalidField {
        /// The field's path as the caller wrote it (`payload.terms.zh`, `title`, `note`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
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
    /// The extraction layer could not run (no CDM schema directory, schemas that do not
    /// load): the installation's fault, never the caller's.
    #[error(transparent)]
    Extraction(#[from] extraction::ExtractError),
    /// CDM schema validation could not run: the installation's fault.
    #[error(transparent)]
    Cdm(#[from] connectors::cdm::CdmError),
    /// A document could not be read by `connectors` (its variant says whose fault: an
    /// unsupported, unreadable or too large file is the sender's; a missing OCR tool ours).
    #[error(transparent)]
    Connector(#[from] connectors::document::ConnectorError),
    /// The pricing core refused or failed (its variant says whose fault: a bad product,
    /// market or setting is the caller's; an engine that cannot price the product with the
    /// chosen engine the caller's; an unusable GPU backend a dependency; a non-finite result
    /// ours).
    #[error(transparent)]
    Pricing(#[from] kernels::PricingError),
    /// A web sign-in failed: wrong name or password, or too many failures (the caller's).
    #[error(transparent)]
    SignIn(#[from] crate::sessions::SignInError),
}

/// Whose fault an error is: decides the HTTP status class and whether it is logged as ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller's request (4xx): bad input, not found, not allowed, a conflict.
    Caller,
    /// A dependency the caller cannot fix but that may recover (a busy or remote model).
    Dependency,
    /// Ours: the store, the installation, a bug (5xx, logged in full).
    Ours,
}

impl AssistantError {
    /// Whose fault this error is, decided once per variant.
    pub fn fault(&self) -> Fault {
        match self {
            AssistantError::NotFound { .. }
            | AssistantError::Invalid(_)
            | AssistantError::InvalidField { .. }
            | AssistantError::Forbidden(_)
            | AssistantError::Denied(_)
            | AssistantError::Conflict(_)
            | AssistantError::SignIn(_) => Fault::Caller,
            AssistantError::Store(_) | AssistantError::Extraction(_) | AssistantError::Cdm(_) => {
                Fault::Ours
            }
            AssistantError::Model(m) => model_fault(m),
            AssistantError::Connector(c) => connector_fault(c),
            AssistantError::Pricing(p) => pricing_fault(p),
            AssistantError::Knowledge(k) => match k {
                knowledge::KnowledgeError::Input(_)
                | knowledge::KnowledgeError::NotFound(_)
                | knowledge::KnowledgeError::Locked { .. } => Fault::Caller,
                knowledge::KnowledgeError::Embed(m) | knowledge::KnowledgeError::Generate(m) => {
                    model_fault(m)
                }
                knowledge::KnowledgeError::Lexical { .. }
                | knowledge::KnowledgeError::Vector { .. }
                | knowledge::KnowledgeError::Manifest { .. }
                | knowledge::KnowledgeError::EmbedderMismatch { .. }
                | knowledge::KnowledgeError::Io { .. } => Fault::Ours,
            },
        }
    }
}

/// Whose fault a pricing core error is.
pub fn pricing_fault(e: &kernels::PricingError) -> Fault {
    use kernels::PricingError as P;
    match e {
        P::InvalidField { .. } | P::Json { .. } | P::Solver { .. } | P::Unsupported { .. } => {
            Fault::Caller
        }
        P::Backend { .. } => Fault::Dependency,
        P::NonFinite { .. } => Fault::Ours,
    }
}

/// Whose fault a document reader's error is.
pub fn connector_fault(e: &connectors::document::ConnectorError) -> Fault {
    use connectors::document::ConnectorError as C;
    match e {
        C::Unsupported { .. } | C::Unreadable { .. } | C::TooLarge { .. } | C::Io { .. } => {
            Fault::Caller
        }
        C::Internal { .. } => Fault::Ours,
    }
}

/// Whose fault a model-layer error is.
pub fn model_fault(e: &models::ModelError) -> Fault {
    use models::ModelError as M;
    match e {
        M::InvalidInput(_)
        | M::ContextLength { .. }
        | M::Schema(_)
        | M::UnknownModel { .. }
        | M::Clearance { .. } => Fault::Caller,
        M::Busy { .. } | M::Remote { .. } | M::Timeout { .. } => Fault::Dependency,
        M::BadModelFile { .. } | M::Inference(_) | M::Install { .. } | M::Io { .. } => Fault::Ours,
    }
}

impl From<rusqlite::Error> for AssistantError {
    fn from(e: rusqlite::Error) -> Self {
        AssistantError::Store(StoreError::Sqlite(e))
    }
}

impl From<crate::store::sql::InvalidStored> for AssistantError {
    fn from(e: crate::store::sql::InvalidStored) -> Self {
        AssistantError::Store(StoreError::Invalid(e))
    }
}

impl AssistantError {
    /// An [`AssistantError::InvalidField`].
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> AssistantError {
        AssistantError::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Shorthand.
pub type Result<T, E = AssistantError> = std::result::Result<T, E>;
