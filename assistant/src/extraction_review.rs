//! Extraction jobs, the ops review and exports, over the store.
//!
//! - [`Assistant::extraction_submit`] keeps each upload under `uploads/<sha256>` in the data
//!   dir (content-addressed, written atomically) and records a job of kind `extraction`.
//! - [`Assistant::extraction_run`] extracts the job's files one by one (skipping those already
//!   done, so a job interrupted by a restart resumes), and for each writes, in one transaction,
//!   its `extraction_files` row, its approval request (kind `extraction`, role `ops`, four-eyes
//!   by configuration, maker = the uploader; payload = the file's result: key terms, every
//!   value beside its evidence, conflicts, problems, CDM, extension) and the audit entries.
//! - [`Assistant::extraction_correct`] applies a reviewer's corrections as an approval edit
//!   (the audit entry holds the diff, before and after, and the reasons), re-running the
//!   cross-checks and rebuilding the CDM document from the key terms. A TradeState mapped from
//!   FpML is not rebuilt (it comes from the message, not from the key terms); a correction
//!   whose field is `cdm:<JSON pointer>` supplies a property CDM requires that it lacks (one of
//!   `cdm_report.missing_required`, see `extraction::cdm::supply`), checked against the schema.
//! - An extraction whose CDM document still lacks required properties cannot be approved: the
//!   refusal names them.
//! - [`Assistant::extraction_export`] turns an approved request into an `extraction_exports`
//!   row (key terms, CDM, extension, the source file's SHA-256), re-checking the approved
//!   payload first (it may have been edited by hand): the CDM document must validate in full.
//!
//! The payload of an extraction approval is typed and checked when the request is created and
//! at every edit, corrections included ([`payload`]).

pub mod payload;

use std::path::PathBuf;

use policies::approval::ApprovalState;
use policies::{DataClass, Principal, Role};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Assistant;
use crate::approvals::{ApprovalKind, Decided, NewApproval};
use crate::error::{AssistantError, Result};
use crate::jobs::{Job, JobKind, JobState};
use crate::store::{Actor, AuditRecord, sql, time};
use extraction::terms::{self, FieldValue, check_leaf, is_leaf};
use extraction::{FileResult, FileStatus, cdm, check};

/// An uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The client's file name (only the last path component is kept).
    pub name: String,
    /// The content.
    pub bytes: Vec<u8>,
}

/// The prefix of a correction's field that names a property of the CDM document (by JSON
/// pointer) instead of a key-term leaf.
pub const CDM_FIELD_PREFIX: &str = "cdm:";

/// One reviewer's correction of a key-term leaf, or a value for a required CDM property the
/// TradeState lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    /// The leaf (`trade_date`, `notional.amount`, `other.coupon_rate`), or `cdm:` and the JSON
    /// pointer of a property listed in `cdm_report.missing_required`
    /// (`cdm:/trade/product/economicTerms/payout/0/OptionPayout/exerciseTerms/exerciseProcedure/followUpConfirmation`).
    pub field: String,
    /// The corrected value; `None` removes the leaf (the document does not state it).
    pub value: Option<Value>,
    /// Why (required; kept in the audit log).
    pub reason: String,
}

/// One file of an extraction job as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractionFile {
    /// 0-based position in the upload.
    pub index: u32,
    /// The file name.
    pub name: String,
    /// SHA-256 of the content.
    pub sha256: String,
    /// Size.
    pub bytes: u64,
    /// `queued` until processed, then the file's status (`extracted`, `needs_review`,
    /// `not_a_confirmation`, `unsupported`, `unreadable`, `too_large`, `internal`).
    pub status: FileProgress,
    /// The approval request of a file with key terms.
    pub approval_id: Option<String>,
    /// Its state (`pending`, `approved`, …).
    pub approval_state: Option<ApprovalState>,
    /// The full result (key terms, fields with evidence, conflicts, problems, CDM); `null`
    /// until processed.
    pub result: Value,
}

/// Where one file of an extraction job stands: waiting, or what its extraction came to (the
/// stored `extraction_files.status`, one of [`FileStatus::ALL`]). In JSON, `queued` or the
/// status's stable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileProgress {
    /// Not processed yet.
    Queued,
    /// Processed.
    Done(FileStatus),
}

impl FileProgress {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileProgress::Queued => "queued",
            FileProgress::Done(s) => s.as_str(),
        }
    }
}

impl std::fmt::Display for FileProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FileProgress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An extraction job as shown by `GET /v1/extractions/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractionView {
    /// The job id.
    pub id: String,
    /// `queued`, `running`, `succeeded`, `failed`.
    pub state: JobState,
    /// 0..1.
    pub progress: f64,
    /// Who uploaded.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// When it finished.
    pub finished_at: Option<String>,
    /// The job's error, if it failed as a whole.
    pub error: Option<String>,
    /// Every file, in upload order.
    pub files: Vec<ExtractionFile>,
}

/// An exported, approved extraction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractionExport {
    /// The approval request.
    pub approval_id: String,
    /// The job the file came in.
    pub job_id: Option<String>,
    /// The file name.
    pub file_name: String,
    /// SHA-256 of the source file.
    pub file_sha256: String,
    /// The product family.
    pub product_type: Option<String>,
    /// The approved key terms.
    pub key_terms: Value,
    /// The approved CDM TradeState (6.30.0, legacy layout), if one was built.
    pub cdm: Option<Value>,
    /// The extension object beside it.
    pub extension: Option<Value>,
    /// The payload version approved.
    pub version: u32,
    /// Who approved.
    pub approved_by: String,
    /// When.
    pub approved_at: String,
    /// Who exported (asked first).
    pub exported_by: String,
    /// When.
    pub exported_at: String,
}

/// One `extraction_files` row joined with its approval's state: index, name, SHA-256, bytes,
/// status, approval id, approval state, result JSON.
type FileRow = (
    u32,
    String,
    String,
    u64,
    FileStatus,
    Option<String>,
    Option<ApprovalState>,
    Value,
);

fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.is_empty() {
        "upload".into()
    } else {
        cleaned
    }
}

impl Assistant {
    /// The extractor (settings, model, CDM schemas).
    pub fn extractor(&self) -> &extraction::Extractor {
        &self.extractor
    }

    fn uploads_dir(&self) -> PathBuf {
        self.store.data_dir().join("uploads")
    }

    /// Keeps the uploads and records an extraction job (run it with
    /// [`Assistant::extraction_run`]). Files over `extract.max_bytes` are recorded, not kept,
    /// and come out as `too_large`.
    pub fn extraction_submit(&self, actor: &Actor, files: Vec<Upload>) -> Result<Job> {
        if files.is_empty() {
            return Err(AssistantError::Invalid("no files were uploaded".into()));
        }
        let max_files = self.config.extract.max_files as usize;
        if files.len() > max_files {
            return Err(AssistantError::Invalid(format!(
                "{} files uploaded; at most {max_files} per upload (extract.max_files)",
                files.len()
            )));
        }
        // One submission at a time, so that two identical concurrent uploads cannot both
        // pass the duplicate check below.
        let _one_at_a_time = self
            .submit_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut seen = std::collections::BTreeMap::new();
        for f in &files {
            let sha = hex::encode(Sha256::digest(&f.bytes));
            if let Some(first) = seen.insert(sha.clone(), f.name.clone()) {
                return Err(AssistantError::Conflict(format!(
                    "{} and {first} are the same file (sha256 {sha}); upload it once",
                    safe_name(&f.name)
                )));
            }
            if let Some((job, approval)) = self.extraction_holding(&sha)? {
                return Err(AssistantError::Conflict(format!(
                    "{} (sha256 {sha}) is already being extracted or reviewed in job {job}{}; \
                     it is not extracted twice (see GET /v1/extractions/{job})",
                    safe_name(&f.name),
                    approval
                        .map(|a| format!(", approval {a}"))
                        .unwrap_or_default()
                )));
            }
        }
        let dir = self.uploads_dir();
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let max_bytes = self.config.extract.max_bytes;
        let mut listed = Vec::new();
        for f in files {
            let sha = hex::encode(Sha256::digest(&f.bytes));
            let too_large = f.bytes.len() as u64 > max_bytes;
            if !too_large {
                let path = dir.join(&sha);
                if !path.is_file() {
                    let tmp = dir.join(format!(".{sha}.{}", uuid::Uuid::new_v4().simple()));
                    std::fs::write(&tmp, &f.bytes).map_err(|e| io(&tmp, e))?;
                    std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
                }
            }
            listed.push(json!({
                "name": safe_name(&f.name),
                "sha256": sha,
                "bytes": f.bytes.len(),
                "too_large": too_large,
            }));
        }
        let input = json!({
            "files": listed,
            "role": actor.role.map(Role::as_str),
            "request_id": actor.request_id,
        });
        self.create_job(actor, JobKind::Extraction, DataClass::IMPORTANT, input)
    }

    /// The extraction job (and approval) that holds a file with this SHA-256 live: a job not
    /// yet finished, or a file whose approval is pending or approved. A file whose extraction
    /// failed or was rejected may be submitted again.
    fn extraction_holding(&self, sha: &str) -> Result<Option<(String, Option<String>)>> {
        self.store.read(|c| {
            Ok(c.query_row(
                "SELECT j.id, NULL FROM jobs j
                 WHERE j.kind = ?2 AND j.state IN ('queued', 'running')
                   AND EXISTS (SELECT 1 FROM json_each(j.input, '$.files') f
                               WHERE json_extract(f.value, '$.sha256') = ?1)
                 UNION ALL
                 SELECT f.job_id, f.approval_id FROM extraction_files f
                   JOIN approvals a ON a.id = f.approval_id
                 WHERE f.sha256 = ?1 AND a.state IN ('pending', 'approved')
                 LIMIT 1",
                params![sha, JobKind::Extraction],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
    }

    /// Extraction jobs left queued or running (by a restart), oldest first: the server runs
    /// them again at start.
    pub fn extraction_unfinished(&self) -> Result<Vec<String>> {
        self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id FROM jobs WHERE kind = ?1 AND state IN ('queued', 'running')
                 ORDER BY created_at",
            )?;
            let ids = stmt
                .query_map([JobKind::Extraction], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
    }

    /// Runs an extraction job to the end (blocking; the server calls it on a worker thread).
    /// Files already processed are skipped. A job that is not an extraction job, or already
    /// finished, is left alone.
    pub fn extraction_run(&self, job_id: &str) -> Result<()> {
        let job = self.get_job(&Actor::system(), job_id)?;
        if job.kind != JobKind::Extraction {
            return Err(AssistantError::Invalid(format!(
                "job {job_id} is a {} job, not an extraction",
                job.kind
            )));
        }
        match job.state {
            JobState::Succeeded | JobState::Failed | JobState::Cancelled => return Ok(()),
            JobState::Queued => self.start_job(job_id)?,
            JobState::Running => {}
        }
        let maker = Actor {
            user: job.created_by.clone(),
            role: job.input["role"].as_str().and_then(|r| r.parse().ok()),
            request_id: job.input["request_id"].as_str().map(str::to_owned),
        };
        let files = job.input["files"].as_array().cloned().unwrap_or_default();
        let total = files.len().max(1);
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for (idx, f) in files.iter().enumerate() {
            let done: Option<FileStatus> = self.store.read(|c| {
                c.query_row(
                    "SELECT status FROM extraction_files WHERE job_id = ?1 AND idx = ?2",
                    params![job_id, idx as i64],
                    |r| sql::parsed(r, 0, "extraction_files.status"),
                )
                .optional()
            })?;
            if let Some(status) = done {
                *counts.entry(status.as_str()).or_default() += 1;
                continue;
            }
            let name = f["name"].as_str().unwrap_or("upload").to_owned();
            let sha = f["sha256"].as_str().unwrap_or_default().to_owned();
            let result = if f["too_large"].as_bool() == Some(true) {
                let mut r = FileResult::new(&name, &[]);
                r.sha256 = sha.clone();
                r.bytes = f["bytes"].as_u64().unwrap_or(0);
                r.status = FileStatus::TooLarge;
                r.error = Some(format!(
                    "{name}: {} bytes, the limit is {} (extract.max_bytes)",
                    r.bytes, self.config.extract.max_bytes
                ));
                r
            } else {
                let path = self.uploads_dir().join(&sha);
                match std::fs::read(&path) {
                    Ok(bytes) if hex::encode(Sha256::digest(&bytes)) == sha => {
                        // The model step only while model risk lets the chain's model serve.
                        let gate = self.chain_gate(crate::model_risk::EXTRACTION_CHAIN)?;
                        let model = gate
                            .model
                            .filter(|_| gate.serves_model)
                            .and_then(|m| self.models().generator(&m).ok());
                        self.extractor.extract_with_model(&bytes, &name, model)
                    }
                    Ok(_) | Err(_) => {
                        let mut r = FileResult::new(&name, &[]);
                        r.sha256 = sha.clone();
                        r.status = FileStatus::Internal;
                        r.error = Some(format!(
                            "{name}: the stored upload {} is missing or damaged",
                            path.display()
                        ));
                        r
                    }
                }
            };
            let status = self.record_file(&maker, job_id, idx, result)?;
            *counts.entry(status.as_str()).or_default() += 1;
            self.job_progress(job_id, (idx + 1) as f64 / total as f64)?;
        }
        self.finish_job(
            job_id,
            Ok(json!({ "files": files.len(), "statuses": counts })),
        )
    }

    /// Writes a file's row and, when it has key terms, its approval request, in one
    /// transaction; returns the file's status. A result whose payload fails the review's checks
    /// (our bug: the extractor checks every value) is recorded as `internal`, with the reason,
    /// and gets no approval request.
    fn record_file(
        &self,
        maker: &Actor,
        job_id: &str,
        idx: usize,
        mut r: FileResult,
    ) -> Result<FileStatus> {
        let mut payload = serde_json::to_value(&r).expect("results serialise");
        if let Value::Object(o) = &mut payload {
            o.remove("timings");
            o.insert("job_id".into(), Value::from(job_id));
            o.insert("index".into(), Value::from(idx));
        }
        if r.status.has_terms()
            && let Err(e) = self.check_payload(&ApprovalKind::Extraction, payload.clone(), None)
        {
            tracing::error!(
                job = job_id, file = idx, error = %e,
                "an extraction result fails the review's checks"
            );
            r.error = Some(format!(
                "{}: the result fails the review's checks: {e}",
                r.name
            ));
            r.status = FileStatus::Internal;
        }
        let r = &r;
        let result_json = serde_json::to_string(r).expect("results serialise");
        self.store.write(maker, |tx| {
            let approval_id = if r.status.has_terms() {
                let title = format!(
                    "Extraction of {} from {} ({})",
                    r.product_type.as_deref().unwrap_or("a confirmation"),
                    r.name,
                    r.status.as_str()
                );
                Some(self.create_approval_in(
                    tx,
                    NewApproval {
                        kind: ApprovalKind::Extraction,
                        title: title.chars().take(500).collect(),
                        payload: payload.clone(),
                        required_role: Role::Ops,
                        four_eyes: true,
                        expires_in: None,
                        class: DataClass::IMPORTANT,
                        supersedes: None,
                        idempotency_key: Some(format!("{job_id}/{idx}")),
                    },
                )?)
            } else {
                None
            };
            tx.conn().execute(
                "INSERT INTO extraction_files
                     (job_id, idx, name, sha256, bytes, status, product_type, result, approval_id,
                      created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    job_id,
                    idx as i64,
                    r.name,
                    r.sha256,
                    r.bytes as i64,
                    r.status.as_str(),
                    r.product_type,
                    result_json,
                    approval_id,
                    time::fmt(time::now()),
                ],
            )?;
            tx.audit(AuditRecord {
                action: "extraction.file",
                object_kind: "job",
                object_id: job_id,
                class: DataClass::IMPORTANT,
                details: json!({
                    "index": idx, "name": r.name, "sha256": r.sha256, "status": r.status,
                    "product_type": r.product_type, "approval_id": approval_id,
                    "error": r.error, "conflicts": r.conflicts.len(), "problems": r.problems.len(),
                    "explanation": r.error.as_ref().map(|e| policies::explain::Explanation::new(
                        policies::explain::Decision::ExtractionFailed,
                        format!("无法提取「{}」（{}）：{e}", r.name, r.status.as_str()),
                        format!("could not extract \"{}\" ({}): {e}", r.name, r.status.as_str()),
                        vec![
                            ("file", r.name.clone()),
                            ("status", r.status.as_str().to_string()),
                            ("error", e.clone()),
                        ],
                    )),
                }),
            })?;
            // Monitoring (issue #21 item 3): one call of the extraction chain per file read.
            if !matches!(r.status, FileStatus::TooLarge) {
                record_extraction_call(tx, r, approval_id.as_deref(), job_id, idx)?;
            }
            Ok::<_, AssistantError>(())
        })?;
        Ok(r.status)
    }

    /// An extraction job with every file's status and result, for a caller cleared to read it.
    pub fn extraction(&self, actor: &Actor, job_id: &str) -> Result<ExtractionView> {
        let job = self.job_unchecked(job_id)?;
        if job.kind != JobKind::Extraction || !actor.clearance().can_read(job.classification) {
            return Err(AssistantError::NotFound {
                kind: "extraction",
                id: job_id.into(),
            });
        }
        if let Some(role) = actor.role
            && role != Role::Admin
            && job.created_by != actor.user
            && !role.allows(policies::Permission::ExtractionsRead)
        {
            return Err(AssistantError::NotFound {
                kind: "extraction",
                id: job_id.into(),
            });
        }
        self.audit_read(actor, "job.read", "job", job_id, job.classification)?;
        let rows: Vec<FileRow> = self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT f.idx, f.name, f.sha256, f.bytes, f.status, f.approval_id, a.state,
                            f.result
                     FROM extraction_files f LEFT JOIN approvals a ON a.id = f.approval_id
                     WHERE f.job_id = ?1 ORDER BY f.idx",
            )?;
            let rows = stmt
                .query_map([job_id], |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u32,
                        r.get(1)?,
                        r.get(2)?,
                        r.get::<_, i64>(3)? as u64,
                        sql::parsed(r, 4, "extraction_files.status")?,
                        r.get(5)?,
                        sql::parsed_opt(r, 6, "approvals.state")?,
                        sql::json(r, 7, "extraction_files.result")?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, AssistantError>(rows)
        })?;
        let mut files = Vec::new();
        let listed = job.input["files"].as_array().cloned().unwrap_or_default();
        for (i, f) in listed.iter().enumerate() {
            match rows.iter().find(|r| r.0 as usize == i) {
                Some((idx, name, sha, bytes, status, approval_id, state, result)) => {
                    files.push(ExtractionFile {
                        index: *idx,
                        name: name.clone(),
                        sha256: sha.clone(),
                        bytes: *bytes,
                        status: FileProgress::Done(*status),
                        approval_id: approval_id.clone(),
                        approval_state: *state,
                        result: result.clone(),
                    });
                }
                None => files.push(ExtractionFile {
                    index: i as u32,
                    name: f["name"].as_str().unwrap_or_default().into(),
                    sha256: f["sha256"].as_str().unwrap_or_default().into(),
                    bytes: f["bytes"].as_u64().unwrap_or(0),
                    status: FileProgress::Queued,
                    approval_id: None,
                    approval_state: None,
                    result: Value::Null,
                }),
            }
        }
        Ok(ExtractionView {
            id: job.id,
            state: job.state,
            progress: job.progress,
            created_by: job.created_by,
            created_at: job.created_at,
            finished_at: job.finished_at,
            error: job.error,
            files,
        })
    }

    /// Applies a reviewer's corrections to a pending extraction as an approval edit: each leaf's
    /// value is checked, the cross-checks and the CDM document are redone, and the audit entry
    /// keeps the diff and the reasons.
    pub fn extraction_correct(
        &self,
        actor: &Actor,
        who: &Principal,
        approval_id: &str,
        corrections: &[Correction],
    ) -> Result<Decided> {
        if corrections.is_empty() {
            return Err(AssistantError::Invalid("no corrections given".into()));
        }
        let a = self.get_approval(actor, approval_id)?;
        if a.kind != ApprovalKind::Extraction {
            return Err(AssistantError::Invalid(format!(
                "approval {approval_id} is a {}, not an extraction",
                a.kind
            )));
        }
        let mut payload = a.payload.clone();
        let mut fields: Vec<Value> = payload["fields"].as_array().cloned().unwrap_or_default();
        let mut notes = Vec::new();
        let now = time::fmt(time::now());
        let fpml_state = payload["cdm_report"]["source"] == "fpml";
        for c in corrections {
            if c.reason.trim().is_empty() {
                return Err(AssistantError::Invalid(format!(
                    "a correction of {} needs a reason",
                    c.field
                )));
            }
            if let Some(pointer) = c.field.strip_prefix(CDM_FIELD_PREFIX) {
                let (before, after) = self.supply_cdm(&mut payload, pointer, c.value.clone())?;
                notes.push(record_correction(
                    &mut payload,
                    c,
                    before,
                    after.as_ref(),
                    &who.user,
                    &now,
                ));
                continue;
            }
            if !is_leaf(&c.field) {
                return Err(AssistantError::Invalid(format!(
                    "{} is not a key-terms field",
                    c.field
                )));
            }
            let value = match &c.value {
                Some(v) => Some(check_leaf(&c.field, v).map_err(AssistantError::Invalid)?),
                None => None,
            };
            let pos = fields.iter().position(|f| f["field"] == c.field.as_str());
            let before = pos.map(|i| fields[i]["value"].clone());
            let source = format!("{}: {}", who.user, c.reason.trim());
            match (&value, pos) {
                (Some(v), Some(i)) => {
                    let old = fields[i].clone();
                    fields[i] = json!({
                        "field": c.field, "value": v,
                        "evidence": [ { "method": "correction", "confidence": 1.0, "source": source } ],
                        "corrected_from": { "value": old["value"], "evidence": old["evidence"] },
                    });
                }
                (Some(v), None) => fields.push(json!({
                    "field": c.field, "value": v,
                    "evidence": [ { "method": "correction", "confidence": 1.0, "source": source } ],
                })),
                (None, Some(i)) => {
                    fields.remove(i);
                }
                (None, None) => {}
            }
            if let Some(Value::Array(conflicts)) = payload.get_mut("conflicts") {
                conflicts.retain(|x| x["field"] != c.field.as_str());
            }
            if let Some(Value::Array(problems)) = payload.get_mut("problems") {
                problems.retain(|p| {
                    !(p["kind"] != "cross_check"
                        && p["fields"]
                            .as_array()
                            .is_some_and(|f| f.iter().any(|x| x == c.field.as_str())))
                });
            }
            notes.push(record_correction(
                &mut payload,
                c,
                before,
                value.as_ref(),
                &who.user,
                &now,
            ));
        }
        fields.sort_by_key(|f| terms::leaf_order(f["field"].as_str().unwrap_or("")));
        let plain: Vec<FieldValue> = fields
            .iter()
            .map(|f| FieldValue {
                field: f["field"].as_str().unwrap_or_default().to_owned(),
                value: f["value"].clone(),
                evidence: Vec::new(),
            })
            .collect();
        let key_terms = terms::key_terms_object(&plain);
        let product = key_terms["product_type"].as_str().map(str::to_owned);
        let mut problems: Vec<Value> = payload["problems"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| {
                p["kind"] != "cross_check" && p["kind"] != "cdm" && p["kind"] != "cdm_missing"
            })
            .collect();
        problems.extend(
            check::cross_check(&plain, product.as_deref())
                .into_iter()
                .map(|p| serde_json::to_value(p).expect("serialises")),
        );
        // A TradeState mapped from FpML stays as mapped (and as supplied); one built from the
        // key terms is built again from the corrected ones.
        if fpml_state {
            let report: cdm::CdmReport =
                serde_json::from_value(payload["cdm_report"].clone()).unwrap_or_default();
            problems.extend(
                extraction::cdm_missing_problems(&report)
                    .into_iter()
                    .map(|p| serde_json::to_value(p).expect("serialises")),
            );
        } else if self.extractor.settings().cdm {
            match self.extractor.schemas() {
                Ok(s) => {
                    let out = cdm::build(&key_terms, &s);
                    if let Some(e) = &out.report.error
                        && !out.report.violations.is_empty()
                    {
                        problems.push(json!({"fields": [], "kind": "cdm", "message": e}));
                    }
                    payload["cdm"] = out.trade_state.unwrap_or(Value::Null);
                    payload["extension"] = out.extension.unwrap_or(Value::Null);
                    payload["cdm_report"] = serde_json::to_value(out.report).expect("serialises");
                }
                Err(e) => {
                    payload["cdm"] = Value::Null;
                    payload["cdm_report"] = json!({ "emitted": false, "error": e.to_string() });
                }
            }
        }
        let clean =
            problems.is_empty() && payload["conflicts"].as_array().is_none_or(Vec::is_empty);
        payload["status"] = Value::from(if clean { "extracted" } else { "needs_review" });
        payload["product_type"] = product.map(Value::from).unwrap_or(Value::Null);
        payload["problems"] = Value::Array(problems);
        payload["fields"] = Value::Array(fields);
        payload["key_terms"] = key_terms;
        let note = format!("corrected {}", notes.join("; "));
        self.edit_approval(actor, who, approval_id, payload, Some(&note))
    }

    /// Supplies (or, with `None`, takes back) the value of a required CDM property the
    /// payload's TradeState lacks; returns the value before and after.
    fn supply_cdm(
        &self,
        payload: &mut Value,
        pointer: &str,
        value: Option<Value>,
    ) -> Result<(Option<Value>, Option<Value>)> {
        let mut report: cdm::CdmReport = serde_json::from_value(payload["cdm_report"].clone())
            .map_err(|e| {
                AssistantError::Conflict(format!("the stored CDM report does not read: {e}"))
            })?;
        let mut doc = payload["cdm"].clone();
        let before = doc.pointer(pointer).cloned();
        let schemas = self.extractor.schemas()?;
        cdm::supply(&mut doc, &mut report, pointer, value, &schemas).map_err(|e| match e {
            cdm::SupplyError::Schemas(e) => AssistantError::Cdm(e),
            other => AssistantError::Invalid(format!("cdm:{pointer}: {other}")),
        })?;
        let after = doc.pointer(pointer).cloned();
        payload["cdm"] = doc;
        payload["cdm_report"] = serde_json::to_value(report).expect("serialises");
        Ok((before, after))
    }

    /// Exports an approved extraction (idempotent: a second call returns the first export).
    pub fn extraction_export(&self, actor: &Actor, approval_id: &str) -> Result<ExtractionExport> {
        if let Some(e) = self.export_row(approval_id)? {
            let a = self.get_approval(actor, approval_id)?;
            let _ = a;
            return Ok(e);
        }
        let a = self.get_approval(actor, approval_id)?;
        if a.kind != ApprovalKind::Extraction {
            return Err(AssistantError::Invalid(format!(
                "approval {approval_id} is a {}, not an extraction",
                a.kind
            )));
        }
        if a.state != ApprovalState::Approved {
            return Err(AssistantError::Conflict(format!(
                "approval {approval_id} is {}; only approved extractions are exported",
                a.state
            )));
        }
        let p = &a.payload;
        let key_terms = p["key_terms"].clone();
        for (field, value) in terms::leaves_of(&key_terms) {
            check_leaf(&field, &value).map_err(|e| {
                AssistantError::Conflict(format!(
                    "the approved key terms of {approval_id} do not check: {e}"
                ))
            })?;
        }
        let cdm_doc = p.get("cdm").filter(|v| !v.is_null()).cloned();
        if let Some(doc) = &cdm_doc {
            let schemas = self.extractor.schemas()?;
            let v = schemas.validate_trade_state(doc)?;
            let (absent, _) = cdm::split_missing(&v);
            if !absent.is_empty() {
                return Err(AssistantError::Conflict(format!(
                    "the approved CDM document of {approval_id} is incomplete: CDM {} requires {} \
                     that it lacks; it cannot be exported (supply them in a new review)",
                    cdm::CDM_VERSION,
                    absent
                        .iter()
                        .map(|(pointer, _)| format!("cdm:{pointer}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if !v.is_empty() {
                return Err(AssistantError::Conflict(format!(
                    "the approved CDM document of {approval_id} breaks the schema: {}",
                    v.iter()
                        .take(5)
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                )));
            }
        }
        let export = ExtractionExport {
            approval_id: approval_id.to_owned(),
            job_id: p["job_id"].as_str().map(str::to_owned),
            file_name: p["name"].as_str().unwrap_or_default().to_owned(),
            file_sha256: p["sha256"].as_str().unwrap_or_default().to_owned(),
            product_type: key_terms["product_type"].as_str().map(str::to_owned),
            key_terms,
            cdm: cdm_doc,
            extension: p.get("extension").filter(|v| !v.is_null()).cloned(),
            version: a.version,
            approved_by: a.decided_by.clone().unwrap_or_default(),
            approved_at: a.decided_at.clone().unwrap_or_default(),
            exported_by: actor.user.clone(),
            exported_at: time::fmt(time::now()),
        };
        self.store.write(actor, |tx| {
            let inserted = tx.conn().execute(
                "INSERT OR IGNORE INTO extraction_exports
                     (approval_id, job_id, file_name, file_sha256, product_type, key_terms, cdm,
                      extension, version, approved_by, approved_at, exported_by, exported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    export.approval_id,
                    export.job_id,
                    export.file_name,
                    export.file_sha256,
                    export.product_type,
                    export.key_terms.to_string(),
                    export.cdm.as_ref().map(Value::to_string),
                    export.extension.as_ref().map(Value::to_string),
                    export.version,
                    export.approved_by,
                    export.approved_at,
                    export.exported_by,
                    export.exported_at,
                ],
            )?;
            if inserted == 1 {
                tx.audit(AuditRecord {
                    action: "extraction.export",
                    object_kind: "approval",
                    object_id: approval_id,
                    class: DataClass::IMPORTANT,
                    details: json!({
                        "file_sha256": export.file_sha256, "file_name": export.file_name,
                        "version": export.version, "product_type": export.product_type,
                        "cdm": export.cdm.is_some(),
                    }),
                })?;
            }
            Ok::<_, AssistantError>(())
        })?;
        Ok(self.export_row(approval_id)?.unwrap_or(export))
    }

    /// Exports every approved file of a job (skipping those not approved).
    pub fn extraction_exports(&self, actor: &Actor, job_id: &str) -> Result<Vec<ExtractionExport>> {
        let view = self.extraction(actor, job_id)?;
        let mut out = Vec::new();
        for f in view.files {
            if let (Some(id), Some(ApprovalState::Approved)) = (f.approval_id, f.approval_state) {
                out.push(self.extraction_export(actor, &id)?);
            }
        }
        Ok(out)
    }

    fn export_row(&self, approval_id: &str) -> Result<Option<ExtractionExport>> {
        self.store.read(|c| {
            let row = c
                .query_row(
                    "SELECT approval_id, job_id, file_name, file_sha256, product_type, key_terms,
                            cdm, extension, version, approved_by, approved_at, exported_by,
                            exported_at
                     FROM extraction_exports WHERE approval_id = ?1",
                    [approval_id],
                    |r| {
                        Ok(ExtractionExport {
                            approval_id: r.get(0)?,
                            job_id: r.get(1)?,
                            file_name: r.get(2)?,
                            file_sha256: r.get(3)?,
                            product_type: r.get(4)?,
                            key_terms: sql::json(r, 5, "extraction_exports.key_terms")?,
                            cdm: sql::json_opt(r, 6, "extraction_exports.cdm")?,
                            extension: sql::json_opt(r, 7, "extraction_exports.extension")?,
                            version: r.get(8)?,
                            approved_by: r.get(9)?,
                            approved_at: r.get(10)?,
                            exported_by: r.get(11)?,
                            exported_at: r.get(12)?,
                        })
                    },
                )
                .optional()?;
            Ok(row)
        })
    }
}

/// Whether an extraction's payload may be approved: refused, naming them, while its CDM
/// document lacks properties the schema requires (approved, it could not be exported).
pub(crate) fn approvable(payload: &Value) -> Result<()> {
    let missing: Vec<String> = payload["cdm_report"]["missing_required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["pointer"].as_str())
        .map(|p| format!("{CDM_FIELD_PREFIX}{p}"))
        .collect();
    if payload["cdm"].is_object() && !missing.is_empty() {
        return Err(AssistantError::Conflict(format!(
            "the CDM document lacks {} propert{} CDM {} requires: {}; supply {} as corrections \
             (field cdm:<pointer>, with a reason) before approving",
            missing.len(),
            if missing.len() == 1 { "y" } else { "ies" },
            cdm::CDM_VERSION,
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        )));
    }
    Ok(())
}

/// Appends a correction to the payload's `corrections` (field, before, after, reason, who,
/// when) and returns the line the audit note gives it (`field: before → after (reason)`).
fn record_correction(
    payload: &mut Value,
    c: &Correction,
    before: Option<Value>,
    after: Option<&Value>,
    user: &str,
    now: &str,
) -> String {
    let entry = json!({
        "field": c.field, "before": before, "after": after, "reason": c.reason.trim(),
        "by": user, "at": now,
    });
    match payload.get_mut("corrections") {
        Some(Value::Array(list)) => list.push(entry),
        _ => payload["corrections"] = json!([entry]),
    }
    format!(
        "{}: {} → {} ({})",
        c.field,
        before
            .map(|v| v.to_string())
            .unwrap_or_else(|| "absent".into()),
        after
            .map(Value::to_string)
            .unwrap_or_else(|| "removed".into()),
        c.reason.trim()
    )
}

fn io(path: &std::path::Path, source: std::io::Error) -> AssistantError {
    AssistantError::Store(crate::store::StoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Records one file's extraction as a call of the extraction chain (`model_risk`): outcome
/// (`model` when the model step supplied a term, `error` when nothing could be read, else
/// `rules`), confidence (the mean of the terms' evidence confidences), the text length read,
/// the language of the evidence, the product.
fn record_extraction_call(
    tx: &mut crate::store::WriteTx<'_>,
    r: &FileResult,
    approval_id: Option<&str>,
    job_id: &str,
    idx: usize,
) -> Result<()> {
    use crate::model_risk::{CallFeatures, EXTRACTION_CHAIN, record_call};
    let mode = crate::model_risk::mode_of(tx.conn(), EXTRACTION_CHAIN)?.0;
    let subject = approval_id.map_or_else(|| format!("{job_id}/{idx}"), str::to_owned);
    let features = CallFeatures::of_extraction(r);
    record_call(
        tx,
        &features.record(EXTRACTION_CHAIN, Some(&subject), mode, r.timings.total_ms),
    )
}

/// Records the key terms a reviewer corrected in an approved extraction (the leaves whose final
/// value differs from the extractor's, added or removed), for the monitoring's ops correction
/// rate per field, and marks the file's call as changed by a person. In the decision's
/// transaction.
pub(crate) fn record_corrections(
    tx: &mut crate::store::WriteTx<'_>,
    approval_id: &str,
    original: &Value,
    approved: &Value,
) -> Result<usize> {
    let before = extraction::terms::leaves_of(&original["key_terms"]);
    let after = extraction::terms::leaves_of(&approved["key_terms"]);
    let mut fields: Vec<&str> = Vec::new();
    for (f, v) in &before {
        if !after.iter().any(|(g, w)| g == f && w == v) {
            fields.push(f);
        }
    }
    for (f, _) in &after {
        if !before.iter().any(|(g, _)| g == f) {
            fields.push(f);
        }
    }
    fields.sort_unstable();
    fields.dedup();
    let now = time::fmt(time::now());
    for f in &fields {
        tx.conn().execute(
            "INSERT INTO field_corrections (chain, subject, field, time) VALUES (?1, ?2, ?3, ?4)",
            params![crate::model_risk::EXTRACTION_CHAIN, approval_id, f, now],
        )?;
    }
    if !fields.is_empty() {
        crate::model_risk::mark_human_changed(tx, approval_id)?;
    }
    Ok(fields.len())
}
