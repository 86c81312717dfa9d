//! Who may call a route and how long it may take: the vocabulary shared by the route table
//! ([`crate::routes`]), the middleware and the handlers. It imports neither, so the table
//! (which names the handlers) and the handlers (which list the table) do not import each
//! other: the table reaches `GET /v1/routes` through [`crate::AppState::routes`].

use assistant::Config;
use axum::http::Method;
use policies::Permission;
use std::time::Duration;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token (health checks and metrics only).
    Public,
    /// No token: the caller proves itself by a signature over the request that the handler
    /// checks (WeCom's `msg_signature` on the robot's callback).
    Signed,
    /// Any valid token, whatever the role.
    Authenticated,
    /// A valid token whose role holds this permission.
    Permission(Permission),
}

/// Which part of the server a route belongs to: decides how its caller is authenticated and
/// what its errors look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The JSON API: a bearer token; errors in the API's JSON shape.
    Api,
    /// The web application: the session cookie (a signed-out browser is sent to the sign-in
    /// page); state-changing forms carry the session's form token; errors are HTML pages.
    Page,
}

impl Surface {
    /// The name shown by `GET /v1/routes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Api => "api",
            Surface::Page => "page",
        }
    }
}

/// Which configured limit bounds a route's time. The guard middleware enforces the request's
/// deadline; a route's own limit replaces the server's before its handler runs. For a
/// streamed answer, the handler bounds the rest of the stream by the same deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// `server.request_timeout_secs`.
    Server,
    /// `models.generation_timeout_secs`: model generation, streamed or not, takes longer than
    /// an ordinary request.
    Generation,
}

impl Timeout {
    /// The limit under `config`.
    pub fn duration(self, config: &Config) -> Duration {
        Duration::from_secs(match self {
            Timeout::Server => config.server.request_timeout_secs,
            Timeout::Generation => config.models.generation_timeout_secs,
        })
    }

    /// The name shown by `GET /v1/routes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Timeout::Server => "server",
            Timeout::Generation => "generation",
        }
    }
}

/// A route as described to clients: everything but its handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// HTTP method.
    pub method: Method,
    /// Path template.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does.
    pub summary: &'static str,
    /// The limit on its time.
    pub timeout: Timeout,
    /// Whether the body is an upload.
    pub upload: bool,
    /// API or page.
    pub surface: Surface,
    /// Whether it creates something, and so honours `Idempotency-Key`.
    pub creates: bool,
}
