//! The pricing core's one error type.
//!
//! Every variant says where the problem is (a JSON field path such as `autocall.ki.level`, a file
//! and line) and whose fault it is: [`PricingError::is_input_error`] is true for bad input (the
//! caller's fault) and false for our own limits or bugs.

use thiserror::Error;

/// Errors of the pricing core.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PricingError {
    /// A field of a product, market or request is invalid. `field` is a dotted path.
    #[error("invalid `{field}`: {reason}")]
    InvalidField {
        /// Dotted path of the offending field, e.g. `market.vol` or `autocall.ko_level`.
        field: String,
        /// What is wrong with it, in plain words.
        reason: String,
    },
    /// A JSON document could not be parsed into the expected type.
    #[error("{source_name}:{line}:{column}: {message}")]
    Json {
        /// File name or other label of the document.
        source_name: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// serde's message, which names the field.
        message: String,
    },
    /// The chosen engine cannot price this product (e.g. PDE for an arithmetic Asian).
    #[error("engine `{engine}` does not support {what}")]
    Unsupported {
        /// Engine name (`analytic`, `mc`, `pde`).
        engine: &'static str,
        /// The feature it lacks.
        what: String,
    },
    /// The requested backend could not be used (no driver, compile error, out of memory).
    #[error("backend `{backend}` unavailable: {reason}")]
    Backend {
        /// Backend name (`cuda`).
        backend: &'static str,
        /// Why, as reported by the driver or our checks.
        reason: String,
    },
    /// A solver found no root in its bracket.
    #[error("solver for `{parameter}` failed: {reason}")]
    Solver {
        /// The parameter being solved for.
        parameter: String,
        /// Why it failed.
        reason: String,
    },
    /// An engine produced a non-finite number: our bug or an input far outside the model's range.
    #[error("engine `{engine}` produced a non-finite {what}")]
    NonFinite {
        /// Engine name.
        engine: &'static str,
        /// Which output.
        what: &'static str,
    },
}

impl PricingError {
    /// Shorthand for [`PricingError::InvalidField`].
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// True when the error is the caller's fault (bad product, market or request).
    pub fn is_input_error(&self) -> bool {
        match self {
            Self::InvalidField { .. } | Self::Json { .. } | Self::Solver { .. } => true,
            Self::Unsupported { .. } | Self::Backend { .. } | Self::NonFinite { .. } => false,
        }
    }

    /// Wraps a serde_json error with the document's name.
    pub fn json(source_name: &str, e: &serde_json::Error) -> Self {
        Self::Json {
            source_name: source_name.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

/// Result alias of the pricing core.
pub type Result<T> = std::result::Result<T, PricingError>;

/// Checks that a number is finite, naming the field otherwise.
pub(crate) fn finite(field: &str, x: f64) -> Result<f64> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(PricingError::field(
            field,
            format!("must be a finite number, got {x}"),
        ))
    }
}
