//! The compliance page (issue #19): pick or paste a trade, see which regimes apply with their
//! deadlines, the field-by-field matrix with the differences highlighted (each value opens the
//! provision that requires it), the differences that matter and what the trade lacks; export
//! the comparison; validate a report the firm already has; ask about the rules in the side
//! panel. Everything goes through the same workflow as the API (`assistant::reporting`).

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use ::compliance::catalogue::{Catalogue, Provision, SourceKind};
use ::compliance::compare::{Comparison, Status};
use ::compliance::elements::Cell;
use ::compliance::regime::Role;
use assistant::reporting::{CompareRequest, TradeInput};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::i18n::T;
use super::{CsrfForm, Nav, Viewer, page, read_upload};
use crate::error::AppError;
use crate::state::AppState;

fn bad(field: &str, reason: impl std::fmt::Display) -> AppError {
    AppError::BadRequest {
        code: "invalid_request",
        message: format!("{field}: {reason}"),
    }
}

/// The comparison form (also carried by the export and validation forms).
#[derive(Debug, Deserialize, Default, Clone)]
pub struct CompareForm {
    /// CDM JSON or FpML XML.
    #[serde(default)]
    pub trade: String,
    /// Reporting facts (JSON).
    #[serde(default)]
    pub facts: String,
    /// A draft id.
    #[serde(default)]
    pub draft: String,
    /// An approved extraction's approval id.
    #[serde(default)]
    pub extraction: String,
    /// Empty (those that apply) or `all`.
    #[serde(default)]
    pub regimes: String,
    /// `csv` or `xlsx` (export only).
    #[serde(default)]
    pub format: String,
}

impl CompareForm {
    fn request(&self) -> Result<CompareRequest, AppError> {
        let mut sources = Vec::new();
        let t = self.trade.trim();
        if !t.is_empty() {
            if t.starts_with('<') {
                sources.push(TradeInput::Fpml(t.to_owned()));
            } else {
                let v: Value = serde_json::from_str(t)
                    .map_err(|e| bad("trade", format!("neither CDM JSON nor FpML XML: {e}")))?;
                sources.push(TradeInput::Cdm(v));
            }
        }
        if !self.draft.trim().is_empty() {
            sources.push(TradeInput::Draft(self.draft.trim().to_owned()));
        }
        if !self.extraction.trim().is_empty() {
            sources.push(TradeInput::Extraction(self.extraction.trim().to_owned()));
        }
        if sources.len() != 1 {
            return Err(bad(
                "trade",
                "give exactly one of: a trade document, a draft id, an extraction",
            ));
        }
        let facts = if self.facts.trim().is_empty() {
            None
        } else {
            let v: Value = serde_json::from_str(&self.facts)
                .map_err(|e| bad("facts", format!("not JSON: {e}")))?;
            Some(
                serde_path_to_error::deserialize(v)
                    .map_err(|e| bad(&format!("facts.{}", e.path()), e.inner()))?,
            )
        };
        let regimes = match self.regimes.trim() {
            "" => Vec::new(),
            "all" => vec!["all".to_owned()],
            other => other
                .split(',')
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect(),
        };
        Ok(CompareRequest {
            trade: sources.pop().expect("one source"),
            facts,
            regimes,
            reporting_timestamp: None,
        })
    }
}

/// `?example=` of `GET /compliance`.
#[derive(Debug, Deserialize, Default)]
pub struct IndexQuery {
    /// A DRR example trade's folder name.
    #[serde(default)]
    pub example: Option<String>,
}

/// The example trades beside the configured catalogue (ISDA DRR's test inputs), when present.
fn examples(s: &AppState) -> Vec<String> {
    let Some(dir) = example_dir(s) else {
        return Vec::new();
    };
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().join("input.cdm.json").is_file())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn example_dir(s: &AppState) -> Option<std::path::PathBuf> {
    let (provisions, _) = s.assistant.config.compliance.sources();
    let p = provisions.parent()?.join("drr-reports");
    p.is_dir().then_some(p)
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Missing => "st-missing",
        Status::DifferentValue => "st-value",
        Status::DifferentFormat => "st-format",
        Status::OnlyInSome => "st-some",
        Status::Same => "st-same",
    }
}

fn status_word(v: &Viewer, s: Status) -> &'static str {
    v.t(match s {
        Status::Missing => T::StatusMissing,
        Status::DifferentValue => T::StatusValue,
        Status::DifferentFormat => T::StatusFormat,
        Status::OnlyInSome => T::StatusOnlySome,
        Status::Same => T::StatusSame,
    })
}

fn show(v: &Value) -> String {
    match v.as_str() {
        Some(s) => s.to_owned(),
        None => v.to_string(),
    }
}

fn kind_word(v: &Viewer, k: SourceKind) -> &'static str {
    v.t(match k {
        SourceKind::RegulatoryText => T::RegulatoryText,
        SourceKind::IsdaInterpretation => T::IsdaInterpretation,
        SourceKind::Firm => T::FirmProvision,
    })
}

fn provision_block(v: &Viewer, p: &Provision) -> Markup {
    html! {
        div.provision {
            a href=(format!("/compliance/provisions/{}", p.id)) { code { (p.id) } }
            " " span.tag { (kind_word(v, p.kind)) }
            @if let Some(n) = &p.number { " " strong { (n) } }
            @if let Some(n) = &p.name { " " (n) }
            p { (p.text) }
            p.muted { (p.reference) }
        }
    }
}

fn forms(v: &Viewer, f: &CompareForm, examples: &[String]) -> Markup {
    html! {
        @if !examples.is_empty() {
            form.inline method="get" action="/compliance" {
                label for="example" { (v.t(T::ExampleTrade)) }
                select #example name="example" {
                    @for e in examples { option value=(e) { (e) } }
                }
                button.secondary type="submit" { (v.t(T::LoadExample)) }
            }
        }
        form.stack #compare-form method="post" action="/compliance/compare" {
            (v.csrf_field())
            label for="trade" { (v.t(T::TradeDocument)) }
            textarea #trade name="trade" rows="10" { (f.trade) }
            div.inline {
                label for="draft" { (v.t(T::DraftId)) }
                input #draft type="text" name="draft" value=(f.draft);
                label for="extraction" { (v.t(T::ExtractionId)) }
                input #extraction type="text" name="extraction" value=(f.extraction);
            }
            label for="facts" { (v.t(T::ReportingFacts)) }
            textarea #facts name="facts" rows="3" placeholder="{\"reporting_party_lei\": \"…\", \"reporting_party_regimes\": [{\"body\": \"ESMA\"}]}" { (f.facts) }
            div.inline {
                label for="regimes" { (v.t(T::RegimesToCompare)) }
                select #regimes name="regimes" {
                    option value="" selected[f.regimes.is_empty()] { (v.t(T::ApplicableRegimes)) }
                    option value="all" selected[f.regimes == "all"] { (v.t(T::AllRegimes)) }
                }
                button #compare type="submit" { (v.t(T::CompareReports)) }
                button.secondary type="submit" name="format" value="csv" formaction="/compliance/export" { (v.t(T::ExportCsv)) }
                button.secondary type="submit" name="format" value="xlsx" formaction="/compliance/export" { (v.t(T::ExportXlsx)) }
            }
        }
    }
}

fn side_panel(v: &Viewer, f: &CompareForm) -> Markup {
    html! {
        section.card {
            h2 { (v.t(T::AskRules)) }
            p.muted { (v.t(T::AskRulesHelp)) }
            form.stack method="get" action="/compliance/ask" {
                input type="text" name="q" placeholder="How does EMIR define the execution timestamp, and does CFTC differ?";
                button type="submit" { (v.t(T::AskRules)) }
            }
        }
        section.card {
            h2 { (v.t(T::ValidateReport)) }
            form.stack method="post" action="/compliance/validate" enctype="multipart/form-data" {
                (v.csrf_field())
                input type="hidden" name="trade" value=(f.trade);
                input type="hidden" name="facts" value=(f.facts);
                input type="hidden" name="draft" value=(f.draft);
                input type="hidden" name="extraction" value=(f.extraction);
                label for="v-regime" { (v.t(T::RegimeCol)) }
                select #v-regime name="regime" {
                    @for r in ::compliance::regime::regimes() { option value=(r.id) { (r.id) } }
                }
                label for="v-report" { (v.t(T::ReportFile)) }
                input #v-report type="file" name="report" accept=".json,.csv,application/json,text/csv";
                button type="submit" { (v.t(T::Validate)) }
            }
        }
    }
}

fn role_word(v: &Viewer, r: Role) -> &'static str {
    v.t(match r {
        Role::ReportingParty => T::RoleReportingParty,
        Role::CounterpartyOnly => T::RoleCounterpartyOnly,
        Role::Requested => T::RoleRequested,
    })
}

fn result(v: &Viewer, c: &Comparison, cat: &Catalogue) -> Markup {
    let zh = v.lang.as_str() == "zh";
    let provisions: BTreeMap<&str, &Provision> =
        cat.provisions.iter().map(|p| (p.id.as_str(), p)).collect();
    html! {
        section.card {
            h2 { (v.t(T::RegimesToCompare)) " · " span.muted { (v.t(T::CatalogueVersion)) " " (c.catalogue_version) } }
            table #regimes-table {
                thead { tr { th { (v.t(T::RegimeCol)) } th { (v.t(T::RoleCol)) } th { (v.t(T::DeadlineCol)) } th { (v.t(T::SourceCol)) } } }
                tbody {
                    @for col in &c.columns {
                        tr {
                            td { strong { (if zh { col.name_zh } else { col.name }) } br; code { (col.id) } " · " span.muted { (col.authority) } }
                            td { (role_word(v, col.role)) }
                            td { strong { (col.deadline.short) } br; (if zh { col.deadline.rule_zh } else { col.deadline.rule }) }
                            td { (col.deadline.source) }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (v.t(T::DifferencesThatMatter)) }
            ul #summary {
                @for s in (if zh { &c.summary_zh } else { &c.summary }).iter().take(40) { li { (s) } }
            }
            @if c.summary.len() > 40 { p.muted { "… " (c.summary.len() - 40) } }
        }
        section.card {
            h2 { (v.t(T::MissingFacts)) }
            @if c.missing.is_empty() {
                p { (v.t(T::NothingMissing)) }
            } @else {
                table #missing-table {
                    thead { tr { th { (v.t(T::RegimeCol)) } th { (v.t(T::FieldCol)) } th { (v.t(T::MissingValue)) } } }
                    tbody { @for (r, f, n) in &c.missing { tr { td { code { (r) } } td { code { (f) } } td { (::compliance::i18n::localise(n, v.lang.as_str())) } } } }
                }
            }
        }
        section.card {
            h2 { (v.t(T::Matrix)) }
            p.muted { (v.t(T::MatrixHelp)) }
            div.scroll {
                table.matrix #matrix {
                    thead {
                        tr {
                            th { (v.t(T::FieldCol)) }
                            th { (v.t(T::CdeCol)) }
                            @for col in &c.columns { th { code { (col.id) } } }
                        }
                    }
                    tbody {
                        @for r in &c.rows {
                            tr class=(status_class(r.status)) data-field=(r.key) {
                                td { code { (r.key) } br; span class={"status " (status_class(r.status))} { (status_word(v, r.status)) } }
                                td {
                                    @if let Some(cde) = if zh { r.cde_zh } else { r.cde } { (cde) }
                                    @if let Some(j) = &r.jrt { br; span.muted { "JR/T " (j) } }
                                }
                                @for m in &r.cells {
                                    td data-regime=(m.regime) {
                                        @match &m.cell {
                                            None => { span.muted { (v.t(T::NotAsked)) } }
                                            Some(cell) => {
                                                details {
                                                    summary {
                                                        @match cell {
                                                            Cell::Value { value } => { (show(value)) }
                                                            Cell::Default { value, .. } => { (show(value)) " " span.tag { (v.t(T::RuleDefault)) } }
                                                            Cell::Missing { .. } => { span.status.bad { (v.t(T::MissingValue)) } }
                                                        }
                                                    }
                                                    @if let Some(f) = &m.field { p { code { (f) } } }
                                                    @if let Cell::Default { reason, .. } = cell { p.muted { (::compliance::i18n::localise(reason, v.lang.as_str())) } }
                                                    @if let Cell::Missing { needed } = cell { p { (::compliance::i18n::localise(needed, v.lang.as_str())) } }
                                                    @if let Some(from) = &m.provision_from { p.muted { (v.t(T::SharedCde)) " " (from) } }
                                                    @for id in m.provisions.iter().take(2) {
                                                        @if let Some(p) = provisions.get(id.as_str()) { (provision_block(v, p)) }
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
            }
        }
    }
}

fn compliance_page(v: &Viewer, f: &CompareForm, examples: &[String], result: Markup) -> Response {
    let body = html! {
        h1 { (v.t(T::ComplianceTitle)) }
        p.muted { (v.t(T::ComplianceHelp)) }
        div.grid2 {
            section.card { (forms(v, f, examples)) }
            div { (side_panel(v, f)) }
        }
        (result)
    };
    page(v, v.t(T::Compliance), Nav::Compliance, body)
}

/// `GET /compliance`: the forms (an example trade loaded with `?example=`).
pub async fn index(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<IndexQuery>,
) -> Result<Response, AppError> {
    let ex = examples(&s);
    let mut f = CompareForm::default();
    if let Some(name) = q.example.filter(|n| ex.contains(n)) {
        let p = example_dir(&s).map(|d| d.join(&name).join("input.cdm.json"));
        if let Some(text) = p.and_then(|p| std::fs::read_to_string(p).ok()) {
            f.trade = text;
        }
    }
    Ok(compliance_page(&v, &f, &ex, html! {}))
}

/// `POST /compliance/compare`.
pub async fn compare(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<CompareForm>,
) -> Result<Response, AppError> {
    let req = f.request()?;
    let actor = v.actor.clone();
    let (cmp, cat) = s
        .blocking(move |a| {
            Ok::<_, assistant::AssistantError>((
                a.compliance_compare(&actor, &req)?,
                a.compliance_catalogue()?,
            ))
        })
        .await?;
    let ex = examples(&s);
    Ok(compliance_page(&v, &f, &ex, result(&v, &cmp, &cat)))
}

/// `POST /compliance/export`: the comparison as CSV or XLSX.
pub async fn export(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<CompareForm>,
) -> Result<Response, AppError> {
    let req = f.request()?;
    let format = f.format.clone();
    if !matches!(format.as_str(), "csv" | "xlsx") {
        return Err(bad("format", "csv or xlsx"));
    }
    let actor = v.actor.clone();
    let file = s
        .blocking(move |a| {
            let cmp = a.compliance_compare(&actor, &req)?;
            crate::handlers::compliance::comparison_file(a, &cmp, &format)
        })
        .await?
        .ok_or_else(|| bad("format", "csv or xlsx"))?;
    Ok(crate::handlers::compliance::download(file))
}

/// `POST /compliance/validate`: multipart (form token first), the trade fields, `regime` and
/// the report file.
pub async fn validate(
    State(s): State<AppState>,
    v: Viewer,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let up = read_upload(
        &v.session,
        form,
        &["trade", "facts", "draft", "extraction", "regime"],
    )
    .await?;
    let f = CompareForm {
        trade: up.field("trade").unwrap_or_default().to_owned(),
        facts: up.field("facts").unwrap_or_default().to_owned(),
        draft: up.field("draft").unwrap_or_default().to_owned(),
        extraction: up.field("extraction").unwrap_or_default().to_owned(),
        ..CompareForm::default()
    };
    let regime = up.field("regime").unwrap_or_default().to_owned();
    let (_, bytes) = up
        .files
        .into_iter()
        .next()
        .ok_or_else(|| bad("report", "choose the report file (JSON or CSV)"))?;
    let req = f.request()?;
    let actor = v.actor.clone();
    let val = s
        .blocking(move |a| a.compliance_validate(&actor, &req, &regime, &bytes))
        .await?;
    let zh = v.lang.as_str() == "zh";
    let card = html! {
        section.card #findings {
            h2 { (v.t(T::ReportFindings)) " · " code { (val.regime) } " · " (val.fields) " " (v.t(T::FieldCol)) }
            @if val.findings.is_empty() {
                p.flash.ok { (v.t(T::NoReportFindings)) }
            } @else {
                table {
                    thead { tr { th { (v.t(T::FieldCol)) } th { "" } th { "" } th { (v.t(T::Provision)) } } }
                    tbody {
                        @for f in &val.findings {
                            tr {
                                td { code { (f.field) } }
                                td { span class={"status " (if matches!(f.severity, ::compliance::validate::Severity::Error) { "bad" } else { "pending" })} { (f.code) } }
                                td { (if zh { &f.message_zh } else { &f.message }) }
                                td { @for p in &f.provisions { a href=(format!("/compliance/provisions/{p}")) { code { (p) } } " " } }
                            }
                        }
                    }
                }
            }
        }
    };
    let ex = examples(&s);
    Ok(compliance_page(&v, &f, &ex, card))
}

/// `?q=` of `GET /compliance/ask`.
#[derive(Debug, Deserialize, Default)]
pub struct AskQuery {
    /// The question.
    #[serde(default)]
    pub q: String,
}

/// `GET /compliance/ask?q=`: a cited answer from the rule corpus, each citation a provision.
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
                a.compliance_ask(&k, &actor, &question, &mut |_| ControlFlow::Continue(()))
            })
            .await?,
        )
    };
    let body = html! {
        h1 { (v.t(T::AskRules)) }
        section.card {
            p.muted { (v.t(T::AskRulesHelp)) }
            // With the script, the answer streams into the page (the quoted provisions at once,
            // then the model's checked sentences); without it the form waits for the answer.
            form.stack method="get" action="/compliance/ask" data-ask-stream="/compliance/ask/stream" {
                input type="text" name="q" value=(q.q);
                button type="submit" { (v.t(T::AskRules)) }
            }
        }
        div #ask-result aria-live="polite" {
            @if let Some(r) = &answer { (answer_section(&v, r)) }
        }
    };
    Ok(page(&v, v.t(T::AskRules), Nav::Compliance, body))
}

/// A rule answer: the machine label, the text (the quoted provisions, then the model's
/// sentences), the citations linked to their provisions.
fn answer_section(v: &Viewer, r: &assistant::reporting::RuleAnswer) -> Markup {
    html! {
        section.card #rule-answer {
            p.machine { (v.t(T::Machine)) " · " (r.answer.model) }
            @if r.answer.found { p.answer-text { (r.answer.text) } } @else { p.flash.bad { (v.t(T::NotFoundInDocs)) } }
            @if !r.answer.citations.is_empty() {
                h2 { (v.t(T::Citations)) }
                ol {
                    @for c in &r.answer.citations {
                        li {
                            "[" (c.n) "] "
                            @if let Some((_, id)) = r.provisions.iter().find(|(n, _)| *n == c.n) {
                                @if id.starts_with("drr:") || id.starts_with("jrt:") || id.starts_with("firm:") {
                                    a href=(format!("/compliance/provisions/{id}")) { code { (id) } }
                                } @else { code { (id) } }
                                " · "
                            }
                            (c.path)
                        }
                    }
                }
            }
        }
    }
}

/// The rendered answer the streaming page receives last.
#[derive(Debug, serde::Serialize)]
pub struct AnswerHtml {
    /// The answer section, as [`ask`] renders it.
    pub html: String,
}

/// `GET /compliance/ask/stream?q=`: the answer as server-sent events for the page's script:
/// `delta` (text as it is released: the quoted provisions first, then each checked sentence),
/// then `answer` (`{"html"}`: the rendered answer with its linked citations) or `error`.
pub async fn ask_stream(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<AskQuery>,
) -> Result<Response, AppError> {
    let question = q.q.trim().to_owned();
    if question.is_empty() {
        return Err(bad("q", "a question is required"));
    }
    let viewer = v.clone();
    crate::handlers::documents::answer_response(s, true, move |a, on_delta| {
        let k = a.knowledge()?;
        let r = a.compliance_ask(&k, &viewer.actor, &question, on_delta)?;
        Ok(AnswerHtml {
            html: answer_section(&viewer, &r).into_string(),
        })
    })
    .await
}

/// `GET /compliance/provisions/{id}`.
pub async fn provision(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let p = s
        .blocking(move |a| a.compliance_provision(&actor, &id))
        .await?;
    let body = html! {
        h1 { (v.t(T::Provision)) " " code { (p.id) } }
        section.card {
            table { tbody {
                tr { th { (v.t(T::RegimeCol)) } td { (p.regime) " · " (p.report_type) } }
                tr { th { (v.t(T::FieldCol)) } td { code { (p.field_key) } @if let Some(n) = &p.number { " · " (n) } @if let Some(n) = &p.name { " · " (n) } } }
                tr { th { (v.t(T::SourceCol)) } td { span.tag { (kind_word(&v, p.kind)) } " " (p.body) " · " (p.corpus) } }
            } }
            blockquote #provision-text { (p.text) }
            p.muted { (p.reference) }
        }
    };
    Ok(page(&v, &p.id, Nav::Compliance, body))
}
