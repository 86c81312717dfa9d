//! Market data and events over HTTP (research and risk, #20).
//!
//! - `POST /v1/market-data`: `multipart/form-data` with one CSV or JSON file of daily bars and
//!   optional `contract` and `unit` fields (the contract of a file without a contract column,
//!   what its prices are in when it has no unit column): imported
//!   whole or refused naming the row and column; the reply lists the notices and the move
//!   events the file made.
//! - `GET /v1/market-data`: the contracts held, each with its first and last day.
//! - `GET /v1/market-data/{contract}?from=&to=`: a contract's bars.
//! - `GET /v1/events?kind=move|risk&contract=`: events, newest first.
//! - `POST /v1/events`: `{"topic", "products", "from", "until"}` opens a risk event.
//! - `GET /v1/events/{id}`: one event.

use crate::error::AppError;
use crate::extract::{ApiJson, Ctx};
use crate::handlers::drafts::upload;
use crate::state::AppState;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /v1/market-data`.
pub async fn import(
    State(s): State<AppState>,
    ctx: Ctx,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<assistant::market::ImportReport>), AppError> {
    let ((name, bytes), fields) = upload(multipart, &["contract", "unit"]).await?;
    let field = |k: &str| {
        fields
            .get(k)
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
    };
    let (contract, unit) = (field("contract"), field("unit"));
    let r = s
        .blocking(move |a| {
            a.market_import(
                &ctx.actor,
                &name,
                &bytes,
                contract.as_deref(),
                unit.as_deref(),
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// `GET /v1/market-data`.
pub async fn contracts(State(s): State<AppState>, ctx: Ctx) -> Result<Json<Value>, AppError> {
    let c = s.blocking(move |a| a.market_contracts(&ctx.actor)).await?;
    Ok(Json(json!({ "contracts": c })))
}

/// `GET /v1/market-data/{contract}` query.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BarsQuery {
    /// The first day (`YYYY-MM-DD`), inclusive.
    #[serde(default)]
    pub from: Option<String>,
    /// The last day, inclusive.
    #[serde(default)]
    pub to: Option<String>,
}

/// `GET /v1/market-data/{contract}`.
pub async fn bars(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(contract): Path<String>,
    Query(q): Query<BarsQuery>,
) -> Result<Json<Value>, AppError> {
    let c = contract.clone();
    let bars = s
        .blocking(move |a| a.market_bars(&ctx.actor, &c, q.from.as_deref(), q.to.as_deref()))
        .await?;
    Ok(Json(json!({ "contract": contract, "bars": bars })))
}

/// `GET /v1/events` query.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// `move` or `risk`.
    #[serde(default)]
    pub kind: Option<String>,
    /// One contract's (or risk event products') events.
    #[serde(default)]
    pub contract: Option<String>,
}

/// `GET /v1/events`.
pub async fn events(
    State(s): State<AppState>,
    ctx: Ctx,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Value>, AppError> {
    let e = s
        .blocking(move |a| a.market_events(&ctx.actor, q.kind.as_deref(), q.contract.as_deref()))
        .await?;
    Ok(Json(json!({ "events": e })))
}

/// `POST /v1/events` body: a risk event opened by hand.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    /// What the event is about (1 to 200 characters).
    pub topic: String,
    /// The products or contracts it concerns.
    pub products: Vec<String>,
    /// The first day of its window (`YYYY-MM-DD`).
    pub from: String,
    /// The last day of its window.
    pub until: String,
}

/// `POST /v1/events`.
pub async fn open(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(b): ApiJson<OpenBody>,
) -> Result<(StatusCode, Json<assistant::market::MarketEvent>), AppError> {
    let e = s
        .blocking(move |a| a.event_open(&ctx.actor, &b.topic, &b.products, &b.from, &b.until))
        .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// `GET /v1/events/{id}`.
pub async fn event(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<assistant::market::MarketEvent>, AppError> {
    let e = s.blocking(move |a| a.market_event(&ctx.actor, &id)).await?;
    Ok(Json(e))
}
