//! The outbox: decided approvals turned into replies, replies claimed for sending (quotes
//! rendered from the approved version, stale ones dropped), send outcomes recorded, and
//! recovery after a crash.

use super::payload::QuotePayload;
use super::{
    MessageStatus, Origin, OutboundMessage, QuoteStatus, Reply, SendOutcome, desk_actor,
    queue_reply, reply, set_quote_status,
};
use crate::Assistant;
use crate::error::{AssistantError, Result};
use crate::store::{AuditRecord, WriteTx, time};
use ::time::{Duration, OffsetDateTime};
use connectors::chat::ReplyUrl;
use policies::{ApprovalState, DataClass};
use rusqlite::{OptionalExtension, params};
use serde_json::json;

/// A quote with the chat it answers.
struct QuoteOrigin {
    status: QuoteStatus,
    approval_id: Option<String>,
    rfq_id: String,
    channel: String,
    chat_id: String,
    message_id: String,
    language: String,
    valid_until: Option<String>,
}

impl QuoteOrigin {
    fn load(tx: &WriteTx<'_>, qid: &str) -> Result<Option<QuoteOrigin>> {
        Ok(tx
            .conn()
            .query_row(
                "SELECT q.status, q.approval_id, q.rfq_id, r.channel, r.chat_id, r.message_id,
                        r.language, q.valid_until
                 FROM rfq_quotes q JOIN rfqs r ON r.id = q.rfq_id WHERE q.id = ?1",
                [qid],
                |r| {
                    Ok(QuoteOrigin {
                        status: r.get(0)?,
                        approval_id: r.get(1)?,
                        rfq_id: r.get(2)?,
                        channel: r.get(3)?,
                        chat_id: r.get(4)?,
                        message_id: r.get(5)?,
                        language: r.get(6)?,
                        valid_until: r.get(7)?,
                    })
                },
            )
            .optional()?)
    }

    fn origin(&self) -> Origin<'_> {
        Origin {
            channel: &self.channel,
            chat_id: &self.chat_id,
            message_id: &self.message_id,
        }
    }

    fn lang(&self) -> rfq::Language {
        reply::parse_language(&self.language)
    }
}

/// An outbox row due for sending.
struct Due {
    id: i64,
    key: String,
    chat_id: String,
    reply_to: Option<String>,
    kind: String,
    text: String,
    rfq_id: Option<String>,
    quote_id: Option<String>,
    not_after: Option<String>,
}

/// Reply URLs older than this are not offered (WeCom's `response_url` lives an hour).
const REPLY_URL_HOURS: i64 = 1;

/// The sender of the message a reply answers, and the chat's unspent reply URLs younger than
/// an hour: the replied-to message's first, then the newest first (at most 5).
fn reply_context(
    tx: &mut WriteTx<'_>,
    channel: &str,
    d: &Due,
    now: OffsetDateTime,
) -> Result<(Option<String>, Vec<ReplyUrl>)> {
    let sender: Option<String> = match &d.reply_to {
        Some(m) => tx
            .conn()
            .query_row(
                "SELECT sender FROM chat_messages WHERE channel = ?1 AND chat_id = ?2
                   AND direction = 'in' AND message_id = ?3 ORDER BY id LIMIT 1",
                params![channel, d.chat_id, m],
                |r| r.get(0),
            )
            .optional()?
            .flatten(),
        None => None,
    };
    let since = time::fmt(now - Duration::hours(REPLY_URL_HOURS));
    let mut stmt = tx.conn().prepare(
        "SELECT message_id, reply_url, received_at FROM chat_messages
         WHERE channel = ?1 AND chat_id = ?2 AND direction = 'in' AND reply_url IS NOT NULL
           AND reply_url_spent_at IS NULL AND received_at > ?3
         ORDER BY (message_id = ?4) DESC, id DESC LIMIT 5",
    )?;
    let urls = stmt
        .query_map(
            params![
                channel,
                d.chat_id,
                since,
                d.reply_to.as_deref().unwrap_or("")
            ],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter_map(|(m, url, at)| {
            Some(ReplyUrl {
                message_id: m?,
                url,
                received_at: time::parse(&at)?,
            })
        })
        .collect();
    Ok((sender, urls))
}

/// An outbox row being sent.
struct Sending {
    key: String,
    channel: String,
    chat_id: String,
    reply_to: Option<String>,
    kind: String,
    text: String,
    quote_id: Option<String>,
    attempts: i64,
    status: MessageStatus,
}

const INTERRUPTED: &str = "interrupted while sending (restart)";

impl Assistant {
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
        self.store.write(&desk_actor(), |tx| {
            let mut n = 0;
            for qid in &due {
                if self.sync_quote(tx, qid)? {
                    n += 1;
                }
            }
            Ok::<_, AssistantError>(n)
        })
    }

    /// Moves one pending quote along its approval's decision; whether it changed.
    fn sync_quote(&self, tx: &mut WriteTx<'_>, qid: &str) -> Result<bool> {
        let Some(q) = QuoteOrigin::load(tx, qid)? else {
            return Ok(false);
        };
        if q.status != QuoteStatus::Pending {
            return Ok(false);
        }
        let Some(approval_id) = &q.approval_id else {
            return Ok(false);
        };
        let Some(a) = crate::approvals::load_approval(tx.conn(), approval_id)? else {
            return Ok(false);
        };
        let lang = q.lang();
        let (status, reply) = match a.state {
            ApprovalState::Pending => return Ok(false),
            // A quote's text is rendered when it is claimed for sending.
            ApprovalState::Approved => (QuoteStatus::Approved, Some(("quote", String::new()))),
            ApprovalState::Rejected => (
                QuoteStatus::Rejected,
                Some(("rejected", reply::rejected(lang))),
            ),
            ApprovalState::Expired => (
                QuoteStatus::Expired,
                Some(("expired", reply::expired(lang))),
            ),
            ApprovalState::Superseded => (QuoteStatus::Superseded, None),
        };
        set_quote_status(
            tx,
            qid,
            status,
            json!({"approval": approval_id, "decided_by": a.decided_by, "reason": a.reason}),
        )?;
        if let Some((what, text)) = reply {
            let quote = what == "quote";
            queue_reply(
                tx,
                &q.origin(),
                Reply {
                    kind: if quote { "quote" } else { "notice" },
                    key: format!("{what}:{qid}"),
                    text,
                    rfq_id: Some(q.rfq_id.clone()),
                    quote_id: Some(qid.to_string()),
                    not_after: if quote {
                        q.valid_until.as_deref().and_then(time::parse)
                    } else {
                        None
                    },
                },
            )?;
        }
        Ok(true)
    }

    /// Claims up to `limit` due replies of `channel` for sending (see the module doc).
    pub fn chat_claim(&self, channel: &str, limit: usize) -> Result<Vec<OutboundMessage>> {
        self.rfq_sync()?;
        let now = time::now();
        self.store.write(&desk_actor(), |tx| {
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
        let rows: Vec<Due> = {
            let mut stmt = tx.conn().prepare(
                "SELECT id, event_key, chat_id, reply_to, kind, text, rfq_id, quote_id, not_after
                 FROM chat_messages
                 WHERE direction = 'out' AND status = 'pending' AND channel = ?1
                   AND (next_attempt_at IS NULL OR next_attempt_at <= ?2)
                 ORDER BY id LIMIT ?3",
            )?;
            stmt.query_map(params![channel, time::fmt(now), limit as i64], |r| {
                Ok(Due {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    chat_id: r.get(2)?,
                    reply_to: r.get(3)?,
                    kind: r.get(4)?,
                    text: r.get(5)?,
                    rfq_id: r.get(6)?,
                    quote_id: r.get(7)?,
                    not_after: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut dropped = 0;
        for mut d in rows {
            if d.kind == "quote" {
                match self.render_quote(tx, d.quote_id.as_deref().unwrap_or(""), now)? {
                    Ok(t) => d.text = t,
                    Err(why) => {
                        let status = if why.expired {
                            MessageStatus::Expired
                        } else {
                            MessageStatus::Cancelled
                        };
                        tx.conn().execute(
                            "UPDATE chat_messages SET status = ?1, error = ?2 WHERE id = ?3",
                            params![status, why.message, d.id],
                        )?;
                        tx.audit(AuditRecord {
                            action: "chat.outbound.drop",
                            object_kind: "chat_message",
                            object_id: &d.key,
                            class: DataClass::IMPORTANT,
                            details: json!({"reason": why.message, "quote_id": d.quote_id}),
                        })?;
                        if let Some(q) = &d.quote_id {
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
                params![d.text, d.text.chars().count() as i64, d.id],
            )?;
            let (reply_sender, reply_urls) = reply_context(tx, channel, &d, now)?;
            out.push(OutboundMessage {
                id: d.id,
                dedupe_key: d.key,
                channel: channel.to_string(),
                chat_id: d.chat_id,
                reply_to: d.reply_to,
                text: d.text,
                kind: d.kind,
                rfq_id: d.rfq_id,
                quote_id: d.quote_id,
                not_after: d.not_after.as_deref().and_then(time::parse),
                reply_sender,
                reply_urls,
            });
        }
        Ok(dropped)
    }

    /// A quote that can no longer be sent: marked, and the client told so (it lapsed, or it
    /// could not be rendered and a trader will be in touch).
    fn quote_lapsed(
        &self,
        tx: &mut WriteTx<'_>,
        qid: &str,
        expired: bool,
        why: &str,
    ) -> Result<()> {
        if !expired {
            self.quote_send_failed(tx, qid, why)?;
        } else {
            set_quote_status(tx, qid, QuoteStatus::Expired, json!({"reason": why}))?;
        }
        if let Some(q) = QuoteOrigin::load(tx, qid)? {
            let (key, text) = if expired {
                (format!("expired:{qid}"), reply::expired(q.lang()))
            } else {
                (format!("unsent:{qid}"), reply::rejected(q.lang()))
            };
            queue_reply(
                tx,
                &q.origin(),
                Reply {
                    kind: "notice",
                    key,
                    text,
                    rfq_id: Some(q.rfq_id.clone()),
                    quote_id: Some(qid.to_string()),
                    not_after: None,
                },
            )?;
        }
        Ok(())
    }

    /// An approved quote that could not be sent, for certain: marked `send_failed`, and the
    /// trader told through the audit log (`quote.send_failed`, with the reason) and the
    /// server's log; the blotter and the approval show the status and the reason.
    fn quote_send_failed(&self, tx: &mut WriteTx<'_>, qid: &str, why: &str) -> Result<()> {
        set_quote_status(tx, qid, QuoteStatus::SendFailed, json!({"reason": why}))?;
        let q = QuoteOrigin::load(tx, qid)?;
        let (rfq_id, approval_id) = match &q {
            Some(q) => (Some(q.rfq_id.as_str()), q.approval_id.as_deref()),
            None => (None, None),
        };
        tracing::warn!(
            target: "deskmate::desk",
            quote = qid, rfq = rfq_id, approval = approval_id, reason = why,
            "an approved quote could not be sent"
        );
        tx.audit(AuditRecord {
            action: "quote.send_failed",
            object_kind: "rfq_quote",
            object_id: qid,
            class: DataClass::IMPORTANT,
            details: json!({"rfq_id": rfq_id, "approval_id": approval_id, "reason": why}),
        })?;
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
        let bad = |m: String| {
            Ok(Err(Undeliverable {
                expired: false,
                message: m,
            }))
        };
        let Some(q) = QuoteOrigin::load(tx, qid)? else {
            return bad(format!("quote {qid} is missing"));
        };
        let (Some(approval_id), Some(valid_until)) = (&q.approval_id, &q.valid_until) else {
            return bad(format!("quote {qid} has no approval"));
        };
        let Some(valid_until) = time::parse(valid_until) else {
            return bad(format!("quote {qid} has a malformed validity"));
        };
        if now >= valid_until {
            return Ok(Err(Undeliverable {
                expired: true,
                message: format!("quote {qid} lapsed at {}", time::fmt(valid_until)),
            }));
        }
        if q.status != QuoteStatus::Approved {
            return bad(format!("quote {qid} is {}, not approved", q.status));
        }
        let Some(a) = crate::approvals::load_approval(tx.conn(), approval_id)? else {
            return bad(format!("approval {approval_id} is missing"));
        };
        if a.state != ApprovalState::Approved {
            return bad(format!("approval {approval_id} is {}", a.state));
        }
        // The payload was checked when it was written; it is checked again because one stored
        // by an earlier version may not pass, and such a quote is not sent.
        let text = QuotePayload::parse(&a.payload, None)
            .map_err(|e| e.to_string())
            .and_then(|p| p.reply(valid_until, self.desk.offset));
        match text {
            Ok(t) => Ok(Ok(t)),
            Err(e) => bad(format!("the approved quote payload does not check: {e}")),
        }
    }

    /// Records how a claimed reply's send went.
    pub fn chat_finish(&self, id: i64, outcome: SendOutcome) -> Result<()> {
        let cfg = &self.config.rfq;
        self.store.write(&desk_actor(), |tx| {
            let m = tx
                .conn()
                .query_row(
                    "SELECT event_key, channel, chat_id, reply_to, kind, text, quote_id,
                            attempts, status
                     FROM chat_messages WHERE id = ?1 AND direction = 'out'",
                    [id],
                    |r| {
                        Ok(Sending {
                            key: r.get(0)?,
                            channel: r.get(1)?,
                            chat_id: r.get(2)?,
                            reply_to: r.get(3)?,
                            kind: r.get(4)?,
                            text: r.get(5)?,
                            quote_id: r.get(6)?,
                            attempts: r.get(7)?,
                            status: r.get(8)?,
                        })
                    },
                )
                .optional()?
                .ok_or_else(|| AssistantError::NotFound {
                    kind: "outbound message",
                    id: id.to_string(),
                })?;
            if m.status != MessageStatus::Sending {
                return Err(AssistantError::Conflict(format!(
                    "outbound message {id} is {}, not sending",
                    m.status
                )));
            }
            let now = time::now();
            let retries_left = m.attempts < i64::from(cfg.send_max_attempts);
            let fail = "chat.outbound.fail";
            let (status, action, message_id, error, retry_at) = match &outcome {
                SendOutcome::Sent { message_id } => (
                    MessageStatus::Sent,
                    "chat.outbound.sent",
                    message_id.clone(),
                    None,
                    None,
                ),
                SendOutcome::Failed { error, retry } if *retry && retries_left => {
                    let factor = 1u64 << (m.attempts - 1).clamp(0, 16);
                    let backoff = cfg.send_retry_ms.saturating_mul(factor).min(60_000);
                    let at = now + Duration::milliseconds(backoff as i64);
                    let retry = "chat.outbound.retry";
                    (
                        MessageStatus::Pending,
                        retry,
                        None,
                        Some(error.clone()),
                        Some(at),
                    )
                }
                SendOutcome::Failed { error, .. } => {
                    (MessageStatus::Failed, fail, None, Some(error.clone()), None)
                }
                SendOutcome::Uncertain { error } => (
                    MessageStatus::Uncertain,
                    fail,
                    None,
                    Some(error.clone()),
                    None,
                ),
                SendOutcome::Stale => {
                    let stale = Some(STALE.to_string());
                    (MessageStatus::Expired, fail, None, stale, None)
                }
            };
            tx.conn().execute(
                "UPDATE chat_messages SET status = ?1, message_id = COALESCE(?2, message_id),
                    error = ?3, next_attempt_at = ?4, sent_at = ?5 WHERE id = ?6",
                params![
                    status,
                    message_id,
                    error,
                    retry_at.map(time::fmt),
                    (status == MessageStatus::Sent).then(|| time::fmt(now)),
                    id
                ],
            )?;
            tx.audit(AuditRecord {
                action,
                object_kind: "chat_message",
                object_id: &m.key,
                class: DataClass::IMPORTANT,
                details: json!({
                    "channel": m.channel, "chat_id": m.chat_id, "reply_to": m.reply_to,
                    "message_id": message_id, "kind": m.kind, "text": m.text,
                    "status": status, "error": error, "attempt": m.attempts,
                }),
            })?;
            let Some(q) = m.quote_id.filter(|_| m.kind == "quote") else {
                return Ok(());
            };
            match status {
                MessageStatus::Sent => {
                    set_quote_status(tx, &q, QuoteStatus::Sent, json!({"message_id": message_id}))
                }
                MessageStatus::Failed => {
                    let why = error
                        .as_deref()
                        .unwrap_or("the channel refused the message");
                    self.quote_send_failed(tx, &q, why)
                }
                MessageStatus::Uncertain => {
                    set_quote_status(tx, &q, QuoteStatus::Uncertain, json!({"error": error}))
                }
                MessageStatus::Expired => self.quote_lapsed(tx, &q, true, STALE),
                // A retry leaves the quote approved.
                MessageStatus::Pending
                | MessageStatus::Sending
                | MessageStatus::Cancelled
                | MessageStatus::Local => Ok(()),
            }
        })
    }

    /// At a connector's start: replies of `channel` left `sending` by a crash become
    /// `uncertain` (never sent twice), and the requests of `channel` whose pricing was
    /// interrupted are returned to be priced.
    pub fn chat_recover(&self, channel: &str) -> Result<Vec<String>> {
        self.store.write(&desk_actor(), |tx| {
            let stuck: Vec<(i64, String, String, Option<String>)> = {
                let mut stmt = tx.conn().prepare(
                    "SELECT id, event_key, kind, quote_id FROM chat_messages
                     WHERE direction = 'out' AND status = 'sending' AND channel = ?1",
                )?;
                stmt.query_map([channel], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?
            };
            for (id, key, kind, quote_id) in stuck {
                tx.conn().execute(
                    "UPDATE chat_messages SET status = 'uncertain', error = ?1 WHERE id = ?2",
                    params![INTERRUPTED, id],
                )?;
                tx.audit(AuditRecord {
                    action: "chat.outbound.uncertain",
                    object_kind: "chat_message",
                    object_id: &key,
                    class: DataClass::IMPORTANT,
                    details: json!({"channel": channel, "reason": INTERRUPTED}),
                })?;
                if let Some(q) = quote_id.filter(|_| kind == "quote") {
                    let note = json!({"reason": INTERRUPTED});
                    set_quote_status(tx, &q, QuoteStatus::Uncertain, note)?;
                }
            }
            let mut stmt = tx.conn().prepare(
                "SELECT id FROM rfqs WHERE status = 'pricing' AND channel = ?1
                 ORDER BY received_at",
            )?;
            let ids = stmt
                .query_map([channel], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
    }

    /// Marks the reply URL of inbound message `message_id` spent (it takes one message).
    pub fn chat_spend_reply_url(
        &self,
        channel: &str,
        chat_id: &str,
        message_id: &str,
    ) -> Result<()> {
        let now = time::fmt(time::now());
        self.store.write(&desk_actor(), |tx| {
            tx.conn().execute(
                "UPDATE chat_messages SET reply_url_spent_at = ?4 WHERE channel = ?1
                   AND chat_id = ?2 AND direction = 'in' AND message_id = ?3
                   AND reply_url_spent_at IS NULL",
                params![channel, chat_id, message_id, now],
            )?;
            Ok::<_, AssistantError>(())
        })
    }

    /// Audits a chat callback refused before it reached the desk (`chat.callback_refused`:
    /// a wrong signature on a WeCom callback).
    pub fn chat_audit_refusal(&self, channel: &str, reason: &str) -> Result<()> {
        self.store.write(&desk_actor(), |tx| {
            tx.audit(AuditRecord {
                action: "chat.callback_refused",
                object_kind: "chat_channel",
                object_id: channel,
                class: DataClass::IMPORTANT,
                details: json!({"reason": super::cap(reason, 500)}),
            })?;
            Ok::<_, AssistantError>(())
        })
    }
}

const STALE: &str = "past its validity when its turn came";

/// Why an approved quote cannot be sent.
#[derive(Debug, Clone, PartialEq)]
struct Undeliverable {
    expired: bool,
    message: String,
}
