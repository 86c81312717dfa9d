//! Health, readiness, metrics, the caller's identity, the route table, its OpenAPI document
//! and the configuration.

use crate::access::Access;
use crate::error::AppError;
use crate::extract::Ctx;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use policies::{Clearance, Role};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// `GET /healthz` reply.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// `GET /readyz` reply when ready (else a 503 error).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Readiness {
    /// `ready`.
    pub status: &'static str,
    /// Requests holding a place under the concurrency limit now.
    pub in_flight: usize,
    /// `server.concurrency_limit`.
    pub concurrency_limit: u32,
    /// Always false here (a saturated server answers 503 `saturated`).
    pub saturated: bool,
}

/// `GET /v1/me` reply.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Me {
    /// The user's name.
    pub user: String,
    /// The user's role.
    #[schemars(with = "crate::openapi::RoleName")]
    pub role: Role,
    /// What the role may do (`policies::Permission` names).
    pub permissions: Vec<&'static str>,
    /// What data the role may read.
    pub clearance: ClearanceView,
}

/// What data a role may read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClearanceView {
    /// The highest level: `general`, `important` or `core`.
    pub max_level: &'static str,
    /// Whether sensitive data is readable.
    pub sensitive: bool,
}

/// `GET /v1/routes` reply.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RouteList {
    /// Every route of the table, pages included.
    pub routes: Vec<RouteView>,
}

/// One route as `GET /v1/routes` shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RouteView {
    /// HTTP method.
    pub method: String,
    /// Path template (`/v1/approvals/{id}`).
    pub path: &'static str,
    /// `public`, `signed`, `authenticated` or the permission needed.
    pub access: &'static str,
    /// `server` or `generation`.
    pub timeout: &'static str,
    /// `api` or `page`.
    pub surface: &'static str,
    /// What it does.
    pub summary: &'static str,
}

/// `GET /healthz`.
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `GET /readyz`: 200 with the load (`in_flight`, `concurrency_limit`, `saturated: false`) when
/// the database answers, the audit anchor is readable and a place under the concurrency limit is
/// free; else 503, so that a load balancer sends new requests elsewhere (`not_ready`, or
/// `saturated` with the same numbers in the message).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let check = state
        .blocking(|a| {
            a.store().ping()?;
            a.store().anchor().read()?;
            Ok::<_, assistant::store::StoreError>(())
        })
        .await;
    if let Err(e) = check {
        tracing::error!(error = %e, "not ready");
        return unavailable("not_ready", "the database is not available".into());
    }
    let limit = state.assistant.config.server.concurrency_limit;
    let in_flight = state.in_flight();
    if in_flight >= limit as usize {
        let mut resp = unavailable(
            "saturated",
            format!(
                "saturated: {in_flight} of {limit} requests in flight (server.concurrency_limit)"
            ),
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return resp;
    }
    (
        StatusCode::OK,
        Json(Readiness {
            status: "ready",
            in_flight,
            concurrency_limit: limit,
            saturated: false,
        }),
    )
        .into_response()
}

fn unavailable(code: &'static str, message: String) -> Response {
    let mut resp = StatusCode::SERVICE_UNAVAILABLE.into_response();
    resp.extensions_mut()
        .insert(crate::error::ErrorBody { code, message });
    resp
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let (pending, head) = state
        .blocking(|a| {
            let pending = a
                .store()
                .read(|c| {
                    c.query_row(
                        "SELECT COUNT(*) FROM approvals WHERE state = 'pending'",
                        [],
                        |r| r.get::<_, i64>(0),
                    )
                })
                .unwrap_or(-1);
            let head = a
                .store()
                .audit_head()
                .ok()
                .flatten()
                .map(|h| h.seq as i64)
                .unwrap_or(0);
            (pending, head)
        })
        .await;
    let text = state.metrics.render(&[
        (
            "deskmate_approvals_pending",
            "Approval requests waiting for a decision.",
            pending as f64,
        ),
        (
            "deskmate_audit_head_seq",
            "Sequence number of the newest audit entry.",
            head as f64,
        ),
    ]);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

/// `GET /v1/me`.
pub async fn me(ctx: Ctx) -> Json<Me> {
    let c = Clearance::of(ctx.principal.role);
    Json(Me {
        user: ctx.principal.user.clone(),
        role: ctx.principal.role,
        permissions: ctx
            .principal
            .role
            .permissions()
            .iter()
            .map(|p| p.as_str())
            .collect(),
        clearance: ClearanceView {
            max_level: c.max_level.as_str(),
            sensitive: c.sensitive,
        },
    })
}

/// `GET /v1/routes`.
pub async fn list_routes(State(state): State<AppState>, _ctx: Ctx) -> Json<RouteList> {
    let routes = state
        .routes
        .get()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| RouteView {
            method: r.method.as_str().to_string(),
            path: r.path,
            access: match r.access {
                Access::Public => "public",
                Access::Signed => "signed",
                Access::Authenticated => "authenticated",
                Access::Permission(p) => p.as_str(),
            },
            timeout: r.timeout.as_str(),
            surface: r.surface.as_str(),
            summary: r.summary,
        })
        .collect();
    Json(RouteList { routes })
}

/// `GET /openapi.json`: the OpenAPI 3.1 document of the API routes ([`crate::openapi`]), built
/// from the route table on first request and kept.
pub async fn openapi(State(state): State<AppState>, _ctx: Ctx) -> Json<Value> {
    let routes = state.routes.get().map(Vec::as_slice).unwrap_or_default();
    Json(
        state
            .openapi
            .get_or_init(|| crate::openapi::document(routes))
            .clone(),
    )
}

/// `GET /v1/config`.
pub async fn config(State(state): State<AppState>, _ctx: Ctx) -> Result<Json<Value>, AppError> {
    serde_json::to_value(state.assistant.config.masked())
        .map(Json)
        .map_err(|e| AppError::Internal(e.to_string()))
}
