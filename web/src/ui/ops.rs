//! Operations (issue #17): upload confirmations, follow their extraction jobs, and review one
//! file against images of its pages.
//!
//! The pages are a face on the workflow of `assistant::extraction_review`, which they call and
//! never repeat: uploads go through the same start as `POST /v1/extractions`
//! ([`crate::handlers::extractions`]), corrections through `extraction_correct`, decisions
//! through the approval of kind `extraction` (four-eyes: the uploader cannot approve, and the
//! refusal is the workflow's own, shown as a 403 page), exports through `extraction_export`.
//!
//! - The upload form is `multipart/form-data`; its form token travels as the first part, and
//!   no file is read (let alone kept) before the token checks ([`upload`]).
//! - A running job's page marks its file table `data-refresh`: the script fetches the page
//!   again and swaps the table in until the job is done (no inline script, no meta refresh).
//! - The review screen draws every piece of evidence as an SVG overlay on the page image: the
//!   overlay's `viewBox` is the page's size in the unit of its evidence boxes (PDF points for a
//!   text layer, pixels for OCR), recorded by the extractor as `page_geometry`, so the boxes
//!   scale with the image whatever resolution it is rendered at. Positions are attributes
//!   (`x`, `y`, `width`, `height`), never `style=`, which the CSP forbids. Each field links to
//!   its box (`#box-…`) and each box to its field (`#f-…`); CSS `:target` highlights both.
//! - Page images ([`page_image`]) come from the stored upload, after the same permission and
//!   clearance checks as the JSON view (`Assistant::extraction`): PNG and JPEG uploads as
//!   stored, PDF pages rendered by poppler's `pdftoppm` and cached on disk under
//!   `<data dir>/page-images/` by the upload's SHA-256 (content-addressed, so never stale).
//!   Without `pdftoppm` the answer is a 503 naming the package to install, and the review
//!   screen says so above the images.

use super::approvals::{ApproveForm, RejectForm};
use super::i18n::{T, number, percent, time};
use super::{CsrfForm, Nav, Viewer, badge, page, read_upload, see_other};
use crate::error::AppError;
use crate::handlers::extractions;
use crate::state::AppState;
use assistant::approvals::{Approval, ApprovalFilter, ApprovalKind};
use assistant::extraction_review::{
    Correction, ExtractionFile, ExtractionView, FileProgress, Upload,
};
use assistant::jobs::{JobKind, JobState};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use policies::{ApprovalState, Permission};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path as FsPath, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The resolution page images are rendered at: sharp enough to read a confirmation beside the
/// field list, small enough (~100 kB a page) to load at once.
const RENDER_DPI: u32 = 110;
/// How long `pdftoppm` may take on one page before it is killed.
const RENDER_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a running job's page refreshes its file table, in milliseconds.
pub(super) const REFRESH_MS: u32 = 2000;

/// A flash message after an action.
#[derive(Debug, Deserialize, Default)]
pub struct Flash {
    /// What was just done.
    pub done: Option<String>,
}

fn flash(v: &Viewer, q: &Flash) -> Markup {
    html! {
        @if let Some(done) = &q.done {
            div.flash.ok role="status" { (v.t(T::Done)) " " (done) }
        }
    }
}

/// `GET /extractions`: the upload form, the reviews waiting for the viewer's role, and the
/// viewer's recent extraction jobs with each file's status.
pub async fn list(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<Flash>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let can_review = v.can(Permission::ApprovalsRead);
    let (waiting, jobs) = s
        .blocking(move |a| {
            let waiting = if can_review {
                let f = ApprovalFilter {
                    state: Some(ApprovalState::Pending),
                    kind: Some(ApprovalKind::Extraction),
                    limit: Some(200),
                    ..ApprovalFilter::default()
                };
                a.list_approvals(&actor, &f)?
            } else {
                Vec::new()
            };
            let mut jobs = Vec::new();
            for j in a.list_jobs(&actor, 200)? {
                if j.kind == JobKind::Extraction && jobs.len() < 10 {
                    jobs.push(a.extraction(&actor, &j.id)?);
                }
            }
            Ok::<_, assistant::AssistantError>((waiting, jobs))
        })
        .await?;
    let body = html! {
        h1 { (v.t(T::Operations)) }
        (flash(&v, &q))
        @if v.can(Permission::ExtractionsSubmit) {
            section.card {
                h2 { (v.t(T::UploadConfirmations)) }
                // The token comes first: the server reads it before any file.
                // With the script: drop files on the form, each file's upload progress shown
                // (`app.js`); the words come from here, in the viewer's language.
                form.stack.upload method="post" action="/extractions" enctype="multipart/form-data"
                    data-drop=(v.t(T::DropHere)) data-uploading=(v.t(T::Uploading))
                    data-uploaded=(v.t(T::Uploaded)) data-failed=(v.t(T::UploadFailed)) {
                    (v.csrf_field())
                    label for="files" { (v.t(T::UploadHelp)) }
                    input #files class="dropzone" type="file" name="file" multiple required
                        accept=".pdf,.png,.jpg,.jpeg,.tif,.tiff,.docx,.html,.htm,.xml,.txt";
                    button type="submit" { (v.t(T::UploadExtract)) }
                }
            }
        }
        @if can_review {
            h2 { (v.t(T::ReviewsWaiting)) }
            @if waiting.is_empty() {
                p.muted { (v.t(T::NothingWaiting)) }
            } @else {
                table {
                    thead { tr {
                        th { (v.t(T::Title)) } th { (v.t(T::Maker)) } th.num { (v.t(T::Version)) }
                        th { (v.t(T::Created)) }
                    } }
                    tbody {
                        @for ap in &waiting {
                            tr data-id=(ap.id) {
                                td { a href=(review_href_of(ap)) { (ap.title) } }
                                td { (ap.maker) }
                                td.num { (ap.version) }
                                td { (time(&ap.created_at)) }
                            }
                        }
                    }
                }
            }
        }
        h2 { (v.t(T::YourExtractionJobs)) }
        @if jobs.is_empty() {
            p.muted { (v.t(T::NoJobs)) }
        } @else {
            table {
                thead { tr {
                    th { (v.t(T::Job)) } th { (v.t(T::State)) } th { (v.t(T::Created)) }
                    th { (v.t(T::Files)) }
                } }
                tbody {
                    @for j in &jobs {
                        tr data-id=(j.id) {
                            td { a href={"/extractions/" (j.id)} { code { (j.id) } } }
                            td { (badge(j.state.as_str())) " " (percent(j.progress, 0)) }
                            td { (time(&j.created_at)) }
                            td {
                                ul.files {
                                    @for f in &j.files {
                                        li { (file_link(&j.id, f)) " " (badge(f.status.as_str())) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, v.t(T::Operations), Nav::Operations, body))
}

/// The review page of the file an extraction approval is about (its payload names the job
/// and the file's position).
fn review_href_of(ap: &Approval) -> String {
    match (ap.payload["job_id"].as_str(), ap.payload["index"].as_u64()) {
        (Some(job), Some(i)) => format!("/extractions/{job}/files/{i}"),
        _ => format!("/approvals/{}", ap.id),
    }
}

fn file_link(job: &str, f: &ExtractionFile) -> Markup {
    html! {
        @if f.status == FileProgress::Queued {
            (f.name)
        } @else {
            a href={"/extractions/" (job) "/files/" (f.index)} { (f.name) }
        }
    }
}

/// `POST /extractions`: the upload. The form token must be the first part (the page's form
/// puts it there); a file part before it, a wrong token, or none refuses the whole upload
/// with 403 before any file is read. Limits and errors are those of `POST /v1/extractions`
/// (the route is an upload route: `server.max_upload_bytes`, 413 beyond).
pub async fn upload(
    State(s): State<AppState>,
    v: Viewer,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let files = read_upload(&v.session, form, &[])
        .await?
        .files
        .into_iter()
        .map(|(name, bytes)| Upload { name, bytes })
        .collect();
    let job = extractions::start(&s, v.actor.clone(), files).await?;
    Ok(see_other(&format!("/extractions/{}", job.id)))
}

/// `GET /extractions/{id}`: the job and each file's status; refreshes itself while running.
pub async fn job(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let view = s.blocking(move |a| a.extraction(&actor, &id)).await?;
    let running = matches!(view.state, JobState::Queued | JobState::Running);
    let body = html! {
        h1 { (v.t(T::ExtractionJob)) " " code { (view.id) } }
        div #job-files data-refresh=[running.then_some(REFRESH_MS)] {
            section.card {
                table {
                    tbody {
                        tr { th { (v.t(T::State)) } td { (badge(view.state.as_str())) } }
                        tr { th { (v.t(T::Progress)) } td { (percent(view.progress, 0)) } }
                        tr { th { (v.t(T::CreatedBy)) } td { (view.created_by) } }
                        tr { th { (v.t(T::Created)) } td { (time(&view.created_at)) } }
                        @if let Some(t) = &view.finished_at {
                            tr { th { (v.t(T::Finished)) } td { (time(t)) } }
                        }
                        @if let Some(e) = &view.error {
                            tr { th { (v.t(T::Error)) } td { (e) } }
                        }
                    }
                }
                @if running {
                    p.muted { (v.t(T::JobRunning)) }
                }
            }
            (files_table(&v, &view))
        }
        p { a href="/extractions" { (v.t(T::Operations)) } }
    };
    Ok(page(&v, v.t(T::ExtractionJob), Nav::Operations, body))
}

fn files_table(v: &Viewer, view: &ExtractionView) -> Markup {
    html! {
        table {
            thead { tr {
                th.num { "#" } th { (v.t(T::File)) } th.num { (v.t(T::Size)) }
                th { (v.t(T::Status)) } th { (v.t(T::Product)) } th { (v.t(T::Approvals)) }
                th { (v.t(T::Message)) }
            } }
            tbody {
                @for f in &view.files {
                    tr data-id=(f.index) {
                        td.num { (f.index + 1) }
                        td { (file_link(&view.id, f)) }
                        td.num { (number(f.bytes as f64 / 1024.0, 1)) " KiB" }
                        td { (badge(f.status.as_str())) }
                        td { (f.result["product_type"].as_str().unwrap_or("")) }
                        td { @if let Some(st) = f.approval_state { (badge(st.as_str())) } }
                        td { (f.result["error"].as_str().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

/// One piece of evidence as the payload keeps it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Evidence {
    page: u32,
    boxes: Vec<BoxXy>,
    snippet: String,
    method: String,
    confidence: f64,
    source: String,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
struct BoxXy {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Stated {
    value: Value,
    evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct FieldEntry {
    field: String,
    value: Value,
    evidence: Vec<Evidence>,
    corrected_from: Option<Stated>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ConflictEntry {
    field: String,
    values: Vec<Stated>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ProblemEntry {
    fields: Vec<String>,
    kind: String,
    message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct CorrectionEntry {
    field: String,
    before: Option<Value>,
    after: Option<Value>,
    reason: String,
    by: String,
    at: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Geometry {
    page: u32,
    method: String,
    width: f64,
    height: f64,
}

/// The part of a file's result (or its approval's current payload) the review shows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Review {
    name: String,
    format: Option<String>,
    pages: u32,
    page_geometry: Vec<Geometry>,
    status: String,
    error: Option<String>,
    product_type: Option<String>,
    fields: Vec<FieldEntry>,
    conflicts: Vec<ConflictEntry>,
    problems: Vec<ProblemEntry>,
    notices: Vec<String>,
    corrections: Vec<CorrectionEntry>,
    cdm_report: Value,
}

/// The file at `index` of job `id`, after the job's checks, with its approval when it has one.
fn load_file(
    a: &assistant::Assistant,
    actor: &assistant::store::Actor,
    id: &str,
    index: &str,
) -> Result<(ExtractionFile, Option<Approval>), AppError> {
    let not_found = || AppError::NotFound(format!("extraction {id} has no file {index:?}"));
    let i: u32 = index.parse().map_err(|_| not_found())?;
    let view = a.extraction(actor, id)?;
    let file = view
        .files
        .into_iter()
        .find(|f| f.index == i)
        .ok_or_else(not_found)?;
    let approval = match &file.approval_id {
        Some(aid) => Some(a.get_approval(actor, aid)?),
        None => None,
    };
    Ok((file, approval))
}

/// An `id` attribute made of a key-term leaf (`notional.amount` stays as it is).
fn anchor(field: &str) -> String {
    field
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other @ (Value::Bool(_) | Value::Number(_) | Value::Array(_) | Value::Object(_)) => {
            other.to_string()
        }
    }
}

/// What the viewer may do with the file's approval.
struct Rights {
    decide: bool,
    maker: bool,
}

/// `GET /extractions/{id}/files/{index}`: the review screen.
pub async fn review(
    State(s): State<AppState>,
    v: Viewer,
    Path((id, index)): Path<(String, String)>,
    Query(q): Query<Flash>,
) -> Result<Response, AppError> {
    let (actor, id2) = (v.actor.clone(), id.clone());
    let (file, approval) = s
        .blocking(move |a| load_file(a, &actor, &id2, &index))
        .await?;
    let payload = approval
        .as_ref()
        .map_or_else(|| file.result.clone(), |ap| ap.payload.clone());
    let r: Review = serde_json::from_value(payload).unwrap_or_default();
    let rights = Rights {
        decide: approval.as_ref().is_some_and(|ap| {
            v.can(Permission::ApprovalsDecide)
                && ap.state == ApprovalState::Pending
                && ap.required_role == v.principal.role
        }),
        maker: approval
            .as_ref()
            .is_some_and(|ap| ap.four_eyes && ap.maker == v.principal.user),
    };
    let base = format!("/extractions/{id}/files/{}", file.index);
    let images = matches!(r.format.as_deref(), Some("pdf" | "png" | "jpeg"));
    let renderer = if r.format.as_deref() == Some("pdf") {
        renderer_problem(&s.assistant.config.extract.pdftoppm)
    } else {
        None
    };
    let ocr_pages: Vec<u32> = r
        .page_geometry
        .iter()
        .filter(|g| g.method == "ocr")
        .map(|g| g.page)
        .collect();
    let body = html! {
        h1 { (file.name) }
        (flash(&v, &q))
        section.card {
            table { tbody {
                tr { th { (v.t(T::Job)) } td { a href={"/extractions/" (id)} { code { (id) } } } }
                tr { th { (v.t(T::Status)) } td { (badge(file.status.as_str()))
                    @if !r.status.is_empty() && r.status != file.status.as_str() { " → " (badge(&r.status)) } } }
                tr { th { (v.t(T::Product)) } td { (r.product_type.as_deref().unwrap_or("")) } }
                tr { th { (v.t(T::PageCount)) } td { (r.pages) @if !ocr_pages.is_empty() { " (" (v.t(T::OcrPages)) ": " (ocr_pages.len()) ")" } } }
                @if let Some(e) = &r.error { tr { th { (v.t(T::Error)) } td { (e) } } }
                @if let Some(ap) = &approval {
                    tr { th { (v.t(T::Approvals)) } td {
                        (badge(ap.state.as_str())) " · " (v.t(T::Version)) " " (ap.version) " · "
                        (v.t(T::Maker)) " " (ap.maker)
                        @if let Some(by) = &ap.decided_by { " · " (v.t(T::DecidedBy)) " " (by) }
                        @if let Some(why) = &ap.reason { " · " (v.t(T::Reason)) ": " (why) }
                    } }
                }
            } }
        }
        @if let Some(problem) = &renderer {
            div.flash.bad role="alert" { (problem) }
        }
        div.review {
            div.pages {
                @if images {
                    @for p in 1..=r.pages.max(1) {
                        (page_figure(&v, &base, &r, p))
                    }
                } @else {
                    p.muted { (v.t(T::NoPageImage)) }
                }
            }
            div.fields {
                // The decision first: the column scrolls on its own beside the pages, and the
                // approve / reject forms and the exports stay in reach at its top.
                @if let Some(ap) = &approval {
                    (decision(&v, &base, ap, &rights))
                }
                (fields_table(&v, &r, &base, &rights, &ocr_pages))
                (conflicts_section(&v, &r, &base, &rights))
                @if !r.problems.is_empty() {
                    h2 { (v.t(T::Problems)) }
                    ul { @for p in &r.problems {
                        li { code { (p.kind) } " " (p.message)
                            @for f in &p.fields { " " a href={"#f-" (anchor(f))} { (f) } } }
                    } }
                }
                (cdm_missing_section(&v, &r, &base, &rights))
                @if !r.notices.is_empty() {
                    h2 { (v.t(T::Notices)) }
                    ul { @for n in &r.notices { li { (n) } } }
                }
                @if rights.decide {
                    section.card {
                        h2 { (v.t(T::AddOrCorrect)) }
                        (correction_form(&v, &base, None))
                    }
                }
                @if !r.corrections.is_empty() {
                    h2 { (v.t(T::Corrections)) }
                    table {
                        thead { tr { th { (v.t(T::Field)) } th { (v.t(T::Before)) } th { (v.t(T::After)) }
                            th { (v.t(T::Reason)) } th { (v.t(T::Author)) } } }
                        tbody { @for c in &r.corrections {
                            tr {
                                td { a href={"#f-" (anchor(&c.field))} { (c.field) } }
                                td { (c.before.as_ref().map(shown).unwrap_or_default()) }
                                td { (c.after.as_ref().map(shown).unwrap_or_default()) }
                                td { (c.reason) }
                                td { (c.by) " · " (time(&c.at)) }
                            }
                        } }
                    }
                }
                @if let Some(report) = r.cdm_report.as_object() {
                    @if let Some(e) = report.get("error").and_then(Value::as_str) {
                        p.muted { "CDM: " (e) }
                    }
                }
            }
        }
    };
    Ok(page(&v, &file.name, Nav::Operations, body))
}

/// One page: its image with every evidence box drawn over it.
fn page_figure(v: &Viewer, base: &str, r: &Review, p: u32) -> Markup {
    let geometry = r
        .page_geometry
        .iter()
        .find(|g| g.page == p && g.width > 0.0 && g.height > 0.0);
    // Each field's box group carries the field's anchor once, on the first page it appears.
    let mut boxes: Vec<(String, String, &'static str, Vec<BoxXy>)> = Vec::new();
    let mut push = |field: &str, value: &Value, class: &'static str, evs: &[Evidence]| {
        for e in evs.iter().filter(|e| e.page == p && !e.boxes.is_empty()) {
            boxes.push((field.to_owned(), shown(value), class, e.boxes.clone()));
        }
    };
    for f in &r.fields {
        push(&f.field, &f.value, "ev", &f.evidence);
        if let Some(c) = &f.corrected_from {
            push(&f.field, &c.value, "ev corrected", &c.evidence);
        }
    }
    for c in &r.conflicts {
        for s in &c.values {
            push(&c.field, &s.value, "ev conflict", &s.evidence);
        }
    }
    let first_page_of = |field: &str| -> Option<u32> {
        let evs = r
            .fields
            .iter()
            .filter(|f| f.field == field)
            .flat_map(|f| {
                f.evidence
                    .iter()
                    .chain(f.corrected_from.iter().flat_map(|c| c.evidence.iter()))
            })
            .chain(
                r.conflicts
                    .iter()
                    .filter(|c| c.field == field)
                    .flat_map(|c| c.values.iter().flat_map(|s| s.evidence.iter())),
            );
        evs.filter(|e| !e.boxes.is_empty()).map(|e| e.page).min()
    };
    let mut anchored = std::collections::BTreeSet::new();
    let src = format!("{base}/pages/{p}");
    let alt = format!("{} {p}", v.t(T::Page));
    html! {
        figure.page id={"page-" (p)} {
            figcaption { (v.t(T::Page)) " " (p) " · " a href=(src) { (v.t(T::OpenImage)) } }
            @if let Some(g) = geometry {
                div.frame {
                    img src=(src) alt=(alt) width=(g.width.round()) height=(g.height.round());
                    svg.boxes viewBox={"0 0 " (g.width) " " (g.height)} preserveAspectRatio="none"
                        role="group" aria-label=(v.t(T::EvidenceBoxes)) {
                        @for (field, value, class, bxs) in &boxes {
                            @let id = (first_page_of(field) == Some(p) && anchored.insert(field.clone()))
                                .then(|| format!("box-{}", anchor(field)));
                            a href={"#f-" (anchor(field))} {
                                g class=(class) id=[id] data-field=(field) {
                                    title { (field) ": " (value) }
                                    @for b in bxs {
                                        rect x=(b.x0) y=(b.y0) width=((b.x1 - b.x0).max(0.0))
                                            height=((b.y1 - b.y0).max(0.0)) {}
                                    }
                                }
                            }
                        }
                    }
                }
            } @else {
                div.frame { img src=(src) alt=(alt); }
                @if r.pages > 0 {
                    p.muted { (v.t(T::NoBoxes)) }
                }
            }
        }
    }
}

fn fields_table(v: &Viewer, r: &Review, base: &str, rights: &Rights, ocr: &[u32]) -> Markup {
    let method_name = |m: &str| match m {
        "rule" => v.t(T::MethodRule),
        "model" => v.t(T::MethodModel),
        "fpml" => "FpML",
        "correction" => v.t(T::MethodCorrection),
        _ => "?",
    };
    html! {
        h2 { (v.t(T::Fields)) }
        @if r.fields.is_empty() {
            p.muted { (v.t(T::NoFields)) }
        } @else {
            table.fields {
                thead { tr {
                    th { (v.t(T::Field)) } th { (v.t(T::FieldValue)) } th { (v.t(T::Method)) }
                    th.num { (v.t(T::Confidence)) } th { (v.t(T::Evidence)) }
                } }
                tbody {
                    @for f in &r.fields {
                        @let has_box = f.evidence.iter().chain(f.corrected_from.iter().flat_map(|c| c.evidence.iter())).any(|e| !e.boxes.is_empty());
                        @let methods = {
                            let mut m: Vec<&str> = f.evidence.iter().map(|e| method_name(&e.method)).collect();
                            m.sort_unstable();
                            m.dedup();
                            m.join(", ")
                        };
                        @let by_ocr = f.evidence.iter().any(|e| ocr.contains(&e.page));
                        @let confidence = f.evidence.iter().map(|e| e.confidence).fold(0.0, f64::max);
                        @let problems: Vec<&ProblemEntry> = r.problems.iter().filter(|p| p.fields.contains(&f.field)).collect();
                        tr id={"f-" (anchor(&f.field))} data-field=(f.field) {
                            td {
                                @if has_box {
                                    a href={"#box-" (anchor(&f.field))} title=(v.t(T::ShowEvidence)) { code { (f.field) } }
                                } @else {
                                    code { (f.field) }
                                }
                            }
                            td {
                                strong.value { (shown(&f.value)) }
                                @if let Some(c) = &f.corrected_from {
                                    br; span.muted { (v.t(T::Before)) ": " (shown(&c.value)) }
                                }
                                @for p in &problems { br; span.problem { (p.message) } }
                            }
                            td {
                                (methods)
                                @if by_ocr { " · OCR" }
                            }
                            td.num { (percent(confidence, 0)) }
                            td {
                                @for e in &f.evidence {
                                    div.snippet {
                                        @if e.page > 0 { span.muted { (v.t(T::Page)) " " (e.page) " · " } }
                                        (e.snippet)
                                        @if !e.source.is_empty() { br; span.muted { (e.source) } }
                                    }
                                }
                                @if rights.decide {
                                    details {
                                        summary { (v.t(T::Correct)) }
                                        (correction_form(v, base, Some(f)))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The required CDM properties the TradeState lacks, each with a form that supplies it (a
/// correction whose field is `cdm:<pointer>`).
fn cdm_missing_section(v: &Viewer, r: &Review, base: &str, rights: &Rights) -> Markup {
    let missing: Vec<&Value> = r.cdm_report["missing_required"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    html! {
        @if !missing.is_empty() {
            h2 { (v.t(T::CdmMissing)) }
            p.muted { (v.t(T::CdmMissingHelp)) }
            table {
                thead { tr { th { (v.t(T::Field)) } th { (v.t(T::Evidence)) } } }
                tbody {
                    @for m in &missing {
                        @let pointer = m["pointer"].as_str().unwrap_or_default();
                        @let field = format!("{}{pointer}", assistant::extraction_review::CDM_FIELD_PREFIX);
                        tr id={"f-" (anchor(&field))} data-field=(field) {
                            td { code { (m["property"].as_str().unwrap_or_default()) } br; span.muted { (pointer) } }
                            td {
                                (v.t(match m["in_source"].as_str() {
                                    Some("yes") => T::InSourceYes,
                                    Some("no") => T::InSourceNo,
                                    _ => T::InSourceNotKnown,
                                }))
                                @if let Some(e) = m["source_element"].as_str() { br; span.muted { "FpML: " (e) } }
                                @if rights.decide {
                                    details {
                                        summary { (v.t(T::Correct)) }
                                        (correction_form(v, base, Some(&FieldEntry { field: field.clone(), ..FieldEntry::default() })))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn conflicts_section(v: &Viewer, r: &Review, base: &str, rights: &Rights) -> Markup {
    html! {
        @if !r.conflicts.is_empty() {
            h2 { (v.t(T::Conflicts)) }
            table {
                thead { tr { th { (v.t(T::Field)) } th { (v.t(T::Values)) } } }
                tbody {
                    @for c in &r.conflicts {
                        @let in_fields = r.fields.iter().any(|f| f.field == c.field);
                        tr id=[(!in_fields).then(|| format!("f-{}", anchor(&c.field)))] data-field=(c.field) {
                            td { a href={"#box-" (anchor(&c.field))} { code { (c.field) } } }
                            td {
                                @for s in &c.values {
                                    div.snippet {
                                        strong.value { (shown(&s.value)) }
                                        @for e in &s.evidence {
                                            br; span.muted { (v.t(T::Page)) " " (e.page) " · " (e.snippet) }
                                        }
                                    }
                                }
                                @if rights.decide {
                                    details {
                                        summary { (v.t(T::Correct)) }
                                        (correction_form(v, base, Some(&FieldEntry { field: c.field.clone(), ..FieldEntry::default() })))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The form that corrects one field (or, without one, names the field to add or correct).
fn correction_form(v: &Viewer, base: &str, f: Option<&FieldEntry>) -> Markup {
    let key = f.map_or_else(|| "new".to_owned(), |f| anchor(&f.field));
    html! {
        form.stack method="post" action={(base) "/corrections"} {
            (v.csrf_field())
            @if let Some(f) = f {
                input type="hidden" name="field" value=(f.field);
            } @else {
                label for={"field-" (key)} { (v.t(T::Field)) }
                input id={"field-" (key)} type="text" name="field" required maxlength="100" placeholder="trade_date, notional.amount, other.…";
            }
            label for={"value-" (key)} { (v.t(T::FieldValue)) }
            input id={"value-" (key)} type="text" name="value" maxlength="1000" value=(f.map(|f| shown(&f.value)).unwrap_or_default());
            label.check {
                input type="checkbox" name="remove" value="1";
                " " (v.t(T::RemoveField))
            }
            label for={"reason-" (key)} { (v.t(T::Reason)) }
            input id={"reason-" (key)} type="text" name="reason" required maxlength="1000";
            button type="submit" { (v.t(T::SaveCorrection)) }
        }
    }
}

fn decision(v: &Viewer, base: &str, ap: &Approval, rights: &Rights) -> Markup {
    html! {
        section.card {
            h2 { (v.t(T::Decision)) }
            @if rights.decide {
                @if rights.maker {
                    p.muted { (v.t(T::FourEyesMaker)) }
                }
                div.grid2 {
                    form.stack method="post" action={(base) "/approve"} {
                        (v.csrf_field())
                        input type="hidden" name="version" value=(ap.version);
                        label for="note" { (v.t(T::Note)) }
                        input #note type="text" name="note" maxlength="1000";
                        button type="submit" { (v.t(T::Approve)) }
                    }
                    form.stack method="post" action={(base) "/reject"} {
                        (v.csrf_field())
                        label for="reject-reason" { (v.t(T::Reason)) }
                        input #reject-reason type="text" name="reason" required maxlength="1000";
                        button.danger type="submit" { (v.t(T::Reject)) }
                    }
                }
            } @else {
                p { (badge(ap.state.as_str())) " " a href={"/approvals/" (ap.id)} { (v.t(T::ApprovalRequest)) } }
            }
            @if ap.state == ApprovalState::Approved {
                h2 { (v.t(T::Exports)) }
                p {
                    a.button href={(base) "/export/cdm"} download { (v.t(T::ExportCdm)) }
                    " "
                    a.button href={(base) "/export/key-terms"} download { (v.t(T::ExportKeyTerms)) }
                }
            }
        }
    }
}

/// The correction form.
#[derive(Debug, Deserialize)]
pub struct CorrectForm {
    /// The key-term leaf.
    pub field: String,
    /// The corrected value as typed.
    #[serde(default)]
    pub value: String,
    /// `1` removes the leaf (the document does not state it).
    #[serde(default)]
    pub remove: Option<String>,
    /// Why (required by the workflow).
    #[serde(default)]
    pub reason: String,
}

/// The JSON value of a typed correction: a number when the leaf takes one (the leaf's own
/// check decides), else the text.
fn typed_value(field: &str, text: &str) -> Value {
    let text = text.trim();
    // A CDM property's value is typed as JSON (true, 3, "text", {…}); bare words stay text.
    if field.starts_with(assistant::extraction_review::CDM_FIELD_PREFIX) {
        return serde_json::from_str(text).unwrap_or_else(|_| Value::from(text));
    }
    let plain: String = text.chars().filter(|c| !matches!(c, ',' | '_')).collect();
    if let Ok(n) = plain.parse::<f64>()
        && n.is_finite()
        && let Some(num) = serde_json::Number::from_f64(n)
    {
        let as_number = if n.fract() == 0.0 && n.abs() < 9.0e15 {
            Value::from(n as i64)
        } else {
            Value::Number(num)
        };
        if extraction::terms::check_leaf(field, &as_number).is_ok() {
            return as_number;
        }
    }
    Value::from(text)
}

/// `POST /extractions/{id}/files/{index}/corrections`.
pub async fn correct(
    State(s): State<AppState>,
    v: Viewer,
    Path((id, index)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<CorrectForm>,
) -> Result<Response, AppError> {
    let field = f.field.trim().to_owned();
    let value = if f.remove.as_deref() == Some("1") {
        None
    } else if f.value.trim().is_empty() {
        return Err(AppError::BadRequest {
            code: "invalid_request",
            message: format!(
                "{field}: enter the corrected value, or tick the box to remove the field"
            ),
        });
    } else {
        Some(typed_value(&field, &f.value))
    };
    let correction = Correction {
        field: field.clone(),
        value,
        reason: f.reason,
    };
    let (actor, who, id2) = (v.actor.clone(), v.principal.clone(), id.clone());
    let i = s
        .blocking(move |a| {
            let (file, approval) = load_file(a, &actor, &id2, &index)?;
            let ap = approval.ok_or_else(|| no_review(&file))?;
            a.extraction_correct(&actor, &who, &ap.id, &[correction])?;
            Ok::<_, AppError>(file.index)
        })
        .await?;
    Ok(see_other(&format!(
        "/extractions/{id}/files/{i}?done=corrected#f-{}",
        anchor(&field)
    )))
}

fn no_review(f: &ExtractionFile) -> AppError {
    AppError::Conflict {
        code: "conflict",
        message: format!(
            "{} has no review ({}): only files with key terms are reviewed",
            f.name, f.status
        ),
    }
}

/// `POST /extractions/{id}/files/{index}/approve`: four-eyes is the workflow's (the uploader
/// is refused with 403).
pub async fn approve(
    State(s): State<AppState>,
    v: Viewer,
    Path((id, index)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<ApproveForm>,
) -> Result<Response, AppError> {
    let (actor, who, id2) = (v.actor.clone(), v.principal.clone(), id.clone());
    let note = Some(f.note).filter(|n| !n.trim().is_empty());
    let i = s
        .blocking(move |a| {
            let (file, approval) = load_file(a, &actor, &id2, &index)?;
            let ap = approval.ok_or_else(|| no_review(&file))?;
            a.approve_version(&actor, &who, &ap.id, note.as_deref(), Some(f.version))?;
            Ok::<_, AppError>(file.index)
        })
        .await?;
    Ok(see_other(&format!(
        "/extractions/{id}/files/{i}?done=approved"
    )))
}

/// `POST /extractions/{id}/files/{index}/reject`.
pub async fn reject(
    State(s): State<AppState>,
    v: Viewer,
    Path((id, index)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<RejectForm>,
) -> Result<Response, AppError> {
    let (actor, who, id2) = (v.actor.clone(), v.principal.clone(), id.clone());
    let i = s
        .blocking(move |a| {
            let (file, approval) = load_file(a, &actor, &id2, &index)?;
            let ap = approval.ok_or_else(|| no_review(&file))?;
            a.reject(&actor, &who, &ap.id, &f.reason)?;
            Ok::<_, AppError>(file.index)
        })
        .await?;
    Ok(see_other(&format!(
        "/extractions/{id}/files/{i}?done=rejected"
    )))
}

/// `GET /extractions/{id}/files/{index}/export/{what}`: an approved extraction's CDM
/// TradeState (`cdm`) or key terms (`key-terms`) as a JSON download.
pub async fn export(
    State(s): State<AppState>,
    v: Viewer,
    Path((id, index, what)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    if !matches!(what.as_str(), "cdm" | "key-terms") {
        return Err(AppError::NotFound(format!(
            "no export {what:?}: use cdm or key-terms"
        )));
    }
    let actor = v.actor.clone();
    let (name, e) = s
        .blocking(move |a| {
            let (file, approval) = load_file(a, &actor, &id, &index)?;
            let ap = approval.ok_or_else(|| no_review(&file))?;
            let e = a.extraction_export(&actor, &ap.id)?;
            Ok::<_, AppError>((file.name, e))
        })
        .await?;
    let doc = if what == "cdm" {
        e.cdm.ok_or_else(|| {
            AppError::NotFound(format!(
                "approval {} has no CDM document (see its cdm_report)",
                e.approval_id
            ))
        })?
    } else {
        e.key_terms
    };
    let stem: String = name
        .rsplit_once('.')
        .map_or(name.as_str(), |(s, _)| s)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let file_name = format!("{stem}.{what}.json");
    let body = serde_json::to_vec_pretty(&doc).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// `GET /extractions/{id}/files/{index}/pages/{page}`: one page of the stored upload as an
/// image, after the checks of the job view (permission, clearance, ownership).
pub async fn page_image(
    State(s): State<AppState>,
    v: Viewer,
    Path((id, index, page_no)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let pdftoppm = PathBuf::from(&s.assistant.config.extract.pdftoppm);
    let (bytes, media) = s
        .blocking(move |a| {
            let (file, _) = load_file(a, &actor, &id, &index)?;
            let missing = || AppError::NotFound(format!("{} has no page {page_no:?}", file.name));
            let p: u32 = page_no.parse().map_err(|_| missing())?;
            let pages = file.result["pages"].as_u64().unwrap_or(0) as u32;
            if p == 0 || p > pages.max(1) || file.status == FileProgress::Queued {
                return Err(missing());
            }
            let upload = a.store().data_dir().join("uploads").join(&file.sha256);
            if file.sha256.len() != 64 || !file.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(missing());
            }
            match file.result["format"].as_str() {
                Some("pdf") => {
                    let cache = a.store().data_dir().join("page-images");
                    render_pdf_page(&pdftoppm, &upload, &cache, &file.sha256, p)
                        .map(|b| (b, "image/png"))
                }
                Some(f @ ("png" | "jpeg")) if p == 1 => std::fs::read(&upload)
                    .map(|b| {
                        (
                            b,
                            if f == "png" {
                                "image/png"
                            } else {
                                "image/jpeg"
                            },
                        )
                    })
                    .map_err(|_| {
                        AppError::NotFound(format!("the stored upload of {} is missing", file.name))
                    }),
                other => Err(AppError::NotFound(format!(
                    "{} ({}) has no page image a browser can show",
                    file.name,
                    other.unwrap_or("unknown format")
                ))),
            }
        })
        .await?;
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    // The image is of a classified document: kept out of shared caches, but the browser may
    // keep it while the review is open.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(resp)
}

/// Why PDF pages cannot be rendered here (the renderer is missing), if they cannot.
fn renderer_problem(pdftoppm: &str) -> Option<String> {
    match Command::new(pdftoppm)
        .arg("-v")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => None,
        Err(e) => Some(missing_renderer(FsPath::new(pdftoppm), &e)),
    }
}

fn missing_renderer(pdftoppm: &FsPath, e: &std::io::Error) -> String {
    format!(
        "page images cannot be rendered: {} cannot be run ({e}); install the Debian package \
         poppler-utils (`./x up` does) or set extract.pdftoppm",
        pdftoppm.display()
    )
}

/// Page `p` of the PDF at `upload` as PNG, from the cache or rendered into it.
fn render_pdf_page(
    pdftoppm: &FsPath,
    upload: &FsPath,
    cache: &FsPath,
    sha: &str,
    p: u32,
) -> Result<Vec<u8>, AppError> {
    let cached = cache.join(format!("{sha}-{p}-{RENDER_DPI}.png"));
    if let Ok(b) = std::fs::read(&cached) {
        return Ok(b);
    }
    if !upload.is_file() {
        return Err(AppError::NotFound(
            "the stored upload is missing (it was never kept: too large?)".into(),
        ));
    }
    let internal = |what: &str, e: &dyn std::fmt::Display| {
        AppError::Internal(format!("page image of {sha} page {p}: {what}: {e}"))
    };
    std::fs::create_dir_all(cache).map_err(|e| internal("creating the cache", &e))?;
    let work = tempfile_dir(cache).map_err(|e| internal("a temporary directory", &e))?;
    let prefix = work.join("page");
    let n = p.to_string();
    let mut child = Command::new(pdftoppm)
        .args(["-f", &n, "-l", &n, "-r", &RENDER_DPI.to_string()])
        .args(["-png", "-singlefile"])
        .arg(upload)
        .arg(&prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            let _ = std::fs::remove_dir_all(&work);
            AppError::Unavailable {
                code: "renderer_missing",
                message: missing_renderer(pdftoppm, &e),
            }
        })?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() > RENDER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&work);
                return Err(AppError::Unprocessable {
                    code: "render_timeout",
                    message: format!(
                        "rendering page {p} took longer than {} s",
                        RENDER_TIMEOUT.as_secs()
                    ),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&work);
                return Err(internal("waiting for pdftoppm", &e));
            }
        }
    };
    let out = prefix.with_extension("png");
    let result = if status.success() {
        std::fs::read(&out).map_err(|e| internal("reading the rendered page", &e))
    } else {
        let mut err = String::new();
        if let Some(mut s) = child.stderr.take() {
            use std::io::Read;
            let _ = s.read_to_string(&mut err);
        }
        Err(AppError::Unprocessable {
            code: "render_failed",
            message: format!("page {p} cannot be rendered: {}", err.trim()),
        })
    };
    if result.is_ok() {
        // Atomic: a reader sees the whole image or none.
        let _ = std::fs::rename(&out, &cached);
    }
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// A fresh working directory under `parent` (removed by the caller).
fn tempfile_dir(parent: &FsPath) -> std::io::Result<PathBuf> {
    let dir = parent.join(format!(".render-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}
