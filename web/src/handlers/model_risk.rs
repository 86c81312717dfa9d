//! The model-risk team's API: the inventory of model-backed chains with their versions and
//! modes, each watched figure against its threshold, alerts (acknowledge, resolve), switching a
//! chain to its fallback or pausing it, and asking for it to go back to its model (a
//! `model_change` approval). See `assistant::model_risk`.

use crate::error::AppError;
use crate::extract::{ApiJson, ApiQuery, Ctx};
use crate::state::AppState;
use assistant::model_risk::{AlertState, ChainMode};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /v1/model-risk/inventory`.
pub async fn inventory(State(s): State<AppState>, ctx: Ctx) -> Result<Json<Value>, AppError> {
    let inv = s.blocking(move |a| a.model_inventory(&ctx.actor)).await?;
    Ok(Json(json!({"chains": inv})))
}

/// `GET /v1/model-risk/metrics`: every watched figure now, against its threshold.
pub async fn metrics(State(s): State<AppState>, ctx: Ctx) -> Result<Json<Value>, AppError> {
    let m = s
        .blocking(move |a| {
            a.model_inventory(&ctx.actor)?;
            a.chain_metrics(time::OffsetDateTime::now_utc())
        })
        .await?;
    Ok(Json(json!({"metrics": m})))
}

/// The alert listing's query.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// Include resolved alerts.
    #[serde(default)]
    pub all: bool,
}

/// `GET /v1/model-risk/alerts`.
pub async fn alerts(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AlertsQuery>,
) -> Result<Json<Value>, AppError> {
    let list = s
        .blocking(move |a| a.model_alerts(&ctx.actor, q.all))
        .await?;
    Ok(Json(json!({"alerts": list})))
}

/// An alert update.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertUpdate {
    /// `acknowledged` or `resolved`.
    #[schemars(with = "crate::openapi::AlertStateName")]
    pub state: AlertState,
    /// A note (required to resolve).
    #[serde(default)]
    pub note: String,
}

/// `POST /v1/model-risk/alerts/{id}`.
pub async fn update_alert(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AlertUpdate>,
) -> Result<Json<Value>, AppError> {
    let alert = s
        .blocking(move |a| a.update_alert(&ctx.actor, &id, body.state, &body.note))
        .await?;
    Ok(Json(json!({"alert": alert})))
}

/// A mode switch.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeChange {
    /// `fallback` or `paused` (back to `model` only by [`restore`]).
    #[schemars(with = "crate::openapi::ChainModeName")]
    pub mode: ChainMode,
    /// Why.
    pub reason: String,
}

/// `POST /v1/model-risk/chains/{chain}/mode`.
pub async fn set_mode(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(chain): Path<String>,
    ApiJson(body): ApiJson<ModeChange>,
) -> Result<Json<Value>, AppError> {
    let c = chain.clone();
    let mode = s
        .blocking(move |a| {
            a.set_chain_mode(&ctx.actor, &c, body.mode, &body.reason)?;
            a.chain_mode(&c)
        })
        .await?;
    Ok(Json(json!({"chain": chain, "mode": mode})))
}

/// A restore request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Restore {
    /// Why the chain may go back to its model.
    pub reason: String,
}

/// `POST /v1/model-risk/chains/{chain}/restore`: a `model_change` approval for another
/// model-risk user; answers `202 {"approval_id"}`.
pub async fn restore(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(chain): Path<String>,
    ApiJson(body): ApiJson<Restore>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let id = s
        .blocking(move |a| a.request_restore(&ctx.actor, &chain, &body.reason))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"approval_id": id}))))
}

/// `POST /v1/model-risk/chains/{chain}/rollback`: back to the previous approved version at once
/// (model-risk role); answers the version now approved.
pub async fn rollback(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(chain): Path<String>,
    ApiJson(body): ApiJson<Restore>,
) -> Result<Json<Value>, AppError> {
    let v = s
        .blocking(move |a| a.rollback_chain(&ctx.actor, &chain, &body.reason))
        .await?;
    Ok(Json(json!({"approved_version": v})))
}

/// `POST /v1/model-risk/chains/{chain}/versions/{id}/approval`: a four-eyes `model_change`
/// approval for that version to serve again; answers `202 {"approval_id"}`.
pub async fn version_approval(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((chain, version)): Path<(String, String)>,
    ApiJson(body): ApiJson<Restore>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let id = s
        .blocking(move |a| a.request_version_approval(&ctx.actor, &chain, &version, &body.reason))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"approval_id": id}))))
}
