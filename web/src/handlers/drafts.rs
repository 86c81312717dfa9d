//! Legal drafting over HTTP.
//!
//! - `POST /v1/drafts`: exactly one of `{"trade": {key terms} | {"key_terms", "cdm"}}`,
//!   `{"extraction_result": "<approval id>"}` (an approved extraction), `{"quote": "<approval
//!   id>"}` (an approved RFQ quote), `{"fpml": "<FpML XML>"}` or `{"cdm": {TradeState},
//!   "cdm_extension"?: {…}}` (CDM 6 legacy layout; see `assistant::draft_sources`), optionally `"template"`
//!   (a library id; else chosen by product type and `"language"`, `en` by default),
//!   `"wordings"` (`{"clause id": "preferred" | fallback number from 1}`) and `"other"` (terms
//!   the trade record lacks: `{"bespoke_feature": "…"}`, the facts of a passage the template
//!   leaves to the local model, written through a checked prompt chain and marked
//!   machine-written). Answers `201` with the draft (its text, the clause tree with each
//!   filled value's span, version 1); with `"stream": true`, server-sent events of the
//!   model's steps, then `draft`.
//! - `GET /v1/drafts`: the most recent drafts. `GET /v1/drafts/{id}`: one draft with its
//!   versions. `GET /v1/drafts/{id}/versions/{n}`: the text of version `n`.
//! - `PUT /v1/drafts/{id}`: `{"base_version", "text", "note"}` saves an edit as the next
//!   version; `409` with the line diff when `base_version` is not the current version.
//! - `POST /v1/drafts/{id}/proofread`: `{"version"?, "holidays"?}`: the proofreader's report on
//!   a version, against the draft's trade and template.
//! - `POST /v1/proofread`: `multipart/form-data` with one file part (text, PDF, DOCX) and
//!   optional fields `trade` (key-terms JSON), `template`, `language`, `holidays`
//!   (comma-separated dates): the report on an uploaded document.
//! - `POST /v1/drafts/{id}/markups`: `multipart/form-data` with one file (a counterparty's
//!   marked-up copy: text, PDF, DOCX with tracked changes): the changes clause by clause
//!   (redline, class, library fallback and position, the firm's response with reason, impact
//!   and talking points) and the issues list as Markdown; `ocr` says a page was scanned (lower
//!   confidence). The copy, the comparison and the list are kept (`id`: `mk_…`).
//! - `GET /v1/drafts/{id}/precedents`: earlier confirmations in the knowledge base (same
//!   counterparty first, or same product), per clause where their wording deviates from the
//!   template, with their text and the firm's position where it is a library fallback.
//! - `GET /v1/drafts/{id}/markups`: the mark-ups received. `GET
//!   /v1/drafts/{id}/markups/{mk}/issues/{pdf|docx|md}`: one's issues list with talking points as
//!   a document.
//! - `POST /v1/drafts/{id}/submit`: sends the current version for legal approval (refused, with
//!   the errors, when the proofreader finds any); the request is decided in the approval queue
//!   (`POST /v1/approvals/{apr}/approve|reject`, four-eyes by policy). An edit saved afterwards
//!   withdraws or reopens it.
//! - `POST /v1/drafts/{id}/finalise`: renders the approved version as its final PDF and DOCX
//!   (SHA-256 of each in the audit log); `GET /v1/drafts/{id}/final/{pdf|docx|conformed}`
//!   downloads them (`conformed`: the final dated on the last signature, once executed).
//! - `POST /v1/drafts/{id}/signatures`: `multipart/form-data` with fields `party` (`party_a` |
//!   `party_b`), optional `signed_on` (`YYYY-MM-DD`, today when absent) and one file (the
//!   signed copy: PDF, scan, DOCX); matched to the final by content, refused with the
//!   differences when it does not match. The last party's copy executes the document.

use crate::error::AppError;
use crate::extract::{ApiJson, Ctx, multipart_error, upload_file_name};
use crate::state::AppState;
use assistant::draft_free::FreeEvent;
use assistant::drafts::{DraftRecord, NewDraft, TradeSource};
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use drafting::{Language, Trade, Wording};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn bad(field: &str, reason: impl std::fmt::Display) -> AppError {
    AppError::BadRequest {
        code: "invalid_request",
        message: format!("{field}: {reason}"),
    }
}

fn language(v: Option<&str>) -> Result<Option<Language>, AppError> {
    match v {
        None | Some("") => Ok(None),
        Some("en") => Ok(Some(Language::En)),
        Some("zh") => Ok(Some(Language::Zh)),
        Some(other) => Err(bad("language", format!("`{other}` is not en or zh"))),
    }
}

/// A trade given as key terms or as `{"key_terms", "cdm"}`, checked leaf by leaf.
fn trade_of(v: Value) -> Result<Trade, AppError> {
    Trade::from_json(v).map_err(|e| bad("trade", e))
}

/// `POST /v1/drafts` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// The trade's key terms, or `{"key_terms", "cdm"}`.
    #[serde(default)]
    pub trade: Option<Value>,
    /// Or an approved extraction's approval id.
    #[serde(default)]
    pub extraction_result: Option<String>,
    /// Or an approved quote's approval id.
    #[serde(default)]
    pub quote: Option<String>,
    /// Or an FpML message (the XML as a string).
    #[serde(default)]
    pub fpml: Option<String>,
    /// Or a CDM TradeState (6.x legacy layout).
    #[serde(default)]
    pub cdm: Option<Value>,
    /// With `cdm`: Deskmate's extension object beside it.
    #[serde(default)]
    pub cdm_extension: Option<Value>,
    /// A library template id.
    #[serde(default)]
    pub template: Option<String>,
    /// `en` (default) or `zh`.
    #[serde(default)]
    pub language: Option<String>,
    /// Clause id → `preferred` or a fallback number (1 = the first fallback).
    #[serde(default)]
    pub wordings: BTreeMap<String, Value>,
    /// Terms the trade record lacks, added under `other` (`bespoke_feature`: the facts of a
    /// passage the model writes).
    #[serde(default)]
    pub other: BTreeMap<String, String>,
    /// Stream the model's steps as server-sent events (`step`, `delta`, `checked`, `done`,
    /// then `draft` with the draft, or `error`).
    #[serde(default)]
    pub stream: bool,
}

/// Runs `create` (a draft made with the prompt chain's progress sent to it) and answers with
/// server-sent events: each [`FreeEvent`] under its own name, then `draft` (the draft record,
/// or with `url` the page to open) or `error` (`{code, message}`). An error before any event
/// is a plain HTTP error.
pub(crate) async fn stream_draft(
    s: AppState,
    url: bool,
    create: impl FnOnce(
        &assistant::Assistant,
        &mut dyn FnMut(FreeEvent),
    ) -> Result<DraftRecord, assistant::AssistantError>
    + Send
    + 'static,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    use axum::response::sse::{Event, KeepAlive, Sse};
    enum Ev {
        Free(FreeEvent),
        Done(Box<Result<DraftRecord, AppError>>),
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Ev>();
    tokio::spawn(async move {
        let t2 = tx.clone();
        let r = s
            .blocking(move |a| {
                create(a, &mut |e| {
                    let _ = t2.send(Ev::Free(e));
                })
            })
            .await
            .map_err(AppError::from);
        let _ = tx.send(Ev::Done(Box::new(r)));
    });
    let first = match rx.recv().await {
        Some(Ev::Done(r)) => match *r {
            Err(e) => return Err(e),
            ok => Ev::Done(Box::new(ok)),
        },
        Some(ev) => ev,
        None => return Err(AppError::Internal("the drafting task stopped".into())),
    };
    let events = futures::stream::unfold(
        (Some(first), rx, false),
        move |(first, mut rx, done)| async move {
            if done {
                return None;
            }
            let ev = match first {
                Some(ev) => ev,
                None => rx.recv().await?,
            };
            let (event, done) = match ev {
                Ev::Free(e) => {
                    let name = serde_json::to_value(&e)
                        .ok()
                        .and_then(|v| v["event"].as_str().map(str::to_string))
                        .unwrap_or_else(|| "step".into());
                    (
                        Event::default()
                            .event(name)
                            .json_data(&e)
                            .unwrap_or_else(|_| Event::default().event("error")),
                        false,
                    )
                }
                Ev::Done(r) => match *r {
                    Ok(d) => {
                        let body = if url {
                            json!({"id": d.id, "url": format!("/drafting/{}", d.id)})
                        } else {
                            serde_json::to_value(&d).unwrap_or(Value::Null)
                        };
                        (Event::default().event("draft").data(body.to_string()), true)
                    }
                    Err(e) => {
                        let (_, code, message) = e.parts();
                        (
                            Event::default()
                                .event("error")
                                .data(json!({"code": code, "message": message}).to_string()),
                            true,
                        )
                    }
                },
            };
            Some((Ok::<_, std::convert::Infallible>(event), (None, rx, done)))
        },
    );
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response())
}

/// `POST /v1/drafts`.
pub async fn create(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    if body.cdm_extension.is_some() && body.cdm.is_none() {
        return Err(bad(
            "cdm_extension",
            "goes with `cdm` (the TradeState it extends)",
        ));
    }
    let given = [
        body.trade.is_some(),
        body.extraction_result.is_some(),
        body.quote.is_some(),
        body.fpml.is_some(),
        body.cdm.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(bad(
            "trade",
            "give exactly one of `trade` (key terms), `extraction_result` (an approved extraction's id), `quote` (an approved quote's id), `fpml` (an FpML message) or `cdm` (a CDM TradeState)",
        ));
    }
    let trade = if let Some(t) = body.trade {
        TradeSource::Given(trade_of(t)?)
    } else if let Some(id) = body.extraction_result {
        TradeSource::Extraction(id)
    } else if let Some(id) = body.quote {
        TradeSource::Quote(id)
    } else if let Some(xml) = body.fpml {
        TradeSource::Fpml(xml)
    } else {
        TradeSource::Cdm {
            state: body.cdm.unwrap_or_default(),
            extension: body.cdm_extension,
        }
    };
    let mut wordings = BTreeMap::new();
    for (clause, w) in body.wordings {
        let w = if w.as_str() == Some("preferred") {
            Wording::Preferred
        } else if let Some(n) = w.as_u64().filter(|n| *n >= 1) {
            Wording::Fallback(n as usize - 1)
        } else {
            return Err(bad(
                "wordings",
                format!(
                    "clause `{clause}`: {w} is neither \"preferred\" nor a fallback number from 1"
                ),
            ));
        };
        wordings.insert(clause, w);
    }
    let new = NewDraft {
        trade,
        template: body.template,
        language: language(body.language.as_deref())?.unwrap_or(Language::En),
        wordings,
        other: body.other,
    };
    if body.stream {
        return stream_draft(s, false, move |a, on| {
            a.draft_create_streaming(&ctx.actor, new, on)
        })
        .await;
    }
    let d = s.blocking(move |a| a.draft_create(&ctx.actor, new)).await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

/// `GET /v1/drafts`.
pub async fn list(State(s): State<AppState>) -> Result<Json<Value>, AppError> {
    let drafts = s.blocking(move |a| a.draft_list(200)).await?;
    Ok(Json(json!({ "drafts": drafts })))
}

/// `GET /v1/drafts/{id}`.
pub async fn get(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DraftRecord>, AppError> {
    Ok(Json(s.blocking(move |a| a.draft_get(&id)).await?))
}

/// `GET /v1/drafts/{id}/versions/{n}`.
pub async fn version(
    State(s): State<AppState>,
    Path((id, n)): Path<(String, u32)>,
) -> Result<Json<Value>, AppError> {
    let text = s.blocking(move |a| a.draft_version(&id, n)).await?;
    Ok(Json(json!({ "version": n, "text": text })))
}

/// `PUT /v1/drafts/{id}` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveBody {
    /// The version the edit was made on.
    pub base_version: u32,
    /// The whole new text.
    pub text: String,
    /// What the edit changes (required).
    pub note: String,
}

/// `PUT /v1/drafts/{id}`.
pub async fn save(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SaveBody>,
) -> Result<Json<DraftRecord>, AppError> {
    let d = s
        .blocking(move |a| a.draft_save(&ctx.actor, &id, body.base_version, &body.text, &body.note))
        .await?;
    Ok(Json(d))
}

/// `POST /v1/drafts/{id}/proofread` body.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofreadBody {
    /// The version (the current one when absent).
    #[serde(default)]
    pub version: Option<u32>,
    /// Closures besides weekends (`YYYY-MM-DD`).
    #[serde(default)]
    pub holidays: Vec<String>,
}

fn check_holidays(h: &[String]) -> Result<(), AppError> {
    for d in h {
        if kernels::dates::Date::parse(d).is_none() {
            return Err(bad(
                "holidays",
                format!("`{d}` is not a date as YYYY-MM-DD"),
            ));
        }
    }
    Ok(())
}

/// `POST /v1/drafts/{id}/proofread`.
pub async fn proofread(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProofreadBody>,
) -> Result<Json<drafting::proofread::Report>, AppError> {
    check_holidays(&body.holidays)?;
    let r = s
        .blocking(move |a| a.draft_proofread(&id, body.version, &body.holidays))
        .await?;
    Ok(Json(r))
}

/// `POST /v1/drafts/{id}/markups`: a counterparty's marked-up copy (multipart, one file)
/// compared with the draft's current version.
pub async fn markup(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, AppError> {
    let mut multipart = multipart.map_err(|e| {
        AppError::UnsupportedMediaType(format!(
            "expected a multipart/form-data body with one file part ({})",
            e.body_text()
        ))
    })?;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e.status(), e.body_text())),
        };
        let Some(name) = field.file_name().map(upload_file_name).transpose()? else {
            return Err(bad(
                field.name().unwrap_or("field"),
                "unknown field (send the mark-up as one file part)",
            ));
        };
        let bytes = field
            .bytes()
            .await
            .map_err(|e| multipart_error(e.status(), e.body_text()))?;
        if file.replace((name, bytes.to_vec())).is_some() {
            return Err(bad("file", "send one mark-up at a time"));
        }
    }
    let (name, bytes) = file.ok_or_else(|| bad("file", "the upload holds no file part"))?;
    let m = s
        .blocking(move |a| a.draft_markup(&ctx.actor, &id, &name, &bytes))
        .await?;
    Ok(Json(json!({
        "id": m.id,
        "version": m.version,
        "changes": m.negotiation.changes,
        "clauses_matched": m.negotiation.clauses_matched,
        "clauses_ours": m.negotiation.clauses_ours,
        "issues_list": m.issues_list,
        "ocr": m.ocr,
    })))
}

/// `GET /v1/drafts/{id}/precedents`: earlier confirmations in the knowledge base for the
/// same counterparty or product, per clause where their wording deviates from the template.
pub async fn precedents(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<assistant::draft_precedents::Precedents>, AppError> {
    let p = s
        .blocking(move |a| {
            let k = a.knowledge()?;
            a.draft_precedents(&k, &ctx.actor, &id)
        })
        .await?;
    Ok(Json(p))
}

/// `GET /v1/drafts/{id}/markups`: the mark-ups received, newest first.
pub async fn markups(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let list = s.blocking(move |a| a.draft_markups(&id)).await?;
    Ok(Json(json!({ "markups": list })))
}

/// `GET /v1/drafts/{id}/markups/{markup}/issues/{format}`: a mark-up's issues list as a
/// document (`pdf`, `docx`) or Markdown (`md`).
pub async fn markup_issues(
    State(s): State<AppState>,
    Path((id, markup, format)): Path<(String, String, String)>,
) -> Result<axum::response::Response, AppError> {
    let (bytes, name, mime) = s
        .blocking(move |a| a.draft_markup_issues(&id, &markup, &format))
        .await?;
    Ok(download(bytes, &name, mime))
}

/// One uploaded file with the text fields beside it (each named in `allowed`).
pub(crate) async fn upload(
    multipart: Result<Multipart, MultipartRejection>,
    allowed: &[&str],
) -> Result<((String, Vec<u8>), BTreeMap<String, String>), AppError> {
    let mut multipart = multipart.map_err(|e| {
        AppError::UnsupportedMediaType(format!(
            "expected a multipart/form-data body with one file part ({})",
            e.body_text()
        ))
    })?;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e.status(), e.body_text())),
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(upload_file_name).transpose()?;
        let bytes = field
            .bytes()
            .await
            .map_err(|e| multipart_error(e.status(), e.body_text()))?;
        match file_name {
            Some(f) => {
                if file.is_some() {
                    return Err(bad("file", "send one document at a time"));
                }
                file = Some((f, bytes.to_vec()));
            }
            None => {
                if !allowed.contains(&name.as_str()) {
                    return Err(bad(
                        &name,
                        format!(
                            "unknown field (expected {} and one file)",
                            allowed.join(", ")
                        ),
                    ));
                }
                let v =
                    String::from_utf8(bytes.to_vec()).map_err(|_| bad(&name, "not UTF-8 text"))?;
                fields.insert(name, v);
            }
        }
    }
    let file = file.ok_or_else(|| bad("file", "the upload holds no file part"))?;
    Ok((file, fields))
}

/// `POST /v1/proofread`.
pub async fn proofread_upload(
    State(s): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, AppError> {
    let ((name, bytes), fields) =
        upload(multipart, &["trade", "template", "language", "holidays"]).await?;
    let trade = match fields.get("trade").filter(|t| !t.trim().is_empty()) {
        Some(t) => Some(trade_of(
            serde_json::from_str(t).map_err(|e| bad("trade", format!("not JSON: {e}")))?,
        )?),
        None => None,
    };
    let lang = language(fields.get("language").map(String::as_str))?;
    let template = fields
        .get("template")
        .filter(|t| !t.trim().is_empty())
        .cloned();
    let holidays: Vec<String> = fields
        .get("holidays")
        .map(|h| {
            h.split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    check_holidays(&holidays)?;
    let (report, language, template) = s
        .blocking(move |a| {
            a.proofread_upload(
                &name,
                &bytes,
                trade.as_ref(),
                template.as_deref(),
                lang,
                &holidays,
            )
        })
        .await?;
    Ok(Json(json!({
        "language": language,
        "template": template,
        "report": report,
    })))
}

/// `POST /v1/drafts/{id}/submit`.
pub async fn submit(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<DraftRecord>, AppError> {
    Ok(Json(
        s.blocking(move |a| a.draft_submit(&ctx.actor, &id)).await?,
    ))
}

/// `POST /v1/drafts/{id}/finalise`.
pub async fn finalise(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<DraftRecord>, AppError> {
    Ok(Json(
        s.blocking(move |a| a.draft_finalise(&ctx.actor, &id))
            .await?,
    ))
}

/// A stored file as a download.
pub(crate) fn download(bytes: Vec<u8>, name: &str, mime: &'static str) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `GET /v1/drafts/{id}/final/{what}`.
pub async fn final_file(
    State(s): State<AppState>,
    Path((id, what)): Path<(String, String)>,
) -> Result<axum::response::Response, AppError> {
    let (bytes, name, mime) = s.blocking(move |a| a.draft_final_file(&id, &what)).await?;
    Ok(download(bytes, &name, mime))
}

/// `POST /v1/drafts/{id}/signatures`.
pub async fn sign(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<DraftRecord>, AppError> {
    let ((name, bytes), fields) = upload(multipart, &["party", "signed_on"]).await?;
    let party = fields
        .get("party")
        .cloned()
        .ok_or_else(|| bad("party", "name the party who signed (party_a or party_b)"))?;
    let signed_on = fields.get("signed_on").cloned();
    let d = s
        .blocking(move |a| {
            a.draft_sign(
                &ctx.actor,
                &id,
                party.trim(),
                signed_on.as_deref().map(str::trim),
                &name,
                &bytes,
            )
        })
        .await?;
    Ok(Json(d))
}
