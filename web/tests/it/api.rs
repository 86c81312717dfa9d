//! The HTTP spine end to end through `app()` with `oneshot` (and one real socket for shutdown):
//! the error shape for every kind of failure, access control on every route for every role,
//! panics, timeouts, the concurrency limit, request ids, and an approval round trip. Its setup
//! (`api_with`, `call`, `error_code`) is shared with `slow_clients`.

use assistant::Assistant;
use assistant::config::Config;
use assistant::store::Actor;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::get;
use http_body_util::BodyExt;
use policies::Role;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tower::ServiceExt;
use web::{Access, AppState, Surface, app, routes, with_middleware};

pub(crate) struct Api {
    pub(crate) state: AppState,
    pub(crate) tokens: BTreeMap<Role, String>,
    _dir: tempfile::TempDir,
}

pub(crate) fn api_with(f: impl FnOnce(&mut Config)) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_path_buf();
    // The access sweep sends every user dozens of requests in well under a second; the rate
    // limit has tests of its own (`slow_clients`), which set it as they need.
    config.server.user_rate_burst = 1000;
    f(&mut config);
    let a = Assistant::open(config).unwrap();
    let mut tokens = BTreeMap::new();
    for role in Role::ALL {
        let name = format!("{}1", role.as_str());
        a.create_user(&Actor::system(), &name, role).unwrap();
        tokens.insert(
            role,
            a.issue_token(&Actor::system(), &name, "test", None)
                .unwrap()
                .token,
        );
    }
    Api {
        state: AppState::new(a),
        tokens,
        _dir: dir,
    }
}

fn api() -> Api {
    api_with(|_| {})
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Value,
}

pub(crate) async fn call(router: Router, req: Request<Body>) -> Reply {
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    Reply {
        status,
        headers,
        body,
    }
}

impl Api {
    pub(crate) fn app(&self) -> Router {
        app(self.state.clone())
    }

    pub(crate) fn req(
        &self,
        method: Method,
        path: &str,
        role: Option<Role>,
        body: Option<Value>,
    ) -> Request<Body> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(r) = role {
            b = b.header(header::AUTHORIZATION, format!("Bearer {}", self.tokens[&r]));
        }
        match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .unwrap()
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        role: Option<Role>,
        body: Option<Value>,
    ) -> Reply {
        call(self.app(), self.req(method, path, role, body)).await
    }
}

/// Checks the one error shape and returns the code.
pub(crate) fn error_code(r: &Reply) -> String {
    let e = &r.body["error"];
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message: {}",
        r.body
    );
    let rid = e["request_id"].as_str().expect("request_id");
    assert_eq!(r.headers["x-request-id"].to_str().unwrap(), rid);
    assert_eq!(
        r.body.as_object().unwrap().len(),
        1,
        "extra top-level keys: {}",
        r.body
    );
    e["code"].as_str().unwrap().to_string()
}

pub(crate) fn concrete(path: &str) -> String {
    path.replace("{id}", "does-not-exist")
        .replace("{name}", "nobody")
}

#[tokio::test]
async fn public_routes_are_exactly_the_health_checks() {
    let public: Vec<&str> = routes()
        .iter()
        .filter(|r| r.access == Access::Public && r.surface == Surface::Api)
        .map(|r| r.path)
        .collect();
    assert_eq!(public, vec!["/healthz", "/readyz", "/metrics"]);
    // Routes that prove their caller by a signature instead of a token: the WeCom callback.
    let signed: Vec<(String, &str)> = routes()
        .iter()
        .filter(|r| r.access == Access::Signed)
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    assert_eq!(
        signed,
        vec![
            ("GET".to_string(), "/v1/wecom/callback"),
            ("POST".to_string(), "/v1/wecom/callback")
        ]
    );
    // The web application's public routes: its assets and the sign-in form.
    let pages: Vec<(String, &str)> = routes()
        .iter()
        .filter(|r| r.access == Access::Public && r.surface == Surface::Page)
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    assert_eq!(
        pages,
        vec![
            ("GET".to_string(), "/assets/{name}"),
            ("GET".to_string(), "/sign-in"),
            ("POST".to_string(), "/sign-in")
        ]
    );
    let a = api();
    for p in public {
        assert_eq!(
            a.send(Method::GET, p, None, None).await.status,
            StatusCode::OK,
            "{p}"
        );
    }
}

#[tokio::test]
async fn every_route_enforces_its_declared_access_for_every_role() {
    let a = api();
    let table = routes();
    assert!(table.len() >= 20);
    // Page routes authenticate by session cookie: `ui::every_page_route_as_every_role…`.
    for r in table.iter().filter(|r| r.surface == Surface::Api) {
        let path = concrete(r.path);
        if matches!(r.access, Access::Public | Access::Signed) {
            continue;
        }
        // No token: 401, with the error shape.
        let reply = a.send(r.method.clone(), &path, None, None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{} {}",
            r.method,
            r.path
        );
        assert_eq!(error_code(&reply), "unauthenticated");
        // A bad token: 401.
        let mut req = a.req(r.method.clone(), &path, None, None);
        req.headers_mut()
            .insert(header::AUTHORIZATION, "Bearer dm_forged".parse().unwrap());
        assert_eq!(call(a.app(), req).await.status, StatusCode::UNAUTHORIZED);
        for role in Role::ALL {
            let allowed = match r.access {
                Access::Permission(p) => role.allows(p),
                _ => true,
            };
            let reply = a.send(r.method.clone(), &path, Some(role), None).await;
            if allowed {
                assert!(
                    reply.status != StatusCode::FORBIDDEN
                        && reply.status != StatusCode::UNAUTHORIZED,
                    "{role} should reach {} {} but got {}: {}",
                    r.method,
                    r.path,
                    reply.status,
                    reply.body
                );
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "{role} on {} {}",
                    r.method,
                    r.path
                );
                assert_eq!(error_code(&reply), "forbidden");
                assert!(
                    reply.body["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("lacks permission")
                );
            }
        }
    }
}

#[tokio::test]
async fn every_kind_of_failure_has_the_same_error_shape() {
    let a = api_with(|c| c.server.max_body_bytes = 1024);
    let admin = Some(Role::Admin);
    // Malformed JSON.
    let mut req = a.req(Method::POST, "/v1/users", admin, None);
    req.headers_mut()
        .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    *req.body_mut() = Body::from("{\"name\": \"x\", ");
    let r = call(a.app(), req).await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_json")
    );
    // Well-formed JSON of the wrong shape names the field.
    let r = a
        .send(
            Method::POST,
            "/v1/users",
            admin,
            Some(json!({"name": "x", "role": "king"})),
        )
        .await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("role"),
        "{}",
        r.body
    );
    // Wrong content type.
    let mut req = a.req(Method::POST, "/v1/users", admin, None);
    req.headers_mut()
        .insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
    *req.body_mut() = Body::from("name=x");
    let r = call(a.app(), req).await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    // Oversize body.
    let big = json!({"name": "x".repeat(5000), "role": "ops"});
    let r = a.send(Method::POST, "/v1/users", admin, Some(big)).await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    // Unknown route, and a known route with the wrong method.
    let r = a.send(Method::GET, "/v1/nothing-here", admin, None).await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let r = a.send(Method::PUT, "/v1/users", admin, None).await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    // A bad query parameter.
    let r = a
        .send(Method::GET, "/v1/approvals?state=done", admin, None)
        .await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let r = a
        .send(Method::GET, "/v1/audit?limit=many", admin, None)
        .await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    // A missing object.
    let r = a
        .send(Method::GET, "/v1/approvals/apr_nope", admin, None)
        .await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

#[tokio::test]
async fn request_ids_are_taken_from_the_client_or_generated() {
    let a = api();
    let mut req = a.req(Method::GET, "/v1/nope", None, None);
    req.headers_mut()
        .insert("x-request-id", "client-123".parse().unwrap());
    let r = call(a.app(), req).await;
    assert_eq!(r.body["error"]["request_id"], "client-123");
    let mut req = a.req(Method::GET, "/v1/nope", None, None);
    req.headers_mut()
        .insert("x-request-id", "bad id with spaces".parse().unwrap());
    let r = call(a.app(), req).await;
    assert!(
        r.body["error"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
}

#[tokio::test]
async fn a_panicking_handler_returns_500_and_the_server_keeps_serving() {
    let a = api();
    let router = with_middleware(
        Router::new()
            .route(
                "/v1/boom",
                get(|| async {
                    if std::hint::black_box(true) {
                        panic!("deliberate test panic");
                    }
                    "unreachable"
                }),
            )
            .route("/v1/ok", get(|| async { "fine" })),
        a.state.clone(),
    );
    let r = call(
        router.clone(),
        Request::get("/v1/boom").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(error_code(&r), "internal");
    assert!(
        !r.body.to_string().contains("deliberate"),
        "panic text leaked: {}",
        r.body
    );
    let r = call(router, Request::get("/v1/ok").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    // The real router too, after the panic.
    assert_eq!(
        a.send(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
    let m = a.send(Method::GET, "/metrics", None, None).await;
    assert!(
        m.body
            .as_str()
            .unwrap()
            .contains("deskmate_http_panics_total 1"),
        "{}",
        m.body
    );
}

#[tokio::test]
async fn slow_requests_time_out_and_overload_is_refused_with_retry_after() {
    let a = api_with(|c| {
        c.server.request_timeout_secs = 1;
        c.server.concurrency_limit = 1;
    });
    let slow = || async {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        "late"
    };
    let router = with_middleware(Router::new().route("/v1/slow", get(slow)), a.state.clone());
    let first = tokio::spawn(call(
        router.clone(),
        Request::get("/v1/slow").body(Body::empty()).unwrap(),
    ));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let second = call(
        router.clone(),
        Request::get("/v1/slow").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&second), "overloaded");
    assert_eq!(second.headers[header::RETRY_AFTER], "1");
    // Health checks are not limited.
    let h = call(
        router.clone(),
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(h.status, StatusCode::NOT_FOUND); // not in this router, but not refused either
    let first = first.await.unwrap();
    assert_eq!(first.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&first), "timeout");
}

/// A stored value that does not decode (a database edited by hand, a bad restore) is our fault:
/// 500 with the generic message, logged; never a default, never the caller's 4xx.
#[tokio::test]
async fn a_corrupt_stored_value_is_a_500_not_a_default() {
    let a = api();
    let body = json!({
        "kind": "report", "title": "weekly", "required_role": "ops", "payload": {"n": 1}
    });
    let created = a
        .send(Method::POST, "/v1/approvals", Some(Role::Ops), Some(body))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    a.state
        .assistant
        .store()
        .write(&Actor::system(), |tx| {
            tx.conn()
                .execute(
                    "UPDATE approvals SET required_role = 'root' WHERE id = ?1",
                    [&id],
                )
                .map_err(assistant::store::StoreError::from)
        })
        .unwrap();
    for path in [format!("/v1/approvals/{id}"), "/v1/approvals".to_string()] {
        let r = a.send(Method::GET, &path, Some(Role::Ops), None).await;
        assert_eq!(
            (r.status, error_code(&r).as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            "{path}: {}",
            r.body
        );
        assert!(!r.body.to_string().contains("root"), "{}", r.body);
    }
}

#[tokio::test]
async fn approval_round_trip_over_http_with_four_eyes() {
    let a = api();
    let body = json!({
        "kind": "term_sheet", "title": "IRS confirmation 2005-06-23", "required_role": "ops", "four_eyes": true,
        "payload": {"premium_pct": 3.2}, "expires_in_secs": 120
    });
    let mut req = a.req(
        Method::POST,
        "/v1/approvals",
        Some(Role::Ops),
        Some(body.clone()),
    );
    req.headers_mut()
        .insert("idempotency-key", "m-1".parse().unwrap());
    let created = call(a.app(), req).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let mut req = a.req(Method::POST, "/v1/approvals", Some(Role::Ops), Some(body));
    req.headers_mut()
        .insert("idempotency-key", "m-1".parse().unwrap());
    assert_eq!(call(a.app(), req).await.body["id"], id.as_str());
    // The maker cannot approve; a second trader (admin here) can; approving twice is a no-op.
    let r = a
        .send(
            Method::POST,
            &format!("/v1/approvals/{id}/approve"),
            Some(Role::Ops),
            None,
        )
        .await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let r = a
        .send(
            Method::POST,
            &format!("/v1/approvals/{id}/approve"),
            Some(Role::Admin),
            Some(json!({"note": "ok"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["changed"].as_bool(),
            r.body["approval"]["state"].as_str()
        ),
        (Some(true), Some("approved"))
    );
    let r = a
        .send(
            Method::POST,
            &format!("/v1/approvals/{id}/approve"),
            Some(Role::Admin),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.body["changed"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    let r = a
        .send(
            Method::POST,
            &format!("/v1/approvals/{id}/reject"),
            Some(Role::Admin),
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(
        (r.status, error_code(&r).as_str()),
        (StatusCode::CONFLICT, "conflict")
    );
    // The audit log shows it, and verifies.
    let r = a
        .send(
            Method::GET,
            "/v1/audit?limit=1000",
            Some(Role::Compliance),
            None,
        )
        .await;
    let actions: Vec<&str> = r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"approval.create") && actions.contains(&"approval.approve"),
        "{actions:?}"
    );
    let r = a
        .send(Method::GET, "/v1/audit/verify", Some(Role::Admin), None)
        .await;
    assert_eq!(r.body["first_break"], Value::Null, "{}", r.body);
}

#[tokio::test]
async fn tokens_issued_over_http_work_once_and_die_when_revoked() {
    let a = api();
    let r = a
        .send(
            Method::POST,
            "/v1/users",
            Some(Role::Admin),
            Some(json!({"name": "olga", "role": "ops"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = a
        .send(
            Method::POST,
            "/v1/users/olga/tokens",
            Some(Role::Admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (token, id) = (
        r.body["token"].as_str().unwrap().to_string(),
        r.body["id"].as_str().unwrap().to_string(),
    );
    let me = |t: String| {
        Request::get("/v1/me")
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap()
    };
    let r = call(a.app(), me(token.clone())).await;
    assert_eq!(
        (r.body["user"].as_str(), r.body["role"].as_str()),
        (Some("olga"), Some("ops"))
    );
    // The secret is not stored or listed anywhere.
    let users = a
        .send(Method::GET, "/v1/users", Some(Role::Admin), None)
        .await;
    assert!(!users.body.to_string().contains(&token));
    let r = a
        .send(
            Method::DELETE,
            &format!("/v1/tokens/{id}"),
            Some(Role::Admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        call(a.app(), me(token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let a = api();
    let router = with_middleware(
        Router::new().route(
            "/v1/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_millis(800)).await;
                "finished"
            }),
        ),
        a.state.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, a.state.clone(), router, async {
        let _ = rx.await;
    }));
    let client = tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET /v1/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    tx.send(()).unwrap();
    let out = client.await.unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200") && out.ends_with("finished"),
        "{out}"
    );
    server.await.unwrap().unwrap();
    // New connections are refused after shutdown.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
