//! The state shared by every handler.

use crate::metrics::Metrics;
use assistant::Assistant;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Shared state: the workflows, metrics, and the concurrency limiter. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The workflows and their store.
    pub assistant: Arc<Assistant>,
    /// Request counters and latencies.
    pub metrics: Arc<Metrics>,
    /// Permits for requests served at once.
    pub limiter: Arc<Semaphore>,
}

impl AppState {
    /// State over an opened assistant, with limits from its configuration.
    pub fn new(assistant: Assistant) -> AppState {
        let permits = assistant.config.server.concurrency_limit as usize;
        AppState {
            assistant: Arc::new(assistant),
            metrics: Arc::new(Metrics::default()),
            limiter: Arc::new(Semaphore::new(permits)),
        }
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
