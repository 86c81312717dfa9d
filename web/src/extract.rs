//! Extractors whose rejections use the API's error shape and name the offending field.

use crate::error::AppError;
use crate::state::RequestId;
use assistant::store::Actor;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use policies::Principal;
use serde::de::DeserializeOwned;

/// A JSON body: `Content-Type: application/json` required, errors name the JSON path.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

/// Like [`ApiJson`], but an empty body (with or without a content type) yields `T::default()`.
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub T);

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim();
            m.eq_ignore_ascii_case("application/json") || m.ends_with("+json")
        })
        .unwrap_or(false)
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(format!("request body too large: {}", rejection.body_text()))
        } else {
            AppError::BadRequest {
                code: "bad_request",
                message: rejection.body_text(),
            }
        }
    })
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let code = if inner.is_syntax() || inner.is_eof() {
            "invalid_json"
        } else {
            "invalid_request"
        };
        let message = if code == "invalid_json" {
            format!("the body is not valid JSON: {inner}")
        } else if path == "." {
            format!("invalid request body: {inner}")
        } else {
            format!("invalid request body at `{path}`: {inner}")
        };
        AppError::BadRequest { code, message }
    })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(AppError::UnsupportedMediaType(
                "expected a JSON body with Content-Type: application/json".into(),
            ));
        }
        let bytes = body_bytes(req, state).await?;
        parse(&bytes).map(ApiJson)
    }
}

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(&req);
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        if !json {
            return Err(AppError::UnsupportedMediaType(
                "expected a JSON body with Content-Type: application/json".into(),
            ));
        }
        parse(&bytes).map(OptionalJson)
    }
}

/// Query parameters, with errors naming the parameter.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_de(q);
        de.map(ApiQuery).map_err(|message| AppError::BadRequest {
            code: "invalid_query",
            message,
        })
    }
}

fn serde_urlencoded_de<T: DeserializeOwned>(q: &str) -> Result<T, String> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| "bad query".to_string())?,
    )
    .map(|axum::extract::Query(v)| v)
    .map_err(|e| format!("invalid query string: {}", e.body_text()))
}

/// The authenticated caller of a route, with the request id: what workflows need.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Who is calling.
    pub principal: Principal,
    /// The same, as an audit actor carrying the request id.
    pub actor: Actor,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| AppError::Unauthenticated("authentication required".into()))?;
        let rid = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
        let actor = Actor::user(&principal, rid);
        Ok(Ctx { principal, actor })
    }
}

/// The error for a multipart body that cannot be read: 413 when it is over the size limit,
/// 400 otherwise, the same on every upload route.
pub fn multipart_error(status: axum::http::StatusCode, text: String) -> AppError {
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge(format!("upload too large: {text}"))
    } else {
        AppError::BadRequest {
            code: "bad_request",
            message: format!("malformed multipart body: {text}"),
        }
    }
}

/// The name an uploaded file is kept under: the last component of what the client sent (a
/// client's directories, `..` and drive letters are dropped), at most 255 characters, with no
/// control characters. Names that are empty, `.` or `..` after that are refused.
pub fn upload_file_name(raw: &str) -> Result<String, AppError> {
    let bad = |reason: &str| AppError::BadRequest {
        code: "invalid_request",
        message: format!("file name {raw:?}: {reason}"),
    };
    if raw.chars().any(char::is_control) {
        return Err(bad("control characters are not allowed"));
    }
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if base.is_empty() || base == "." || base == ".." {
        return Err(bad("names no file"));
    }
    if base.chars().count() > 255 {
        return Err(bad("longer than 255 characters"));
    }
    Ok(base.to_string())
}

#[cfg(test)]
mod tests {
    use super::upload_file_name;

    #[test]
    fn upload_file_names_keep_only_the_last_component() {
        for (raw, kept) in [
            ("nda.pdf", "nda.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\x\\确认书.pdf", "确认书.pdf"),
            ("/abs/path/a.txt", "a.txt"),
        ] {
            assert_eq!(upload_file_name(raw).unwrap(), kept);
        }
        for raw in ["", "..", "a/..", "dir/", "a\0b.pdf", "a\nb", &"x".repeat(256)] {
            assert!(upload_file_name(raw).is_err(), "{raw:?}");
        }
    }
}
