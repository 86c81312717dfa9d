//! The web application (issue #17) through `app()`: sign-in with passwords and sessions, the
//! form token on every state-changing page route, cross-site posts, every page route as every
//! role, escaping of chat text and payloads on every page that shows them, the language
//! switch, decisions from the page (version named, decided once), the live blotter's event
//! stream, assets and error pages. Each case's safe outcome is asserted; the hostile cases are
//! counted as the suite's `pages` category.

use super::api::{Api, api_with, call};
use assistant::approvals::{ApprovalKind, NewApproval};
use assistant::store::Actor;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use policies::{DataClass, Role};
use serde_json::json;
use std::time::{Duration, Instant};
use tower::ServiceExt;
use web::{Access, Surface, routes};

pub(crate) const PASSWORD: &str = "correct horse battery";

/// A browser: the session cookie and form token of one signed-in user.
pub(crate) struct Browser {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

pub(crate) async fn raw(a: &Api, req: Request<Body>) -> Page {
    let resp = a.app().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub(crate) fn form_req(path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Request<Body> {
    let body = serde_urlencoded::to_string(form).unwrap();
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "deskmate.test");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(body)).unwrap()
}

/// A multipart body: `(field, file name, bytes)` parts in order.
pub fn multipart_req(
    path: &str,
    cookie: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> Request<Body> {
    let boundary = "deskmate-ui-boundary-51f0";
    let mut body = Vec::new();
    for (field, file, bytes) in parts {
        let disposition = match file {
            Some(f) => format!("form-data; name=\"{field}\"; filename=\"{f}\""),
            None => format!("form-data; name=\"{field}\""),
        };
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::HOST, "deskmate.test")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap()
}

pub(crate) fn get_req(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(header::HOST, "deskmate.test");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

pub(crate) fn set_password(a: &Api, user: &str) {
    a.state
        .assistant
        .set_password(&Actor::system(), user, PASSWORD)
        .unwrap();
}

/// Signs `user` in through the form and reads the form token from the home page.
pub(crate) async fn sign_in(a: &Api, user: &str) -> Browser {
    sign_in_with(a, user, PASSWORD).await
}

async fn sign_in_with(a: &Api, user: &str, password: &str) -> Browser {
    let p = raw(
        a,
        form_req(
            "/sign-in",
            None,
            &[("name", user), ("password", password), ("next", "/")],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let set = p.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    let home = raw(a, get_req("/", Some(&cookie))).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    let csrf = home
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a form token on the home page")
        .to_string();
    Browser { cookie, csrf }
}

pub(crate) fn user(role: Role) -> String {
    format!("{}1", role.as_str())
}

fn api() -> Api {
    api_with_passwords(|_| {})
}

/// [`api_with`], every role's user with the test password.
fn api_with_passwords(f: impl FnOnce(&mut assistant::config::Config)) -> Api {
    let a = api_with(f);
    for role in Role::ALL {
        set_password(&a, &user(role));
    }
    a
}

pub(crate) fn audit_actions(a: &Api) -> Vec<String> {
    a.state
        .assistant
        .store()
        .audit_entries(1, None, None, 100_000)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

pub(crate) fn assert_error_page(p: &Page, status: StatusCode, what: &str) {
    assert_eq!(p.status, status, "{what}: {}", p.body);
    assert!(
        p.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{what}: not an HTML page"
    );
    let rid = p.headers["x-request-id"].to_str().unwrap();
    assert!(
        p.body.contains(rid),
        "{what}: the page does not quote the request id"
    );
}

#[tokio::test]
async fn sign_in_sets_a_strict_session_cookie_and_sign_out_ends_it() {
    let a = api();
    // Signed out, a page sends the browser to the sign-in form, keeping where it was going.
    let p = raw(&a, get_req("/approvals?state=pending", None)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(
        p.headers[header::LOCATION],
        "/sign-in?next=/approvals%3Fstate%3Dpending"
    );
    let form = raw(&a, get_req("/sign-in?next=/approvals", None)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"password\"") && form.body.contains("value=\"/approvals\""));
    // An open redirect is not possible through `next`.
    let p = raw(
        &a,
        form_req(
            "/sign-in",
            None,
            &[
                ("name", "trader1"),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
        ),
    )
    .await;
    assert_eq!(p.headers[header::LOCATION], "/");
    let cookie = p.headers[header::SET_COOKIE].to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(flag), "{flag} missing in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag");
    // Behind TLS the cookie is Secure.
    let mut req = form_req(
        "/sign-in",
        None,
        &[("name", "trader1"), ("password", PASSWORD), ("next", "/")],
    );
    req.headers_mut()
        .insert("x-forwarded-proto", "https".parse().unwrap());
    let p = raw(&a, req).await;
    assert!(
        p.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    let b = sign_in(&a, "trader1").await;
    let home = raw(&a, get_req("/", Some(&b.cookie))).await;
    assert!(home.body.contains("trader1"));
    for (h, v) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(home.headers[h], v);
    }
    let csp = home.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert!(csp.contains("frame-ancestors 'none'"));
    // No inline script or style anywhere on the page.
    assert!(!home.body.contains("<script>") && !home.body.contains("style="));

    // Sign-out needs the form token.
    let p = raw(&a, form_req("/sign-out", Some(&b.cookie), &[])).await;
    assert_error_page(&p, StatusCode::FORBIDDEN, "sign-out without a token");
    let p = raw(
        &a,
        form_req("/sign-out", Some(&b.cookie), &[("csrf", &b.csrf)]),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(
        p.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let p = raw(&a, get_req("/", Some(&b.cookie))).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "the session ended");
    // A post with the ended session is an HTML 401 with a way back in.
    let p = raw(
        &a,
        form_req(
            "/language",
            Some(&b.cookie),
            &[("csrf", &b.csrf), ("language", "zh")],
        ),
    )
    .await;
    assert_error_page(&p, StatusCode::UNAUTHORIZED, "post after sign-out");
    assert!(p.body.contains("href=\"/sign-in\""));
    let actions = audit_actions(&a);
    assert!(actions.iter().any(|x| x == "session.sign_in"));
    assert!(actions.iter().any(|x| x == "session.sign_out"));
}

#[tokio::test]
async fn failed_sign_ins_are_limited_audited_and_do_not_reveal_who_exists() {
    let a = api_with(|c| c.server.sign_in_max_failures = 3);
    set_password(&a, "ops1");
    let attempt = |from: &'static str, name: &'static str, pw: &'static str| {
        let a = &a;
        async move {
            let mut req = form_req(
                "/sign-in",
                None,
                &[("name", name), ("password", pw), ("next", "/")],
            );
            let addr: std::net::SocketAddr = format!("{from}:50000").parse().unwrap();
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(addr));
            raw(a, req).await
        }
    };
    // Unknown user, wrong password, no password set: the same answer, no cookie.
    let unknown = attempt("10.0.0.1", "nobody", "whatever whatever").await;
    let wrong = attempt("10.0.0.1", "ops1", "wrong password here").await;
    let unset = attempt("10.0.0.1", "risk1", "anything at all").await;
    for p in [&unknown, &wrong, &unset] {
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
        assert!(p.body.contains("wrong user name or password"), "{}", p.body);
        assert!(p.body.contains("name=\"password\""), "the form again");
        assert!(p.headers.get(header::SET_COOKIE).is_none());
    }
    // Three failures from 10.0.0.1: refused unchecked from there, even the right password.
    let p = attempt("10.0.0.1", "ops1", PASSWORD).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{}", p.body);
    let wait: u64 = p.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&wait));
    // From elsewhere ops1 (one failure so far) still signs in.
    assert_eq!(
        attempt("10.0.0.2", "ops1", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // Two more failures for the name ops1: refused from any address.
    for _ in 0..2 {
        assert_eq!(
            attempt("10.0.0.2", "ops1", "still wrong password")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let p = attempt("10.0.0.3", "ops1", PASSWORD).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{}", p.body);
    let actions = audit_actions(&a);
    assert_eq!(
        actions
            .iter()
            .filter(|x| *x == "session.sign_in_failed")
            .count(),
        5
    );
    assert_eq!(
        actions
            .iter()
            .filter(|x| *x == "session.sign_in_refused")
            .count(),
        2
    );
    assert_eq!(
        actions.iter().filter(|x| *x == "session.sign_in").count(),
        1
    );
}

#[tokio::test]
async fn admins_list_and_revoke_sessions_and_a_new_password_ends_old_ones() {
    let a = api();
    let t = sign_in(&a, "trader1").await;
    let admin = sign_in(&a, "admin1").await;
    let p = raw(&a, get_req("/admin/sessions", Some(&admin.cookie))).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("trader1"));
    let listed = a.state.assistant.list_sessions().unwrap();
    let id = &listed.iter().find(|s| s.user == "trader1").unwrap().id;
    let p = raw(
        &a,
        form_req(
            &format!("/admin/sessions/{id}/revoke"),
            Some(&admin.cookie),
            &[("csrf", &admin.csrf)],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(
        raw(&a, get_req("/", Some(&t.cookie))).await.status,
        StatusCode::SEE_OTHER
    );
    // A new password set by an admin ends the user's other sessions.
    let t2 = sign_in(&a, "trader1").await;
    let p = raw(
        &a,
        form_req(
            "/admin/users/trader1/password",
            Some(&admin.cookie),
            &[("csrf", &admin.csrf), ("password", "another long password")],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(
        raw(&a, get_req("/", Some(&t2.cookie))).await.status,
        StatusCode::SEE_OTHER
    );
    // A weak password is refused with the reason, on the page.
    let p = raw(
        &a,
        form_req(
            "/admin/users/trader1/password",
            Some(&admin.cookie),
            &[("csrf", &admin.csrf), ("password", "short")],
        ),
    )
    .await;
    assert_error_page(&p, StatusCode::BAD_REQUEST, "weak password");
    assert!(p.body.contains("12 to 128 characters"), "{}", p.body);
    // Creating a user with a weak password creates nothing.
    let p = raw(
        &a,
        form_req(
            "/admin/users",
            Some(&admin.cookie),
            &[
                ("csrf", &admin.csrf),
                ("name", "newops"),
                ("role", "ops"),
                ("password", "aaaa"),
            ],
        ),
    )
    .await;
    assert_error_page(&p, StatusCode::BAD_REQUEST, "create with a weak password");
    assert!(
        !a.state
            .assistant
            .list_users()
            .unwrap()
            .iter()
            .any(|u| u.name == "newops")
    );
    let p = raw(
        &a,
        form_req(
            "/admin/users",
            Some(&admin.cookie),
            &[
                ("csrf", &admin.csrf),
                ("name", "newops"),
                ("role", "ops"),
                ("password", "a good long password"),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    sign_in_with(&a, "newops", "a good long password").await;
}

/// Every page route as every role, signed in through the form: a page the role may open is an
/// HTML page (or the asset, redirect or stream it is); one it may not is a 403 HTML page with
/// the request id; signed out, every page sends the browser to sign in (GET) or answers an
/// HTML 401 (POST); every state-changing page route refuses a missing, wrong or other
/// session's form token and a post from another site, changing nothing.
#[tokio::test]
async fn every_page_route_as_every_role_and_every_form_token_failure() {
    let a = api();
    let mut browsers = std::collections::BTreeMap::new();
    for role in Role::ALL {
        browsers.insert(role, sign_in(&a, &user(role)).await);
    }
    let head = |a: &Api| {
        a.state
            .assistant
            .store()
            .audit_head()
            .unwrap()
            .map_or(0, |h| h.seq)
    };
    let mut cases = 0;
    let pages: Vec<_> = routes()
        .into_iter()
        .filter(|r| r.surface == Surface::Page && r.access != Access::Public)
        .collect();
    assert!(pages.len() >= 15, "{}", pages.len());
    for r in &pages {
        let path = r
            .path
            .replace("{id}", "does-not-exist")
            .replace("{name}", "nobody");
        if r.method == Method::GET {
            let p = raw(&a, get_req(&path, None)).await;
            assert_eq!(p.status, StatusCode::SEE_OTHER, "signed out GET {path}");
            assert!(
                p.headers[header::LOCATION]
                    .to_str()
                    .unwrap()
                    .starts_with("/sign-in?next=")
            );
            cases += 1;
            // A forged session cookie is the same as none.
            let p = raw(&a, get_req(&path, Some("dm_session=dms_forged"))).await;
            assert_eq!(p.status, StatusCode::SEE_OTHER, "forged cookie GET {path}");
            cases += 1;
            if path.ends_with("/events") {
                continue;
            }
            for role in Role::ALL {
                let allowed = match r.access {
                    Access::Permission(p) => role.allows(p),
                    Access::Authenticated | Access::Public | Access::Signed => true,
                };
                let p = raw(&a, get_req(&path, Some(&browsers[&role].cookie))).await;
                cases += 1;
                if allowed {
                    assert!(
                        !matches!(p.status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED)
                            && !p.status.is_server_error(),
                        "{role} GET {path}: {} {}",
                        p.status,
                        p.body
                    );
                    if p.status != StatusCode::NOT_FOUND {
                        let ct = p.headers[header::CONTENT_TYPE].to_str().unwrap();
                        assert!(ct.starts_with("text/html"), "{role} GET {path}: {ct}");
                    } else {
                        assert_error_page(&p, StatusCode::NOT_FOUND, &path);
                    }
                } else {
                    assert_error_page(&p, StatusCode::FORBIDDEN, &format!("{role} GET {path}"));
                }
            }
        } else {
            let before = head(&a);
            let p = raw(&a, form_req(&path, None, &[])).await;
            assert_error_page(
                &p,
                StatusCode::UNAUTHORIZED,
                &format!("signed out POST {path}"),
            );
            cases += 1;
            for role in Role::ALL {
                let allowed = match r.access {
                    Access::Permission(p) => role.allows(p),
                    Access::Authenticated | Access::Public | Access::Signed => true,
                };
                let b = &browsers[&role];
                let other = &browsers[&if role == Role::Admin {
                    Role::Ops
                } else {
                    Role::Admin
                }];
                for (what, form) in [
                    ("no token", vec![]),
                    ("a wrong token", vec![("csrf", "forged")]),
                    (
                        "another session's token",
                        vec![("csrf", other.csrf.as_str())],
                    ),
                ] {
                    let req = if r.upload {
                        let parts: Vec<(&str, Option<&str>, &[u8])> = form
                            .iter()
                            .map(|(k, v)| (*k, None, v.as_bytes()))
                            .chain([("file", Some("a.txt"), b"hello".as_slice())])
                            .collect();
                        multipart_req(&path, &b.cookie, &parts)
                    } else {
                        form_req(&path, Some(&b.cookie), &form)
                    };
                    let p = raw(&a, req).await;
                    let expect = StatusCode::FORBIDDEN;
                    assert_error_page(&p, expect, &format!("{role} POST {path} with {what}"));
                    cases += 1;
                }
                // From another site, even with the right token.
                let mut req = form_req(&path, Some(&b.cookie), &[("csrf", &b.csrf)]);
                req.headers_mut()
                    .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
                let p = raw(&a, req).await;
                assert_error_page(
                    &p,
                    StatusCode::FORBIDDEN,
                    &format!("{role} cross-site POST {path}"),
                );
                cases += 1;
                let _ = allowed;
            }
            assert_eq!(head(&a), before, "POST {path} changed state");
        }
    }
    eprintln!(
        "hostile suite: pages = {cases} cases ({} page routes, 8 roles)",
        pages.len()
    );
    assert!(cases >= 300, "{cases}");
}

#[tokio::test]
async fn unknown_pages_and_assets_are_html_errors_and_assets_are_hashed_and_cached() {
    let a = api();
    let p = raw(&a, get_req("/no-such-page", None)).await;
    assert_error_page(&p, StatusCode::NOT_FOUND, "unknown page");
    let p = raw(&a, get_req("/assets/app.css", None)).await;
    assert_error_page(&p, StatusCode::NOT_FOUND, "an asset by its unhashed name");
    let b = sign_in(&a, "admin1").await;
    let home = raw(&a, get_req("/", Some(&b.cookie))).await;
    let mut total = home.body.len();
    for ext in ["css", "js"] {
        let href = home
            .body
            .split("/assets/app.")
            .skip(1)
            .map(|s| s.split('"').next().unwrap())
            .find(|s| s.ends_with(ext))
            .unwrap_or_else(|| panic!("no {ext} asset linked"));
        assert_eq!(
            href.len(),
            16 + 1 + ext.len(),
            "{href}: a 16-hex content hash"
        );
        let p = raw(&a, get_req(&format!("/assets/app.{href}"), None)).await;
        assert_eq!(p.status, StatusCode::OK);
        assert_eq!(
            p.headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(
            p.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(if ext == "css" {
                    "text/css"
                } else {
                    "text/javascript"
                })
        );
        total += p.body.len();
    }
    // The whole first page (HTML, stylesheet, script) is far below 300 KB.
    eprintln!("first page load (home as admin): {total} bytes");
    assert!(total < 300 * 1024, "{total}");
}

#[tokio::test]
async fn the_language_follows_the_browser_then_the_users_choice() {
    let a = api();
    let mut req = get_req("/sign-in", None);
    req.headers_mut().insert(
        header::ACCEPT_LANGUAGE,
        "zh-CN,zh;q=0.9,en;q=0.5".parse().unwrap(),
    );
    let p = raw(&a, req).await;
    assert!(p.body.contains("<html lang=\"zh\"") && p.body.contains("登录 Deskmate"));
    let p = raw(&a, get_req("/sign-in?lang=zh", None)).await;
    assert!(
        p.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("dm_lang=zh")
    );
    let b = sign_in(&a, "trader1").await;
    let p = raw(&a, get_req("/", Some(&b.cookie))).await;
    assert!(p.body.contains("<html lang=\"en\"") && p.body.contains(">Home<"));
    let mut req = form_req(
        "/language",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("language", "zh")],
    );
    req.headers_mut().insert(
        header::REFERER,
        "http://deskmate.test/rfqs".parse().unwrap(),
    );
    let p = raw(&a, req).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.headers[header::LOCATION], "/rfqs");
    let p = raw(&a, get_req("/rfqs", Some(&b.cookie))).await;
    // No market data is configured here: the blotter says quotes cannot be priced and why.
    assert!(p.body.contains("id=\"no-market-data\""), "{}", p.body);
    assert!(
        p.body.contains("<html lang=\"zh\"") && p.body.contains("询价簿"),
        "{}",
        p.body
    );
    // Remembered for the user, not the session.
    let b2 = sign_in(&a, "trader1").await;
    let p = raw(&a, get_req("/", Some(&b2.cookie))).await;
    assert!(p.body.contains(">首页<"));
    // And back.
    let p = raw(
        &a,
        form_req(
            "/language",
            Some(&b2.cookie),
            &[("csrf", &b2.csrf), ("language", "en")],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let p = raw(&a, get_req("/", Some(&b2.cookie))).await;
    assert!(p.body.contains(">Home<"));
    let p = raw(
        &a,
        form_req(
            "/language",
            Some(&b2.cookie),
            &[("csrf", &b2.csrf), ("language", "fr")],
        ),
    )
    .await;
    assert_error_page(&p, StatusCode::BAD_REQUEST, "an unknown language");
}

/// Text from clients, documents and makers, shown on every page that shows it, is escaped:
/// an approval title and payload and an audit detail with `<script>`, an `onerror` attribute,
/// a `javascript:` link and an entity.
#[tokio::test]
async fn hostile_text_is_escaped_on_every_page_that_shows_it() {
    let a = api();
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)><a href=\"javascript:alert(3)\">x</a> &amp; 5%";
    let ap = a
        .state
        .assistant
        .create_approval(
            &Actor::system(),
            NewApproval {
                kind: "report".parse::<ApprovalKind>().unwrap(),
                title: format!("t {hostile}"),
                payload: json!({"text": hostile}),
                required_role: Role::Trader,
                four_eyes: true,
                expires_in: None,
                class: DataClass::GENERAL,
                supersedes: None,
                idempotency_key: None,
            },
        )
        .unwrap();
    let mut checked = 0;
    for (role, path) in [
        (Role::Trader, "/approvals".to_string()),
        (Role::Trader, format!("/approvals/{}", ap.id)),
        (Role::Trader, "/".to_string()),
        (Role::Admin, "/admin/audit".to_string()),
    ] {
        let b = sign_in(&a, &user(role)).await;
        let p = raw(&a, get_req(&path, Some(&b.cookie))).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        for raw_markup in ["<script>alert", "<img src=x", "href=\"javascript:"] {
            assert!(
                !p.body.contains(raw_markup),
                "{path} shows {raw_markup} unescaped"
            );
        }
        checked += 1;
        if path != "/" {
            assert!(
                p.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                    || p.body.contains("\\u003cscript"),
                "{path}: the text is not shown at all"
            );
        }
    }
    assert_eq!(checked, 4);
}

/// A decision from the page names the version reviewed: a double-clicked approve decides
/// once, an edit from a stale version is refused with 409 on an HTML page, and four-eyes holds
/// for the maker.
#[tokio::test]
async fn decisions_from_the_page_name_the_version_and_happen_once() {
    let a = api();
    let maker = a
        .state
        .assistant
        .create_approval(
            &Actor::user(
                &policies::Principal {
                    user: "trader1".into(),
                    role: Role::Trader,
                },
                None,
            ),
            NewApproval {
                kind: "report".parse::<ApprovalKind>().unwrap(),
                title: "four-eyes report".into(),
                payload: json!({"text": "v1"}),
                required_role: Role::Trader,
                four_eyes: true,
                expires_in: None,
                class: DataClass::GENERAL,
                supersedes: None,
                idempotency_key: None,
            },
        )
        .unwrap();
    let t1 = sign_in(&a, "trader1").await;
    // The maker cannot approve their own.
    let p = raw(
        &a,
        form_req(
            &format!("/approvals/{}/approve", maker.id),
            Some(&t1.cookie),
            &[("csrf", &t1.csrf), ("version", "1")],
        ),
    )
    .await;
    assert_error_page(&p, StatusCode::FORBIDDEN, "maker approves");
    // A second trader: the detail page offers the forms with the version.
    a.state
        .assistant
        .create_user(&Actor::system(), "trader2", Role::Trader)
        .unwrap();
    set_password(&a, "trader2");
    let t2 = sign_in(&a, "trader2").await;
    let p = raw(
        &a,
        get_req(&format!("/approvals/{}", maker.id), Some(&t2.cookie)),
    )
    .await;
    assert!(
        p.body.contains("name=\"version\" value=\"1\""),
        "{}",
        p.body
    );
    // An edit by trader2 moves it to v2; approving v1 is then refused.
    let p = raw(
        &a,
        form_req(
            &format!("/approvals/{}/edit", maker.id),
            Some(&t2.cookie),
            &[
                ("csrf", &t2.csrf),
                ("version", "1"),
                ("payload", "{\"text\": \"v2\"}"),
                ("note", "tidy"),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = raw(
        &a,
        form_req(
            &format!("/approvals/{}/edit", maker.id),
            Some(&t2.cookie),
            &[
                ("csrf", &t2.csrf),
                ("version", "1"),
                ("payload", "{\"text\": \"v3\"}"),
            ],
        ),
    )
    .await;
    assert_error_page(&p, StatusCode::CONFLICT, "an edit from a stale version");
    let p = raw(
        &a,
        form_req(
            &format!("/approvals/{}/edit", maker.id),
            Some(&t2.cookie),
            &[
                ("csrf", &t2.csrf),
                ("version", "2"),
                ("payload", "{not json"),
            ],
        ),
    )
    .await;
    assert_error_page(&p, StatusCode::BAD_REQUEST, "an edit that is not JSON");
    // trader2 edited it, so a third trader approves; twice (a double click) decides once.
    a.state
        .assistant
        .create_user(&Actor::system(), "trader3", Role::Trader)
        .unwrap();
    set_password(&a, "trader3");
    let t3 = sign_in(&a, "trader3").await;
    let p = raw(
        &a,
        get_req(&format!("/approvals/{}", maker.id), Some(&t3.cookie)),
    )
    .await;
    assert!(
        p.body.contains("/text"),
        "the diff between versions is shown: {}",
        p.body
    );
    for _ in 0..2 {
        let p = raw(
            &a,
            form_req(
                &format!("/approvals/{}/approve", maker.id),
                Some(&t3.cookie),
                &[("csrf", &t3.csrf), ("version", "2")],
            ),
        )
        .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    }
    let approvals = audit_actions(&a)
        .iter()
        .filter(|x| *x == "approval.approve")
        .count();
    assert_eq!(approvals, 1);
    let p = raw(
        &a,
        get_req(
            &format!("/approvals/{}?done=approved", maker.id),
            Some(&t3.cookie),
        ),
    )
    .await;
    assert!(p.body.contains("approved") && !p.body.contains("name=\"version\""));
}

/// The blotter's event stream says `changed` within a second of a change (here: an approval
/// request created by another user), and the rows fragment is an HTML fragment of the rows.
#[tokio::test]
async fn the_live_stream_reports_a_change_within_a_second() {
    let a = api();
    let b = sign_in(&a, "trader1").await;
    let resp = a
        .app()
        .oneshot(get_req("/rfqs/events", Some(&b.cookie)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = resp.into_body();
    // The first event says the stream is ready.
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: ready"));
    let t0 = Instant::now();
    a.state
        .assistant
        .create_user(&Actor::system(), "someone", Role::Ops)
        .unwrap();
    let frame = tokio::time::timeout(Duration::from_secs(2), body.frame())
        .await
        .expect("an event within 2 s")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    let took = t0.elapsed();
    assert!(String::from_utf8_lossy(&frame).contains("event: changed"));
    eprintln!(
        "live update: changed event {} ms after the change",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    let p = raw(&a, get_req("/rfqs/rows", Some(&b.cookie))).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.starts_with("<tr") && !p.body.contains("<html"));
    let _ = call;
}

/// The pricing page: the example prices to the same value as `POST /v1/price` (audited as
/// `pricing.run`), the grid is a heat map with one cell per spot × vol per day, a book with a
/// bad contract shows the others priced and that one's error, and bad input names its field.
#[tokio::test]
async fn the_pricing_page_prices_grids_and_revalues_a_book() {
    let a = api();
    let b = sign_in(&a, "trader1").await;
    let p = raw(&a, get_req("/pricing", Some(&b.cookie))).await;
    assert_eq!(p.status, StatusCode::OK);
    let example = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/../kernels/examples/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let (product, market) = (example("european_call.json"), example("market.json"));
    let p = raw(
        &a,
        form_req(
            "/pricing/price",
            Some(&b.cookie),
            &[
                ("csrf", &b.csrf),
                ("product", &product),
                ("market", &market),
                ("engine", "auto"),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let api_reply = a
        .send(
            Method::POST,
            "/v1/price",
            Some(Role::Trader),
            Some(json!({
                "product": serde_json::from_str::<serde_json::Value>(&product).unwrap(),
                "market": serde_json::from_str::<serde_json::Value>(&market).unwrap()
            })),
        )
        .await;
    let value = api_reply.body["result"]["value"]
        .as_f64()
        .or_else(|| api_reply.body["value"].as_f64())
        .unwrap_or_else(|| panic!("{}", api_reply.body));
    let shown = web::ui::i18n::number(value, 2);
    assert!(
        p.body.contains(&shown),
        "the page does not show {shown}: {}",
        p.body
    );
    assert!(p.body.contains("delta") && p.body.contains("(notional currency)"));
    assert_eq!(
        audit_actions(&a)
            .iter()
            .filter(|x| *x == "pricing.run")
            .count(),
        2
    );

    let p = raw(
        &a,
        form_req(
            "/pricing/grid",
            Some(&b.cookie),
            &[
                ("csrf", &b.csrf),
                ("product", &product),
                ("market", &market),
                ("spot", "80:120:10"),
                ("vol", "-5:5:5"),
                ("days", "0;30"),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let cells = p.body.matches("class=\"num heat-").count();
    assert_eq!(cells, 5 * 3 * 2, "{}", p.body);
    assert!(p.body.contains("heat-0") && p.body.contains("heat-9"));

    let book = format!(
        "{}\n{}\n",
        product.replace('\n', " "),
        "{\"id\": \"BAD-1\", \"kind\": \"european_vanilla\", \"underlying\": \"000300.SH\", \"notional\": -5}"
    );
    let p = raw(
        &a,
        form_req(
            "/pricing/book",
            Some(&b.cookie),
            &[("csrf", &b.csrf), ("product", &book), ("market", &market)],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        p.body.contains("BAD-1") && p.body.contains("status bad"),
        "{}",
        p.body
    );

    for (form, field) in [
        (
            vec![("product", "{not json"), ("market", market.as_str())],
            "product",
        ),
        (
            vec![("product", product.as_str()), ("market", "[1")],
            "market",
        ),
        (
            vec![("product", product.as_str()), ("engine", "magic")],
            "engine",
        ),
        (
            vec![("product", product.as_str()), ("paths", "many")],
            "paths",
        ),
    ] {
        let mut f = vec![("csrf", b.csrf.as_str())];
        f.extend(form);
        let p = raw(&a, form_req("/pricing/price", Some(&b.cookie), &f)).await;
        assert_error_page(&p, StatusCode::BAD_REQUEST, field);
        assert!(p.body.contains(field), "{field}: {}", p.body);
    }
}

/// The admin pages for chat mappings and the system: a mapping added and removed from the page
/// (audited), health and metrics shown, and no secret of the configuration on the page.
#[tokio::test]
async fn admins_map_chats_and_read_the_system_page_without_secrets() {
    use assistant::desk::{InboundMessage, MessageKind, desk_actor};
    let a = api_with(|c| {
        c.webhook.secret = "very-secret-webhook-key".into();
        c.webhook.channels = vec!["wecom".into()];
    });
    set_password(&a, "admin1");
    let b = sign_in(&a, "admin1").await;
    // Empty, the page says so and what fills it.
    let p = raw(&a, get_req("/admin/chats", Some(&b.cookie))).await;
    assert!(
        p.body.contains("id=\"chats-empty\"") && p.body.contains("deskmate rfq chats add"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("unmapped-chats"));
    // A chat that writes without a mapping is listed for mapping (its id escaped).
    a.state
        .assistant
        .chat_receive(
            &desk_actor(),
            InboundMessage {
                channel: "wecom".into(),
                event_id: "m:1".into(),
                chat_id: "room-<b>1</b>".into(),
                message_id: "1".into(),
                sender: "u-zhang".into(),
                kind: MessageKind::Text,
                text: "沪深300 平值看涨 12个月 1000万".into(),
                time: time::OffsetDateTime::now_utc(),
                addressed: true,
                bot_mention: None,
                reply_url: None,
            },
        )
        .unwrap();
    let p = raw(&a, get_req("/admin/chats", Some(&b.cookie))).await;
    assert!(
        p.body.contains("id=\"unmapped-chats\"")
            && p.body.contains("value=\"room-&lt;b&gt;1&lt;/b&gt;\"")
            && p.body.contains("u-zhang"),
        "{}",
        p.body
    );
    let p = raw(
        &a,
        form_req(
            "/admin/chats",
            Some(&b.cookie),
            &[
                ("csrf", &b.csrf),
                ("channel", "wecom"),
                ("chat_id", "room-<b>1</b>"),
                ("client_id", "C001"),
                ("label", "Client One"),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = raw(&a, get_req("/admin/chats", Some(&b.cookie))).await;
    assert!(
        p.body.contains("room-&lt;b&gt;1&lt;/b&gt;") && p.body.contains("Client One"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("chats-empty"));
    assert!(
        !p.body.contains("unmapped-chats"),
        "a mapped chat is no longer listed"
    );
    let id = a.state.assistant.rfq_chats().unwrap()[0].id.clone();
    let p = raw(
        &a,
        form_req(
            &format!("/admin/chats/{id}/remove"),
            Some(&b.cookie),
            &[("csrf", &b.csrf)],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(a.state.assistant.rfq_chats().unwrap().is_empty());
    let p = raw(&a, get_req("/admin/system", Some(&b.cookie))).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains("deskmate_http_requests") || p.body.contains("# TYPE"),
        "{}",
        p.body
    );
    assert!(
        !p.body.contains("very-secret-webhook-key"),
        "a secret on the system page"
    );
}

/// An RFQ's trail shows each parsed field with where it came from: a misspelt underlying the
/// rules could not read and the model supplied is marked `model`, the fields the rules read
/// the same are marked `rules`. (The model's answer is fixed here, as in the desk's own test:
/// what is tested is the page around it.)
#[tokio::test]
async fn the_rfq_trail_marks_the_fields_the_model_supplied() {
    use assistant::desk::{InboundMessage, MessageKind, desk_actor};
    // The desk's model serves once model risk approved its version.
    let a = api_with_passwords(|c| c.rfq.model_fallback = true);
    approve_model_version(&a);
    let answer = json!({"requests": [{
        "underlying": "000905.SH", "structure": "vanilla", "option_type": "call", "exercise": null,
        "side": null, "strike_pct": 100, "knock_out_pct": null, "knock_in_pct": null,
        "barrier_pct": null, "coupon_pct": null, "coupon_barrier_pct": null, "payout_pct": null,
        "participation_pct": null, "tenor_months": 3, "notional": 10000000, "currency": null,
        "solve_for": null
    }]})
    .to_string();
    let assistant = &a.state.assistant;
    assistant
        .desk()
        .set_model(Box::new(move |_: &str, _: &serde_json::Value| {
            Ok::<String, String>(answer.clone())
        }));
    let root = Actor::user(
        &policies::Principal {
            user: "root".into(),
            role: Role::Admin,
        },
        None,
    );
    assistant
        .rfq_chat_set(&root, "tg", "g1", "C001", Some("test group"))
        .unwrap();
    let received = assistant
        .chat_receive(
            &desk_actor(),
            InboundMessage {
                channel: "tg".into(),
                event_id: "m:g1:1".into(),
                chat_id: "g1".into(),
                message_id: "1".into(),
                sender: "42 @alice".into(),
                kind: MessageKind::Text,
                text: "忠政500 平值 3个月 看涨 1000万".into(),
                time: time::OffsetDateTime::now_utc(),
                addressed: true,
                bot_mention: None,
                reply_url: None,
            },
        )
        .unwrap();
    let id = received.rfq_id.expect("a request");
    let b = sign_in(&a, "trader1").await;
    let p = raw(&a, get_req(&format!("/rfqs/{id}"), Some(&b.cookie))).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let row = |field: &str| {
        let start = p
            .body
            .find(&format!("<td><code>{field}</code></td>"))
            .unwrap_or_else(|| panic!("no row for {field}: {}", p.body));
        let end = start + p.body[start..].find("</tr>").unwrap();
        p.body[start..end].to_string()
    };
    assert!(
        row("underlying").contains("tag model"),
        "{}",
        row("underlying")
    );
    assert!(row("underlying").contains("000905.SH"));
    for field in ["option_type", "strike_pct", "tenor_months", "notional"] {
        let r = row(field);
        assert!(
            !r.contains("tag model") && r.contains("class=\"tag\""),
            "{r}"
        );
    }
}

/// A trader enters a request taken by phone on the blotter: it is parsed, priced and queued for
/// approval like a chat request, with the trader as its sender, and the trader lands on its
/// trail. An unknown client and an empty message are refused on a page naming the field; a
/// client cannot enter requests for anyone.
#[tokio::test]
async fn a_trader_enters_a_phone_request_on_the_blotter() {
    let md = tempfile::tempdir().unwrap();
    let markets = md.path().join("markets.json");
    std::fs::write(
        &markets,
        r#"{"markets": {"000300.SH": {"valuation_date": "2026-01-05", "spot": 100.0,
            "rate": 0.02, "dividend": 0.01, "vol": 0.22}}}"#,
    )
    .unwrap();
    let a = api_with_passwords(|c| {
        c.rfq.market_data = markets.display().to_string();
        c.limits = toml::from_str(
            "[clients.C001]\nstructures = [\"vanilla\"]\nmax_notional = 1e8\nmax_tenor_months = 24\n",
        )
        .unwrap();
    });
    let b = sign_in(&a, "trader1").await;
    let blotter = raw(&a, get_req("/rfqs", Some(&b.cookie))).await;
    assert!(blotter.body.contains("action=\"/rfqs/new\""), "no form");
    let client = a
        .state
        .assistant
        .config
        .limits
        .clients
        .keys()
        .next()
        .expect("a configured client")
        .clone();
    let p = raw(
        &a,
        form_req(
            "/rfqs/new",
            Some(&b.cookie),
            &[
                ("csrf", &b.csrf),
                ("client", &client),
                (
                    "message",
                    "沪深300 12个月 平值看涨 名义本金1000万 期权费多少",
                ),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let to = p.headers[header::LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with("/rfqs/rfq_"), "{to}");
    let trail = raw(&a, get_req(&to, Some(&b.cookie))).await;
    assert_eq!(trail.status, StatusCode::OK);
    assert!(trail.body.contains("000300.SH") && trail.body.contains("trader1"));
    let id = to.trim_start_matches("/rfqs/").to_string();
    let actor = Actor::user(
        &policies::Principal {
            user: "trader1".into(),
            role: Role::Trader,
        },
        None,
    );
    let d = a.state.assistant.rfq_get(&actor, &id).unwrap();
    assert_eq!(d.rfq.client_id, client);
    assert!(
        d.quote_details
            .iter()
            .any(|q| q.summary.approval_id.is_some()),
        "no quote waiting for approval: {:?}",
        d.quote_details
            .iter()
            .map(|q| &q.summary)
            .collect::<Vec<_>>()
    );
    for (form, field) in [
        (
            vec![("client", "NOBODY"), ("message", "沪深300 平值看涨")],
            "client",
        ),
        (
            vec![("client", client.as_str()), ("message", "  ")],
            "message",
        ),
    ] {
        let mut f = vec![("csrf", b.csrf.as_str())];
        f.extend(form);
        let p = raw(&a, form_req("/rfqs/new", Some(&b.cookie), &f)).await;
        assert_error_page(&p, StatusCode::BAD_REQUEST, field);
        assert!(p.body.contains(field), "{}", p.body);
    }
    let c = sign_in(&a, &user(Role::Client)).await;
    let p = raw(
        &a,
        form_req(
            "/rfqs/new",
            Some(&c.cookie),
            &[
                ("csrf", &c.csrf),
                ("client", &client),
                ("message", "沪深300 平值看涨"),
            ],
        ),
    )
    .await;
    assert_error_page(&p, StatusCode::FORBIDDEN, "client");
}

/// Approves the pending version of the RFQ chain's model as a model-risk user.
fn approve_model_version(a: &Api) {
    use assistant::approvals::{ApprovalFilter, ApprovalKind};
    let p = policies::Principal {
        user: user(Role::ModelRisk),
        role: Role::ModelRisk,
    };
    let actor = Actor::user(&p, None);
    crate::record_evidence(&a.state.assistant);
    let pending = a
        .state
        .assistant
        .list_approvals(
            &actor,
            &ApprovalFilter {
                kind: Some(ApprovalKind::ModelChange),
                state: Some(policies::ApprovalState::Pending),
                ..Default::default()
            },
        )
        .unwrap();
    let rfq = pending
        .iter()
        .find(|x| x.payload["chain"] == assistant::model_risk::RFQ_CHAIN)
        .expect("the RFQ chain's version waits");
    a.state
        .assistant
        .approve(&actor, &p, &rfq.id, None)
        .unwrap();
}

/// The model-risk dashboard (issue #21 item 8): the inventory with the proposed version and its
/// approval, the watched figures, a switch to the fallback from the page (audited), the restore
/// request that lands in the approval queue, and a trader kept out.
#[tokio::test]
async fn model_risk_runs_its_chains_from_the_dashboard() {
    use assistant::desk::{InboundMessage, MessageKind, desk_actor};
    let a = api_with_passwords(|c| c.rfq.model_fallback = true);
    let b = sign_in(&a, &user(Role::ModelRisk)).await;
    let p = raw(&a, get_req("/model-risk", Some(&b.cookie))).await;
    assert!(p.body.contains("id=\"trend-empty\""), "{}", p.body);
    // Requests in a mapped chat: each parse is a monitored call of the RFQ chain.
    let root = Actor::user(
        &policies::Principal {
            user: "root".into(),
            role: Role::Admin,
        },
        None,
    );
    a.state
        .assistant
        .rfq_chat_set(&root, "tg", "g1", "C001", None)
        .unwrap();
    let request = "@desk_bot 沪深300 平值看涨 12个月 1000万 期权费多少";
    for i in 0..25 {
        a.state
            .assistant
            .chat_receive(
                &desk_actor(),
                InboundMessage {
                    channel: "tg".into(),
                    event_id: format!("m:{i}"),
                    chat_id: "g1".into(),
                    message_id: i.to_string(),
                    sender: "u".into(),
                    kind: MessageKind::Text,
                    text: request.into(),
                    time: time::OffsetDateTime::now_utc(),
                    addressed: true,
                    bot_mention: Some("@desk_bot".into()),
                    reply_url: None,
                },
            )
            .unwrap();
    }
    // A passed validation of the chain recorded its cases: the drift figures compare with them,
    // and the dashboard says so, linking the report.
    // (Cases like the calls just made: their recorded features, over again.)
    let calls: Vec<assistant::model_risk::CallFeatures> = a
        .state
        .assistant
        .store()
        .read(|c| {
            c.prepare(
                "SELECT confidence, input_chars, language, product FROM chain_calls
                 WHERE chain = 'rfq.parse'",
            )?
            .query_map([], |r| {
                Ok(assistant::model_risk::CallFeatures {
                    outcome: assistant::model_risk::CallOutcome::Rules,
                    confidence: r.get(0)?,
                    input_chars: r.get::<_, i64>(1)? as usize,
                    language: r.get(2)?,
                    product: r.get(3)?,
                    embedding: None,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap();
    let cases: Vec<_> = calls.iter().cycle().take(60).cloned().collect();
    a.state
        .assistant
        .record_validation(
            &Actor::system(),
            "validate-rfq-model",
            true,
            "0123456789abcdef0123",
            serde_json::json!([]),
            Some((assistant::model_risk::RFQ_CHAIN, &cases)),
        )
        .unwrap();
    let p = raw(&a, get_req("/model-risk", Some(&b.cookie))).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    for want in [
        "id=\"model-changes\"",
        "data-chain=\"rfq.parse\"",
        "data-chain=\"pricing\"",
        "data-metric=\"psi_length\"",
        "data-baseline=\"validation\"",
        "href=\"/model-risk/reports/validate-rfq-model\"",
        "0123456789ab",
        "id=\"no-alerts\"",
        "proposed",
        "<svg",
    ] {
        assert!(p.body.contains(want), "{want} missing: {}", p.body);
    }
    // The version's approval page names the evidence it still lacks; the dashboard runs one of
    // them (Run now: a background job), whose report page shows the figures and that the file
    // matches the audit log.
    let change = {
        use assistant::approvals::{ApprovalFilter, ApprovalKind};
        a.state
            .assistant
            .list_approvals(
                &Actor::system(),
                &ApprovalFilter {
                    kind: Some(ApprovalKind::ModelChange),
                    state: Some(policies::ApprovalState::Pending),
                    ..Default::default()
                },
            )
            .unwrap()
            .into_iter()
            .find(|x| x.payload["chain"] == assistant::model_risk::RFQ_CHAIN)
            .unwrap()
    };
    let p = raw(
        &a,
        get_req(&format!("/approvals/{}", change.id), Some(&b.cookie)),
    )
    .await;
    assert!(p.body.contains("id=\"missing-evidence\""), "{}", p.body);
    assert!(
        p.body
            .contains("validate-rfq has not run since the request"),
        "{}",
        p.body
    );
    let p = raw(
        &a,
        form_req(
            "/model-risk/reports/validate-rfq/run",
            Some(&b.cookie),
            &[("csrf", &b.csrf)],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let report = a
        .state
        .assistant
        .config
        .storage
        .data_dir
        .join("evals/validate-rfq/report.json");
    let t0 = std::time::Instant::now();
    while !(report.is_file() && audit_actions(&a).iter().any(|x| x == "eval.report")) {
        assert!(
            t0.elapsed().as_secs() < 300,
            "the validation run did not end"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let p = raw(
        &a,
        get_req("/model-risk/reports/validate-rfq", Some(&b.cookie)),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    for want in [
        "limit_catch",
        "exact_match_lower_bound",
        "matches the audit log",
        "<svg",
    ] {
        assert!(p.body.contains(want), "{want} missing: {}", p.body);
    }
    let p = raw(
        &a,
        get_req(&format!("/approvals/{}", change.id), Some(&b.cookie)),
    )
    .await;
    assert!(!p.body.contains("validate-rfq has not run"), "{}", p.body);
    assert!(
        p.body.contains("bias has not run since the request"),
        "{}",
        p.body
    );
    // Approve the version on the rest of its evidence (as the approval page would), then switch
    // the chain to its fallback.
    approve_model_version(&a);
    let p = raw(&a, get_req("/model-risk", Some(&b.cookie))).await;
    assert!(p.body.contains("model serving"), "{}", p.body);
    let p = raw(
        &a,
        form_req(
            "/model-risk/chains/rfq.parse/mode",
            Some(&b.cookie),
            &[
                ("csrf", &b.csrf),
                ("mode", "fallback"),
                ("reason", "a client's new template"),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(
        a.state
            .assistant
            .chain_mode(assistant::model_risk::RFQ_CHAIN)
            .unwrap(),
        assistant::model_risk::ChainMode::Fallback
    );
    // Back only by a request another model-risk user approves: the page sends it to the queue.
    let p = raw(
        &a,
        form_req(
            "/model-risk/chains/rfq.parse/restore",
            Some(&b.cookie),
            &[("csrf", &b.csrf), ("reason", "template handled")],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let to = p.headers[header::LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with("/approvals/apr_"), "{to}");
    // The request shows the evidence to decide on: the latest reports, no payload editing.
    let p = raw(&a, get_req(&to, Some(&b.cookie))).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("id=\"evidence\""), "{}", p.body);
    assert!(p.body.contains("bias-history") && p.body.contains("validate-rfq"));
    assert!(!p.body.contains("/edit\""), "a model change is not edited");
    assert!(audit_actions(&a).iter().any(|x| x == "model.mode"));
    // A trader sees neither the page nor its link.
    let t = sign_in(&a, &user(Role::Trader)).await;
    let p = raw(&a, get_req("/model-risk", Some(&t.cookie))).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = raw(&a, get_req("/", Some(&t.cookie))).await;
    assert!(!p.body.contains("href=\"/model-risk\""));
}
