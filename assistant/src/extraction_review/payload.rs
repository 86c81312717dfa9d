//! The payload of an extraction approval, typed: one file's result as the extractor wrote it
//! (`extraction::FileResult` without its timings, with the job and the file's position) and the
//! reviewers' corrections. It is checked when the review request is created and at every edit,
//! whether a reviewer's corrections ([`crate::Assistant::extraction_correct`]) or a hand edit
//! (`POST /v1/approvals/{id}/edit`):
//!
//! - unknown fields are denied, at the top, in every field entry, conflict, problem and
//!   correction;
//! - `status` is `extracted` or `needs_review` (a file without key terms has no review);
//! - each entry of `fields` names a key-term leaf once, with a value the leaf's check accepts
//!   (`extraction::terms::check_leaf`: dates, ISO 4217 currencies, positive amounts, decimal
//!   rates, the enumerations);
//! - `key_terms` is exactly those leaves nested (`extraction::terms::key_terms_object`), so
//!   what is exported is what was reviewed;
//! - `cdm` and `extension` are objects or null (the CDM document is validated against the
//!   schema when it is exported);
//! - every correction has a field (a key-term leaf, or `cdm:` and the JSON pointer of a required
//!   CDM property a reviewer supplied), a reason, its author and its time;
//! - on an edit, the source file's record (`name`, `sha256`, `bytes`, `format`, `pages`,
//!   `ocr_pages`, `page_geometry`, `job_id`, `index`) is unchanged.
//!
//! Nothing of an extraction payload goes to a client, so its strings get the generic checks
//! only (no NUL, bounded length).

use crate::approvals::payload::{Edit, typed};
use crate::desk::payload::same_json;
use crate::error::{AssistantError, Result};
use extraction::terms::{FieldValue, check_leaf, is_leaf, key_terms_object};
use serde::Deserialize;
use serde_json::Value;

/// The review's status of a file with key terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReviewStatus {
    Extracted,
    NeedsReview,
}

/// One leaf with its value and evidence (and, once corrected, what it was).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldEntry {
    field: String,
    value: Value,
    // For the reviewer: typed so that the payload is checked, not read here.
    #[allow(dead_code)]
    evidence: Vec<Value>,
    #[serde(default)]
    corrected_from: Option<Value>,
}

/// A leaf stated with different values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConflictEntry {
    field: String,
    values: Vec<Value>,
}

/// A check that failed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProblemEntry {
    fields: Vec<String>,
    kind: String,
    message: String,
}

/// A reviewer's correction, as recorded in the payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectionEntry {
    field: String,
    before: Option<Value>,
    after: Option<Value>,
    reason: String,
    by: String,
    at: String,
}

/// An extraction approval's payload (see the module doc).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtractionPayload {
    name: String,
    sha256: String,
    bytes: u64,
    format: Option<Value>,
    pages: u64,
    ocr_pages: u64,
    /// Absent in results recorded before page geometry was kept.
    #[serde(default)]
    page_geometry: Vec<Value>,
    // For the reviewer: typed so that the payload is checked, not read here.
    #[allow(dead_code)]
    status: ReviewStatus,
    #[allow(dead_code)]
    error: Option<String>,
    #[allow(dead_code)]
    product_type: Option<String>,
    key_terms: Value,
    fields: Vec<FieldEntry>,
    conflicts: Vec<ConflictEntry>,
    problems: Vec<ProblemEntry>,
    #[allow(dead_code)]
    notices: Vec<String>,
    cdm: Option<Value>,
    cdm_report: Value,
    extension: Option<Value>,
    job_id: String,
    index: u64,
    #[serde(default)]
    corrections: Vec<CorrectionEntry>,
}

fn bad(field: impl AsRef<str>, reason: impl Into<String>) -> AssistantError {
    AssistantError::field(format!("payload.{}", field.as_ref()), reason)
}

impl ExtractionPayload {
    fn check(&self) -> Result<()> {
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("sha256", "must be a SHA-256 in hex"));
        }
        if self.name.trim().is_empty() {
            return Err(bad("name", "must not be empty"));
        }
        if self.job_id.trim().is_empty() {
            return Err(bad("job_id", "must not be empty"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, f) in self.fields.iter().enumerate() {
            if !is_leaf(&f.field) {
                return Err(bad(
                    format!("fields[{i}].field"),
                    format!("{:?} is not a key-terms field", f.field),
                ));
            }
            if !seen.insert(f.field.as_str()) {
                return Err(bad(
                    format!("fields[{i}].field"),
                    format!("{} appears twice", f.field),
                ));
            }
            check_leaf(&f.field, &f.value).map_err(|e| bad(format!("fields[{i}].value"), e))?;
            if let Some(c) = &f.corrected_from
                && !c.is_object()
            {
                return Err(bad(
                    format!("fields[{i}].corrected_from"),
                    "must be an object",
                ));
            }
        }
        let plain: Vec<FieldValue> = self
            .fields
            .iter()
            .map(|f| FieldValue {
                field: f.field.clone(),
                value: f.value.clone(),
                evidence: Vec::new(),
            })
            .collect();
        if !same_json(&self.key_terms, &key_terms_object(&plain)) {
            return Err(bad(
                "key_terms",
                "does not match payload.fields (the key terms are the fields' values, nested); \
                 correct a value through its field",
            ));
        }
        for (i, c) in self.conflicts.iter().enumerate() {
            if !is_leaf(&c.field) || c.values.len() < 2 {
                return Err(bad(
                    format!("conflicts[{i}]"),
                    "must name a key-terms field and two or more values",
                ));
            }
        }
        for (i, p) in self.problems.iter().enumerate() {
            if p.kind.trim().is_empty() || p.message.trim().is_empty() || p.fields.len() > 64 {
                return Err(bad(
                    format!("problems[{i}]"),
                    "must have a kind, a message and at most 64 fields",
                ));
            }
        }
        for (field, v) in [("cdm", &self.cdm), ("extension", &self.extension)] {
            if let Some(v) = v
                && !(v.is_object() || v.is_null())
            {
                return Err(bad(field, "must be an object or null"));
            }
        }
        if !self.cdm_report.is_object() {
            return Err(bad("cdm_report", "must be an object"));
        }
        for (i, c) in self.corrections.iter().enumerate() {
            let missing = [
                ("field", &c.field),
                ("reason", &c.reason),
                ("by", &c.by),
                ("at", &c.at),
            ]
            .into_iter()
            .find(|(_, v)| v.trim().is_empty());
            if let Some((what, _)) = missing {
                return Err(bad(format!("corrections[{i}].{what}"), "must not be empty"));
            }
            if c.before.is_none() && c.after.is_none() {
                return Err(bad(
                    format!("corrections[{i}]"),
                    "must have a value before or after",
                ));
            }
        }
        Ok(())
    }

    /// The source file's record differs from `other`'s: the first field that does.
    fn source_differs(&self, other: &ExtractionPayload) -> Option<&'static str> {
        [
            ("name", self.name == other.name),
            ("sha256", self.sha256 == other.sha256),
            ("bytes", self.bytes == other.bytes),
            (
                "format",
                same_json(
                    self.format.as_ref().unwrap_or(&Value::Null),
                    other.format.as_ref().unwrap_or(&Value::Null),
                ),
            ),
            ("pages", self.pages == other.pages),
            ("ocr_pages", self.ocr_pages == other.ocr_pages),
            (
                "page_geometry",
                same_json(
                    &Value::Array(self.page_geometry.clone()),
                    &Value::Array(other.page_geometry.clone()),
                ),
            ),
            ("job_id", self.job_id == other.job_id),
            ("index", self.index == other.index),
        ]
        .into_iter()
        .find(|(_, same)| !same)
        .map(|(f, _)| f)
    }
}

/// Checks an extraction payload being created, or edited when `edit` is given; returns it to
/// be stored as it is.
pub(crate) fn check(payload: Value, edit: Option<&Edit<'_>>) -> Result<Value> {
    let p: ExtractionPayload = typed(&payload)?;
    p.check()?;
    if let Some(edit) = edit {
        let previous: ExtractionPayload = typed(edit.previous).map_err(|e| {
            AssistantError::Conflict(format!(
                "the current payload of this request is not a valid extraction ({e}); reject it \
                 and extract the file again"
            ))
        })?;
        if let Some(field) = p.source_differs(&previous) {
            return Err(bad(
                field,
                "is the record of the source file and cannot be edited",
            ));
        }
    }
    Ok(payload)
}
