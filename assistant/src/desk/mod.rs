//! The RFQ desk: chat message in → archived → parsed → clarifying question or pricing → limit
//! checks → the trader's approval queue → on approval, the quote posted as a reply.
//!
//! # Flow
//!
//! 1. [`Assistant::chat_receive`] archives every inbound message (`chat_messages`, with the
//!    channel, chat id, message id and sender, and an audit entry `chat.inbound` in the same
//!    transaction) and decides, in one transaction, what it is:
//!    - a redelivered event (same channel, chat and `event_id`): nothing more;
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
//!    - text: parsed ([`rfq::RfqParser`], with the model fallback when one is set
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
//! 5. A quote that cannot be sent after approval (the channel refused it for good, or its
//!    approved payload does not check) is never dropped silently: it is `send_failed`, the
//!    audit log has `quote.send_failed` with the reason, the server logs a warning, the blotter
//!    shows the reason beside the quote (`quotes[].error`) and the approval shows it in
//!    `delivery`. There is no trader chat to notify; those are where a trader sees it.
//!
//! Every quote approval's payload is typed and checked ([`payload`]) when the desk queues it,
//! at every trader's edit (which may change only the figure, the client-bound terms and the
//! notional, within bands) and again before its reply is rendered.
//!
//! The chat-side types and the [`connectors::chat::ChatDesk`] trait are `connectors`'; this
//! module implements the trait in [`DeskBridge`]. `deskmate rfq quote` runs the same loop
//! without a chat (channel `cli`: replies are recorded as `local`, never delivered).

pub mod adhoc;
pub mod blotter;
mod bridge;
pub mod chats;
mod inbound;
pub mod market;
mod outbox;
pub mod payload;
pub mod price;
mod queue;
pub mod reply;
pub mod risk;
pub mod status;

pub use bridge::DeskBridge;
pub use connectors::chat::{InboundMessage, MessageKind, OutboundMessage, Receipt, SendOutcome};
pub use status::{ChatStatus, Direction, Disposition, MessageStatus, QuoteStatus, RfqStatus};

use crate::Assistant;
use crate::config::Config;
use crate::error::Result;
use crate::inference::{JsonModel, default_generator_name};
use crate::store::{Actor, AuditRecord, WriteTx, time};
use market::MarketData;
use policies::DataClass;
use price::Conventions;
use rfq::model::JsonGenerator;
use rfq::{ParseContext, ParseOutcome, RfqParser};
use rusqlite::params;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::{Condvar, Mutex};
use time_crate::{OffsetDateTime, UtcOffset};

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
        user: crate::store::DESK_ACTOR.into(),
        role: None,
        request_id: None,
    }
}

/// The parser's model fallback over an audited [`JsonModel`]: the answer's text, errors as text.
impl JsonGenerator for JsonModel {
    type Error = String;

    fn generate_json(
        &mut self,
        prompt: &str,
        schema: &Value,
    ) -> std::result::Result<String, String> {
        self.generate(prompt, schema)
            .map(|r| r.text)
            .map_err(|e| e.to_string())
    }
}

impl Assistant {
    /// A [`JsonModel`] over the default generator, audited as the RFQ desk, for the parser's
    /// model fallback (`rfq.model_fallback`).
    pub fn rfq_json_model(&self) -> JsonModel {
        self.rfq_json_model_named(default_generator_name(&self.config))
    }

    /// [`Assistant::rfq_json_model`] over the installed model `name` (an approved version the
    /// chain was rolled back to).
    pub fn rfq_json_model_named(&self, name: &str) -> JsonModel {
        JsonModel::new(
            self.models().clone(),
            name,
            self.config.rfq.model_max_tokens as usize,
            "rfq.parse",
        )
        .within(std::time::Duration::from_millis(
            self.config.rfq.model_timeout_ms,
        ))
        .audited(self.store().clone(), desk_actor())
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
    fallback_threshold: f32,
    /// The name of the model [`Desk::set_named_model`] set (`None`: one set by
    /// [`Desk::set_model`], e.g. a test's).
    model_name: Mutex<Option<String>>,
    /// `rfq.model_timeout_ms`: the longest wait for the desk's model (the model call itself
    /// is bounded by the same limit in [`JsonModel::within`]).
    model_timeout: std::time::Duration,
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
            slots: (
                Mutex::new(config.rfq.pricing_workers.max(1)),
                Condvar::new(),
            ),
            model: Mutex::new(None),
            model_name: Mutex::new(None),
            fallback_threshold: config.rfq.model_fallback_threshold as f32,
            model_timeout: std::time::Duration::from_millis(config.rfq.model_timeout_ms),
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

    /// The offset at which replies show times (`rfq.reply_utc_offset`).
    pub fn reply_offset(&self) -> UtcOffset {
        self.offset
    }

    /// Sets the model asked when the rule parser's confidence is below
    /// `rfq.model_fallback_threshold` (an [`crate::inference::JsonModel`] over the default
    /// generator when `rfq.model_fallback` is on); its answers are validated by the lexicon.
    pub fn set_model(&self, model: DeskModel) {
        *self.model.lock().unwrap_or_else(|p| p.into_inner()) = Some(model);
        *self.model_name.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// [`Desk::set_model`] for the installed model called `name` (so that model risk can
    /// switch it to another approved version, see [`Assistant::rfq_json_model_named`]).
    pub fn set_named_model(&self, name: &str, model: DeskModel) {
        *self.model.lock().unwrap_or_else(|p| p.into_inner()) = Some(model);
        *self.model_name.lock().unwrap_or_else(|p| p.into_inner()) = Some(name.to_string());
    }

    /// The name of the model set by [`Desk::set_named_model`].
    pub fn model_name(&self) -> Option<String> {
        self.model_name
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether a model fallback is set.
    pub fn has_model(&self) -> bool {
        self.model
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// The rule parse alone (pure and fast: safe inside a write transaction).
    fn parse_rules(&self, text: &str, today: time_crate::Date) -> ParseOutcome {
        RfqParser::builtin().parse(text, &ParseContext::new(today))
    }

    /// The rule parse, then the model when the rules are not confident and a model is set.
    /// The model may take seconds and writes its own audit entry: never call this inside a
    /// write transaction (the inbound path calls it before opening one).
    pub fn parse_with_model(&self, text: &str, today: time_crate::Date) -> ParseOutcome {
        let ctx = ParseContext::new(today);
        let parser = RfqParser::builtin();
        if !self.has_model() {
            return parser.parse(text, &ctx);
        }
        // Requests the rules are unsure of wait for the model one at a time; a request that
        // cannot have it within `rfq.model_timeout_ms` keeps its rule parse (the model's
        // failure is among its problems), so a slow or stuck model delays no request for long.
        let limit = self.model_timeout;
        let deadline = std::time::Instant::now() + limit;
        let mut ask = |prompt: &str, schema: &Value| {
            let mut guard = loop {
                match self.model.try_lock() {
                    Ok(g) => break g,
                    Err(std::sync::TryLockError::Poisoned(p)) => break p.into_inner(),
                    Err(std::sync::TryLockError::WouldBlock) => {
                        if std::time::Instant::now() >= deadline {
                            return Err(format!(
                                "the model was busy for {} ms (rfq.model_timeout_ms)",
                                limit.as_millis()
                            ));
                        }
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                }
            };
            match guard.as_mut() {
                Some(m) => m.generate_json(prompt, schema),
                None => Err("the model was removed".to_string()),
            }
        };
        let out = parser.parse_with_model_below(text, &ctx, self.fallback_threshold, &mut ask);
        if out.path == rfq::ParsePath::Rules
            && let Some(reason) = out.problems.iter().find_map(|p| match p {
                rfq::Problem::ModelRejected { reason } => Some(reason),
                _ => None,
            })
        {
            models::metrics::record_fallback(
                crate::model_risk::RFQ_CHAIN,
                crate::documents::fallback_reason(reason),
            );
        }
        out
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

/// SQL for why quote `q` (a row of `rfq_quotes`) could not be sent: the error of its reply when
/// it is `send_failed`, `uncertain` or `expired` at send time, else NULL.
const DELIVERY_ERROR: &str = "CASE WHEN q.status IN ('send_failed', 'uncertain', 'expired') THEN
        (SELECT m.error FROM chat_messages m JOIN rfqs r ON r.id = q.rfq_id
         WHERE m.channel = r.channel AND m.direction = 'out' AND m.event_key = 'quote:' || q.id)
    END";

/// Where the delivery of the quote of approval `approval_id` stands, when the desk made that
/// approval (see [`crate::approvals::Approval::delivery`]).
pub(crate) fn delivery_of(
    conn: &rusqlite::Connection,
    approval_id: &str,
) -> rusqlite::Result<Option<crate::approvals::Delivery>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        &format!(
            "SELECT q.id, q.status, {DELIVERY_ERROR}, COALESCE(q.sent_at, q.updated_at)
             FROM rfq_quotes q WHERE q.approval_id = ?1"
        ),
        [approval_id],
        |r| {
            Ok(crate::approvals::Delivery {
                object_kind: "rfq_quote".into(),
                object_id: r.get(0)?,
                status: r.get(1)?,
                reason: r.get(2)?,
                at: r.get(3)?,
            })
        },
    )
    .optional()
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

/// Queues a message that answers nothing (a model-risk alert to the team's chat) for the
/// outbox to send on `channel` to `chat_id`; `key` makes it idempotent. Returns whether it was
/// new.
pub(crate) fn queue_notice(
    tx: &mut WriteTx<'_>,
    channel: &str,
    chat_id: &str,
    key: &str,
    text: &str,
) -> Result<bool> {
    let now = time::now();
    let n = tx.conn().execute(
        "INSERT OR IGNORE INTO chat_messages (channel, chat_id, direction, event_key, kind, text,
            text_chars, time, received_at, status)
         VALUES (?1, ?2, 'out', ?3, 'notice', ?4, ?5, ?6, ?6, ?7)",
        params![
            channel,
            chat_id,
            key,
            text,
            text.chars().count() as i64,
            time::fmt(now),
            MessageStatus::Pending,
        ],
    )?;
    if n == 1 {
        tx.audit(AuditRecord {
            action: "chat.outbound.queue",
            object_kind: "chat_message",
            object_id: key,
            class: DataClass::IMPORTANT,
            details: json!({
                "channel": channel, "chat_id": chat_id, "kind": "notice", "text": text,
            }),
        })?;
    }
    Ok(n == 1)
}

fn queue_reply(tx: &mut WriteTx<'_>, o: &Origin<'_>, r: Reply) -> Result<bool> {
    let now = time::now();
    let status = if o.channel == CLI_CHANNEL {
        MessageStatus::Local
    } else {
        MessageStatus::Pending
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

fn set_rfq_status(
    tx: &mut WriteTx<'_>,
    id: &str,
    status: RfqStatus,
    error: Option<&str>,
) -> Result<()> {
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

fn set_quote_status(
    tx: &mut WriteTx<'_>,
    id: &str,
    status: QuoteStatus,
    note: Value,
) -> Result<()> {
    let now = time::fmt(time::now());
    let sent = (status == QuoteStatus::Sent).then_some(now.clone());
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

/// The result of receiving one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Received {
    /// `false` when the event had been received before.
    pub new: bool,
    /// The disposition recorded.
    pub disposition: Disposition,
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
}

/// One quote of a request, in short.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuoteSummary {
    /// Quote id.
    pub id: String,
    /// Which request of the message.
    pub index: usize,
    /// Status.
    pub status: QuoteStatus,
    /// Its approval request.
    pub approval_id: Option<String>,
    /// Underlying.
    pub underlying: Option<String>,
    /// Structure.
    pub structure: Option<String>,
    /// Valid until.
    pub valid_until: Option<String>,
    /// Why it could not be sent, when it is `send_failed`, `uncertain` or `expired` at send
    /// time: the delivery's error.
    pub error: Option<String>,
}
