//! The payload of a quote approval, typed: what the desk writes when it queues a quote
//! ([`super::queue`]), what a trader may change in an edit, and the checks both go through. The
//! outbox parses the approved payload with the same type before it renders the reply, so a
//! payload that does not check (one stored by an earlier version) is never sent: the quote is
//! `send_failed`, with the reason.
//!
//! # What a trader may edit
//!
//! | field | rule |
//! | --- | --- |
//! | `quote.client`, the figure the reply states | finite, > 0 and at most 1000 (every quoted figure is a percentage); at most [`FREE_BAND`] (10%) away from the desk's figure freely, up to [`REASON_BAND`] (50%) with the reason in the edit's `note`, never further (reject and re-quote instead) |
//! | `terms.zh`, `terms.en`, the client-bound words | [`ClientText`]: 1–500 characters, no control or invisible formatting characters, no markup |
//! | `notional` | finite, > 0, at most the priced notional (the limits were checked on it; Greeks and limits stay those of the priced notional, which overstates the exposure of a smaller trade) |
//! | `quote.client_amount`, `quote.margin_amount`, `reply_preview` | derived: recomputed from the edit, whatever is sent for them |
//! | everything else | the desk's record of what was asked and how it was priced: an edit must send it back unchanged (numbers may change spelling, `1.0` for `1`) |
//!
//! The desk's figure is `quote.client` of version 1: the model's price with the desk's margin,
//! as the desk queued it (`quote.fair` is the model's price without margin). Bands are relative
//! to it: a premium of 5.00% may become 4.50%–5.50% freely and 2.50%–7.50% with a reason.
//!
//! On creation the same types and ranges apply (unknown fields denied, `quote.client` and
//! `notional` positive, `currency` an ISO 4217 code, `valid_until` in the future, both terms
//! [`ClientText`]); a priced quote that fails them is recorded as a pricing error, not queued.

use super::price::QuoteKind;
use super::reply::{self, ClientText};
use crate::approvals::payload::{Edit, typed};
use crate::error::{AssistantError, Result};
use crate::store::time;
use rfq::{Language, Side};
use serde::Deserialize;
use serde_json::{Value, json};
use time_crate::{OffsetDateTime, UtcOffset};

use ::time as time_crate;

/// How far a trader may move the quoted figure from the desk's without giving a reason, as a
/// fraction of the desk's figure.
pub const FREE_BAND: f64 = 0.10;

/// How far a trader may move it with a reason in the edit's note; beyond this the quote is
/// re-priced, not edited.
pub const REASON_BAND: f64 = 0.50;

/// The largest figure a quote may state (every figure is a percentage of something).
pub const MAX_FIGURE: f64 = 1000.0;

/// The chat a quote answers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatOrigin {
    channel: String,
    chat_id: String,
    message_id: String,
    sender: String,
}

/// The client's language as the payload spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PayloadLanguage {
    Zh,
    En,
}

/// The terms in words, in both languages: what the reply says the quote is for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Terms {
    zh: String,
    en: String,
}

/// The quoted figure.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Figure {
    kind: QuoteKind,
    unit: String,
    fair: f64,
    client: f64,
    margin_bps: f64,
    // Derived (recomputed on an edit): typed so that the payload is checked, never read.
    #[allow(dead_code)]
    margin_amount: f64,
    #[allow(dead_code)]
    client_amount: Option<f64>,
}

/// A quote approval's payload (see the module doc); the desk's record of the request and its
/// pricing is kept as JSON, compared but not interpreted here.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuotePayload {
    rfq_id: String,
    quote_id: String,
    client_id: String,
    client_name: String,
    chat: ChatOrigin,
    message: String,
    language: PayloadLanguage,
    request: Value,
    side: Side,
    terms: Terms,
    quote: Figure,
    notional: f64,
    currency: String,
    valid_until: String,
    pricing: Value,
    product: Value,
    greeks: Value,
    limits: Value,
    parse: Value,
    // Derived (recomputed on an edit): typed so that the payload is checked, never read.
    #[allow(dead_code)]
    reply_preview: String,
}

fn bad(field: &str, reason: impl Into<String>) -> AssistantError {
    AssistantError::field(format!("payload.{field}"), reason)
}

/// Whether two JSON values say the same: numbers compared as numbers (`1` = `1.0`, as a client
/// that parses and re-serialises the payload writes them), everything else exactly.
pub(crate) fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

impl QuotePayload {
    /// Parses and checks a payload on its own (types, ranges, client-bound text); `now` for
    /// `valid_until`, which is not checked when `None` (the outbox checks the quote's validity
    /// itself).
    pub(crate) fn parse(payload: &Value, now: Option<OffsetDateTime>) -> Result<QuotePayload> {
        let p: QuotePayload = typed(payload)?;
        p.check(now)?;
        Ok(p)
    }

    fn check(&self, now: Option<OffsetDateTime>) -> Result<()> {
        for (field, v) in [
            ("rfq_id", &self.rfq_id),
            ("quote_id", &self.quote_id),
            ("client_id", &self.client_id),
            ("chat.channel", &self.chat.channel),
            ("chat.chat_id", &self.chat.chat_id),
        ] {
            if v.trim().is_empty() {
                return Err(bad(field, "must not be empty"));
            }
        }
        let c = self.quote.client;
        if !c.is_finite() {
            return Err(bad("quote.client", "must be a finite number"));
        }
        if c <= 0.0 {
            return Err(bad("quote.client", format!("must be > 0, not {c}")));
        }
        if c > MAX_FIGURE {
            return Err(bad(
                "quote.client",
                format!("must be at most {MAX_FIGURE} (it is a percentage), not {c}"),
            ));
        }
        if !self.quote.fair.is_finite() {
            return Err(bad("quote.fair", "must be a finite number"));
        }
        let n = self.notional;
        if !n.is_finite() || n <= 0.0 {
            return Err(bad("notional", format!("must be > 0, not {n}")));
        }
        if !extraction::parse::is_currency(&self.currency) {
            return Err(bad(
                "currency",
                format!("{:?} is not an ISO 4217 currency code", self.currency),
            ));
        }
        let Some(valid_until) = time::parse(&self.valid_until) else {
            return Err(bad("valid_until", "must be an RFC 3339 time"));
        };
        if let Some(now) = now
            && valid_until <= now
        {
            return Err(bad("valid_until", "must be in the future"));
        }
        for (field, text) in [("terms.zh", &self.terms.zh), ("terms.en", &self.terms.en)] {
            ClientText::new(text).map_err(|e| bad(field, e.to_string()))?;
        }
        Ok(())
    }

    /// The client's language.
    pub(crate) fn language(&self) -> Language {
        match self.language {
            PayloadLanguage::Zh => Language::Zh,
            PayloadLanguage::En => Language::En,
        }
    }

    /// The reply carrying this quote, valid until `valid_until` (the quote's own validity, not
    /// the payload's copy), with times shown at `offset`.
    pub(crate) fn reply(
        &self,
        valid_until: OffsetDateTime,
        offset: UtcOffset,
    ) -> std::result::Result<String, String> {
        let language = self.language();
        let (field, text) = match language {
            Language::Zh => ("terms.zh", &self.terms.zh),
            Language::En => ("terms.en", &self.terms.en),
        };
        let terms = ClientText::new(text).map_err(|r| format!("payload.{field}: {r}"))?;
        Ok(reply::quote(&reply::QuoteText {
            language,
            terms: &terms,
            side: self.side,
            kind: self.quote.kind,
            figure: self.quote.client,
            notional: self.notional,
            currency: &self.currency,
            valid_until,
            offset,
        }))
    }

    /// The desk's record (everything a trader may not edit) differs from `other`'s: the first
    /// field that does.
    fn record_differs(&self, other: &QuotePayload) -> Option<&'static str> {
        let json_fields: [(&str, &Value, &Value); 6] = [
            ("request", &self.request, &other.request),
            ("pricing", &self.pricing, &other.pricing),
            ("product", &self.product, &other.product),
            ("greeks", &self.greeks, &other.greeks),
            ("limits", &self.limits, &other.limits),
            ("parse", &self.parse, &other.parse),
        ];
        let plain = [
            ("rfq_id", self.rfq_id == other.rfq_id),
            ("quote_id", self.quote_id == other.quote_id),
            ("client_id", self.client_id == other.client_id),
            ("client_name", self.client_name == other.client_name),
            ("chat.channel", self.chat.channel == other.chat.channel),
            ("chat.chat_id", self.chat.chat_id == other.chat.chat_id),
            (
                "chat.message_id",
                self.chat.message_id == other.chat.message_id,
            ),
            ("chat.sender", self.chat.sender == other.chat.sender),
            ("message", self.message == other.message),
            ("language", self.language == other.language),
            ("side", self.side == other.side),
            ("quote.kind", self.quote.kind == other.quote.kind),
            ("quote.unit", self.quote.unit == other.quote.unit),
            ("quote.fair", self.quote.fair == other.quote.fair),
            (
                "quote.margin_bps",
                self.quote.margin_bps == other.quote.margin_bps,
            ),
            ("currency", self.currency == other.currency),
            ("valid_until", self.valid_until == other.valid_until),
        ];
        plain
            .into_iter()
            .find(|(_, same)| !same)
            .map(|(f, _)| f)
            .or_else(|| {
                json_fields
                    .into_iter()
                    .find(|(_, a, b)| !same_json(a, b))
                    .map(|(f, _, _)| f)
            })
    }
}

/// Checks a quote payload being created, or edited when `edit` is given, and returns what to
/// store (see the module doc): on an edit, the previous payload with the editable fields
/// replaced and the derived ones recomputed, valid until `now` at least.
pub(crate) fn check(
    payload: Value,
    edit: Option<&Edit<'_>>,
    now: OffsetDateTime,
    offset: UtcOffset,
) -> Result<Value> {
    let edited = QuotePayload::parse(&payload, Some(now))?;
    let Some(edit) = edit else {
        return Ok(payload);
    };
    let not_a_quote = |which: &str, e: AssistantError| {
        AssistantError::Conflict(format!(
            "the {which} payload of this request is not a valid quote ({e}); reject it and \
             re-quote"
        ))
    };
    let previous =
        QuotePayload::parse(edit.previous, None).map_err(|e| not_a_quote("current", e))?;
    let original =
        QuotePayload::parse(edit.original, None).map_err(|e| not_a_quote("original", e))?;
    if let Some(field) = edited.record_differs(&previous) {
        return Err(bad(
            field,
            "is the desk's record of the request and its pricing and cannot be edited; \
             reject the quote and re-quote to change it",
        ));
    }
    if edited.notional > original.notional {
        return Err(bad(
            "notional",
            format!(
                "{} exceeds the priced notional {} (the limits were checked on it); re-quote \
                 for more",
                edited.notional, original.notional
            ),
        ));
    }
    let desk = original.quote.client;
    let figure = edited.quote.client;
    let moved = (figure - desk).abs() / desk;
    if moved > REASON_BAND + 1e-12 {
        return Err(bad(
            "quote.client",
            format!(
                "{figure} is {:.1}% away from the desk's figure {desk}; at most {:.0}% (reject \
                 and re-quote instead)",
                moved * 100.0,
                REASON_BAND * 100.0
            ),
        ));
    }
    if moved > FREE_BAND + 1e-12 && edit.note.is_none_or(|n| n.trim().is_empty()) {
        return Err(AssistantError::field(
            "note",
            format!(
                "a reason is required: payload.quote.client moves {:.1}% from the desk's figure \
                 {desk} (more than {:.0}%)",
                moved * 100.0,
                FREE_BAND * 100.0
            ),
        ));
    }
    if figure == previous.quote.client
        && edited.notional == previous.notional
        && edited.terms == previous.terms
    {
        // Nothing a trader may change has changed: the edit is a no-op.
        return Ok(edit.previous.clone());
    }
    let mut stored = edit.previous.clone();
    stored["quote"]["client"] = json!(figure);
    stored["terms"] = json!({"zh": edited.terms.zh, "en": edited.terms.en});
    stored["notional"] = json!(edited.notional);
    let notional = edited.notional;
    let (client_amount, margin_amount) = match edited.quote.kind {
        QuoteKind::Premium => (
            json!(figure / 100.0 * notional),
            json!((figure - edited.quote.fair).abs() / 100.0 * notional),
        ),
        QuoteKind::Coupon | QuoteKind::KnockOut | QuoteKind::Strike => {
            (Value::Null, json!(edited.quote.margin_bps / 1e4 * notional))
        }
    };
    stored["quote"]["client_amount"] = client_amount;
    stored["quote"]["margin_amount"] = margin_amount;
    let valid_until = time::parse(&edited.valid_until).unwrap_or(now);
    let preview = QuotePayload::parse(&stored, None)?
        .reply(valid_until, offset)
        .map_err(|e| AssistantError::field("payload", e))?;
    stored["reply_preview"] = json!(preview);
    Ok(stored)
}
