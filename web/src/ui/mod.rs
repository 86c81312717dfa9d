//! The web application: server-rendered pages on the same route table as the API.
//!
//! Design (see ARCHITECTURE.md): HTML rendered on the server with `maud` (templates are Rust,
//! checked at compile time, every interpolation HTML-escaped), one stylesheet and one small
//! script (`web/assets/`, embedded in the binary, served under content-hashed names with
//! year-long cache headers), no Node.js at run time and no CDN. Pages work without JavaScript
//! for reading and for every form; the script only disables pressed buttons, asks
//! confirmations and refreshes live regions from server-sent events.
//!
//! A page route is declared in [`crate::routes`] like an API route (`page GET "/approvals"`,
//! with its access); [`crate::middleware::authorize`] authenticates pages by the session cookie
//! instead of a bearer token, sends a signed-out browser to the sign-in page, and puts the
//! [`Viewer`] (user, session, language) into the request. Every state-changing form carries
//! the session's form token ([`CsrfForm`]); the cookie is `HttpOnly`, `SameSite=Strict`, and
//! `Secure` behind TLS. Errors on page paths are HTML pages with the request id
//! ([`html_error`]); every response carries a strict Content-Security-Policy (no inline script
//! or style), `X-Content-Type-Options: nosniff` and frame denial ([`security_headers`]).

pub mod admin;
pub mod approvals;
pub mod assets;
pub mod auth;
pub mod compliance;
pub mod drafting;
pub mod home;
pub mod i18n;
pub mod knowledge;
pub mod model_risk;
pub mod ops;
pub mod pricing;
pub mod research;
pub mod rfqs;

use crate::error::AppError;
use crate::state::RequestId;
use assistant::sessions::Session;
use assistant::store::Actor;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use i18n::{Lang, T};
use maud::{DOCTYPE, Markup, html};
use policies::{Permission, Principal};
use serde::de::DeserializeOwned;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "dm_session";
/// The cookie that remembers a signed-out browser's language choice.
pub const LANG_COOKIE: &str = "dm_lang";

/// Whether `path` belongs to the web application (pages and assets) rather than the API.
pub fn is_page_path(path: &str) -> bool {
    !(path.starts_with("/v1/")
        || path == "/v1"
        || matches!(
            path,
            "/healthz"
                | "/readyz"
                | "/metrics"
                | "/openapi.json"
                | "/tokenize"
                | "/detokenize"
                | "/tokenizer_info"
        ))
}

/// The Content-Security-Policy of every response: only our own scripts, styles and images,
/// no inline script or style, no framing, forms post only to us.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' \
     data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers every response carries.
pub fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// Whether the request reached us over TLS (as a reverse proxy reports it): cookies are then
/// `Secure`.
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value for `name`: `HttpOnly`, `SameSite=Strict`, path `/`, `Secure` when
/// `secure`; `max_age_secs` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let v = format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("dm_invalid=; Max-Age=0"))
}

/// The language of a request from a signed-out browser: the `dm_lang` cookie, else
/// `Accept-Language`, else English.
pub fn request_language(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|v| Lang::parse(&v))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::En)
}

/// Who is looking at a page: put into the request by the authorisation middleware.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user.
    pub principal: Principal,
    /// Their browser session.
    pub session: Session,
    /// The page's language.
    pub lang: Lang,
    /// The user as an audit actor carrying the request id.
    pub actor: Actor,
    /// The request's id.
    pub request_id: String,
}

impl Viewer {
    /// The text of `t` in the viewer's language.
    pub fn t(&self, t: T) -> &'static str {
        t.text(self.lang)
    }

    /// Whether the viewer's role holds `p`.
    pub fn can(&self, p: Permission) -> bool {
        self.principal.can(p)
    }

    /// The hidden form-token field every state-changing form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.session.csrf); }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let principal = parts.extensions.get::<Principal>().cloned();
        let session = parts.extensions.get::<Session>().cloned();
        let (Some(principal), Some(session)) = (principal, session) else {
            return Err(AppError::Unauthenticated("sign in first".into()));
        };
        let lang = parts.extensions.get::<Lang>().copied().unwrap_or(Lang::En);
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let actor = Actor::user(&principal, Some(request_id.clone()));
        Ok(Viewer {
            principal,
            session,
            lang,
            actor,
            request_id,
        })
    }
}

/// A form body (`application/x-www-form-urlencoded`) whose `csrf` field must equal the
/// session's form token; otherwise 403 and nothing happens.
#[derive(Debug, Clone)]
pub struct CsrfForm<F>(pub F);

/// A form with no fields but the token.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct NoFields {}

/// Whether `token` is `session`'s form token (compared in constant time): for forms the
/// [`CsrfForm`] extractor cannot read, such as uploads.
pub fn csrf_ok(session: &Session, token: &str) -> bool {
    same_secret(token, &session.csrf)
}

fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A page upload's parts, read after its form token.
pub struct UploadForm {
    /// The text fields the page named, in the order sent.
    pub fields: Vec<(String, String)>,
    /// The files: a safe name and the bytes (empty, nameless parts, which a browser sends when no
    /// file was chosen, are dropped).
    pub files: Vec<(String, Vec<u8>)>,
}

impl UploadForm {
    /// The last value of the text field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a page's multipart upload: the form token (`csrf`) must come first, before any file is
/// read, so a forged upload is refused before it costs a byte of disk; a body that is not
/// multipart is refused as the wrong media type (415). Parts with a file name are
/// files; the text parts must be among `text_fields`; anything else is refused by name.
pub async fn read_upload(
    session: &Session,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
    text_fields: &[&str],
) -> Result<UploadForm, AppError> {
    use crate::extract::multipart_error;
    let forbidden = || {
        AppError::Forbidden(
            "the form's token (CSRF) is missing or does not belong to your session: reload the \
             page and try again"
                .into(),
        )
    };
    // A body that is not multipart changes nothing whatever it carries: named as the wrong kind.
    let mut form = form.map_err(|e| {
        AppError::UnsupportedMediaType(format!(
            "expected a multipart/form-data body (the form token first, then the files): {}",
            e.body_text()
        ))
    })?;
    let mut checked = false;
    let mut out = UploadForm {
        fields: Vec::new(),
        files: Vec::new(),
    };
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if !checked {
            if name != "csrf" {
                return Err(forbidden());
            }
            let token = crate::handlers::documents::field_text(field).await?;
            if !csrf_ok(session, &token) {
                return Err(forbidden());
            }
            checked = true;
        } else if field.file_name() == Some("") {
            // What a browser sends when no file was chosen: dropped if empty.
            let bytes = field
                .bytes()
                .await
                .map_err(|e| multipart_error(e.status(), e.body_text()))?;
            if !bytes.is_empty() {
                return Err(AppError::BadRequest {
                    code: "invalid_request",
                    message: "a file part needs a file name".into(),
                });
            }
        } else if field.file_name().is_some() {
            let (file, bytes) = crate::handlers::documents::file_part(field).await?;
            if !bytes.is_empty() {
                out.files.push((file, bytes));
            }
        } else if text_fields.contains(&name.as_str()) {
            let value = crate::handlers::documents::field_text(field).await?;
            out.fields.push((name, value));
        } else {
            return Err(AppError::BadRequest {
                code: "invalid_request",
                message: format!("unknown form field `{name}`"),
            });
        }
    }
    if !checked {
        return Err(forbidden());
    }
    if out.files.is_empty() {
        return Err(AppError::BadRequest {
            code: "invalid_request",
            message: "choose at least one file to upload".into(),
        });
    }
    Ok(out)
}

impl<S: Send + Sync, F: DeserializeOwned> FromRequest<S> for CsrfForm<F> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let session = req
            .extensions()
            .get::<Session>()
            .cloned()
            .ok_or_else(|| AppError::Unauthenticated("sign in first".into()))?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| AppError::BadRequest {
                code: "bad_request",
                message: r.body_text(),
            })?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|e| AppError::BadRequest {
                code: "invalid_request",
                message: format!("the form could not be read: {e}"),
            })?;
        let token = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str());
        if !token.is_some_and(|t| same_secret(t, &session.csrf)) {
            return Err(AppError::Forbidden(
                "the form's token (CSRF) is missing or does not belong to your session: reload \
                 the page and try again"
                    .into(),
            ));
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| AppError::BadRequest {
            code: "invalid_request",
            message: format!("the form is invalid: {e}"),
        })?;
        Ok(CsrfForm(form))
    }
}

/// Marks an error response whose HTML body is the page itself (the sign-in form with its
/// reason), so the server does not replace it with the generic error page.
#[derive(Debug, Clone, Copy)]
pub struct OwnErrorPage;

/// A navigation entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// `/`.
    Home,
    /// `/approvals`.
    Approvals,
    /// `/rfqs`.
    Blotter,
    /// `/knowledge`.
    Knowledge,
    /// `/pricing`.
    Pricing,
    /// `/admin/…`.
    Admin,
    /// `/extractions…`.
    Operations,
    /// `/drafting…`.
    Drafting,
    /// `/compliance…`.
    Compliance,
    /// `/model-risk`.
    ModelRisk,
    /// `/research…`.
    Research,
}

impl Nav {
    fn all() -> [(Nav, &'static str, T, Option<Permission>); 11] {
        [
            (Nav::Home, "/", T::Home, None),
            (
                Nav::Approvals,
                "/approvals",
                T::Approvals,
                Some(Permission::ApprovalsRead),
            ),
            (Nav::Blotter, "/rfqs", T::Blotter, Some(Permission::RfqRead)),
            (
                Nav::Operations,
                "/extractions",
                T::Operations,
                Some(Permission::ExtractionsRead),
            ),
            (
                Nav::Drafting,
                "/drafting",
                T::Drafting,
                Some(Permission::DraftsRead),
            ),
            (
                Nav::Compliance,
                "/compliance",
                T::Compliance,
                Some(Permission::ComplianceRead),
            ),
            (
                Nav::Pricing,
                "/pricing",
                T::Pricing,
                Some(Permission::PricingRun),
            ),
            (
                Nav::Research,
                "/research",
                T::Research,
                Some(Permission::MarketRead),
            ),
            (
                Nav::Knowledge,
                "/knowledge",
                T::Knowledge,
                Some(Permission::DocumentsRead),
            ),
            (
                Nav::ModelRisk,
                "/model-risk",
                T::ModelRisk,
                Some(Permission::EvalsRead),
            ),
            (
                Nav::Admin,
                "/admin/users",
                T::Admin,
                Some(Permission::Admin),
            ),
        ]
    }
}

/// The `<head>` of every page.
fn head(title: &str, lang: Lang) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (T::AppName.text(lang)) }
            link rel="stylesheet" href=(assets::url(assets::CSS));
            script src=(assets::url(assets::JS)) defer {}
        }
    }
}

/// A page of the application for `v`: the top bar (navigation by permission, language switch,
/// sign-out) and `body`.
pub fn page(v: &Viewer, title: &str, active: Nav, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(v.lang.as_str()) {
            (head(title, v.lang))
            body {
                header.top {
                    a.brand href="/" { (v.t(T::AppName)) }
                    nav {
                        @for (nav, href, label, perm) in Nav::all() {
                            @if perm.is_none_or(|p| v.can(p)) {
                                a href=(href) class=[(nav == active).then_some("active")] { (v.t(label)) }
                            }
                        }
                    }
                    div.who {
                        span { (v.t(T::SignedInAs)) " " strong { (v.principal.user) } " (" (v.principal.role.as_str()) ")" }
                        form method="post" action="/language" {
                            (v.csrf_field())
                            @for l in Lang::ALL {
                                @if l != v.lang {
                                    button type="submit" name="language" value=(l.as_str()) {
                                        (if l == Lang::Zh { "中文" } else { "English" })
                                    }
                                }
                            }
                        }
                        form method="post" action="/sign-out" {
                            (v.csrf_field())
                            button type="submit" { (v.t(T::SignOut)) }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    html_response(StatusCode::OK, markup)
}

/// `markup` as an HTML response with `status`, never cached.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut resp = (status, markup.into_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// What the error page knows of the request that failed.
#[derive(Debug, Clone, Default)]
pub struct ErrorContext {
    /// The request was an action (a form sent), not a page opened.
    pub action: bool,
    /// The page of this site the action was sent from (the `Referer`'s path), for a link back
    /// to the form.
    pub back: Option<String>,
}

impl ErrorContext {
    /// From the request's method and headers; `back` only for an action sent from a page of
    /// this site (same host, a safe path).
    pub fn of(method: &axum::http::Method, headers: &axum::http::HeaderMap) -> ErrorContext {
        let action = !matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD);
        let back = action
            .then(|| {
                let referer = headers.get(header::REFERER)?.to_str().ok()?;
                let host = headers.get(header::HOST)?.to_str().ok()?;
                let rest = referer
                    .strip_prefix("http://")
                    .or_else(|| referer.strip_prefix("https://"))?
                    .strip_prefix(host)?;
                (rest.starts_with('/') && safe_next(rest)).then(|| rest.to_string())
            })
            .flatten();
        ErrorContext { action, back }
    }
}

/// The HTML page of an error on a page path: status, what went wrong and the request id to
/// quote; a sign-in link when the session has ended.
pub fn html_error(
    status: StatusCode,
    code: &str,
    message: &str,
    rid: &str,
    lang: Lang,
    context: &ErrorContext,
) -> Response {
    let t = |k: T| k.text(lang);
    let headline = match status {
        StatusCode::UNAUTHORIZED => t(T::SessionEnded),
        StatusCode::FORBIDDEN if context.action => t(T::ForbiddenAction),
        StatusCode::FORBIDDEN => t(T::Forbidden),
        StatusCode::NOT_FOUND => t(T::NotFound),
        _ => t(T::ErrorTitle),
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            (head(headline, lang))
            body {
                header.top { a.brand href="/" { (t(T::AppName)) } }
                main {
                    div.card {
                        h1 { (status.as_u16()) " · " (headline) }
                        p { (message) }
                        p.muted { (t(T::RequestId)) ": " code { (rid) } " · " code { (code) } }
                        @if status == StatusCode::UNAUTHORIZED {
                            p { a.button href="/sign-in" { (t(T::SignIn)) } }
                        } @else {
                            p {
                                @if let Some(back) = &context.back {
                                    a href=(back) { (t(T::BackToForm)) } " · "
                                }
                                a href="/" { (t(T::Back)) }
                            }
                        }
                    }
                }
            }
        }
    };
    html_response(status, markup)
}

/// A status badge whose CSS class is the status's stable name.
pub fn badge(status: &str) -> Markup {
    html! { span class={"status " (status)} { (status) } }
}

/// A JSON value pretty-printed for a `<pre>` block (escaped by the template).
pub fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// A 303 redirect to `to` (a path of ours).
pub fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `s` percent-encoded for a path or query value: ASCII letters, digits and `-_.~/` kept.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Whether `next` is a path of this site that a redirect may go to (not `//host`, not a
/// scheme, no backslashes or control characters).
pub fn safe_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 512
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_this_site() {
        assert!(safe_next("/approvals?state=pending"));
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "approvals",
            "/a\nb",
        ] {
            assert!(!safe_next(bad), "{bad}");
        }
    }

    #[test]
    fn page_paths_are_everything_but_the_api() {
        assert!(is_page_path("/"));
        assert!(is_page_path("/approvals/apr_1"));
        assert!(is_page_path("/assets/app.0123.css"));
        assert!(!is_page_path("/v1/approvals"));
        assert!(!is_page_path("/healthz"));
    }

    #[test]
    fn cookies_are_read_and_set_strictly() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; dm_session=dms_x; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("dms_x"));
        assert_eq!(cookie(&h, "c"), None);
        let c = set_cookie(SESSION_COOKIE, "dms_x", 60, true);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(
            !set_cookie(SESSION_COOKIE, "v", 60, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}
