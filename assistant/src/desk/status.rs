//! The desk's statuses, each an enum stored as TEXT by its stable name (see
//! [`crate::store::sql`]): requests for quote, quotes, and the archived chat messages (an
//! inbound message's disposition, an outbound reply's delivery status).

use crate::store::sql::{InvalidStored, text_enum};
use serde::Serialize;

text_enum! {
    /// The status of a request for quote (`rfqs.status`).
    pub enum RfqStatus in "rfqs.status" as "rfq status" {
        /// Waiting for the client's answer to a clarifying question.
        Clarifying = "clarifying",
        /// A later message answered the question (see the follow-up request).
        Answered = "answered",
        /// Being priced.
        Pricing = "pricing",
        /// Priced: its quotes are in the queue (or blocked or failed, see each quote).
        Quoted = "quoted",
        /// Every quote was blocked by a limit.
        Blocked = "blocked",
        /// No quote could be priced.
        Failed = "failed",
        /// Held for a person: the message tried to instruct the bot or asked about others.
        Flagged = "flagged",
    }
}

text_enum! {
    /// The status of a quote (`rfq_quotes.status`).
    pub enum QuoteStatus in "rfq_quotes.status" as "quote status" {
        /// In the trader's queue.
        Pending = "pending",
        /// A limit blocked it.
        Blocked = "blocked",
        /// It could not be priced.
        Error = "error",
        /// Approved, waiting to be sent.
        Approved = "approved",
        /// Sent to the client.
        Sent = "sent",
        /// Rejected by the trader.
        Rejected = "rejected",
        /// Lapsed before approval or before sending.
        Expired = "expired",
        /// Replaced by another approval request.
        Superseded = "superseded",
        /// Sending failed for certain.
        SendFailed = "send_failed",
        /// Sending may or may not have happened (a crash or a broken connection): a person
        /// checks.
        Uncertain = "uncertain",
    }
}

text_enum! {
    /// Which way an archived chat message went (`chat_messages.direction`).
    pub enum Direction in "chat_messages.direction" as "direction" {
        /// From a chat to the desk.
        In = "in",
        /// From the desk to a chat (the outbox).
        Out = "out",
    }
}

text_enum! {
    /// What became of an inbound message (`chat_messages.status` where `direction = 'in'`).
    pub enum Disposition in "chat_messages.status" as "inbound disposition" {
        /// Archived, not yet routed (only inside the receiving transaction).
        Received = "received",
        /// Not addressed to the bot: archived only.
        NotAddressed = "not_addressed",
        /// A deletion: archived, silent.
        Deleted = "deleted",
        /// Over the chat's throttle.
        Throttled = "throttled",
        /// From a chat no client is mapped to.
        UnknownChat = "unknown_chat",
        /// A sticker: silent.
        Sticker = "sticker",
        /// An image or a file: "please send text".
        NotText = "not_text",
        /// An edited message: not re-quoted.
        Edited = "edited",
        /// A command or a bare mention: the help text.
        Help = "help",
        /// Over the parser's length limit.
        TooLong = "too_long",
        /// Held for a person (instructions to the bot, questions about other clients).
        Flagged = "flagged",
        /// Not a request for quote.
        NotRfq = "not_rfq",
        /// A request lacking terms: a clarifying question was asked.
        Clarify = "clarify",
        /// A complete request: it is being priced.
        Rfq = "rfq",
    }
}

text_enum! {
    /// Where an outbound reply stands (`chat_messages.status` where `direction = 'out'`).
    pub enum MessageStatus in "chat_messages.status" as "outbound status" {
        /// Waiting to be claimed (or to be retried).
        Pending = "pending",
        /// Claimed by a connector; its outcome is not recorded yet.
        Sending = "sending",
        /// Delivered.
        Sent = "sent",
        /// The channel refused it for good.
        Failed = "failed",
        /// It may or may not have been delivered (a crash, a broken connection).
        Uncertain = "uncertain",
        /// Dropped before sending (a quote that cannot be rendered).
        Cancelled = "cancelled",
        /// Past its validity when its turn came.
        Expired = "expired",
        /// Recorded only: channel `cli` has no chat to deliver to.
        Local = "local",
    }
}

/// The status column of an archived message: its disposition or its delivery status, by its
/// direction. In JSON, the stable name of either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum ChatStatus {
    /// An inbound message's disposition.
    In(Disposition),
    /// An outbound reply's delivery status.
    Out(MessageStatus),
}

impl ChatStatus {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatStatus::In(d) => d.as_str(),
            ChatStatus::Out(s) => s.as_str(),
        }
    }

    /// Reads the status in column `status` of a row whose direction is in column `direction`.
    pub fn read(
        row: &rusqlite::Row<'_>,
        direction: usize,
        status: usize,
    ) -> rusqlite::Result<(Direction, ChatStatus)> {
        let d: Direction = row.get(direction)?;
        let text: String = row.get(status)?;
        let s = match d {
            Direction::In => text.parse().map(ChatStatus::In),
            Direction::Out => text.parse().map(ChatStatus::Out),
        };
        s.map(|s| (d, s)).map_err(|e| {
            InvalidStored {
                column: "chat_messages.status",
                value: text.chars().take(200).collect(),
                reason: e.to_string(),
            }
            .at(status)
        })
    }
}

impl std::fmt::Display for ChatStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
