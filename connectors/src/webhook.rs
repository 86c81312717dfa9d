//! The outbound half of the JSON webhook adapter: the desk's replies for webhook channels
//! (WeCom, DingTalk, an in-house chat) POSTed to the adapter's callback URL.
//!
//! The inbound half is the HTTP route `POST /v1/chat/inbound` in `web`. Together they let any
//! chat system reach the desk without touching its core: the adapter turns its platform's
//! events into that JSON and posts replies it receives back into the chat.
//!
//! Each reply is one `POST {callback_url}` with `Content-Type: application/json`, the header
//! `Idempotency-Key: <key>` (the same key on every retry of the same reply), and
//! `Authorization: Bearer <secret>` when a secret is configured. The body ([`Callback`]):
//!
//! ```json
//! {"key": "quote:q_…", "channel": "wecom", "chat_id": "room-1", "reply_to_message_id": "m-42",
//!  "kind": "quote", "text": "【机器生成·仅供参考】…", "rfq_id": "rfq_…", "quote_id": "q_…"}
//! ```
//!
//! A 2xx answer means delivered; its JSON body may carry `{"message_id": "…"}`, kept in the
//! archive. 408, 429, 5xx and connection failures are retried with exponential backoff by the
//! desk's outbox (up to `webhook.max_attempts`); other 4xx answers are final failures. Because a
//! retry may repeat a delivery whose answer was lost, receivers must drop repeated keys.

use crate::chat::{ChatSender, OutboundMessage, SendOutcome};
use serde::Serialize;
use std::time::Duration;

/// The JSON body POSTed for one reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Callback<'a> {
    /// The idempotency key (also in the `Idempotency-Key` header).
    pub key: &'a str,
    /// The channel name.
    pub channel: &'a str,
    /// The chat to post in.
    pub chat_id: &'a str,
    /// The client's message to reply to.
    pub reply_to_message_id: Option<&'a str>,
    /// `ack`, `clarify`, `quote`, `refusal`, `help` or `notice`.
    pub kind: &'a str,
    /// The text to post.
    pub text: &'a str,
    /// The request for quote.
    pub rfq_id: Option<&'a str>,
    /// The quote.
    pub quote_id: Option<&'a str>,
}

/// Where and how replies are delivered.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The adapter's callback URL.
    pub callback_url: url::Url,
    /// Sent as `Authorization: Bearer <secret>` when not empty.
    pub secret: String,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// Why the sender could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook HTTP client: {0}")]
pub struct WebhookError(#[from] reqwest::Error);

/// Posts replies to the callback URL.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    settings: WebhookSettings,
}

impl WebhookSender {
    /// A sender for `settings`.
    pub fn new(settings: WebhookSettings) -> Result<WebhookSender, WebhookError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()?;
        Ok(WebhookSender { client, settings })
    }
}

#[derive(serde::Deserialize)]
struct Answer {
    message_id: Option<serde_json::Value>,
}

impl ChatSender for WebhookSender {
    async fn send(&self, msg: &OutboundMessage) -> SendOutcome {
        let body = Callback {
            key: &msg.dedupe_key,
            channel: &msg.channel,
            chat_id: &msg.chat_id,
            reply_to_message_id: msg.reply_to.as_deref(),
            kind: &msg.kind,
            text: &msg.text,
            rfq_id: msg.rfq_id.as_deref(),
            quote_id: msg.quote_id.as_deref(),
        };
        let mut req = self
            .client
            .post(self.settings.callback_url.clone())
            .header("Idempotency-Key", &msg.dedupe_key)
            .json(&body);
        if !self.settings.secret.is_empty() {
            req = req.bearer_auth(&self.settings.secret);
        }
        match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                if status.is_success() {
                    let message_id = resp
                        .json::<Answer>()
                        .await
                        .ok()
                        .and_then(|a| a.message_id)
                        .map(|v| match v {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        });
                    SendOutcome::Sent { message_id }
                } else {
                    let retry = status.as_u16() == 408
                        || status.as_u16() == 429
                        || status.is_server_error();
                    SendOutcome::Failed {
                        error: format!("callback answered {status}"),
                        retry,
                    }
                }
            }
            // Receivers drop repeated keys, so even a perhaps-delivered reply is retried.
            Err(e) => SendOutcome::Failed {
                error: format!("callback request failed: {e}"),
                retry: true,
            },
        }
    }
}
