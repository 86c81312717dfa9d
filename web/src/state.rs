//! The state shared by every handler.

use crate::access::RouteInfo;
use crate::limits::{KeyedLimit, RateLimiter};
use crate::metrics::Metrics;
use assistant::Assistant;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// Shared state: the workflows, metrics, and the limiters. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The workflows and their store.
    pub assistant: Arc<Assistant>,
    /// Request counters and latencies.
    pub metrics: Arc<Metrics>,
    /// Places for requests served at once (`server.concurrency_limit`), taken once a request's
    /// body has arrived.
    pub limiter: Arc<Semaphore>,
    /// Requests in progress per user (`server.user_concurrency_limit`).
    pub per_user: Arc<KeyedLimit<String>>,
    /// Requests in progress per client address (`server.ip_concurrency_limit`).
    pub per_ip: Arc<KeyedLimit<IpAddr>>,
    /// Request rate per user (`server.user_rate_per_sec`, `server.user_rate_burst`).
    pub user_rate: Arc<RateLimiter>,
    /// The route table as served, set by [`crate::app`] (for `GET /v1/routes`).
    pub routes: Arc<OnceLock<Vec<RouteInfo>>>,
    /// The OpenAPI document of [`Self::routes`], built on its first request
    /// (`GET /openapi.json`).
    pub openapi: Arc<OnceLock<serde_json::Value>>,
    /// The WeCom robot when `wecom.enabled` (its callback route and, run by the binary, its
    /// outbox share it).
    pub wecom: Option<Arc<connectors::wecom::Robot>>,
}

impl AppState {
    /// State over an opened assistant, with limits from its configuration.
    pub fn new(assistant: Assistant) -> AppState {
        let s = &assistant.config.server;
        let permits = s.concurrency_limit as usize;
        let per_user = KeyedLimit::new(s.user_concurrency_limit);
        let per_ip = KeyedLimit::new(s.ip_concurrency_limit);
        let user_rate = RateLimiter::new(s.user_rate_per_sec, s.user_rate_burst);
        let assistant = Arc::new(assistant);
        // The configuration was validated (token, key): this fails only if no HTTP client
        // can be built.
        let wecom = crate::handlers::wecom::robot(&assistant).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the WeCom robot cannot start");
            None
        });
        AppState {
            assistant,
            metrics: Arc::new(Metrics::default()),
            limiter: Arc::new(Semaphore::new(permits)),
            per_user: Arc::new(per_user),
            per_ip: Arc::new(per_ip),
            user_rate: Arc::new(user_rate),
            routes: Arc::new(OnceLock::new()),
            openapi: Arc::new(OnceLock::new()),
            wecom,
        }
    }

    /// Requests holding a place under `server.concurrency_limit` now.
    pub fn in_flight(&self) -> usize {
        (self.assistant.config.server.concurrency_limit as usize)
            .saturating_sub(self.limiter.available_permits())
    }

    /// Runs blocking work (SQLite, models) off the async threads. A panic inside it is resumed
    /// here so that the guard middleware turns it into a 500 like any other handler panic.
    pub async fn blocking<T, F>(&self, f: F) -> T
    where
        F: FnOnce(&Assistant) -> T + Send + 'static,
        T: Send + 'static,
    {
        let a = self.assistant.clone();
        match tokio::task::spawn_blocking(move || f(&a)).await {
            Ok(v) => v,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("blocking task cancelled: {e}"),
        }
    }
}

/// The request id of the current request (from `X-Request-Id` if valid, else generated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);
