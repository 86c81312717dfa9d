//! Users and tokens (admin only).

use crate::error::AppError;
use crate::extract::{ApiJson, Ctx, OptionalJson};
use crate::state::AppState;
use assistant::identity::{IssuedToken, User};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use policies::Role;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `POST /v1/users` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Unique name: 1-64 characters from a-z, A-Z, 0-9, `.`, `_`, `-`, `@`.
    #[schemars(regex(pattern = r"^[a-zA-Z0-9._@-]{1,64}$"))]
    pub name: String,
    /// One of the eight roles.
    #[schemars(with = "crate::openapi::RoleName")]
    pub role: Role,
}

/// `POST /v1/users/{name}/tokens` body.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IssueToken {
    /// A label to recognise the token by.
    pub label: Option<String>,
    /// Lifetime in seconds; no expiry when absent.
    pub ttl_secs: Option<u64>,
}

/// `GET /v1/users`.
pub async fn list_users(State(s): State<AppState>, _ctx: Ctx) -> Result<Json<Value>, AppError> {
    let users = s.blocking(|a| a.list_users()).await?;
    Ok(Json(json!({"users": users})))
}

/// `POST /v1/users`.
pub async fn create_user(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<User>), AppError> {
    let user = s
        .blocking(move |a| a.create_user(&ctx.actor, &body.name, body.role))
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// `POST /v1/users/{name}/tokens`.
pub async fn issue_token(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    OptionalJson(body): OptionalJson<IssueToken>,
) -> Result<(StatusCode, Json<IssuedToken>), AppError> {
    let ttl = match body.ttl_secs {
        Some(0) => {
            return Err(AppError::BadRequest {
                code: "invalid_request",
                message: "ttl_secs must be greater than 0".into(),
            });
        }
        Some(n) => Some(time::Duration::seconds(n.min(10 * 365 * 86400) as i64)),
        None => None,
    };
    let label = body.label.unwrap_or_else(|| "api".into());
    let t = s
        .blocking(move |a| a.issue_token(&ctx.actor, &name, &label, ttl))
        .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// `DELETE /v1/tokens/{id}`.
pub async fn revoke_token(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.blocking(move |a| a.revoke_token(&ctx.actor, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/users/{name}/password` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The new password (12 to 128 characters).
    #[schemars(length(min = 12, max = 128))]
    pub password: String,
}

/// `POST /v1/users/{name}/password`.
pub async fn set_password(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<SetPassword>,
) -> Result<StatusCode, AppError> {
    s.blocking(move |a| a.set_password(&ctx.actor, &name, &body.password))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/sessions`.
pub async fn list_sessions(State(s): State<AppState>, _ctx: Ctx) -> Result<Json<Value>, AppError> {
    let sessions = s.blocking(|a| a.list_sessions()).await?;
    Ok(Json(json!({ "sessions": sessions })))
}

/// `DELETE /v1/sessions/{id}`.
pub async fn revoke_session(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.blocking(move |a| a.revoke_session(&ctx.actor, &id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
