//! Reading and verifying the audit log.

use crate::error::AppError;
use crate::extract::{ApiQuery, Ctx};
use crate::state::AppState;
use assistant::store::VerifyReport;
use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /v1/audit` query.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuditQuery {
    /// First sequence number (default 1).
    pub from_seq: Option<u64>,
    /// Entries at or after this RFC 3339 time.
    pub from: Option<String>,
    /// Entries before this RFC 3339 time.
    pub to: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<usize>,
}

fn time_param(name: &str, v: Option<String>) -> Result<Option<String>, AppError> {
    v.map(|s| {
        assistant::store::time::parse(&s)
            .map(assistant::store::time::fmt)
            .ok_or_else(|| AppError::BadRequest {
                code: "invalid_query",
                message: format!("`{name}` must be an RFC 3339 time such as 2026-11-21T00:00:00Z"),
            })
    })
    .transpose()
}

/// `GET /v1/audit`: entries about objects above the caller's clearance come redacted
/// (`"redacted": true`, object id and details withheld; see `assistant::audit`).
pub async fn list(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Value>, AppError> {
    let query = assistant::audit::AuditQuery {
        from_seq: q.from_seq,
        from: time_param("from", q.from)?,
        to: time_param("to", q.to)?,
        limit: q.limit,
    };
    let entries = s
        .blocking(move |a| a.read_audit(&ctx.actor, &query))
        .await?;
    let next = entries.last().map(|e| e.entry.seq + 1);
    Ok(Json(json!({"entries": entries, "next_from_seq": next})))
}

/// `GET /v1/audit/verify`.
pub async fn verify(State(s): State<AppState>, _ctx: Ctx) -> Result<Json<VerifyReport>, AppError> {
    let r = s
        .blocking(|a| a.store().verify_audit())
        .await
        .map_err(assistant::AssistantError::from)?;
    Ok(Json(r))
}
