//! The hostile suite (issue #15, item 10): tables of requests a hostile but authenticated (or
//! unauthenticated) client sends, each with its expected safe outcome, counted per category.
//! The clearance sweep, document identity and idempotency cases are in `security.rs`, slow and
//! greedy clients in `slow_clients.rs`; each test here prints its category's count.
//!
//! Safe outcome, everywhere: never a 5xx, always the one error shape, and nothing changed
//! (checked by the audit head where a request could change state).

use super::api::{Api, api_with, call, concrete, error_code};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use policies::Role;
use serde_json::{Value, json};
use web::{Access, Surface, routes};

fn audit_head(a: &Api) -> u64 {
    a.state
        .assistant
        .store()
        .audit_head()
        .unwrap()
        .map_or(0, |h| h.seq)
}

/// Authorisation: every route without a token, with forged, malformed and revoked tokens, and
/// as every role that lacks its permission: 401 or 403, the error shape, no state change.
#[tokio::test]
async fn hostile_authz() {
    let a = api_with(|_| {});
    // A revoked token of an admin.
    let revoked = a
        .state
        .assistant
        .issue_token(&assistant::store::Actor::system(), "admin1", "gone", None)
        .unwrap();
    a.state
        .assistant
        .revoke_token(&assistant::store::Actor::system(), &revoked.id)
        .unwrap();
    let bad_tokens = [
        "Bearer dm_forged".to_string(),
        "Bearer ".to_string(),
        "Basic YWRtaW46YWRtaW4=".to_string(),
        format!("Bearer {}", revoked.token),
        format!("Bearer {}x", a.tokens[&Role::Admin]),
        "Bearer dm_' OR 1=1 --".to_string(),
    ];
    let mut cases = 0;
    // Page routes have their own hostile cases (`ui.rs`: the `pages` category).
    for r in routes().into_iter().filter(|r| r.surface == Surface::Api) {
        // Signed routes take no token: their hostile cases are in `wecom.rs`.
        if matches!(r.access, Access::Public | Access::Signed) {
            continue;
        }
        let path = concrete(r.path);
        for auth in &bad_tokens {
            let before = audit_head(&a);
            let mut req = a.req(r.method.clone(), &path, None, Some(json!({})));
            req.headers_mut()
                .insert(header::AUTHORIZATION, auth.parse().unwrap());
            let reply = call(a.app(), req).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{auth:?} on {} {}",
                r.method,
                r.path
            );
            assert_eq!(error_code(&reply), "unauthenticated");
            assert_eq!(audit_head(&a), before);
            cases += 1;
        }
        if let Access::Permission(p) = r.access {
            for role in Role::ALL.into_iter().filter(|role| !role.allows(p)) {
                let before = audit_head(&a);
                let reply = a
                    .send(r.method.clone(), &path, Some(role), Some(json!({})))
                    .await;
                assert_eq!(reply.status, StatusCode::FORBIDDEN, "{role} {}", r.path);
                assert_eq!(error_code(&reply), "forbidden");
                assert_eq!(audit_head(&a), before, "{role} {} changed state", r.path);
                cases += 1;
            }
        }
    }
    eprintln!("hostile suite: authz = {cases} cases");
    assert!(cases >= 200, "{cases}");
}

/// Bad input to every JSON route as a role allowed to call it: malformed, mistyped, oversized,
/// deeply nested, NUL-laden and unknown-field bodies: 4xx with the error shape naming the
/// problem, never a 5xx, no state change.
#[tokio::test]
async fn hostile_bad_input() {
    let a = api_with(|c| c.server.max_body_bytes = 64 * 1024);
    let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let big = format!("{{\"title\": \"{}\"}}", "x".repeat(100 * 1024));
    let bodies: Vec<(&str, Option<&str>, String)> = vec![
        ("malformed", Some("application/json"), "{\"title\": ".into()),
        ("array", Some("application/json"), "[1, 2, 3]".into()),
        ("string", Some("application/json"), "\"hello\"".into()),
        ("null", Some("application/json"), "null".into()),
        ("text/plain", Some("text/plain"), "{\"a\": 1}".into()),
        ("no content type", None, "{\"a\": 1}".into()),
        ("unknown field", Some("application/json"), "{\"zzz_unknown\": 1}".into()),
        ("NUL", Some("application/json"), "{\"title\": \"a\\u0000b\", \"name\": \"a\\u0000b\"}".into()),
        ("deep nesting", Some("application/json"), deep),
        ("over the body limit", Some("application/json"), big),
        ("invalid UTF-8", Some("application/json"), String::from_utf8_lossy(b"{\"a\": \"\xff\xfe\"}").into()),
        ("wrong types", Some("application/json"), "{\"kind\": 1, \"title\": [], \"payload\": 5, \"name\": {}, \"role\": 7, \"query\": 3, \"messages\": \"x\", \"model\": 1, \"input\": {}}".into()),
    ];
    let admin = Role::Admin;
    let mut cases = 0;
    // Page routes have their own hostile cases (`ui.rs`: the `pages` category).
    for r in routes().into_iter().filter(|r| r.surface == Surface::Api) {
        // Uploads have their own tests; the market-data reload takes no body at all.
        if r.method != Method::POST || r.upload || r.path == "/v1/rfq/market-data/reload" {
            continue;
        }
        let path = concrete(r.path);
        for (what, ct, body) in &bodies {
            let before = audit_head(&a);
            let mut b = Request::builder().method(Method::POST).uri(&path).header(
                header::AUTHORIZATION,
                format!("Bearer {}", a.tokens[&admin]),
            );
            if let Some(ct) = ct {
                b = b.header(header::CONTENT_TYPE, *ct);
            }
            let reply = call(a.app(), b.body(Body::from(body.clone())).unwrap()).await;
            assert!(
                reply.status.is_client_error(),
                "{what} to {}: {} {}",
                r.path,
                reply.status,
                reply.body
            );
            error_code(&reply);
            // Reads of what does not exist are audited as reads at most; nothing is created.
            let after = audit_head(&a);
            assert!(
                after == before,
                "{what} to {} wrote {} audit entries",
                r.path,
                after - before
            );
            cases += 1;
        }
    }
    eprintln!("hostile suite: bad input = {cases} cases");
    assert!(cases >= 150, "{cases}");
}

/// Hostile paths and query strings on every GET route: traversal, NUL, overlong ids, integer
/// overflow, negative and non-numeric limits, unknown parameters, invalid times: 4xx or an
/// empty answer, never a 5xx.
#[tokio::test]
async fn hostile_paths_and_queries() {
    let a = api_with(|_| {});
    let long = "a".repeat(10_000);
    let ids = [
        "..%2F..%2Fetc%2Fpasswd",
        "%00",
        "%E2%80%AE",
        long.as_str(),
        "1%20OR%201%3D1",
        "%F0%9F%92%A9",
    ];
    let queries = [
        "from_seq=18446744073709551615",
        "from_seq=-1",
        "limit=-1",
        "limit=99999999999999999999",
        "limit=abc",
        "zzz=1",
        "from=yesterday",
        "to=2026-13-45T99:99:99Z",
        "state=%00",
        "collection=%00",
    ];
    let mut cases = 0;
    // Page routes have their own hostile cases (`ui.rs`: the `pages` category).
    for r in routes().into_iter().filter(|r| r.surface == Surface::Api) {
        if r.method != Method::GET || matches!(r.access, Access::Public | Access::Signed) {
            continue;
        }
        let targets: Vec<String> = if r.path.contains('{') {
            ids.iter()
                .map(|id| r.path.replace("{id}", id).replace("{name}", id))
                .collect()
        } else {
            queries.iter().map(|q| format!("{}?{q}", r.path)).collect()
        };
        for path in targets {
            let reply = a.send(Method::GET, &path, Some(Role::Admin), None).await;
            assert!(
                !reply.status.is_server_error(),
                "GET {path}: {} {}",
                reply.status,
                reply.body
            );
            if !reply.status.is_success() {
                error_code(&reply);
            }
            if path.starts_with("/v1/audit?from_seq=18446744073709551615") {
                assert_eq!(reply.body["entries"], json!([]), "{}", reply.body);
            }
            cases += 1;
        }
    }
    eprintln!("hostile suite: paths and queries = {cases} cases");
    assert!(cases >= 100, "{cases}");
}

/// Hostile values in otherwise valid admin and approval requests: reserved and malformed user
/// names, control characters, megabyte strings: 400 naming the field, nothing created.
#[tokio::test]
async fn hostile_values() {
    let a = api_with(|_| {});
    let mb = "x".repeat(1 << 20);
    let mut cases = 0;
    let mut refuse = async |path: &str, body: Value| {
        let before = audit_head(&a);
        let reply = a
            .send(Method::POST, path, Some(Role::Admin), Some(body.clone()))
            .await;
        assert!(
            reply.status.is_client_error(),
            "{path} {body:.200}: {} {}",
            reply.status,
            reply.body
        );
        error_code(&reply);
        assert_eq!(audit_head(&a), before, "{path} {body:.200}");
        cases += 1;
    };
    for name in [
        "system",
        "SYSTEM",
        "cli-operator",
        "rfq-desk",
        "",
        "a b",
        "../x",
        "a\u{0}b",
        "<script>",
        "名字",
        &"u".repeat(65),
    ] {
        refuse("/v1/users", json!({"name": name, "role": "legal"})).await;
    }
    refuse("/v1/users", json!({"name": "ok1", "role": "root"})).await;
    for label in ["", "a\u{0}b", "tab\there", mb.as_str()] {
        refuse("/v1/users/legal1/tokens", json!({"label": label})).await;
    }
    for (title, payload) in [
        ("a\u{0}b", json!({})),
        ("line\nbreak", json!({})),
        (mb.as_str(), json!({})),
        ("ok", json!({"x": "a\u{0}b"})),
        ("ok", json!("not an object")),
        ("ok", json!([1, 2])),
    ] {
        refuse(
            "/v1/approvals",
            json!({"kind": "report", "title": title, "payload": payload, "required_role": "risk"}),
        )
        .await;
    }
    for class in ["secret", "core+", "CORE", "general+private"] {
        refuse(
            "/v1/approvals",
            json!({"kind": "report", "title": "t", "payload": {}, "required_role": "risk",
                   "classification": class}),
        )
        .await;
    }
    eprintln!("hostile suite: hostile values = {cases} cases");
    assert!(cases >= 25, "{cases}");
}
