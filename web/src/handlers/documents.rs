//! The knowledge base: upload, list and delete documents; ask questions with cited answers.
//!
//! `POST /v1/documents` takes `multipart/form-data` with one or more `file` parts and optional
//! `collection` (default `default`; letters, digits, `-`, `_`, `.`), `classification` (default
//! `general`), `replaces` (the id of the document one `file` replaces) and `declassify`
//! (`true` lets a replacement lower the classification; needs `documents.declassify`) fields,
//! and answers `202 {"job": Job}`. A file is kept under the last component of its name. See
//! `assistant::documents` for when an upload replaces a document; ingestion runs in the background; the job's result is
//! `{"documents": [DocumentRecord…], "errors": [{"file", "error"}…]}` (per-file errors do not
//! stop the batch). `POST /v1/search` takes `{"query", "k"?, "collections"?, "doc_ids"?,
//! "path_prefix"?}` and answers with the ranked chunks the caller may read
//! (`knowledge::report::SearchReport`, as `deskmate search --json`). `POST /v1/ask` takes
//! `{"question", "collections"?, "stream"?}` and answers with `knowledge::Answer` (text with
//! `[n]` markers, `citations` with chunk ids, paths and locations, `found`); with
//! `"stream": true`, as server-sent events: `delta` (text), then `answer` (the whole answer)
//! or `error` (`{"code", "message"}`).

use crate::error::AppError;
use crate::extract::{ApiJson, ApiQuery, Ctx, multipart_error, upload_file_name};
use crate::state::AppState;
use assistant::documents::NewDocument;
use assistant::jobs::Job;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use knowledge::Filters;
use policies::DataClass;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::time::Duration;

fn bad(message: String) -> AppError {
    AppError::BadRequest {
        code: "invalid_request",
        message,
    }
}

pub(crate) async fn field_text(
    field: axum::extract::multipart::Field<'_>,
) -> Result<String, AppError> {
    field
        .text()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))
}

/// A multipart `file` part: its safe file name and its bytes (the API's and the page's uploads).
pub(crate) async fn file_part(
    field: axum::extract::multipart::Field<'_>,
) -> Result<(String, Vec<u8>), AppError> {
    let file = field
        .file_name()
        .map(upload_file_name)
        .transpose()?
        .ok_or_else(|| bad("a `file` part needs a file name".into()))?;
    let bytes = field
        .bytes()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?;
    Ok((file, bytes.to_vec()))
}

/// `POST /v1/documents`.
pub async fn upload(
    State(s): State<AppState>,
    ctx: Ctx,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let mut form = form.map_err(|e| multipart_error(e.status(), e.body_text()))?;
    let mut collection = "default".to_string();
    let mut classification = DataClass::GENERAL;
    let mut replaces: Option<String> = None;
    let mut declassify = false;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => files.push(file_part(field).await?),
            "collection" => collection = field_text(field).await?,
            "classification" => {
                classification = field_text(field)
                    .await?
                    .parse()
                    .map_err(|e| bad(format!("classification: {e}")))?;
            }
            "replaces" => replaces = Some(field_text(field).await?.trim().to_string()),
            "declassify" => {
                declassify = match field_text(field).await?.trim() {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(bad(format!(
                            "declassify: {other:?} is not allowed; allowed values: true, false"
                        )));
                    }
                }
            }
            other => return Err(bad(format!("unknown multipart field `{other}`"))),
        }
    }
    if files.is_empty() {
        return Err(bad("no `file` part in the upload".into()));
    }
    if replaces.is_some() && files.len() > 1 {
        return Err(bad(
            "`replaces` names one document: send exactly one `file` with it".into(),
        ));
    }
    let job = start_ingest(
        &s,
        ctx.actor,
        files,
        collection,
        classification,
        replaces,
        declassify,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"job": job}))))
}

/// Checks an upload's collection, the caller's right to create data of `classification` and
/// that the knowledge base is available, records the ingest job, and ingests the files in the
/// background (the job's progress and result say how each went). Shared by the API and the
/// web application's upload form.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn start_ingest(
    s: &AppState,
    actor: assistant::store::Actor,
    files: Vec<(String, Vec<u8>)>,
    collection: String,
    classification: DataClass,
    replaces: Option<String>,
    declassify: bool,
) -> Result<Job, AppError> {
    knowledge::validate_collection(&collection).map_err(|e| bad(e.to_string()))?;
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let input = json!({
        "files": names,
        "collection": collection,
        "classification": classification.to_string(),
        "replaces": replaces,
        "declassify": declassify,
    });
    let worker = actor.clone();
    let job = s
        .blocking(move |a| -> Result<Job, assistant::AssistantError> {
            // Permission, clearance and availability are checked before any work is queued.
            let _ = a.knowledge()?;
            if let Some(role) = actor.role
                && !policies::Clearance::of(role).can_read(classification)
            {
                return Err(assistant::AssistantError::Forbidden(format!(
                    "role {role} may not create {classification} data"
                )));
            }
            a.create_job(
                &actor,
                assistant::jobs::JobKind::DocumentIngest,
                classification,
                input,
            )
        })
        .await?;
    let id = job.id.clone();
    let actor = worker;
    let work = s.clone();
    tokio::spawn(async move {
        work.blocking(move |a| {
            let _ = a.start_job(&id);
            let outcome = a.knowledge().map(|k| {
                let (mut docs, mut errors) = (Vec::new(), Vec::new());
                let n = files.len();
                for (i, (file, bytes)) in files.into_iter().enumerate() {
                    let r = a.ingest_document(
                        &k,
                        &actor,
                        NewDocument {
                            replaces: replaces.clone(),
                            declassify,
                            ..NewDocument::new(
                                file.clone(),
                                bytes,
                                collection.clone(),
                                classification,
                            )
                        },
                    );
                    match r {
                        Ok(d) => docs.push(d),
                        Err(e) => errors.push(json!({"file": file, "error": e.to_string()})),
                    }
                    let _ = a.job_progress(&id, (i + 1) as f64 / n as f64);
                }
                json!({"documents": docs, "errors": errors})
            });
            let _ = a.finish_job(&id, outcome.map_err(|e| e.to_string()));
        })
        .await;
    });
    Ok(job)
}

/// `GET /v1/documents` query.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ListQuery {
    /// Only this collection.
    pub collection: Option<String>,
}

/// `GET /v1/documents`.
pub async fn list(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let docs = s
        .blocking(move |a| a.list_documents(&ctx.actor, q.collection.as_deref()))
        .await?;
    Ok(Json(json!({"documents": docs})))
}

/// `DELETE /v1/documents/{id}`.
pub async fn delete(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.blocking(move |a| {
        let k = a.knowledge()?;
        a.delete_document(&k, &ctx.actor, &id)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/documents/{id}/chunks`: the document and its current version's chunks in order
/// (id, path, pages, text), as the caller may read them.
pub async fn chunks(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let (doc, chunks) = s
        .blocking(move |a| {
            let k = a.knowledge()?;
            a.document_chunks(&k, &ctx.actor, &id)
        })
        .await?;
    Ok(Json(json!({"document": doc, "chunks": chunks})))
}

/// `POST /v1/documents/{id}/chunks` body: one edit of one chunk of the version the editor saw.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviseBody {
    /// The document version the edit was made on (a newer one is a conflict, 409).
    pub version: u64,
    /// `{"action": "correct", "ordinal": 3, "text": "…"}` or
    /// `{"action": "split", "ordinal": 3, "before": "…"}`.
    #[schemars(with = "crate::openapi::ChunkEditSchema")]
    pub edit: knowledge::ChunkEdit,
    /// Why (kept in the audit log).
    pub reason: String,
}

/// `POST /v1/documents/{id}/chunks`: corrects or splits a chunk and re-indexes the document
/// alone; the document as it now is.
pub async fn revise(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReviseBody>,
) -> Result<Json<Value>, AppError> {
    let doc = s
        .blocking(move |a| {
            let k = a.knowledge()?;
            a.revise_document_chunk(&k, &ctx.actor, &id, body.version, &body.edit, &body.reason)
        })
        .await?;
    Ok(Json(json!({ "document": doc })))
}

/// `POST /v1/search` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// The question or keywords.
    pub query: String,
    /// How many hits (1 to 100; default 5).
    #[serde(default = "default_k")]
    #[schemars(range(min = 1, max = 100))]
    pub k: usize,
    /// Only these collections.
    #[serde(default)]
    pub collections: Vec<String>,
    /// Only these documents.
    #[serde(default)]
    pub doc_ids: Vec<String>,
    /// Only chunks under this path (`第二章/第一节`, `4/4.2`).
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// The first-stage retrievers: `hybrid` (default), `bm25` or `dense` alone.
    #[serde(default)]
    #[schemars(with = "crate::openapi::RetrieversName")]
    pub retrievers: knowledge::Retrievers,
}

fn default_k() -> usize {
    5
}

/// `POST /v1/search`: retrieval only, as `deskmate search --json` (`deskmate.search.v1`).
pub async fn search(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<SearchBody>,
) -> Result<Json<knowledge::report::SearchReport>, AppError> {
    let report = s
        .blocking(move |a| {
            let k = a.knowledge()?;
            a.search_documents(
                &k,
                &ctx.actor,
                &body.query,
                body.k,
                body.retrievers,
                Filters {
                    collections: body.collections,
                    doc_ids: body.doc_ids,
                    path_prefix: body.path_prefix,
                    languages: vec![],
                },
            )
        })
        .await?;
    Ok(Json(report))
}

/// `POST /v1/ask` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "KnowledgeAsk")]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    /// The question.
    pub question: String,
    /// Only these collections.
    #[serde(default)]
    pub collections: Vec<String>,
    /// Stream the answer as server-sent events: `delta` events with text as it is written,
    /// then one `answer` event with the whole answer (or one `error` event).
    #[serde(default)]
    pub stream: bool,
}

/// One event of a streamed answer: a piece of text, or the end with the whole result.
pub(crate) enum AskEvent<T> {
    /// Generated text.
    Delta(String),
    /// The finished answer (or the error that stopped it).
    Done(Box<Result<T, AppError>>),
}

/// Runs `work` (which streams text through the sender it is given) on the blocking pool and
/// answers with its result: JSON when `stream` is false; otherwise server-sent events (`delta`
/// for each piece of text, then `answer` with the result or `error`). Errors before the first
/// piece of text (no permission, no knowledge base, a bad question) are plain HTTP errors.
pub(crate) async fn answer_response<T: serde::Serialize + Send + 'static>(
    s: AppState,
    stream: bool,
    work: impl FnOnce(
        &assistant::Assistant,
        &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<T, assistant::AssistantError>
    + Send
    + 'static,
) -> Result<Response, AppError> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<AskEvent<T>>();
    {
        tokio::spawn(async move {
            let delta_tx = tx.clone();
            let r = s
                .blocking(move |a| {
                    work(a, &mut |d| {
                        if !stream {
                            return ControlFlow::Continue(());
                        }
                        match delta_tx.send(AskEvent::Delta(d.to_string())) {
                            Ok(()) => ControlFlow::Continue(()),
                            // The client went away: stop generating.
                            Err(_) => ControlFlow::Break(()),
                        }
                    })
                })
                .await
                .map_err(AppError::from);
            let _ = tx.send(AskEvent::Done(Box::new(r)));
        });
    }
    if !stream {
        loop {
            match rx.recv().await {
                Some(AskEvent::Delta(_)) => continue,
                Some(AskEvent::Done(r)) => return Ok(Json((*r)?).into_response()),
                None => return Err(AppError::Internal("the answer task stopped".into())),
            }
        }
    }
    let first = match rx.recv().await {
        Some(AskEvent::Done(r)) => match *r {
            Err(e) => return Err(e),
            ok => AskEvent::Done(Box::new(ok)),
        },
        Some(ev) => ev,
        None => return Err(AppError::Internal("the answer task stopped".into())),
    };
    let events = futures::stream::unfold(
        (Some(first), rx, false),
        |(first, mut rx, done)| async move {
            if done {
                return None;
            }
            let ev = match first {
                Some(ev) => ev,
                None => rx.recv().await?,
            };
            let (event, done) = match ev {
                AskEvent::Delta(d) => (Event::default().event("delta").data(d), false),
                AskEvent::Done(r) => match *r {
                    Ok(answer) => (
                        Event::default()
                            .event("answer")
                            .json_data(&answer)
                            .unwrap_or_else(|_| Event::default().event("error")),
                        true,
                    ),
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
            Some((Ok::<_, Infallible>(event), (None, rx, done)))
        },
    );
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// `POST /v1/ask`.
pub async fn ask(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<AskBody>,
) -> Result<Response, AppError> {
    answer_response(s, body.stream, move |a, on_delta| {
        let k = a.knowledge()?;
        a.ask(
            &k,
            &ctx.actor,
            &body.question,
            Filters {
                collections: body.collections,
                ..Filters::default()
            },
            on_delta,
        )
    })
    .await
}
