//! What every approval request must satisfy, and the dispatch to each kind's typed validator.
//!
//! A request is checked when it is created and at every edit, by the same code
//! ([`Assistant::check_payload`]):
//!
//! - **Every kind** (the generic checks): the payload is a JSON object of at most
//!   [`MAX_PAYLOAD_BYTES`] serialised, in which no string (key or value) holds a NUL or is longer
//!   than [`MAX_STRING_CHARS`]; the title is at most [`MAX_TITLE_CHARS`] characters without
//!   control characters; a note or reason is at most [`MAX_NOTE_CHARS`] without NUL.
//! - **`quote`**, the RFQ desk's: [`crate::desk::payload`] (typed with unknown fields denied,
//!   ranges, the price band against the desk's figure, the fields a trader may not edit,
//!   client-bound text).
//! - **`extraction`**, the ops review's: [`crate::extraction_review::payload`] (typed with
//!   unknown fields denied, every key-term leaf checked, key terms that match the fields, the
//!   source file's record not editable).
//! - Any other kind is the caller's own artifact, on which no workflow acts: the generic checks
//!   only.
//!
//! Errors name the field as the caller wrote it, `payload.quote.client: must be > 0, not -99`
//! ([`AssistantError::InvalidField`], the caller's fault: HTTP 400). A kind's validator returns
//! the payload to store, which may differ from the one given in derived fields it recomputes.

use crate::Assistant;
use crate::approvals::ApprovalKind;
use crate::error::{AssistantError, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The most bytes of a payload, serialised.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// The most characters of one string in a payload.
pub const MAX_STRING_CHARS: usize = 64 * 1024;

/// The most characters of a title.
pub const MAX_TITLE_CHARS: usize = 500;

/// The most characters of a note or a reason.
pub const MAX_NOTE_CHARS: usize = 4000;

/// An edit being checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edit<'a> {
    /// The latest payload, which the edit replaces.
    pub previous: &'a Value,
    /// The maker's original (version 1).
    pub original: &'a Value,
    /// The editor's note: the reason, for an edit that needs one.
    pub note: Option<&'a str>,
}

/// Checks a title: at most [`MAX_TITLE_CHARS`] characters, no control characters.
pub(crate) fn check_title(title: &str) -> Result<()> {
    let n = title.chars().count();
    if n > MAX_TITLE_CHARS {
        return Err(AssistantError::field(
            "title",
            format!("is {n} characters; at most {MAX_TITLE_CHARS}"),
        ));
    }
    if let Some(c) = title.chars().find(|c| c.is_control()) {
        return Err(AssistantError::field(
            "title",
            format!("contains the control character U+{:04X}", c as u32),
        ));
    }
    Ok(())
}

/// Checks a note or reason (`field` names it): at most [`MAX_NOTE_CHARS`] characters, no NUL.
pub(crate) fn check_note(field: &str, note: Option<&str>) -> Result<()> {
    let Some(note) = note else { return Ok(()) };
    let n = note.chars().count();
    if n > MAX_NOTE_CHARS {
        return Err(AssistantError::field(
            field,
            format!("is {n} characters; at most {MAX_NOTE_CHARS}"),
        ));
    }
    if note.contains('\0') {
        return Err(AssistantError::field(field, "contains a NUL character"));
    }
    Ok(())
}

/// The path of a key below `path` (`payload.terms`, `payload["a b"]`).
fn key_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{key:?}]")
    }
}

/// The generic checks of a payload's shape and strings (see the module doc); the size is
/// checked by [`check_size`] after the kind's validator, which names fields more precisely.
pub(crate) fn check_generic(payload: &Value) -> Result<()> {
    fn kind_of(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
    fn string(path: &str, s: &str) -> Result<()> {
        if s.contains('\0') {
            return Err(AssistantError::field(path, "contains a NUL character"));
        }
        let n = s.chars().count();
        if n > MAX_STRING_CHARS {
            return Err(AssistantError::field(
                path,
                format!("is a string of {n} characters; at most {MAX_STRING_CHARS}"),
            ));
        }
        Ok(())
    }
    fn walk(path: &str, v: &Value) -> Result<()> {
        match v {
            Value::String(s) => string(path, s),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .try_for_each(|(i, x)| walk(&format!("{path}[{i}]"), x)),
            Value::Object(o) => o.iter().try_for_each(|(k, x)| {
                let p = key_path(path, k);
                string(&p, k)?;
                walk(&p, x)
            }),
            Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        }
    }
    if !payload.is_object() {
        return Err(AssistantError::field(
            "payload",
            format!("must be a JSON object, not {}", kind_of(payload)),
        ));
    }
    walk("payload", payload)
}

/// The size check of the generic checks.
pub(crate) fn check_size(payload: &Value) -> Result<()> {
    let n = payload.to_string().len();
    if n > MAX_PAYLOAD_BYTES {
        return Err(AssistantError::field(
            "payload",
            format!("is {n} bytes serialised; at most {MAX_PAYLOAD_BYTES}"),
        ));
    }
    Ok(())
}

/// Deserialises a payload into a kind's type, naming the field of the first error
/// (`payload.quote.client: invalid type: string "cheap", expected f64`; an unknown field is
/// named itself: `payload.discount: unknown field`).
pub(crate) fn typed<T: DeserializeOwned>(payload: &Value) -> Result<T> {
    serde_path_to_error::deserialize(payload).map_err(|e| {
        let mut path = String::from("payload");
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => path.push_str(&format!("[{index}]")),
                serde_path_to_error::Segment::Map { key } => path = key_path(&path, key),
                serde_path_to_error::Segment::Enum { variant } => path = key_path(&path, variant),
                serde_path_to_error::Segment::Unknown => path.push_str(".?"),
            }
        }
        let message = e.inner().to_string();
        // serde says which field in the message and stops the path at its parent.
        let named = |prefix: &str| {
            message
                .strip_prefix(prefix)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned)
        };
        if let Some(name) = named("unknown field `") {
            let field = if path.ends_with(&format!(".{name}")) {
                path
            } else {
                key_path(path.trim_end_matches(".?"), &name)
            };
            return AssistantError::field(field, "unknown field (no such field in this kind)");
        }
        if let Some(name) = named("missing field `") {
            return AssistantError::field(key_path(&path, &name), "is required");
        }
        AssistantError::field(path, message)
    })
}

impl Assistant {
    /// Checks the payload of a request of `kind` being created (`edit` = `None`) or edited, and
    /// returns what to store (see the module doc).
    pub(crate) fn check_payload(
        &self,
        kind: &ApprovalKind,
        payload: Value,
        edit: Option<&Edit<'_>>,
    ) -> Result<Value> {
        check_generic(&payload)?;
        let stored = match kind {
            ApprovalKind::Quote => crate::desk::payload::check(
                payload,
                edit,
                crate::store::time::now(),
                self.desk.reply_offset(),
            )?,
            ApprovalKind::Extraction => crate::extraction_review::payload::check(payload, edit)?,
            ApprovalKind::ConfirmationDraft => {
                crate::draft_execution::check_payload(payload, edit)?
            }
            ApprovalKind::ModelChange => crate::model_risk::check_payload(payload, edit)?,
            ApprovalKind::Other(_) => payload,
        };
        check_size(&stored)?;
        Ok(stored)
    }
}
