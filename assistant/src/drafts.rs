//! Legal drafting over the store: drafts of confirmations, their versions and the proofreader.
//!
//! - [`Assistant::draft_create`] drafts a confirmation from a trade (key terms and optionally
//!   its CDM TradeState given directly, an approved extraction, an approved RFQ quote, an FpML
//!   message or a CDM TradeState: [`crate::draft_sources`]) on a template of
//!   the clause library (chosen by product type and language unless named), every value
//!   written deterministically by `drafting`; version 1 keeps the clause tree with the span of
//!   each filled value. Audited (`draft.create`).
//! - [`Assistant::draft_save`] saves an edit as a new version, with optimistic concurrency: the
//!   caller names the version it edited; when another save came first the edit is refused with
//!   the line diff between what is stored and what was sent, and nothing is lost (the refused
//!   text is in the refusal). Audited (`draft.edit`, with the diff's size and the note).
//! - [`Assistant::draft_version`] re-creates any saved version; versions are never changed (a
//!   trigger refuses an update).
//! - [`Assistant::draft_proofread`] proofreads a version against the draft's trade and
//!   template; [`Assistant::proofread_upload`] proofreads an uploaded agreement or
//!   confirmation (text, PDF with OCR where needed, DOCX) against an optional trade.
//!
//! Legal approval, the final documents and the signed copies: [`crate::draft_execution`].
//!
//! The clause library is in the store ([`crate::templates`]); a draft keeps the template version
//! it was made on, and is proofread and compared against that version.
//!
//! Precedents from the knowledge base: [`crate::draft_precedents`]. The passages a template
//! leaves to the local model (`::: free`), written through a checked prompt chain and marked
//! machine-written: [`crate::draft_free`].

use std::collections::BTreeMap;

use drafting::proofread::{Report, Request, proofread};
use drafting::{Language, Template, Trade, Wording, library};
use policies::DataClass;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Assistant;
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord, sql, time};

/// Where a draft's trade comes from.
#[derive(Debug, Clone)]
pub enum TradeSource {
    /// Key terms (and a CDM TradeState) given by the caller.
    Given(Trade),
    /// An approved extraction, by its approval id.
    Extraction(String),
    /// An approved quote of the RFQ desk, by its approval id ([`crate::draft_sources`]).
    Quote(String),
    /// An FpML message.
    Fpml(String),
    /// A CDM TradeState (6.x legacy layout), with Deskmate's extension object when there is one.
    Cdm {
        /// The TradeState.
        state: Value,
        /// The extension object.
        extension: Option<Value>,
    },
}

/// What a new draft is made from.
#[derive(Debug, Clone)]
pub struct NewDraft {
    /// The trade.
    pub trade: TradeSource,
    /// The template id; chosen by the trade's product type and `language` when `None`.
    pub template: Option<String>,
    /// The language of the template chosen by product type.
    pub language: Language,
    /// A fallback wording per clause id (the preferred wording elsewhere).
    pub wordings: BTreeMap<String, Wording>,
    /// Terms the trade record lacks, added under `other` (`bespoke_feature`: the facts of a
    /// passage the model writes); snake_case names, up to 2,000 characters each.
    pub other: BTreeMap<String, String>,
}

/// A counterparty's marked-up copy as received and compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Markup {
    /// `mk_…`.
    pub id: String,
    /// The draft.
    pub draft_id: String,
    /// The version it was compared with.
    pub version: u32,
    /// The file's name.
    pub file_name: String,
    /// Whether a page was scanned (read by OCR: lower confidence).
    pub ocr: bool,
    /// The changes clause by clause.
    pub negotiation: drafting::negotiate::Negotiation,
    /// The issues list with talking points (Markdown).
    pub issues_list: String,
    /// When it was received.
    pub received_at: String,
    /// Who uploaded it.
    pub received_by: String,
}

/// One saved version of a draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftVersion {
    /// Its number (1 is the drafted one).
    pub version: u32,
    /// SHA-256 of its text.
    pub sha256: String,
    /// When it was saved.
    pub saved_at: String,
    /// Who saved it.
    pub saved_by: String,
    /// Why (the editor's note; `drafted from …` for version 1).
    pub note: String,
}

/// A draft as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftRecord {
    /// `dr_…`.
    pub id: String,
    /// The template id.
    pub template: String,
    /// The template's version.
    pub template_version: u32,
    /// The language.
    pub language: Language,
    /// The document title.
    pub title: String,
    /// The trade it confirms.
    pub trade: Trade,
    /// Where the trade came from (`given`, `extraction:<approval id>`, `quote:<approval id>`,
    /// `fpml`, `cdm`).
    pub source: String,
    /// The current version.
    pub version: u32,
    /// The current version's text.
    pub text: String,
    /// The clause tree with the span of every filled value, while the text is still the
    /// drafted one (version 1); `null` once edited by hand.
    pub structure: Value,
    /// Every version, oldest first.
    pub versions: Vec<DraftVersion>,
    /// Its legal approval, final documents and signed copies.
    pub lifecycle: crate::draft_execution::Lifecycle,
    /// Created when and by whom.
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
}

/// An invalid request field, named.
pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> AssistantError {
    AssistantError::InvalidField {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The library's template `id` (its current version), or the one for `product` in `language`.
fn template_for(
    lib: Vec<Template>,
    id: Option<&str>,
    trade: &Trade,
    language: Language,
) -> Result<Template> {
    let names = || {
        lib.iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match id {
        Some(id) => lib.iter().find(|t| t.id == id).cloned().ok_or_else(|| {
            invalid(
                "template",
                format!("no template `{id}` (the library has {})", names()),
            )
        }),
        None => {
            let product = trade
                .leaf("product_type")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    invalid(
                        "template",
                        "the trade states no product_type: name a template",
                    )
                })?;
            library::choose(&lib, product, language)
                .cloned()
                .ok_or_else(|| {
                    invalid(
                        "template",
                        format!(
                            "no {} template for {product} (the library has {})",
                            language.as_str(),
                            names()
                        ),
                    )
                })
        }
    }
}

/// SHA-256 in hex.
pub(crate) fn sha(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}

impl Assistant {
    /// Drafts a confirmation and stores it as version 1.
    pub fn draft_create(&self, actor: &Actor, new: NewDraft) -> Result<DraftRecord> {
        self.draft_create_streaming(actor, new, &mut |_| {})
    }

    /// Drafts a confirmation and stores it as version 1; the passages the template leaves to
    /// the model are written through the prompt chain ([`crate::draft_free`]), its progress
    /// streamed to `on_event`.
    pub fn draft_create_streaming(
        &self,
        actor: &Actor,
        new: NewDraft,
        on_event: &mut dyn FnMut(crate::draft_free::FreeEvent),
    ) -> Result<DraftRecord> {
        for (k, v) in &new.other {
            let name_ok = !k.is_empty()
                && k.len() <= 40
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !name_ok {
                return Err(invalid(
                    "other",
                    format!("`{k}`: a name is 1 to 40 lowercase letters, digits or _"),
                ));
            }
            if v.trim().is_empty()
                || v.chars().count() > 2000
                || v.chars().any(|c| c.is_control() && c != '\n')
            {
                return Err(invalid(
                    "other",
                    format!("`{k}`: 1 to 2,000 characters, no control characters"),
                ));
            }
        }
        let (mut trade, source) = match new.trade {
            TradeSource::Given(t) => (t, "given".to_string()),
            TradeSource::Extraction(id) => {
                let e = self.extraction_export(actor, &id)?;
                let t = Trade::checked(e.key_terms, e.cdm)
                    .map_err(|r| invalid("extraction_result", r))?;
                (t, format!("extraction:{id}"))
            }
            TradeSource::Quote(id) => (
                self.trade_from_quote(actor, &id, new.language)?,
                format!("quote:{id}"),
            ),
            TradeSource::Fpml(xml) => (self.trade_from_fpml(&xml)?, "fpml".to_string()),
            TradeSource::Cdm { state, extension } => (
                self.trade_from_cdm(state, extension.as_ref())?,
                "cdm".to_string(),
            ),
        };
        if !new.other.is_empty() {
            if !trade.key_terms["other"].is_object() {
                trade.key_terms["other"] = json!({});
            }
            for (k, v) in &new.other {
                trade.key_terms["other"][k] = json!(v.trim());
            }
        }
        let template = template_for(
            self.library()?,
            new.template.as_deref(),
            &trade,
            new.language,
        )?;
        let mut draft =
            drafting::draft_with(&template, &trade, &new.wordings).map_err(|e| match e {
                drafting::DraftError::Wording { .. } => invalid("wordings", e.to_string()),
                _ => invalid("trade", e.to_string()),
            })?;
        let id = format!("dr_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        // The passages the template leaves to the model.
        let mut free = Vec::new();
        for slot in draft.free_slots(&template, &trade) {
            let o = self.write_free_passage(actor, &id, template.language, &trade, &slot, on_event);
            draft.fill_free(
                &o.clause,
                &o.passage,
                &o.text,
                o.model.as_deref().unwrap_or(""),
            );
            free.push(o);
        }
        let text = draft.to_text();
        let now = time::fmt(time::now());
        let note = format!(
            "drafted from template {} v{}",
            template.id, template.version
        );
        let structure =
            serde_json::to_string(&draft).map_err(|e| AssistantError::Invalid(e.to_string()))?;
        let trade_json =
            serde_json::to_string(&trade).map_err(|e| AssistantError::Invalid(e.to_string()))?;
        self.store.write(actor, |tx| {
            tx.conn().execute(
                "INSERT INTO drafts (id, template, template_version, language, title, trade, source,
                                     version, created_at, created_by, updated_at, updated_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?8, ?9)",
                params![
                    id,
                    template.id,
                    template.version,
                    template.language.as_str(),
                    draft.title,
                    trade_json,
                    source,
                    now,
                    actor.user,
                ],
            )?;
            tx.conn().execute(
                "INSERT INTO draft_versions (draft_id, version, text, structure, sha256, saved_at,
                                             saved_by, note)
                 VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, text, structure, sha(&text), now, actor.user, note],
            )?;
            tx.audit(AuditRecord {
                action: "draft.create",
                object_kind: "draft",
                object_id: &id,
                class: DataClass::IMPORTANT,
                details: json!({
                    "template": template.id, "template_version": template.version,
                    "language": template.language.as_str(), "source": source,
                    "sha256": sha(&text),
                    "wordings": new.wordings.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                    "free_text": free.iter().map(|o| json!({
                        "clause": o.clause, "passage": o.passage, "model": o.model,
                        "written": o.model.is_some(), "reason": o.reason, "steps": o.steps,
                    })).collect::<Vec<_>>(),
                }),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        self.draft_get(&id)
    }

    /// A draft with its current text and its versions.
    pub fn draft_get(&self, id: &str) -> Result<DraftRecord> {
        self.store.read(|c| {
            let head = c
                .query_row(
                    "SELECT template, template_version, language, title, trade, source, version,
                            created_at, created_by
                     FROM drafts WHERE id = ?1",
                    [id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, u32>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            sql::json(r, 4, "drafts.trade")?,
                            r.get::<_, String>(5)?,
                            r.get::<_, u32>(6)?,
                            r.get::<_, String>(7)?,
                            r.get::<_, String>(8)?,
                        ))
                    },
                )
                .optional()?
                .ok_or_else(|| AssistantError::NotFound {
                    kind: "draft",
                    id: id.into(),
                })?;
            let (
                template,
                template_version,
                language,
                title,
                trade,
                source,
                version,
                created_at,
                created_by,
            ) = head;
            let mut stmt = c.prepare(
                "SELECT version, sha256, saved_at, saved_by, note FROM draft_versions
                 WHERE draft_id = ?1 ORDER BY version",
            )?;
            let versions = stmt
                .query_map([id], |r| {
                    Ok(DraftVersion {
                        version: r.get(0)?,
                        sha256: r.get(1)?,
                        saved_at: r.get(2)?,
                        saved_by: r.get(3)?,
                        note: r.get(4)?,
                    })
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let (text, structure): (String, Option<String>) = c.query_row(
                "SELECT text, structure FROM draft_versions WHERE draft_id = ?1 AND version = ?2",
                params![id, version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let trade: Trade = serde_json::from_value(trade)
                .map_err(|e| AssistantError::Invalid(format!("stored trade of {id}: {e}")))?;
            let lifecycle = self.draft_lifecycle(c, id, version)?;
            Ok(DraftRecord {
                id: id.into(),
                template,
                template_version,
                language: if language == "zh" {
                    Language::Zh
                } else {
                    Language::En
                },
                title,
                trade,
                source,
                version,
                text,
                structure: structure
                    .and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or(Value::Null),
                versions,
                lifecycle,
                created_at,
                created_by,
            })
        })
    }

    /// The most recent drafts, newest first: (id, title, template, version, updated_at,
    /// updated_by).
    pub fn draft_list(&self, limit: usize) -> Result<Vec<Value>> {
        self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, title, template, language, version, updated_at, updated_by, source
                 FROM drafts ORDER BY updated_at DESC, id LIMIT ?1",
            )?;
            let rows = stmt
                .query_map([limit as i64], |r| {
                    Ok(json!({
                        "id": r.get::<_, String>(0)?, "title": r.get::<_, String>(1)?,
                        "template": r.get::<_, String>(2)?, "language": r.get::<_, String>(3)?,
                        "version": r.get::<_, u32>(4)?, "updated_at": r.get::<_, String>(5)?,
                        "updated_by": r.get::<_, String>(6)?, "source": r.get::<_, String>(7)?,
                    }))
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// The text of version `version` of a draft.
    pub fn draft_version(&self, id: &str, version: u32) -> Result<String> {
        self.store.read(|c| {
            c.query_row(
                "SELECT text FROM draft_versions WHERE draft_id = ?1 AND version = ?2",
                params![id, version],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .ok_or_else(|| AssistantError::NotFound {
                kind: "draft version",
                id: format!("{id} v{version}"),
            })
        })
    }

    /// Saves an edit of version `base` as the next version. Refused, with the line diff
    /// between the stored current text and the text sent, when `base` is not the current
    /// version (someone else saved first).
    pub fn draft_save(
        &self,
        actor: &Actor,
        id: &str,
        base: u32,
        text: &str,
        note: &str,
    ) -> Result<DraftRecord> {
        if text.trim().is_empty() {
            return Err(invalid("text", "the draft's text is empty"));
        }
        if text.len() > 2 * 1024 * 1024 {
            return Err(invalid(
                "text",
                format!("{} bytes; a draft is at most 2 MiB", text.len()),
            ));
        }
        let note = note.trim();
        if note.is_empty() {
            return Err(invalid(
                "note",
                "say what the edit changes (kept in the version history and the audit log)",
            ));
        }
        let now = time::fmt(time::now());
        self.store.write(actor, |tx| {
            let current: Option<u32> = tx
                .conn()
                .query_row("SELECT version FROM drafts WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            let current = current.ok_or_else(|| AssistantError::NotFound {
                kind: "draft",
                id: id.into(),
            })?;
            let stored: String = tx.conn().query_row(
                "SELECT text FROM draft_versions WHERE draft_id = ?1 AND version = ?2",
                params![id, current],
                |r| r.get(0),
            )?;
            if base != current {
                let (by, at): (String, String) = tx.conn().query_row(
                    "SELECT saved_by, saved_at FROM draft_versions WHERE draft_id = ?1 AND version = ?2",
                    params![id, current],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                return Err(AssistantError::Conflict(format!(
                    "draft {id} is at version {current} (saved by {by} at {at}), not {base}: your edit was not saved. Reload, merge and save again; the difference between version {current} (-) and your text (+):\n{}",
                    drafting::diff::changes(&stored, text)
                )));
            }
            if stored == text {
                return Err(AssistantError::Conflict(format!(
                    "the text is the same as version {current}: nothing to save"
                )));
            }
            let next = current + 1;
            let reopened = self.draft_reopen(tx, id, current, next)?;
            let changed = drafting::diff::lines(&stored, text)
                .iter()
                .filter(|l| !matches!(l, drafting::diff::Line::Same(_)))
                .count();
            tx.conn().execute(
                "INSERT INTO draft_versions (draft_id, version, text, structure, sha256, saved_at,
                                             saved_by, note)
                 VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7)",
                params![id, next, text, sha(text), now, actor.user, note],
            )?;
            tx.conn().execute(
                "UPDATE drafts SET version = ?2, updated_at = ?3, updated_by = ?4 WHERE id = ?1",
                params![id, next, now, actor.user],
            )?;
            let reworded = mark_reworded_passages(tx, id, text)?;
            tx.audit(AuditRecord {
                action: "draft.edit",
                object_kind: "draft",
                object_id: id,
                class: DataClass::IMPORTANT,
                details: json!({
                    "version": next, "base": base, "sha256": sha(text),
                    "lines_changed": changed, "note": note, "reopens": reopened,
                    "machine_passages_changed": reworded,
                }),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        self.draft_get(id)
    }

    /// Proofreads a version of a draft (the current one when `None`) against its trade and
    /// template.
    pub fn draft_proofread(
        &self,
        id: &str,
        version: Option<u32>,
        holidays: &[String],
    ) -> Result<Report> {
        let d = self.draft_get(id)?;
        let text = match version {
            Some(v) => self.draft_version(id, v)?,
            None => d.text.clone(),
        };
        let template = self.template_at(&d.template, d.template_version)?;
        Ok(proofread(&Request {
            text: &text,
            language: d.language,
            template: Some(&template),
            trade: Some(&d.trade),
            holidays,
        }))
    }

    /// Compares a counterparty's marked-up copy (text, PDF with OCR where needed, DOCX with
    /// tracked changes) with the draft's current version, clause by clause, and keeps it: the
    /// file as received, the comparison and the issues list (`draft_markups`, never changed).
    /// Audited (`draft.markup`).
    pub fn draft_markup(
        &self,
        actor: &Actor,
        id: &str,
        name: &str,
        bytes: &[u8],
    ) -> Result<Markup> {
        let d = self.draft_get(id)?;
        let doc = connectors::document::extract_text(
            connectors::document::Input::Bytes { bytes, name },
            &self.config.extract.settings().limits,
        )?;
        let ocr = doc
            .pages
            .iter()
            .any(|p| p.method == connectors::document::PageMethod::Ocr);
        let theirs = doc.text();
        if theirs.trim().is_empty() {
            return Err(invalid("file", format!("{name}: no text could be read")));
        }
        let template = self.template_at(&d.template, d.template_version)?;
        let n = drafting::negotiate::compare(&d.text, &theirs, d.language, &template, &d.trade)
            .map_err(|e| invalid("file", format!("{name}: {e}")))?;
        let list = n.issues_list(&d.title, d.language);
        let count =
            |k: drafting::negotiate::ChangeKind| n.changes.iter().filter(|c| c.kind == k).count();
        let file_sha = hex::encode(Sha256::digest(bytes));
        let mid = format!("mk_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let now = time::fmt(time::now());
        let result =
            serde_json::to_string(&n).map_err(|e| AssistantError::Invalid(e.to_string()))?;
        self.store.write(actor, |tx| {
            tx.conn().execute(
                "INSERT INTO draft_markups (id, draft_id, version, file_name, file, file_sha256,
                                            ocr, result, issues, received_at, received_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    mid, id, d.version, name, bytes, file_sha, ocr, result, list, now, actor.user
                ],
            )?;
            tx.audit(AuditRecord {
                action: "draft.markup",
                object_kind: "draft",
                object_id: id,
                class: DataClass::IMPORTANT,
                details: json!({
                    "markup": mid, "file": name, "sha256": file_sha, "version": d.version,
                    "ocr": ocr,
                    "economic": count(drafting::negotiate::ChangeKind::Economic),
                    "substantive": count(drafting::negotiate::ChangeKind::Substantive),
                    "cosmetic": count(drafting::negotiate::ChangeKind::Cosmetic),
                }),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        Ok(Markup {
            id: mid,
            draft_id: id.to_string(),
            version: d.version,
            file_name: name.to_string(),
            ocr,
            negotiation: n,
            issues_list: list,
            received_at: now,
            received_by: actor.user.clone(),
        })
    }

    /// The mark-ups received for a draft, newest first (without the comparison).
    pub fn draft_markups(&self, id: &str) -> Result<Vec<Value>> {
        self.store.read(|c| {
            let mut st = c.prepare(
                "SELECT id, version, file_name, file_sha256, ocr, received_at, received_by
                   FROM draft_markups WHERE draft_id = ?1 ORDER BY received_at DESC, id",
            )?;
            let rows = st
                .query_map(params![id], |r| {
                    Ok(json!({
                        "id": r.get::<_, String>(0)?, "version": r.get::<_, u32>(1)?,
                        "file_name": r.get::<_, String>(2)?, "sha256": r.get::<_, String>(3)?,
                        "ocr": r.get::<_, bool>(4)?, "received_at": r.get::<_, String>(5)?,
                        "received_by": r.get::<_, String>(6)?,
                    }))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// A received mark-up's issues list as `md`, `pdf` or `docx`: (bytes, file name, media
    /// type). The
    /// documents are rendered from the stored list, in the draft's language and typography.
    pub fn draft_markup_issues(
        &self,
        id: &str,
        markup: &str,
        format: &str,
    ) -> Result<(Vec<u8>, String, &'static str)> {
        let d = self.draft_get(id)?;
        let issues: String = self
            .store
            .read(|c| {
                c.query_row(
                    "SELECT issues FROM draft_markups WHERE id = ?1 AND draft_id = ?2",
                    params![markup, id],
                    |r| r.get(0),
                )
                .optional()
            })?
            .ok_or_else(|| AssistantError::NotFound {
                kind: "mark-up",
                id: markup.to_string(),
            })?;
        let file = format!("issues-{id}-{markup}");
        match format {
            "md" => Ok((
                issues.into_bytes(),
                format!("{file}.md"),
                "text/markdown; charset=utf-8",
            )),
            "pdf" | "docx" => {
                let fonts = drafting::render::Fonts::load(&self.config.drafting.fonts())
                    .map_err(|e| AssistantError::Invalid(e.to_string()))?;
                let r = drafting::render::render_memo(
                    &issues,
                    d.language,
                    &format!("{id} · {markup}"),
                    &fonts,
                )
                .map_err(|e| AssistantError::Invalid(e.to_string()))?;
                Ok(if format == "pdf" {
                    (r.pdf, format!("{file}.pdf"), "application/pdf")
                } else {
                    (
                        r.docx,
                        format!("{file}.docx"),
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    )
                })
            }
            other => Err(invalid(
                "format",
                format!("`{other}` is not md, pdf or docx"),
            )),
        }
    }

    /// Proofreads an uploaded agreement or confirmation: its text is read (OCR where a page
    /// has no text layer), then checked on its own, and against `trade` and its template
    /// (named, or chosen by the trade's product type) when given.
    pub fn proofread_upload(
        &self,
        name: &str,
        bytes: &[u8],
        trade: Option<&Trade>,
        template: Option<&str>,
        language: Option<Language>,
        holidays: &[String],
    ) -> Result<(Report, Language, Option<String>)> {
        let doc = connectors::document::extract_text(
            connectors::document::Input::Bytes { bytes, name },
            &self.config.extract.settings().limits,
        )?;
        let text = doc.text();
        if text.trim().is_empty() {
            return Err(invalid("file", format!("{name}: no text could be read")));
        }
        let language = language.unwrap_or(if cjk::is_mostly_chinese(&text) {
            Language::Zh
        } else {
            Language::En
        });
        let template = match (template, trade) {
            (None, None) => None,
            (t, Some(tr)) => Some(template_for(self.library()?, t, tr, language)?),
            (Some(t), None) => Some(template_for(
                self.library()?,
                Some(t),
                &Trade::default(),
                language,
            )?),
        };
        let report = proofread(&Request {
            text: &text,
            language,
            template: template.as_ref(),
            trade,
            holidays,
        });
        Ok((report, language, template.map(|t| t.id)))
    }
}

/// The passages the model wrote in `d`: (the template's passage id, the text), every clause
/// and sub-clause.
fn machine_passages(d: &drafting::Draft) -> Vec<(String, String)> {
    fn go(c: &drafting::DraftClause, out: &mut Vec<(String, String)>) {
        for m in &c.machine {
            if let Some(t) = c.text.get(m.start..m.end) {
                out.push((m.id.clone(), t.to_owned()));
            }
        }
        for child in &c.children {
            go(child, out);
        }
    }
    let mut out = Vec::new();
    for c in &d.clauses {
        go(c, &mut out);
    }
    out
}

/// Marks the calls of `drafting.free_text` whose passage in draft `id` the lawyer's new `text`
/// no longer holds as written (reworded or dropped: the monitoring's lawyer change rate), in the
/// edit's transaction. Returns the passage ids.
fn mark_reworded_passages(
    tx: &mut crate::store::WriteTx<'_>,
    id: &str,
    text: &str,
) -> Result<Vec<String>> {
    let first: Option<Option<String>> = tx
        .conn()
        .query_row(
            "SELECT structure FROM draft_versions WHERE draft_id = ?1 AND version = 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(Ok(draft)) = first
        .flatten()
        .map(|s| serde_json::from_str::<drafting::Draft>(&s))
    else {
        return Ok(Vec::new());
    };
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let now = words(text);
    let mut changed = Vec::new();
    for (passage, written) in machine_passages(&draft) {
        if !now.contains(&words(&written)) {
            crate::model_risk::mark_human_changed(tx, &format!("{id}/{passage}"))?;
            changed.push(passage);
        }
    }
    Ok(changed)
}
