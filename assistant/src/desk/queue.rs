//! Pricing a request for quote into the trader's queue: each request priced, checked against
//! the limits with the desk's exposure, and written with its approval request (or its block,
//! or its error) in one transaction.

use super::market::{BookExposure, MarketView};
use super::payload as quote_payload;
use super::{
    DELIVERY_ERROR, Origin, QuoteStatus, QuoteSummary, Reply, RfqStatus, desk_actor, price,
    queue_reply, reply, set_rfq_status,
};
use crate::Assistant;
use crate::approvals::NewApproval;
use crate::error::{AssistantError, Result};
use crate::store::{AuditRecord, WriteTx, sql, time};
use ::time::{Duration, OffsetDateTime};
use policies::limits::{Breach, Exposure, QuoteGreeks};
use policies::{DataClass, Role};
use price::Priced;
use rfq::schema::RfqParse;
use rfq::{Language, RfqParser, RfqRequest, limit_check};
use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Value, json};

/// A request for quote as stored, with what pricing needs.
struct Stored {
    id: String,
    status: RfqStatus,
    client_id: String,
    client_name: String,
    parse: String,
    language: String,
    lang: Language,
    channel: String,
    chat_id: String,
    message_id: String,
    sender: String,
    text: String,
    confidence: f64,
    problems: String,
    /// Which parser produced the request (`rules`, `model`), shown to the trader.
    path: String,
}

impl Stored {
    fn read(r: &Row<'_>) -> rusqlite::Result<Stored> {
        let language: String = r.get(4)?;
        Ok(Stored {
            id: r.get(0)?,
            status: r.get(1)?,
            client_id: r.get(2)?,
            client_name: String::new(),
            parse: r.get(3)?,
            lang: reply::parse_language(&language),
            language,
            channel: r.get(5)?,
            chat_id: r.get(6)?,
            message_id: r.get(7)?,
            sender: r.get(8)?,
            text: r.get(9)?,
            confidence: r.get(10)?,
            problems: r.get(11)?,
            path: r.get(12)?,
        })
    }

    fn origin(&self) -> Origin<'_> {
        Origin {
            channel: &self.channel,
            chat_id: &self.chat_id,
            message_id: &self.message_id,
        }
    }
}

/// Sets a request still being priced to what its quotes came to: `quoted` if any is in the
/// queue, else `blocked` if any was blocked, else `failed`.
fn settle(tx: &mut WriteTx<'_>, rfq_id: &str) -> Result<()> {
    let (status, queued, blocked): (RfqStatus, i64, i64) = tx.conn().query_row(
        "SELECT r.status,
                COALESCE(SUM(q.status NOT IN ('blocked', 'error')), 0),
                COALESCE(SUM(q.status = 'blocked'), 0)
         FROM rfqs r LEFT JOIN rfq_quotes q ON q.rfq_id = r.id WHERE r.id = ?1",
        [rfq_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    if status != RfqStatus::Pricing {
        return Ok(());
    }
    let to = if queued > 0 {
        RfqStatus::Quoted
    } else if blocked > 0 {
        RfqStatus::Blocked
    } else {
        RfqStatus::Failed
    };
    set_rfq_status(tx, rfq_id, to, None)
}

/// One request priced (or why not), ready to be written.
type Inputs = std::result::Result<((Priced, MarketView), BookExposure), String>;

/// The quotes that count in the desk's exposure (SQL over `rfq_quotes q`, parameters `:now` and
/// `:since` = now less `rfq.sent_quote_hold_secs`): pending or approved and not yet lapsed, or
/// sent (or perhaps sent) within the hold time. The limit check of a new quote and the exposure
/// report (`desk::risk`) both use it.
pub(crate) const LIVE_QUOTE: &str =
    "((q.status IN ('pending', 'approved') AND q.valid_until > :now)
    OR (q.status IN ('sent', 'uncertain') AND COALESCE(q.sent_at, q.updated_at) > :since))";

impl Assistant {
    /// Prices a request for quote and queues its quotes (see the module doc). Idempotent: a
    /// request already priced, or quotes already written, are left as they are.
    pub fn rfq_price(&self, rfq_id: &str) -> Result<Vec<QuoteSummary>> {
        let _slot = self.desk.acquire();
        let mut rfq = self
            .store
            .read(|c| {
                c.query_row(
                    "SELECT id, status, client_id, parse, language, channel, chat_id, message_id,
                            sender, text, confidence, problems, path
                     FROM rfqs WHERE id = ?1",
                    [rfq_id],
                    Stored::read,
                )
                .optional()
            })?
            .ok_or_else(|| AssistantError::NotFound {
                kind: "rfq",
                id: rfq_id.into(),
            })?;
        if rfq.status != RfqStatus::Pricing {
            return self.quote_summaries(rfq_id);
        }
        rfq.client_name = self
            .config
            .limits
            .clients
            .get(&rfq.client_id)
            .and_then(|c| c.name.clone())
            .unwrap_or_else(|| rfq.client_id.clone());
        let parse: RfqParse = sql::decode_json(&rfq.parse, "rfqs.parse")?;
        let actor = desk_actor();
        let done = |idx: usize| {
            self.store.read(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM rfq_quotes WHERE rfq_id = ?1 AND idx = ?2",
                    params![rfq_id, idx as i64],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n > 0)
            })
        };
        let last = parse.requests.len().saturating_sub(1);
        for (idx, req) in parse.requests.iter().enumerate() {
            if done(idx)? {
                continue;
            }
            let qid = format!("q_{}", uuid::Uuid::new_v4().simple());
            let underlying = req.underlying.clone().unwrap_or_default();
            let inputs: Inputs = self
                .desk
                .market
                .market(&underlying)
                .map_err(|e| e.to_string())
                .and_then(|(m, view)| {
                    price::price(&qid, req, &m, &self.desk.conventions)
                        .map(|p| (p, view))
                        .map_err(|e| e.to_string())
                })
                .and_then(|p| {
                    let book = self.desk.market.book_exposure(&underlying);
                    book.map(|b| (p, b)).map_err(|e| e.to_string())
                });
            self.store.write(&actor, |tx| {
                // Another worker may have priced it meanwhile (a resumed request).
                let exists: i64 = tx.conn().query_row(
                    "SELECT COUNT(*) FROM rfq_quotes WHERE rfq_id = ?1 AND idx = ?2",
                    params![rfq_id, idx as i64],
                    |r| r.get(0),
                )?;
                if exists > 0 {
                    return Ok(());
                }
                match inputs {
                    Ok(((priced, view), book)) => {
                        self.write_quote(tx, &rfq, idx, req, &qid, priced, view, book)?
                    }
                    Err(e) => self.quote_error(tx, &rfq, idx, req, &qid, &e)?,
                }
                // The last quote settles the request in the same transaction (one commit less
                // on the way to the queue).
                if idx == last {
                    settle(tx, rfq_id)?;
                }
                Ok::<_, AssistantError>(())
            })?;
        }
        let pricing = self.store.read(|c| {
            c.query_row("SELECT status FROM rfqs WHERE id = ?1", [rfq_id], |r| {
                r.get::<_, RfqStatus>(0)
            })
            .map(|s| s == RfqStatus::Pricing)
        })?;
        if pricing {
            self.store.write(&actor, |tx| settle(tx, rfq_id))?;
        }
        self.quote_summaries(rfq_id)
    }

    /// The desk's exposure on `underlying` before a new quote (see [`LIVE_QUOTE`]): the book plus quotes pending,
    /// approved and not yet lapsed, or sent (or perhaps sent) within the hold time.
    fn exposure(
        &self,
        tx: &WriteTx<'_>,
        underlying: &str,
        book: BookExposure,
        now: OffsetDateTime,
    ) -> Result<Exposure> {
        let since = now - Duration::seconds(self.config.rfq.sent_quote_hold_secs as i64);
        let (pending_delta, pending_vega): (f64, f64) = tx.conn().query_row(
            &format!(
                "SELECT COALESCE(SUM(desk_delta), 0), COALESCE(SUM(desk_vega), 0)
                 FROM rfq_quotes q WHERE underlying = :underlying AND {LIVE_QUOTE}"
            ),
            rusqlite::named_params! {
                ":underlying": underlying,
                ":now": time::fmt(now),
                ":since": time::fmt(since),
            },
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Exposure {
            book_delta: book.delta,
            book_vega: book.vega,
            pending_delta,
            pending_vega,
        })
    }

    /// Writes a priced quote: its limit checks, and its approval request or its block.
    #[allow(clippy::too_many_arguments)]
    fn write_quote(
        &self,
        tx: &mut WriteTx<'_>,
        rfq: &Stored,
        idx: usize,
        req: &RfqRequest,
        qid: &str,
        priced: Priced,
        market: MarketView,
        book: BookExposure,
    ) -> Result<()> {
        let now = time::now();
        let underlying = req.underlying.clone().unwrap_or_default();
        let exposure = self.exposure(tx, &underlying, book, now)?;
        let greeks = QuoteGreeks {
            delta: priced.greeks.cash_delta,
            vega: priced.greeks.vega_per_point,
        };
        let breaches: Vec<Breach> = match limit_check(&rfq.client_id, req, Some(greeks)) {
            Some(check) => policies::limits::check(&self.config.limits, &check, &exposure),
            None => Vec::new(),
        };
        let expiry = Duration::seconds(self.config.rfq.quote_expiry_secs as i64);
        let valid_until = now + expiry;
        let lexicon = RfqParser::builtin().lexicon();
        let (terms_zh, terms_en) = reply::terms(req, lexicon, &self.desk.conventions);
        let notional = req.notional.unwrap_or_default();
        let currency = req.currency.clone().unwrap_or_else(|| "CNY".into());
        let lang = rfq.lang;
        let client_terms = match reply::ClientText::new(if lang == Language::Zh {
            &terms_zh
        } else {
            &terms_en
        }) {
            Ok(t) => t,
            Err(why) => {
                let e = format!("the quote's terms cannot go to the client: {why}");
                return self.quote_error(tx, rfq, idx, req, qid, &e);
            }
        };
        let preview = reply::quote(&reply::QuoteText {
            language: lang,
            terms: &client_terms,
            side: priced.side,
            kind: priced.quote.kind,
            figure: priced.quote.client,
            notional,
            currency: &currency,
            valid_until,
            offset: self.desk.offset,
        });
        let breach_list: Vec<Value> = breaches
            .iter()
            .map(|b| {
                json!({
                    "rule": b, "reason_zh": b.reason_zh(), "reason_en": b.reason_en(),
                    "client_wording": b.client_wording(reply::lang(lang)),
                })
            })
            .collect();
        let limits = json!({
            "passed": breaches.is_empty(),
            // The first breach is the reason the client is told; each has its explanation.
            "explanations": breaches.iter().map(breach_explanation).collect::<Vec<_>>(),
            "exposure_before": {
                "underlying": underlying,
                "book_cash_delta": exposure.book_delta,
                "book_vega_per_point": exposure.book_vega,
                "pending_cash_delta": exposure.pending_delta,
                "pending_vega_per_point": exposure.pending_vega,
            },
            "quote": {"cash_delta": greeks.delta, "vega_per_point": greeks.vega},
            "breaches": breach_list,
        });
        let problems: Value = sql::decode_json(&rfq.problems, "rfqs.problems")?;
        let payload = json!({
            "rfq_id": rfq.id,
            "quote_id": qid,
            "client_id": rfq.client_id,
            "client_name": rfq.client_name,
            "chat": {
                "channel": rfq.channel, "chat_id": rfq.chat_id,
                "message_id": rfq.message_id, "sender": rfq.sender,
            },
            "message": rfq.text,
            "language": rfq.language,
            "request": req,
            "side": priced.side,
            "terms": {"zh": terms_zh, "en": terms_en},
            "quote": priced.quote,
            "notional": notional,
            "currency": currency,
            "valid_until": time::fmt(valid_until),
            "pricing": {
                "engine": priced.engine, "paths": priced.paths,
                "value_pct": priced.value_pct, "std_error_pct": priced.std_error_pct,
                "evaluations": priced.evaluations, "elapsed_ms": priced.elapsed_ms,
                "market": market, "conventions": priced.conventions,
            },
            "product": priced.product,
            "greeks": priced.greeks,
            "limits": limits,
            "parse": {"confidence": rfq.confidence, "path": rfq.path, "problems": problems},
            "reply_preview": preview,
        });
        let structure = req.structure.map(|s| s.as_str()).unwrap_or("");
        // The quote goes to the queue only if it passes the checks every edit of it will pass
        // (a selling client's premium floored at zero, say, is for a person to quote).
        if breaches.is_empty()
            && let Err(e) = quote_payload::check(payload.clone(), None, now, self.desk.offset)
        {
            let e = format!("the priced quote fails the desk's checks: {e}");
            return self.quote_error(tx, rfq, idx, req, qid, &e);
        }
        let approval_id = if breaches.is_empty() {
            let kind = serde_json::to_value(priced.quote.kind).unwrap_or(Value::Null);
            // A request the model parsed says so first: the trader checks its terms.
            let marker = if rfq.path == "model" {
                "[model-parsed] "
            } else {
                ""
            };
            let title = format!(
                "{marker}Quote {underlying} {structure} {}M for {}: {} {:.2} ({})",
                req.tenor_months.unwrap_or(0),
                rfq.client_name,
                kind.as_str().unwrap_or(""),
                priced.quote.client,
                priced.quote.unit,
            );
            Some(self.create_approval_in(
                tx,
                NewApproval {
                    kind: crate::approvals::ApprovalKind::Quote,
                    title,
                    payload: payload.clone(),
                    required_role: Role::Trader,
                    four_eyes: false,
                    expires_in: Some(expiry),
                    class: DataClass::IMPORTANT,
                    supersedes: None,
                    idempotency_key: Some(format!("quote:{}:{idx}", rfq.id)),
                },
            )?)
        } else {
            None
        };
        let status = if breaches.is_empty() {
            QuoteStatus::Pending
        } else {
            QuoteStatus::Blocked
        };
        tx.conn().execute(
            "INSERT INTO rfq_quotes (id, rfq_id, idx, underlying, structure, status,
                approval_id, desk_delta, desk_vega, detail, valid_until, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
            params![
                qid,
                rfq.id,
                idx as i64,
                underlying,
                structure,
                status,
                approval_id,
                greeks.delta,
                greeks.vega,
                payload.to_string(),
                time::fmt(valid_until),
                time::fmt(now),
            ],
        )?;
        tx.audit(AuditRecord {
            action: if breaches.is_empty() {
                "rfq.quote.queue"
            } else {
                "rfq.quote.block"
            },
            object_kind: "rfq_quote",
            object_id: qid,
            class: DataClass::IMPORTANT,
            details: json!({
                "rfq_id": rfq.id, "approval_id": approval_id, "quote": priced.quote,
                "greeks": priced.greeks, "limits": payload["limits"],
            }),
        })?;
        if let Some(b) = breaches.first() {
            queue_reply(
                tx,
                &rfq.origin(),
                Reply {
                    kind: "refusal",
                    key: format!("blocked:{qid}"),
                    text: reply::neutral(lang, b.client_wording(reply::lang(lang))),
                    rfq_id: Some(rfq.id.clone()),
                    quote_id: Some(qid.to_string()),
                    not_after: None,
                },
            )?;
        }
        Ok(())
    }

    /// Writes a quote that could not be priced, and queues the neutral words for the client.
    fn quote_error(
        &self,
        tx: &mut WriteTx<'_>,
        rfq: &Stored,
        idx: usize,
        req: &RfqRequest,
        qid: &str,
        error: &str,
    ) -> Result<()> {
        let now = time::fmt(time::now());
        let detail = json!({
            "request": req, "client_id": rfq.client_id, "language": rfq.language, "error": error,
        });
        tx.conn().execute(
            "INSERT INTO rfq_quotes (id, rfq_id, idx, underlying, structure, status, detail,
                created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'error', ?6, ?7, ?7)",
            params![
                qid,
                rfq.id,
                idx as i64,
                req.underlying,
                req.structure.map(|s| s.as_str()),
                detail.to_string(),
                now
            ],
        )?;
        tx.audit(AuditRecord {
            action: "rfq.quote.error",
            object_kind: "rfq_quote",
            object_id: qid,
            class: DataClass::IMPORTANT,
            details: json!({
                "rfq_id": rfq.id, "error": error,
                "explanation": policies::explain::Explanation::new(
                    policies::explain::Decision::QuoteUnpriced,
                    format!("询价 {} 无法定价：{error}", rfq.id),
                    format!("request {} could not be priced: {error}", rfq.id),
                    vec![("rfq", rfq.id.clone()), ("error", error.to_string())],
                ),
            }),
        })?;
        queue_reply(
            tx,
            &rfq.origin(),
            Reply {
                kind: "refusal",
                key: format!("error:{qid}"),
                text: reply::cannot_price(rfq.lang),
                rfq_id: Some(rfq.id.clone()),
                quote_id: Some(qid.to_string()),
                not_after: None,
            },
        )?;
        Ok(())
    }

    /// The quotes of a request, in order.
    pub(super) fn quote_summaries(&self, rfq_id: &str) -> Result<Vec<QuoteSummary>> {
        self.store.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT q.id, q.idx, q.status, q.approval_id, q.underlying, q.structure,
                            q.valid_until, {DELIVERY_ERROR}
                     FROM rfq_quotes q WHERE q.rfq_id = ?1 ORDER BY q.idx"
            ))?;
            let rows = stmt.query_map([rfq_id], |r| {
                Ok(QuoteSummary {
                    id: r.get(0)?,
                    index: r.get::<_, i64>(1)? as usize,
                    status: r.get(2)?,
                    approval_id: r.get(3)?,
                    underlying: r.get(4)?,
                    structure: r.get(5)?,
                    valid_until: r.get(6)?,
                    error: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

/// The explanation of a limit breach: its bilingual reason and the breach's own fields as facts.
fn breach_explanation(b: &Breach) -> policies::explain::Explanation {
    let mut facts: Vec<(String, String)> = Vec::new();
    if let Value::Object(m) = serde_json::to_value(b).expect("a breach serialises") {
        for (k, v) in m {
            let shown = match v {
                Value::String(s) => s,
                Value::Null => continue,
                other => other.to_string(),
            };
            facts.push((k, shown));
        }
    }
    policies::explain::Explanation::new(
        policies::explain::Decision::QuoteBlocked,
        b.reason_zh(),
        b.reason_en(),
        facts.iter().map(|(k, v)| (k.as_str(), v.clone())).collect(),
    )
}
