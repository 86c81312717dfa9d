//! The knowledge base pages: documents (upload with collection and classification, list,
//! delete), one document's chunks, the search playground with BM25, dense and fused scores,
//! and Ask, whose citations link to the chunk they cite. Everything is read as the viewer:
//! permission and clearance are the workflow's (`assistant::documents`).

use super::i18n::{T, number, time};
use super::{CsrfForm, Nav, NoFields, Viewer, badge, page, read_upload, see_other};
use crate::error::AppError;
use crate::handlers::documents::start_ingest;
use crate::state::AppState;
use assistant::jobs::JobState;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use policies::{DataClass, Permission};
use serde::Deserialize;
use std::ops::ControlFlow;

fn bad(message: String) -> AppError {
    AppError::BadRequest {
        code: "invalid_request",
        message,
    }
}

/// The classifications offered on the upload form: those the viewer's clearance may create.
fn classes_for(v: &Viewer) -> Vec<DataClass> {
    let clearance = v.actor.clearance();
    [DataClass::GENERAL, DataClass::IMPORTANT, DataClass::CORE]
        .into_iter()
        .flat_map(|c| {
            [
                c,
                DataClass {
                    sensitive: true,
                    ..c
                },
            ]
        })
        .filter(|c| clearance.can_read(*c))
        .collect()
}

fn search_forms(v: &Viewer, q: &str, retrievers: knowledge::Retrievers) -> Markup {
    use knowledge::Retrievers as R;
    html! {
        div.grid2 {
            form.inline method="get" action="/knowledge/search" {
                label for="sq" { (v.t(T::Search)) }
                input #sq type="search" name="q" value=(q) maxlength="2000" required;
                label for="sr" { (v.t(T::Retrievers)) }
                select #sr name="retrievers" {
                    @for (r, word) in [(R::Hybrid, T::RetrieversHybrid), (R::Bm25, T::RetrieversBm25), (R::Dense, T::RetrieversDense)] {
                        option value=(r.as_str()) selected[r == retrievers] { (v.t(word)) }
                    }
                }
                button.secondary type="submit" { (v.t(T::Search)) }
            }
            form.inline method="get" action="/knowledge/ask" {
                label for="aq" { (v.t(T::Question)) }
                input #aq type="text" name="q" value=(q) maxlength="2000" required;
                button type="submit" { (v.t(T::Ask)) }
            }
        }
    }
}

/// The index page's query.
#[derive(Debug, Deserialize, Default)]
pub struct IndexQuery {
    /// Only this collection.
    pub collection: Option<String>,
    /// The ingest job just started.
    pub job: Option<String>,
}

/// `GET /knowledge`.
pub async fn index(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<IndexQuery>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let collection = q.collection.clone().filter(|c| !c.is_empty());
    let job_id = q.job.clone();
    let (docs, job) = s
        .blocking(move |a| {
            let docs = a.list_documents(&actor, collection.as_deref())?;
            let job = match job_id {
                Some(id) => Some(a.get_job(&actor, &id)?),
                None => None,
            };
            Ok::<_, assistant::AssistantError>((docs, job))
        })
        .await?;
    let can_write = v.can(Permission::DocumentsWrite);
    // While the ingest job just started runs, the script refreshes the job and the list.
    let running = job
        .as_ref()
        .is_some_and(|j| matches!(j.state, JobState::Queued | JobState::Running));
    let body = html! {
        h1 { (v.t(T::Knowledge)) }
        (search_forms(&v, "", knowledge::Retrievers::Hybrid))
        div #knowledge-docs data-refresh=[running.then_some(super::ops::REFRESH_MS)] {
        @if let Some(j) = &job {
            section.card {
                p.flash.ok { (v.t(T::IngestStarted)) }
                p { code { (j.id) } " " (badge(j.state.as_str())) " " (super::i18n::percent(j.progress, 0)) }
                @if let Some(r) = &j.result { pre { (super::pretty(r)) } }
                @if let Some(e) = &j.error { p.flash.bad { (e) } }
            }
        }
        h2 { (v.t(T::Documents)) " (" (docs.len()) ")" }
        @if docs.is_empty() {
            p.muted { (v.t(T::NoDocuments)) }
        } @else {
            table {
                thead { tr {
                    th { (v.t(T::Title)) } th { (v.t(T::Collection)) } th { (v.t(T::Classification)) }
                    th { (v.t(T::Language)) } th.num { (v.t(T::Version)) } th.num { (v.t(T::Chunks)) }
                    th.num { (v.t(T::Pages)) } th { (v.t(T::Created)) } th {}
                } }
                tbody {
                    @for d in &docs {
                        tr data-id=(d.id) {
                            td { a href={"/knowledge/documents/" (d.id)} { (d.title) } br; span.muted { (d.source) } }
                            td { (d.collection) } td { (d.classification.to_string()) } td { (d.language) }
                            td.num { (d.version) } td.num { (d.chunks) } td.num { (d.pages) }
                            td { (time(&d.created_at)) " · " (d.created_by) }
                            td {
                                @if can_write {
                                    form method="post" action={"/knowledge/documents/" (d.id) "/delete"} data-confirm=(v.t(T::ConfirmDelete)) {
                                        (v.csrf_field())
                                        button.danger type="submit" { (v.t(T::Delete)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        }
        @if can_write {
            section.card {
                h2 { (v.t(T::UploadDocuments)) }
                // With the script: drop files on the form, each file's progress shown (`app.js`).
                form.stack method="post" action="/knowledge/upload" enctype="multipart/form-data"
                    data-drop=(v.t(T::DropHere)) data-uploading=(v.t(T::Uploading))
                    data-uploaded=(v.t(T::Uploaded)) data-failed=(v.t(T::UploadFailed)) {
                    (v.csrf_field())
                    label for="files" { (v.t(T::Files)) }
                    input #files.dropzone type="file" name="file" multiple required;
                    label for="collection" { (v.t(T::Collection)) }
                    input #collection type="text" name="collection" value="default" required maxlength="64" pattern="[a-z0-9][a-z0-9_-]*";
                    label for="classification" { (v.t(T::Classification)) }
                    select #classification name="classification" {
                        @for c in classes_for(&v) { option value=(c.to_string()) { (c.to_string()) } }
                    }
                    button type="submit" { (v.t(T::Upload)) }
                }
            }
        }
    };
    Ok(page(&v, v.t(T::Knowledge), Nav::Knowledge, body))
}

/// `POST /knowledge/upload`: the form token must be the first field; then files, collection
/// and classification as on `POST /v1/documents`.
pub async fn upload(
    State(s): State<AppState>,
    v: Viewer,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let form = read_upload(&v.session, form, &["collection", "classification"]).await?;
    let collection = form
        .field("collection")
        .map_or("default", str::trim)
        .to_string();
    let classification = match form.field("classification") {
        Some(c) => c.parse().map_err(|e| bad(format!("classification: {e}")))?,
        None => DataClass::GENERAL,
    };
    let files = form.files;
    let job = start_ingest(
        &s,
        v.actor.clone(),
        files,
        collection,
        classification,
        None,
        false,
    )
    .await?;
    Ok(see_other(&format!("/knowledge?job={}", job.id)))
}

/// `GET /knowledge/documents/{id}`: the document's chunks, each with an anchor (its chunk id)
/// that citations link to.
pub async fn document(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<RevisedQuery>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let can_write = v.can(Permission::DocumentsWrite);
    let (doc, chunks) = s
        .blocking(move |a| {
            let k = a.knowledge()?;
            a.document_chunks(&k, &actor, &id)
        })
        .await?;
    let body = html! {
        h1 { (doc.title) }
        p.muted {
            (doc.collection) " · " (doc.classification.to_string()) " · " (doc.language) " · "
            (v.t(T::Version)) " " (doc.version) " · " (doc.source) " · " (time(&doc.updated_at))
        }
        @if let Some(version) = q.revised {
            div.flash.ok role="status" { (v.t(T::ChunkRevised)) " " (version) }
        }
        h2 { (v.t(T::Chunks)) " (" (chunks.len()) ")" }
        table.chunks {
            thead { tr { th.num { "#" } th { (v.t(T::Path)) } th { (v.t(T::Pages)) } th { (v.t(T::Text)) } } }
            tbody {
                @for c in &chunks {
                    tr id=(c.chunk_id) {
                        td.num { (c.ordinal) }
                        td { (c.path.display(&doc.title)) }
                        td { (c.location.page_start) @if c.location.page_end != c.location.page_start { "–" (c.location.page_end) } }
                        td {
                            div.chunk-text { (c.text) }
                            @if can_write {
                                (revise_forms(&v, &doc.id, doc.version, c.ordinal, &c.text))
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, &doc.title, Nav::Knowledge, body))
}

/// The document page's query after a revision.
#[derive(Debug, Deserialize, Default)]
pub struct RevisedQuery {
    /// The version the revision committed.
    pub revised: Option<u64>,
}

/// The forms under a chunk: correct its text, or split it before a phrase; each names the
/// version shown (an edit on a version that moved on is refused) and asks why.
fn revise_forms(v: &Viewer, doc: &str, version: u64, ordinal: u32, text: &str) -> Markup {
    let action = format!("/knowledge/documents/{}/chunks", super::percent_encode(doc));
    html! {
        details.revise {
            summary { (v.t(T::CorrectOrSplit)) }
            div.grid2 {
                form.stack method="post" action=(action) {
                    (v.csrf_field())
                    input type="hidden" name="action" value="correct";
                    input type="hidden" name="ordinal" value=(ordinal);
                    input type="hidden" name="version" value=(version);
                    label for={"text-" (ordinal)} { (v.t(T::CorrectedText)) }
                    textarea id={"text-" (ordinal)} name="text" rows="6" required maxlength="20000" { (text) }
                    label for={"why-" (ordinal)} { (v.t(T::Reason)) }
                    input id={"why-" (ordinal)} type="text" name="reason" required maxlength="1000";
                    button type="submit" { (v.t(T::SaveCorrection)) }
                }
                form.stack method="post" action=(action) {
                    (v.csrf_field())
                    input type="hidden" name="action" value="split";
                    input type="hidden" name="ordinal" value=(ordinal);
                    input type="hidden" name="version" value=(version);
                    label for={"before-" (ordinal)} { (v.t(T::SplitBefore)) }
                    input id={"before-" (ordinal)} type="text" name="before" required maxlength="1000";
                    label for={"split-why-" (ordinal)} { (v.t(T::Reason)) }
                    input id={"split-why-" (ordinal)} type="text" name="reason" required maxlength="1000";
                    button.secondary type="submit" { (v.t(T::Split)) }
                }
            }
        }
    }
}

/// The chunk-revision form (one of two shapes, told apart by `action`; the form token is
/// read by [`CsrfForm`]).
#[derive(Debug, Deserialize)]
pub struct ReviseForm {
    /// `correct` or `split`.
    pub action: String,
    /// The chunk.
    pub ordinal: u32,
    /// The document version the page showed.
    pub version: u64,
    /// The corrected text (`correct`).
    #[serde(default)]
    pub text: Option<String>,
    /// The phrase the second part starts with (`split`).
    #[serde(default)]
    pub before: Option<String>,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `POST /knowledge/documents/{id}/chunks`: corrects or splits a chunk, re-indexes the
/// document alone, and shows the new version at the edited chunk.
pub async fn revise(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<ReviseForm>,
) -> Result<Response, AppError> {
    let missing = |field: &str| AppError::BadRequest {
        code: "invalid_request",
        message: format!("{field} is required for {}", f.action),
    };
    let edit = match f.action.as_str() {
        "correct" => knowledge::ChunkEdit::Correct {
            ordinal: f.ordinal,
            text: f.text.clone().ok_or_else(|| missing("text"))?,
        },
        "split" => knowledge::ChunkEdit::Split {
            ordinal: f.ordinal,
            before: f.before.clone().ok_or_else(|| missing("before"))?,
        },
        other => {
            return Err(AppError::BadRequest {
                code: "invalid_request",
                message: format!("action {other:?}: expected correct or split"),
            });
        }
    };
    let actor = v.actor.clone();
    let id2 = id.clone();
    let doc = s
        .blocking(move |a| {
            let k = a.knowledge()?;
            a.revise_document_chunk(&k, &actor, &id2, f.version, &edit, &f.reason)
        })
        .await?;
    // Back at the edited chunk (of the new version).
    let anchor = knowledge::document::DocId::new(&doc.id)
        .map(|d| {
            let chunk = knowledge::document::chunk_id(&d, doc.version, f.ordinal);
            format!("#{}", super::percent_encode(&chunk))
        })
        .unwrap_or_default();
    Ok(see_other(&format!(
        "/knowledge/documents/{}?revised={}{anchor}",
        super::percent_encode(&doc.id),
        doc.version,
    )))
}

/// `POST /knowledge/documents/{id}/delete`.
pub async fn delete(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    s.blocking(move |a| {
        let k = a.knowledge()?;
        a.delete_document(&k, &actor, &id)
    })
    .await?;
    Ok(see_other("/knowledge"))
}

/// The search and ask pages' query.
#[derive(Debug, Deserialize, Default)]
pub struct AskQuery {
    /// The query or question.
    #[serde(default)]
    pub q: String,
    /// The search page's retrievers (`hybrid`, `bm25`, `dense`).
    #[serde(default)]
    pub retrievers: Option<String>,
}

/// The link to a chunk on its document's page. The chunk id (`{doc}@v{version}#{ordinal}`)
/// holds a `#`, so the fragment is percent-encoded; the browser decodes it to find the row.
fn chunk_link(doc_id: &str, chunk_id: &str) -> String {
    format!(
        "/knowledge/documents/{}#{}",
        super::percent_encode(doc_id),
        super::percent_encode(chunk_id)
    )
}

fn score(x: Option<f32>) -> String {
    x.map(|x| number(f64::from(x), 3))
        .unwrap_or_else(|| "–".into())
}

/// `GET /knowledge/search?q=`.
pub async fn search(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<AskQuery>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let query = q.q.clone();
    let retrievers: knowledge::Retrievers = match q.retrievers.as_deref() {
        None | Some("") => knowledge::Retrievers::Hybrid,
        Some(r) => r.parse().map_err(|reason: String| {
            AppError::from(assistant::AssistantError::InvalidField {
                field: "retrievers".into(),
                reason,
            })
        })?,
    };
    let report = if query.trim().is_empty() {
        None
    } else {
        Some(
            s.blocking(move |a| {
                let k = a.knowledge()?;
                a.search_documents(
                    &k,
                    &actor,
                    &query,
                    10,
                    retrievers,
                    knowledge::Filters::default(),
                )
            })
            .await?,
        )
    };
    let body = html! {
        h1 { (v.t(T::SearchPlayground)) }
        (search_forms(&v, &q.q, retrievers))
        @if let Some(r) = &report {
            p.muted { (number(r.took_ms, 1)) " ms (BM25 " (number(r.bm25_ms, 1)) " ms, dense " (number(r.dense_ms, 1)) " ms)" }
            @if r.hits.is_empty() {
                p.muted { (v.t(T::NoHits)) }
            } @else {
                table {
                    thead { tr {
                        th.num { (v.t(T::Rank)) } th { (v.t(T::Title)) } th { (v.t(T::Path)) }
                        th.num { (v.t(T::Bm25)) } th.num { (v.t(T::Dense)) } th.num { (v.t(T::Fused)) } th { (v.t(T::Text)) }
                    } }
                    tbody {
                        @for h in &r.hits {
                            tr data-id=(h.chunk_id) {
                                td.num { (h.rank) }
                                td { a href=(chunk_link(&h.doc_id, &h.chunk_id)) { (h.title) } br; span.muted { (h.collection) " · " (h.classification) } }
                                td { (h.path_display) }
                                td.num { (score(h.scores.bm25)) @if let Some(r) = h.scores.bm25_rank { br; span.muted { "#" (r) } } }
                                td.num { (score(h.scores.dense)) @if let Some(r) = h.scores.dense_rank { br; span.muted { "#" (r) } } }
                                td.num { (number(f64::from(h.scores.fused), 4)) }
                                td { (h.text) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, v.t(T::Search), Nav::Knowledge, body))
}

/// `GET /knowledge/ask?q=`: the answer with its citations, each linked to its chunk; or "not
/// found in the documents you can access".
pub async fn ask(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<AskQuery>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let question = q.q.clone();
    let answer = if question.trim().is_empty() {
        None
    } else {
        Some(
            s.blocking(move |a| {
                let k = a.knowledge()?;
                a.ask(
                    &k,
                    &actor,
                    &question,
                    knowledge::Filters::default(),
                    &mut |_| ControlFlow::Continue(()),
                )
            })
            .await?,
        )
    };
    let body = html! {
        h1 { (v.t(T::AskTitle)) }
        (search_forms(&v, &q.q, knowledge::Retrievers::Hybrid))
        @if let Some(a) = &answer {
            section.card {
                h2 { (v.t(T::Answer)) }
                p.machine { (v.t(T::Machine)) " · " (a.model) }
                @if a.found {
                    p { (a.text) }
                } @else {
                    p.flash.bad { (v.t(T::NotFoundInDocs)) }
                }
                @if !a.citations.is_empty() {
                    h2 { (v.t(T::Citations)) }
                    ol {
                        @for c in &a.citations {
                            li {
                                a href=(chunk_link(&c.doc_id, &c.chunk_id)) { "[" (c.n) "] " (c.title) }
                                " · " (c.path) " · p. " (c.location.page_start)
                                " · " span.muted { (c.collection) " · " (c.classification) }
                            }
                        }
                    }
                }
                // What was retrieved and given to the model, cited or not: the reader can check
                // an answer (or a "not found") against the chunks themselves.
                @if !a.evidence.is_empty() {
                    details.evidence open[a.citations.is_empty()] {
                        summary { (v.t(T::EvidenceGiven)) " (" (a.evidence.len()) ")" }
                        ol {
                            @for c in &a.evidence {
                                li {
                                    a href=(chunk_link(&c.doc_id, &c.chunk_id)) { (c.title) }
                                    " · " (c.path) " · p. " (c.location.page_start)
                                }
                            }
                        }
                    }
                }
                @if !a.dropped.is_empty() {
                    h2 { (v.t(T::DroppedSentences)) }
                    ul { @for d in &a.dropped { li.muted { (d) } } }
                }
            }
        }
    };
    Ok(page(&v, v.t(T::Ask), Nav::Knowledge, body))
}
