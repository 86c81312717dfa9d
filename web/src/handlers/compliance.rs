//! Trade-reporting compliance over HTTP (`assistant::reporting`).
//!
//! A trade is given as exactly one of `"trade"` (a CDM ReportableEvent or TradeState),
//! `"fpml"` (an FpML message), `"draft"` (a draft's id) or `"extraction"` (an approved
//! extraction's approval id), with optional `"facts"` (reporting facts: `reporting_party_lei`,
//! `counterparty_lei`, `reporting_party_regimes`, `counterparty_regimes`, `cleared`, `ccp_lei`,
//! `execution_timestamp`, `uti`, …), `"regimes"` (ids, or `["all"]`; default: those that apply)
//! and `"reporting_timestamp"`.
//!
//! - `POST /v1/compliance/compare`: the comparison (columns with each regime's report, rows with
//!   every regime's value and provisions, the difference list, what is missing, the summary in
//!   English and Chinese); `?format=csv` or `?format=xlsx` downloads it.
//! - `POST /v1/compliance/reports`: each regime's report as the regime writes it (nested JSON),
//!   with the fields the trade cannot fill and the values the rules defaulted.
//! - `POST /v1/compliance/validate`: `"regime"` and `"report"` (the firm's report: a JSON object,
//!   or CSV as a string) checked field by field; findings with provisions.
//! - `POST /v1/compliance/ask`: `{"question", "stream"?}`: a cited answer from the rule corpus,
//!   each citation mapped to its provision id (server-sent events with `stream: true`).
//! - `GET /v1/compliance/regimes`: the regimes with deadlines and fields.
//!   `GET /v1/compliance/provisions/{id}`: one provision.
//! - `GET /v1/compliance/catalogue`: the catalogue's versions; `POST /v1/compliance/catalogue`:
//!   `{"provisions": "<JSON lines>", "note"}` adds the firm's own provisions as the next version.

use ::compliance::cdm::GivenFacts;
use assistant::reporting::{CompareRequest, TradeInput};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::AppError;
use crate::extract::{ApiJson, ApiQuery, Ctx};
use crate::state::AppState;

fn bad(field: &str, reason: impl std::fmt::Display) -> AppError {
    AppError::BadRequest {
        code: "invalid_request",
        message: format!("{field}: {reason}"),
    }
}

/// A trade and how to report it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TradeBody {
    /// A CDM ReportableEvent or TradeState.
    #[serde(default)]
    pub trade: Option<Value>,
    /// An FpML message.
    #[serde(default)]
    pub fpml: Option<String>,
    /// A draft's id.
    #[serde(default)]
    pub draft: Option<String>,
    /// An approved extraction's approval id.
    #[serde(default)]
    pub extraction: Option<String>,
    /// Reporting facts.
    #[serde(default)]
    pub facts: Option<Value>,
    /// Regime ids, or `all`.
    #[serde(default)]
    pub regimes: Vec<String>,
    /// The reporting timestamp (ISO 8601 UTC).
    #[serde(default)]
    pub reporting_timestamp: Option<String>,
    /// `validate` only: the regime of the report.
    #[serde(default)]
    pub regime: Option<String>,
    /// `validate` only: the report (JSON object, or CSV text).
    #[serde(default)]
    pub report: Option<Value>,
}

impl TradeBody {
    fn request(&mut self) -> Result<CompareRequest, AppError> {
        let mut sources = Vec::new();
        if let Some(t) = self.trade.take() {
            sources.push(TradeInput::Cdm(t));
        }
        if let Some(x) = self.fpml.take() {
            sources.push(TradeInput::Fpml(x));
        }
        if let Some(d) = self.draft.take() {
            sources.push(TradeInput::Draft(d));
        }
        if let Some(e) = self.extraction.take() {
            sources.push(TradeInput::Extraction(e));
        }
        if sources.len() != 1 {
            return Err(bad(
                "trade",
                "give exactly one of trade (CDM JSON), fpml, draft or extraction",
            ));
        }
        let facts = match self.facts.take() {
            None | Some(Value::Null) => None,
            Some(v) => {
                let f: GivenFacts = serde_path_to_error::deserialize(v)
                    .map_err(|e| bad(&format!("facts.{}", e.path()), e.inner()))?;
                Some(f)
            }
        };
        if let Some(ts) = &self.reporting_timestamp {
            let ok = ts.len() >= 20 && ts.ends_with('Z') && ts.as_bytes().get(10) == Some(&b'T');
            if !ok {
                return Err(bad(
                    "reporting_timestamp",
                    "an ISO 8601 UTC timestamp (2026-12-06T10:00:00Z)",
                ));
            }
        }
        Ok(CompareRequest {
            trade: sources.pop().expect("one source"),
            facts,
            regimes: std::mem::take(&mut self.regimes),
            reporting_timestamp: self.reporting_timestamp.take(),
        })
    }
}

/// `?format=`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatQuery {
    /// `json` (default), `csv` or `xlsx`.
    #[serde(default)]
    pub format: Option<String>,
}

/// `POST /v1/compliance/compare`.
pub async fn compare(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<FormatQuery>,
    ApiJson(mut body): ApiJson<TradeBody>,
) -> Result<Response, AppError> {
    if body.regime.is_some() || body.report.is_some() {
        return Err(bad(
            "report",
            "regime and report belong to /v1/compliance/validate",
        ));
    }
    let req = body.request()?;
    let format = q.format.unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "csv" | "xlsx") {
        return Err(bad(
            "format",
            format!("`{format}` is not json, csv or xlsx"),
        ));
    }
    let (cmp, file) = s
        .blocking(move |a| {
            let cmp = a.compliance_compare(&ctx.actor, &req)?;
            let file = comparison_file(a, &cmp, &format)?;
            Ok::<_, assistant::AssistantError>((cmp, file))
        })
        .await?;
    match file {
        Some(f) => Ok(download(f)),
        None => Ok(Json(cmp).into_response()),
    }
}

/// A comparison as a file: (media type, extension, bytes) for `csv` and `xlsx`, `None` for
/// any other format (the caller answers JSON).
pub(crate) type ComparisonFile = (&'static str, &'static str, Vec<u8>);

/// The comparison written as `format` (see [`ComparisonFile`]).
pub(crate) fn comparison_file(
    a: &assistant::Assistant,
    cmp: &::compliance::compare::Comparison,
    format: &str,
) -> Result<Option<ComparisonFile>, assistant::AssistantError> {
    Ok(match format {
        "xlsx" => {
            let cat = a.compliance_catalogue()?;
            let bytes = ::compliance::export::xlsx(cmp, &cat).map_err(|e| {
                assistant::AssistantError::Conflict(format!(
                    "the workbook could not be written: {e}"
                ))
            })?;
            Some((
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
                bytes,
            ))
        }
        "csv" => Some((
            "text/csv; charset=utf-8",
            "csv",
            ::compliance::export::csv(cmp).into_bytes(),
        )),
        _ => None,
    })
}

/// A comparison file as a download.
pub(crate) fn download((mime, ext, bytes): ComparisonFile) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"reporting-comparison.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `POST /v1/compliance/reports`: every regime's report as the regime writes it.
pub async fn reports(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(mut body): ApiJson<TradeBody>,
) -> Result<Json<Value>, AppError> {
    if body.regime.is_some() || body.report.is_some() {
        return Err(bad(
            "report",
            "regime and report belong to /v1/compliance/validate",
        ));
    }
    let req = body.request()?;
    let cmp = s
        .blocking(move |a| a.compliance_compare(&ctx.actor, &req))
        .await?;
    let mut out = serde_json::Map::new();
    for c in &cmp.columns {
        let values = c
            .report
            .iter()
            .filter_map(|(k, v)| v.value().map(|x| (k.clone(), x.clone())))
            .collect();
        let defaults: Vec<Value> = c
            .report
            .iter()
            .filter_map(|(k, v)| match v {
                ::compliance::elements::Cell::Default { value, reason } => {
                    Some(json!({"field": k, "value": value, "reason": reason}))
                }
                ::compliance::elements::Cell::Value { .. }
                | ::compliance::elements::Cell::Missing { .. } => None,
            })
            .collect();
        let missing: Vec<Value> = c
            .report
            .iter()
            .filter_map(|(k, v)| match v {
                ::compliance::elements::Cell::Missing { needed } => {
                    Some(json!({"field": k, "needed": needed}))
                }
                ::compliance::elements::Cell::Value { .. }
                | ::compliance::elements::Cell::Default { .. } => None,
            })
            .collect();
        out.insert(
            c.id.to_owned(),
            json!({
                "name": c.name,
                "role": c.role,
                "deadline": c.deadline,
                "report": ::compliance::score::nest(&values),
                "defaults": defaults,
                "missing": missing,
            }),
        );
    }
    Ok(Json(
        json!({"catalogue_version": cmp.catalogue_version, "regimes": out}),
    ))
}

/// `POST /v1/compliance/validate`.
pub async fn validate(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(mut body): ApiJson<TradeBody>,
) -> Result<Json<assistant::reporting::Validation>, AppError> {
    let regime = body.regime.take().ok_or_else(|| {
        bad(
            "regime",
            "name the regime of the report (esma-emir-trade, cftc-part45, …)",
        )
    })?;
    let report = match body.report.take() {
        Some(Value::String(csv)) => csv.into_bytes(),
        Some(v @ Value::Object(_)) => serde_json::to_vec(&v).map_err(|e| bad("report", e))?,
        Some(_) => return Err(bad("report", "a JSON object, or CSV as a string")),
        None => return Err(bad("report", "the report to validate is missing")),
    };
    let req = body.request()?;
    let v = s
        .blocking(move |a| a.compliance_validate(&ctx.actor, &req, &regime, &report))
        .await?;
    Ok(Json(v))
}

/// `POST /v1/compliance/ask` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "ComplianceAsk")]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    /// The question.
    pub question: String,
    /// Server-sent events (`delta`, then `answer`).
    #[serde(default)]
    pub stream: bool,
}

/// `POST /v1/compliance/ask`.
pub async fn ask(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<AskBody>,
) -> Result<Response, AppError> {
    crate::handlers::documents::answer_response(s, body.stream, move |a, on_delta| {
        let k = a.knowledge()?;
        a.compliance_ask(&k, &ctx.actor, &body.question, on_delta)
    })
    .await
}

/// `GET /v1/compliance/regimes`.
pub async fn regimes() -> Json<Value> {
    let list: Vec<Value> = ::compliance::regime::regimes()
        .iter()
        .map(|r| json!({"id": r.id, "name": r.name, "name_zh": r.name_zh, "authority": r.authority, "bodies": r.bodies, "deadline": r.deadline, "fields": r.fields}))
        .collect();
    Json(json!({"regimes": list}))
}

/// `GET /v1/compliance/provisions/{id}`.
pub async fn provision(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<::compliance::catalogue::Provision>, AppError> {
    Ok(Json(
        s.blocking(move |a| a.compliance_provision(&ctx.actor, &id))
            .await?,
    ))
}

/// `GET /v1/compliance/catalogue`.
pub async fn catalogue(State(s): State<AppState>) -> Result<Json<Value>, AppError> {
    let v = s
        .blocking(|a| {
            a.compliance_catalogue()?;
            a.compliance_versions()
        })
        .await?;
    Ok(Json(json!({"versions": v})))
}

/// `POST /v1/compliance/catalogue` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    /// JSON lines: `id`, `regime`, `field`, `text`, optional `number`, `name`, `reference`.
    pub provisions: String,
    /// Why.
    pub note: String,
}

/// `POST /v1/compliance/catalogue`.
pub async fn add(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<AddBody>,
) -> Result<Json<assistant::reporting::CatalogueVersion>, AppError> {
    Ok(Json(
        s.blocking(move |a| a.compliance_add(&ctx.actor, &body.provisions, &body.note))
            .await?,
    ))
}
