//! The clause library over HTTP.
//!
//! - `GET /v1/templates`: the templates with their versions; `?q=words`: the clauses whose
//!   heading, wordings, notes or tags hold every word, each with its fallbacks and positions.
//! - `GET /v1/templates/{id}` (`?version=n`): one template, its clause tree and its Markdown.
//! - `POST /v1/templates`: `{"markdown", "note"}` imports a template (Markdown with TOML front
//!   matter) as the next version of its id; refused by name when a placeholder, format or
//!   clause is wrong.
//! - `POST /v1/templates/docx`: `multipart/form-data` with fields `id`, `title`, `families`
//!   (comma-separated product types), `language`, `note` and one DOCX file: a firm's existing
//!   template, read through `connectors` and checked the same way.

use crate::error::AppError;
use crate::extract::{ApiJson, Ctx};
use crate::handlers::drafts::upload;
use crate::state::AppState;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use drafting::Language;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

fn bad(field: &str, reason: impl std::fmt::Display) -> AppError {
    AppError::Assistant(assistant::error::AssistantError::InvalidField {
        field: field.into(),
        reason: reason.to_string(),
    })
}

/// `GET /v1/templates` query.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Words to find in clauses.
    #[serde(default)]
    pub q: Option<String>,
}

/// `GET /v1/templates`.
pub async fn list(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let out = s
        .blocking(move |a| {
            Ok::<_, assistant::error::AssistantError>(match q.q.filter(|q| !q.trim().is_empty()) {
                Some(q) => json!({ "query": q, "hits": a.template_search(&q)? }),
                None => json!({ "templates": a.template_list()? }),
            })
        })
        .await?;
    Ok(Json(out))
}

/// `GET /v1/templates/{id}` query.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetQuery {
    /// The version (the current one when absent).
    #[serde(default)]
    pub version: Option<u32>,
}

/// `GET /v1/templates/{id}`.
pub async fn get(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<GetQuery>,
) -> Result<Json<Value>, AppError> {
    let (rec, t, md) = s.blocking(move |a| a.template_get(&id, q.version)).await?;
    Ok(Json(
        json!({ "template": rec, "version": t.version, "clauses": t.clauses, "markdown": md }),
    ))
}

/// `POST /v1/templates` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    /// The template: Markdown with TOML front matter.
    pub markdown: String,
    /// Why it is imported.
    pub note: String,
}

/// `POST /v1/templates`.
pub async fn import(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<ImportBody>,
) -> Result<(StatusCode, Json<assistant::templates::TemplateRecord>), AppError> {
    let r = s
        .blocking(move |a| a.template_import(&ctx.actor, &body.markdown, "markdown", &body.note))
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// `POST /v1/templates/docx`.
pub async fn import_docx(
    State(s): State<AppState>,
    ctx: Ctx,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<assistant::templates::TemplateRecord>), AppError> {
    let ((name, bytes), fields) =
        upload(multipart, &["id", "title", "families", "language", "note"]).await?;
    let field = |k: &str| {
        fields
            .get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let language = match field("language").as_str() {
        "zh" => Language::Zh,
        "en" | "" => Language::En,
        other => return Err(bad("language", format!("{other:?}: en or zh"))),
    };
    let families: Vec<String> = field("families")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect();
    let (id, title, note) = (field("id"), field("title"), field("note"));
    let r = s
        .blocking(move |a| {
            a.template_import_docx(
                &ctx.actor, &name, &bytes, &id, &title, &families, language, &note,
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}
