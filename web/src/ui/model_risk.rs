//! The model-risk dashboard (`/model-risk`): open alerts with acknowledge and resolve, every
//! chain of the inventory with its configured model, versions, mode and the switches (fallback,
//! pause, a restore request that another model-risk user approves), the watched figures now
//! against their thresholds with their last 24 hours as charts, the validation, bias and red-team
//! reports' latest results, and the model changes waiting for approval.

use super::i18n::{Lang, T, time};
use super::{CsrfForm, Nav, Viewer, badge, page, see_other};
use crate::error::AppError;
use crate::state::AppState;
use assistant::approvals::{ApprovalFilter, ApprovalKind};
use assistant::model_risk::{AlertState, ChainMode, VersionStatus};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{PreEscaped, html};
use policies::{ApprovalState, Permission};
use serde::Deserialize;

/// The suites whose latest results the dashboard shows (every chain's approval evidence among
/// them, `policies::validation::approval_evidence`).
pub(crate) const REPORTS: [&str; 12] = [
    "validate-pricing",
    "validate-rfq",
    "validate-rfq-model",
    "validate-extraction",
    "validate-answers",
    "drafting-free-text",
    "bias",
    "bias-content",
    "bias-history",
    "redteam",
    "injection",
    "abstention",
];

fn report_path(s: &AppState, suite: &str) -> std::path::PathBuf {
    s.assistant
        .config
        .storage
        .data_dir
        .join("evals")
        .join(suite)
        .join("report.json")
}

pub(crate) fn latest_report(s: &AppState, suite: &str) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(report_path(s, suite)).ok()?).ok()
}

/// `GET /model-risk`.
pub async fn index(State(s): State<AppState>, v: Viewer) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let (inventory, alerts, metrics, trend, changes, corrections) = s
        .blocking(move |a| {
            let inv = a.model_inventory(&actor)?;
            let alerts = a.model_alerts(&actor, false)?;
            let now = time::OffsetDateTime::now_utc();
            let metrics = a.chain_metrics(now)?;
            // The last 24 hours, hour by hour.
            let mut trend = Vec::new();
            for h in (0..24).rev() {
                let at = now - time::Duration::hours(h);
                trend.push((-(h as f64), a.chain_metrics(at)?));
            }
            let changes = a.list_approvals(
                &actor,
                &ApprovalFilter {
                    kind: Some(ApprovalKind::ModelChange),
                    state: Some(ApprovalState::Pending),
                    ..Default::default()
                },
            )?;
            let corrections = a.field_corrections(&actor, now, 7)?;
            Ok::<_, assistant::AssistantError>((inv, alerts, metrics, trend, changes, corrections))
        })
        .await?;
    let manage = v.can(Permission::EvalsRun);
    let series = |pred: &dyn Fn(&str) -> bool| -> Vec<evals::Series> {
        metrics
            .iter()
            .enumerate()
            .filter(|(_, m)| pred(m.rule.metric))
            .map(|(i, m)| evals::Series {
                name: format!("{} {}", m.rule.chain, m.rule.metric),
                points: trend
                    .iter()
                    .filter_map(|(x, ms)| ms.get(i).and_then(|m| m.value).map(|y| (*x, y)))
                    .collect(),
            })
            .collect()
    };
    let rates = evals::Plot {
        title: v.t(T::MrRates).into(),
        x_label: v.t(T::MrHoursAgo).into(),
        y_label: v.t(T::MrShare).into(),
        series: series(&|m| m.ends_with("_rate")),
    };
    let drift = evals::Plot {
        title: v.t(T::MrDrift).into(),
        x_label: v.t(T::MrHoursAgo).into(),
        y_label: "PSI".into(),
        series: series(&|m| m.starts_with("psi_")),
    };
    let body = html! {
        h1 { (v.t(T::ModelRisk)) }
        section.card #alerts {
            h2 { (v.t(T::MrAlerts)) }
            @if alerts.is_empty() {
                p.muted #no-alerts { (v.t(T::MrNoAlerts)) }
            } @else {
                table {
                    thead { tr {
                        th { (v.t(T::MrChain)) } th { (v.t(T::MrMetric)) } th { (v.t(T::MrValue)) }
                        th { (v.t(T::MrThreshold)) } th { (v.t(T::MrAction)) } th { (v.t(T::MrOpened)) }
                        th { (v.t(T::Status)) } th {}
                    } }
                    tbody {
                        @for al in &alerts {
                            tr data-id=(al.id) {
                                td { code { (al.chain) } } td { (al.metric) }
                                td.num { (format!("{:.3}", al.value)) } td.num { (al.threshold) }
                                td { (badge(&al.action)) } td { (time(&al.opened_at)) }
                                td { (badge(al.state.as_str())) @if let Some(n) = &al.note { " " (n) } }
                                td {
                                    @if manage {
                                        @if al.state == AlertState::Open {
                                            form.inline method="post" action={"/model-risk/alerts/" (al.id)} {
                                                (v.csrf_field())
                                                input type="hidden" name="state" value="acknowledged";
                                                button type="submit" { (v.t(T::MrAcknowledge)) }
                                            }
                                        }
                                        form.inline method="post" action={"/model-risk/alerts/" (al.id)} {
                                            (v.csrf_field())
                                            input type="hidden" name="state" value="resolved";
                                            input type="text" name="note" required maxlength="1000" aria-label=(v.t(T::MrNote)) placeholder=(v.t(T::MrNote));
                                            button type="submit" { (v.t(T::MrResolve)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !changes.is_empty() {
            section.card.alert #model-changes {
                h2 { (v.t(T::MrChanges)) }
                ul {
                    @for c in &changes {
                        li { a href={"/approvals/" (c.id)} { (c.title) } " · " (time(&c.created_at)) }
                    }
                }
            }
        }
        section.card #chains {
            h2 { (v.t(T::MrInventory)) }
            table {
                thead { tr {
                    th { (v.t(T::MrChain)) } th { (v.t(T::MrOwnerUse)) } th { (v.t(T::MrModel)) }
                    th { (v.t(T::MrVersions)) } th { (v.t(T::MrMode)) } th { (v.t(T::MrFallback)) } th {}
                } }
                tbody {
                    @for e in &inventory {
                        tr data-chain=(e.chain.id) {
                            td { strong { (e.chain.name) } br; code { (e.chain.id) }
                                @if !e.chain.governed { br; span.muted { (v.t(T::MrNotGoverned)) } } }
                            td { (e.chain.owner) br; span.muted { (e.chain.intended_use) } br; span.muted { (e.chain.limits) } }
                            td {
                                @match &e.configured {
                                    Some((m, w)) => { (m) br; code title=(w) { (w.chars().take(16).collect::<String>()) } }
                                    None => { span.muted { (v.t(T::MrNoModel)) } }
                                }
                            }
                            td {
                                @for ver in &e.versions {
                                    div { "v" (ver.version) " " (badge(ver.status.as_str())) " " (ver.model)
                                        @if let Some(id) = &ver.approval_id { " · " a href={"/approvals/" (id)} { (v.t(T::MrApproval)) } }
                                        @if manage && matches!(ver.status, VersionStatus::Retired | VersionStatus::Rejected) {
                                            form.inline method="post" action={"/model-risk/chains/" (e.chain.id) "/versions/" (ver.id) "/approval"} {
                                                (v.csrf_field())
                                                input type="hidden" name="reason" value={"version " (ver.version) " to serve again"};
                                                button type="submit" { (v.t(T::MrReinstate)) }
                                            }
                                        } }
                                }
                            }
                            td { (badge(e.mode.as_str()))
                                @if e.serves_model { " " span.status.approved { (v.t(T::MrServes)) } }
                                br; span.muted { (e.mode_reason) } }
                            td { (e.chain.fallback) }
                            td {
                                @if manage {
                                    @if e.mode == ChainMode::Model {
                                        form method="post" action={"/model-risk/chains/" (e.chain.id) "/mode"} {
                                            (v.csrf_field())
                                            input type="text" name="reason" required maxlength="500" placeholder=(v.t(T::MrReason)) aria-label=(v.t(T::MrReason));
                                            button type="submit" name="mode" value="fallback" { (v.t(T::MrToFallback)) }
                                            button.danger type="submit" name="mode" value="paused" { (v.t(T::MrPause)) }
                                            @if e.versions.iter().any(|x| x.status == VersionStatus::Retired && x.decided_at.is_some()) {
                                                button type="submit" formaction={"/model-risk/chains/" (e.chain.id) "/rollback"} { (v.t(T::MrRollback)) }
                                            }
                                        }
                                    } @else {
                                        form method="post" action={"/model-risk/chains/" (e.chain.id) "/restore"} {
                                            (v.csrf_field())
                                            input type="text" name="reason" required maxlength="500" placeholder=(v.t(T::MrReason)) aria-label=(v.t(T::MrReason));
                                            button type="submit" { (v.t(T::MrRestore)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #metrics {
            h2 { (v.t(T::MrMetricsNow)) }
            table {
                thead { tr {
                    th { (v.t(T::MrChain)) } th { (v.t(T::MrMetric)) } th { (v.t(T::MrWindow)) }
                    th { (v.t(T::MrCalls)) } th { (v.t(T::MrValue)) } th { (v.t(T::MrThreshold)) }
                    th { (v.t(T::MrAction)) } th { (v.t(T::Status)) }
                } }
                tbody {
                    @for m in &metrics {
                        tr data-metric=(m.rule.metric) {
                            td { code { (m.rule.chain) } }
                            td {
                                (m.rule.metric) br; span.muted { (m.rule.description) }
                                @match &m.baseline {
                                    Some(assistant::model_risk::Baseline::Validation { suite, report_sha256, cases }) => {
                                        br; span.muted.baseline data-baseline="validation" {
                                            (v.t(T::MrBaselineValidation)) " "
                                            a href={"/model-risk/reports/" (suite)} { (suite) }
                                            " (" (cases) " " (v.t(T::MrCases)) ", SHA-256 "
                                            code { (report_sha256.get(..12).unwrap_or(report_sha256)) } ")"
                                        }
                                    }
                                    Some(assistant::model_risk::Baseline::Production { calls }) => {
                                        br; span.muted.baseline data-baseline="production" {
                                            (v.t(T::MrBaselineProduction)) " (" (calls) ")"
                                        }
                                    }
                                    None => {}
                                }
                            }
                            td.num { (m.rule.window_secs / 60) " min" }
                            td.num { (m.calls) }
                            td.num { @match m.value { Some(x) => (format!("{x:.3}")), None => span.muted { "—" } } }
                            td.num { "≤ " (m.rule.max) }
                            td { (badge(m.rule.action.as_str())) }
                            td { @if m.breached { (badge("breached")) } @else if m.value.is_some() { (badge("ok")) } @else { span.muted { (v.t(T::MrTooFew)) } } }
                        }
                    }
                }
            }
            @if rates.series.iter().chain(&drift.series).all(|s| s.points.is_empty()) {
                p.muted #trend-empty { (v.t(T::MrNoTrend)) }
            }
            (PreEscaped(evals::report::svg_plot(&rates)))
            (PreEscaped(evals::report::svg_plot(&drift)))
            h3 #corrections { (v.t(T::MrCorrections)) " (" (corrections.0) " " (v.t(T::MrConfirmations)) ")" }
            @if corrections.1.is_empty() {
                p.muted { (v.t(T::MrNoCorrections)) }
            } @else {
                table {
                    thead { tr { th { (v.t(T::MrField)) } th.num { (v.t(T::MrCorrected)) } th.num { (v.t(T::MrShare)) } } }
                    tbody {
                        @for (field, k) in &corrections.1 {
                            tr { td { code { (field) } } td.num { (k) } td.num { (format!("{:.3}", *k as f64 / corrections.0.max(1) as f64)) } }
                        }
                    }
                }
            }
        }
        section.card #explain {
            h2 { (v.t(T::MrExplain)) }
            table {
                thead { tr { th { (v.t(T::MrDecision)) } th { (v.t(T::MrImpact)) } th { (v.t(T::MrExplains)) } } }
                tbody {
                    @for d in policies::explain::Decision::ALL {
                        @let (en, zh) = d.describe();
                        @let (req_en, req_zh) = d.impact().requirement();
                        tr {
                            td { code { (d.as_str()) } br; (if v.lang == Lang::Zh { zh } else { en }) }
                            td { (badge(d.impact().as_str())) }
                            td { (if v.lang == Lang::Zh { req_zh } else { req_en }) }
                        }
                    }
                }
            }
            p.muted { (v.t(T::MrExplainHint)) }
        }
        section.card #reports {
            h2 { (v.t(T::MrReports)) }
            table {
                thead { tr { th { (v.t(T::MrSuite)) } th { (v.t(T::Status)) } th { (v.t(T::MrRun)) } th {} th {} } }
                tbody {
                    @for suite in REPORTS {
                        @let r = latest_report(&s, suite);
                        tr {
                            td { code { (suite) } }
                            td { @match &r { Some(r) => { (badge(if r["passed"].as_bool() == Some(true) { "passed" } else { "failed" })) }, None => { span.muted { (v.t(T::MrNeverRun)) } } } }
                            td { @if let Some(r) = &r { (time(r["started_at"].as_str().unwrap_or(""))) } }
                            td { @if r.is_some() { a href={"/model-risk/reports/" (suite)} { (v.t(T::MrOpenReport)) } " · " a href={"/v1/evals/" (suite) "/report"} { "JSON" } } }
                            td { @if manage && suite != "bias-history" {
                                form.inline method="post" action={"/model-risk/reports/" (suite) "/run"} {
                                    (v.csrf_field())
                                    button.secondary type="submit" { (v.t(T::MrRunNow)) }
                                }
                            } }
                        }
                    }
                }
            }
            p.muted { (v.t(T::MrReportsHint)) }
        }
    };
    Ok(page(&v, v.t(T::ModelRisk), Nav::ModelRisk, body))
}

/// The alert form.
#[derive(Debug, Deserialize)]
pub struct AlertForm {
    /// `acknowledged` or `resolved`.
    pub state: AlertState,
    /// The note.
    #[serde(default)]
    pub note: String,
}

/// `POST /model-risk/alerts/{id}`.
pub async fn alert(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(f): CsrfForm<AlertForm>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    s.blocking(move |a| a.update_alert(&actor, &id, f.state, &f.note))
        .await?;
    Ok(see_other("/model-risk"))
}

/// The mode form.
#[derive(Debug, Deserialize)]
pub struct ModeForm {
    /// `fallback` or `paused`.
    pub mode: ChainMode,
    /// Why.
    pub reason: String,
}

/// `POST /model-risk/chains/{chain}/mode`.
pub async fn mode(
    State(s): State<AppState>,
    v: Viewer,
    Path(chain): Path<String>,
    CsrfForm(f): CsrfForm<ModeForm>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    s.blocking(move |a| a.set_chain_mode(&actor, &chain, f.mode, &f.reason))
        .await?;
    Ok(see_other("/model-risk"))
}

/// The restore form.
#[derive(Debug, Deserialize)]
pub struct RestoreForm {
    /// Why.
    pub reason: String,
}

/// `POST /model-risk/chains/{chain}/restore`: redirects to the approval it created.
pub async fn restore(
    State(s): State<AppState>,
    v: Viewer,
    Path(chain): Path<String>,
    CsrfForm(f): CsrfForm<RestoreForm>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let id = s
        .blocking(move |a| a.request_restore(&actor, &chain, &f.reason))
        .await?;
    Ok(see_other(&format!("/approvals/{id}")).into_response())
}

/// `POST /model-risk/chains/{chain}/rollback`: back to the previous approved version at once.
pub async fn rollback(
    State(s): State<AppState>,
    v: Viewer,
    Path(chain): Path<String>,
    CsrfForm(f): CsrfForm<RestoreForm>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    s.blocking(move |a| a.rollback_chain(&actor, &chain, &f.reason))
        .await?;
    Ok(see_other("/model-risk"))
}

/// `POST /model-risk/chains/{chain}/versions/{id}/approval`: redirects to the approval it
/// created.
pub async fn version_approval(
    State(s): State<AppState>,
    v: Viewer,
    Path((chain, version)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<RestoreForm>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let id = s
        .blocking(move |a| a.request_version_approval(&actor, &chain, &version, &f.reason))
        .await?;
    Ok(see_other(&format!("/approvals/{id}")).into_response())
}

/// `POST /model-risk/reports/{suite}/run`: starts a run of the suite (a background job; the
/// report and its audit entry follow when it ends) and returns to the dashboard.
pub async fn run_report(
    State(s): State<AppState>,
    v: Viewer,
    Path(suite): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, AppError> {
    crate::handlers::evals::start_run(&s, v.actor.clone(), suite).await?;
    Ok(see_other("/model-risk#reports"))
}

/// A form with nothing but its token.
#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `GET /model-risk/reports/{suite}`: the latest report of a suite on the page: verdict, run
/// metadata and SHA-256, every metric against its threshold, the charts, the failed cases and
/// the notes.
pub async fn report(
    State(s): State<AppState>,
    v: Viewer,
    Path(suite): Path<String>,
) -> Result<Response, AppError> {
    if suite != "bias-history" && !evals::suites().iter().any(|x| x.name() == suite) {
        return Err(AppError::NotFound(format!("no evaluation suite {suite:?}")));
    }
    let r = latest_report(&s, &suite)
        .ok_or_else(|| AppError::NotFound(format!("suite {suite:?} has not been run here yet")))?;
    let actor = v.actor.clone();
    let id = suite.clone();
    s.blocking(move |a| {
        a.audit_read(
            &actor,
            "eval.report.read",
            "eval_report",
            &id,
            policies::DataClass::IMPORTANT,
        )
    })
    .await?;
    let plots: Vec<evals::Plot> = serde_json::from_value(r["plots"].clone()).unwrap_or_default();
    let empty = Vec::new();
    let metrics = r["metrics"].as_array().unwrap_or(&empty);
    let cases = r["cases"].as_array().unwrap_or(&empty);
    let failed: Vec<&serde_json::Value> = cases
        .iter()
        .filter(|c| c["passed"].as_bool() == Some(false))
        .collect();
    // The SHA-256 of the file as stored, and the audit entry that signed it (none: the file was
    // changed after it was recorded, or never recorded).
    let sha = {
        use sha2::Digest;
        let bytes = std::fs::read(report_path(&s, &suite)).unwrap_or_default();
        hex::encode(sha2::Sha256::digest(bytes))
    };
    let (suite_for_seq, sha_for_seq) = (suite.clone(), sha.clone());
    let signed = s
        .blocking(move |a| a.evaluation_recorded(&suite_for_seq, &sha_for_seq))
        .await?;
    let body = html! {
        h1 { code { (suite) } " " (badge(if r["passed"].as_bool() == Some(true) { "passed" } else { "failed" })) }
        p { (r["description"].as_str().unwrap_or("")) }
        section.card {
            table { tbody {
                tr { th { (v.t(T::MrRun)) } td { (time(r["started_at"].as_str().unwrap_or(""))) " · " (r["duration_ms"]) " ms" } }
                tr { th { "git" } td { code { (r["metadata"]["git_commit"].as_str().unwrap_or("?")) } } }
                tr { th { (v.t(T::MrMachine)) } td { (r["metadata"]["hostname"].as_str().unwrap_or("?")) " · " (r["metadata"]["platform"].as_str().unwrap_or("?")) " · " (r["metadata"]["cpus"]) " CPUs · " (r["metadata"]["memory_gib"]) " GiB" } }
                tr { th { (v.t(T::MrModels)) } td { (r["metadata"]["model_ids"].as_array().map(|m| m.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default()) } }
                tr { th { "SHA-256" } td { code { (sha) } " " @match signed {
                    Some(seq) => { span.status.approved { (v.t(T::MrSignedAt)) " " (seq) } },
                    None => { span.status.rejected { (v.t(T::MrNotSigned)) } },
                } } }
            } }
        }
        section.card {
            h2 { (v.t(T::MrFigures)) }
            table {
                thead { tr { th { (v.t(T::MrMetric)) } th.num { (v.t(T::MrValue)) } th { (v.t(T::MrThreshold)) } th { (v.t(T::Status)) } } }
                tbody {
                    @for m in metrics {
                        tr {
                            td { code { (m["name"].as_str().unwrap_or("")) } }
                            td.num { (super::i18n::number(m["value"].as_f64().unwrap_or(f64::NAN), 3)) " " (m["unit"].as_str().unwrap_or("")) }
                            td { @match (m["threshold"]["op"].as_str(), m["threshold"]["value"].as_f64()) {
                                (Some("at_least"), Some(t)) => { "≥ " (super::i18n::number(t, 3)) },
                                (Some("at_most"), Some(t)) => { "≤ " (super::i18n::number(t, 3)) },
                                _ => {},
                            } }
                            td { @match m["passed"].as_bool() { Some(true) => { (badge("passed")) }, Some(false) => { (badge("failed")) }, None => {} } }
                        }
                    }
                }
            }
        }
        @for p in &plots {
            section.card { (PreEscaped(evals::report::svg_plot(p))) }
        }
        section.card #failed {
            h2 { (v.t(T::MrFailedCases)) " (" (failed.len()) " / " (cases.len()) ")" }
            @if failed.is_empty() { p.muted { (v.t(T::MrNoFailedCases)) } }
            @else { table { tbody {
                @for c in failed.iter().take(200) {
                    tr { td { code { (c["id"].as_str().unwrap_or("")) } } td { (c["detail"].as_str().unwrap_or("")) } }
                }
            } } }
        }
        @if let Some(notes) = r["notes"].as_array() {
            section.card {
                h2 { (v.t(T::MrNotes)) }
                ul { @for n in notes { li { (n.as_str().unwrap_or("")) } } }
            }
        }
        p { a href="/model-risk#reports" { "← " (v.t(T::ModelRisk)) } }
    };
    Ok(page(&v, v.t(T::ModelRisk), Nav::ModelRisk, body))
}
