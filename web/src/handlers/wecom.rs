//! `GET`/`POST /v1/wecom/callback`: the WeCom intelligent robot's callback URL
//! (`connectors::wecom`). No bearer token: WeCom proves itself by `msg_signature` over the
//! Token, the timestamp, the nonce and the encrypted message, checked here before anything is
//! read (a wrong one is answered 401 and audited as `chat.callback_refused`).
//!
//! - `GET ?msg_signature&timestamp&nonce&echostr`: the URL check of the WeCom console; answers
//!   the decrypted echo as plain text.
//! - `POST ?msg_signature&timestamp&nonce` with `{"encrypt": …}`: a message or a stream
//!   refresh; answers the encrypted passive reply (JSON) or an empty 200.
//!
//! 404 while `wecom.enabled` is off.

use crate::error::AppError;
use crate::state::AppState;
use assistant::Assistant;
use assistant::config::Config;
use assistant::desk::DeskBridge;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use connectors::chat::ChatDesk;
use connectors::wecom::api::ApiSettings;
use connectors::wecom::{Robot, StartError, WecomError, WecomSettings};
use std::sync::Arc;
use std::time::Duration;

/// The robot's settings from the configuration.
pub fn settings(c: &Config) -> Result<WecomSettings, StartError> {
    let w = &c.wecom;
    let api = if w.has_api() {
        Some(ApiSettings {
            base_url: url::Url::parse(&w.api_url)
                .map_err(|_| StartError::ApiUrl(w.api_url.clone()))?,
            corp_id: w.corp_id.clone(),
            secret: w.secret.clone(),
            agent_id: w.agent_id,
            timeout: Duration::from_secs(w.timeout_secs),
        })
    } else {
        None
    };
    Ok(WecomSettings {
        token: w.token.clone(),
        encoding_aes_key: w.encoding_aes_key.clone(),
        bot_name: w.bot_name.clone(),
        max_skew: Duration::from_secs(w.max_skew_secs),
        stream_window: Duration::from_secs(w.stream_window_secs),
        stream_wait: Duration::from_millis(w.stream_wait_ms),
        first_wait: Duration::from_millis(w.first_wait_ms),
        reply_url_ttl: Duration::from_secs(3600),
        timeout: Duration::from_secs(w.timeout_secs),
        api,
        admin_users: w.admin_users.clone(),
        outbox_every: Duration::from_millis(c.rfq.outbox_poll_ms),
    })
}

/// The robot over `assistant`'s desk when `wecom.enabled`.
pub fn robot(assistant: &Arc<Assistant>) -> Result<Option<Arc<Robot>>, StartError> {
    if !assistant.config.wecom.enabled {
        return Ok(None);
    }
    let desk: Arc<dyn ChatDesk> = Arc::new(DeskBridge::new(assistant.clone()));
    Ok(Some(Arc::new(Robot::new(
        settings(&assistant.config)?,
        desk,
    )?)))
}

fn refused(e: WecomError) -> AppError {
    let message = e.to_string();
    match e.status() {
        401 => AppError::Unauthenticated(message),
        500 => AppError::Internal(message),
        _ => AppError::BadRequest {
            code: "invalid_request",
            message,
        },
    }
}

fn enabled(s: &AppState) -> Result<&Arc<Robot>, AppError> {
    s.wecom
        .as_ref()
        .ok_or_else(|| AppError::NotFound("the WeCom robot is not enabled (wecom.enabled)".into()))
}

/// `GET /v1/wecom/callback`: the URL check.
pub async fn verify(
    State(s): State<AppState>,
    Query(q): Query<connectors::wecom::Query>,
) -> Result<Response, AppError> {
    let echo = enabled(&s)?.verify_url(&q).await.map_err(refused)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], echo).into_response())
}

/// `POST /v1/wecom/callback`: a message or a stream refresh.
pub async fn callback(
    State(s): State<AppState>,
    Query(q): Query<connectors::wecom::Query>,
    body: Bytes,
) -> Result<Response, AppError> {
    match enabled(&s)?.callback(&q, &body).await.map_err(refused)? {
        Some(reply) => Ok((
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            reply,
        )
            .into_response()),
        None => Ok(StatusCode::OK.into_response()),
    }
}
