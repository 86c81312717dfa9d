//! `Idempotency-Key` on the routes that create something ([`crate::Route::creates`]): a retry
//! with the same key and the same request gets the first response again (with
//! `Idempotent-Replayed: true`) instead of creating a second object. The same key with a
//! different request is 422 `idempotency_key_reused`; while the first request runs, 409
//! `idempotency_key_in_progress` with `Retry-After`. The records live in the store
//! ([`assistant::idempotency`]), per user, for 24 hours.

use crate::error::AppError;
use crate::state::AppState;
use assistant::idempotency::{Begin, MAX_RESPONSE_BYTES, Recorded};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use policies::Principal;
use sha2::{Digest, Sha256};

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The response header on a replayed response.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The middleware; `limit` is the route's body limit (bytes).
pub async fn idempotency(
    State((state, limit)): State<(AppState, usize)>,
    req: Request,
    next: Next,
) -> Result<Response, AppError> {
    let Some(key) = req.headers().get(&IDEMPOTENCY_KEY) else {
        return Ok(next.run(req).await);
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| assistant::idempotency::valid_key(k))
        .ok_or_else(|| AppError::BadRequest {
            code: "invalid_request",
            message: "Idempotency-Key must be 1 to 200 visible ASCII characters".into(),
        })?
        .to_string();
    let Some(principal) = req.extensions().get::<Principal>().cloned() else {
        return Ok(next.run(req).await);
    };
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, limit).await.map_err(|e| {
        AppError::PayloadTooLarge(format!("request body over the limit of {limit} bytes: {e}"))
    })?;
    let mut h = Sha256::new();
    h.update(parts.method.as_str());
    h.update([0]);
    h.update(parts.uri.to_string());
    h.update([0]);
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        h.update(ct.as_bytes());
    }
    h.update([0]);
    h.update(&bytes);
    let hash = hex::encode(h.finalize());
    let (user, method, path) = (
        principal.user.clone(),
        parts.method.to_string(),
        parts.uri.path().to_string(),
    );
    let begin = {
        let (user, key) = (user.clone(), key.clone());
        state
            .blocking(move |a| a.idempotency_begin(&user, &key, &method, &path, &hash))
            .await?
    };
    match begin {
        Begin::Replay(r) => {
            let mut resp = (
                StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK),
                r.body,
            )
                .into_response();
            if let Some(ct) = r.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                resp.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            resp.headers_mut()
                .insert(REPLAYED, HeaderValue::from_static("true"));
            Ok(resp)
        }
        Begin::InProgress => {
            let mut resp = AppError::Conflict {
                code: "idempotency_key_in_progress",
                message: format!(
                    "a request with Idempotency-Key {key:?} is still running; retry shortly"
                ),
            }
            .into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Ok(resp)
        }
        Begin::Mismatch { first } => Err(AppError::Unprocessable {
            code: "idempotency_key_reused",
            message: format!(
                "Idempotency-Key {key:?} was used for a different request ({first}); use a new \
                 key for a new request"
            ),
        }),
        Begin::Run => {
            let resp = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = resp.into_parts();
            let streamed = parts
                .headers
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
            if parts.status.is_server_error() || streamed {
                forget(&state, user, key).await;
                return Ok(Response::from_parts(parts, body));
            }
            let bytes = match to_bytes(body, MAX_RESPONSE_BYTES).await {
                Ok(b) => b,
                Err(e) => {
                    forget(&state, user, key).await;
                    return Err(AppError::Internal(format!(
                        "response not recorded for Idempotency-Key: {e}"
                    )));
                }
            };
            // An error produced by our handlers carries its body as an extension, shaped later
            // by the outer middleware: record what the client will see only for successes
            // and plain client errors with a body; otherwise run again on retry.
            let recordable = !bytes.is_empty() || parts.status.is_success();
            let record = recordable.then(|| Recorded {
                status: parts.status.as_u16(),
                content_type: parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                body: bytes.to_vec(),
            });
            let (u, k) = (user, key);
            state
                .blocking(move |a| a.idempotency_finish(&u, &k, record))
                .await?;
            Ok(Response::from_parts(parts, Body::from(bytes)))
        }
    }
}

async fn forget(state: &AppState, user: String, key: String) {
    if let Err(e) = state
        .blocking(move |a| a.idempotency_finish(&user, &key, None))
        .await
    {
        tracing::error!(error = %e, "could not forget an idempotency key");
    }
}
