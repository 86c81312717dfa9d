//! Evaluation suites for the model-risk team: list them with their latest result, run one in the
//! background, read its latest report. A run is a job (`kind: "eval"`); its report is written to
//! `data_dir/evals/SUITE/` (`report.json` and `report.html`), as `deskmate eval SUITE --out`
//! writes it. Reports are classified `important`.

use crate::error::AppError;
use crate::extract::Ctx;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use policies::DataClass;
use serde_json::{Value, json};
use std::path::PathBuf;

fn reports_dir(s: &AppState, suite: &str) -> PathBuf {
    s.assistant
        .config
        .storage
        .data_dir
        .join("evals")
        .join(suite)
}

fn known(suite: &str) -> Result<(), AppError> {
    if evals::suites().iter().any(|s| s.name() == suite) {
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "no evaluation suite {suite:?}; GET /v1/evals lists them"
        )))
    }
}

fn latest(s: &AppState, suite: &str) -> Option<Value> {
    let text = std::fs::read_to_string(reports_dir(s, suite).join("report.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// `GET /v1/evals`.
pub async fn list(State(s): State<AppState>, _ctx: Ctx) -> Json<Value> {
    let suites: Vec<Value> = evals::suites()
        .iter()
        .map(|suite| {
            let last = latest(&s, suite.name()).map(|r| {
                json!({
                    "started_at": r["started_at"], "duration_ms": r["duration_ms"],
                    "passed": r["passed"], "metrics": r["metrics"],
                })
            });
            json!({"name": suite.name(), "description": suite.description(), "latest": last})
        })
        .collect();
    Json(json!({"suites": suites}))
}

/// `GET /v1/evals/{id}/report`: the latest report of suite `id`.
pub async fn report(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(suite): Path<String>,
) -> Result<Json<Value>, AppError> {
    // `bias-history` is run by the server nightly on its own blotter (`deskmate eval
    // bias-history`), not on demand; its report is read like a suite's.
    if suite != "bias-history" {
        known(&suite)?;
    }
    let r = latest(&s, &suite).ok_or_else(|| {
        AppError::NotFound(format!(
            "suite {suite:?} has not been run here yet; POST /v1/evals/{suite}/runs"
        ))
    })?;
    let id = suite.clone();
    s.blocking(move |a| {
        a.audit_read(
            &ctx.actor,
            "eval.report.read",
            "eval_report",
            &id,
            DataClass::IMPORTANT,
        )
    })
    .await?;
    Ok(Json(r))
}

/// `POST /v1/evals/{id}/runs`: runs suite `id` in the background; answers `202 {"job"}`.
pub async fn run(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(suite): Path<String>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let job = start_run(&s, ctx.actor.clone(), suite).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"job": job}))))
}

/// Starts a run of `suite` as `actor` in the background (a job of kind `eval`): the report goes
/// to `data_dir/evals/SUITE/` and into the audit log (`evals::run_recorded`), where a model
/// version's approval looks for its evidence. Returns the job.
pub(crate) async fn start_run(
    s: &AppState,
    actor: assistant::store::Actor,
    suite: String,
) -> Result<assistant::jobs::Job, AppError> {
    known(&suite)?;
    let name = suite.clone();
    let creator = actor.clone();
    let job = s
        .blocking(move |a| {
            a.create_job(
                &creator,
                assistant::jobs::JobKind::Eval,
                DataClass::IMPORTANT,
                json!({"suite": name}),
            )
        })
        .await?;
    let (id, dir, work) = (job.id.clone(), reports_dir(s, &suite), s.clone());
    tokio::spawn(async move {
        work.blocking(move |a| {
            let _ = a.start_job(&id);
            let ctx = evals::context_for(a, &suite);
            let outcome = evals::run_recorded(a, &actor, &suite, &ctx, &dir)
                .map(|(r, sha)| {
                    json!({
                        "suite": r.suite, "passed": r.passed, "duration_ms": r.duration_ms,
                        "report_sha256": sha,
                        "metrics": r.metrics,
                        "cases": r.cases.len(),
                        "failed_cases": r.cases.iter().filter(|c| !c.passed).count(),
                        "report": format!("/v1/evals/{}/report", r.suite),
                    })
                })
                .map_err(|e| e.to_string());
            if let Err(e) = a.finish_job(&id, outcome) {
                tracing::error!(job = %id, error = %e, "cannot record an evaluation run");
            }
        })
        .await;
    });
    Ok(job)
}
