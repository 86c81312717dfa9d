//! Approvals: the queue (filters by state and kind) and one request with every payload
//! version, the diff between versions, and the approve / reject / edit forms. Decisions name
//! the version reviewed, so a decision on a payload that moved on is refused (409), and a
//! double-clicked approve decides once.

use super::i18n::{T, time};
use super::{CsrfForm, Nav, Viewer, badge, page, pretty, see_other};
use crate::error::AppError;
use crate::state::AppState;
use assistant::approvals::{ApprovalFilter, ApprovalKind};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use policies::{ApprovalState, Permission};
use serde::Deserialize;

/// The queue's filters.
#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    /// `pending` (default), `approved`, `rejected`, `expired`, `superseded` or `all`.
    pub state: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// A message to show (after a decision).
    pub done: Option<String>,
}

const STATES: [&str; 6] = [
    "pending",
    "approved",
    "rejected",
    "expired",
    "superseded",
    "all",
];

/// `GET /approvals`.
pub async fn list(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let state_name = q.state.clone().unwrap_or_else(|| "pending".into());
    let state = match state_name.as_str() {
        "all" => None,
        other => Some(
            other
                .parse::<ApprovalState>()
                .map_err(|_| AppError::BadRequest {
                    code: "invalid_query",
                    message: format!("state {other:?}: use one of {}", STATES.join(", ")),
                })?,
        ),
    };
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(
            k.parse::<ApprovalKind>()
                .map_err(|e| AppError::BadRequest {
                    code: "invalid_query",
                    message: format!("kind: {e}"),
                })?,
        ),
    };
    let actor = v.actor.clone();
    let filter = ApprovalFilter {
        state,
        kind,
        limit: Some(500),
        ..ApprovalFilter::default()
    };
    let rows = s
        .blocking(move |a| a.list_approvals(&actor, &filter))
        .await?;
    let body = html! {
        h1 { (v.t(T::Approvals)) }
        form.inline method="get" action="/approvals" {
            label for="state" { (v.t(T::State)) }
            select #state name="state" {
                @for st in STATES {
                    option value=(st) selected[st == state_name] { (st) }
                }
            }
            label for="kind" { (v.t(T::Kind)) }
            input #kind type="text" name="kind" value=(q.kind.clone().unwrap_or_default()) placeholder="quote, extraction, …";
            button.secondary type="submit" { (v.t(T::Filter)) }
        }
        @if rows.is_empty() {
            p.muted { (v.t(T::NoApprovals)) }
        } @else {
            table {
                thead { tr {
                    th { (v.t(T::Title)) } th { (v.t(T::Kind)) } th { (v.t(T::State)) }
                    th { (v.t(T::Maker)) } th { (v.t(T::RequiredRole)) } th { (v.t(T::Classification)) }
                    th.num { (v.t(T::Version)) } th { (v.t(T::Created)) } th { (v.t(T::Expires)) }
                } }
                tbody {
                    @for a in &rows {
                        tr data-id=(a.id) {
                            td { a href={"/approvals/" (a.id)} { (a.title) } }
                            td { (a.kind.as_str()) }
                            td { (badge(a.state.as_str())) }
                            td { (a.maker) }
                            td { (a.required_role.as_str()) }
                            td { (a.classification.to_string()) }
                            td.num { (a.version) }
                            td { (time(&a.created_at)) }
                            td { (time(&a.expires_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, v.t(T::Approvals), Nav::Approvals, body))
}

/// A flash message after a decision.
#[derive(Debug, Deserialize, Default)]
pub struct DetailQuery {
    /// What was just done.
    pub done: Option<String>,
}

/// `GET /approvals/{id}`.
pub async fn detail(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let (a, missing) = s
        .blocking(move |a| {
            let x = a.get_approval(&actor, &id)?;
            let missing =
                if x.kind == ApprovalKind::ModelChange && x.state == ApprovalState::Pending {
                    a.approval_missing_evidence(&actor, &x)?
                } else {
                    Vec::new()
                };
            Ok::<_, assistant::AssistantError>((x, missing))
        })
        .await?;
    let can_decide = v.can(Permission::ApprovalsDecide)
        && a.state == ApprovalState::Pending
        && a.required_role == v.principal.role;
    // A model change is decided on evidence: the latest validation, bias and red-team reports,
    // each marked whether it ran after the approval was asked for.
    let model_change = a.kind == ApprovalKind::ModelChange;
    // The chain's required evidence first (policies::validation::approval_evidence), then the
    // other reports for context.
    let required =
        policies::validation::approval_evidence(a.payload["chain"].as_str().unwrap_or(""));
    let evidence: Vec<(&str, bool, Option<serde_json::Value>)> = if model_change {
        required
            .iter()
            .map(|suite| (*suite, true))
            .chain(
                super::model_risk::REPORTS
                    .iter()
                    .filter(|x| !required.contains(x))
                    .map(|suite| (*suite, false)),
            )
            .map(|(suite, req)| (suite, req, super::model_risk::latest_report(&s, suite)))
            .collect()
    } else {
        Vec::new()
    };
    let version_approval = model_change && a.payload["action"] == "approve_version";
    let body = html! {
        h1 { (a.title) }
        @if let Some(done) = q.done.as_deref().and_then(|d| match d {
            "approved" => Some(T::Approved),
            "rejected" => Some(T::Rejected),
            "edited" => Some(T::EditedNewVersion),
            _ => None,
        }) {
            div.flash.ok role="status" { (v.t(T::Done)) " " (v.t(done)) }
        }
        section.card {
            table {
                tbody {
                    tr { th { (v.t(T::Kind)) } td { (a.kind.as_str()) } }
                    tr { th { (v.t(T::State)) } td { (badge(a.state.as_str())) } }
                    tr { th { (v.t(T::Maker)) } td { (a.maker) " (" (a.maker_role) ")" } }
                    tr { th { (v.t(T::RequiredRole)) } td { (a.required_role.as_str()) } }
                    tr { th { (v.t(T::FourEyes)) } td { (if a.four_eyes { v.t(T::Yes) } else { v.t(T::No) }) } }
                    tr { th { (v.t(T::Classification)) } td { (a.classification.to_string()) } }
                    tr { th { (v.t(T::Created)) } td { (time(&a.created_at)) } }
                    tr { th { (v.t(T::Expires)) } td { (time(&a.expires_at)) } }
                    @if let Some(by) = &a.decided_by {
                        tr { th { (v.t(T::DecidedBy)) } td { (by) " · " (a.decided_at.as_deref().map(time).unwrap_or_default()) } }
                    }
                    @if let Some(r) = &a.reason {
                        tr { th { (v.t(T::Reason)) } td { (r) } }
                    }
                    @if let Some(d) = &a.delivery {
                        tr { th { (v.t(T::Delivery)) } td { pre { (pretty(&serde_json::to_value(d).unwrap_or_default())) } } }
                    }
                }
            }
        }
        h2 { (v.t(T::Payload)) " · " (v.t(T::Version)) " " (a.version) }
        pre { (pretty(&a.payload)) }
        @if model_change {
            section.card #evidence {
                h2 { (v.t(T::MrEvidence)) }
                table {
                    thead { tr { th { (v.t(T::MrSuite)) } th { (v.t(T::Status)) } th { (v.t(T::MrRun)) } th {} } }
                    tbody {
                        @for (suite, req, r) in &evidence {
                            tr {
                                td { code { (suite) } @if *req { " " span.status.pending { (v.t(T::MrRequired)) } } }
                                td { @match r { Some(r) => { (badge(if r["passed"].as_bool() == Some(true) { "passed" } else { "failed" })) }, None => { span.muted { (v.t(T::MrNeverRun)) } } } }
                                td { @if let Some(r) = r {
                                    @let at = r["started_at"].as_str().unwrap_or("");
                                    (time(at))
                                    @if at > a.created_at.as_str() { " " span.status.approved { (v.t(T::MrSinceRequest)) } }
                                    @else { " " span.muted { (v.t(T::MrBeforeRequest)) } }
                                } }
                                td { @if r.is_some() { a href={"/v1/evals/" (suite) "/report"} { "JSON" } } }
                            }
                        }
                    }
                }
                @if version_approval && a.state == ApprovalState::Pending {
                    @if missing.is_empty() {
                        p.flash.ok { (v.t(T::MrEvidenceComplete)) }
                    } @else {
                        div.flash.bad role="alert" #missing-evidence {
                            (v.t(T::MrMissing))
                            ul { @for m in &missing { li { (m) } } }
                        }
                    }
                }
                p.muted { (v.t(T::MrEvidenceHint)) }
            }
        }
        @if can_decide {
            div.grid2 {
                section.card {
                    h2 { (v.t(T::Decision)) }
                    form.stack method="post" action={"/approvals/" (a.id) "/approve"} {
                        (v.csrf_field())
                        input type="hidden" name="version" value=(a.version);
                        label for="note" { (v.t(T::Note)) }
                        input #note type="text" name="note" maxlength="1000";
                        button type="submit" { (v.t(T::Approve)) }
                    }
                    form.stack method="post" action={"/approvals/" (a.id) "/reject"} {
                        (v.csrf_field())
                        label for="reason" { (v.t(T::Reason)) }
                        input #reason type="text" name="reason" required maxlength="1000";
                        button.danger type="submit" { (v.t(T::Reject)) }
                    }
                }
                @if !model_change { section.card {
                    h2 { (v.t(T::EditPayload)) }
                    form.stack method="post" action={"/approvals/" (a.id) "/edit"} {
                        (v.csrf_field())
                        input type="hidden" name="version" value=(a.version);
                        textarea name="payload" required { (pretty(&a.payload)) }
                        label for="edit-note" { (v.t(T::Note)) }
                        input #edit-note type="text" name="note" maxlength="1000";
                        button.secondary type="submit" { (v.t(T::EditAndSave)) }
                    }
                } }
            }
        }
        h2 { (v.t(T::Versions)) }
        @for ver in a.versions.iter().rev() {
            section.card {
                p { strong { (v.t(T::Version)) " " (ver.version) } " · " (ver.author) " · " (time(&ver.created_at))
                    @if let Some(n) = &ver.note { " · " (v.t(T::Note)) ": " (n) } }
                @if !ver.diff.is_empty() {
                    table {
                        thead { tr { th { (v.t(T::Field)) } th { (v.t(T::Before)) } th { (v.t(T::After)) } } }
                        tbody {
                            @for c in &ver.diff {
                                tr {
                                    td { code { (c.path) } }
                                    td { @if let Some(b) = &c.before { code { (b.to_string()) } } }
                                    td { @if let Some(x) = &c.after { code { (x.to_string()) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, &a.title, Nav::Approvals, body))
}

/// The approve form.
#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    /// The version reviewed.
    pub version: u32,
    /// The approver's note.
    #[serde(default)]
    pub note: String,
}

/// `POST /approvals/{id}/approve`.
pub async fn approve(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<ApproveForm>,
) -> Result<Response, AppError> {
    let (actor, who, id2) = (v.actor.clone(), v.principal.clone(), id.clone());
    let note = Some(f.note).filter(|n| !n.trim().is_empty());
    s.blocking(move |a| a.approve_version(&actor, &who, &id2, note.as_deref(), Some(f.version)))
        .await?;
    Ok(see_other(&format!("/approvals/{id}?done=approved")))
}

/// The reject form.
#[derive(Debug, Deserialize)]
pub struct RejectForm {
    /// Why.
    #[serde(default)]
    pub reason: String,
}

/// `POST /approvals/{id}/reject`.
pub async fn reject(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<RejectForm>,
) -> Result<Response, AppError> {
    let (actor, who, id2) = (v.actor.clone(), v.principal.clone(), id.clone());
    s.blocking(move |a| a.reject(&actor, &who, &id2, &f.reason))
        .await?;
    Ok(see_other(&format!("/approvals/{id}?done=rejected")))
}

/// The edit form.
#[derive(Debug, Deserialize)]
pub struct EditForm {
    /// The version edited from.
    pub version: u32,
    /// The new payload, as JSON.
    pub payload: String,
    /// Why.
    #[serde(default)]
    pub note: String,
}

/// `POST /approvals/{id}/edit`.
pub async fn edit(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<EditForm>,
) -> Result<Response, AppError> {
    let payload: serde_json::Value =
        serde_json::from_str(&f.payload).map_err(|e| AppError::BadRequest {
            code: "invalid_json",
            message: format!("payload: not valid JSON: {e}"),
        })?;
    let (actor, who, id2) = (v.actor.clone(), v.principal.clone(), id.clone());
    let note = Some(f.note).filter(|n| !n.trim().is_empty());
    s.blocking(move |a| {
        a.edit_approval_from(
            &actor,
            &who,
            &id2,
            payload,
            note.as_deref(),
            Some(f.version),
        )
    })
    .await?;
    Ok(see_other(&format!("/approvals/{id}?done=edited")))
}
