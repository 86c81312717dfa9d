//! The middleware, in the order a request meets it:
//!
//! 1. [`request_id`]: takes a valid `X-Request-Id` or makes one, and echoes it on the response.
//! 2. [`guard`]: the concurrency limit (503 + `Retry-After` when full), the request's
//!    [`Deadline`] (`server.request_timeout_secs` until a route sets its own), the panic
//!    catcher (500 with the request id; the server keeps serving), and the one place where
//!    error bodies are written, so every failure has the same JSON shape.
//! 3. The body-size limit (axum's `DefaultBodyLimit`, read by the JSON extractor).
//! 4. Routing; then, per route, [`record`] (metrics by matched route), [`route_timeout`] (the
//!    route table's limit replaces the default one) and [`authorize`] (bearer token → principal
//!    → the route's declared permission; 401 vs 403).
//!
//! The guard's deadline covers a request until its response head is ready. A streamed body
//! (server-sent events) outlives the guard: its handler bounds it by the same [`Deadline`].

use crate::error::{AppError, ErrorBody, code_for_status};
use crate::routes::Access;
use crate::state::{AppState, RequestId};
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use http_body::Body as _;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const REQUEST_ID: &str = "x-request-id";
/// Paths served even when the concurrency limit is reached (health checks must not queue).
const UNLIMITED: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

fn valid_request_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Assigns the request id.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|s| valid_request_id(s))
        .map(str::to_string)
        .unwrap_or_else(|| format!("req_{}", uuid::Uuid::new_v4().simple()));
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// The time limit of the current request, counted from its arrival at the guard. The guard
/// enforces it; [`route_timeout`] replaces it with the route's own before the handler runs;
/// streaming handlers read it (request extension) to bound their bodies.
#[derive(Debug, Clone)]
pub struct Deadline {
    start: tokio::time::Instant,
    limit: Arc<watch::Sender<Duration>>,
}

impl Deadline {
    /// A deadline `limit` from now.
    pub fn new(limit: Duration) -> Deadline {
        Deadline {
            start: tokio::time::Instant::now(),
            limit: Arc::new(watch::Sender::new(limit)),
        }
    }

    /// Replaces the limit (still counted from the request's arrival).
    pub fn set_limit(&self, limit: Duration) {
        self.limit.send_replace(limit);
    }

    /// The limit in force.
    pub fn limit(&self) -> Duration {
        *self.limit.borrow()
    }

    /// When the request must be over.
    pub fn at(&self) -> tokio::time::Instant {
        self.start + self.limit()
    }
}

/// Sets the route's own time limit (from the route table) on the request's [`Deadline`].
pub async fn route_timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if let Some(d) = req.extensions().get::<Deadline>() {
        d.set_limit(limit);
    }
    next.run(req).await
}

/// Concurrency limit, timeout, panic catching and error shaping.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let rid = req
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or(RequestId("unknown".into()));
    let path = req.uri().path().to_string();
    let _permit = if UNLIMITED.contains(&path.as_str()) {
        None
    } else {
        match state.limiter.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                state.metrics.overloaded.fetch_add(1, Ordering::Relaxed);
                let mut resp = error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "the server is at its concurrency limit; retry shortly".into(),
                    &rid,
                );
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return resp;
            }
        }
    };
    let deadline = Deadline::new(Duration::from_secs(
        state.assistant.config.server.request_timeout_secs,
    ));
    req.extensions_mut().insert(deadline.clone());
    let mut moved = deadline.limit.subscribe();
    state.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let run = AssertUnwindSafe(next.run(req)).catch_unwind();
    tokio::pin!(run);
    let outcome = loop {
        tokio::select! {
            r = &mut run => break Ok(r),
            _ = tokio::time::sleep_until(deadline.at()) => break Err(()),
            // A route set its own limit: wait for the new deadline instead.
            Ok(()) = moved.changed() => continue,
        }
    };
    let timeout = deadline.limit();
    state.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let resp = match outcome {
        Ok(Ok(resp)) => resp,
        Ok(Err(panic)) => {
            state.metrics.panics.fetch_add(1, Ordering::Relaxed);
            tracing::error!(request_id = %rid.0, %path, panic = %panic_message(&*panic), "handler panicked");
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; quote the request id".into(),
                &rid,
            );
        }
        Err(_) => {
            state.metrics.timeouts.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(request_id = %rid.0, %path, "request timed out");
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!("the request took longer than {} s", timeout.as_secs()),
                &rid,
            );
        }
    };
    shape(resp, &rid).await
}

/// A JSON error response in the API's shape.
pub fn error_response(
    status: StatusCode,
    code: &str,
    message: String,
    rid: &RequestId,
) -> Response {
    let body =
        serde_json::json!({"error": {"code": code, "message": message, "request_id": rid.0}});
    let mut resp = (status, axum::Json(body)).into_response();
    resp.extensions_mut().insert(ErrorBody {
        code: "shaped",
        message: String::new(),
    });
    resp
}

/// Gives every error response the API's shape.
async fn shape(resp: Response, rid: &RequestId) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    if let Some(body) = resp.extensions().get::<ErrorBody>().cloned() {
        if body.code == "shaped" {
            return resp;
        }
        let headers = resp.headers().clone();
        let mut out = error_response(status, body.code, body.message, rid);
        for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE, header::ALLOW] {
            if let Some(v) = headers.get(&name) {
                out.headers_mut().insert(name, v.clone());
            }
        }
        return out;
    }
    // An error from outside our handlers (no route, wrong method, a layer's rejection): keep a
    // short plain-text reason if there is one.
    let (parts, body) = resp.into_parts();
    let text = if body.size_hint().upper().is_some_and(|n| n <= 2048) {
        axum::body::to_bytes(body, 2048)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .filter(|s| !s.trim().is_empty())
    } else {
        None
    };
    let message = text.unwrap_or_else(|| {
        let reason = status.canonical_reason().unwrap_or("error");
        if status == StatusCode::NOT_FOUND {
            format!("{reason}: no such route")
        } else {
            reason.to_string()
        }
    });
    let mut out = error_response(status, code_for_status(status), message, rid);
    if let Some(v) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, v.clone());
    }
    out
}

/// Records metrics under the matched route template (`/v1/approvals/{id}`), not the raw path.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let t0 = Instant::now();
    let resp = next.run(req).await;
    state
        .metrics
        .record(&method, &route, resp.status().as_u16(), t0.elapsed());
    resp
}

/// Authenticates the bearer token and checks the route's declared access.
pub async fn authorize(
    State((state, access)): State<(AppState, Access)>,
    mut req: Request<Body>,
    next: Next,
) -> Result<Response, AppError> {
    if access == Access::Public {
        return Ok(next.run(req).await);
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string());
    let Some(token) = token else {
        return Err(AppError::Unauthenticated(
            "missing bearer token: send Authorization: Bearer <token>".into(),
        ));
    };
    let principal = state
        .blocking(move |a| a.authenticate(&token))
        .await?
        .ok_or_else(|| AppError::Unauthenticated("invalid, expired or revoked token".into()))?;
    if let Access::Permission(p) = access
        && !principal.can(p)
    {
        return Err(AppError::Forbidden(format!(
            "role {} lacks permission {p}",
            principal.role
        )));
    }
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}
