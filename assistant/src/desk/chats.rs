//! Which chat belongs to which client: set by administrators, audited, read on every message.
//!
//! A chat without a mapping gets no quote: its messages are archived and answered with a polite
//! refusal or not at all (`rfq.unknown_chats`). The client id is the key of `[limits.clients]`,
//! whose entry decides what the client may trade.

use crate::Assistant;
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord, time};
use policies::DataClass;
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::json;

/// A chat → client mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMapping {
    /// Id (`chat_…`).
    pub id: String,
    /// The channel (`telegram`, a webhook channel).
    pub channel: String,
    /// The chat's id in that channel.
    pub chat_id: String,
    /// The client (a key of `[limits.clients]`).
    pub client_id: String,
    /// A note for people (the group's name).
    pub label: Option<String>,
    /// When set.
    pub created_at: String,
    /// Who set it.
    pub created_by: String,
    /// Whether `[limits.clients]` has an entry for the client (without one, every quote is
    /// refused).
    pub client_configured: bool,
}

fn row(r: &Row<'_>) -> rusqlite::Result<ChatMapping> {
    Ok(ChatMapping {
        id: r.get(0)?,
        channel: r.get(1)?,
        chat_id: r.get(2)?,
        client_id: r.get(3)?,
        label: r.get(4)?,
        created_at: r.get(5)?,
        created_by: r.get(6)?,
        client_configured: false,
    })
}

const COLUMNS: &str = "id, channel, chat_id, client_id, label, created_at, created_by";

fn valid(field: &str, v: &str, max: usize) -> Result<()> {
    if v.trim().is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(AssistantError::Invalid(format!(
            "{field} must be 1-{max} characters without control characters"
        )));
    }
    Ok(())
}

impl Assistant {
    fn configured(&self, mut m: ChatMapping) -> ChatMapping {
        m.client_configured = self.config.limits.clients.contains_key(&m.client_id);
        m
    }

    /// Maps a chat to a client (replacing an earlier mapping of the chat).
    pub fn rfq_chat_set(
        &self,
        actor: &Actor,
        channel: &str,
        chat_id: &str,
        client_id: &str,
        label: Option<&str>,
    ) -> Result<ChatMapping> {
        valid("channel", channel, 64)?;
        valid("chat_id", chat_id, 128)?;
        valid("client_id", client_id, 64)?;
        if let Some(l) = label {
            valid("label", l, 200)?;
        }
        let id = format!("chat_{}", uuid::Uuid::new_v4().simple());
        let now = time::fmt(time::now());
        let m = self.store.write(actor, |tx| {
            let before: Option<String> = tx
                .conn()
                .query_row(
                    "SELECT client_id FROM rfq_chats WHERE channel = ?1 AND chat_id = ?2",
                    params![channel, chat_id],
                    |r| r.get(0),
                )
                .optional()?;
            tx.conn().execute(
                "INSERT INTO rfq_chats (id, channel, chat_id, client_id, label, created_at,
                    created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (channel, chat_id) DO UPDATE SET client_id = excluded.client_id,
                    label = excluded.label, created_at = excluded.created_at,
                    created_by = excluded.created_by",
                params![id, channel, chat_id, client_id, label, now, actor.user],
            )?;
            let m = tx.conn().query_row(
                &format!("SELECT {COLUMNS} FROM rfq_chats WHERE channel = ?1 AND chat_id = ?2"),
                params![channel, chat_id],
                row,
            )?;
            tx.audit(AuditRecord {
                action: "rfq.chat.set",
                object_kind: "rfq_chat",
                object_id: &m.id,
                class: DataClass::IMPORTANT,
                details: json!({
                    "channel": channel, "chat_id": chat_id, "client_id": client_id,
                    "label": label, "previous_client_id": before,
                }),
            })?;
            Ok::<_, AssistantError>(m)
        })?;
        Ok(self.configured(m))
    }

    /// Moves chat `from` of `channel` to its new id `to` (Telegram's group → supergroup
    /// upgrade gives a group a new chat id): the client mapping and the outbound messages not
    /// yet sent follow it, audited as `rfq.chat.migrate`. Returns whether anything moved; a
    /// chat already moved (the service message and a failed send both report it) is left
    /// alone. When `to` already has a mapping of its own, that one is kept and the old one
    /// removed.
    pub fn rfq_chat_migrate(
        &self,
        actor: &Actor,
        channel: &str,
        from: &str,
        to: &str,
    ) -> Result<bool> {
        valid("channel", channel, 64)?;
        valid("chat_id", from, 128)?;
        valid("chat_id", to, 128)?;
        if from == to {
            return Ok(false);
        }
        self.store.write(actor, |tx| {
            let old: Option<String> = tx
                .conn()
                .query_row(
                    "SELECT client_id FROM rfq_chats WHERE channel = ?1 AND chat_id = ?2",
                    params![channel, from],
                    |r| r.get(0),
                )
                .optional()?;
            let new: Option<String> = tx
                .conn()
                .query_row(
                    "SELECT client_id FROM rfq_chats WHERE channel = ?1 AND chat_id = ?2",
                    params![channel, to],
                    |r| r.get(0),
                )
                .optional()?;
            match (&old, &new) {
                (Some(_), None) => {
                    tx.conn().execute(
                        "UPDATE rfq_chats SET chat_id = ?3 WHERE channel = ?1 AND chat_id = ?2",
                        params![channel, from, to],
                    )?;
                }
                (Some(_), Some(_)) => {
                    tx.conn().execute(
                        "DELETE FROM rfq_chats WHERE channel = ?1 AND chat_id = ?2",
                        params![channel, from],
                    )?;
                }
                _ => {}
            }
            // A reply already queued under the new id (the same dedupe key) stays behind.
            let moved = tx.conn().execute(
                "UPDATE chat_messages SET chat_id = ?3
                 WHERE channel = ?1 AND chat_id = ?2 AND direction = 'out'
                   AND status IN ('pending', 'sending')
                   AND event_key NOT IN (SELECT event_key FROM chat_messages
                                         WHERE channel = ?1 AND chat_id = ?3
                                           AND direction = 'out')",
                params![channel, from, to],
            )?;
            if old.is_none() && moved == 0 {
                return Ok(false);
            }
            tx.audit(AuditRecord {
                action: "rfq.chat.migrate",
                object_kind: "rfq_chat",
                object_id: to,
                class: DataClass::IMPORTANT,
                details: json!({
                    "channel": channel, "from_chat_id": from, "to_chat_id": to,
                    "client_id": new.as_ref().or(old.as_ref()),
                    "previous_client_id": old, "messages_moved": moved,
                }),
            })?;
            Ok::<_, AssistantError>(true)
        })
    }

    /// Every chat mapping.
    pub fn rfq_chats(&self) -> Result<Vec<ChatMapping>> {
        let rows = self.store.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM rfq_chats ORDER BY channel, chat_id"
            ))?;
            let rows = stmt.query_map([], row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows.into_iter().map(|m| self.configured(m)).collect())
    }

    /// Removes a mapping by its id.
    pub fn rfq_chat_remove(&self, actor: &Actor, id: &str) -> Result<()> {
        self.store.write(actor, |tx| {
            let m = tx
                .conn()
                .query_row(
                    &format!("SELECT {COLUMNS} FROM rfq_chats WHERE id = ?1"),
                    [id],
                    row,
                )
                .optional()?
                .ok_or_else(|| AssistantError::NotFound {
                    kind: "chat mapping",
                    id: id.into(),
                })?;
            tx.conn().execute("DELETE FROM rfq_chats WHERE id = ?1", [id])?;
            tx.audit(AuditRecord {
                action: "rfq.chat.remove",
                object_kind: "rfq_chat",
                object_id: id,
                class: DataClass::IMPORTANT,
                details: json!({"channel": m.channel, "chat_id": m.chat_id, "client_id": m.client_id}),
            })?;
            Ok(())
        })
    }

    /// Chats that wrote to the desk in the last 30 days and have no client mapping now, the
    /// most recent first (the Admin page's alert; the WeCom robot also messages admins).
    pub fn rfq_unmapped_chats(&self) -> Result<Vec<UnmappedChat>> {
        let since = time::fmt(time::now() - ::time::Duration::days(30));
        Ok(self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT m.channel, m.chat_id, COUNT(*), MAX(m.received_at), MAX(m.id)
                 FROM chat_messages m
                 WHERE m.direction = 'in' AND m.status = 'unknown_chat' AND m.received_at > ?1
                   AND NOT EXISTS (SELECT 1 FROM rfq_chats WHERE rfq_chats.channel = m.channel
                                   AND rfq_chats.chat_id = m.chat_id)
                 GROUP BY m.channel, m.chat_id ORDER BY 4 DESC LIMIT 50",
            )?;
            let rows = stmt
                .query_map([since], |r| {
                    Ok((
                        UnmappedChat {
                            channel: r.get(0)?,
                            chat_id: r.get(1)?,
                            messages: r.get(2)?,
                            last_seen: r.get(3)?,
                            last_sender: None,
                        },
                        r.get::<_, i64>(4)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (mut u, last) in rows {
                u.last_sender = c
                    .query_row(
                        "SELECT m.sender FROM chat_messages m WHERE m.id = ?1",
                        [last],
                        |r| r.get(0),
                    )
                    .optional()?
                    .flatten();
                out.push(u);
            }
            Ok::<_, rusqlite::Error>(out)
        })?)
    }
}

/// A chat that wrote to the desk without a client mapping.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UnmappedChat {
    /// The channel.
    pub channel: String,
    /// The chat's id.
    pub chat_id: String,
    /// Its messages refused for want of a mapping (last 30 days).
    pub messages: i64,
    /// When the last one arrived.
    pub last_seen: String,
    /// Who sent the last one.
    pub last_sender: Option<String>,
}
