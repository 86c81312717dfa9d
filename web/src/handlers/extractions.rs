//! Upload-and-extract over HTTP.
//!
//! - `POST /v1/extractions`: `multipart/form-data` with one or more file parts (any field name;
//!   the part's file name is kept for messages). The body may be up to
//!   `server.max_upload_bytes`; each file up to `extract.max_bytes` (a larger one is recorded
//!   as `too_large`). Answers `202 Accepted` with the job id at once; the files are extracted in
//!   the background.
//! - `GET /v1/extractions/{id}`: the job's state and, per file, its status, result (key terms,
//!   every value with its evidence, conflicts, problems, CDM) and approval request.
//! - `GET /v1/extractions/{id}/exports`: the approved files' exports (key terms, CDM JSON,
//!   extension, source SHA-256), exporting each on first request.
//! - `GET /v1/extraction-results/{id}` (the export record), `…/cdm` (the CDM
//!   TradeState alone), `…/key-terms` (the key-terms object alone): approved results only.
//! - `POST /v1/extraction-results/{id}/corrections`: a reviewer's corrections, applied
//!   as an approval edit.

use crate::error::AppError;
use crate::extract::{ApiJson, Ctx, multipart_error, upload_file_name};
use crate::state::AppState;
use assistant::approvals::Decided;
use assistant::extraction_review::{Correction, ExtractionExport, ExtractionView, Upload};
use assistant::jobs::Job;
use assistant::store::Actor;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /v1/extractions`.
pub async fn submit(
    State(s): State<AppState>,
    ctx: Ctx,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let mut multipart = multipart.map_err(|e| {
        if e.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE || e.status() == StatusCode::BAD_REQUEST
        {
            AppError::UnsupportedMediaType(
                "expected a multipart/form-data body with one or more files".into(),
            )
        } else {
            AppError::BadRequest {
                code: "bad_request",
                message: e.body_text(),
            }
        }
    })?;
    let mut files = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e.status(), e.body_text())),
        };
        let Some(name) = field.file_name().map(upload_file_name).transpose()? else {
            // A plain form field (no file name) is not a document.
            continue;
        };
        let bytes = field
            .bytes()
            .await
            .map_err(|e| multipart_error(e.status(), e.body_text()))?;
        files.push(Upload {
            name,
            bytes: bytes.to_vec(),
        });
    }
    if files.is_empty() {
        return Err(AppError::BadRequest {
            code: "invalid_request",
            message: "the upload holds no file part (send files as multipart/form-data parts with a filename)".into(),
        });
    }
    let job = start(&s, ctx.actor.clone(), files).await?;
    let files: Vec<Value> = job.input["files"].as_array().cloned().unwrap_or_default();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "job_id": job.id,
            "state": job.state,
            "files": files,
            "status_url": format!("/v1/extractions/{}", job.id),
        })),
    ))
}

/// Keeps the uploads, records the job and starts extracting it in the background: the one
/// way in for both the API and the Operations page.
pub(crate) async fn start(s: &AppState, actor: Actor, files: Vec<Upload>) -> Result<Job, AppError> {
    let job = s
        .blocking(move |a| a.extraction_submit(&actor, files))
        .await?;
    let id = job.id.clone();
    let a = s.assistant.clone();
    // Extraction takes seconds per page (OCR): it runs on a blocking worker and the client
    // polls `GET /v1/extractions/{id}` (or the job page).
    tokio::task::spawn_blocking(move || {
        if let Err(e) = a.extraction_run(&id) {
            tracing::error!(job = %id, error = %e, "extraction job failed");
            let _ = a.finish_job(&id, Err(e.to_string()));
        }
    });
    Ok(job)
}

/// `GET /v1/extractions/{id}`.
pub async fn get(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<ExtractionView>, AppError> {
    Ok(Json(
        s.blocking(move |a| a.extraction(&ctx.actor, &id)).await?,
    ))
}

/// `GET /v1/extractions/{id}/exports`.
pub async fn exports(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let list = s
        .blocking(move |a| a.extraction_exports(&ctx.actor, &id))
        .await?;
    Ok(Json(json!({ "exports": list })))
}

/// `GET /v1/extraction-results/{id}`.
pub async fn result(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<ExtractionExport>, AppError> {
    Ok(Json(
        s.blocking(move |a| a.extraction_export(&ctx.actor, &id))
            .await?,
    ))
}

/// `GET /v1/extraction-results/{id}/cdm`: the CDM TradeState alone.
pub async fn result_cdm(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let e = s
        .blocking(move |a| a.extraction_export(&ctx.actor, &id))
        .await?;
    e.cdm.map(Json).ok_or_else(|| {
        AppError::NotFound(format!(
            "approval {} has no CDM document (see its cdm_report)",
            e.approval_id
        ))
    })
}

/// `GET /v1/extraction-results/{id}/key-terms`: the key-terms object alone.
pub async fn result_key_terms(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let e = s
        .blocking(move |a| a.extraction_export(&ctx.actor, &id))
        .await?;
    Ok(Json(e.key_terms))
}

/// One correction in `POST …/corrections`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    /// The key-term leaf (`trade_date`, `notional.amount`, `other.coupon_rate`), or `cdm:` and
    /// the JSON pointer of a required CDM property the TradeState lacks (one of the result's
    /// `cdm_report.missing_required`), whose value is checked against the CDM schema.
    pub field: String,
    /// The corrected value; `null` removes the field.
    pub value: Value,
    /// Why (required).
    pub reason: String,
}

/// `POST …/corrections` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionsBody {
    /// The corrections.
    pub corrections: Vec<CorrectionBody>,
}

/// `POST /v1/extraction-results/{id}/corrections`.
pub async fn correct(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CorrectionsBody>,
) -> Result<Json<Decided>, AppError> {
    let corrections: Vec<Correction> = body
        .corrections
        .into_iter()
        .map(|c| Correction {
            field: c.field,
            value: (!c.value.is_null()).then_some(c.value),
            reason: c.reason,
        })
        .collect();
    let d = s
        .blocking(move |a| a.extraction_correct(&ctx.actor, &ctx.principal, &id, &corrections))
        .await?;
    Ok(Json(d))
}
