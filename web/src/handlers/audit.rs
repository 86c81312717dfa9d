//! Reading and verifying the audit log.

use crate::error::AppError;
use crate::extract::{ApiQuery, Ctx};
use crate::state::AppState;
use assistant::store::VerifyReport;
use axum::Json;
use axum::extract::State;
use policies::DataClass;
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /v1/audit` query.
#[derive(Debug, Default, Deserialize)]
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

/// `GET /v1/audit`.
pub async fn list(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Value>, AppError> {
    let from = time_param("from", q.from)?;
    let to = time_param("to", q.to)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let from_seq = q.from_seq.unwrap_or(1);
    let entries = s
        .blocking(move |a| {
            let entries =
                a.store()
                    .audit_entries(from_seq, from.as_deref(), to.as_deref(), limit)?;
            a.audit_read(
                &ctx.actor,
                "audit.read",
                "audit_log",
                &format!("from_seq={from_seq}"),
                DataClass::IMPORTANT,
            )?;
            Ok::<_, assistant::AssistantError>(entries)
        })
        .await?;
    let next = entries.last().map(|e| e.seq + 1);
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
