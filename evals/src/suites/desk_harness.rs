//! What the suites that drive the RFQ desk share (`redteam`, `bias`): actors, a chat message
//! addressed to the bot, and delivering the desk's replies as a chat connector would.

use crate::EvalError;
use assistant::Assistant;
use assistant::desk::{InboundMessage, MessageKind, OutboundMessage};
use assistant::store::Actor;
use policies::{Principal, Role};

/// A suite that could not run its desk.
pub(crate) fn run_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::Run(e.to_string())
}

/// A user of `role`.
pub(crate) fn user(name: &str, role: Role) -> Actor {
    Actor::user(
        &Principal {
            user: name.into(),
            role,
        },
        None,
    )
}

/// Message `event` of `sender` in `chat` (channel `tg`), addressed to `@desk_bot`.
pub(crate) fn message(
    chat: &str,
    event: String,
    n: u32,
    sender: &str,
    text: &str,
) -> InboundMessage {
    InboundMessage {
        channel: "tg".into(),
        event_id: event,
        chat_id: chat.into(),
        message_id: n.to_string(),
        sender: sender.into(),
        kind: MessageKind::Text,
        text: format!("@desk_bot {text}"),
        time: time::OffsetDateTime::now_utc(),
        addressed: true,
        bot_mention: Some("@desk_bot".into()),
        reply_url: None,
    }
}

/// Claims every reply due on channel `tg` and marks it sent; returns them.
pub(crate) fn deliver(a: &Assistant) -> Result<Vec<OutboundMessage>, EvalError> {
    let out = a.chat_claim("tg", 1000).map_err(run_err)?;
    for m in &out {
        a.chat_finish(
            m.id,
            assistant::desk::SendOutcome::Sent {
                message_id: Some(format!("bot-{}", m.id)),
            },
        )
        .map_err(run_err)?;
    }
    Ok(out)
}
