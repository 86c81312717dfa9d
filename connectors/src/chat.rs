//! The chat side of the RFQ desk, shared by every chat connector: what a connector hands the
//! desk ([`InboundMessage`]), what the desk hands back to send ([`OutboundMessage`]), and the
//! [`ChatDesk`] trait through which connectors talk to the desk without knowing it.
//!
//! `connectors` depends on none of the workflow crates (only `cjk`); the desk (in `assistant`)
//! implements [`ChatDesk`] and the binary wires the two. The trait is synchronous on purpose:
//! the desk writes SQLite and prices on the CPU, so connectors call it from blocking threads
//! ([`tokio::task::spawn_blocking`]).
//!
//! Delivery rules every connector follows:
//! - **Inbound**: a connector passes every message it receives (addressed to the bot or not,
//!   text or not, edits and deletions too) with an `event_id` unique per channel, so that a
//!   message delivered twice (a poll repeated after a restart, a retried webhook) is archived
//!   once. It confirms receipt to the chat system only after [`ChatDesk::receive`] returned,
//!   so a crash never loses a message.
//! - **Outbound**: [`run_outbound`] claims due messages ([`ChatDesk::claim_outbound`], which
//!   marks them `sending` durably), sends each at most once, and reports the
//!   [`SendOutcome`]. A message whose send was interrupted by a crash stays `sending` and is
//!   reported as uncertain at the next start, never sent twice. A message past its
//!   `not_after` is not sent.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

/// What kind of chat event a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A new text message (or a media message with a caption, when the connector passes the
    /// caption as text).
    Text,
    /// A new version of an earlier message.
    Edited,
    /// An earlier message was deleted.
    Deleted,
    /// A sticker or an emoji-only animation.
    Sticker,
    /// A photo or other image.
    Image,
    /// Anything else (files, voice, service messages).
    Other,
}

impl MessageKind {
    /// The stable name stored in the archive.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Edited => "edited",
            MessageKind::Deleted => "deleted",
            MessageKind::Sticker => "sticker",
            MessageKind::Image => "image",
            MessageKind::Other => "other",
        }
    }

    /// Parses [`MessageKind::as_str`]'s spelling.
    pub fn parse(s: &str) -> Option<MessageKind> {
        Some(match s {
            "text" => MessageKind::Text,
            "edited" => MessageKind::Edited,
            "deleted" => MessageKind::Deleted,
            "sticker" => MessageKind::Sticker,
            "image" => MessageKind::Image,
            "other" => MessageKind::Other,
            _ => return None,
        })
    }
}

/// One message received from a chat system.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// The chat system (`telegram`, or a webhook channel such as `wecom`).
    pub channel: String,
    /// Unique per channel for this event: a redelivered event carries the same id and is
    /// archived once.
    pub event_id: String,
    /// The chat (group or private conversation) it was posted in.
    pub chat_id: String,
    /// The message's id in that chat (replies point at it).
    pub message_id: String,
    /// Who sent it (a stable user id, with the user name when known: `12345 @alice`).
    pub sender: String,
    /// The event.
    pub kind: MessageKind,
    /// The text as written (a caption for media; empty for stickers and deletions).
    pub text: String,
    /// The chat system's timestamp of the message (of the edit, for edits).
    pub time: OffsetDateTime,
    /// Whether the message is addressed to the bot: a private chat, an @-mention of the bot, a
    /// command, or a reply to one of the bot's messages. Messages not addressed to the bot are
    /// archived and otherwise ignored.
    pub addressed: bool,
    /// The bot's own mention as it may appear in `text` (`@deskmate_bot`), removed before
    /// parsing.
    pub bot_mention: Option<String>,
    /// A URL through which the chat system accepts a later reply to this message (WeCom's
    /// one-use `response_url`), kept with the message.
    pub reply_url: Option<String>,
}

/// A stored reply URL of an inbound message (see [`InboundMessage::reply_url`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyUrl {
    /// The inbound message it came with.
    pub message_id: String,
    /// The URL.
    pub url: String,
    /// When the message was received.
    pub received_at: OffsetDateTime,
}

/// What the desk did with an inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// `false` when the event had been received before (nothing was done again).
    pub new: bool,
    /// The disposition recorded in the archive (`rfq`, `clarify`, `help`, `throttled`,
    /// `unknown_chat`, `not_addressed`, …).
    pub disposition: String,
    /// The request for quote opened by the message, if any.
    pub rfq_id: Option<String>,
    /// Pricing to run next (off the receiving path), if any.
    pub work: Option<WorkTicket>,
}

/// Pricing work the desk asks a connector to run, by [`ChatDesk::work`], on a blocking thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkTicket {
    /// The request for quote to price.
    pub rfq_id: String,
}

/// A message the desk wants sent.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundMessage {
    /// The outbox id, for [`ChatDesk::finish_outbound`].
    pub id: i64,
    /// A key unique to this message (`quote:q_…`, `ack:rfq_…`): receivers that retry may use it
    /// to drop duplicates (the webhook sends it as `Idempotency-Key`).
    pub dedupe_key: String,
    /// The channel.
    pub channel: String,
    /// The chat to post in.
    pub chat_id: String,
    /// The client's message to reply to.
    pub reply_to: Option<String>,
    /// The text, ready to post.
    pub text: String,
    /// What it is (`ack`, `clarify`, `quote`, `refusal`, `help`, `notice`).
    pub kind: String,
    /// The request for quote it belongs to.
    pub rfq_id: Option<String>,
    /// The quote it carries.
    pub quote_id: Option<String>,
    /// Do not send after this time (a quote's validity).
    pub not_after: Option<OffsetDateTime>,
    /// The sender of the message replied to (for an @-mention).
    pub reply_sender: Option<String>,
    /// Unspent reply URLs of the chat's inbound messages: the replied-to message's first, then
    /// the newest first.
    pub reply_urls: Vec<ReplyUrl>,
}

impl OutboundMessage {
    /// Whether the message may no longer be sent at `now`.
    pub fn is_stale(&self, now: OffsetDateTime) -> bool {
        self.not_after.is_some_and(|t| now >= t)
    }
}

/// How a send went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Delivered; the chat system's id of the new message, when it gives one.
    Sent {
        /// The posted message's id.
        message_id: Option<String>,
    },
    /// Certainly not delivered.
    Failed {
        /// Why.
        error: String,
        /// Whether trying again may succeed (rate limits, a receiver that was down).
        retry: bool,
    },
    /// Perhaps delivered (the connection broke after the request left): never retried
    /// automatically, shown to the trader.
    Uncertain {
        /// Why.
        error: String,
    },
    /// Not sent because it was past its `not_after` when its turn came.
    Stale,
}

/// A desk failure as a connector sees it: whose fault, and a message for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct DeskError {
    /// Whose fault.
    pub kind: DeskErrorKind,
    /// What went wrong.
    pub message: String,
}

/// Whose fault a [`DeskError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskErrorKind {
    /// The message or request is invalid (the sender's fault); do not retry.
    Invalid,
    /// The desk's storage or a bug (ours); retrying later may work.
    Internal,
}

impl DeskError {
    /// An invalid-input error.
    pub fn invalid(message: impl Into<String>) -> DeskError {
        DeskError {
            kind: DeskErrorKind::Invalid,
            message: message.into(),
        }
    }

    /// An internal error.
    pub fn internal(message: impl Into<String>) -> DeskError {
        DeskError {
            kind: DeskErrorKind::Internal,
            message: message.into(),
        }
    }
}

/// The desk as a connector sees it. Implemented in `assistant`; every method may block (SQLite,
/// pricing), so call it with [`tokio::task::spawn_blocking`].
pub trait ChatDesk: Send + Sync + 'static {
    /// Archives `msg` and decides what to do with it: immediate replies (acknowledgement,
    /// clarifying question, help, refusals) go to the outbox; pricing comes back as a
    /// [`WorkTicket`] to run with [`ChatDesk::work`].
    fn receive(&self, msg: InboundMessage) -> Result<Receipt, DeskError>;

    /// Prices a request for quote and puts its quotes in the trader's approval queue.
    fn work(&self, ticket: &WorkTicket) -> Result<(), DeskError>;

    /// Marks up to `limit` due messages of `channel` as being sent and returns them (quote
    /// replies are rendered from the approved version here, and stale ones dropped).
    fn claim_outbound(
        &self,
        channel: &str,
        limit: usize,
    ) -> Result<Vec<OutboundMessage>, DeskError>;

    /// Records how a claimed message's send went.
    fn finish_outbound(&self, id: i64, outcome: SendOutcome) -> Result<(), DeskError>;

    /// At a connector's start: marks messages left `sending` by a crash as uncertain and
    /// returns the pricing interrupted by it.
    fn recover(&self, channel: &str) -> Result<Vec<WorkTicket>, DeskError>;

    /// Marks the reply URL of inbound message `message_id` used (WeCom's `response_url` takes
    /// one message).
    fn spend_reply_url(
        &self,
        channel: &str,
        chat_id: &str,
        message_id: &str,
    ) -> Result<(), DeskError>;

    /// Audits a callback refused before it reached the desk (a wrong signature).
    fn audit_refusal(&self, channel: &str, reason: &str) -> Result<(), DeskError>;

    /// Moves chat `from` of `channel` to its new id `to` (a Telegram group upgraded to a
    /// supergroup): its client mapping and its messages not yet sent follow it, audited.
    /// Idempotent: a chat already moved is left alone.
    fn migrate_chat(&self, channel: &str, from: &str, to: &str) -> Result<(), DeskError>;
}

/// Something that posts an [`OutboundMessage`] to its chat system.
pub trait ChatSender: Send + Sync + 'static {
    /// Sends one message (called at most once per message).
    fn send(&self, msg: &OutboundMessage) -> impl Future<Output = SendOutcome> + Send;
}

/// Runs `f(desk)` on a blocking thread; a panic inside becomes an internal error.
pub async fn blocking<T, F>(desk: &Arc<dyn ChatDesk>, f: F) -> Result<T, DeskError>
where
    F: FnOnce(&dyn ChatDesk) -> Result<T, DeskError> + Send + 'static,
    T: Send + 'static,
{
    let d = desk.clone();
    match tokio::task::spawn_blocking(move || f(d.as_ref())).await {
        Ok(r) => r,
        Err(e) => Err(DeskError::internal(format!("desk task failed: {e}"))),
    }
}

/// Starts pricing `ticket` in the background; `done` is notified when it finishes (quotes are
/// then in the approval queue, or the request is marked failed).
pub fn spawn_work(desk: &Arc<dyn ChatDesk>, ticket: WorkTicket, done: Arc<Notify>) {
    let desk = desk.clone();
    tokio::spawn(async move {
        let id = ticket.rfq_id.clone();
        if let Err(e) = blocking(&desk, move |d| d.work(&ticket)).await {
            tracing::error!(rfq = %id, error = %e, "pricing failed");
        }
        done.notify_one();
    });
}

/// Sends one claimed message (unless it went stale) and records the outcome.
async fn send_one<S: ChatSender>(
    desk: &Arc<dyn ChatDesk>,
    sender: &S,
    channel: &str,
    msg: OutboundMessage,
) {
    let outcome = if msg.is_stale(OffsetDateTime::now_utc()) {
        SendOutcome::Stale
    } else {
        sender.send(&msg).await
    };
    if let SendOutcome::Failed { error, .. } | SendOutcome::Uncertain { error } = &outcome {
        tracing::warn!(channel = %channel, chat = %msg.chat_id, key = %msg.dedupe_key, %error, "chat send failed");
    }
    let id = msg.id;
    if let Err(e) = blocking(desk, move |d| d.finish_outbound(id, outcome)).await {
        tracing::error!(channel = %channel, error = %e, "cannot record a chat send");
    }
}

/// Delivers a channel's outbox: whenever `wake` is notified, and at least every `every`, claims
/// due messages and sends them one by one in order; stops when `stop` turns true.
pub async fn run_outbound<S: ChatSender>(
    desk: Arc<dyn ChatDesk>,
    sender: Arc<S>,
    channel: String,
    wake: Arc<Notify>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let ch = channel.clone();
        match blocking(&desk, move |d| d.claim_outbound(&ch, 32)).await {
            Ok(batch) => {
                let more = batch.len() == 32;
                for msg in batch {
                    send_one(&desk, sender.as_ref(), &channel, msg).await;
                }
                if more {
                    continue;
                }
            }
            Err(e) => {
                tracing::error!(channel = %channel, error = %e, "cannot read the chat outbox")
            }
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Like [`run_outbound`], but with up to `in_flight` sends at once, for chat systems where one
/// send may wait (WeCom's streaming reply waits for the next refresh): messages are claimed as
/// places free up, each is still sent at most once, and the loop waits for the sends in
/// progress before it returns.
pub async fn run_outbound_concurrent<S: ChatSender>(
    desk: Arc<dyn ChatDesk>,
    sender: Arc<S>,
    channel: String,
    wake: Arc<Notify>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    in_flight: usize,
) {
    let mut tasks = tokio::task::JoinSet::new();
    let in_flight = in_flight.max(1);
    loop {
        if *stop.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let free = in_flight.saturating_sub(tasks.len()).min(32);
        let mut more = false;
        if free > 0 {
            let ch = channel.clone();
            match blocking(&desk, move |d| d.claim_outbound(&ch, free)).await {
                Ok(batch) => {
                    more = batch.len() == free;
                    for msg in batch {
                        let (desk, sender, channel) =
                            (desk.clone(), sender.clone(), channel.clone());
                        tasks.spawn(async move {
                            send_one(&desk, sender.as_ref(), &channel, msg).await;
                        });
                    }
                }
                Err(e) => {
                    tracing::error!(channel = %channel, error = %e, "cannot read the chat outbox")
                }
            }
        }
        if more {
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    while tasks.join_next().await.is_some() {}
}
