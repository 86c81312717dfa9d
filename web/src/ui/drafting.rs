//! The legal drafting workspace.
//!
//! - `/drafting`: recent drafts, the form that drafts a confirmation from a trade (key terms or
//!   an approved extraction, a template or the one for the product, the language), and an
//!   upload that proofreads a counterparty's copy or any agreement.
//! - `/drafting/{id}`: the workspace of one draft: the clause outline (each section linked to
//!   its place), the document with every value filled from the trade highlighted (with its
//!   binding and the trade's value) and every finding's span marked and linked, the findings
//!   panel (severity, kind, clause, message, evidence, suggestion, the firm's position), the
//!   versions with the diff of each to the one before, and the editor (a save names the
//!   version it edited; a stale save shows the diff and keeps the text, nothing lost).
//!
//! - `POST /drafting/{id}/markup`: a counterparty's copy compared with the draft: each changed
//!   clause with its class, redline, the firm's response, reason, impact and talking points, and
//!   the issues list, downloadable as PDF, DOCX or Markdown
//!   (`GET /drafting/{id}/markups/{mk}/issues/{format}`).
//! - `GET /drafting/{id}/precedents`: earlier confirmations in the knowledge base that word a
//!   clause differently from the template, per clause, same counterparty first.
//!
//! - The workspace's approval panel (`#lifecycle`): where the draft stands; by role, send for
//!   approval (`POST /drafting/{id}/submit`), approve or reject (`/approve`, `/reject`: the
//!   approval queue's rules, four-eyes included), finalise (`/finalise`), download the final
//!   PDF, DOCX and conformed copy (`GET /drafting/{id}/final/{what}`), and upload each party's
//!   signed copy (`POST /drafting/{id}/signatures`).
//!
//! - `/drafting/library`: the clause library: templates with their versions, clause search with
//!   each clause's preferred wording and fallbacks with the firm's positions, and imports
//!   (Markdown with front matter, or a firm's DOCX template).
//!
//! Planned (issue #18): precedents.

use super::i18n::{T, time};
use super::{CsrfForm, Nav, Viewer, page, read_upload, see_other};
use crate::error::AppError;
use crate::state::AppState;
use assistant::AssistantError;
use assistant::draft_execution::DraftStatus;
use assistant::drafts::{DraftRecord, NewDraft, TradeSource};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use drafting::diff::Line;
use drafting::proofread::{Finding, Report, Severity};
use drafting::{Language, Trade};
use maud::{Markup, html};
use policies::Permission;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

fn bad(message: String) -> AppError {
    AppError::BadRequest {
        code: "invalid_request",
        message,
    }
}

fn trade_of(json: &str) -> Result<Trade, AppError> {
    let v: Value =
        serde_json::from_str(json).map_err(|e| bad(format!("trade: not valid JSON: {e}")))?;
    Trade::from_json(v).map_err(|e| bad(format!("trade: {e}")))
}

fn lang_of(s: &str) -> Option<Language> {
    match s {
        "en" => Some(Language::En),
        "zh" => Some(Language::Zh),
        _ => None,
    }
}

fn severity_word(v: &Viewer, s: Severity) -> &'static str {
    match (s, v.lang) {
        (Severity::Error, super::i18n::Lang::En) => "error",
        (Severity::Warning, super::i18n::Lang::En) => "warning",
        (Severity::Info, super::i18n::Lang::En) => "info",
        (Severity::Error, super::i18n::Lang::Zh) => "错误",
        (Severity::Warning, super::i18n::Lang::Zh) => "警告",
        (Severity::Info, super::i18n::Lang::Zh) => "提示",
    }
}

fn sev_class(s: Severity) -> &'static str {
    match s {
        Severity::Error => "sev-error",
        Severity::Warning => "sev-warning",
        Severity::Info => "sev-info",
    }
}

fn kind_name(f: &Finding) -> String {
    serde_json::to_value(f.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `GET /drafting`.
pub async fn index(State(s): State<AppState>, v: Viewer) -> Result<Response, AppError> {
    let (drafts, templates) = s
        .blocking(move |a| {
            let t: Vec<(String, String)> = a
                .template_list()?
                .into_iter()
                .map(|t| (t.id, format!("{} (v{})", t.title, t.version)))
                .collect();
            Ok::<_, AssistantError>((a.draft_list(50)?, t))
        })
        .await?;
    let can_write = v.can(Permission::DraftsWrite);
    let body = html! {
        h1 { (v.t(T::Drafting)) }
        p { a #library-link href="/drafting/library" { (v.t(T::ClauseLibrary)) } }
        section.card {
            h2 { (v.t(T::Drafts)) }
            @if drafts.is_empty() {
                p.muted { (v.t(T::NoDrafts)) }
            } @else {
                table #drafts {
                    thead { tr { th { (v.t(T::Title)) } th { (v.t(T::Template)) } th { (v.t(T::Version)) } th { (v.t(T::Source)) } th { (v.t(T::Time)) } th { (v.t(T::Author)) } } }
                    tbody {
                        @for d in &drafts {
                            tr {
                                td { a href={"/drafting/" (d["id"].as_str().unwrap_or_default())} { (d["title"].as_str().unwrap_or_default()) } }
                                td { code { (d["template"].as_str().unwrap_or_default()) } }
                                td.num { (d["version"]) }
                                td { (d["source"].as_str().unwrap_or_default()) }
                                td { (time(d["updated_at"].as_str().unwrap_or_default())) }
                                td { (d["updated_by"].as_str().unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
        div.grid2 {
            @if can_write {
                section.card {
                    h2 { (v.t(T::NewDraft)) }
                    p.muted { (v.t(T::NewDraftHelp)) }
                    form.stack #new-draft method="post" action="/drafting" data-stream="/drafting/stream" data-stream-when="bespoke_feature" {
                        (v.csrf_field())
                        label for="trade" { (v.t(T::TradeJson)) }
                        textarea #trade name="trade" rows="10" {}
                        label for="extraction" { (v.t(T::ExtractionResult)) }
                        input #extraction type="text" name="extraction_result" maxlength="100";
                        label for="quote" { (v.t(T::ApprovedQuote)) }
                        input #quote type="text" name="quote" maxlength="100";
                        label for="bespoke" { (v.t(T::BespokeFeature)) }
                        textarea #bespoke name="bespoke_feature" rows="3" maxlength="2000" {}
                        p.muted { (v.t(T::BespokeFeatureHelp)) }
                        label for="template" { (v.t(T::Template)) }
                        select #template name="template" {
                            option value="" { (v.t(T::ByProduct)) }
                            @for (id, title) in &templates {
                                option value=(id) { (id) " — " (title) }
                            }
                        }
                        label for="language" { (v.t(T::Language)) }
                        select #language name="language" {
                            option value="en" selected[v.lang == super::i18n::Lang::En] { "English" }
                            option value="zh" selected[v.lang == super::i18n::Lang::Zh] { "中文" }
                        }
                        button type="submit" { (v.t(T::DraftIt)) }
                    }
                    ol #free-progress.muted hidden {}
                    pre #free-stream hidden {}
                }
            }
            section.card {
                h2 { (v.t(T::ProofreadDocument)) }
                p.muted { (v.t(T::ProofreadHelp)) }
                form.stack.upload #proofread-upload method="post" action="/drafting/proofread" enctype="multipart/form-data" {
                    (v.csrf_field())
                    label for="doc" { (v.t(T::File)) }
                    input #doc type="file" name="file" required;
                    label for="pr-trade" { (v.t(T::TradeJson)) }
                    textarea #pr-trade name="trade" rows="6" {}
                    button type="submit" { (v.t(T::Proofread)) }
                }
            }
        }
    };
    Ok(page(&v, v.t(T::Drafting), Nav::Drafting, body))
}

/// The new-draft form.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    /// Key terms JSON.
    #[serde(default)]
    pub trade: String,
    /// Or an approved extraction's approval id.
    #[serde(default)]
    pub extraction_result: String,
    /// A template id, or empty for the product's.
    #[serde(default)]
    pub template: String,
    /// `en` or `zh`.
    #[serde(default)]
    pub language: String,
    /// Or an approved quote's approval id.
    #[serde(default)]
    pub quote: String,
    /// The bespoke feature agreed for the trade (the facts of the passage the model writes).
    #[serde(default)]
    pub bespoke_feature: String,
}

fn new_draft(f: CreateForm) -> Result<NewDraft, AppError> {
    let given = [
        !f.trade.trim().is_empty(),
        !f.extraction_result.trim().is_empty(),
        !f.quote.trim().is_empty(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(bad(
            "trade: paste the key terms, or name an approved extraction or an approved quote (one of the three)".into(),
        ));
    }
    let trade = if !f.trade.trim().is_empty() {
        TradeSource::Given(trade_of(f.trade.trim())?)
    } else if !f.extraction_result.trim().is_empty() {
        TradeSource::Extraction(f.extraction_result.trim().to_string())
    } else {
        TradeSource::Quote(f.quote.trim().to_string())
    };
    let mut other = BTreeMap::new();
    if !f.bespoke_feature.trim().is_empty() {
        other.insert(
            "bespoke_feature".to_string(),
            f.bespoke_feature.trim().to_string(),
        );
    }
    Ok(NewDraft {
        trade,
        template: Some(f.template.trim().to_string()).filter(|t| !t.is_empty()),
        language: lang_of(f.language.trim()).unwrap_or(Language::En),
        wordings: BTreeMap::new(),
        other,
    })
}

/// `POST /drafting/stream`: the new-draft form, answered with server-sent events of the model's
/// steps (the page's script shows them), then `draft` with the page to open.
pub async fn create_stream(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<CreateForm>,
) -> Result<Response, AppError> {
    let new = new_draft(f)?;
    let actor = v.actor.clone();
    crate::handlers::drafts::stream_draft(s, true, move |a, on| {
        a.draft_create_streaming(&actor, new, on)
    })
    .await
}

/// `POST /drafting`.
pub async fn create(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<CreateForm>,
) -> Result<Response, AppError> {
    let new = new_draft(f)?;
    let actor = v.actor.clone();
    let d = s.blocking(move |a| a.draft_create(&actor, new)).await?;
    Ok(see_other(&format!("/drafting/{}", d.id)))
}

/// The text with its marks: values filled from the trade (`ph`), findings' spans (`finding`,
/// the first piece of each carrying its anchor) and section anchors.
fn render_text(
    v: &Viewer,
    text: &str,
    values: &[(std::ops::Range<usize>, String)],
    machine: &[(std::ops::Range<usize>, String)],
    report: &Report,
) -> Markup {
    let clamp = |x: usize| {
        let mut x = x.min(text.len());
        while !text.is_char_boundary(x) {
            x -= 1;
        }
        x
    };
    let mut cuts: Vec<usize> = vec![0, text.len()];
    for (r, _) in values.iter().chain(machine) {
        cuts.push(clamp(r.start));
        cuts.push(clamp(r.end));
    }
    for f in &report.findings {
        cuts.push(clamp(f.start));
        cuts.push(clamp(f.end));
    }
    for s in &report.sections {
        cuts.push(clamp(s.head.start));
    }
    cuts.sort_unstable();
    cuts.dedup();
    html! {
        @for w in cuts.windows(2) {
            @let (a, b) = (w[0], w[1]);
            @for (i, s) in report.sections.iter().enumerate() {
                @if s.head.start == a && s.level > 0 {
                    span.anchor id={"sec-" (i)} {}
                }
            }
            @for (i, f) in report.findings.iter().enumerate() {
                @if clamp(f.start) == a && clamp(f.end) == a {
                    mark class={"finding point " (sev_class(f.severity))} id={"f-" (i)} title=(f.message) { "⚑" }
                }
            }
            @let value = values.iter().find(|(r, _)| r.start <= a && b <= r.end && r.start < r.end);
            @let hits: Vec<(usize, &Finding)> = report.findings.iter().enumerate().filter(|(_, f)| clamp(f.start) <= a && b <= clamp(f.end) && f.start < f.end).collect();
            @let piece = &text[a..b];
            @if let Some((worst_i, worst)) = hits.iter().max_by_key(|(_, f)| f.severity).copied() {
                @let first = hits.iter().find(|(_, f)| clamp(f.start) == a).map(|(i, _)| *i);
                mark class={"finding " (sev_class(worst.severity))} id=[first.map(|i| format!("f-{i}"))] data-finding=(worst_i) title=(worst.message) {
                    @if let Some((_, what)) = value { span.ph title=(what) { (piece) } } @else { (piece) }
                }
            } @else if let Some((_, what)) = value {
                span.ph title={(v.t(T::FromTrade)) ": " (what)} { (piece) }
            } @else if let Some((_, model)) = machine.iter().find(|(r, _)| r.start <= a && b <= r.end && r.start < r.end) {
                span.machine title={(v.t(T::MachineWritten)) " · " (model)} { (piece) }
            } @else {
                (piece)
            }
        }
    }
}

fn findings_panel(v: &Viewer, report: &Report) -> Markup {
    html! {
        section.card #findings {
            h2 { (v.t(T::Findings)) " (" (report.findings.len()) ")" }
            @if report.findings.is_empty() {
                p.muted { (v.t(T::NoFindings)) }
            }
            ol.findings {
                @for (i, f) in report.findings.iter().enumerate() {
                    li class=(sev_class(f.severity)) data-kind=(kind_name(f)) data-clause=(f.clause.as_deref().unwrap_or("")) {
                        a href={"#f-" (i)} {
                            span.badge { (severity_word(v, f.severity)) }
                            " " code { (kind_name(f)) }
                            " · " (f.section)
                        }
                        p { (f.message) }
                        @if !f.evidence.is_empty() && f.evidence.len() < 400 {
                            p.muted { (v.t(T::Evidence)) ": " q { (f.evidence) } }
                        }
                        @if let Some(s) = f.suggestion.as_ref().filter(|s| !s.is_empty() && s.len() < 400) {
                            p.muted { (v.t(T::Suggestion)) ": " q { (s) } }
                        }
                    }
                }
            }
        }
    }
}

fn diff_table(old: &str, new: &str) -> Markup {
    html! {
        pre.diff {
            @for l in drafting::diff::lines(old, new) {
                @match l {
                    Line::Same(_) => {},
                    Line::Removed(t) => { del { "- " (t) } "\n" },
                    Line::Added(t) => { ins { "+ " (t) } "\n" },
                }
            }
        }
    }
}

/// The workspace's query.
#[derive(Debug, Default, Deserialize)]
pub struct WorkspaceQuery {
    /// Show this version (the current one when absent).
    #[serde(default)]
    pub version: Option<u32>,
    /// Show the diff of this version to the one before.
    #[serde(default)]
    pub diff: Option<u32>,
}

/// `GET /drafting/{id}`.
pub async fn workspace(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<WorkspaceQuery>,
) -> Result<Response, AppError> {
    let id2 = id.clone();
    let (d, text, report, diff) = s
        .blocking(move |a| {
            let d = a.draft_get(&id2)?;
            let version = q.version.unwrap_or(d.version);
            let text = a.draft_version(&id2, version)?;
            let report = a.draft_proofread(&id2, Some(version), &[])?;
            let diff = match q.diff {
                Some(n) if n > 1 => {
                    Some((n, a.draft_version(&id2, n - 1)?, a.draft_version(&id2, n)?))
                }
                _ => None,
            };
            Ok::<_, AssistantError>((d, text, report, diff))
        })
        .await?;
    let shown = q.version.unwrap_or(d.version);
    Ok(page(
        &v,
        &d.title,
        Nav::Drafting,
        workspace_body(&v, &d, shown, &text, &report, diff),
    ))
}

fn workspace_body(
    v: &Viewer,
    d: &DraftRecord,
    shown: u32,
    text: &str,
    report: &Report,
    diff: Option<(u32, String, String)>,
) -> Markup {
    // Values and model-written passages are highlighted while the text is still the drafted one.
    let drafted = (shown == 1)
        .then(|| serde_json::from_value::<drafting::Draft>(d.structure.clone()).ok())
        .flatten();
    let values: Vec<(std::ops::Range<usize>, String)> = drafted
        .as_ref()
        .map(|dr| {
            dr.text_spans()
                .into_iter()
                .map(|(r, s)| (r, format!("{} = {}", s.binding, s.value)))
                .collect()
        })
        .unwrap_or_default();
    let machine: Vec<(std::ops::Range<usize>, String)> = drafted
        .as_ref()
        .map(|dr| {
            dr.machine_spans()
                .into_iter()
                .map(|(r, m)| (r, m.model.clone()))
                .collect()
        })
        .unwrap_or_default();
    let structure_v1 = shown == 1 && !values.is_empty();
    let can_write = v.can(Permission::DraftsWrite);
    html! {
        h1 { (d.title) }
        p.muted {
            code { (d.id) } " · " (v.t(T::Template)) " " code { (d.template) " v" (d.template_version) }
            " · " (v.t(T::Version)) " " strong #shown-version { (shown) } " / " (d.version)
            " · " (v.t(T::Source)) " " (d.source)
        }
        @if structure_v1 {
            p.flash.ok { (v.t(T::MachineDrafted)) }
        }
        (lifecycle_panel(v, d))
        div.workspace {
            nav.outline #outline {
                h2 { (v.t(T::Clauses)) }
                ol {
                    @for (i, s) in report.sections.iter().enumerate() {
                        @if s.level > 0 {
                            li class={"lvl-" (s.level)} {
                                a href={"#sec-" (i)} { (s.label()) }
                                @let n = report.findings.iter().filter(|f| f.section == s.label() && f.severity > Severity::Info).count();
                                @if n > 0 { " " span.badge.warn { (n) } }
                            }
                        }
                    }
                }
            }
            section.card.doc-card {
                h2 { (v.t(T::DocumentText)) }
                pre.doc #doc { (render_text(v, text, &values, &machine, report)) }
            }
            (findings_panel(v, report))
        }
        div.grid2 {
            section.card #versions {
                h2 { (v.t(T::Versions)) }
                table {
                    thead { tr { th { (v.t(T::Version)) } th { (v.t(T::Author)) } th { (v.t(T::Time)) } th { (v.t(T::Note)) } th {} } }
                    tbody {
                        @for ver in d.versions.iter().rev() {
                            tr {
                                td.num { a href={"/drafting/" (d.id) "?version=" (ver.version)} { (ver.version) } }
                                td { (ver.saved_by) }
                                td { (time(&ver.saved_at)) }
                                td { (ver.note) }
                                td { @if ver.version > 1 { a href={"/drafting/" (d.id) "?version=" (ver.version) "&diff=" (ver.version) "#diff"} { (v.t(T::Diff)) } } }
                            }
                        }
                    }
                }
                @if let Some((n, old, new)) = &diff {
                    h3 #diff { (v.t(T::Diff)) " " (n - 1) " → " (n) }
                    (diff_table(old, new))
                }
            }
            section.card #precedents-card {
                h2 { (v.t(T::Precedents)) }
                p.muted { (v.t(T::PrecedentsHelp)) }
                p { a #precedents-link href={"/drafting/" (d.id) "/precedents"} { (v.t(T::FindPrecedents)) } }
            }
            section.card #markup {
                h2 { (v.t(T::Markup)) }
                p.muted { (v.t(T::MarkupHelp)) }
                form.stack.upload method="post" action={"/drafting/" (d.id) "/markup"} enctype="multipart/form-data" {
                    (v.csrf_field())
                    input #markup-file type="file" name="file" required;
                    button type="submit" { (v.t(T::Compare)) }
                }
            }
            @if can_write {
                section.card #editor {
                    h2 { (v.t(T::EditText)) }
                    form.stack method="post" action={"/drafting/" (d.id) "/save"} {
                        (v.csrf_field())
                        input type="hidden" name="base_version" value=(d.version);
                        textarea #edit-text name="text" rows="18" required { (if shown == d.version { text.to_string() } else { String::new() }) }
                        label for="edit-note" { (v.t(T::EditNoteRequired)) }
                        input #edit-note type="text" name="note" required maxlength="1000";
                        button type="submit" { (v.t(T::SaveVersion)) }
                    }
                }
            }
        }
    }
}

/// The save form.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    /// The version edited.
    pub base_version: u32,
    /// The whole text.
    pub text: String,
    /// What the edit changes.
    #[serde(default)]
    pub note: String,
}

/// `POST /drafting/{id}/save`: the next version, or, when someone saved first, a page with the
/// diff and the sender's text kept in the editor.
pub async fn save(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<SaveForm>,
) -> Result<Response, AppError> {
    // Browsers send CRLF in text areas; the stored text uses LF.
    let text = f.text.replace("\r\n", "\n");
    let (actor, id2, text2, note) = (v.actor.clone(), id.clone(), text.clone(), f.note.clone());
    let saved = s
        .blocking(move |a| a.draft_save(&actor, &id2, f.base_version, &text2, &note))
        .await;
    match saved {
        Ok(d) => Ok(see_other(&format!(
            "/drafting/{}?version={}",
            d.id, d.version
        ))),
        Err(AssistantError::Conflict(message)) => {
            let id3 = id.clone();
            let d = s.blocking(move |a| a.draft_get(&id3)).await?;
            if d.version == f.base_version {
                // Not a stale edit (the same text again): the plain refusal.
                return Err(AssistantError::Conflict(message).into());
            }
            let body = html! {
                h1 { (d.title) }
                div.flash.bad role="alert" #conflict { (v.t(T::EditConflict)) }
                p { (message.lines().next().unwrap_or_default()) }
                p.muted { (v.t(T::EditConflictHelp)) }
                h2 { (v.t(T::Diff)) ": " (v.t(T::Current)) " (−) → " (v.t(T::Yours)) " (+)" }
                (diff_table(&d.text, &text))
                section.card {
                    form.stack method="post" action={"/drafting/" (d.id) "/save"} {
                        (v.csrf_field())
                        input type="hidden" name="base_version" value=(d.version);
                        textarea #edit-text name="text" rows="18" required { (text) }
                        label for="edit-note" { (v.t(T::EditNoteRequired)) }
                        input #edit-note type="text" name="note" required maxlength="1000" value=(f.note);
                        button type="submit" { (v.t(T::SaveVersion)) }
                    }
                }
            };
            let mut resp = page(&v, &d.title, Nav::Drafting, body);
            *resp.status_mut() = StatusCode::CONFLICT;
            // The page is the answer: the server keeps it instead of its generic error page.
            resp.extensions_mut().insert(super::OwnErrorPage);
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /drafting/proofread`: the report on an uploaded document, on the same page layout.
pub async fn proofread_upload(
    State(s): State<AppState>,
    v: Viewer,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let form = read_upload(&v.session, form, &["trade"]).await?;
    let trade = match form.field("trade").map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(trade_of(t)?),
        None => None,
    };
    let mut files = form.files;
    if files.len() != 1 {
        return Err(bad(format!(
            "file: send one document ({} sent)",
            files.len()
        )));
    }
    let (name, bytes) = files.remove(0);
    let name2 = name.clone();
    let (report, text, template) = s
        .blocking(move |a| {
            let doc = connectors::document::extract_text(
                connectors::document::Input::Bytes {
                    bytes: &bytes,
                    name: &name2,
                },
                &a.config.extract.settings().limits,
            )?;
            let (report, _, template) =
                a.proofread_upload(&name2, &bytes, trade.as_ref(), None, None, &[])?;
            Ok::<_, AssistantError>((report, doc.text(), template))
        })
        .await?;
    let body = html! {
        h1 { (v.t(T::Proofread)) ": " (name) }
        p.muted { @if let Some(t) = &template { (v.t(T::Template)) " " code { (t) } } }
        div.workspace {
            nav.outline {
                h2 { (v.t(T::Clauses)) }
                ol {
                    @for (i, s) in report.sections.iter().enumerate() {
                        @if s.level > 0 { li class={"lvl-" (s.level)} { a href={"#sec-" (i)} { (s.label()) } } }
                    }
                }
            }
            section.card.doc-card {
                h2 { (v.t(T::DocumentText)) }
                pre.doc #doc { (render_text(&v, &text, &[], &[], &report)) }
            }
            (findings_panel(&v, &report))
        }
    };
    Ok(page(&v, v.t(T::Proofread), Nav::Drafting, body))
}

/// `POST /drafting/{id}/markup`: the changes of a counterparty's copy, clause by clause, with
/// the redline, the firm's response and the issues list.
pub async fn markup(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let form = read_upload(&v.session, form, &[]).await?;
    let mut files = form.files;
    if files.len() != 1 {
        return Err(bad(format!(
            "file: send one mark-up ({} sent)",
            files.len()
        )));
    }
    let (name, bytes) = files.remove(0);
    let (actor, id2, name2) = (v.actor.clone(), id.clone(), name.clone());
    let (m, title) = s
        .blocking(move |a| {
            let m = a.draft_markup(&actor, &id2, &name2, &bytes)?;
            let title = a.draft_get(&id2)?.title;
            Ok::<_, AssistantError>((m, title))
        })
        .await?;
    let (n, list, ocr) = (&m.negotiation, &m.issues_list, m.ocr);
    let issues = format!("/drafting/{id}/markups/{}/issues", m.id);
    let response = |r: &drafting::negotiate::Response| match r {
        drafting::negotiate::Response::Accept => "accept".to_string(),
        drafting::negotiate::Response::Reject => "reject".to_string(),
        drafting::negotiate::Response::Counter {
            fallback: Some(i), ..
        } => format!("counter: fallback {}", i + 1),
        drafting::negotiate::Response::Counter { fallback: None, .. } => "counter".to_string(),
    };
    let body = html! {
        h1 { (v.t(T::Markup)) ": " (name) }
        p.muted { a href={"/drafting/" (id)} { (title) } " · " (n.clauses_matched) " / " (n.clauses_ours) " " (v.t(T::Clauses)) }
        @if ocr { div.flash.bad role="status" { (v.t(T::ScannedLowerConfidence)) } }
        @if n.changes.is_empty() { p { (v.t(T::NoChanges)) } }
        @for c in &n.changes {
            section.card.change data-clause=(c.clause.as_deref().unwrap_or("")) data-kind=(serde_json::to_value(c.kind).ok().and_then(|k| k.as_str().map(str::to_string)).unwrap_or_default()) {
                h2 { (c.section) " · " code { (format!("{:?}", c.kind).to_lowercase()) } }
                p { strong { (v.t(T::Response)) ": " } span.response { (response(&c.response)) } " — " (c.reason) }
                @if !c.impact.is_empty() { p.muted { (v.t(T::Impact)) ": " (c.impact) } }
                @for t in &c.talking_points { p.muted { "• " (t) } }
                pre.diff {
                    @for l in &c.redline {
                        @match l {
                            Line::Same(t) => { "  " (t) "\n" },
                            Line::Removed(t) => { del { "- " (t) } "\n" },
                            Line::Added(t) => { ins { "+ " (t) } "\n" },
                        }
                    }
                }
            }
        }
        h2 { (v.t(T::IssuesList)) }
        p #issues-downloads {
            a #issues-pdf href={(issues) "/pdf"} { "PDF" } " · "
            a #issues-docx href={(issues) "/docx"} { "DOCX" } " · "
            a #issues-md href={(issues) "/md"} { "Markdown" }
        }
        pre #issues-list { (list) }
    };
    Ok(page(&v, v.t(T::Markup), Nav::Drafting, body))
}

fn status_word(v: &Viewer, s: DraftStatus) -> &'static str {
    v.t(match s {
        DraftStatus::Drafting => T::StatusDrafting,
        DraftStatus::InApproval => T::StatusInApproval,
        DraftStatus::Rejected => T::StatusRejected,
        DraftStatus::Approved => T::StatusApproved,
        DraftStatus::Final => T::StatusFinal,
        DraftStatus::Executed => T::StatusExecuted,
    })
}

/// The approval, final documents and signed copies of a draft, with the actions the viewer's
/// role allows.
fn lifecycle_panel(v: &Viewer, d: &DraftRecord) -> Markup {
    let l = &d.lifecycle;
    let can_write = v.can(Permission::DraftsWrite);
    let can_decide = v.can(Permission::ApprovalsDecide);
    let base = format!("/drafting/{}", d.id);
    html! {
        section.card #lifecycle data-status=(l.status.as_str()) {
            h2 { (v.t(T::ApprovalAndSignature)) }
            p {
                (v.t(T::Status)) ": " strong #draft-status { (status_word(v, l.status)) }
                @if let Some(a) = &l.approval {
                    " · " a href={"/approvals/" (a.id)} { code { (a.id) } }
                    " (" (v.t(T::Version)) " " (a.version) ", " (a.state.as_str())
                    @if let Some(by) = &a.decided_by { ", " (by) }
                    ")"
                    @if let Some(r) = &a.reason { " · " (r) }
                }
            }
            @match l.status {
                DraftStatus::Drafting | DraftStatus::Rejected => {
                    @if can_write {
                        form method="post" action={(base) "/submit"} {
                            (v.csrf_field())
                            button #submit-approval type="submit" { (v.t(T::SendForApproval)) }
                        }
                        p.muted { (v.t(T::SendForApprovalHelp)) }
                    }
                }
                DraftStatus::InApproval => {
                    @if can_decide {
                        div.grid2 {
                            form.stack method="post" action={(base) "/approve"} {
                                (v.csrf_field())
                                input type="text" name="note" maxlength="1000" placeholder=(v.t(T::Note));
                                button #approve-draft type="submit" { (v.t(T::Approve)) }
                            }
                            form.stack method="post" action={(base) "/reject"} {
                                (v.csrf_field())
                                input type="text" name="reason" maxlength="1000" required placeholder=(v.t(T::Reason));
                                button.secondary type="submit" { (v.t(T::Reject)) }
                            }
                        }
                        p.muted { (v.t(T::FourEyesHelp)) }
                    }
                }
                DraftStatus::Approved => {
                    @if can_write {
                        form method="post" action={(base) "/finalise"} {
                            (v.csrf_field())
                            button #finalise type="submit" { (v.t(T::Finalise)) }
                        }
                    }
                }
                DraftStatus::Final | DraftStatus::Executed => {}
            }
            @if let Some(f) = &l.final_doc {
                p {
                    (v.t(T::FinalDocuments)) " (" (v.t(T::Version)) " " (f.version) ", " (v.t(T::Pages)) " " (f.pages) "): "
                    a #final-pdf href={(base) "/final/pdf"} { "PDF" } " · "
                    a href={(base) "/final/docx"} { "DOCX" }
                    @if f.conformed_sha256.is_some() { " · " a #conformed href={(base) "/final/conformed"} { (v.t(T::ConformedCopy)) } }
                }
                p.muted { "PDF SHA-256 " code #final-sha { (f.pdf_sha256) } " · " (f.finalised_by) " · " (time(&f.finalised_at)) }
                @if let Some(day) = &f.executed_on {
                    p.flash.ok #executed { (v.t(T::ExecutedOn)) " " (day) }
                }
                table {
                    thead { tr { th { (v.t(T::Party)) } th { (v.t(T::SignedOn)) } th { (v.t(T::File)) } th { (v.t(T::Match)) } } }
                    tbody {
                        @for (key, role, name) in &f.parties {
                            @let sig = l.signatures.iter().find(|s| &s.party == key);
                            tr data-party=(key) {
                                td { (role) ": " (name) }
                                td { @if let Some(s) = sig { (s.signed_on) } @else { "—" } }
                                td { @if let Some(s) = sig { (s.file_name) " (" (s.uploaded_by) ")" } }
                                td.num { @if let Some(s) = sig { (format!("{:.1}%", s.similarity * 100.0)) @if s.ocr { " OCR" } } }
                            }
                        }
                    }
                }
                @if l.status == DraftStatus::Final && can_write {
                    form.stack.upload method="post" action={(base) "/signatures"} enctype="multipart/form-data" {
                        (v.csrf_field())
                        label for="sign-party" { (v.t(T::Party)) }
                        select #sign-party name="party" {
                            @for (key, role, name) in &f.parties {
                                @if !l.signatures.iter().any(|s| &s.party == key) {
                                    option value=(key) { (role) ": " (name) }
                                }
                            }
                        }
                        label for="sign-date" { (v.t(T::SignedOn)) }
                        input #sign-date type="date" name="signed_on";
                        input #sign-file type="file" name="file" required;
                        button type="submit" { (v.t(T::UploadSignedCopy)) }
                    }
                }
            }
        }
    }
}

/// A form with only its token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {}

/// `POST /drafting/{id}/submit`.
pub async fn submit(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<TokenForm>,
) -> Result<Response, AppError> {
    let (actor, id2) = (v.actor.clone(), id.clone());
    s.blocking(move |a| a.draft_submit(&actor, &id2)).await?;
    Ok(see_other(&format!("/drafting/{id}#lifecycle")))
}

/// The approve form.
#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    /// The approver's note.
    #[serde(default)]
    pub note: String,
}

/// The draft's pending approval request and the version it covers.
fn pending_approval(a: &assistant::Assistant, id: &str) -> Result<(String, u32), AssistantError> {
    let d = a.draft_get(id)?;
    match (&d.lifecycle.approval, d.lifecycle.status) {
        (Some(ap), DraftStatus::InApproval) => Ok((ap.id.clone(), ap.version)),
        _ => Err(AssistantError::Conflict(format!(
            "draft {id} is {}: nothing waits for approval",
            d.lifecycle.status.as_str()
        ))),
    }
}

/// `POST /drafting/{id}/approve`: approves the draft's request (the queue's rules).
pub async fn approve(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<ApproveForm>,
) -> Result<Response, AppError> {
    let (actor, who, id2) = (v.actor.clone(), v.principal.clone(), id.clone());
    let note = Some(f.note).filter(|n| !n.trim().is_empty());
    s.blocking(move |a| {
        let (apr, _) = pending_approval(a, &id2)?;
        a.approve(&actor, &who, &apr, note.as_deref())
    })
    .await?;
    Ok(see_other(&format!("/drafting/{id}#lifecycle")))
}

/// The reject form.
#[derive(Debug, Deserialize)]
pub struct RejectForm {
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `POST /drafting/{id}/reject`.
pub async fn reject(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<RejectForm>,
) -> Result<Response, AppError> {
    let (actor, who, id2) = (v.actor.clone(), v.principal.clone(), id.clone());
    s.blocking(move |a| {
        let (apr, _) = pending_approval(a, &id2)?;
        a.reject(&actor, &who, &apr, &f.reason)
    })
    .await?;
    Ok(see_other(&format!("/drafting/{id}#lifecycle")))
}

/// `POST /drafting/{id}/finalise`.
pub async fn finalise(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<TokenForm>,
) -> Result<Response, AppError> {
    let (actor, id2) = (v.actor.clone(), id.clone());
    s.blocking(move |a| a.draft_finalise(&actor, &id2)).await?;
    Ok(see_other(&format!("/drafting/{id}#lifecycle")))
}

/// `GET /drafting/{id}/final/{what}`: the final PDF, DOCX or conformed copy.
pub async fn final_file(
    State(s): State<AppState>,
    _v: Viewer,
    Path((id, what)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (bytes, name, mime) = s.blocking(move |a| a.draft_final_file(&id, &what)).await?;
    Ok(crate::handlers::drafts::download(bytes, &name, mime))
}

/// `GET /drafting/{id}/precedents`: earlier confirmations in the knowledge base that word a
/// clause differently from the template, clause by clause, same counterparty first.
pub async fn precedents(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (actor, id2) = (v.actor.clone(), id.clone());
    let (p, title) = s
        .blocking(move |a| {
            let k = a.knowledge()?;
            let p = a.draft_precedents(&k, &actor, &id2)?;
            Ok::<_, AssistantError>((p, a.draft_get(&id2)?.title))
        })
        .await?;
    let body = html! {
        h1 { (v.t(T::Precedents)) }
        p.muted { a href={"/drafting/" (id)} { (title) } " · " (v.t(T::PrecedentsHelp)) }
        p.muted #precedent-documents {
            (p.documents.len()) " " (v.t(T::PrecedentDocuments)) ": "
            @for (i, d) in p.documents.iter().enumerate() {
                @if i > 0 { ", " }
                a href={"/knowledge/documents/" (d["doc_id"].as_str().unwrap_or(""))} { (d["title"].as_str().unwrap_or("")) }
            }
        }
        @if p.clauses.is_empty() { p #no-precedents { (v.t(T::NoPrecedents)) } }
        @for c in &p.clauses {
            section.card.precedent-clause data-clause=(c.clause.as_deref().unwrap_or("")) {
                h2 { (c.precedents.first().map(|w| w.wording.section.as_str()).unwrap_or("")) " · " code { (c.clause.as_deref().unwrap_or("+")) } }
                @for w in &c.precedents {
                    div.precedent {
                        p {
                            a href={"/knowledge/documents/" (w.doc_id)} { strong { (w.title) } }
                            @if w.same_counterparty { " · " span.badge.same-counterparty { (v.t(T::SameCounterparty)) } }
                        }
                        ul {
                            @for dv in &w.wording.deviations {
                                li {
                                    (dv.message)
                                    @if let Some(pos) = dv.position { " · " code { (serde_json::to_value(pos).ok().and_then(|x| x.as_str().map(str::to_string)).unwrap_or_default()) } }
                                }
                            }
                        }
                        @if !w.wording.text.is_empty() { pre.precedent-text { (w.wording.text) } }
                    }
                }
            }
        }
    };
    Ok(page(&v, v.t(T::Precedents), Nav::Drafting, body))
}

/// `GET /drafting/{id}/markups/{markup}/issues/{format}`: a mark-up's issues list as a
/// document.
pub async fn markup_issues(
    State(s): State<AppState>,
    _v: Viewer,
    Path((id, markup, format)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let (bytes, name, mime) = s
        .blocking(move |a| a.draft_markup_issues(&id, &markup, &format))
        .await?;
    Ok(crate::handlers::drafts::download(bytes, &name, mime))
}

/// `POST /drafting/{id}/signatures`: one party's signed copy.
pub async fn sign(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let form = read_upload(&v.session, form, &["party", "signed_on"]).await?;
    let field = |k: &str| {
        form.fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
    };
    let party = field("party").ok_or_else(|| bad("party: choose who signed".into()))?;
    let signed_on = field("signed_on").filter(|d| !d.is_empty());
    let mut files = form.files;
    if files.len() != 1 {
        return Err(bad(format!(
            "file: send one signed copy ({} sent)",
            files.len()
        )));
    }
    let (name, bytes) = files.remove(0);
    let (actor, id2) = (v.actor.clone(), id.clone());
    s.blocking(move |a| a.draft_sign(&actor, &id2, &party, signed_on.as_deref(), &name, &bytes))
        .await?;
    Ok(see_other(&format!("/drafting/{id}#lifecycle")))
}

/// `GET /drafting/library` query.
#[derive(Debug, Deserialize)]
pub struct LibraryQuery {
    /// Words to find in clauses.
    #[serde(default)]
    pub q: String,
}

/// `GET /drafting/library`.
pub async fn library(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<LibraryQuery>,
) -> Result<Response, AppError> {
    let query = q.q.trim().to_string();
    let q2 = query.clone();
    let (templates, hits) = s
        .blocking(move |a| {
            let hits = if q2.is_empty() {
                Vec::new()
            } else {
                a.template_search(&q2)?
            };
            Ok::<_, AssistantError>((a.template_list()?, hits))
        })
        .await?;
    let can_write = v.can(Permission::DraftsWrite);
    let body = html! {
        h1 { (v.t(T::ClauseLibrary)) }
        section.card {
            form.inline method="get" action="/drafting/library" {
                input #clause-query type="search" name="q" value=(query) placeholder=(v.t(T::Search));
                button type="submit" { (v.t(T::Search)) }
            }
            @if !query.is_empty() {
                @if hits.is_empty() { p.muted { (v.t(T::NoHits)) } }
                @for h in &hits {
                    article.clause-hit data-template=(h.template) data-clause=(h.clause.id) {
                        h3 { code { (h.template) " v" (h.version) } " · " (h.clause.number) " " (h.clause.heading) }
                        p.muted { (h.matched.join(", ")) @if !h.clause.tags.is_empty() { " · " (h.clause.tags.join(", ")) } }
                        pre.doc { (h.clause.text) }
                        @for (i, f) in h.clause.fallbacks.iter().enumerate() {
                            p { strong { (v.t(T::Fallback)) " " (i + 1) } " · " span class={"badge pos-" (f.position.as_str())} { (f.position.as_str()) } }
                            pre.doc { (f.text) }
                        }
                        @for n in &h.clause.notes { p.muted { (n) } }
                    }
                }
            }
        }
        section.card {
            table #templates {
                thead { tr { th { (v.t(T::Template)) } th { (v.t(T::Title)) } th { (v.t(T::Language)) } th { (v.t(T::Product)) } th { (v.t(T::Version)) } th { (v.t(T::Source)) } } }
                tbody {
                    @for t in &templates {
                        @let last = t.versions.last();
                        tr {
                            td { a href={"/v1/templates/" (t.id)} { code { (t.id) } } }
                            td { (t.title) }
                            td { (t.language.as_str()) }
                            td { (t.families.join(", ")) }
                            td.num { (t.version) }
                            td { @if let Some(l) = last { (l.origin) " · " (l.imported_by) " · " (time(&l.imported_at)) " · " (l.note) } }
                        }
                    }
                }
            }
        }
        @if can_write {
            div.grid2 {
                section.card {
                    h2 { (v.t(T::ImportTemplate)) " (Markdown)" }
                    form.stack #import-markdown method="post" action="/drafting/library" {
                        (v.csrf_field())
                        textarea #template-markdown name="markdown" rows="12" required {}
                        label for="import-note" { (v.t(T::EditNoteRequired)) }
                        input #import-note type="text" name="note" required maxlength="1000";
                        button type="submit" { (v.t(T::ImportTemplate)) }
                    }
                }
                section.card {
                    h2 { (v.t(T::ImportTemplate)) " (DOCX)" }
                    form.stack.upload #import-docx method="post" action="/drafting/library/docx" enctype="multipart/form-data" {
                        (v.csrf_field())
                        label for="docx-id" { "id" }
                        input #docx-id type="text" name="id" required maxlength="100";
                        label for="docx-title" { (v.t(T::Title)) }
                        input #docx-title type="text" name="title" required maxlength="200";
                        label for="docx-families" { (v.t(T::Product)) }
                        input #docx-families type="text" name="families" required placeholder="equity_option";
                        label for="docx-language" { (v.t(T::Language)) }
                        select #docx-language name="language" { option value="en" { "English" } option value="zh" { "中文" } }
                        label for="docx-note" { (v.t(T::EditNoteRequired)) }
                        input #docx-note type="text" name="note" required maxlength="1000";
                        input #docx-file type="file" name="file" required;
                        button type="submit" { (v.t(T::ImportTemplate)) }
                    }
                }
            }
        }
    };
    Ok(page(&v, v.t(T::ClauseLibrary), Nav::Drafting, body))
}

/// The Markdown import form.
#[derive(Debug, Deserialize)]
pub struct ImportForm {
    /// The template.
    #[serde(default)]
    pub markdown: String,
    /// Why.
    #[serde(default)]
    pub note: String,
}

/// `POST /drafting/library`.
pub async fn library_import(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<ImportForm>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let r = s
        .blocking(move |a| a.template_import(&actor, &f.markdown, "markdown", &f.note))
        .await?;
    Ok(see_other(&format!(
        "/drafting/library?q={}#templates",
        r.id
    )))
}

/// `POST /drafting/library/docx`.
pub async fn library_import_docx(
    State(s): State<AppState>,
    v: Viewer,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let form = read_upload(
        &v.session,
        form,
        &["id", "title", "families", "language", "note"],
    )
    .await?;
    let field = |k: &str| {
        form.fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let families: Vec<String> = field("families")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect();
    let language = lang_of(&field("language")).unwrap_or(Language::En);
    let (id, title, note) = (field("id"), field("title"), field("note"));
    let mut files = form.files;
    if files.len() != 1 {
        return Err(bad(format!("file: send one DOCX ({} sent)", files.len())));
    }
    let (name, bytes) = files.remove(0);
    let actor = v.actor.clone();
    s.blocking(move |a| {
        a.template_import_docx(
            &actor, &name, &bytes, &id, &title, &families, language, &note,
        )
    })
    .await?;
    Ok(see_other("/drafting/library#templates"))
}
