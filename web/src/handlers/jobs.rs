//! Background jobs.

use crate::error::AppError;
use crate::extract::{ApiQuery, Ctx};
use crate::state::AppState;
use assistant::jobs::Job;
use axum::Json;
use axum::extract::{Path, State};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /v1/jobs` query.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct JobsQuery {
    /// At most this many (default 50).
    pub limit: Option<u32>,
}

/// `GET /v1/jobs`.
pub async fn list(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<JobsQuery>,
) -> Result<Json<Value>, AppError> {
    let jobs = s
        .blocking(move |a| a.list_jobs(&ctx.actor, q.limit.unwrap_or(50)))
        .await?;
    Ok(Json(json!({"jobs": jobs})))
}

/// `GET /v1/jobs/{id}`.
pub async fn get(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<Job>, AppError> {
    Ok(Json(s.blocking(move |a| a.get_job(&ctx.actor, &id)).await?))
}
