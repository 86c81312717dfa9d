//! The one error shape of the API: `{"error": {"code", "message", "type", "param",
//! "request_id"}}` (`type` and `param` as OpenAI's API has them, so its clients read our
//! errors; `param` is always null).
//!
//! Handlers and extractors return [`AppError`]; its `IntoResponse` attaches an [`ErrorBody`] to
//! the response, and the guard middleware (`middleware::guard`) serialises it with the request id.
//! Responses that fail outside our code (no route, wrong method, body over the limit) get the same
//! shape from the guard, so a client never sees any other error format.

use assistant::AssistantError;
use assistant::backup::BackupError;
use assistant::sessions::SignInError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use knowledge::{InputError, KnowledgeError};
use models::ModelError;
use policies::Denial;
use schemars::JsonSchema;
use serde::Serialize;

/// The body of every error response, as it is sent (the OpenAPI document's `ErrorResponse`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The error itself.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code (`forbidden`, `invalid_json`, `rate_limited`, …).
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// OpenAI's error type for the status (`invalid_request_error`, `authentication_error`,
    /// `permission_error`, `not_found_error`, `rate_limit_error`, `server_error`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Always null (OpenAI's clients read it).
    pub param: Option<String>,
    /// The request id, also sent as `X-Request-Id`: quote it when reporting a problem.
    pub request_id: String,
}

/// The code and message of an error response, before the request id is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// A stable machine-readable code (`forbidden`, `invalid_json`, …).
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No or an invalid bearer token (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such object (404).
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed (400), with a specific code.
    #[error("{message}")]
    BadRequest {
        /// `invalid_json`, `invalid_query`, `invalid_request`.
        code: &'static str,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The body is over the limit (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Wrong content type (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A workflow failed.
    #[error(transparent)]
    Assistant(#[from] AssistantError),
    /// Our bug: logged in full, shown as a generic message (500).
    #[error("internal error: {0}")]
    Internal(String),
    /// The request conflicts with one in progress (409), with its own code.
    #[error("{message}")]
    Conflict {
        /// Stable machine-readable code.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// A part of our installation that the request needs is missing (503), with its own code
    /// and a message saying what to install.
    #[error("{message}")]
    Unavailable {
        /// Stable machine-readable code.
        code: &'static str,
        /// What is missing and how to install it.
        message: String,
    },
    /// The request is well-formed but cannot be processed as sent (422), with its own code.
    #[error("{message}")]
    Unprocessable {
        /// Stable machine-readable code.
        code: &'static str,
        /// Why.
        message: String,
    },
}

impl From<BackupError> for AppError {
    fn from(e: BackupError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl AppError {
    /// Status, code and message of this error.
    pub fn parts(&self) -> (StatusCode, &'static str, String) {
        use StatusCode as S;
        let internal = || {
            (
                S::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; quote the request id".to_string(),
            )
        };
        match self {
            AppError::Unauthenticated(m) => (S::UNAUTHORIZED, "unauthenticated", m.clone()),
            AppError::Forbidden(m) => (S::FORBIDDEN, "forbidden", m.clone()),
            AppError::NotFound(m) => (S::NOT_FOUND, "not_found", m.clone()),
            AppError::BadRequest { code, message } => (S::BAD_REQUEST, code, message.clone()),
            AppError::PayloadTooLarge(m) => (S::PAYLOAD_TOO_LARGE, "payload_too_large", m.clone()),
            AppError::UnsupportedMediaType(m) => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                m.clone(),
            ),
            AppError::Internal(_) => internal(),
            AppError::Conflict { code, message } => (S::CONFLICT, code, message.clone()),
            AppError::Unprocessable { code, message } => {
                (S::UNPROCESSABLE_ENTITY, code, message.clone())
            }
            AppError::Unavailable { code, message } => {
                (S::SERVICE_UNAVAILABLE, code, message.clone())
            }
            AppError::Assistant(e) => match e {
                AssistantError::NotFound { .. } => (S::NOT_FOUND, "not_found", e.to_string()),
                AssistantError::Invalid(m) => (S::BAD_REQUEST, "invalid_request", m.clone()),
                AssistantError::InvalidField { .. } => {
                    (S::BAD_REQUEST, "invalid_request", e.to_string())
                }
                AssistantError::Forbidden(m) => (S::FORBIDDEN, "forbidden", m.clone()),
                AssistantError::Conflict(m) => (S::CONFLICT, "conflict", m.clone()),
                AssistantError::Denied(d) => match d {
                    Denial::WrongRole { .. } | Denial::FourEyes { .. } => {
                        (S::FORBIDDEN, "forbidden", d.to_string())
                    }
                    Denial::NotPending { .. } => (S::CONFLICT, "conflict", d.to_string()),
                    Denial::Expired => (S::CONFLICT, "expired", d.to_string()),
                    Denial::ReasonRequired => (S::BAD_REQUEST, "invalid_request", d.to_string()),
                },
                AssistantError::Knowledge(k) => match k {
                    KnowledgeError::Input(i) => match i {
                        InputError::TooLarge { .. } => {
                            (S::PAYLOAD_TOO_LARGE, "payload_too_large", k.to_string())
                        }
                        InputError::Empty { .. }
                        | InputError::Binary { .. }
                        | InputError::Undecodable { .. }
                        | InputError::Unreadable { .. }
                        | InputError::Invalid { .. } => {
                            (S::BAD_REQUEST, "invalid_request", k.to_string())
                        }
                    },
                    KnowledgeError::NotFound(_) => (S::NOT_FOUND, "not_found", k.to_string()),
                    KnowledgeError::Locked { .. } => (S::CONFLICT, "conflict", k.to_string()),
                    KnowledgeError::Embed(m) | KnowledgeError::Generate(m) => model_error_parts(m),
                    KnowledgeError::Lexical { .. }
                    | KnowledgeError::Vector { .. }
                    | KnowledgeError::Manifest { .. }
                    | KnowledgeError::EmbedderMismatch { .. }
                    | KnowledgeError::Io { .. } => internal(),
                },
                AssistantError::Store(_)
                | AssistantError::Extraction(_)
                | AssistantError::Cdm(_) => internal(),
                AssistantError::Model(m) => model_error_parts(m),
                AssistantError::Pricing(p) => {
                    use kernels::PricingError as P;
                    match p {
                        P::InvalidField { .. } | P::Json { .. } | P::Solver { .. } => {
                            (S::BAD_REQUEST, "invalid_request", p.to_string())
                        }
                        P::Unsupported { .. } => {
                            (S::UNPROCESSABLE_ENTITY, "unsupported", p.to_string())
                        }
                        P::Backend { .. } => (S::SERVICE_UNAVAILABLE, "unavailable", p.to_string()),
                        P::NonFinite { .. } => internal(),
                    }
                }
                AssistantError::Connector(c) => {
                    use connectors::document::ConnectorError as C;
                    match c {
                        C::TooLarge { .. } => {
                            (S::PAYLOAD_TOO_LARGE, "payload_too_large", c.to_string())
                        }
                        C::Unsupported { .. } | C::Unreadable { .. } | C::Io { .. } => {
                            (S::BAD_REQUEST, "invalid_request", c.to_string())
                        }
                        C::Internal { .. } => internal(),
                    }
                }
                AssistantError::SignIn(si) => match si {
                    SignInError::Rejected => (S::UNAUTHORIZED, "sign_in_failed", si.to_string()),
                    SignInError::TooManyAttempts { .. } => {
                        (S::TOO_MANY_REQUESTS, "rate_limited", si.to_string())
                    }
                },
            },
        }
    }

    /// The `Retry-After` seconds this error asks the client to wait, if any.
    pub fn retry_after(&self) -> Option<u64> {
        if let AppError::Assistant(
            AssistantError::Model(ModelError::Busy { retry_after, .. })
            | AssistantError::Knowledge(
                KnowledgeError::Embed(ModelError::Busy { retry_after, .. })
                | KnowledgeError::Generate(ModelError::Busy { retry_after, .. }),
            ),
        ) = self
        {
            Some(retry_after.as_secs_f64().ceil().max(1.0) as u64)
        } else if let AppError::Assistant(AssistantError::SignIn(SignInError::TooManyAttempts {
            retry_after_secs,
        })) = self
        {
            Some(*retry_after_secs)
        } else {
            None
        }
    }
}

/// Status, code and message of a model-layer error: whose fault it is decides the status.
fn model_error_parts(e: &ModelError) -> (StatusCode, &'static str, String) {
    use StatusCode as S;
    let internal = || {
        (
            S::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; quote the request id".to_string(),
        )
    };
    match e {
        ModelError::InvalidInput(m) => (S::BAD_REQUEST, "invalid_request", m.clone()),
        // OpenAI's code, which clients (LangChain, the official SDKs) recognise to trim history.
        ModelError::ContextLength { .. } => {
            (S::BAD_REQUEST, "context_length_exceeded", e.to_string())
        }
        // The JSON Schema of `response_format`: the message names the place in the schema and
        // the limit or reason.
        ModelError::Schema(_) => (S::BAD_REQUEST, "invalid_response_format", e.to_string()),
        ModelError::UnknownModel { .. } => (S::NOT_FOUND, "model_not_found", e.to_string()),
        ModelError::Busy { model, .. } => (
            S::SERVICE_UNAVAILABLE,
            "model_busy",
            format!("model `{model}` is busy; retry after the time in Retry-After"),
        ),
        ModelError::Remote { status, reason, .. } => (
            S::BAD_GATEWAY,
            "remote_model_error",
            match status {
                Some(st) => format!("the remote model server answered {st}: {reason}"),
                None => format!("the remote model server failed: {reason}"),
            },
        ),
        ModelError::Clearance { .. } => (S::FORBIDDEN, "data_class_refused", e.to_string()),
        ModelError::Timeout { .. } => (S::GATEWAY_TIMEOUT, "model_timeout", e.to_string()),
        ModelError::BadModelFile { .. } => internal(),
        ModelError::Inference(_) => internal(),
        ModelError::Install { .. } => internal(),
        ModelError::Io { .. } => internal(),
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut resp = status.into_response();
        if let Some(secs) = self.retry_after() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp.extensions_mut().insert(ErrorBody { code, message });
        resp
    }
}

/// The code for an error response produced outside our handlers, from its status.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        422 => "invalid_request",
        429 => "too_many_requests",
        431 => "headers_too_large",
        503 => "unavailable",
        504 => "timeout",
        s if s >= 500 => "internal",
        _ => "error",
    }
}
