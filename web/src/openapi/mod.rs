//! The OpenAPI 3.1 description of the JSON API, served at `GET /openapi.json`.
//!
//! The document is built from the route table (every [`Surface::Api`] route with its method,
//! path, path parameters, summary, access as a security requirement, upload flag and timeout)
//! and from the Rust types of the handlers' bodies: request, query and (where the handler has
//! one) response types derive `schemars::JsonSchema`, whose JSON Schema 2020-12 is the dialect
//! of OpenAPI 3.1, so the schemas go into `components/schemas` as schemars writes them. What each
//! route reads and answers is stated once, in [`operations`]; a response built ad hoc as JSON is
//! an object with a description naming what it holds. Every error response is the one error
//! shape of [`crate::error`] ([`crate::error::ErrorResponse`]), listed per route by the
//! statuses its access, inputs and work can give.
//!
//! Nothing here is fetched at build or run time: no UI assets, only this JSON.

mod names;
pub(crate) mod operations;

pub use names::{
    AlertStateName, ChainModeName, ChunkEditSchema, RetrieversName, RfqStatusName, RoleName,
};

use crate::access::{Access, RouteInfo, Surface, Timeout};
use crate::error::ErrorResponse;
use operations::{Body, Files, Reply, Spec};
use schemars::generate::SchemaSettings;
use schemars::transform::{RecursiveTransform, Transform};
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// The OpenAPI version the document declares.
pub const OPENAPI_VERSION: &str = "3.1.0";

/// The document and what went wrong building it.
#[derive(Debug)]
pub struct Built {
    /// The OpenAPI 3.1 document.
    pub document: Value,
    /// Schema names that two different types claimed (the second was dropped): our bug, which
    /// the CI test refuses; empty when the document is sound.
    pub conflicts: Vec<String>,
    /// `METHOD path` of the routes that [`operations`] does not describe and that are not
    /// OpenAI-compatible: they get a generic object body and answer. The CI test refuses any.
    pub undescribed: Vec<String>,
}

/// The OpenAPI 3.1 document of the API routes of `routes`.
pub fn document(routes: &[RouteInfo]) -> Value {
    let built = build(routes);
    for c in &built.conflicts {
        tracing::error!(schema = %c, "two types share one schema name in the OpenAPI document");
    }
    built.document
}

/// Builds the document of the API routes of `routes`, with the problems found.
pub fn build(routes: &[RouteInfo]) -> Built {
    let generator = |settings: SchemaSettings| {
        settings
            .with(|s| {
                s.definitions_path = "/components/schemas".into();
                s.meta_schema = None;
            })
            .with_transform(RecursiveTransform(integer_bounds as fn(&mut Schema)))
            .into_generator()
    };
    let mut requests = generator(SchemaSettings::draft2020_12().for_deserialize());
    let mut replies = generator(SchemaSettings::draft2020_12().for_serialize());
    let mut paths = Map::new();
    let mut tags = BTreeSet::new();
    let mut undescribed = Vec::new();
    for r in routes.iter().filter(|r| r.surface == Surface::Api) {
        let (spec, described) = operations::spec(r.method.as_str(), r.path);
        if !described && !operations::openai_compatible(r) {
            undescribed.push(format!("{} {}", r.method, r.path));
        }
        let tag = tag(r.path);
        tags.insert(tag.clone());
        let op = operation(r, &spec, &tag, &mut requests, &mut replies);
        let item = paths
            .entry(r.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item is an object");
        item.insert(r.method.as_str().to_ascii_lowercase(), op);
    }
    replies.subschema_for::<ErrorResponse>();
    let mut schemas = requests.take_definitions(true);
    let mut conflicts = Vec::new();
    for (name, schema) in replies.take_definitions(true) {
        match schemas.get(&name) {
            Some(existing) if *existing != schema => conflicts.push(name),
            Some(_) => {}
            None => {
                schemas.insert(name, schema);
            }
        }
    }
    let document = json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Deskmate API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Deskmate's HTTP API, generated from its route table and the Rust types of its \
                handlers. Every error has one shape (`Error`). Routes that create something honour \
                `Idempotency-Key`. The web application's pages are not described here.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": error_responses(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`deskmate token issue`, or `POST /v1/users/{name}/tokens`); \
                        what it may call is decided by its user's role.",
                },
            },
        },
        "tags": tags.into_iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
    });
    Built {
        document,
        conflicts,
        undescribed,
    }
}

/// The first segment of the path after `/v1`, which groups operations (`approvals`, `drafts`).
fn tag(path: &str) -> String {
    let rest = path
        .strip_prefix("/v1/")
        .unwrap_or(path.trim_start_matches('/'));
    match rest.split('/').next().unwrap_or_default() {
        "healthz" | "readyz" | "metrics" | "openapi.json" | "me" | "routes" | "config" => {
            "system".into()
        }
        "" => "system".into(),
        first => first.into(),
    }
}

/// The names of a path's parameters, in order (`{id}`, `{n}`).
pub fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn operation(
    r: &RouteInfo,
    spec: &Spec,
    tag: &str,
    requests: &mut SchemaGenerator,
    replies: &mut SchemaGenerator,
) -> Value {
    let mut op = Map::new();
    let id: String = format!("{}{}", r.method.as_str().to_ascii_lowercase(), r.path)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    op.insert("operationId".into(), id.into());
    op.insert("summary".into(), r.summary.into());
    op.insert("tags".into(), json!([tag]));
    let mut description = vec![access_sentence(r.access)];
    if r.timeout == Timeout::Generation {
        description.push(
            "Bounded by `models.generation_timeout_secs` rather than the server's request limit."
                .into(),
        );
    }
    if r.upload {
        description.push(
            "The body is an upload, bounded by `server.max_upload_bytes` (`server.max_body_bytes` \
             for other bodies)."
                .into(),
        );
    }
    if r.creates {
        description.push(
            "Honours `Idempotency-Key`: the same key with the same body answers the first reply \
             again."
                .into(),
        );
    }
    if let Some(note) = spec.note {
        description.push(note.into());
    }
    op.insert("description".into(), description.join(" ").into());
    op.insert(
        "security".into(),
        match r.access {
            Access::Public | Access::Signed => json!([]),
            Access::Authenticated | Access::Permission(_) => json!([{"bearer": []}]),
        },
    );
    if let Access::Permission(p) = r.access {
        op.insert("x-deskmate-permission".into(), p.as_str().into());
    }
    op.insert("x-deskmate-timeout".into(), r.timeout.as_str().into());

    let mut parameters = Vec::new();
    for name in path_parameters(r.path) {
        let schema = if spec.integers.contains(&name) {
            json!({"type": "integer", "minimum": 0, "maximum": u32::MAX})
        } else {
            json!({"type": "string", "minLength": 1})
        };
        parameters.push(json!({"name": name, "in": "path", "required": true, "schema": schema}));
    }
    if let Some(query) = spec.query {
        let mut schema = query(requests);
        RecursiveTransform(integer_bounds as fn(&mut Schema)).transform(&mut schema);
        parameters.extend(query_parameters(schema));
    }
    if r.creates {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "A key of the caller's choosing, 1 to 200 visible ASCII characters (kept 24 h, per user): a retry with the same key and body gets the first reply.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
        }));
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), parameters.into());
    }
    if let Some(body) = request_body(&spec.body, requests) {
        op.insert("requestBody".into(), body);
    }
    let mut responses = Map::new();
    responses.insert(
        spec.status.to_string(),
        success(spec.status, &spec.reply, spec.also_as, replies),
    );
    for code in error_statuses(r, spec) {
        responses.insert(
            code.to_string(),
            json!({"$ref": format!("#/components/responses/{}", error_name(code))}),
        );
    }
    op.insert("responses".into(), responses.into());
    Value::Object(op)
}

/// States the range of a Rust integer type (schemars' `format: uint32`, …) as `minimum` and
/// `maximum`, which every JSON Schema tool reads (a format is only a hint), so that a client or
/// a fuzzer keeps to values the handler's type holds.
fn integer_bounds(schema: &mut Schema) {
    let (min, max): (i128, i128) = match schema.get("format").and_then(Value::as_str) {
        Some("uint8") => (0, u8::MAX.into()),
        Some("uint16") => (0, u16::MAX.into()),
        Some("uint32") => (0, u32::MAX.into()),
        Some("uint64" | "uint") => (0, u64::MAX.into()),
        Some("int8") => (i8::MIN.into(), i8::MAX.into()),
        Some("int16") => (i16::MIN.into(), i16::MAX.into()),
        Some("int32") => (i32::MIN.into(), i32::MAX.into()),
        Some("int64" | "int") => (i64::MIN.into(), i64::MAX.into()),
        _ => return,
    };
    for (key, bound) in [("minimum", min), ("maximum", max)] {
        if schema.get(key).is_none() {
            let v = match (u64::try_from(bound), i64::try_from(bound)) {
                (Ok(u), _) => Value::from(u),
                (Err(_), Ok(i)) => Value::from(i),
                (Err(_), Err(_)) => continue,
            };
            schema.insert(key.into(), v);
        }
    }
}

/// Who may call a route, as a sentence.
fn access_sentence(access: Access) -> String {
    match access {
        Access::Public => "Public: no token.".into(),
        Access::Signed => "No token: the caller proves itself by a signature over the request \
                           (WeCom's `msg_signature`), checked by the handler."
            .into(),
        Access::Authenticated => "Any valid token, whatever its role.".into(),
        Access::Permission(p) => {
            let roles: Vec<&str> = policies::Role::ALL
                .iter()
                .filter(|r| r.allows(p))
                .map(|r| r.as_str())
                .collect();
            format!(
                "Needs permission `{p}` (roles: {}).",
                roles.join(", ").as_str()
            )
        }
    }
}

/// A query type's object schema as one parameter per property. A query parameter is absent or
/// a string, never JSON `null`: the `null` branch of an optional property is dropped.
fn query_parameters(schema: Schema) -> Vec<Value> {
    let object = schema.to_value();
    let required: BTreeSet<&str> = object["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = object["properties"].as_object() else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, schema)| {
            let mut schema = without_null(schema.clone());
            let description = schema
                .as_object_mut()
                .and_then(|o| o.remove("description"))
                .unwrap_or(Value::Null);
            let mut p = json!({
                "name": name, "in": "query", "required": required.contains(name.as_str()),
                "schema": schema,
            });
            if !description.is_null() {
                p["description"] = description;
            }
            p
        })
        .collect()
}

/// `schema` without the `null` that schemars adds to an `Option` (as a type, a branch or a
/// default).
fn without_null(schema: Value) -> Value {
    let Value::Object(mut o) = schema else {
        return schema;
    };
    if o.get("default") == Some(&Value::Null) {
        o.remove("default");
    }
    if let Some(Value::Array(types)) = o.get("type") {
        let rest: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        o.insert(
            "type".into(),
            if rest.len() == 1 {
                rest[0].clone()
            } else {
                rest.into()
            },
        );
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = o.get(key) {
            let rest: Vec<Value> = branches
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .cloned()
                .collect();
            if rest.len() == 1 {
                o.remove(key);
                if let Value::Object(only) = rest[0].clone() {
                    for (k, v) in only {
                        o.entry(k).or_insert(v);
                    }
                }
            } else {
                o.insert(key.into(), rest.into());
            }
        }
    }
    Value::Object(o)
}

/// A binary part or body.
fn binary() -> Value {
    json!({"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"})
}

fn request_body(body: &Body, requests: &mut SchemaGenerator) -> Option<Value> {
    match body {
        Body::None => None,
        Body::Json { schema, required } => Some(json!({
            "required": required,
            "content": {"application/json": {"schema": schema(requests)}},
        })),
        Body::AnyJson(description) => Some(json!({
            "required": true,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object", "description": description}}},
        })),
        Body::Multipart { files, fields } => {
            let file = match files {
                Files::One => binary(),
                Files::Many => json!({"type": "array", "items": binary(), "minItems": 1}),
            };
            let mut properties = Map::new();
            properties.insert("file".into(), file);
            for (name, description) in fields.iter() {
                properties.insert(
                    (*name).into(),
                    json!({"type": "string", "description": description}),
                );
            }
            let description = match files {
                Files::One => {
                    "multipart/form-data: one file part (with a file name) and the text fields named here."
                }
                Files::Many => {
                    "multipart/form-data: one or more file parts (each with a file name) and the text fields named here."
                }
            };
            Some(json!({
                "required": true,
                "description": description,
                "content": {"multipart/form-data": {
                    "schema": {"type": "object", "required": ["file"], "properties": properties},
                    "encoding": {"file": {"contentType": "application/octet-stream"}},
                }},
            }))
        }
        Body::Raw {
            media_type,
            description,
        } => Some(json!({
            "required": true,
            "description": description,
            "content": {*media_type: {"schema": {"type": "string"}}},
        })),
    }
}

fn success(
    status: u16,
    reply: &Reply,
    also_as: &[(&str, &str)],
    replies: &mut SchemaGenerator,
) -> Value {
    let (description, mut content) = match reply {
        Reply::Json(schema) => (
            "OK".to_string(),
            json!({"application/json": {"schema": schema(replies)}}),
        ),
        Reply::Object(description) => (
            (*description).to_string(),
            json!({"application/json": {"schema": {"type": "object", "description": description}}}),
        ),
        Reply::Empty => {
            return json!({"description": if status == 204 { "Done; no content." } else { "OK; no content." }});
        }
        Reply::Media(description) => ((*description).to_string(), json!({})),
    };
    for (media_type, what) in also_as {
        let schema = if media_type.starts_with("text/") {
            json!({"type": "string", "description": what})
        } else {
            json!({"type": "string", "format": "binary", "contentMediaType": media_type, "description": what})
        };
        content[*media_type] = json!({"schema": schema});
    }
    json!({"description": description, "content": content})
}

/// The error statuses a route can answer: from its access, its inputs and its work.
fn error_statuses(r: &RouteInfo, spec: &Spec) -> BTreeSet<u16> {
    let mut codes = BTreeSet::new();
    let has_body = !matches!(spec.body, Body::None);
    if has_body || spec.query.is_some() || !path_parameters(r.path).is_empty() || r.creates {
        codes.insert(400);
    }
    match r.access {
        Access::Public => {}
        Access::Signed => {
            codes.extend([401, 404]);
        }
        Access::Authenticated => {
            codes.insert(401);
        }
        Access::Permission(_) => {
            codes.extend([401, 403]);
        }
    }
    if !path_parameters(r.path).is_empty() {
        codes.insert(404);
    }
    if r.method != axum::http::Method::GET {
        codes.insert(409);
    }
    if has_body {
        codes.insert(413);
        if !matches!(spec.body, Body::Raw { .. }) {
            codes.insert(415);
        }
    }
    if r.creates {
        // An `Idempotency-Key` reused with another body.
        codes.insert(422);
    }
    // Over the per-address or per-user limits; saturated, or past the deadline.
    codes.extend([429, 503]);
    codes.extend(spec.extra.iter().copied());
    codes
}

/// The name in `components/responses` of an error status.
fn error_name(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthenticated",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Unprocessable",
        429 => "TooManyRequests",
        502 => "BadGateway",
        503 => "Unavailable",
        504 => "GatewayTimeout",
        _ => "Error",
    }
}

/// Every error response, each the one error shape.
fn error_responses() -> Value {
    let retry_after = json!({"Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }});
    let mut out = Map::new();
    for (code, description, retry) in [
        (
            400,
            "The request is malformed: the message names the field or parameter (`invalid_json`, `invalid_query`, `invalid_request`, `bad_request`).",
            false,
        ),
        (
            401,
            "No token, or an invalid, expired or revoked one (`unauthenticated`).",
            false,
        ),
        (
            403,
            "The caller's role lacks the route's permission, or the data is above its clearance (`forbidden`).",
            false,
        ),
        (
            404,
            "No such object (`not_found`, `model_not_found`).",
            false,
        ),
        (
            409,
            "The request conflicts with the object's state or with another request (`conflict`, `expired`).",
            false,
        ),
        (
            413,
            "The body is over `server.max_body_bytes` (`server.max_upload_bytes` for uploads) (`payload_too_large`).",
            false,
        ),
        (
            415,
            "The body is not of the media type the route reads (`unsupported_media_type`).",
            false,
        ),
        (
            422,
            "Well-formed but cannot be processed as sent: an `Idempotency-Key` reused with another body, a product the pricing engines do not support.",
            false,
        ),
        (
            429,
            "Over the caller's request rate or concurrency limit (`rate_limited`, `concurrency_limited`).",
            true,
        ),
        (
            502,
            "The remote model server failed (`remote_model_error`).",
            false,
        ),
        (
            503,
            "Saturated, past the request's deadline, or a model busy (`saturated`, `timeout`, `model_busy`, `unavailable`).",
            true,
        ),
        (
            504,
            "The model did not answer in time (`model_timeout`).",
            false,
        ),
    ] {
        let mut r = json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
        });
        if retry {
            r["headers"] = retry_after.clone();
        }
        out.insert(error_name(code).into(), r);
    }
    out.into()
}
