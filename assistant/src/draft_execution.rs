//! Legal approval and execution of drafted confirmations.
//!
//! - [`Assistant::draft_submit`] sends the current version for legal approval: the proofreader
//!   runs first and a version with errors (a term that differs from the trade, amounts and
//!   words that disagree, a broken reference…) is refused with them named; otherwise an approval
//!   request of kind `confirmation_draft` goes to the generic queue (role `legal`; four-eyes by
//!   the `[approvals] four_eyes_kinds` policy, which names this kind by default: the approver is
//!   neither the one who submitted nor the one who wrote the version). Audited (`draft.submit`).
//! - Saving an edit (`Assistant::draft_save`) withdraws a pending request (superseded) and
//!   reopens an approved draft: the approval covers the version it names, and only that version.
//!   Once a signed copy of a final has arrived, the draft is no longer edited.
//! - [`Assistant::draft_finalise`] renders the approved version as its final PDF and DOCX
//!   (`drafting::render`: embedded fonts, one signature page per party) and keeps both with
//!   their SHA-256, also written to the audit log (`draft.finalise`). The renderer is
//!   deterministic, so the final can be re-created from its version and checked against the hash.
//! - [`Assistant::draft_sign`] takes a signed copy from one party (PDF, OCR where scanned, or
//!   DOCX), matches it to the final by content (every line of the final's terms in order for a
//!   copy with a text layer; for a scan, a character-bigram similarity of at least 0.85 and every
//!   figure of the final found), and records it (`draft.signature`). When the last party's copy
//!   arrives the document is executed, dated on the latest signature date, and a conformed copy
//!   carrying that date is rendered and kept (`draft.executed`, with its SHA-256).

use std::collections::BTreeMap;

use drafting::format;
use drafting::proofread::Severity;
use drafting::render::{Fonts, Options, render};
use policies::{DataClass, Role};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Assistant;
use crate::approvals::payload::Edit;
use crate::approvals::{ApprovalKind, NewApproval};
use crate::drafts::{invalid, sha};
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord, time};

/// The parties a confirmation is signed by, in order.
pub const PARTIES: [&str; 2] = ["party_a", "party_b"];

/// How long a legal approval request waits before it expires.
const APPROVAL_DAYS: i64 = 7;

/// The payload of a `confirmation_draft` approval request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftApproval {
    /// The draft (`dr_…`).
    pub draft_id: String,
    /// The version sent for approval.
    pub version: u32,
    /// SHA-256 of that version's text.
    pub sha256: String,
    /// The document's title.
    pub title: String,
    /// The template it was drafted on.
    pub template: String,
    /// The proofreader's findings on that version, by severity.
    pub findings: BTreeMap<String, usize>,
}

/// Checks a `confirmation_draft` payload; such a request is never edited in the queue.
pub(crate) fn check_payload(payload: Value, edit: Option<&Edit<'_>>) -> Result<Value> {
    if edit.is_some() {
        return Err(AssistantError::field(
            "payload",
            "a confirmation draft is edited in the drafting workspace (/drafting/{id}); saving \
             a new version there withdraws this request",
        ));
    }
    let p: DraftApproval = serde_json::from_value(payload.clone())
        .map_err(|e| AssistantError::field("payload", e.to_string()))?;
    if !p.draft_id.starts_with("dr_") || p.draft_id.len() > 64 {
        return Err(AssistantError::field(
            "payload.draft_id",
            "is not a draft id (dr_…)",
        ));
    }
    if p.version == 0 {
        return Err(AssistantError::field("payload.version", "starts at 1"));
    }
    if p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AssistantError::field(
            "payload.sha256",
            "is not a SHA-256 in hex",
        ));
    }
    Ok(payload)
}

/// Where a draft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftStatus {
    /// Being written; not sent for approval (or edited since).
    Drafting,
    /// The current version waits for legal approval.
    InApproval,
    /// The current version's approval was refused (or expired).
    Rejected,
    /// The current version is approved and can be finalised.
    Approved,
    /// Final documents exist for the current version; signed copies are awaited.
    Final,
    /// Every party's signed copy is in; dated on the last signature.
    Executed,
}

impl DraftStatus {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            DraftStatus::Drafting => "drafting",
            DraftStatus::InApproval => "in_approval",
            DraftStatus::Rejected => "rejected",
            DraftStatus::Approved => "approved",
            DraftStatus::Final => "final",
            DraftStatus::Executed => "executed",
        }
    }
}

/// The approval request of a draft, as the workspace shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftApprovalState {
    /// `apr_…`.
    pub id: String,
    /// Its state.
    pub state: policies::approval::ApprovalState,
    /// The version it covers.
    pub version: u32,
    /// Who submitted it.
    pub maker: String,
    /// Who decided, and why.
    pub decided_by: Option<String>,
    /// The rejection reason or approver's note.
    pub reason: Option<String>,
    /// When it was decided.
    pub decided_at: Option<String>,
}

/// The final documents of a version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalRecord {
    /// The version rendered.
    pub version: u32,
    /// The approval it rests on.
    pub approval_id: String,
    /// SHA-256 of the final PDF.
    pub pdf_sha256: String,
    /// SHA-256 of the final DOCX.
    pub docx_sha256: String,
    /// The PDF's pages (signature pages included).
    pub pages: u32,
    /// Who signs: (key, role as the document names it, name).
    pub parties: Vec<(String, String, String)>,
    /// When and by whom.
    pub finalised_at: String,
    /// Who finalised it.
    pub finalised_by: String,
    /// The date of the last signature, once every party has signed.
    pub executed_on: Option<String>,
    /// SHA-256 of the conformed copy (the final dated on the last signature).
    pub conformed_sha256: Option<String>,
}

/// A received signed copy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignatureRecord {
    /// `party_a` or `party_b`.
    pub party: String,
    /// The date it was signed.
    pub signed_on: String,
    /// The file as uploaded.
    pub file_name: String,
    /// Its SHA-256.
    pub file_sha256: String,
    /// Its similarity to the final (character bigrams, 0-1).
    pub similarity: f64,
    /// Whether it was read by OCR (a scan).
    pub ocr: bool,
    /// When it was uploaded.
    pub uploaded_at: String,
    /// By whom.
    pub uploaded_by: String,
}

/// A draft's approval and execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lifecycle {
    /// Where it stands.
    pub status: DraftStatus,
    /// The latest approval request, if any.
    pub approval: Option<DraftApprovalState>,
    /// The final documents of the current version, if finalised.
    #[serde(rename = "final")]
    pub final_doc: Option<FinalRecord>,
    /// The signed copies of that final received so far.
    pub signatures: Vec<SignatureRecord>,
}

/// Text without whitespace, for comparisons that layout must not disturb.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Dice similarity of the character-bigram multisets of two texts (whitespace ignored).
fn bigram_similarity(a: &str, b: &str) -> f64 {
    let grams = |s: &str| {
        let chars: Vec<char> = squash(s).chars().collect();
        let mut m: BTreeMap<(char, char), usize> = BTreeMap::new();
        for w in chars.windows(2) {
            *m.entry((w[0], w[1])).or_default() += 1;
        }
        (m, chars.len().saturating_sub(1))
    };
    let ((ga, na), (gb, nb)) = (grams(a), grams(b));
    if na + nb == 0 {
        return 0.0;
    }
    let common: usize = ga
        .iter()
        .map(|(k, &n)| n.min(gb.get(k).copied().unwrap_or(0)))
        .sum();
    2.0 * common as f64 / (na + nb) as f64
}

/// The figures of a text (`10,000,000.00`, `2.853`, `2026`), separators removed.
fn figures(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (!cur.is_empty() && (c == ',' || c == '.')) {
            cur.push(c);
        } else if !cur.is_empty() {
            let f: String = cur
                .trim_end_matches(['.', ','])
                .chars()
                .filter(|&c| c != ',')
                .collect();
            if f.len() >= 2 {
                out.push(f);
            }
            cur.clear();
        }
    }
    out
}

/// An ISO date (`2026-03-09`), checked.
fn iso_date(s: &str) -> Option<::time::Date> {
    let f = ::time::macros::format_description!("[year]-[month]-[day]");
    ::time::Date::parse(s.trim(), f).ok()
}

impl Assistant {
    /// The approval and execution state of a draft whose current version is `version`.
    pub(crate) fn draft_lifecycle(
        &self,
        c: &rusqlite::Connection,
        id: &str,
        version: u32,
    ) -> Result<Lifecycle> {
        let approval_id: Option<String> = c
            .query_row("SELECT approval_id FROM drafts WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .flatten();
        let approval = match approval_id {
            None => None,
            Some(aid) => {
                let (state, maker, decided_by, reason, decided_at, expires_at, payload): (
                    String,
                    String,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    String,
                    String,
                ) = c.query_row(
                    "SELECT a.state, a.maker, a.decided_by, a.reason, a.decided_at, a.expires_at,
                            v.payload
                     FROM approvals a JOIN approval_versions v
                       ON v.approval_id = a.id AND v.version = a.version
                     WHERE a.id = ?1",
                    [&aid],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                        ))
                    },
                )?;
                let mut state = policies::approval::ApprovalState::parse(&state)
                    .unwrap_or(policies::approval::ApprovalState::Expired);
                if state == policies::approval::ApprovalState::Pending
                    && time::parse(&expires_at).is_some_and(|t| t <= time::now())
                {
                    state = policies::approval::ApprovalState::Expired;
                }
                let p: DraftApproval = serde_json::from_str(&payload).map_err(|e| {
                    AssistantError::Invalid(format!("approval {aid} of draft {id}: {e}"))
                })?;
                Some(DraftApprovalState {
                    id: aid,
                    state,
                    version: p.version,
                    maker,
                    decided_by,
                    reason,
                    decided_at,
                })
            }
        };
        let final_doc = c
            .query_row(
                "SELECT version, approval_id, pdf_sha256, docx_sha256, pages, parties,
                        finalised_at, finalised_by, executed_on, conformed_sha256
                 FROM draft_finals WHERE draft_id = ?1 AND version = ?2",
                params![id, version],
                |r| {
                    Ok(FinalRecord {
                        version: r.get(0)?,
                        approval_id: r.get(1)?,
                        pdf_sha256: r.get(2)?,
                        docx_sha256: r.get(3)?,
                        pages: r.get(4)?,
                        parties: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
                        finalised_at: r.get(6)?,
                        finalised_by: r.get(7)?,
                        executed_on: r.get(8)?,
                        conformed_sha256: r.get(9)?,
                    })
                },
            )
            .optional()?;
        let mut stmt = c.prepare(
            "SELECT party, signed_on, file_name, file_sha256, similarity, ocr, uploaded_at,
                    uploaded_by
             FROM draft_signatures WHERE draft_id = ?1 AND version = ?2 ORDER BY party",
        )?;
        let signatures = stmt
            .query_map(params![id, version], |r| {
                Ok(SignatureRecord {
                    party: r.get(0)?,
                    signed_on: r.get(1)?,
                    file_name: r.get(2)?,
                    file_sha256: r.get(3)?,
                    similarity: r.get(4)?,
                    ocr: r.get(5)?,
                    uploaded_at: r.get(6)?,
                    uploaded_by: r.get(7)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        use policies::approval::ApprovalState as S;
        let status = match (&final_doc, &approval) {
            (Some(f), _) if f.executed_on.is_some() => DraftStatus::Executed,
            (Some(_), _) => DraftStatus::Final,
            (None, Some(a)) if a.version == version => match a.state {
                S::Pending => DraftStatus::InApproval,
                S::Approved => DraftStatus::Approved,
                S::Rejected | S::Expired => DraftStatus::Rejected,
                S::Superseded => DraftStatus::Drafting,
            },
            _ => DraftStatus::Drafting,
        };
        Ok(Lifecycle {
            status,
            approval,
            final_doc,
            signatures,
        })
    }

    /// Sends the current version of a draft for legal approval (see the module doc).
    pub fn draft_submit(&self, actor: &Actor, id: &str) -> Result<crate::drafts::DraftRecord> {
        let d = self.draft_get(id)?;
        match d.lifecycle.status {
            DraftStatus::Drafting | DraftStatus::Rejected => {}
            s => {
                return Err(AssistantError::Conflict(format!(
                    "draft {id} version {} is {}: only a draft being written (or refused) is sent for approval",
                    d.version,
                    s.as_str()
                )));
            }
        }
        let report = self.draft_proofread(id, None, &[])?;
        let errors: Vec<&drafting::proofread::Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        if !errors.is_empty() {
            let list = errors
                .iter()
                .take(5)
                .map(|f| format!("{} ({})", f.message, f.section))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(invalid(
                "draft",
                format!(
                    "version {} has {} error(s) the proofreader found; fix them before approval: {list}",
                    d.version,
                    errors.len()
                ),
            ));
        }
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for f in &report.findings {
            *counts
                .entry(
                    match f.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                        Severity::Info => "info",
                    }
                    .to_string(),
                )
                .or_default() += 1;
        }
        let current = d
            .versions
            .iter()
            .find(|v| v.version == d.version)
            .cloned()
            .ok_or_else(|| AssistantError::Invalid(format!("draft {id} lost its version")))?;
        let payload = DraftApproval {
            draft_id: id.to_string(),
            version: d.version,
            sha256: current.sha256.clone(),
            title: d.title.clone(),
            template: d.template.clone(),
            findings: counts,
        };
        let title: String = format!("{} — {id} v{}", d.title, d.version)
            .chars()
            .take(200)
            .collect();
        self.store.write(actor, |tx| {
            let aid = self.create_approval_in(
                tx,
                NewApproval {
                    kind: ApprovalKind::ConfirmationDraft,
                    title,
                    payload: serde_json::to_value(&payload)
                        .map_err(|e| AssistantError::Invalid(e.to_string()))?,
                    required_role: Role::Legal,
                    four_eyes: true,
                    expires_in: Some(::time::Duration::days(APPROVAL_DAYS)),
                    class: DataClass::IMPORTANT,
                    supersedes: None,
                    idempotency_key: None,
                },
            )?;
            // Four eyes over the text, too: whoever wrote this version may not approve it.
            if current.saved_by != actor.user {
                tx.conn().execute(
                    "UPDATE approvals SET last_editor = ?2 WHERE id = ?1",
                    params![aid, current.saved_by],
                )?;
            }
            tx.conn().execute(
                "UPDATE drafts SET approval_id = ?2 WHERE id = ?1",
                params![id, aid],
            )?;
            tx.audit(AuditRecord {
                action: "draft.submit",
                object_kind: "draft",
                object_id: id,
                class: DataClass::IMPORTANT,
                details: json!({
                    "version": d.version, "sha256": current.sha256, "approval": aid,
                    "findings": payload.findings,
                }),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        self.draft_get(id)
    }

    /// Withdraws the pending approval of a draft being edited, inside the edit's transaction;
    /// refuses the edit once a signed copy of a final has arrived. Returns the approval the edit
    /// reopens (pending or approved), if any.
    pub(crate) fn draft_reopen(
        &self,
        tx: &mut crate::store::WriteTx<'_>,
        id: &str,
        current: u32,
        next: u32,
    ) -> Result<Option<String>> {
        let signed: i64 = tx.conn().query_row(
            "SELECT COUNT(*) FROM draft_signatures WHERE draft_id = ?1 AND version = ?2",
            params![id, current],
            |r| r.get(0),
        )?;
        if signed > 0 {
            return Err(AssistantError::Conflict(format!(
                "draft {id} version {current} is final and {signed} signed cop{} received: it is no longer edited (draft an amendment instead)",
                if signed == 1 { "y was" } else { "ies were" }
            )));
        }
        let approval: Option<(String, String)> = tx
            .conn()
            .query_row(
                "SELECT a.id, a.state FROM drafts d JOIN approvals a ON a.id = d.approval_id
                 WHERE d.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((aid, state)) = approval else {
            return Ok(None);
        };
        match state.as_str() {
            "pending" => {
                tx.conn().execute(
                    "UPDATE approvals SET state = 'superseded', reason = ?2 WHERE id = ?1",
                    params![aid, format!("draft {id} edited: version {next}")],
                )?;
                tx.audit(AuditRecord {
                    action: "approval.supersede",
                    object_kind: "approval",
                    object_id: &aid,
                    class: DataClass::IMPORTANT,
                    details: json!({"draft": id, "by_edit": next}),
                })?;
                Ok(Some(aid))
            }
            "approved" => Ok(Some(aid)),
            _ => Ok(None),
        }
    }

    /// Renders the approved current version of a draft as its final PDF and DOCX.
    pub fn draft_finalise(&self, actor: &Actor, id: &str) -> Result<crate::drafts::DraftRecord> {
        let d = self.draft_get(id)?;
        if d.lifecycle.status != DraftStatus::Approved {
            return Err(AssistantError::Conflict(format!(
                "draft {id} version {} is {}: only an approved version is finalised",
                d.version,
                d.lifecycle.status.as_str()
            )));
        }
        let approval = d
            .lifecycle
            .approval
            .clone()
            .ok_or_else(|| AssistantError::Invalid(format!("draft {id} has no approval")))?;
        let parties =
            drafting::render::parties(&d.trade, d.language).map_err(|e| invalid("trade", e))?;
        let fonts = Fonts::load(&self.config.drafting.fonts())
            .map_err(|e| AssistantError::Invalid(e.to_string()))?;
        let reference = format!("{id} v{}", d.version);
        let options = Options {
            reference: reference.clone(),
            parties: parties
                .iter()
                .map(|(_, r, n)| (r.clone(), n.clone()))
                .collect(),
            dated: None,
        };
        let r = render(&d.text, d.language, &options, &fonts)
            .map_err(|e| AssistantError::Invalid(format!("{id}: {e}")))?;
        let (pdf_sha, docx_sha) = (sha(&r.pdf), sha(&r.docx));
        let now = time::fmt(time::now());
        self.store.write(actor, |tx| {
            tx.conn().execute(
                "INSERT INTO draft_finals (draft_id, version, approval_id, parties, pages, pdf,
                     pdf_sha256, docx, docx_sha256, finalised_at, finalised_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id,
                    d.version,
                    approval.id,
                    serde_json::to_string(&parties).unwrap_or_default(),
                    r.pages as u32,
                    r.pdf,
                    pdf_sha,
                    r.docx,
                    docx_sha,
                    now,
                    actor.user
                ],
            )?;
            tx.audit(AuditRecord {
                action: "draft.finalise",
                object_kind: "draft",
                object_id: id,
                class: DataClass::IMPORTANT,
                details: json!({
                    "version": d.version, "approval": approval.id, "approved_by": approval.decided_by,
                    "pdf_sha256": pdf_sha, "docx_sha256": docx_sha, "pages": r.pages,
                    "pdf_bytes": r.pdf.len(), "docx_bytes": r.docx.len(),
                }),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        self.draft_get(id)
    }

    /// A final document of a draft's current version: `pdf`, `docx` or `conformed` (the PDF
    /// dated on the last signature). Returns the bytes, a file name and the media type.
    pub fn draft_final_file(
        &self,
        id: &str,
        what: &str,
    ) -> Result<(Vec<u8>, String, &'static str)> {
        let d = self.draft_get(id)?;
        let f = d
            .lifecycle
            .final_doc
            .ok_or_else(|| AssistantError::NotFound {
                kind: "final document",
                id: format!("{id} v{}", d.version),
            })?;
        let (col, ext, mime) = match what {
            "pdf" => ("pdf", "pdf", "application/pdf"),
            "docx" => (
                "docx",
                "docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            "conformed" => ("conformed_pdf", "pdf", "application/pdf"),
            _ => {
                return Err(invalid(
                    "file",
                    format!("{what:?}: one of pdf, docx, conformed"),
                ));
            }
        };
        let bytes: Option<Vec<u8>> = self.store.read(|c| {
            let b: Option<Vec<u8>> = c.query_row(
                &format!("SELECT {col} FROM draft_finals WHERE draft_id = ?1 AND version = ?2"),
                params![id, f.version],
                |r| r.get(0),
            )?;
            Ok::<_, AssistantError>(b)
        })?;
        let bytes = bytes.ok_or_else(|| AssistantError::NotFound {
            kind: "conformed copy",
            id: format!("{id} v{} (not executed yet)", f.version),
        })?;
        let suffix = if what == "conformed" {
            "-conformed"
        } else {
            ""
        };
        Ok((bytes, format!("{id}-v{}{suffix}.{ext}", f.version), mime))
    }

    /// Records one party's signed copy of the final (see the module doc); the last one
    /// executes the document.
    pub fn draft_sign(
        &self,
        actor: &Actor,
        id: &str,
        party: &str,
        signed_on: Option<&str>,
        name: &str,
        bytes: &[u8],
    ) -> Result<crate::drafts::DraftRecord> {
        let d = self.draft_get(id)?;
        if d.lifecycle.status != DraftStatus::Final {
            return Err(AssistantError::Conflict(format!(
                "draft {id} version {} is {}: signed copies are taken for a final that is not yet executed",
                d.version,
                d.lifecycle.status.as_str()
            )));
        }
        let f = d
            .lifecycle
            .final_doc
            .clone()
            .ok_or_else(|| AssistantError::Invalid(format!("draft {id} has no final")))?;
        let Some((_, _, party_name)) = f.parties.iter().find(|(k, _, _)| k == party).cloned()
        else {
            return Err(invalid(
                "party",
                format!("{party:?}: one of {}", PARTIES.join(", ")),
            ));
        };
        if d.lifecycle.signatures.iter().any(|s| s.party == party) {
            return Err(AssistantError::Conflict(format!(
                "{party}'s signed copy of {id} v{} is already in",
                f.version
            )));
        }
        let today = time::now().date();
        let signed = match signed_on {
            None | Some("") => today,
            Some(s) => iso_date(s)
                .ok_or_else(|| invalid("signed_on", format!("{s:?} is not a date (YYYY-MM-DD)")))?,
        };
        let finalised = time::parse(&f.finalised_at).map_or(today, |t| t.date());
        if signed < finalised || signed > today {
            return Err(invalid(
                "signed_on",
                format!("{signed} is outside {finalised} (finalised) to {today} (today)"),
            ));
        }
        // Read the copy and the final, and compare.
        let limits = &self.config.extract.settings().limits;
        let copy = connectors::document::extract_text(
            connectors::document::Input::Bytes { bytes, name },
            limits,
        )?;
        let ocr = copy
            .pages
            .iter()
            .any(|p| p.method == connectors::document::PageMethod::Ocr);
        let copy_text = copy.text();
        if copy_text.trim().is_empty() {
            return Err(invalid("file", format!("{name}: no text could be read")));
        }
        let (final_pdf, _, _) = self.draft_final_file(id, "pdf")?;
        let final_doc = connectors::document::extract_text(
            connectors::document::Input::Bytes {
                bytes: &final_pdf,
                name: "final.pdf",
            },
            limits,
        )?;
        let body_pages = final_doc.pages.len().saturating_sub(f.parties.len()).max(1);
        // The final's terms: its pages before the signature pages, without the running footer
        // (it names the draft).
        let body: Vec<String> = final_doc.pages[..body_pages.min(final_doc.pages.len())]
            .iter()
            .flat_map(|p| p.lines.iter().map(|l| l.text.clone()))
            .filter(|l| !l.contains(id))
            .collect();
        let body_text = body.join("\n");
        // The copy's pages of terms, when it has the final's pages (the signature pages hold
        // handwriting and stamps); its whole text otherwise.
        let copy_terms: String = if copy.pages.len() == final_doc.pages.len() {
            copy.pages[..body_pages]
                .iter()
                .flat_map(|p| p.lines.iter().map(|l| l.text.clone()))
                .filter(|l| !l.contains(id))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            copy_text.clone()
        };
        let similarity = bigram_similarity(&body_text, &copy_terms);
        let copy_squashed = squash(&copy_text);
        let (final_figures, copy_figures) = (figures(&body_text), figures(&copy_text));
        let only_in = |a: &[String], b: &[String]| -> Vec<String> {
            let mut seen = std::collections::BTreeSet::new();
            a.iter()
                .filter(|n| !b.contains(n) && seen.insert((*n).clone()))
                .cloned()
                .collect()
        };
        let figures_missing = only_in(&final_figures, &copy_figures);
        let mut problems = Vec::new();
        if ocr {
            if similarity < 0.85 {
                problems.push(format!(
                    "its text is {:.0}% like the final's (a scan needs at least 85%)",
                    similarity * 100.0
                ));
            }
        } else {
            // Every line of the final's terms, in order.
            let mut at = 0;
            let mut missing = Vec::new();
            for line in &body {
                let l = squash(line);
                if l.is_empty() {
                    continue;
                }
                match copy_squashed[at..].find(&l) {
                    Some(i) => at += i + l.len(),
                    None => missing.push(line.trim().to_string()),
                }
            }
            if !missing.is_empty() {
                problems.push(format!(
                    "{} line(s) of the final are not in it, e.g. {}",
                    missing.len(),
                    missing
                        .iter()
                        .take(3)
                        .map(|l| format!("{l:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        if !figures_missing.is_empty() {
            let extra = only_in(&copy_figures, &final_figures);
            problems.push(format!(
                "figures of the final not found in it: {}{}",
                figures_missing
                    .iter()
                    .take(8)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (it has instead: {})",
                        extra.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
                    )
                }
            ));
        }
        if !squash(&party_name).is_empty() && !copy_squashed.contains(&squash(&party_name)) && !ocr
        {
            problems.push(format!("it does not name {party_name}"));
        }
        if !problems.is_empty() {
            return Err(invalid(
                "file",
                format!(
                    "{name} does not match the final of {id} v{}{}: {}; nothing was recorded",
                    f.version,
                    if ocr { " (read by OCR)" } else { "" },
                    problems.join("; ")
                ),
            ));
        }
        let signed_iso = signed.to_string();
        let file_sha = sha(bytes);
        let now = time::fmt(time::now());
        // The last signature executes the document: the conformed copy carries its date.
        let mut dates: Vec<String> = d
            .lifecycle
            .signatures
            .iter()
            .map(|s| s.signed_on.clone())
            .collect();
        dates.push(signed_iso.clone());
        let executed = (dates.len() == f.parties.len())
            .then(|| dates.iter().max().cloned())
            .flatten();
        let conformed = match &executed {
            None => None,
            Some(day) => {
                let fonts = Fonts::load(&self.config.drafting.fonts())
                    .map_err(|e| AssistantError::Invalid(e.to_string()))?;
                let options = Options {
                    reference: format!("{id} v{}", f.version),
                    parties: f
                        .parties
                        .iter()
                        .map(|(_, r, n)| (r.clone(), n.clone()))
                        .collect(),
                    dated: Some(format::date(day, d.language).unwrap_or_else(|_| day.clone())),
                };
                let text = self.draft_version(id, f.version)?;
                let r = render(&text, d.language, &options, &fonts)
                    .map_err(|e| AssistantError::Invalid(format!("{id}: {e}")))?;
                Some(r.pdf)
            }
        };
        self.store.write(actor, |tx| {
            tx.conn().execute(
                "INSERT INTO draft_signatures (draft_id, version, party, signed_on, file_name,
                     file, file_sha256, similarity, ocr, uploaded_at, uploaded_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id,
                    f.version,
                    party,
                    signed_iso,
                    name,
                    bytes,
                    file_sha,
                    similarity,
                    ocr,
                    now,
                    actor.user
                ],
            )?;
            tx.audit(AuditRecord {
                action: "draft.signature",
                object_kind: "draft",
                object_id: id,
                class: DataClass::IMPORTANT,
                details: json!({
                    "version": f.version, "party": party, "signed_on": signed_iso,
                    "file": name, "sha256": file_sha, "similarity": (similarity * 1000.0).round() / 1000.0,
                    "ocr": ocr,
                }),
            })?;
            if let (Some(day), Some(pdf)) = (&executed, &conformed) {
                let conformed_sha = sha(pdf);
                tx.conn().execute(
                    "UPDATE draft_finals SET executed_on = ?3, conformed_pdf = ?4,
                         conformed_sha256 = ?5
                     WHERE draft_id = ?1 AND version = ?2",
                    params![id, f.version, day, pdf, conformed_sha],
                )?;
                tx.audit(AuditRecord {
                    action: "draft.executed",
                    object_kind: "draft",
                    object_id: id,
                    class: DataClass::IMPORTANT,
                    details: json!({
                        "version": f.version, "executed_on": day,
                        "conformed_sha256": conformed_sha, "final_pdf_sha256": f.pdf_sha256,
                    }),
                })?;
            }
            Ok::<_, AssistantError>(())
        })?;
        self.draft_get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_drop_separators_and_similarity_ignores_whitespace() {
        assert_eq!(
            figures("CNY 10,000,000.00 on 2026-03-05, at 2.853."),
            vec!["10000000.00", "2026", "03", "05", "2.853"]
        );
        assert!((bigram_similarity("a b c d", "abcd") - 1.0).abs() < 1e-9);
        assert!(bigram_similarity("abcdef", "uvwxyz") < 0.01);
    }
}
