//! Deskmate's HTTP API (axum).
//!
//! [`app`] builds the router from the route table in [`routes`] and wraps it in the middleware of
//! [`middleware`]; `main` and the tests share it (tests drive it with `oneshot`, no socket).
//! [`serve`] runs it on a listener with graceful shutdown and the approval-expiry sweep. Only this
//! crate knows the JSON wire format of requests; errors all leave as
//! `{"error": {"code", "message", "request_id"}}` ([`error`]).

// Every error variant (and every other enum) is matched explicitly: a new variant must be
// mapped, not swallowed by a `_` arm (ARCHITECTURE.md, "Errors").
#![warn(clippy::wildcard_enum_match_arm)]

pub mod error;
pub mod extract;
pub mod handlers;
pub mod idempotency;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod state;

pub use error::AppError;
pub use routes::{Access, Route, Timeout, routes};
pub use state::AppState;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::MethodRouter;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;

/// The whole API: every route of [`routes()`] behind its access check, plus the middleware.
pub fn app(state: AppState) -> Router {
    let mut by_path: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    let upload_limit = state.assistant.config.server.max_upload_bytes as usize;
    for r in routes() {
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
                (state.clone(), r.access),
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
    with_middleware(router, state)
}

/// Wraps `router` in the middleware stack. Public so that tests can wrap extra routes (a handler
/// that panics, a slow one) exactly as the real ones are wrapped.
pub fn with_middleware(router: Router<AppState>, state: AppState) -> Router {
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
/// in-flight requests finish for up to `server.shutdown_grace_secs`. Runs the approval-expiry
/// sweep meanwhile, and resumes extraction jobs a previous run left unfinished.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(state.assistant.config.server.shutdown_grace_secs);
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
    let mut grace_rx = stop_rx;
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop_tx.send(true);
    });
    let result = tokio::select! {
        r = server => r,
        _ = async move {
            let _ = grace_rx.wait_for(|v| *v).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_secs = grace.as_secs(), "shutdown grace period over; dropping open connections");
            Ok(())
        }
    };
    sweeper.abort();
    result
}
