//! Ad-hoc pricing and risk over HTTP (`assistant::desk::adhoc`): one product priced with
//! Greeks, a book revalued, a book over a scenario grid. Products are the pricing core's JSON
//! product format (`kernels/examples/`); `market` is optional (the desk's market data for each
//! underlying when absent).
//!
//! ```json
//! POST /v1/price
//! {"product": {"type": "vanilla", "underlying": "000905.SH", ...}, "engine": "auto",
//!  "greeks": true, "paths": 200000, "seed": 7, "backend": "auto"}
//! POST /v1/risk/grid
//! {"products": [...], "grid": {"spot_pct": [90, 100, 110], "vol_shift": [-0.02, 0, 0.02],
//!  "days": [0, 30]}}
//! ```

use crate::error::AppError;
use crate::extract::{ApiJson, Ctx};
use crate::state::AppState;
use assistant::desk::adhoc::{BookInput, GridInput, PriceInput};
use axum::Json;
use axum::extract::State;
use kernels::pricing::PriceResult;
use kernels::risk::{BookResult, GridResult};

/// `POST /v1/price`.
pub async fn price(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<PriceInput>,
) -> Result<Json<PriceResult>, AppError> {
    Ok(Json(
        s.blocking(move |a| a.price_product(&ctx.actor, &body))
            .await?,
    ))
}

/// `POST /v1/risk/book`.
pub async fn book(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<BookInput>,
) -> Result<Json<BookResult>, AppError> {
    Ok(Json(
        s.blocking(move |a| a.risk_book(&ctx.actor, &body)).await?,
    ))
}

/// `POST /v1/risk/grid`.
pub async fn grid(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<GridInput>,
) -> Result<Json<GridResult>, AppError> {
    Ok(Json(
        s.blocking(move |a| a.risk_grid(&ctx.actor, &body)).await?,
    ))
}
