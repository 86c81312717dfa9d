//! The approval queue over HTTP.
//!
//! A payload is checked when a request is created and at every edit (the generic checks for
//! every kind, a typed validator for `quote` and `extraction`; see `assistant::approvals::payload`):
//! an invalid one is `400 invalid_request` with the field in the message
//! (`payload.quote.client: must be > 0, not -99`) and nothing is stored.

use crate::error::AppError;
use crate::extract::{ApiJson, ApiQuery, Ctx, OptionalJson};
use crate::state::AppState;
use assistant::approvals::{Approval, ApprovalFilter, ApprovalKind, Decided, NewApproval};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use policies::{ApprovalState, DataClass, Role};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /v1/approvals` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApproval {
    /// Artifact kind (`quote`, `extraction`, `confirmation_draft` — typed, each a workflow's own — or a caller's own: `report`, `term_sheet`, …).
    pub kind: String,
    /// One-line description.
    pub title: String,
    /// The artifact.
    pub payload: Value,
    /// Who must decide.
    #[schemars(with = "crate::openapi::RoleName")]
    pub required_role: Role,
    /// Ask for four eyes; policy may force it on.
    #[serde(default)]
    pub four_eyes: bool,
    /// Deadline in seconds from now (default from configuration).
    pub expires_in_secs: Option<u64>,
    /// `general`, `important` (default), `core`, optionally `+sensitive`.
    pub classification: Option<String>,
    /// A pending request of yours that this one replaces.
    pub supersedes: Option<String>,
}

/// `GET /v1/approvals` query.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ListQuery {
    /// `pending`, `approved`, `rejected`, `expired`, `superseded`.
    pub state: Option<String>,
    /// Artifact kind.
    pub kind: Option<String>,
    /// The deciding role.
    #[schemars(with = "Option<crate::openapi::RoleName>")]
    pub required_role: Option<Role>,
    /// The maker.
    pub maker: Option<String>,
    /// At most this many (default 100).
    pub limit: Option<u32>,
}

/// `POST …/approve` body (optional).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ApproveBody {
    /// A note kept with the decision.
    pub note: Option<String>,
    /// The payload version the approver reviewed; when the request has moved on since, the
    /// approval is refused with 409 `conflict`.
    pub version: Option<u32>,
}

/// `POST …/reject` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why; required.
    pub reason: String,
}

/// `POST …/edit` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    /// The edited payload, whole; checked like the original.
    pub payload: Value,
    /// Why it was edited: required for a quote whose figure moves more than 10% from the
    /// desk's.
    pub note: Option<String>,
    /// The payload version the edit starts from; when another edit landed since, the edit is
    /// refused with 409 `conflict`.
    pub version: Option<u32>,
}

/// `GET /v1/approvals`.
pub async fn list(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let state = q
        .state
        .as_deref()
        .map(|st| {
            ApprovalState::parse(st).ok_or_else(|| AppError::BadRequest {
                code: "invalid_query",
                message: format!(
                    "state {st:?} is not one of pending, approved, rejected, expired, superseded"
                ),
            })
        })
        .transpose()?;
    let kind = q
        .kind
        .as_deref()
        .map(|k| {
            k.parse::<ApprovalKind>().map_err(|e| AppError::BadRequest {
                code: "invalid_query",
                message: format!("kind: {e}"),
            })
        })
        .transpose()?;
    let filter = ApprovalFilter {
        state,
        kind,
        required_role: q.required_role,
        maker: q.maker,
        limit: q.limit,
    };
    let items = s
        .blocking(move |a| a.list_approvals(&ctx.actor, &filter))
        .await?;
    Ok(Json(json!({"approvals": items})))
}

/// `POST /v1/approvals` (header `Idempotency-Key` makes retries return the first request).
pub async fn create(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateApproval>,
) -> Result<(StatusCode, Json<Approval>), AppError> {
    let class: DataClass = match body.classification.as_deref() {
        None => DataClass::IMPORTANT,
        Some(c) => {
            c.parse().map_err(
                |e: policies::classification::InvalidClass| AppError::BadRequest {
                    code: "invalid_request",
                    message: format!("classification: {e}"),
                },
            )?
        }
    };
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(128).collect());
    let kind: ApprovalKind = body.kind.parse().map_err(|e| AppError::BadRequest {
        code: "invalid_request",
        message: format!("kind: {e}"),
    })?;
    let new = NewApproval {
        kind,
        title: body.title,
        payload: body.payload,
        required_role: body.required_role,
        four_eyes: body.four_eyes,
        expires_in: body
            .expires_in_secs
            .map(|n| time::Duration::seconds(n.min(i64::MAX as u64) as i64)),
        class,
        supersedes: body.supersedes,
        idempotency_key,
    };
    let a = s
        .blocking(move |a| a.create_approval(&ctx.actor, new))
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// `GET /v1/approvals/{id}`.
pub async fn get(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<Approval>, AppError> {
    Ok(Json(
        s.blocking(move |a| a.get_approval(&ctx.actor, &id)).await?,
    ))
}

/// `POST /v1/approvals/{id}/approve`.
pub async fn approve(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ApproveBody>,
) -> Result<Json<Decided>, AppError> {
    let d = s
        .blocking(move |a| {
            a.approve_version(
                &ctx.actor,
                &ctx.principal,
                &id,
                body.note.as_deref(),
                body.version,
            )
        })
        .await?;
    Ok(Json(d))
}

/// `POST /v1/approvals/{id}/reject`.
pub async fn reject(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RejectBody>,
) -> Result<Json<Decided>, AppError> {
    let d = s
        .blocking(move |a| a.reject(&ctx.actor, &ctx.principal, &id, &body.reason))
        .await?;
    Ok(Json(d))
}

/// `POST /v1/approvals/{id}/edit`.
pub async fn edit(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditBody>,
) -> Result<Json<Decided>, AppError> {
    let d = s
        .blocking(move |a| {
            a.edit_approval_from(
                &ctx.actor,
                &ctx.principal,
                &id,
                body.payload,
                body.note.as_deref(),
                body.version,
            )
        })
        .await?;
    Ok(Json(d))
}
