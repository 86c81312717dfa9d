//! The `connectors` crate: Deskmate's connections to the outside world. See ARCHITECTURE.md.
//!
//! # Chat (the RFQ desk's channels)
//!
//! * [`chat`]: the chat-side types ([`chat::InboundMessage`], [`chat::OutboundMessage`],
//!   [`chat::SendOutcome`]) and the [`chat::ChatDesk`] trait that `assistant` implements, plus
//!   the outbox loop every connector shares ([`chat::run_outbound`]). Connectors never see the
//!   desk's types; the binary wires the two.
//! * [`telegram`]: the Telegram bot (teloxide, rustls): long polling, @-mentions in groups,
//!   replies to the client's message, at-most-once sends.
//! * [`webhook`]: the outbound half of the JSON webhook adapter (replies POSTed to a callback
//!   URL with an idempotency key, retried); the inbound half is `POST /v1/chat/inbound` in `web`.
//!
//! Rule: `connectors` depends only on `policies`.

pub mod chat;
pub mod telegram;
pub mod webhook;
