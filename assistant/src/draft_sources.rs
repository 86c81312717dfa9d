//! Where a draft's trade comes from, besides key terms given by the caller: an approved RFQ
//! quote of the desk, an approved extraction, an FpML message, or a CDM TradeState. Each
//! becomes the same checked [`Trade`] (key terms, and the CDM TradeState when there is one);
//! every value is taken from the source, never written by a model.
//!
//! # An approved quote
//! The quote's approval (kind `quote`, state `approved`: what the trader approved, with any
//! edit) is read as the desk's record of the trade:
//!
//! | key term | from |
//! | --- | --- |
//! | `party_a`, `party_b` | the firm (`[drafting] firm_name`, or `firm_name_zh` for a Chinese draft) and the client's name |
//! | `buyer`, `seller` | the client's side (`client_buys`: party B buys) |
//! | `trade_date` | the day the trader approved it, at the desk's UTC offset (`[rfq] reply_utc_offset`) |
//! | `effective_date` | autocallables: the trade date |
//! | `expiration_date` | the trade date plus the tenor in months (the same day of the month, or the month's last day), moved to the next Monday to Friday |
//! | `underlier` | the lexicon's name of the underlying (`沪深300`) and its code (`000300.SH`) |
//! | `initial_price` | the spot the quote was priced on, in the quote's currency |
//! | `strike`, `barrier`, `participation_pct`, `payout_pct`, `autocall` | the product as priced (levels in % of the initial price; the conventions the desk applied: barrier kind, monitoring, knock-out frequency, lock-up) with the quoted figure where it was solved for (coupon, knock-out level, strike) |
//! | `notional`, `premium` | the quote's notional and currency; an option's premium is the quoted figure × notional, paid `[drafting] premium_settlement_days` business days after the trade date |
//! | `settlement` | `cash` (the desk quotes cash-settled options) |
//! | `other.reference`, `other.rfq` | the quote's and the request's ids |
//!
//! A quote of a futures option on a commodity is a `commodity_option` (the demo library has no
//! template for it: the draft is refused, naming the family).

use drafting::{Language, Trade};
use policies::ApprovalState;
use serde_json::{Map, Value, json};
use time::{Date, Duration, Month, Weekday};

use extraction::parse::iso;
use extraction::terms::put_leaf as put;

use crate::Assistant;
use crate::approvals::ApprovalKind;
use crate::drafts::invalid;
use crate::error::Result;
use crate::store::{Actor, time as stime};

fn pct_of(v: Option<&Value>) -> Option<f64> {
    let v = v?;
    if let Some(x) = v.as_f64() {
        return Some(x);
    }
    v.as_str()?.trim().trim_end_matches('%').trim().parse().ok()
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// `d` plus `months`, on the same day of the month or the month's last day.
pub fn add_months(d: Date, months: u32) -> Date {
    let total = d.year() * 12 + (u8::from(d.month()) as i32 - 1) + months as i32;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u8 + 1);
    let month = Month::try_from(m).unwrap_or(Month::January);
    let last = time::util::days_in_month(month, y);
    Date::from_calendar_date(y, month, d.day().min(last)).unwrap_or(d)
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The first Monday to Friday on or after `d`.
pub fn next_weekday(mut d: Date) -> Date {
    while is_weekend(d) {
        d += Duration::days(1);
    }
    d
}

/// `n` Monday-to-Friday days after `d`.
pub fn add_weekdays(mut d: Date, n: u32) -> Date {
    let mut left = n;
    while left > 0 {
        d += Duration::days(1);
        if !is_weekend(d) {
            left -= 1;
        }
    }
    d
}

/// What the mapping needs besides the payload.
pub struct QuoteContext<'a> {
    /// Party A's name.
    pub firm: &'a str,
    /// The trade date.
    pub trade_date: Date,
    /// Business days to the premium payment date.
    pub premium_days: u32,
}

/// The key terms of an approved quote's payload (see the module doc); errors name what the
/// payload lacks.
pub fn quote_key_terms(
    payload: &Value,
    ctx: &QuoteContext<'_>,
) -> std::result::Result<Value, String> {
    let s = |p: &str| payload.pointer(p).and_then(Value::as_str);
    let product = payload
        .get("product")
        .ok_or("the quote has no priced product")?;
    let structure = s("/request/structure")
        .or_else(|| s("/product/kind"))
        .ok_or("the quote states no structure")?;
    let code = s("/request/underlying")
        .or_else(|| s("/product/underlying"))
        .ok_or("the quote states no underlying")?;
    let tenor: u32 = s("/product/tenor")
        .and_then(|t| t.trim_end_matches('M').parse().ok())
        .or_else(|| {
            payload
                .pointer("/request/tenor_months")
                .and_then(Value::as_u64)
                .map(|t| t as u32)
        })
        .ok_or("the quote states no tenor")?;
    let notional = payload
        .get("notional")
        .and_then(Value::as_f64)
        .filter(|n| *n > 0.0)
        .ok_or("the quote states no notional")?;
    let currency = s("/currency").ok_or("the quote states no currency")?;
    let client = s("/client_name")
        .filter(|c| !c.trim().is_empty())
        .or_else(|| s("/client_id"))
        .ok_or("the quote names no client")?;
    let side = s("/side").ok_or("the quote states no side")?;
    let kind = s("/quote/kind").ok_or("the quote states what it quotes")?;
    let figure = payload
        .pointer("/quote/client")
        .and_then(Value::as_f64)
        .ok_or("the quote states no figure")?;
    let spot = payload
        .pointer("/pricing/market/spot")
        .and_then(Value::as_f64)
        .filter(|x| *x > 0.0);
    let lexicon = rfq::RfqParser::builtin().lexicon();
    let info = lexicon.underlying(code);
    let is_commodity_future = matches!(
        info.as_ref().map(|i| i.kind),
        Some(rfq::lexicon::UnderlyingKind::Future)
    ) && !code.ends_with(".CFFEX");
    let mut out = Map::new();
    let family = match structure {
        "snowball" => "snowball",
        "phoenix" => "phoenix",
        _ if is_commodity_future => "commodity_option",
        _ => "equity_option",
    };
    put(&mut out, "product_type", json!(family));
    put(&mut out, "party_a", json!(ctx.firm));
    put(&mut out, "party_b", json!(client));
    let (buyer, seller) = match side {
        "client_buys" => ("party_b", "party_a"),
        "client_sells" => ("party_a", "party_b"),
        other => {
            return Err(format!(
                "the quote's side `{other}` is not client_buys or client_sells"
            ));
        }
    };
    put(&mut out, "buyer", json!(buyer));
    put(&mut out, "seller", json!(seller));
    put(&mut out, "trade_date", json!(iso(ctx.trade_date)));
    let expiry = next_weekday(add_months(ctx.trade_date, tenor));
    put(&mut out, "expiration_date", json!(iso(expiry)));
    put(
        &mut out,
        "underlier.name",
        json!(info.as_ref().map(|i| i.name.as_str()).unwrap_or(code)),
    );
    put(&mut out, "underlier.id", json!(code));
    if let Some(spot) = spot {
        put(&mut out, "initial_price.value", num(round(spot, 4)));
        put(&mut out, "initial_price.currency", json!(currency));
    }
    put(&mut out, "notional.amount", num(round(notional, 2)));
    put(&mut out, "notional.currency", json!(currency));
    put(&mut out, "settlement", json!("cash"));
    let leg = product.pointer("/payoff/legs/0");
    if structure == "snowball" || structure == "phoenix" {
        put(&mut out, "effective_date", json!(iso(ctx.trade_date)));
        let a = product.get("autocall").unwrap_or(product);
        let ko = if kind == "knock_out" {
            Some(figure)
        } else {
            pct_of(a.get("ko_level"))
        };
        let ki = pct_of(a.pointer("/ki/level"));
        let coupon = if kind == "coupon" {
            Some(figure / 100.0)
        } else if structure == "snowball" {
            a.get("ko_coupon").and_then(Value::as_f64)
        } else {
            payload
                .pointer("/request/coupon_pct")
                .and_then(Value::as_f64)
                .map(|c| c / 100.0)
        };
        let ko = ko.ok_or("the quote states no knock-out level")?;
        put(&mut out, "autocall.knock_out_pct", num(round(ko, 4)));
        if let Some(f) = a.pointer("/ko_schedule/frequency").and_then(Value::as_str) {
            put(&mut out, "autocall.knock_out_observation", json!(f));
        }
        if let Some(l) = a
            .pointer("/ko_schedule/lockup_months")
            .and_then(Value::as_u64)
        {
            put(&mut out, "autocall.lockup_months", json!(l));
        }
        if let Some(ki) = ki {
            put(&mut out, "autocall.knock_in_pct", num(round(ki, 4)));
        }
        if let Some(m) = a.pointer("/ki/monitoring").and_then(Value::as_str) {
            let m = if m == "continuous" { "daily" } else { m };
            put(&mut out, "autocall.knock_in_observation", json!(m));
        }
        let coupon = coupon.ok_or("the quote states no coupon")?;
        put(&mut out, "autocall.coupon_rate", num(round(coupon, 6)));
        if let Some(cb) = pct_of(a.pointer("/phoenix/barrier")) {
            put(&mut out, "autocall.coupon_barrier_pct", num(round(cb, 4)));
        }
        let strike = if kind == "strike" {
            Some(figure)
        } else {
            pct_of(a.pointer("/loss/strike"))
        };
        if let Some(k) = strike {
            put(&mut out, "strike.value", num(round(k, 4)));
            put(&mut out, "strike.unit", json!("percent"));
        }
    } else {
        let leg = leg.ok_or("the quote's product has no payoff leg")?;
        let t = leg.get("type").and_then(Value::as_str).unwrap_or("");
        let option_type = if t.ends_with("call") {
            "call"
        } else if t.ends_with("put") {
            "put"
        } else {
            return Err(format!("the quote's payoff `{t}` is not a call or a put"));
        };
        put(&mut out, "option_type", json!(option_type));
        put(
            &mut out,
            "exercise_style",
            json!(
                product
                    .get("exercise")
                    .and_then(Value::as_str)
                    .unwrap_or("european")
            ),
        );
        if let Some(k) = pct_of(leg.get("strike")) {
            put(&mut out, "strike.value", num(round(k, 4)));
            put(&mut out, "strike.unit", json!("percent"));
        }
        if let Some(p) = leg
            .get("participation")
            .and_then(Value::as_f64)
            .filter(|_| structure == "shark_fin")
        {
            put(&mut out, "participation_pct", num(round(p * 100.0, 4)));
        }
        if let Some(c) = leg
            .get("cash")
            .and_then(Value::as_f64)
            .filter(|_| structure == "digital")
        {
            put(&mut out, "payout_pct", num(round(c * 100.0, 4)));
        }
        if let Some(b) = product.get("barrier") {
            let level = pct_of(b.get("level")).ok_or("the quote's barrier has no level")?;
            let kind = match b.get("kind").and_then(Value::as_str) {
                Some("in") => "knock_in",
                _ => "knock_out",
            };
            put(&mut out, "barrier.kind", json!(kind));
            put(
                &mut out,
                "barrier.direction",
                json!(
                    b.get("direction")
                        .and_then(Value::as_str)
                        .unwrap_or(if level > 100.0 { "up" } else { "down" })
                ),
            );
            put(&mut out, "barrier.level", num(round(level, 4)));
            put(&mut out, "other.barrier_level_unit", json!("percent"));
            if let Some(r) = b.get("rebate").and_then(Value::as_f64) {
                put(&mut out, "other.rebate_pct", num(round(r * 100.0, 4)));
            }
        }
        if kind != "premium" {
            return Err(format!(
                "an option quote solved for `{kind}` cannot be confirmed: quote its premium"
            ));
        }
        let amount = round(figure / 100.0 * notional, 2);
        put(&mut out, "premium.amount", num(amount));
        put(&mut out, "premium.currency", json!(currency));
        put(
            &mut out,
            "premium.payment_date",
            json!(iso(add_weekdays(ctx.trade_date, ctx.premium_days))),
        );
    }
    if let Some(q) = s("/quote_id") {
        put(&mut out, "other.reference", json!(q));
    }
    if let Some(r) = s("/rfq_id") {
        put(&mut out, "other.rfq", json!(r));
    }
    Ok(Value::Object(out))
}

impl Assistant {
    /// The trade of an approved quote (see the module doc), for a draft in `language`.
    pub fn trade_from_quote(
        &self,
        actor: &Actor,
        approval_id: &str,
        language: Language,
    ) -> Result<Trade> {
        let a = self.get_approval(actor, approval_id)?;
        if a.kind != ApprovalKind::Quote {
            return Err(invalid(
                "quote",
                format!(
                    "{approval_id} is a {} approval, not a quote",
                    a.kind.as_str()
                ),
            ));
        }
        if a.state != ApprovalState::Approved {
            return Err(invalid(
                "quote",
                format!(
                    "quote {approval_id} is {}: only a quote a trader approved can be confirmed",
                    a.state.as_str()
                ),
            ));
        }
        let decided = a
            .decided_at
            .as_deref()
            .and_then(stime::parse)
            .ok_or_else(|| invalid("quote", format!("quote {approval_id} has no decision time")))?;
        let d = &self.config.drafting;
        let ctx = QuoteContext {
            firm: if language == Language::Zh {
                &d.firm_name_zh
            } else {
                &d.firm_name
            },
            trade_date: decided.to_offset(self.desk.reply_offset()).date(),
            premium_days: d.premium_settlement_days,
        };
        let kt = quote_key_terms(&a.payload, &ctx).map_err(|e| invalid("quote", e))?;
        Trade::checked(kt, None).map_err(|e| invalid("quote", e))
    }

    /// The trade of an FpML message: its key terms and CDM TradeState as the extraction
    /// pipeline reads them (no model).
    pub fn trade_from_fpml(&self, xml: &str) -> Result<Trade> {
        if !extraction::fpml::is_fpml(xml) {
            return Err(invalid(
                "fpml",
                "not an FpML message holding a trade (no FpML namespace or no <trade> element)",
            ));
        }
        let r = self.extractor().extract(xml.as_bytes(), "trade.fpml.xml");
        if let Some(e) = r.error.as_deref().filter(|_| !r.status.has_terms()) {
            return Err(invalid("fpml", e.to_string()));
        }
        Trade::checked(r.key_terms, r.cdm).map_err(|e| invalid("fpml", e))
    }

    /// The trade of a CDM TradeState (6.x legacy layout), with Deskmate's extension object
    /// beside it when there is one.
    pub fn trade_from_cdm(&self, state: Value, extension: Option<&Value>) -> Result<Trade> {
        let kt =
            extraction::cdm_read::key_terms(&state, extension).map_err(|e| invalid("cdm", e))?;
        Trade::checked(kt, Some(state)).map_err(|e| invalid("cdm", e))
    }
}
