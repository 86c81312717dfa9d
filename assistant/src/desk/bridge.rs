//! The desk behind `connectors`' [`ChatDesk`] trait, for the Telegram bot, the WeCom robot and the webhook.

use super::{InboundMessage, OutboundMessage, SendOutcome, desk_actor};
use crate::Assistant;
use crate::error::AssistantError;
use connectors::chat::{ChatDesk, DeskError, Receipt, WorkTicket};
use std::sync::Arc;

/// The desk as a chat connector sees it.
#[derive(Clone)]
pub struct DeskBridge {
    assistant: Arc<Assistant>,
}

impl std::fmt::Debug for DeskBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeskBridge").finish_non_exhaustive()
    }
}

impl DeskBridge {
    /// A bridge over `assistant`.
    pub fn new(assistant: Arc<Assistant>) -> DeskBridge {
        DeskBridge { assistant }
    }
}

/// Sorts a workflow error into the sender's fault or ours.
pub fn desk_error(e: AssistantError) -> DeskError {
    match e {
        AssistantError::Invalid(m) => DeskError::invalid(m),
        AssistantError::NotFound { .. }
        | AssistantError::InvalidField { .. }
        | AssistantError::Conflict(_)
        | AssistantError::Forbidden(_)
        | AssistantError::Denied(_)
        | AssistantError::SignIn(_) => DeskError::invalid(e.to_string()),
        AssistantError::Store(_) => DeskError::internal(e.to_string()),
        AssistantError::Model(_) => DeskError::internal(e.to_string()),
        AssistantError::Knowledge(_)
        | AssistantError::Extraction(_)
        | AssistantError::Cdm(_)
        | AssistantError::Connector(_) => DeskError::internal(e.to_string()),
        AssistantError::Pricing(ref p) if p.is_input_error() => DeskError::invalid(e.to_string()),
        AssistantError::Pricing(_) => DeskError::internal(e.to_string()),
    }
}

impl ChatDesk for DeskBridge {
    fn receive(&self, msg: InboundMessage) -> Result<Receipt, DeskError> {
        let r = self
            .assistant
            .chat_receive(&desk_actor(), msg)
            .map_err(desk_error)?;
        Ok(Receipt {
            new: r.new,
            disposition: r.disposition.to_string(),
            work: r
                .needs_pricing
                .then(|| r.rfq_id.clone())
                .flatten()
                .map(|rfq_id| WorkTicket { rfq_id }),
            rfq_id: r.rfq_id,
        })
    }

    fn work(&self, ticket: &WorkTicket) -> Result<(), DeskError> {
        self.assistant
            .rfq_price(&ticket.rfq_id)
            .map(|_| ())
            .map_err(desk_error)
    }

    fn claim_outbound(
        &self,
        channel: &str,
        limit: usize,
    ) -> Result<Vec<OutboundMessage>, DeskError> {
        self.assistant
            .chat_claim(channel, limit)
            .map_err(desk_error)
    }

    fn finish_outbound(&self, id: i64, outcome: SendOutcome) -> Result<(), DeskError> {
        self.assistant.chat_finish(id, outcome).map_err(desk_error)
    }

    fn recover(&self, channel: &str) -> Result<Vec<WorkTicket>, DeskError> {
        Ok(self
            .assistant
            .chat_recover(channel)
            .map_err(desk_error)?
            .into_iter()
            .map(|rfq_id| WorkTicket { rfq_id })
            .collect())
    }

    fn spend_reply_url(
        &self,
        channel: &str,
        chat_id: &str,
        message_id: &str,
    ) -> Result<(), DeskError> {
        self.assistant
            .chat_spend_reply_url(channel, chat_id, message_id)
            .map_err(desk_error)
    }

    fn audit_refusal(&self, channel: &str, reason: &str) -> Result<(), DeskError> {
        self.assistant
            .chat_audit_refusal(channel, reason)
            .map_err(desk_error)
    }

    fn migrate_chat(&self, channel: &str, from: &str, to: &str) -> Result<(), DeskError> {
        self.assistant
            .rfq_chat_migrate(&desk_actor(), channel, from, to)
            .map(|_| ())
            .map_err(desk_error)
    }
}
