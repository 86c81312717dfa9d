//! The RFQ desk over HTTP: the blotter, the chat → client mappings, the market data, and the
//! inbound half of the JSON webhook adapter.
//!
//! # `POST /v1/chat/inbound` (webhook adapter)
//!
//! A chat system's adapter (WeCom, DingTalk, an in-house chat) posts each message it sees:
//!
//! ```json
//! {"channel": "wecom", "chat_id": "room-1", "message_id": "m-42", "sender": "u-7 alice",
//!  "text": "@desk 中证500 雪球 敲出103 敲入75 12个月 1000万 票息多少",
//!  "kind": "text", "time": "2026-01-05T09:30:00+08:00", "event_id": "m-42",
//!  "addressed": true, "bot_mention": "@desk"}
//! ```
//!
//! `channel` must be one of `webhook.channels` and the caller one of `webhook.gateway_users`.
//! `kind` is `text` (default), `edited`, `deleted`, `sticker`, `image` or `other`; `time`
//! defaults to now; `event_id` (unique per channel: a repeated one is archived once) defaults
//! to `KIND:MESSAGE_ID`; `addressed` (the message is meant for the bot) defaults to true. The
//! answer is `202 {"new", "disposition", "rfq_id"}` at once; replies (acknowledgement,
//! clarifying question, the approved quote) are POSTed to `webhook.callback_url` (see
//! `connectors::webhook`).

use crate::error::AppError;
use crate::extract::{ApiJson, ApiQuery, Ctx};
use crate::state::AppState;
use assistant::desk::blotter::{RfqDetail, RfqFilter, RfqRow};
use assistant::desk::chats::ChatMapping;
use assistant::desk::market::MarketDataSummary;
use assistant::desk::{InboundMessage, MessageKind, Received};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /v1/rfqs` query.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ListQuery {
    /// Only this client's.
    pub client: Option<String>,
    /// Only this status (`clarifying`, `pricing`, `quoted`, `blocked`, `failed`, `flagged`,
    /// `answered`); any other is refused.
    #[schemars(with = "Option<crate::openapi::RfqStatusName>")]
    pub status: Option<assistant::desk::RfqStatus>,
    /// Received at or after (RFC 3339).
    pub from: Option<String>,
    /// Received before (RFC 3339).
    pub to: Option<String>,
    /// At most this many (default 100).
    pub limit: Option<u32>,
}

/// `GET /v1/rfqs`.
pub async fn list(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let f = RfqFilter {
        client: q.client,
        status: q.status,
        from: q.from,
        to: q.to,
        limit: q.limit,
    };
    let rows: Vec<RfqRow> = s.blocking(move |a| a.rfq_list(&ctx.actor, &f)).await?;
    Ok(Json(json!({"rfqs": rows})))
}

/// `GET /v1/rfqs/{id}`.
pub async fn get(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Json<RfqDetail>, AppError> {
    Ok(Json(s.blocking(move |a| a.rfq_get(&ctx.actor, &id)).await?))
}

/// `POST /v1/rfq/chats` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetChat {
    /// `telegram` or a webhook channel.
    pub channel: String,
    /// The chat's id in that channel.
    pub chat_id: String,
    /// The client (a key of `[limits.clients]`).
    pub client_id: String,
    /// A note (the group's name).
    pub label: Option<String>,
}

/// `GET /v1/rfq/chats`.
pub async fn list_chats(State(s): State<AppState>) -> Result<Json<Value>, AppError> {
    let chats: Vec<ChatMapping> = s.blocking(|a| a.rfq_chats()).await?;
    Ok(Json(json!({"chats": chats})))
}

/// `POST /v1/rfq/chats`.
pub async fn set_chat(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(b): ApiJson<SetChat>,
) -> Result<(StatusCode, Json<ChatMapping>), AppError> {
    let m = s
        .blocking(move |a| {
            a.rfq_chat_set(
                &ctx.actor,
                &b.channel,
                &b.chat_id,
                &b.client_id,
                b.label.as_deref(),
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(m)))
}

/// `DELETE /v1/rfq/chats/{id}`.
pub async fn remove_chat(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.blocking(move |a| a.rfq_chat_remove(&ctx.actor, &id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/rfq/market-data`.
pub async fn market_data(State(s): State<AppState>) -> Json<MarketDataSummary> {
    Json(s.blocking(|a| a.desk().market().summary()).await)
}

/// `POST /v1/rfq/market-data/reload`.
pub async fn reload_market_data(State(s): State<AppState>) -> Json<MarketDataSummary> {
    Json(
        s.blocking(|a| {
            a.desk().market().reload();
            a.desk().market().summary()
        })
        .await,
    )
}

/// `GET /v1/risk/exposure`.
pub async fn exposure(
    State(s): State<AppState>,
    ctx: Ctx,
) -> Result<Json<assistant::desk::risk::ExposureReport>, AppError> {
    Ok(Json(
        s.blocking(move |a| a.risk_exposure(&ctx.actor)).await?,
    ))
}

/// `POST /v1/chat/inbound` body (see the module doc).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundBody {
    /// One of `webhook.channels`.
    pub channel: String,
    /// The chat.
    pub chat_id: String,
    /// The message's id in the chat.
    pub message_id: String,
    /// Who sent it.
    pub sender: String,
    /// The text (empty for stickers and deletions).
    #[serde(default)]
    pub text: String,
    /// `text` (default), `edited`, `deleted`, `sticker`, `image`, `other`.
    pub kind: Option<String>,
    /// The chat's time of the message (RFC 3339; default now).
    pub time: Option<String>,
    /// Unique per channel for this event (default `KIND:MESSAGE_ID`).
    pub event_id: Option<String>,
    /// Whether the message is meant for the bot (default true).
    pub addressed: Option<bool>,
    /// The bot's mention as it appears in `text`, removed before parsing.
    pub bot_mention: Option<String>,
}

fn bad(message: String) -> AppError {
    AppError::BadRequest {
        code: "invalid_request",
        message,
    }
}

/// `POST /v1/chat/inbound`.
pub async fn inbound(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiJson(b): ApiJson<InboundBody>,
) -> Result<(StatusCode, Json<Received>), AppError> {
    let w = &s.assistant.config.webhook;
    if !w.gateway_users.contains(&ctx.principal.user) {
        return Err(AppError::Forbidden(format!(
            "user {} is not one of webhook.gateway_users",
            ctx.principal.user
        )));
    }
    if !w.channels.contains(&b.channel) {
        return Err(bad(format!(
            "channel {:?} is not one of webhook.channels",
            b.channel
        )));
    }
    let kind = match b.kind.as_deref() {
        None => MessageKind::Text,
        Some(k) => MessageKind::parse(k).ok_or_else(|| {
            bad(format!(
                "kind {k:?} is not one of text, edited, deleted, sticker, image, other"
            ))
        })?,
    };
    let time = match b.time.as_deref() {
        None => time::OffsetDateTime::now_utc(),
        Some(t) => assistant::store::time::parse(t)
            .ok_or_else(|| bad(format!("time {t:?} is not an RFC 3339 time")))?,
    };
    let msg = InboundMessage {
        event_id: b
            .event_id
            .unwrap_or_else(|| format!("{}:{}", kind.as_str(), b.message_id)),
        channel: b.channel,
        chat_id: b.chat_id,
        message_id: b.message_id,
        sender: b.sender,
        kind,
        text: b.text,
        time,
        addressed: b.addressed.unwrap_or(true),
        bot_mention: b.bot_mention,
        reply_url: None,
    };
    let actor = ctx.actor.clone();
    let r = s.blocking(move |a| a.chat_receive(&actor, msg)).await?;
    if r.needs_pricing
        && let Some(id) = r.rfq_id.clone()
    {
        // Pricing takes up to seconds; the replies go out through the callback.
        let a = s.assistant.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = a.rfq_price(&id) {
                tracing::error!(rfq = %id, error = %e, "pricing failed");
            }
        });
    }
    Ok((StatusCode::ACCEPTED, Json(r)))
}
