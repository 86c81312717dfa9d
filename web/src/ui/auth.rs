//! Sign-in, sign-out and the language switch.

use super::i18n::{Lang, T};
use super::{
    CsrfForm, LANG_COOKIE, SESSION_COOKIE, Viewer, cookie, html_response, over_tls, percent_encode,
    request_language, safe_next, see_other, set_cookie,
};
use crate::error::AppError;
use crate::state::{AppState, RequestId};
use assistant::AssistantError;
use assistant::sessions::SignInError;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use std::net::SocketAddr;

/// The sign-in page's query.
#[derive(Debug, Deserialize, Default)]
pub struct SignInQuery {
    /// Where to go after signing in (a path of this site).
    pub next: Option<String>,
    /// A language chosen before signing in (`en`, `zh`).
    pub lang: Option<String>,
}

fn sign_in_page(lang: Lang, next: &str, name: &str, problem: Option<&str>) -> Markup {
    let t = |k: T| k.text(lang);
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (t(T::SignIn)) " · " (t(T::AppName)) }
                link rel="stylesheet" href=(super::assets::url(super::assets::CSS));
            }
            body {
                header.top { span.brand { (t(T::AppName)) } }
                main {
                    div.card.signin {
                        h1 { (t(T::SignInTitle)) }
                        @if let Some(p) = problem { div.flash.bad role="alert" { (p) } }
                        form.stack method="post" action="/sign-in" {
                            input type="hidden" name="next" value=(next);
                            label for="name" { (t(T::UserName)) }
                            input #name type="text" name="name" value=(name) autocomplete="username" required autofocus;
                            label for="password" { (t(T::Password)) }
                            input #password type="password" name="password" autocomplete="current-password" required;
                            button type="submit" { (t(T::SignIn)) }
                        }
                        p.muted { (t(T::SignInHelp)) }
                        p.langs {
                            (t(T::Language)) ":"
                            a href={"/sign-in?lang=en&next=" (percent_encode(next))} { "English" }
                            a href={"/sign-in?lang=zh&next=" (percent_encode(next))} { "中文" }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /sign-in`: the form (a signed-in browser goes home).
pub async fn form(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Result<Response, AppError> {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE)
        && s.blocking(move |a| a.session(&secret)).await?.is_some()
    {
        return Ok(see_other("/"));
    }
    let next = q
        .next
        .filter(|n| safe_next(n))
        .unwrap_or_else(|| "/".into());
    let chosen = q.lang.as_deref().and_then(Lang::parse);
    let lang = chosen.unwrap_or_else(|| request_language(&headers));
    let mut resp = html_response(StatusCode::OK, sign_in_page(lang, &next, "", None));
    if let Some(l) = chosen {
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(LANG_COOKIE, l.as_str(), 365 * 86_400, over_tls(&headers)),
        );
    }
    Ok(resp)
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    /// User name.
    #[serde(default)]
    pub name: String,
    /// Password.
    #[serde(default)]
    pub password: String,
    /// Where to go next.
    #[serde(default)]
    pub next: String,
}

/// `POST /sign-in`: checks the password, sets the session cookie and goes on; a failure shows
/// the form again with the reason (401, or 429 with `Retry-After` after too many).
pub async fn submit(
    State(s): State<AppState>,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    let headers = req.headers().clone();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().cloned();
    let rid = req
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(|| RequestId(String::new()));
    let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .map_err(|e| AppError::BadRequest {
            code: "bad_request",
            message: format!("the sign-in form could not be read: {e}"),
        })?;
    let form: SignInForm =
        serde_urlencoded::from_bytes(&body).map_err(|e| AppError::BadRequest {
            code: "invalid_request",
            message: format!("the sign-in form could not be read: {e}"),
        })?;
    let lang = request_language(&headers);
    let next = if safe_next(&form.next) {
        form.next.clone()
    } else {
        "/".into()
    };
    let address = peer
        .map(|c| c.0.ip().to_canonical().to_string())
        .unwrap_or_else(|| "in-process".into());
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (name, password) = (form.name.clone(), form.password);
    let result = s
        .blocking(move |a| a.sign_in(&name, &password, &address, &agent, Some(rid.0)))
        .await;
    match result {
        Ok(signed) => {
            let mut resp = see_other(&next);
            let max_age = s.assistant.config.server.session_hours as i64 * 3600;
            resp.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &signed.secret, max_age, over_tls(&headers)),
            );
            Ok(resp)
        }
        Err(AssistantError::SignIn(e)) => {
            let (status, message) = match &e {
                SignInError::Rejected => (
                    StatusCode::UNAUTHORIZED,
                    if lang == Lang::Zh {
                        "用户名或密码错误。".to_string()
                    } else {
                        e.to_string()
                    },
                ),
                SignInError::TooManyAttempts { retry_after_secs } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    if lang == Lang::Zh {
                        format!("登录失败次数过多，请 {retry_after_secs} 秒后再试。")
                    } else {
                        e.to_string()
                    },
                ),
            };
            let mut resp = html_response(
                status,
                sign_in_page(lang, &next, &form.name, Some(&message)),
            );
            if let SignInError::TooManyAttempts { retry_after_secs } = e {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, retry_after_secs.into());
            }
            // The body is ours: keep it rather than the generic error page.
            resp.extensions_mut().insert(super::OwnErrorPage);
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /sign-out`: ends the session and clears the cookie.
pub async fn sign_out(
    State(s): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, AppError> {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        let actor = v.actor.clone();
        s.blocking(move |a| a.sign_out(&actor, &secret)).await?;
    }
    let mut resp = see_other("/sign-in");
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, over_tls(&headers)),
    );
    Ok(resp)
}

/// The language switch's field.
#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    /// `en` or `zh`.
    pub language: String,
}

/// `POST /language`: remembers the viewer's language and goes back where they were.
pub async fn language(
    State(s): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<LanguageForm>,
) -> Result<Response, AppError> {
    let lang = Lang::parse(&f.language).ok_or_else(|| AppError::BadRequest {
        code: "invalid_request",
        message: format!("language {:?}: use en or zh", f.language),
    })?;
    let actor = v.actor.clone();
    s.blocking(move |a| a.set_language(&actor, lang)).await?;
    // Back to the page the switch was pressed on, when the browser says which.
    let back = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| {
            let host = headers.get(header::HOST)?.to_str().ok()?;
            let rest = r.split_once("://")?.1;
            rest.strip_prefix(host).map(str::to_string)
        })
        .filter(|p| safe_next(p))
        .unwrap_or_else(|| "/".into());
    Ok(see_other(&back))
}
