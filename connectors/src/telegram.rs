//! The Telegram bot of the RFQ desk, on teloxide (rustls).
//!
//! [`run`] checks the token (`getMe`: the bot's user name, for @-mentions) and that no webhook
//! is set (`getWebhookInfo`: long polling and a webhook exclude each other), recovers what a
//! crash interrupted ([`ChatDesk::recover`]), then runs two loops until shutdown:
//!
//! - **Updates**: long polling with `getUpdates` for messages and edits. Each message is turned
//!   into an [`InboundMessage`] and handed to [`ChatDesk::receive`] *before* its update is
//!   confirmed (the next `getUpdates` offset), so a crash never loses a message and a
//!   redelivered one is archived once (its `event_id` is `m:CHAT:MESSAGE`, or
//!   `e:CHAT:MESSAGE:EDIT_TIME` for an edit). Pricing runs in the background
//!   ([`crate::chat::spawn_work`]); the acknowledgement "已收到，正在报价 / received, pricing" is
//!   in the outbox when `receive` returns and the outbound loop is woken at once.
//! - **Outbound** ([`crate::chat::run_outbound`]): `sendMessage` as a reply to the client's
//!   message (`reply_parameters`, allowed without the original if it was deleted).
//!
//! Groups: with Telegram's privacy mode on, the bot sees only commands, @-mentions and replies
//! to itself; whatever it sees is archived, and only messages addressed to it (a private chat,
//! an @-mention, a command, a reply to the bot) are acted on. `/help` and `/start` answer with
//! the format. Per-chat throttling, the chat → client mapping and every text are the desk's.
//!
//! Commands: `/start` and `/help` are registered at start (`setMyCommands`, English and
//! Chinese). Sending goes through teloxide's throttle adaptor (Telegram's per-chat and overall
//! rates). A group upgraded to a supergroup (a `migrate_to_chat_id` service message, or a send
//! refused with `MigrateToChatId`) keeps its client: [`ChatDesk::migrate_chat`] moves the
//! mapping and the unsent replies to the new chat id, audited, and the refused reply is sent
//! again there.
//!
//! Send failures: a Telegram API error or a flood-control answer means the message was not
//! posted (retried for flood control); a broken connection after the request left may have
//! posted it, so it is reported as uncertain and never retried — a quote is posted at most once.
//! We poll with our own loop rather than teloxide's dispatcher so that confirmation follows
//! archiving, which the dispatcher does not guarantee.

use crate::chat::{
    ChatDesk, ChatSender, InboundMessage, MessageKind, OutboundMessage, SendOutcome, blocking,
    run_outbound, spawn_work,
};
use std::sync::Arc;
use std::time::Duration;
use teloxide::Bot;
use teloxide::RequestError;
use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use teloxide::payloads::{GetUpdatesSetters, SendMessageSetters, SetMyCommandsSetters};
use teloxide::prelude::{Requester, RequesterExt};
use teloxide::types::{
    AllowedUpdate, BotCommand, ChatId, Message, MessageId, ReplyParameters, Update, UpdateKind,
    UserId,
};
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

/// The channel name of Telegram messages in the archive.
pub const CHANNEL: &str = "telegram";

/// How to reach Telegram.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    /// The bot token from @BotFather (secret).
    pub token: String,
    /// The Bot API base URL (`https://api.telegram.org`, or a local Bot API server).
    pub api_url: url::Url,
    /// Long-polling timeout in seconds (0 = short polling, for tests).
    pub poll_timeout_secs: u32,
    /// How often the outbox is checked when nothing wakes it.
    pub outbox_every: Duration,
}

/// Why the bot could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// `getMe` failed: a wrong token or an unreachable API.
    #[error("telegram getMe failed (check telegram.token and telegram.api_url): {0}")]
    GetMe(RequestError),
    /// A webhook is set for this bot, so `getUpdates` cannot be used.
    #[error(
        "a webhook ({0}) is set for this bot; long polling cannot run. Remove it with deleteWebhook"
    )]
    WebhookSet(String),
    /// `getWebhookInfo` failed.
    #[error("telegram getWebhookInfo failed: {0}")]
    WebhookInfo(RequestError),
    /// The bot account has no user name (every bot has one; the API answered oddly).
    #[error("telegram getMe returned a bot without a user name")]
    NoUsername,
    /// The desk could not recover at start.
    #[error("desk recovery failed: {0}")]
    Recover(crate::chat::DeskError),
}

/// Who the bot is, from `getMe`.
#[derive(Debug, Clone)]
struct BotIdentity {
    id: UserId,
    mention: String,
}

/// Runs the bot until `stop` turns true.
pub async fn run(
    settings: TelegramSettings,
    desk: Arc<dyn ChatDesk>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), TelegramError> {
    let bot = Bot::new(settings.token.clone()).set_api_url(settings.api_url.clone());
    let me = bot.get_me().await.map_err(TelegramError::GetMe)?;
    let username = me.user.username.clone().ok_or(TelegramError::NoUsername)?;
    let info = bot
        .get_webhook_info()
        .await
        .map_err(TelegramError::WebhookInfo)?;
    if let Some(url) = info.url {
        return Err(TelegramError::WebhookSet(url.to_string()));
    }
    let ident = BotIdentity {
        id: me.user.id,
        mention: format!("@{username}"),
    };
    tracing::info!(bot = %ident.mention, "telegram bot started");
    register_commands(&bot).await;
    let wake = Arc::new(Notify::new());
    let tickets = blocking(&desk, |d| d.recover(CHANNEL))
        .await
        .map_err(TelegramError::Recover)?;
    for t in tickets {
        spawn_work(&desk, t, wake.clone());
    }
    // Sends go through teloxide's throttle: at most one message a second and 20 a minute per
    // chat, 30 a second overall, as Telegram's limits ask, instead of waiting for 429s.
    let sender = Arc::new(TelegramSender {
        bot: bot.clone().throttle(Limits::default()),
        desk: desk.clone(),
    });
    let outbound = tokio::spawn(run_outbound(
        desk.clone(),
        sender,
        CHANNEL.to_string(),
        wake.clone(),
        settings.outbox_every,
        stop.clone(),
    ));
    let mut offset: Option<i32> = None;
    let mut backoff = Duration::from_millis(500);
    loop {
        if *stop.borrow() {
            break;
        }
        let mut req = bot
            .get_updates()
            .timeout(settings.poll_timeout_secs)
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::EditedMessage]);
        if let Some(o) = offset {
            req = req.offset(o);
        }
        let updates = tokio::select! {
            r = req.into_future() => r,
            _ = stop.changed() => break,
        };
        let updates = match updates {
            Ok(u) => {
                backoff = Duration::from_millis(500);
                u
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "telegram getUpdates failed");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        for u in updates {
            let next = i32::try_from(u.id.0).unwrap_or(i32::MAX).saturating_add(1);
            if let Some((from, to)) = migration(&u) {
                // The group became a supergroup with a new id: its mapping and unsent replies
                // follow it before anything else is read from it.
                if let Err(e) = blocking(&desk, move |d| {
                    d.migrate_chat(CHANNEL, &from.to_string(), &to.to_string())
                })
                .await
                {
                    tracing::error!(update = u.id.0, error = %e, "cannot move a migrated telegram chat; will retry");
                    tokio::time::sleep(backoff).await;
                    break;
                }
                tracing::info!(
                    from = from,
                    to = to,
                    "telegram chat migrated to a supergroup"
                );
            }
            if let Some(msg) = inbound(&u, &ident) {
                match blocking(&desk, move |d| d.receive(msg)).await {
                    Ok(receipt) => {
                        wake.notify_one();
                        if let Some(t) = receipt.work {
                            spawn_work(&desk, t, wake.clone());
                        }
                    }
                    Err(e) if e.kind == crate::chat::DeskErrorKind::Invalid => {
                        tracing::warn!(update = u.id.0, error = %e, "telegram update refused");
                    }
                    Err(e) => {
                        // Not confirmed: the update comes again with the next poll.
                        tracing::error!(update = u.id.0, error = %e, "cannot archive a telegram update; will retry");
                        tokio::time::sleep(backoff).await;
                        break;
                    }
                }
            }
            offset = Some(next);
        }
    }
    let _ = outbound.await;
    tracing::info!("telegram bot stopped");
    Ok(())
}

/// The bot's commands, registered with Telegram so that clients see them in the menu: in
/// English for everyone and in Chinese for Chinese-language clients. A failure is logged; the
/// commands still work when typed.
async fn register_commands(bot: &Bot) {
    let en = vec![
        BotCommand::new("start", "How to ask this desk for a quote"),
        BotCommand::new("help", "The request format, with examples"),
    ];
    let zh = vec![
        BotCommand::new("start", "如何向本交易台询价"),
        BotCommand::new("help", "询价格式与示例"),
    ];
    if let Err(e) = bot.set_my_commands(en).await {
        tracing::warn!(error = %e, "telegram setMyCommands failed");
    }
    if let Err(e) = bot.set_my_commands(zh).language_code("zh").await {
        tracing::warn!(error = %e, "telegram setMyCommands (zh) failed");
    }
}

/// A group's upgrade to a supergroup, as `(old chat id, new chat id)`: the service message in
/// the old group (`migrate_to_chat_id`) or the first one in the new supergroup
/// (`migrate_from_chat_id`).
fn migration(u: &Update) -> Option<(i64, i64)> {
    let UpdateKind::Message(m) = &u.kind else {
        return None;
    };
    if let Some(to) = m.migrate_to_chat_id() {
        return Some((m.chat.id.0, to.0));
    }
    m.migrate_from_chat_id().map(|from| (from.0, m.chat.id.0))
}

/// The desk's view of an update, or `None` for updates the desk does not take.
fn inbound(u: &Update, me: &BotIdentity) -> Option<InboundMessage> {
    let (m, edited) = match &u.kind {
        UpdateKind::Message(m) => (m, false),
        UpdateKind::EditedMessage(m) => (m, true),
        _ => return None,
    };
    let (kind, text) = if edited {
        (
            MessageKind::Edited,
            m.text().or(m.caption()).unwrap_or_default(),
        )
    } else if let Some(t) = m.text() {
        (MessageKind::Text, t)
    } else if m.sticker().is_some() {
        (MessageKind::Sticker, "")
    } else if m.photo().is_some() {
        (MessageKind::Image, m.caption().unwrap_or_default())
    } else {
        (MessageKind::Other, m.caption().unwrap_or_default())
    };
    let chat = m.chat.id.0;
    let event_id = match (edited, m.edit_date()) {
        (true, Some(t)) => format!("e:{chat}:{}:{}", m.id.0, t.timestamp()),
        (true, None) => format!("e:{chat}:{}:{}", m.id.0, u.id.0),
        (false, _) => format!("m:{chat}:{}", m.id.0),
    };
    let time = m
        .edit_date()
        .filter(|_| edited)
        .unwrap_or(&m.date)
        .timestamp();
    Some(InboundMessage {
        channel: CHANNEL.into(),
        event_id,
        chat_id: chat.to_string(),
        message_id: m.id.0.to_string(),
        sender: sender(m),
        kind,
        text: text.to_string(),
        time: OffsetDateTime::from_unix_timestamp(time).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        addressed: addressed(m, text, me),
        bot_mention: Some(me.mention.clone()),
        reply_url: None,
    })
}

fn sender(m: &Message) -> String {
    match m.from.as_ref() {
        Some(u) => match &u.username {
            Some(name) => format!("{} @{name}", u.id.0),
            None => u.id.0.to_string(),
        },
        None => "unknown".into(),
    }
}

/// Whether a message is addressed to the bot (see the module doc).
fn addressed(m: &Message, text: &str, me: &BotIdentity) -> bool {
    if m.chat.is_private() {
        return true;
    }
    let lower = text.to_lowercase();
    if lower.contains(&me.mention.to_lowercase()) || text.trim_start().starts_with('/') {
        return true;
    }
    m.reply_to_message()
        .and_then(|r| r.from.as_ref())
        .is_some_and(|u| u.id == me.id)
}

/// Posts outbox messages through the Bot API (throttled).
struct TelegramSender {
    bot: Throttle<Bot>,
    desk: Arc<dyn ChatDesk>,
}

impl ChatSender for TelegramSender {
    async fn send(&self, msg: &OutboundMessage) -> SendOutcome {
        let Ok(chat) = msg.chat_id.parse::<i64>() else {
            return SendOutcome::Failed {
                error: format!("chat id {:?} is not a Telegram chat id", msg.chat_id),
                retry: false,
            };
        };
        let mut req = self.bot.send_message(ChatId(chat), msg.text.clone());
        if let Some(id) = msg.reply_to.as_deref().and_then(|r| r.parse::<i32>().ok()) {
            req = req.reply_parameters(
                ReplyParameters::new(MessageId(id)).allow_sending_without_reply(),
            );
        }
        match req.await {
            Ok(sent) => SendOutcome::Sent {
                message_id: Some(sent.id.0.to_string()),
            },
            Err(RequestError::MigrateToChatId(to)) => {
                // Not posted: the group moved. Its mapping and this message follow it, and
                // the message is sent again to the new chat.
                let (from, to_s) = (msg.chat_id.clone(), to.0.to_string());
                match blocking(&self.desk, move |d| d.migrate_chat(CHANNEL, &from, &to_s)).await {
                    Ok(()) => SendOutcome::Failed {
                        error: format!(
                            "the group was upgraded to supergroup {}; resending there",
                            to.0
                        ),
                        retry: true,
                    },
                    Err(e) => SendOutcome::Failed {
                        error: format!(
                            "the group was upgraded to supergroup {}, and moving it failed: {e}",
                            to.0
                        ),
                        retry: false,
                    },
                }
            }
            Err(e) => outcome_of(e),
        }
    }
}

/// Sorts a send error into certainly-not-sent (retryable or not) and perhaps-sent.
fn outcome_of(e: RequestError) -> SendOutcome {
    match &e {
        RequestError::Api(_) | RequestError::MigrateToChatId(_) => SendOutcome::Failed {
            error: e.to_string(),
            retry: false,
        },
        RequestError::RetryAfter(_) => SendOutcome::Failed {
            error: e.to_string(),
            retry: true,
        },
        RequestError::Network(n) if n.is_connect() || n.is_builder() => SendOutcome::Failed {
            error: e.to_string(),
            retry: true,
        },
        RequestError::Network(_) | RequestError::InvalidJson { .. } | RequestError::Io(_) => {
            SendOutcome::Uncertain {
                error: e.to_string(),
            }
        }
    }
}
