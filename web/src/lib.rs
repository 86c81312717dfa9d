//! Deskmate's HTTP API (axum).
//!
//! [`app`] builds the router from the route table in [`routes`] and wraps it in the middleware of
//! [`middleware`]; `main` and the tests share it (tests drive it with `oneshot`, no socket).
//! [`serve`] runs it on a listener (HTTP/1.1, with a deadline for each request head) with
//! graceful shutdown and the approval-expiry sweep. Only this crate knows the JSON wire format of
//! requests; errors all leave as `{"error": {"code", "message", "type", "param", "request_id"}}`
//! ([`error`]).

// Every error variant (and every other enum) is matched explicitly: a new variant must be
// mapped, not swallowed by a `_` arm (ARCHITECTURE.md, "Errors").
#![warn(clippy::wildcard_enum_match_arm)]

pub mod access;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod ui;
pub mod wire;

pub use error::AppError;
pub use routes::{Access, Route, Surface, Timeout, routes};
pub use state::AppState;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::routing::MethodRouter;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::trace::TraceLayer;

/// The whole API: every route of [`routes()`] behind its access check, plus the middleware.
pub fn app(state: AppState) -> Router {
    let mut by_path: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    let upload_limit = state.assistant.config.server.max_upload_bytes as usize;
    let table = routes();
    let _ = state.routes.set(table.iter().map(Route::info).collect());
    for r in table {
        let limit = r.timeout.duration(&state.assistant.config);
        let creates = r.creates();
        let body_limit = if r.upload {
            upload_limit
        } else {
            state.assistant.config.server.max_body_bytes as usize
        };
        let handler = if r.upload {
            r.handler.layer(DefaultBodyLimit::max(upload_limit))
        } else {
            r.handler
        };
        let handler = if creates {
            handler.route_layer(axum::middleware::from_fn_with_state(
                (state.clone(), body_limit),
                idempotency::idempotency,
            ))
        } else {
            handler
        };
        let guarded = handler
            .route_layer(axum::middleware::from_fn_with_state(
                middleware::Admission::new(&state, r.upload),
                middleware::admit,
            ))
            .route_layer(axum::middleware::from_fn_with_state(
                (state.clone(), r.access, r.surface),
                middleware::authorize,
            ))
            .route_layer(axum::middleware::from_fn_with_state(
                limit,
                middleware::route_timeout,
            ));
        let merged = match by_path.remove(r.path) {
            Some(existing) => existing.merge(guarded),
            None => guarded,
        };
        by_path.insert(r.path, merged);
    }
    let mut router = Router::new();
    for (path, mr) in by_path {
        router = router.route(path, mr);
    }
    wrap(router, state)
}

/// Wraps `router` in the middleware stack, its routes admitted as the route table's public,
/// non-upload routes are (body read first, then a place under the concurrency limit). Public
/// so that tests can wrap extra routes (a handler that panics, a slow one) exactly as the real
/// ones are wrapped.
pub fn with_middleware(router: Router<AppState>, state: AppState) -> Router {
    let router = router.route_layer(axum::middleware::from_fn_with_state(
        middleware::Admission::new(&state, false),
        middleware::admit,
    ));
    wrap(router, state)
}

/// The middleware every route shares: per-route metrics inside, the guard stack outside.
fn wrap(router: Router<AppState>, state: AppState) -> Router {
    let body_limit = state.assistant.config.server.max_body_bytes as usize;
    router
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::record,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(middleware::request_id))
                .layer(TraceLayer::new_for_http())
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    middleware::guard,
                ))
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .with_state(state)
}

/// Serves `app` (normally [`app`]`(state)`) on `listener` until `shutdown` resolves, then lets
/// in-flight requests finish for up to `server.shutdown_grace_secs` and drops the connections
/// still open after that. Runs the approval-expiry sweep meanwhile, and resumes extraction jobs a
/// previous run left unfinished.
///
/// Connections speak HTTP/1.1 (hyper's HTTP/1 server, not the version-sniffing one, which would
/// wait without limit for a silent client's first bytes). A connection whose request line and
/// headers are not complete within `server.header_read_timeout_secs` of its opening, or of its
/// previous response, is closed; the middleware bounds the body ([`middleware`]). Each request
/// carries its peer address (`ConnectInfo<SocketAddr>`) for the per-address limit.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(state.assistant.config.server.shutdown_grace_secs);
    let header_timeout =
        Duration::from_secs(state.assistant.config.server.header_read_timeout_secs);
    let sweep_every = Duration::from_secs(state.assistant.config.approvals.sweep_interval_secs);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sweeper = {
        let state = state.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(sweep_every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        match state.blocking(|a| a.expire_due()).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(expired = n, "approval requests expired"),
                            Err(e) => tracing::error!(error = %e, "approval expiry sweep failed"),
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
        })
    };
    {
        let a = state.assistant.clone();
        tokio::task::spawn_blocking(move || match a.extraction_unfinished() {
            Ok(ids) => {
                for id in ids {
                    tracing::info!(job = %id, "resuming an unfinished extraction job");
                    if let Err(e) = a.extraction_run(&id) {
                        tracing::error!(job = %id, error = %e, "extraction job failed");
                        let _ = a.finish_job(&id, Err(e.to_string()));
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot list unfinished extraction jobs"),
        });
    }
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    // Connections watch `closing` to finish their current request and close.
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req.map(Body::new))
            },
        );
        let conn = http.serve_connection(TokioIo::new(wire::ErrorShapeIo::new(stream)), service);
        let mut closing = closing_rx.clone();
        let metrics = state.metrics.clone();
        connections.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let mut told = false;
            let result = loop {
                tokio::select! {
                    r = conn.as_mut() => break r,
                    _ = closing.changed(), if !told => {
                        told = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            };
            match result {
                Ok(()) => {}
                Err(e) if e.is_timeout() => {
                    metrics
                        .header_timeouts
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::debug!(%peer, "connection closed: request head not complete in time");
                }
                Err(e) => tracing::debug!(%peer, error = %e, "connection ended with an error"),
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = stop_tx.send(true);
    let _ = closing_tx.send(true);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            open = connections.len(),
            "shutdown grace period over; dropping open connections"
        );
        connections.shutdown().await;
    }
    sweeper.abort();
    Ok(())
}

/// After a failed `accept`: a connection that failed before we saw it costs nothing; anything
/// else (out of file descriptors) is logged and waited out for a second rather than spun on.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        tracing::debug!(error = %e, "connection failed before it was accepted");
    } else {
        tracing::error!(error = %e, "accept failed; pausing for a second");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
