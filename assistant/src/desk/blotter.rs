//! The RFQ blotter: requests for quote with their quotes, and one request's full trail (the
//! client's messages, the desk's replies, each quote's pricing and limit checks, its approval
//! with every version, and the audit entries of all of them).
//!
//! Reads are audited like every read of important data (`rfq.list`, `rfq.read`).

use super::{ChatStatus, Direction, QuoteSummary, RfqStatus};
use crate::Assistant;
use crate::approvals::Approval;
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord, sql, time};
use policies::DataClass;
use policies::audit::AuditEntry;
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::{Value, json};

/// Filters for [`Assistant::rfq_list`].
#[derive(Debug, Clone, Default)]
pub struct RfqFilter {
    /// Only this client's.
    pub client: Option<String>,
    /// Only requests in this status.
    pub status: Option<RfqStatus>,
    /// Received at or after (RFC 3339).
    pub from: Option<String>,
    /// Received before (RFC 3339).
    pub to: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// A request for quote as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfqRow {
    /// Id (`rfq_…`).
    pub id: String,
    /// When it was received.
    pub received_at: String,
    /// The client.
    pub client_id: String,
    /// Channel, chat, message and sender it came from.
    pub channel: String,
    /// The chat.
    pub chat_id: String,
    /// The client's message id.
    pub message_id: String,
    /// The sender.
    pub sender: String,
    /// The message as parsed (without the bot's mention).
    pub text: String,
    /// The client's language (`zh`, `en`).
    pub language: String,
    /// Status.
    pub status: RfqStatus,
    /// The canonical parse.
    pub parse: Value,
    /// Parser confidence.
    pub confidence: f64,
    /// `rules` or `model`.
    pub path: String,
    /// What the parser noticed.
    pub problems: Value,
    /// The request whose clarifying question this one answered.
    pub follow_up_of: Option<String>,
    /// For each parsed request, the fields the local model supplied (the rules left them empty
    /// or read them differently); every other field came from the rules.
    pub model_fields: Vec<Vec<String>>,
    /// Its quotes.
    pub quotes: Vec<QuoteSummary>,
}

/// One quote in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuoteDetail {
    /// The summary.
    #[serde(flatten)]
    pub summary: QuoteSummary,
    /// Pricing, margin, Greeks, limit checks (the approval's first payload, or the error).
    pub detail: Value,
    /// The approval request with every version, if the quote went to the queue.
    pub approval: Option<Approval>,
    /// When it was sent.
    pub sent_at: Option<String>,
}

/// An archived chat message of a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatRecord {
    /// `in` or `out`.
    pub direction: Direction,
    /// The chat system's message id.
    pub message_id: Option<String>,
    /// The message replied to.
    pub reply_to: Option<String>,
    /// Sender (inbound).
    pub sender: Option<String>,
    /// Kind.
    pub kind: String,
    /// Text (as sent, for outbound).
    pub text: String,
    /// Inbound: the chat's time; outbound: when queued.
    pub time: String,
    /// Disposition (inbound) or delivery status (outbound).
    pub status: ChatStatus,
    /// Delivery attempts.
    pub attempts: i64,
    /// When sent.
    pub sent_at: Option<String>,
    /// Delivery error.
    pub error: Option<String>,
    /// The dedupe key (outbound) or event id (inbound).
    pub key: String,
}

/// A request for quote with its whole trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfqDetail {
    /// The request.
    #[serde(flatten)]
    pub rfq: RfqRow,
    /// Why pricing failed, if it did.
    pub error: Option<String>,
    /// Every quote in full.
    pub quote_details: Vec<QuoteDetail>,
    /// The client's messages and the desk's replies.
    pub messages: Vec<ChatRecord>,
    /// Every audit entry of the request, its quotes, approvals and messages, oldest first.
    pub audit: Vec<AuditEntry>,
}

const COLUMNS: &str = "id, received_at, client_id, channel, chat_id, message_id, sender, text,
    language, status, parse, confidence, path, problems, follow_up_of, error, model_fields";

fn rfq_row(r: &Row<'_>) -> rusqlite::Result<(RfqRow, Option<String>)> {
    Ok((
        RfqRow {
            id: r.get(0)?,
            received_at: r.get(1)?,
            client_id: r.get(2)?,
            channel: r.get(3)?,
            chat_id: r.get(4)?,
            message_id: r.get(5)?,
            sender: r.get(6)?,
            text: r.get(7)?,
            language: r.get(8)?,
            status: r.get(9)?,
            parse: sql::json(r, 10, "rfqs.parse")?,
            confidence: r.get(11)?,
            path: r.get(12)?,
            problems: sql::json(r, 13, "rfqs.problems")?,
            follow_up_of: r.get(14)?,
            model_fields: sql::json(r, 16, "rfqs.model_fields")?,
            quotes: Vec::new(),
        },
        r.get(15)?,
    ))
}

fn normalise_time(field: &str, t: &Option<String>) -> Result<Option<String>> {
    t.as_deref()
        .map(|s| {
            time::parse(s).map(time::fmt).ok_or_else(|| {
                AssistantError::Invalid(format!("{field} {s:?} is not an RFC 3339 time"))
            })
        })
        .transpose()
}

impl Assistant {
    /// Lists requests for quote, newest first, with their quotes.
    pub fn rfq_list(&self, actor: &Actor, f: &RfqFilter) -> Result<Vec<RfqRow>> {
        let limit = f.limit.unwrap_or(100).clamp(1, 1000);
        let from = normalise_time("from", &f.from)?;
        let to = normalise_time("to", &f.to)?;
        let rows: Vec<RfqRow> = self.store.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM rfqs
                 WHERE (?1 IS NULL OR client_id = ?1) AND (?2 IS NULL OR status = ?2)
                   AND (?3 IS NULL OR received_at >= ?3) AND (?4 IS NULL OR received_at < ?4)
                 ORDER BY received_at DESC LIMIT ?5"
            ))?;
            let rows = stmt
                .query_map(params![f.client, f.status, from, to, limit], rfq_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, AssistantError>(rows.into_iter().map(|(r, _)| r).collect())
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for mut r in rows {
            r.quotes = self.quote_summaries(&r.id)?;
            out.push(r);
        }
        if actor.role.is_some() && !out.is_empty() {
            self.store.write(actor, |tx| {
                tx.audit(AuditRecord {
                    action: "rfq.list",
                    object_kind: "rfq",
                    object_id: "*",
                    class: DataClass::IMPORTANT,
                    details: json!({"ids": out.iter().map(|r| &r.id).collect::<Vec<_>>()}),
                })
                .map(|_| ())
            })?;
        }
        Ok(out)
    }

    /// One request for quote with its whole trail.
    pub fn rfq_get(&self, actor: &Actor, id: &str) -> Result<RfqDetail> {
        let (mut rfq, error) = self
            .store
            .read(|c| {
                c.query_row(
                    &format!("SELECT {COLUMNS} FROM rfqs WHERE id = ?1"),
                    [id],
                    rfq_row,
                )
                .optional()
            })?
            .ok_or_else(|| AssistantError::NotFound {
                kind: "rfq",
                id: id.into(),
            })?;
        rfq.quotes = self.quote_summaries(id)?;
        let mut quote_details = Vec::new();
        for q in &rfq.quotes {
            let (detail, sent_at): (Value, Option<String>) = self.store.read(|c| {
                c.query_row(
                    "SELECT detail, sent_at FROM rfq_quotes WHERE id = ?1",
                    [&q.id],
                    |r| Ok((sql::json(r, 0, "rfq_quotes.detail")?, r.get(1)?)),
                )
            })?;
            let approval = match &q.approval_id {
                Some(a) => Some(self.get_approval(actor, a)?),
                None => None,
            };
            quote_details.push(QuoteDetail {
                summary: q.clone(),
                detail,
                approval,
                sent_at,
            });
        }
        let messages: Vec<(ChatRecord, String, String)> = self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT direction, message_id, reply_to, sender, kind, text, time, status,
                        attempts, sent_at, error, event_key, channel, chat_id
                 FROM chat_messages WHERE rfq_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([id], |r| {
                let (direction, status) = ChatStatus::read(r, 0, 7)?;
                Ok((
                    ChatRecord {
                        direction,
                        message_id: r.get(1)?,
                        reply_to: r.get(2)?,
                        sender: r.get(3)?,
                        kind: r.get(4)?,
                        text: r.get(5)?,
                        time: r.get(6)?,
                        status,
                        attempts: r.get(8)?,
                        sent_at: r.get(9)?,
                        error: r.get(10)?,
                        key: r.get(11)?,
                    },
                    r.get::<_, String>(12)?,
                    r.get::<_, String>(13)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let mut objects: Vec<(String, String)> = vec![("rfq".into(), id.to_string())];
        for q in &rfq.quotes {
            objects.push(("rfq_quote".into(), q.id.clone()));
            if let Some(a) = &q.approval_id {
                objects.push(("approval".into(), a.clone()));
            }
        }
        for (m, channel, chat) in &messages {
            if m.direction == Direction::In {
                // Entries name the message by channel, chat and event id (by channel and
                // event id before schema version 5).
                objects.push(("chat_message".into(), format!("{channel}:{chat}:{}", m.key)));
                objects.push(("chat_message".into(), format!("{channel}:{}", m.key)));
            } else {
                objects.push(("chat_message".into(), m.key.clone()));
            }
        }
        let audit = self
            .store
            .read(|c| crate::store::audit_of_objects(c, &objects, 5000))?;
        self.audit_read(actor, "rfq.read", "rfq", id, DataClass::IMPORTANT)?;
        Ok(RfqDetail {
            rfq,
            error,
            quote_details,
            messages: messages.into_iter().map(|(m, _, _)| m).collect(),
            audit,
        })
    }
}
