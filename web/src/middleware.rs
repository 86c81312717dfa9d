//! The middleware, in the order a request meets it. Before any of it, the server
//! ([`crate::serve`]) closes a connection whose request line and headers are not complete within
//! `server.header_read_timeout_secs` (also the longest a kept-alive connection may sit idle), so
//! a request reaches the middleware only with its whole head.
//!
//! 1. [`request_id`]: takes a valid `X-Request-Id` or makes one, and echoes it on the response.
//! 2. [`guard`]: the per-address limit (`server.ip_concurrency_limit`: 429 + `Retry-After`), the
//!    request's [`Deadline`] (`server.request_timeout_secs` until a route sets its own), the
//!    panic catcher (500 with the request id; the server keeps serving), and the one place where
//!    error bodies are written, so every failure has the same JSON shape.
//! 3. The body-size limit (axum's `DefaultBodyLimit`, read by the JSON extractor).
//! 4. Routing; then, per route, [`record`] (metrics by matched route), [`route_timeout`] (the
//!    route table's limit replaces the default one), [`authorize`] (bearer token → principal →
//!    the user's rate and concurrency limits, 429 + `Retry-After` → the route's declared
//!    permission; 401 vs 403) and [`admit`] (reads the whole body, then takes a place under
//!    `server.concurrency_limit`: 503 + `Retry-After` when full).
//!
//! The guard's deadline covers a request until its response head is ready. A streamed body
//! (server-sent events) outlives the guard: its handler bounds it by the same [`Deadline`].
//!
//! # Slow and greedy clients
//!
//! A place under `server.concurrency_limit` is held only while our code works on a request:
//! [`admit`] takes it after the body has arrived, so clients that send slowly cannot hold the
//! places. What a slow client can hold instead is bounded per client and in time:
//!
//! - Its head must be complete within `server.header_read_timeout_secs`, or the connection is
//!   closed without an answer.
//! - Its body (up to the route's limit: `server.max_body_bytes`, or `server.max_upload_bytes` on
//!   upload routes; a larger one is 413 at once when declared, else as soon as it grows past it)
//!   may pause for at most `server.body_idle_timeout_secs` and must be complete by the request's
//!   deadline; otherwise the answer is 408. 408 and 413 close the connection, since the rest of
//!   the body is never read.
//! - While its body arrives a request holds a place of its address (`server.ip_concurrency_limit`,
//!   taken by the guard) and of its user (`server.user_concurrency_limit`, taken by
//!   [`authorize`]); both are kept until the response head is ready.
//!
//! The principal is resolved once, in [`authorize`], from the route table's declared access,
//! and before the body is read: an unauthenticated client never gets a body buffered, and a
//! user's limits cover the upload itself. The rate limit (a token bucket per user,
//! `server.user_rate_per_sec` and `server.user_rate_burst`) is checked before the permission, so
//! requests that end in 403 count too. The health checks (`/healthz`, `/readyz`, `/metrics`) are
//! public and exempt from every limit. Per-address limits use the socket's peer address:
//! `X-Forwarded-For` is not trusted (a client could name any address in it).

use crate::access::{Access, Surface};
use crate::error::{AppError, ErrorBody, code_for_status};
use crate::state::{AppState, RequestId};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::{FutureExt, StreamExt};
use http_body::Body as _;
use policies::Principal;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

const REQUEST_ID: &str = "x-request-id";
/// Paths exempt from every limit (health checks must answer however busy the server is).
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

/// Whether a request's body is still arriving. [`admit`] sets it while it reads the body; the
/// [`guard`] reads it when the deadline passes, to tell the client's fault (408) from ours (503).
#[derive(Debug, Clone, Default)]
struct BodyPhase(Arc<AtomicBool>);

fn request_id_of(req: &Request) -> RequestId {
    req.extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or(RequestId("unknown".into()))
}

/// A refusal by the middleware itself, in the API's shape: `Retry-After` when the client may
/// try again, `Connection: close` when the rest of the request will not be read.
fn refuse(
    status: StatusCode,
    code: &str,
    message: String,
    rid: &RequestId,
    retry_after: Option<Duration>,
    close: bool,
) -> Response {
    let mut resp = error_response(status, code, message, rid);
    if let Some(wait) = retry_after {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if close {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// The per-address limit, timeout, panic catching and error shaping.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let page = crate::ui::is_page_path(req.uri().path());
    // Only a page's error is rendered in the browser's language; API requests skip the work.
    let lang = page.then(|| {
        (
            crate::ui::request_language(req.headers()),
            crate::ui::ErrorContext::of(req.method(), req.headers()),
        )
    });
    let rid = request_id_of(&req);
    let resp = guard_inner(state, req, next).await;
    let own_page = resp.extensions().get::<crate::ui::OwnErrorPage>().is_some();
    let status = resp.status();
    let mut resp = match lang {
        Some((lang, context))
            if !own_page && (status.is_client_error() || status.is_server_error()) =>
        {
            htmlify(resp, &rid, lang, &context).await
        }
        Some(_) | None => resp,
    };
    crate::ui::security_headers(resp.headers_mut());
    resp
}

/// An error response in the API's JSON shape turned into the web application's HTML error
/// page (same status, message and request id; `Retry-After` and `Allow` kept).
async fn htmlify(
    resp: Response,
    rid: &RequestId,
    lang: crate::ui::i18n::Lang,
    context: &crate::ui::ErrorContext,
) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let code = v["error"]["code"].as_str().unwrap_or("error");
    let message = v["error"]["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            parts
                .status
                .canonical_reason()
                .unwrap_or("error")
                .to_string()
        });
    let mut out = crate::ui::html_error(parts.status, code, &message, &rid.0, lang, context);
    for name in [header::RETRY_AFTER, header::ALLOW, header::CONNECTION] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

async fn guard_inner(state: AppState, mut req: Request, next: Next) -> Response {
    let rid = request_id_of(&req);
    let path = req.uri().path().to_string();
    // The peer address is known on a socket (`serve`), not to requests driven in-process.
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical());
    let _address_place = match peer {
        Some(ip) if !UNLIMITED.contains(&path.as_str()) => match state.per_ip.try_acquire(ip) {
            Some(p) => Some(p),
            None => {
                state
                    .metrics
                    .concurrency_limited
                    .fetch_add(1, Ordering::Relaxed);
                return refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    "concurrency_limited",
                    format!(
                        "{} requests from your address are in progress already \
                         (server.ip_concurrency_limit); retry when one is done",
                        state.per_ip.limit()
                    ),
                    &rid,
                    Some(Duration::from_secs(1)),
                    false,
                );
            }
        },
        Some(_) | None => None,
    };
    let deadline = Deadline::new(Duration::from_secs(
        state.assistant.config.server.request_timeout_secs,
    ));
    let body_phase = BodyPhase::default();
    req.extensions_mut().insert(deadline.clone());
    req.extensions_mut().insert(body_phase.clone());
    let mut moved = deadline.limit.subscribe();
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
        Err(()) if body_phase.0.load(Ordering::Acquire) => {
            state.metrics.body_timeouts.fetch_add(1, Ordering::Relaxed);
            tracing::info!(request_id = %rid.0, %path, "request body not complete by the deadline");
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "the request body did not arrive within {} s",
                    timeout.as_secs()
                ),
                &rid,
                None,
                true,
            );
        }
        Err(()) => {
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

/// What [`admit`] knows of a route: its body limit, and the configuration key that sets it.
#[derive(Clone)]
pub struct Admission {
    state: AppState,
    body_limit: u64,
    limit_key: &'static str,
}

impl Admission {
    /// Admission to a route whose body is bounded by `server.max_body_bytes`, or by
    /// `server.max_upload_bytes` when it is an `upload` route.
    pub fn new(state: &AppState, upload: bool) -> Admission {
        let s = &state.assistant.config.server;
        let (body_limit, limit_key) = if upload {
            (s.max_upload_bytes, "server.max_upload_bytes")
        } else {
            (s.max_body_bytes, "server.max_body_bytes")
        };
        Admission {
            state: state.clone(),
            body_limit,
            limit_key,
        }
    }
}

/// Why a body could not be read.
enum BodyError {
    /// Over the route's limit.
    TooLarge,
    /// No bytes for the idle timeout.
    Stalled,
    /// The connection failed or the framing was broken.
    Broken(axum::Error),
}

/// Reads `body` whole, up to `limit` bytes, waiting at most `idle` for each next part.
async fn read_body(body: Body, limit: u64, idle: Duration) -> Result<Bytes, BodyError> {
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    let declared = body.size_hint().lower();
    if declared > limit {
        return Err(BodyError::TooLarge);
    }
    // The declared length is the client's word: reserve a little, grow with what arrives.
    let mut buf = Vec::with_capacity(declared.min(64 * 1024) as usize);
    let mut parts = body.into_data_stream();
    loop {
        match tokio::time::timeout(idle, parts.next()).await {
            Err(_) => return Err(BodyError::Stalled),
            Ok(None) => return Ok(Bytes::from(buf)),
            Ok(Some(Err(e))) => return Err(BodyError::Broken(e)),
            Ok(Some(Ok(part))) => {
                if (buf.len() + part.len()) as u64 > limit {
                    return Err(BodyError::TooLarge);
                }
                buf.extend_from_slice(&part);
            }
        }
    }
}

/// Counts a request in `Metrics::in_flight` while it holds a place.
struct InFlight(Arc<crate::metrics::Metrics>);

impl InFlight {
    fn new(metrics: &Arc<crate::metrics::Metrics>) -> InFlight {
        metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(metrics.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Reads the whole request body (408 when it stalls, 413 over the route's limit), then takes a
/// place under the concurrency limit (503 + `Retry-After` when full) and runs the handler with
/// the body in memory.
pub async fn admit(State(adm): State<Admission>, req: Request, next: Next) -> Response {
    if UNLIMITED.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let state = &adm.state;
    let rid = request_id_of(&req);
    let idle = Duration::from_secs(state.assistant.config.server.body_idle_timeout_secs);
    let (parts, body) = req.into_parts();
    let phase = parts.extensions.get::<BodyPhase>().cloned();
    if let Some(p) = &phase {
        p.0.store(true, Ordering::Release);
    }
    let read = read_body(body, adm.body_limit, idle).await;
    if let Some(p) = &phase {
        p.0.store(false, Ordering::Release);
    }
    let bytes = match read {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "request body too large: the limit is {} bytes ({})",
                    adm.body_limit, adm.limit_key
                ),
                &rid,
                None,
                true,
            );
        }
        Err(BodyError::Stalled) => {
            state.metrics.body_timeouts.fetch_add(1, Ordering::Relaxed);
            tracing::info!(request_id = %rid.0, path = %parts.uri.path(), "request body stalled");
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "no bytes of the request body arrived for {} s \
                     (server.body_idle_timeout_secs)",
                    idle.as_secs()
                ),
                &rid,
                None,
                true,
            );
        }
        Err(BodyError::Broken(e)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the request body could not be read: {e}"),
                &rid,
                None,
                true,
            );
        }
    };
    let Ok(_place) = state.limiter.clone().try_acquire_owned() else {
        state.metrics.overloaded.fetch_add(1, Ordering::Relaxed);
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the server is at its concurrency limit; retry shortly".into(),
            &rid,
            Some(Duration::from_secs(1)),
            false,
        );
    };
    let _counted = InFlight::new(&state.metrics);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A JSON error response in the API's shape.
pub fn error_response(
    status: StatusCode,
    code: &str,
    message: String,
    rid: &RequestId,
) -> Response {
    let body = crate::error::ErrorResponse {
        error: crate::error::ErrorDetail {
            code: code.to_string(),
            message,
            kind: error_type(status).to_string(),
            param: None,
            request_id: rid.0.clone(),
        },
    };
    let mut resp = (status, axum::Json(body)).into_response();
    resp.extensions_mut().insert(ErrorBody {
        code: "shaped",
        message: String::new(),
    });
    resp
}

/// OpenAI's error `type` for a status (its clients and vLLM's read it beside `code`).
pub fn error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        s if s >= 500 => "server_error",
        _ => "invalid_request_error",
    }
}

/// Gives every error response the API's shape.
async fn shape(resp: Response, rid: &RequestId) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error())
        || resp.extensions().get::<crate::ui::OwnErrorPage>().is_some()
    {
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

/// Authenticates the bearer token, applies the user's rate and concurrency limits, and checks
/// the route's declared access. The user's place is held until the response head is ready.
pub async fn authorize(
    State((state, access, surface)): State<(AppState, Access, Surface)>,
    mut req: Request<Body>,
    next: Next,
) -> Result<Response, AppError> {
    if surface == Surface::Page
        && !matches!(*req.method(), Method::GET | Method::HEAD)
        && !same_origin(req.headers())
    {
        return Err(AppError::Forbidden(
            "a form posted from another site is refused (its Origin does not match this \
             server)"
                .into(),
        ));
    }
    if matches!(access, Access::Public | Access::Signed) {
        return Ok(next.run(req).await);
    }
    let principal = match surface {
        Surface::Api => {
            let headers = req.headers().clone();
            bearer_principal(&state, &headers).await?
        }
        Surface::Page => {
            let secret = crate::ui::cookie(req.headers(), crate::ui::SESSION_COOKIE);
            let found = match secret {
                Some(secret) => state.blocking(move |a| a.session(&secret)).await?,
                None => None,
            };
            match found {
                Some((principal, session)) => {
                    let lang = session
                        .language
                        .unwrap_or_else(|| crate::ui::request_language(req.headers()));
                    req.extensions_mut().insert(session);
                    req.extensions_mut().insert(lang);
                    principal
                }
                None if *req.method() == Method::GET => {
                    let here = req
                        .uri()
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/".into());
                    let next = if crate::ui::safe_next(&here) {
                        here
                    } else {
                        "/".into()
                    };
                    return Ok(crate::ui::see_other(&format!(
                        "/sign-in?next={}",
                        crate::ui::percent_encode(&next)
                    )));
                }
                None => {
                    return Err(AppError::Unauthenticated(
                        "your session has ended or was signed out: sign in again".into(),
                    ));
                }
            }
        }
    };
    authorized(state, access, principal, req, next).await
}

/// Whether a browser's `Origin` (or, without one, `Referer`) names this server's `Host`;
/// requests carrying neither pass (the session cookie is `SameSite=Strict` and forms carry a
/// token besides).
fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return true;
    };
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match from {
        None => true,
        Some("null") => false,
        Some(url) => url
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or_default() == host)
            .unwrap_or(false),
    }
}

/// The principal a bearer token stands for.
async fn bearer_principal(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<Principal, AppError> {
    let token = headers
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
    state
        .blocking(move |a| a.authenticate(&token))
        .await?
        .ok_or_else(|| AppError::Unauthenticated("invalid, expired or revoked token".into()))
}

/// The user's rate and concurrency limits and the route's permission, for an authenticated
/// principal.
async fn authorized(
    state: AppState,
    access: Access,
    principal: Principal,
    mut req: Request<Body>,
    next: Next,
) -> Result<Response, AppError> {
    let rid = request_id_of(&req);
    // Tokenizing is cheap (microseconds, bounded by the body limit) and clients that count
    // tokens themselves (lm-evaluation-harness) call it once per prompt, hundreds a second:
    // the tokenizer routes take no token from the request-rate bucket.
    let cheap = matches!(
        req.uri().path(),
        "/tokenize" | "/detokenize" | "/tokenizer_info"
    );
    if !cheap && let Err(wait) = state.user_rate.check(&principal.user) {
        state.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
        return Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "user {} is over the request rate ({} a second, bursts of {}: \
                 server.user_rate_per_sec, server.user_rate_burst); retry after the time in \
                 Retry-After",
                principal.user,
                state.user_rate.per_sec(),
                state.user_rate.burst()
            ),
            &rid,
            Some(wait),
            false,
        ));
    }
    if let Access::Permission(p) = access
        && !principal.can(p)
    {
        return Err(AppError::Forbidden(format!(
            "role {} lacks permission {p}",
            principal.role
        )));
    }
    let Some(_user_place) = state.per_user.try_acquire(principal.user.clone()) else {
        state
            .metrics
            .concurrency_limited
            .fetch_add(1, Ordering::Relaxed);
        return Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "concurrency_limited",
            format!(
                "user {} has {} requests in progress already (server.user_concurrency_limit); \
                 retry when one is done",
                principal.user,
                state.per_user.limit()
            ),
            &rid,
            Some(Duration::from_secs(1)),
            false,
        ));
    };
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}
