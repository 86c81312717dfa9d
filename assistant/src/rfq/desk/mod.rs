//! The RFQ desk: chat message in → archived → parsed → clarifying question or pricing → limit
//! checks → the trader's approval queue → on approval, the quote posted as a reply.
//!
//! # Flow
//!
//! 1. [`Assistant::chat_receive`] archives every inbound message (`chat_messages`, with the
//!    channel, chat id, message id and sender, and an audit entry `chat.inbound` in the same
//!    transaction) and decides, in one transaction, what it is:
//!    - a redelivered event (same channel and `event_id`): nothing more;
//!    - not addressed to the bot: archived only;
//!    - a deletion: archived, silent (the request's trail shows it; pending quotes stay with
//!      the trader);
//!    - over the chat's throttle (`rfq.throttle_messages` per `rfq.throttle_window_secs`):
//!      archived, one notice per window, otherwise silent;
//!    - from a chat no client is mapped to ([`Assistant::rfq_chat_set`], by admins): archived,
//!      a polite refusal at most hourly (`rfq.unknown_chats = "refuse"`) or silence;
//!    - a sticker: silent; an image or file: "please send text" once per window; an edit:
//!      "edited messages are not re-quoted" once per message;
//!    - `/help`, `/start` (or a bare mention): the help text;
//!    - text: parsed ([`crate::rfq::RfqParser`], with the model fallback when one is set
//!      with [`Desk::set_model`]). Too long, not a request, or flagged (instructions to the
//!      bot, questions about other clients: kept for a person): a short reply. A request
//!      lacking terms: one clarifying question in the client's language, and a later message
//!      from the same sender within `rfq.clarify_window_secs` that supplies them completes it.
//!      A complete request: "已收到，正在报价 / received, pricing" and a pricing ticket.
//! 2. [`Assistant::rfq_price`] (off the receiving path, at most `rfq.pricing_workers` at once)
//!    prices each request ([`price`]), checks it against `[limits]` with the desk's exposure on
//!    the underlying (the book file plus quotes pending, approved or sent within
//!    `rfq.sent_quote_hold_secs`), and writes, in one transaction, the quote and either its
//!    approval request (kind `quote`, role trader, expiring after `rfq.quote_expiry_secs`) or,
//!    when a limit is breached, the block with its plain reasons for the trader and the neutral
//!    wording queued for the client.
//! 3. [`Assistant::rfq_sync`] turns decided approvals into replies: approved → the quote reply;
//!    rejected → a neutral "could not confirm"; expired → "lapsed, ask again".
//! 4. The outbox (`chat_messages` rows with `direction = 'out'`, unique dedupe keys such as
//!    `quote:q_…`) is drained by the connectors through [`Assistant::chat_claim`] and
//!    [`Assistant::chat_finish`]. A quote is rendered at claim time from the approved payload's
//!    latest version (a trader's edit shows) and is dropped if its validity has passed — it is
//!    checked again by the connector just before sending. Claimed messages are marked
//!    `sending` durably; [`Assistant::chat_recover`] turns those left by a crash into
//!    `uncertain` rather than sending them twice, and returns requests whose pricing a crash
//!    interrupted. Certain failures are retried with backoff up to `rfq.send_max_attempts`.
//!
//! The chat-side types and the [`connectors::chat::ChatDesk`] trait are `connectors`'; this
//! module implements the trait in [`DeskBridge`]. `deskmate rfq quote` runs the same loop
//! without a chat (channel `cli`: replies are recorded as `local`, never delivered).

pub mod blotter;
mod bridge;
pub mod chats;
pub mod market;
pub mod price;
pub mod reply;

pub use bridge::DeskBridge;
pub use connectors::chat::{InboundMessage, MessageKind, OutboundMessage, Receipt, SendOutcome};

use crate::Assistant;
use crate::approvals::NewApproval;
use crate::config::Config;
use crate::error::{AssistantError, Result};
use crate::rfq::clarify::question;
use crate::rfq::model::JsonGenerator;
use crate::rfq::schema::RfqParse;
use crate::rfq::{Language, ParseContext, ParseOutcome, Problem, RfqParser, limit_check};
use crate::store::{Actor, AuditRecord, WriteTx, time};
use market::MarketData;
use policies::limits::{Breach, Exposure, QuoteGreeks};
use policies::{DataClass, Role};
use price::{Conventions, Priced};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::{Condvar, Mutex};
use time_crate::{Duration, OffsetDateTime, UtcOffset};

use ::time as time_crate;

/// The channel of `deskmate rfq quote`: no chat, replies recorded but never delivered.
pub const CLI_CHANNEL: &str = "cli";

/// Inbound text beyond this many characters is archived truncated (with its length and hash).
pub const MAX_ARCHIVED_CHARS: usize = 20_000;

/// The most characters of a message copied into its audit entry (the archive row has it all).
const AUDIT_TEXT_CHARS: usize = 4_000;

/// The actor the desk writes as.
pub fn desk_actor() -> Actor {
    Actor {
        user: "rfq-desk".into(),
        role: None,
        request_id: None,
    }
}

/// A model the desk may ask when the rule parser is not confident (errors as text).
pub type DeskModel = Box<dyn JsonGenerator<Error = String> + Send>;

/// The desk's state beside the store: conventions, market data, the pricing lane, the model.
pub struct Desk {
    conventions: Conventions,
    market: MarketData,
    offset: UtcOffset,
    slots: (Mutex<u32>, Condvar),
    model: Mutex<Option<DeskModel>>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("market", &self.market)
            .finish_non_exhaustive()
    }
}

impl Desk {
    /// The desk of a (validated) configuration.
    pub fn new(config: &Config) -> Desk {
        Desk {
            conventions: Conventions::from_config(&config.rfq),
            market: MarketData::new(&config.rfq.market_data, &config.rfq.book_exposure_file),
            offset: crate::config::utc_offset(&config.rfq.reply_utc_offset)
                .unwrap_or(UtcOffset::UTC),
            slots: (Mutex::new(config.rfq.pricing_workers.max(1)), Condvar::new()),
            model: Mutex::new(None),
        }
    }

    /// The market data.
    pub fn market(&self) -> &MarketData {
        &self.market
    }

    /// The pricing conventions.
    pub fn conventions(&self) -> &Conventions {
        &self.conventions
    }

    /// Sets the model asked when the rule parser is not confident (the `models` crate's
    /// `generate_json` behind [`JsonGenerator`]); its answers are validated by the lexicon.
    pub fn set_model(&self, model: DeskModel) {
        *self.model.lock().unwrap_or_else(|p| p.into_inner()) = Some(model);
    }

    fn parse(&self, text: &str, today: time_crate::Date) -> ParseOutcome {
        let ctx = ParseContext::new(today);
        let parser = RfqParser::builtin();
        let mut model = self.model.lock().unwrap_or_else(|p| p.into_inner());
        match model.as_mut() {
            Some(m) => {
                let mut ask = |prompt: &str, schema: &Value| m.generate_json(prompt, schema);
                parser.parse_with_model(text, &ctx, &mut ask)
            }
            None => parser.parse(text, &ctx),
        }
    }

    fn acquire(&self) -> SlotGuard<'_> {
        let (m, cv) = &self.slots;
        let mut free = m.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = cv.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        SlotGuard(self)
    }
}

struct SlotGuard<'a>(&'a Desk);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let (m, cv) = &self.0.slots;
        *m.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        cv.notify_one();
    }
}

/// Statuses of a request for quote (`rfqs.status`).
pub mod rfq_status {
    /// Waiting for the client's answer to a clarifying question.
    pub const CLARIFYING: &str = "clarifying";
    /// A later message answered the question (see the follow-up request).
    pub const ANSWERED: &str = "answered";
    /// Being priced.
    pub const PRICING: &str = "pricing";
    /// Priced: its quotes are in the queue (or blocked or failed, see each quote).
    pub const QUOTED: &str = "quoted";
    /// Every quote was blocked by a limit.
    pub const BLOCKED: &str = "blocked";
    /// No quote could be priced.
    pub const FAILED: &str = "failed";
    /// Held for a person: the message tried to instruct the bot or asked about others.
    pub const FLAGGED: &str = "flagged";
}

/// Statuses of a quote (`rfq_quotes.status`).
pub mod quote_status {
    /// In the trader's queue.
    pub const PENDING: &str = "pending";
    /// A limit blocked it.
    pub const BLOCKED: &str = "blocked";
    /// It could not be priced.
    pub const ERROR: &str = "error";
    /// Approved, waiting to be sent.
    pub const APPROVED: &str = "approved";
    /// Sent to the client.
    pub const SENT: &str = "sent";
    /// Rejected by the trader.
    pub const REJECTED: &str = "rejected";
    /// Lapsed before approval or before sending.
    pub const EXPIRED: &str = "expired";
    /// Replaced by another approval request.
    pub const SUPERSEDED: &str = "superseded";
    /// Sending failed for certain.
    pub const SEND_FAILED: &str = "send_failed";
    /// Sending may or may not have happened (a crash or a broken connection): a person checks.
    pub const UNCERTAIN: &str = "uncertain";
}

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn cap(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A reply to queue.
struct Reply {
    kind: &'static str,
    key: String,
    text: String,
    rfq_id: Option<String>,
    quote_id: Option<String>,
    not_after: Option<OffsetDateTime>,
}

/// The inbound row a reply answers.
struct Origin<'a> {
    channel: &'a str,
    chat_id: &'a str,
    message_id: &'a str,
}

fn queue_reply(tx: &mut WriteTx<'_>, o: &Origin<'_>, r: Reply) -> Result<bool> {
    let now = time::now();
    let status = if o.channel == CLI_CHANNEL {
        "local"
    } else {
        "pending"
    };
    let n = tx.conn().execute(
        "INSERT OR IGNORE INTO chat_messages (channel, chat_id, direction, event_key, reply_to,
            kind, text, text_chars, time, received_at, rfq_id, quote_id, status, not_after)
         VALUES (?1, ?2, 'out', ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12)",
        params![
            o.channel,
            o.chat_id,
            r.key,
            o.message_id,
            r.kind,
            r.text,
            r.text.chars().count() as i64,
            time::fmt(now),
            r.rfq_id,
            r.quote_id,
            status,
            r.not_after.map(time::fmt),
        ],
    )?;
    if n == 1 {
        tx.audit(AuditRecord {
            action: "chat.outbound.queue",
            object_kind: "chat_message",
            object_id: &r.key,
            class: DataClass::IMPORTANT,
            details: json!({
                "channel": o.channel, "chat_id": o.chat_id, "reply_to": o.message_id,
                "kind": r.kind, "text": r.text, "rfq_id": r.rfq_id, "quote_id": r.quote_id,
            }),
        })?;
    }
    Ok(n == 1)
}

/// A new request for quote to write.
struct NewRfq<'a> {
    id: String,
    msg: &'a InboundMessage,
    client_id: &'a str,
    text: &'a str,
    outcome: &'a ParseOutcome,
    status: &'static str,
    follow_up_of: Option<String>,
}

fn insert_rfq(tx: &mut WriteTx<'_>, r: &NewRfq<'_>) -> Result<()> {
    let now = time::fmt(time::now());
    let parse = serde_json::to_string(&r.outcome.parse).unwrap_or_default();
    let problems = serde_json::to_string(&r.outcome.problems).unwrap_or_default();
    tx.conn().execute(
        "INSERT INTO rfqs (id, channel, chat_id, message_id, sender, client_id, received_at,
            text, language, parse, confidence, path, problems, status, follow_up_of, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?7)",
        params![
            r.id,
            r.msg.channel,
            r.msg.chat_id,
            r.msg.message_id,
            r.msg.sender,
            r.client_id,
            now,
            r.text,
            reply::language_name(r.outcome.language),
            parse,
            f64::from(r.outcome.confidence),
            match r.outcome.path {
                crate::rfq::ParsePath::Rules => "rules",
                crate::rfq::ParsePath::Model => "model",
            },
            problems,
            r.status,
            r.follow_up_of,
        ],
    )?;
    tx.audit(AuditRecord {
        action: "rfq.create",
        object_kind: "rfq",
        object_id: &r.id,
        class: DataClass::IMPORTANT,
        details: json!({
            "client_id": r.client_id, "channel": r.msg.channel, "chat_id": r.msg.chat_id,
            "message_id": r.msg.message_id, "sender": r.msg.sender, "status": r.status,
            "parse": r.outcome.parse, "confidence": r.outcome.confidence,
            "problems": r.outcome.problems, "follow_up_of": r.follow_up_of,
        }),
    })?;
    Ok(())
}

fn set_rfq_status(tx: &mut WriteTx<'_>, id: &str, status: &str, error: Option<&str>) -> Result<()> {
    tx.conn().execute(
        "UPDATE rfqs SET status = ?1, error = COALESCE(?2, error), updated_at = ?3 WHERE id = ?4",
        params![status, error, time::fmt(time::now()), id],
    )?;
    tx.audit(AuditRecord {
        action: "rfq.status",
        object_kind: "rfq",
        object_id: id,
        class: DataClass::IMPORTANT,
        details: json!({"status": status, "error": error}),
    })?;
    Ok(())
}

fn set_quote_status(tx: &mut WriteTx<'_>, id: &str, status: &str, note: Value) -> Result<()> {
    let now = time::fmt(time::now());
    let sent = (status == quote_status::SENT).then_some(now.clone());
    tx.conn().execute(
        "UPDATE rfq_quotes SET status = ?1, updated_at = ?2, sent_at = COALESCE(?3, sent_at)
         WHERE id = ?4",
        params![status, now, sent, id],
    )?;
    tx.audit(AuditRecord {
        action: "rfq.quote.status",
        object_kind: "rfq_quote",
        object_id: id,
        class: DataClass::IMPORTANT,
        details: json!({"status": status, "note": note}),
    })?;
    Ok(())
}

/// The command in a message (`/help@bot` → `help`), if it is one.
fn command(text: &str) -> Option<String> {
    let t = text.trim_start();
    let rest = t.strip_prefix('/')?;
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    Some(word.to_ascii_lowercase())
}

/// `text` without the bot's mention.
fn strip_mention(text: &str, mention: Option<&str>) -> String {
    match mention.filter(|m| !m.is_empty()) {
        None => text.to_string(),
        Some(m) => {
            let lower = text.to_lowercase();
            let ml = m.to_lowercase();
            let mut out = String::with_capacity(text.len());
            let mut i = 0;
            while let Some(j) = lower[i..].find(&ml) {
                let start = i + j;
                // Lower-casing can change byte lengths outside ASCII; fall back to no stripping.
                if !text.is_char_boundary(start) || !text.is_char_boundary(start + m.len()) {
                    return text.to_string();
                }
                out.push_str(&text[i..start]);
                out.push(' ');
                i = start + m.len();
            }
            out.push_str(&text[i..]);
            out
        }
    }
}

fn bucket(now: OffsetDateTime, secs: u64) -> i64 {
    now.unix_timestamp() / secs.max(1) as i64
}

/// The result of receiving one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Received {
    /// `false` when the event had been received before.
    pub new: bool,
    /// The disposition recorded.
    pub disposition: String,
    /// The request for quote it opened, if any.
    pub rfq_id: Option<String>,
    /// Whether it waits for pricing ([`Assistant::rfq_price`]).
    pub needs_pricing: bool,
}

impl Assistant {
    /// The RFQ desk's state.
    pub fn desk(&self) -> &Desk {
        &self.desk
    }

    /// Archives and handles one inbound chat message (see the module doc).
    pub fn chat_receive(&self, actor: &Actor, msg: InboundMessage) -> Result<Received> {
        self.receive(actor, msg, None)
    }

    fn receive(
        &self,
        actor: &Actor,
        msg: InboundMessage,
        forced_client: Option<&str>,
    ) -> Result<Received> {
        for (field, v, max) in [
            ("channel", &msg.channel, 64),
            ("event_id", &msg.event_id, 256),
            ("chat_id", &msg.chat_id, 128),
            ("message_id", &msg.message_id, 128),
            ("sender", &msg.sender, 256),
        ] {
            if v.is_empty() || v.chars().count() > max {
                return Err(AssistantError::Invalid(format!(
                    "{field} must be 1-{max} characters"
                )));
            }
        }
        let now = time::now();
        let chars = msg.text.chars().count();
        let archived = cap(&msg.text, MAX_ARCHIVED_CHARS);
        self.store.write(actor, |tx| {
            let n = tx.conn().execute(
                "INSERT OR IGNORE INTO chat_messages (channel, chat_id, direction, event_key,
                    message_id, sender, kind, text, text_chars, addressed, time, received_at,
                    status)
                 VALUES (?1, ?2, 'in', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'received')",
                params![
                    msg.channel,
                    msg.chat_id,
                    msg.event_id,
                    msg.message_id,
                    msg.sender,
                    msg.kind.as_str(),
                    archived,
                    chars as i64,
                    msg.addressed,
                    time::fmt(msg.time),
                    time::fmt(now),
                ],
            )?;
            if n == 0 {
                let (status, rfq): (String, Option<String>) = tx.conn().query_row(
                    "SELECT status, rfq_id FROM chat_messages
                     WHERE channel = ?1 AND direction = 'in' AND event_key = ?2",
                    params![msg.channel, msg.event_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                return Ok(Received {
                    new: false,
                    disposition: status,
                    rfq_id: rfq,
                    needs_pricing: false,
                });
            }
            let row = tx.conn().last_insert_rowid();
            let key = format!("{}:{}", msg.channel, msg.event_id);
            tx.audit(AuditRecord {
                action: "chat.inbound",
                object_kind: "chat_message",
                object_id: &key,
                class: DataClass::IMPORTANT,
                details: json!({
                    "channel": msg.channel, "chat_id": msg.chat_id,
                    "message_id": msg.message_id, "sender": msg.sender,
                    "kind": msg.kind.as_str(), "addressed": msg.addressed,
                    "time": time::fmt(msg.time), "text": cap(&msg.text, AUDIT_TEXT_CHARS),
                    "text_chars": chars, "text_sha256": sha256(&msg.text),
                }),
            })?;
            let out = self.route_message(tx, &msg, now, forced_client)?;
            tx.conn().execute(
                "UPDATE chat_messages SET status = ?1, rfq_id = ?2 WHERE id = ?3",
                params![out.disposition, out.rfq_id, row],
            )?;
            Ok::<_, AssistantError>(out)
        })
    }

    fn route_message(
        &self,
        tx: &mut WriteTx<'_>,
        msg: &InboundMessage,
        now: OffsetDateTime,
        forced_client: Option<&str>,
    ) -> Result<Received> {
        let cfg = &self.config.rfq;
        let origin = Origin {
            channel: &msg.channel,
            chat_id: &msg.chat_id,
            message_id: &msg.message_id,
        };
        let done = |d: &str| Received {
            new: true,
            disposition: d.to_string(),
            rfq_id: None,
            needs_pricing: false,
        };
        if !msg.addressed {
            return Ok(done("not_addressed"));
        }
        if msg.kind == MessageKind::Deleted {
            let rfq: Option<String> = tx
                .conn()
                .query_row(
                    "SELECT id FROM rfqs WHERE channel = ?1 AND chat_id = ?2 AND message_id = ?3",
                    params![msg.channel, msg.chat_id, msg.message_id],
                    |r| r.get(0),
                )
                .optional()?;
            return Ok(Received {
                rfq_id: rfq,
                ..done("deleted")
            });
        }
        let lang = crate::rfq::clarify::detect_language(&msg.text);
        // Throttling counts every addressed message of the chat in the window, this one included.
        if forced_client.is_none() {
            let since = time::fmt(now - Duration::seconds(cfg.throttle_window_secs as i64));
            let count: i64 = tx.conn().query_row(
                "SELECT COUNT(*) FROM chat_messages WHERE channel = ?1 AND chat_id = ?2
                   AND direction = 'in' AND addressed = 1 AND received_at > ?3",
                params![msg.channel, msg.chat_id, since],
                |r| r.get(0),
            )?;
            if count > i64::from(cfg.throttle_messages) {
                let b = bucket(now, cfg.throttle_window_secs);
                queue_reply(
                    tx,
                    &origin,
                    Reply {
                        kind: "notice",
                        key: format!("throttle:{}:{b}", msg.chat_id),
                        text: reply::throttled(lang),
                        rfq_id: None,
                        quote_id: None,
                        not_after: None,
                    },
                )?;
                return Ok(done("throttled"));
            }
        }
        let client_id: Option<String> = match forced_client {
            Some(c) => Some(c.to_string()),
            None => tx
                .conn()
                .query_row(
                    "SELECT client_id FROM rfq_chats WHERE channel = ?1 AND chat_id = ?2",
                    params![msg.channel, msg.chat_id],
                    |r| r.get(0),
                )
                .optional()?,
        };
        let Some(client_id) = client_id else {
            if cfg.unknown_chats == "refuse" {
                let hour = now.unix_timestamp() / 3600;
                queue_reply(
                    tx,
                    &origin,
                    Reply {
                        kind: "refusal",
                        key: format!("unknown:{}:{hour}", msg.chat_id),
                        text: reply::unknown_chat(lang),
                        rfq_id: None,
                        quote_id: None,
                        not_after: None,
                    },
                )?;
            }
            return Ok(done("unknown_chat"));
        };
        let b = bucket(now, cfg.throttle_window_secs);
        match msg.kind {
            MessageKind::Sticker => return Ok(done("sticker")),
            MessageKind::Image | MessageKind::Other => {
                queue_reply(
                    tx,
                    &origin,
                    Reply {
                        kind: "notice",
                        key: format!("not_text:{}:{b}", msg.chat_id),
                        text: reply::not_text(),
                        rfq_id: None,
                        quote_id: None,
                        not_after: None,
                    },
                )?;
                return Ok(done("not_text"));
            }
            MessageKind::Edited => {
                queue_reply(
                    tx,
                    &origin,
                    Reply {
                        kind: "notice",
                        key: format!("edited:{}:{}", msg.chat_id, msg.message_id),
                        text: reply::edited(lang),
                        rfq_id: None,
                        quote_id: None,
                        not_after: None,
                    },
                )?;
                return Ok(done("edited"));
            }
            MessageKind::Text | MessageKind::Deleted => {}
        }
        let text = strip_mention(&msg.text, msg.bot_mention.as_deref());
        if text.trim().is_empty() || command(&text).is_some() {
            queue_reply(
                tx,
                &origin,
                Reply {
                    kind: "help",
                    key: format!("help:{}", msg.event_id),
                    text: reply::help(),
                    rfq_id: None,
                    quote_id: None,
                    not_after: None,
                },
            )?;
            return Ok(done("help"));
        }
        let today = now.to_offset(self.desk.offset).date();
        let alone = self.desk.parse(&text, today);
        let lang = alone.language;
        if alone
            .problems
            .iter()
            .any(|p| matches!(p, Problem::TooLong { .. }))
        {
            queue_reply(
                tx,
                &origin,
                Reply {
                    kind: "notice",
                    key: format!("too_long:{}", msg.event_id),
                    text: reply::too_long(lang),
                    rfq_id: None,
                    quote_id: None,
                    not_after: None,
                },
            )?;
            return Ok(done("too_long"));
        }
        let rfq_id = format!("rfq_{}", uuid::Uuid::new_v4().simple());
        if alone.flagged() {
            insert_rfq(
                tx,
                &NewRfq {
                    id: rfq_id.clone(),
                    msg,
                    client_id: &client_id,
                    text: &text,
                    outcome: &alone,
                    status: rfq_status::FLAGGED,
                    follow_up_of: None,
                },
            )?;
            queue_reply(
                tx,
                &origin,
                Reply {
                    kind: "notice",
                    key: format!("flagged:{rfq_id}"),
                    text: reply::flagged(lang),
                    rfq_id: Some(rfq_id.clone()),
                    quote_id: None,
                    not_after: None,
                },
            )?;
            return Ok(Received {
                rfq_id: Some(rfq_id),
                ..done("flagged")
            });
        }
        // A message that is not a complete request may answer an open clarifying question.
        let incomplete = alone.parse.requests.is_empty() || !alone.parse.missing.is_empty();
        let mut outcome = alone;
        let mut follow_up_of = None;
        if incomplete
            && let Some((prev_id, prev_text)) =
                open_question(tx, msg, now, cfg.clarify_window_secs)?
        {
            let combined = self.desk.parse(&format!("{prev_text}\n{text}"), today);
            let missing = |p: &RfqParse| {
                if p.requests.is_empty() {
                    usize::MAX
                } else {
                    p.missing.len()
                }
            };
            let prev_missing: usize = tx.conn().query_row(
                "SELECT parse FROM rfqs WHERE id = ?1",
                [&prev_id],
                |r| {
                    let s: String = r.get(0)?;
                    Ok(serde_json::from_str::<RfqParse>(&s)
                        .map(|p| missing(&p))
                        .unwrap_or(usize::MAX))
                },
            )?;
            if !combined.flagged()
                && !combined.parse.requests.is_empty()
                && missing(&combined.parse) < prev_missing
                && missing(&combined.parse) <= missing(&outcome.parse)
            {
                set_rfq_status(tx, &prev_id, rfq_status::ANSWERED, None)?;
                follow_up_of = Some(prev_id);
                outcome = ParseOutcome {
                    language: lang,
                    ..combined
                };
            }
        }
        if outcome.parse.requests.is_empty() {
            queue_reply(
                tx,
                &origin,
                Reply {
                    kind: "notice",
                    key: format!("not_rfq:{}", msg.event_id),
                    text: reply::not_rfq(lang),
                    rfq_id: None,
                    quote_id: None,
                    not_after: None,
                },
            )?;
            return Ok(done("not_rfq"));
        }
        let text_stored = text.trim().to_string();
        if let Some(q) = question(&outcome.parse, lang) {
            insert_rfq(
                tx,
                &NewRfq {
                    id: rfq_id.clone(),
                    msg,
                    client_id: &client_id,
                    text: &text_stored,
                    outcome: &outcome,
                    status: rfq_status::CLARIFYING,
                    follow_up_of,
                },
            )?;
            queue_reply(
                tx,
                &origin,
                Reply {
                    kind: "clarify",
                    key: format!("clarify:{rfq_id}"),
                    text: reply::clarify(lang, &q),
                    rfq_id: Some(rfq_id.clone()),
                    quote_id: None,
                    not_after: None,
                },
            )?;
            return Ok(Received {
                rfq_id: Some(rfq_id),
                ..done("clarify")
            });
        }
        insert_rfq(
            tx,
            &NewRfq {
                id: rfq_id.clone(),
                msg,
                client_id: &client_id,
                text: &text_stored,
                outcome: &outcome,
                status: rfq_status::PRICING,
                follow_up_of,
            },
        )?;
        queue_reply(
            tx,
            &origin,
            Reply {
                kind: "ack",
                key: format!("ack:{rfq_id}"),
                text: reply::ack(lang),
                rfq_id: Some(rfq_id.clone()),
                quote_id: None,
                not_after: None,
            },
        )?;
        Ok(Received {
            new: true,
            disposition: "rfq".into(),
            rfq_id: Some(rfq_id),
            needs_pricing: true,
        })
    }

    /// Prices a request for quote and queues its quotes (see the module doc). Idempotent: a
    /// request already priced, or quotes already written, are left as they are.
    pub fn rfq_price(&self, rfq_id: &str) -> Result<Vec<QuoteSummary>> {
        let _slot = self.desk.acquire();
        let row = self.store.read(|c| {
            c.query_row(
                "SELECT status, client_id, parse, language, channel, chat_id, message_id, sender,
                        text, confidence, problems
                 FROM rfqs WHERE id = ?1",
                [rfq_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        [
                            r.get::<_, String>(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, String>(6)?,
                            r.get::<_, String>(7)?,
                            r.get::<_, String>(8)?,
                        ],
                        r.get::<_, f64>(9)?,
                        r.get::<_, String>(10)?,
                    ))
                },
            )
            .optional()
        })?;
        let Some((status, client_id, parse, language, [channel, chat_id, message_id, sender, text], confidence, problems)) =
            row
        else {
            return Err(AssistantError::NotFound {
                kind: "rfq",
                id: rfq_id.into(),
            });
        };
        if status != rfq_status::PRICING {
            return self.quote_summaries(rfq_id);
        }
        let parse: RfqParse = serde_json::from_str(&parse).map_err(|e| {
            AssistantError::Store(crate::store::StoreError::Corrupt {
                table: "rfqs",
                message: format!("{rfq_id}: parse is not the canonical JSON: {e}"),
            })
        })?;
        let lang = reply::parse_language(&language);
        let origin = Origin {
            channel: &channel,
            chat_id: &chat_id,
            message_id: &message_id,
        };
        let actor = desk_actor();
        let expiry = Duration::seconds(self.config.rfq.quote_expiry_secs as i64);
        let client_name = self
            .config
            .limits
            .clients
            .get(&client_id)
            .and_then(|c| c.name.clone())
            .unwrap_or_else(|| client_id.clone());
        for (idx, req) in parse.requests.iter().enumerate() {
            let exists: bool = self.store.read(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM rfq_quotes WHERE rfq_id = ?1 AND idx = ?2",
                    params![rfq_id, idx as i64],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n > 0)
            })?;
            if exists {
                continue;
            }
            let qid = format!("q_{}", uuid::Uuid::new_v4().simple());
            let underlying = req.underlying.clone().unwrap_or_default();
            let priced: std::result::Result<(Priced, market::MarketView), String> = self
                .desk
                .market
                .market(&underlying)
                .map_err(|e| e.to_string())
                .and_then(|(m, view)| {
                    price::price(&qid, req, &m, &self.desk.conventions)
                        .map(|p| (p, view))
                        .map_err(|e| e.to_string())
                });
            let book = self.desk.market.book_exposure(&underlying);
            let inputs = priced.and_then(|p| book.map(|b| (p, b)).map_err(|e| e.to_string()));
            self.store.write(&actor, |tx| {
                let now = time::now();
                let ((priced, market_view), book) = match inputs {
                    Ok(x) => x,
                    Err(e) => {
                        let detail = json!({
                            "request": req, "client_id": client_id, "language": language,
                        });
                        return self.quote_error(tx, &origin, rfq_id, idx, &qid, req, detail, &e, lang);
                    }
                };
                let since = time::fmt(
                    now - Duration::seconds(self.config.rfq.sent_quote_hold_secs as i64),
                );
                let (pd, pv): (f64, f64) = tx.conn().query_row(
                    "SELECT COALESCE(SUM(desk_delta), 0), COALESCE(SUM(desk_vega), 0)
                     FROM rfq_quotes WHERE underlying = ?1 AND (
                        (status IN ('pending', 'approved') AND valid_until > ?2)
                        OR (status IN ('sent', 'uncertain') AND COALESCE(sent_at, updated_at) > ?3))",
                    params![underlying, time::fmt(now), since],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let exposure = Exposure {
                    book_delta: book.delta,
                    book_vega: book.vega,
                    pending_delta: pd,
                    pending_vega: pv,
                };
                let greeks = QuoteGreeks {
                    delta: priced.greeks.cash_delta,
                    vega: priced.greeks.vega_per_point,
                };
                let breaches: Vec<Breach> = match limit_check(&client_id, req, Some(greeks)) {
                    Some(check) => policies::limits::check(&self.config.limits, &check, &exposure),
                    None => Vec::new(),
                };
                let valid_until = now + expiry;
                let (terms_zh, terms_en) = reply::terms(req, RfqParser::builtin().lexicon(), &self.desk.conventions);
                let notional = req.notional.unwrap_or_default();
                let currency = req.currency.clone().unwrap_or_else(|| "CNY".into());
                let preview = reply::quote(&reply::QuoteText {
                    language: lang,
                    terms: if lang == Language::Zh { &terms_zh } else { &terms_en },
                    side: priced.side,
                    kind: priced.quote.kind,
                    figure: priced.quote.client,
                    notional,
                    currency: &currency,
                    valid_until,
                    offset: self.desk.offset,
                });
                let limits = json!({
                    "passed": breaches.is_empty(),
                    "exposure_before": {
                        "underlying": underlying,
                        "book_cash_delta": exposure.book_delta, "book_vega_per_point": exposure.book_vega,
                        "pending_cash_delta": exposure.pending_delta, "pending_vega_per_point": exposure.pending_vega,
                    },
                    "quote": {"cash_delta": greeks.delta, "vega_per_point": greeks.vega},
                    "breaches": breaches.iter().map(|b| json!({
                        "rule": b, "reason_zh": b.reason_zh(), "reason_en": b.reason_en(),
                        "client_wording": b.client_wording(reply::lang(lang)),
                    })).collect::<Vec<_>>(),
                });
                let payload = json!({
                    "rfq_id": rfq_id,
                    "quote_id": qid,
                    "client_id": client_id,
                    "client_name": client_name,
                    "chat": {"channel": channel, "chat_id": chat_id, "message_id": message_id, "sender": sender},
                    "message": text,
                    "language": language,
                    "request": req,
                    "side": priced.side,
                    "terms": {"zh": terms_zh, "en": terms_en},
                    "quote": priced.quote,
                    "notional": notional,
                    "currency": currency,
                    "valid_until": time::fmt(valid_until),
                    "pricing": {
                        "engine": priced.engine, "paths": priced.paths,
                        "value_pct": priced.value_pct, "std_error_pct": priced.std_error_pct,
                        "evaluations": priced.evaluations, "elapsed_ms": priced.elapsed_ms,
                        "market": market_view, "conventions": priced.conventions,
                    },
                    "product": priced.product,
                    "greeks": priced.greeks,
                    "limits": limits,
                    "parse": {"confidence": confidence, "problems": serde_json::from_str::<Value>(&problems).unwrap_or(Value::Null)},
                    "reply_preview": preview,
                });
                let structure = req.structure.map(|s| s.as_str()).unwrap_or("");
                let (status, approval_id) = if breaches.is_empty() {
                    let title = format!(
                        "Quote {underlying} {structure} {}M for {client_name}: {} {:.2} ({})",
                        req.tenor_months.unwrap_or(0),
                        serde_json::to_value(priced.quote.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
                        priced.quote.client,
                        priced.quote.unit,
                    );
                    let id = self.create_approval_in(
                        tx,
                        NewApproval {
                            kind: "quote".into(),
                            title,
                            payload: payload.clone(),
                            required_role: Role::Trader,
                            four_eyes: false,
                            expires_in: Some(expiry),
                            class: DataClass::IMPORTANT,
                            supersedes: None,
                            idempotency_key: Some(format!("quote:{rfq_id}:{idx}")),
                        },
                    )?;
                    (quote_status::PENDING, Some(id))
                } else {
                    (quote_status::BLOCKED, None)
                };
                tx.conn().execute(
                    "INSERT INTO rfq_quotes (id, rfq_id, idx, underlying, structure, status,
                        approval_id, desk_delta, desk_vega, detail, valid_until, created_at,
                        updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
                    params![
                        qid, rfq_id, idx as i64, underlying, structure, status, approval_id,
                        greeks.delta, greeks.vega, payload.to_string(), time::fmt(valid_until),
                        time::fmt(now),
                    ],
                )?;
                tx.audit(AuditRecord {
                    action: if breaches.is_empty() { "rfq.quote.queue" } else { "rfq.quote.block" },
                    object_kind: "rfq_quote",
                    object_id: &qid,
                    class: DataClass::IMPORTANT,
                    details: json!({
                        "rfq_id": rfq_id, "approval_id": approval_id, "quote": priced.quote,
                        "greeks": priced.greeks, "limits": payload["limits"],
                    }),
                })?;
                if let Some(b) = breaches.first() {
                    queue_reply(
                        tx,
                        &origin,
                        Reply {
                            kind: "refusal",
                            key: format!("blocked:{qid}"),
                            text: reply::neutral(lang, b.client_wording(reply::lang(lang))),
                            rfq_id: Some(rfq_id.to_string()),
                            quote_id: Some(qid.clone()),
                            not_after: None,
                        },
                    )?;
                }
                Ok::<_, AssistantError>(())
            })?;
        }
        let summaries = self.quote_summaries(rfq_id)?;
        let status = if summaries.iter().any(|q| q.status != quote_status::BLOCKED && q.status != quote_status::ERROR) {
            rfq_status::QUOTED
        } else if summaries.iter().any(|q| q.status == quote_status::BLOCKED) {
            rfq_status::BLOCKED
        } else {
            rfq_status::FAILED
        };
        self.store.write(&actor, |tx| {
            let current: Option<String> = tx
                .conn()
                .query_row("SELECT status FROM rfqs WHERE id = ?1", [rfq_id], |r| r.get(0))
                .optional()?;
            if current.as_deref() == Some(rfq_status::PRICING) {
                set_rfq_status(tx, rfq_id, status, None)?;
            }
            Ok::<_, AssistantError>(())
        })?;
        Ok(summaries)
    }

    #[allow(clippy::too_many_arguments)]
    fn quote_error(
        &self,
        tx: &mut WriteTx<'_>,
        origin: &Origin<'_>,
        rfq_id: &str,
        idx: usize,
        qid: &str,
        req: &crate::rfq::RfqRequest,
        mut detail: Value,
        error: &str,
        lang: Language,
    ) -> Result<()> {
        let now = time::fmt(time::now());
        detail["error"] = json!(error);
        tx.conn().execute(
            "INSERT INTO rfq_quotes (id, rfq_id, idx, underlying, structure, status, detail,
                created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'error', ?6, ?7, ?7)",
            params![
                qid,
                rfq_id,
                idx as i64,
                req.underlying,
                req.structure.map(|s| s.as_str()),
                detail.to_string(),
                now
            ],
        )?;
        tx.audit(AuditRecord {
            action: "rfq.quote.error",
            object_kind: "rfq_quote",
            object_id: qid,
            class: DataClass::IMPORTANT,
            details: json!({"rfq_id": rfq_id, "error": error}),
        })?;
        queue_reply(
            tx,
            origin,
            Reply {
                kind: "refusal",
                key: format!("error:{qid}"),
                text: reply::cannot_price(lang),
                rfq_id: Some(rfq_id.to_string()),
                quote_id: Some(qid.to_string()),
                not_after: None,
            },
        )?;
        Ok(())
    }

    fn quote_summaries(&self, rfq_id: &str) -> Result<Vec<QuoteSummary>> {
        self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, idx, status, approval_id, underlying, structure, valid_until
                 FROM rfq_quotes WHERE rfq_id = ?1 ORDER BY idx",
            )?;
            let rows = stmt.query_map([rfq_id], |r| {
                Ok(QuoteSummary {
                    id: r.get(0)?,
                    index: r.get::<_, i64>(1)? as usize,
                    status: r.get(2)?,
                    approval_id: r.get(3)?,
                    underlying: r.get(4)?,
                    structure: r.get(5)?,
                    valid_until: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Turns decided approvals of quotes into replies (see the module doc); returns how many
    /// quotes changed.
    pub fn rfq_sync(&self) -> Result<usize> {
        let now = time::fmt(time::now());
        let due: Vec<String> = self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT q.id FROM rfq_quotes q JOIN approvals a ON a.id = q.approval_id
                 WHERE q.status = 'pending' AND (a.state != 'pending' OR a.expires_at <= ?1)
                 LIMIT 500",
            )?;
            let ids = stmt
                .query_map([&now], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok::<_, AssistantError>(ids)
        })?;
        if due.is_empty() {
            return Ok(0);
        }
        let actor = desk_actor();
        self.store.write(&actor, |tx| {
            let mut n = 0;
            for qid in &due {
                let row: Option<(String, String, String, String, String, String, String)> = tx
                    .conn()
                    .query_row(
                        "SELECT q.status, q.approval_id, q.rfq_id, r.channel, r.chat_id,
                                r.message_id, r.language
                         FROM rfq_quotes q JOIN rfqs r ON r.id = q.rfq_id WHERE q.id = ?1",
                        [qid],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
                    )
                    .optional()?;
                let Some((status, approval_id, rfq_id, channel, chat_id, message_id, language)) = row
                else {
                    continue;
                };
                if status != quote_status::PENDING {
                    continue;
                }
                let Some(a) = crate::approvals::load_approval(tx.conn(), &approval_id)? else {
                    continue;
                };
                let lang = reply::parse_language(&language);
                let origin = Origin {
                    channel: &channel,
                    chat_id: &chat_id,
                    message_id: &message_id,
                };
                let (new_status, reply) = match a.state {
                    policies::ApprovalState::Pending => continue,
                    policies::ApprovalState::Approved => (
                        quote_status::APPROVED,
                        Some(("quote", format!("quote:{qid}"), String::new())),
                    ),
                    policies::ApprovalState::Rejected => (
                        quote_status::REJECTED,
                        Some(("notice", format!("rejected:{qid}"), reply::rejected(lang))),
                    ),
                    policies::ApprovalState::Expired => (
                        quote_status::EXPIRED,
                        Some(("notice", format!("expired:{qid}"), reply::expired(lang))),
                    ),
                    policies::ApprovalState::Superseded => (quote_status::SUPERSEDED, None),
                };
                set_quote_status(
                    tx,
                    qid,
                    new_status,
                    json!({"approval": approval_id, "decided_by": a.decided_by, "reason": a.reason}),
                )?;
                if let Some((kind, key, text)) = reply {
                    let valid_until: Option<String> = tx.conn().query_row(
                        "SELECT valid_until FROM rfq_quotes WHERE id = ?1",
                        [qid],
                        |r| r.get(0),
                    )?;
                    queue_reply(
                        tx,
                        &origin,
                        Reply {
                            kind,
                            key,
                            // A quote's text is rendered when it is claimed for sending.
                            text,
                            rfq_id: Some(rfq_id.clone()),
                            quote_id: Some(qid.clone()),
                            not_after: if kind == "quote" {
                                valid_until.as_deref().and_then(time::parse)
                            } else {
                                None
                            },
                        },
                    )?;
                }
                n += 1;
            }
            Ok::<_, AssistantError>(n)
        })
    }

    /// Claims up to `limit` due replies of `channel` for sending (see the module doc).
    pub fn chat_claim(&self, channel: &str, limit: usize) -> Result<Vec<OutboundMessage>> {
        self.rfq_sync()?;
        let now = time::now();
        let actor = desk_actor();
        self.store.write(&actor, |tx| {
            let mut out = Vec::new();
            // A dropped quote queues a notice; look again so that it goes out in this round.
            for _round in 0..3 {
                let dropped = self.claim_round(tx, channel, limit - out.len(), now, &mut out)?;
                if dropped == 0 || out.len() >= limit {
                    break;
                }
            }
            Ok::<_, AssistantError>(out)
        })
    }

    /// One round of [`Assistant::chat_claim`]: claims due rows into `out`; returns how many
    /// quotes were dropped instead.
    fn claim_round(
        &self,
        tx: &mut WriteTx<'_>,
        channel: &str,
        limit: usize,
        now: OffsetDateTime,
        out: &mut Vec<OutboundMessage>,
    ) -> Result<usize> {
        type Row = (i64, String, String, Option<String>, String, String, Option<String>, Option<String>, Option<String>);
        let rows: Vec<Row> = {
            let mut stmt = tx.conn().prepare(
                "SELECT id, event_key, chat_id, reply_to, kind, text, rfq_id, quote_id, not_after
                 FROM chat_messages
                 WHERE direction = 'out' AND status = 'pending' AND channel = ?1
                   AND (next_attempt_at IS NULL OR next_attempt_at <= ?2)
                 ORDER BY id LIMIT ?3",
            )?;
            stmt.query_map(params![channel, time::fmt(now), limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut dropped = 0;
        for (id, key, chat_id, reply_to, kind, text, rfq_id, quote_id, not_after) in rows {
            let mut text = text;
            if kind == "quote" {
                match self.render_quote(tx, quote_id.as_deref().unwrap_or(""), now)? {
                    Ok(t) => text = t,
                    Err(why) => {
                        tx.conn().execute(
                            "UPDATE chat_messages SET status = ?1, error = ?2 WHERE id = ?3",
                            params![if why.expired { "expired" } else { "cancelled" }, why.message, id],
                        )?;
                        tx.audit(AuditRecord {
                            action: "chat.outbound.drop",
                            object_kind: "chat_message",
                            object_id: &key,
                            class: DataClass::IMPORTANT,
                            details: json!({"reason": why.message, "quote_id": quote_id}),
                        })?;
                        if let Some(q) = &quote_id {
                            self.quote_lapsed(tx, q, why.expired, &why.message)?;
                        }
                        dropped += 1;
                        continue;
                    }
                }
            }
            tx.conn().execute(
                "UPDATE chat_messages SET status = 'sending', attempts = attempts + 1, text = ?1,
                    text_chars = ?2 WHERE id = ?3",
                params![text, text.chars().count() as i64, id],
            )?;
            out.push(OutboundMessage {
                id,
                dedupe_key: key,
                channel: channel.to_string(),
                chat_id,
                reply_to,
                text,
                kind,
                rfq_id,
                quote_id,
                not_after: not_after.as_deref().and_then(time::parse),
            });
        }
        Ok(dropped)
    }

    /// A quote that can no longer be sent: marked, and the client told it lapsed.
    fn quote_lapsed(&self, tx: &mut WriteTx<'_>, qid: &str, expired: bool, why: &str) -> Result<()> {
        let status = if expired { quote_status::EXPIRED } else { quote_status::SEND_FAILED };
        set_quote_status(tx, qid, status, json!({"reason": why}))?;
        if expired {
            let row: Option<(String, String, String, String, String)> = tx
                .conn()
                .query_row(
                    "SELECT r.id, r.channel, r.chat_id, r.message_id, r.language
                     FROM rfq_quotes q JOIN rfqs r ON r.id = q.rfq_id WHERE q.id = ?1",
                    [qid],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            if let Some((rfq_id, channel, chat_id, message_id, language)) = row {
                queue_reply(
                    tx,
                    &Origin { channel: &channel, chat_id: &chat_id, message_id: &message_id },
                    Reply {
                        kind: "notice",
                        key: format!("expired:{qid}"),
                        text: reply::expired(reply::parse_language(&language)),
                        rfq_id: Some(rfq_id),
                        quote_id: Some(qid.to_string()),
                        not_after: None,
                    },
                )?;
            }
        }
        Ok(())
    }

    /// The reply text of an approved quote, from its approval's latest payload; or why it
    /// cannot be sent.
    fn render_quote(
        &self,
        tx: &mut WriteTx<'_>,
        qid: &str,
        now: OffsetDateTime,
    ) -> Result<std::result::Result<String, Undeliverable>> {
        let row: Option<(String, Option<String>, Option<String>)> = tx
            .conn()
            .query_row(
                "SELECT status, approval_id, valid_until FROM rfq_quotes WHERE id = ?1",
                [qid],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let bad = |m: String| Ok(Err(Undeliverable { expired: false, message: m }));
        let Some((status, Some(approval_id), Some(valid_until))) = row else {
            return bad(format!("quote {qid} has no approval"));
        };
        let Some(valid_until) = time::parse(&valid_until) else {
            return bad(format!("quote {qid} has a malformed validity"));
        };
        if now >= valid_until {
            return Ok(Err(Undeliverable {
                expired: true,
                message: format!("quote {qid} lapsed at {}", time::fmt(valid_until)),
            }));
        }
        if status != quote_status::APPROVED {
            return bad(format!("quote {qid} is {status}, not approved"));
        }
        let Some(a) = crate::approvals::load_approval(tx.conn(), &approval_id)? else {
            return bad(format!("approval {approval_id} is missing"));
        };
        if a.state != policies::ApprovalState::Approved {
            return bad(format!("approval {approval_id} is {}", a.state));
        }
        Ok(quote_text(&a.payload, valid_until, self.desk.offset))
    }

    /// Records how a claimed reply's send went.
    pub fn chat_finish(&self, id: i64, outcome: SendOutcome) -> Result<()> {
        let actor = desk_actor();
        let cfg = &self.config.rfq;
        self.store.write(&actor, |tx| {
            let row: Option<(String, String, String, Option<String>, String, String, Option<String>, i64, String)> = tx
                .conn()
                .query_row(
                    "SELECT event_key, channel, chat_id, reply_to, kind, text, quote_id, attempts, status
                     FROM chat_messages WHERE id = ?1 AND direction = 'out'",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?)),
                )
                .optional()?;
            let Some((key, channel, chat_id, reply_to, kind, text, quote_id, attempts, status)) = row else {
                return Err(AssistantError::NotFound { kind: "outbound message", id: id.to_string() });
            };
            if status != "sending" {
                return Err(AssistantError::Conflict(format!(
                    "outbound message {id} is {status}, not sending"
                )));
            }
            let now = time::now();
            let (new_status, message_id, error, retry_at) = match &outcome {
                SendOutcome::Sent { message_id } => ("sent", message_id.clone(), None, None),
                SendOutcome::Failed { error, retry } if *retry && attempts < i64::from(cfg.send_max_attempts) => {
                    let backoff = cfg.send_retry_ms.saturating_mul(1 << (attempts - 1).clamp(0, 16)).min(60_000);
                    ("pending", None, Some(error.clone()), Some(now + Duration::milliseconds(backoff as i64)))
                }
                SendOutcome::Failed { error, .. } => ("failed", None, Some(error.clone()), None),
                SendOutcome::Uncertain { error } => ("uncertain", None, Some(error.clone()), None),
                SendOutcome::Stale => ("expired", None, Some("past its validity when its turn came".into()), None),
            };
            tx.conn().execute(
                "UPDATE chat_messages SET status = ?1, message_id = COALESCE(?2, message_id),
                    error = ?3, next_attempt_at = ?4, sent_at = ?5 WHERE id = ?6",
                params![
                    new_status,
                    message_id,
                    error,
                    retry_at.map(time::fmt),
                    (new_status == "sent").then(|| time::fmt(now)),
                    id
                ],
            )?;
            tx.audit(AuditRecord {
                action: match new_status {
                    "sent" => "chat.outbound.sent",
                    "pending" => "chat.outbound.retry",
                    _ => "chat.outbound.fail",
                },
                object_kind: "chat_message",
                object_id: &key,
                class: DataClass::IMPORTANT,
                details: json!({
                    "channel": channel, "chat_id": chat_id, "reply_to": reply_to,
                    "message_id": message_id, "kind": kind, "text": text,
                    "status": new_status, "error": error, "attempt": attempts,
                }),
            })?;
            if let Some(q) = quote_id.filter(|_| kind == "quote") {
                match new_status {
                    "sent" => set_quote_status(tx, &q, quote_status::SENT, json!({"message_id": message_id}))?,
                    "failed" => set_quote_status(tx, &q, quote_status::SEND_FAILED, json!({"error": error}))?,
                    "uncertain" => set_quote_status(tx, &q, quote_status::UNCERTAIN, json!({"error": error}))?,
                    "expired" => self.quote_lapsed(tx, &q, true, "past its validity when its turn came")?,
                    _ => {}
                }
            }
            Ok(())
        })
    }

    /// At a connector's start: replies of `channel` left `sending` by a crash become
    /// `uncertain` (never sent twice), and the requests of `channel` whose pricing was
    /// interrupted are returned to be priced.
    pub fn chat_recover(&self, channel: &str) -> Result<Vec<String>> {
        let actor = desk_actor();
        self.store.write(&actor, |tx| {
            let stuck: Vec<(i64, String, String, Option<String>)> = {
                let mut stmt = tx.conn().prepare(
                    "SELECT id, event_key, kind, quote_id FROM chat_messages
                     WHERE direction = 'out' AND status = 'sending' AND channel = ?1",
                )?;
                stmt.query_map([channel], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            };
            for (id, key, kind, quote_id) in stuck {
                tx.conn().execute(
                    "UPDATE chat_messages SET status = 'uncertain',
                        error = 'interrupted while sending (restart)' WHERE id = ?1",
                    [id],
                )?;
                tx.audit(AuditRecord {
                    action: "chat.outbound.uncertain",
                    object_kind: "chat_message",
                    object_id: &key,
                    class: DataClass::IMPORTANT,
                    details: json!({"channel": channel, "reason": "interrupted while sending (restart)"}),
                })?;
                if let Some(q) = quote_id.filter(|_| kind == "quote") {
                    set_quote_status(tx, &q, quote_status::UNCERTAIN, json!({"reason": "interrupted while sending (restart)"}))?;
                }
            }
            let mut stmt = tx.conn().prepare(
                "SELECT id FROM rfqs WHERE status = 'pricing' AND channel = ?1 ORDER BY received_at",
            )?;
            let ids = stmt
                .query_map([channel], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
    }

    /// Runs the whole loop for `message` from client `client_id` without a chat (channel
    /// `cli`): parse, then a clarifying question or pricing into the approval queue. Returns
    /// the request with its quotes and approvals.
    pub fn rfq_quote_local(
        &self,
        actor: &Actor,
        message: &str,
        client_id: &str,
    ) -> Result<blotter::RfqDetail> {
        if client_id.trim().is_empty() {
            return Err(AssistantError::Invalid("a client id is required".into()));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let msg = InboundMessage {
            channel: CLI_CHANNEL.into(),
            event_id: id.clone(),
            chat_id: CLI_CHANNEL.into(),
            message_id: id,
            sender: actor.user.clone(),
            kind: MessageKind::Text,
            text: message.to_string(),
            time: time::now(),
            addressed: true,
            bot_mention: None,
        };
        let r = self.receive(actor, msg, Some(client_id))?;
        let Some(rfq_id) = r.rfq_id else {
            return Err(AssistantError::Invalid(format!(
                "the message was not taken as a request for quote ({})",
                r.disposition
            )));
        };
        if r.needs_pricing {
            self.rfq_price(&rfq_id)?;
        }
        self.rfq_get(actor, &rfq_id)
    }
}

/// Why an approved quote cannot be sent.
#[derive(Debug, Clone, PartialEq)]
struct Undeliverable {
    expired: bool,
    message: String,
}

/// The reply of an approved payload (after any edit), or why it is not sendable.
fn quote_text(
    payload: &Value,
    valid_until: OffsetDateTime,
    offset: UtcOffset,
) -> std::result::Result<String, Undeliverable> {
    let bad = |m: &str| Undeliverable {
        expired: false,
        message: format!("the approved quote payload {m}"),
    };
    let lang = reply::parse_language(payload["language"].as_str().unwrap_or("en"));
    let terms = payload["terms"][reply::language_name(lang)]
        .as_str()
        .ok_or_else(|| bad("has no terms in the client's language"))?;
    let side: crate::rfq::Side = payload["side"]
        .as_str()
        .and_then(crate::rfq::Side::parse)
        .ok_or_else(|| bad("has no valid side"))?;
    let kind: price::QuoteKind = match payload["quote"]["kind"].as_str() {
        Some("premium") => price::QuoteKind::Premium,
        Some("coupon") => price::QuoteKind::Coupon,
        Some("knock_out") => price::QuoteKind::KnockOut,
        Some("strike") => price::QuoteKind::Strike,
        _ => return Err(bad("has no valid quote.kind")),
    };
    let figure = payload["quote"]["client"]
        .as_f64()
        .filter(|x| x.is_finite() && (-100.0..=1000.0).contains(x))
        .ok_or_else(|| bad("has no quote.client between -100 and 1000"))?;
    let notional = payload["notional"]
        .as_f64()
        .filter(|x| x.is_finite() && *x > 0.0)
        .ok_or_else(|| bad("has no positive notional"))?;
    let currency = payload["currency"]
        .as_str()
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        .ok_or_else(|| bad("has no ISO currency"))?;
    Ok(reply::quote(&reply::QuoteText {
        language: lang,
        terms,
        side,
        kind,
        figure,
        notional,
        currency,
        valid_until,
        offset,
    }))
}

/// The open clarifying question of the sender in the chat, if any: its id and text.
fn open_question(
    tx: &mut WriteTx<'_>,
    msg: &InboundMessage,
    now: OffsetDateTime,
    window_secs: u64,
) -> Result<Option<(String, String)>> {
    let since = time::fmt(now - Duration::seconds(window_secs as i64));
    Ok(tx
        .conn()
        .query_row(
            "SELECT id, text FROM rfqs WHERE channel = ?1 AND chat_id = ?2 AND sender = ?3
               AND status = 'clarifying' AND received_at > ?4
             ORDER BY received_at DESC LIMIT 1",
            params![msg.channel, msg.chat_id, msg.sender, since],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// One quote of a request, in short.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuoteSummary {
    /// Quote id.
    pub id: String,
    /// Which request of the message.
    pub index: usize,
    /// Status (see [`quote_status`]).
    pub status: String,
    /// Its approval request.
    pub approval_id: Option<String>,
    /// Underlying.
    pub underlying: Option<String>,
    /// Structure.
    pub structure: Option<String>,
    /// Valid until.
    pub valid_until: Option<String>,
}
