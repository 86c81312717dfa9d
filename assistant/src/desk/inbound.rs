//! Inbound messages: archived, then routed (not addressed, deleted, throttled, unknown chat,
//! non-text, edit, help, too long, flagged, not a request, clarifying question, follow-up
//! answer, or a request to price), all in one transaction with the audit entries.
//!
//! The model fallback is the one step that runs before that transaction: a model call takes
//! seconds and writes its own audit entry (`model.call`), and a write transaction must stay
//! short. It runs only for a new, addressed text message from a known chat whose rule parse is
//! not confident; inside the transaction the rules see the same text and use its outcome.

use super::reply;
use super::{
    AUDIT_TEXT_CHARS, CLI_CHANNEL, Disposition, InboundMessage, MAX_ARCHIVED_CHARS, MessageKind,
    Origin, Received, Reply, RfqStatus, cap, queue_reply, set_rfq_status, sha256,
};
use crate::Assistant;
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord, WriteTx, sql, time};
use ::time::{Duration, OffsetDateTime};
use policies::DataClass;
use rfq::clarify::question;
use rfq::schema::RfqParse;
use rfq::{ParseOutcome, Problem};
use rusqlite::{OptionalExtension, params};
use serde_json::json;

/// Queues a reply that belongs to no request for quote.
fn notify(
    tx: &mut WriteTx<'_>,
    origin: &Origin<'_>,
    kind: &'static str,
    key: String,
    text: String,
) -> Result<bool> {
    queue_reply(
        tx,
        origin,
        Reply {
            kind,
            key,
            text,
            rfq_id: None,
            quote_id: None,
            not_after: None,
        },
    )
}

impl Assistant {
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
        let ahead = self.model_parse_ahead(&msg, now, forced_client)?;
        self.store.write(actor, |tx| {
            let n = tx.conn().execute(
                "INSERT OR IGNORE INTO chat_messages (channel, chat_id, direction, event_key,
                    message_id, sender, kind, text, text_chars, addressed, time, received_at,
                    status, reply_url)
                 VALUES (?1, ?2, 'in', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'received', ?12)",
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
                    msg.reply_url,
                ],
            )?;
            if n == 0 {
                let (status, rfq): (Disposition, Option<String>) = tx.conn().query_row(
                    "SELECT status, rfq_id FROM chat_messages
                     WHERE channel = ?1 AND chat_id = ?3 AND direction = 'in' AND event_key = ?2",
                    params![msg.channel, msg.event_id, msg.chat_id],
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
            let key = format!("{}:{}:{}", msg.channel, msg.chat_id, msg.event_id);
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
            let out = self.route_message(tx, &msg, now, forced_client, ahead.as_ref())?;
            tx.conn().execute(
                "UPDATE chat_messages SET status = ?1, rfq_id = ?2 WHERE id = ?3",
                params![out.disposition, out.rfq_id, row],
            )?;
            Ok::<_, AssistantError>(out)
        })
    }

    /// The parse of a message that may need the model fallback, computed before the write
    /// transaction: `(text as parsed, outcome)`. `None` when no model is set or the message
    /// cannot become a request (not addressed, not text, a command, a redelivery, an unknown
    /// chat); the rules then parse it inside the transaction.
    fn model_parse_ahead(
        &self,
        msg: &InboundMessage,
        now: OffsetDateTime,
        forced_client: Option<&str>,
    ) -> Result<Option<Ahead>> {
        if !self.desk.has_model() || !msg.addressed || msg.kind != MessageKind::Text {
            return Ok(None);
        }
        // The model serves only as an approved version in `model` mode (model risk).
        let gate = self.chain_gate(crate::model_risk::RFQ_CHAIN)?;
        if !gate.serves_model {
            return Ok(None);
        }
        // After a rollback the approved version's model serves (a model set by name only; one
        // set otherwise, e.g. a test's, stays).
        if let (Some(m), Some(current)) = (&gate.model, self.desk.model_name())
            && m != &current
        {
            self.desk
                .set_named_model(m, Box::new(self.rfq_json_model_named(m)));
        }
        let text = strip_mention(&msg.text, msg.bot_mention.as_deref());
        if text.trim().is_empty() || command(&text).is_some() {
            return Ok(None);
        }
        let known = self.store.read(|c| {
            let seen: bool = c
                .query_row(
                    "SELECT 1 FROM chat_messages WHERE channel = ?1 AND chat_id = ?3
                       AND direction = 'in' AND event_key = ?2",
                    params![msg.channel, msg.event_id, msg.chat_id],
                    |_| Ok(true),
                )
                .optional()?
                .unwrap_or(false);
            let mapped = forced_client.is_some()
                || c.query_row(
                    "SELECT 1 FROM rfq_chats WHERE channel = ?1 AND chat_id = ?2",
                    params![msg.channel, msg.chat_id],
                    |_| Ok(true),
                )
                .optional()?
                .unwrap_or(false);
            Ok::<_, AssistantError>(!seen && mapped)
        })?;
        if !known {
            return Ok(None);
        }
        let today = now.to_offset(self.desk.offset).date();
        let t0 = std::time::Instant::now();
        let outcome = self.desk.parse_with_model(&text, today);
        Ok(Some((
            text,
            outcome,
            t0.elapsed().as_secs_f64() * 1000.0,
            gate.mode,
        )))
    }

    fn route_message(
        &self,
        tx: &mut WriteTx<'_>,
        msg: &InboundMessage,
        now: OffsetDateTime,
        forced_client: Option<&str>,
        ahead: Option<&Ahead>,
    ) -> Result<Received> {
        let cfg = &self.config.rfq;
        let origin = Origin {
            channel: &msg.channel,
            chat_id: &msg.chat_id,
            message_id: &msg.message_id,
        };
        let done = |d: Disposition| Received {
            new: true,
            disposition: d,
            rfq_id: None,
            needs_pricing: false,
        };
        if !msg.addressed {
            return Ok(done(Disposition::NotAddressed));
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
                ..done(Disposition::Deleted)
            });
        }
        let lang = rfq::clarify::detect_language(&msg.text);
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
                notify(
                    tx,
                    &origin,
                    "notice",
                    format!("throttle:{}:{b}", msg.chat_id),
                    reply::throttled(lang),
                )?;
                return Ok(done(Disposition::Throttled));
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
            if cfg.unknown_chats == crate::config::UnknownChats::Refuse {
                let hour = now.unix_timestamp() / 3600;
                notify(
                    tx,
                    &origin,
                    "refusal",
                    format!("unknown:{}:{hour}", msg.chat_id),
                    reply::unknown_chat(lang),
                )?;
            }
            return Ok(done(Disposition::UnknownChat));
        };
        let b = bucket(now, cfg.throttle_window_secs);
        match msg.kind {
            MessageKind::Sticker => return Ok(done(Disposition::Sticker)),
            MessageKind::Image | MessageKind::Other => {
                notify(
                    tx,
                    &origin,
                    "notice",
                    format!("not_text:{}:{b}", msg.chat_id),
                    reply::not_text(),
                )?;
                return Ok(done(Disposition::NotText));
            }
            MessageKind::Edited => {
                notify(
                    tx,
                    &origin,
                    "notice",
                    format!("edited:{}:{}", msg.chat_id, msg.message_id),
                    reply::edited(lang),
                )?;
                return Ok(done(Disposition::Edited));
            }
            MessageKind::Text | MessageKind::Deleted => {}
        }
        let text = strip_mention(&msg.text, msg.bot_mention.as_deref());
        if text.trim().is_empty() || command(&text).is_some() {
            notify(
                tx,
                &origin,
                "help",
                format!("help:{}", msg.event_id),
                reply::help(),
            )?;
            return Ok(done(Disposition::Help));
        }
        let today = now.to_offset(self.desk.offset).date();
        let t0 = std::time::Instant::now();
        let (alone, parse_ms, gated_mode) = match ahead {
            Some((t, outcome, ms, mode)) if *t == text => (outcome.clone(), *ms, Some(*mode)),
            _ => {
                let o = self.desk.parse_rules(&text, today);
                (o, t0.elapsed().as_secs_f64() * 1000.0, None)
            }
        };
        let lang = alone.language;
        if alone
            .problems
            .iter()
            .any(|p| matches!(p, Problem::TooLong { .. }))
        {
            notify(
                tx,
                &origin,
                "notice",
                format!("too_long:{}", msg.event_id),
                reply::too_long(lang),
            )?;
            return Ok(done(Disposition::TooLong));
        }
        let rfq_id = format!("rfq_{}", uuid::Uuid::new_v4().simple());
        record_parse(tx, &rfq_id, &text, &alone, parse_ms, gated_mode)?;
        if alone.flagged() {
            insert_rfq(
                tx,
                &NewRfq {
                    id: rfq_id.clone(),
                    msg,
                    client_id: &client_id,
                    text: &text,
                    outcome: &alone,
                    status: RfqStatus::Flagged,
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
                ..done(Disposition::Flagged)
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
            let combined = self
                .desk
                .parse_rules(&format!("{prev_text}\n{text}"), today);
            let missing = |p: &RfqParse| {
                if p.requests.is_empty() {
                    usize::MAX
                } else {
                    p.missing.len()
                }
            };
            let prev_missing: usize =
                tx.conn()
                    .query_row("SELECT parse FROM rfqs WHERE id = ?1", [&prev_id], |r| {
                        sql::json::<RfqParse>(r, 0, "rfqs.parse").map(|p| missing(&p))
                    })?;
            if !combined.flagged()
                && !combined.parse.requests.is_empty()
                && missing(&combined.parse) < prev_missing
                && missing(&combined.parse) <= missing(&outcome.parse)
            {
                set_rfq_status(tx, &prev_id, RfqStatus::Answered, None)?;
                follow_up_of = Some(prev_id);
                outcome = ParseOutcome {
                    language: lang,
                    ..combined
                };
            }
        }
        if outcome.parse.requests.is_empty() {
            notify(
                tx,
                &origin,
                "notice",
                format!("not_rfq:{}", msg.event_id),
                reply::not_rfq(lang),
            )?;
            return Ok(done(Disposition::NotRfq));
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
                    status: RfqStatus::Clarifying,
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
                ..done(Disposition::Clarify)
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
                status: RfqStatus::Pricing,
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
            disposition: Disposition::Rfq,
            rfq_id: Some(rfq_id),
            needs_pricing: true,
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
    ) -> Result<super::blotter::RfqDetail> {
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
            reply_url: None,
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

/// A new request for quote to write.
struct NewRfq<'a> {
    id: String,
    msg: &'a InboundMessage,
    client_id: &'a str,
    text: &'a str,
    outcome: &'a ParseOutcome,
    status: RfqStatus,
    follow_up_of: Option<String>,
}

fn insert_rfq(tx: &mut WriteTx<'_>, r: &NewRfq<'_>) -> Result<()> {
    let now = time::fmt(time::now());
    let parse = serde_json::to_string(&r.outcome.parse).unwrap_or_default();
    let problems = serde_json::to_string(&r.outcome.problems).unwrap_or_default();
    let model_fields = serde_json::to_string(&r.outcome.model_fields).unwrap_or_default();
    tx.conn().execute(
        "INSERT INTO rfqs (id, channel, chat_id, message_id, sender, client_id, received_at,
            text, language, parse, confidence, path, problems, status, follow_up_of, updated_at,
            model_fields)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?7, ?16)",
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
                rfq::ParsePath::Rules => "rules",
                rfq::ParsePath::Model => "model",
            },
            problems,
            r.status,
            r.follow_up_of,
            model_fields,
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
            "model_fields": r.outcome.model_fields,
        }),
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

/// A parse made before the write transaction: (text as parsed, outcome, milliseconds, the
/// chain's mode at its gate).
type Ahead = (String, ParseOutcome, f64, crate::model_risk::ChainMode);

/// One call of the RFQ parser chain, for model-risk monitoring: `gated` is the mode the call met
/// at its gate (a request already past it when the chain switched keeps the mode it ran in);
/// `None` for a parse made in the transaction, which reads the mode now.
fn record_parse(
    tx: &mut WriteTx<'_>,
    rfq_id: &str,
    text: &str,
    o: &ParseOutcome,
    ms: f64,
    gated: Option<crate::model_risk::ChainMode>,
) -> Result<()> {
    use crate::model_risk::{CallFeatures, RFQ_CHAIN};
    let mode = match gated {
        Some(m) => m,
        None => crate::model_risk::mode_of(tx.conn(), RFQ_CHAIN)?.0,
    };
    let features = CallFeatures::of_rfq(text, o);
    crate::model_risk::record_call(tx, &features.record(RFQ_CHAIN, Some(rfq_id), mode, ms))
}
