//! Risk limits on quotes: which underlyings may be quoted, what each client may trade, and how
//! much delta and vega the desk may carry per underlying.
//!
//! [`check`] is a pure function of the configuration ([`LimitsConfig`], deserialised from the
//! `[limits]` TOML table), the quote ([`QuoteCheck`]) and the desk's current exposure on the
//! underlying ([`Exposure`]: the book plus quotes still pending). It returns every breach, in a
//! fixed order (underlying, client, exposure); an empty list means the quote may go to the
//! trader's queue. Each [`Breach`] has a plain reason for the trader in Chinese and English
//! ("拒绝：客户 C 无雪球交易权限", "rejected: exceeds the 5,000,000 CNY vega limit on
//! 000905.SH") and a neutral wording for the client that discloses no limit or exposure.
//!
//! Rules:
//! - A code on `blocked_underlyings` is never quoted. When `allowed_underlyings` is not empty,
//!   only codes on it are quoted. A futures main code (`IC.CFFEX`) on a list covers its named
//!   months (`IC2412.CFFEX`).
//! - A client without an entry in `clients` is refused (deny by default). A client may trade only
//!   its `structures`, up to `max_notional` (in `notional_currency`; a notional in another
//!   currency is refused rather than converted) and `max_tenor_months`. A missing notional or
//!   tenor is refused: a limit that cannot be checked is not passed.
//! - Exposure limits apply per underlying (its own entry, else its futures main code's entry,
//!   else `default_exposure`). The quote breaches a limit when the absolute exposure after it
//!   (book + pending quotes + this quote) exceeds the limit *and* the quote increases the
//!   absolute exposure: a quote that reduces an exposure already over its limit is allowed.
//!   Without the quote's Greeks an exposure limit cannot be checked and the quote is refused.
//!
//! ```toml
//! allowed_underlyings = []                       # empty: all but the blocked ones
//! blocked_underlyings = ["600519.SH"]
//!
//! [clients.C001]
//! name = "客户 C"                                 # shown in reasons; the id when absent
//! structures = ["vanilla", "shark_fin"]
//! max_notional = 50_000_000
//! notional_currency = "CNY"                       # default CNY
//! max_tenor_months = 12
//! region = "华东"                                 # region, industry, size: descriptive, for
//! industry = "fund"                               # bias audits only (never read by pricing,
//! size = "medium"                                 # margins or limits)
//!
//! [exposure."000905.SH"]
//! max_abs_delta = 20_000_000                      # cash delta, in `currency`
//! max_abs_vega = 5_000_000                        # vega, in `currency`
//! currency = "CNY"                                # default CNY
//!
//! [default_exposure]
//! max_abs_vega = 2_000_000
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// The structures a client may be permitted to trade (the spellings of the RFQ schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// European or American call or put.
    Vanilla,
    /// Digital.
    Digital,
    /// Barrier option.
    Barrier,
    /// Shark fin.
    SharkFin,
    /// Asian option.
    Asian,
    /// Snowball autocallable.
    Snowball,
    /// Phoenix autocallable.
    Phoenix,
}

impl ProductKind {
    /// The schema's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Vanilla => "vanilla",
            ProductKind::Digital => "digital",
            ProductKind::Barrier => "barrier",
            ProductKind::SharkFin => "shark_fin",
            ProductKind::Asian => "asian",
            ProductKind::Snowball => "snowball",
            ProductKind::Phoenix => "phoenix",
        }
    }

    /// The Chinese desk name.
    pub fn zh(self) -> &'static str {
        match self {
            ProductKind::Vanilla => "香草期权",
            ProductKind::Digital => "二元期权",
            ProductKind::Barrier => "障碍期权",
            ProductKind::SharkFin => "鲨鱼鳍",
            ProductKind::Asian => "亚式期权",
            ProductKind::Snowball => "雪球",
            ProductKind::Phoenix => "凤凰",
        }
    }

    /// The English plural, for reasons ("snowballs").
    pub fn en_plural(self) -> &'static str {
        match self {
            ProductKind::Vanilla => "vanilla options",
            ProductKind::Digital => "digitals",
            ProductKind::Barrier => "barrier options",
            ProductKind::SharkFin => "shark fins",
            ProductKind::Asian => "Asian options",
            ProductKind::Snowball => "snowballs",
            ProductKind::Phoenix => "phoenixes",
        }
    }
}

fn cny() -> String {
    "CNY".to_string()
}

/// The limits configuration (the `[limits]` table of the desk's TOML configuration).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Codes that may be quoted; empty means every code that is not blocked.
    #[serde(default)]
    pub allowed_underlyings: Vec<String>,
    /// Codes that must never be quoted.
    #[serde(default)]
    pub blocked_underlyings: Vec<String>,
    /// Permissions by client id.
    #[serde(default)]
    pub clients: BTreeMap<String, ClientLimits>,
    /// Exposure limits by underlying code.
    #[serde(default)]
    pub exposure: BTreeMap<String, ExposureLimit>,
    /// Exposure limits for underlyings without an entry of their own; none: no limit.
    #[serde(default)]
    pub default_exposure: Option<ExposureLimit>,
}

/// What one client may trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientLimits {
    /// The name shown in reasons (the client id when absent).
    #[serde(default)]
    pub name: Option<String>,
    /// The structures the client may trade.
    pub structures: Vec<ProductKind>,
    /// The largest notional of one request, in `notional_currency`.
    pub max_notional: f64,
    /// The currency of `max_notional` (default CNY).
    #[serde(default = "cny")]
    pub notional_currency: String,
    /// The longest tenor, in months.
    pub max_tenor_months: u32,
    /// The client's region (`华东`, `Hong Kong`), industry (`bank`, `私募`) and size tier
    /// (`large`, `small`): descriptive only, for bias audits and group statistics
    /// (`deskmate eval bias`). Pricing, margins and limits never read them.
    #[serde(default)]
    pub region: Option<String>,
    /// See `region`.
    #[serde(default)]
    pub industry: Option<String>,
    /// See `region`.
    #[serde(default)]
    pub size: Option<String>,
}

/// The desk's exposure limits on one underlying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExposureLimit {
    /// Largest absolute cash delta, in `currency`.
    #[serde(default)]
    pub max_abs_delta: Option<f64>,
    /// Largest absolute vega, in `currency`.
    #[serde(default)]
    pub max_abs_vega: Option<f64>,
    /// The currency of the limits (default CNY).
    #[serde(default = "cny")]
    pub currency: String,
}

/// A configuration mistake, naming the entry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("limits configuration: {entry}: {problem}")]
pub struct LimitsConfigError {
    /// The entry (`clients.C001.max_notional`).
    pub entry: String,
    /// What is wrong.
    pub problem: String,
}

impl LimitsConfig {
    /// Checks the configuration: positive limits, ISO currency codes, no code both allowed and
    /// blocked.
    pub fn validate(&self) -> Result<(), LimitsConfigError> {
        let err = |entry: String, problem: &str| {
            Err(LimitsConfigError {
                entry,
                problem: problem.to_string(),
            })
        };
        let iso = |c: &str| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase());
        for code in &self.allowed_underlyings {
            if self.blocked_underlyings.contains(code) {
                return err(format!("allowed_underlyings {code}"), "is also blocked");
            }
        }
        for (id, c) in &self.clients {
            if !(c.max_notional.is_finite() && c.max_notional > 0.0) {
                return err(
                    format!("clients.{id}.max_notional"),
                    "must be a positive number",
                );
            }
            if c.max_tenor_months == 0 {
                return err(
                    format!("clients.{id}.max_tenor_months"),
                    "must be at least 1",
                );
            }
            if !iso(&c.notional_currency) {
                return err(
                    format!("clients.{id}.notional_currency"),
                    "must be an ISO 4217 code",
                );
            }
        }
        let limits = self
            .exposure
            .iter()
            .map(|(k, v)| (format!("exposure.{k}"), v));
        let default = self
            .default_exposure
            .iter()
            .map(|v| ("default_exposure".to_string(), v));
        for (entry, e) in limits.chain(default) {
            for (name, v) in [
                ("max_abs_delta", e.max_abs_delta),
                ("max_abs_vega", e.max_abs_vega),
            ] {
                if let Some(v) = v
                    && !(v.is_finite() && v > 0.0)
                {
                    return err(format!("{entry}.{name}"), "must be a positive number");
                }
            }
            if !iso(&e.currency) {
                return err(format!("{entry}.currency"), "must be an ISO 4217 code");
            }
        }
        Ok(())
    }
}

/// The quote to check.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteCheck<'a> {
    /// The client's id (a key of [`LimitsConfig::clients`]).
    pub client: &'a str,
    /// The canonical underlying code.
    pub underlying: &'a str,
    /// The structure.
    pub structure: ProductKind,
    /// The notional, in `currency`.
    pub notional: Option<f64>,
    /// The notional's currency.
    pub currency: Option<&'a str>,
    /// The tenor in months.
    pub tenor_months: Option<u32>,
    /// The desk's change of exposure if the client trades, in the exposure limit's currency;
    /// `None` before pricing.
    pub greeks: Option<QuoteGreeks>,
}

/// The desk's change of exposure from one quote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuoteGreeks {
    /// Cash delta.
    pub delta: f64,
    /// Vega.
    pub vega: f64,
}

/// The desk's exposure on one underlying before the quote.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Exposure {
    /// Cash delta of the book.
    pub book_delta: f64,
    /// Vega of the book.
    pub book_vega: f64,
    /// Cash delta of quotes sent or waiting for approval, not yet traded.
    pub pending_delta: f64,
    /// Vega of those quotes.
    pub pending_vega: f64,
}

/// Which Greek an exposure limit is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Greek {
    /// Cash delta.
    Delta,
    /// Vega.
    Vega,
}

impl Greek {
    fn name(self) -> &'static str {
        match self {
            Greek::Delta => "delta",
            Greek::Vega => "vega",
        }
    }
}

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Breach {
    /// The underlying is on the blocked list.
    UnderlyingBlocked {
        /// The code.
        underlying: String,
    },
    /// The allowed list is in force and the underlying is not on it.
    UnderlyingNotAllowed {
        /// The code.
        underlying: String,
    },
    /// No permissions are configured for the client.
    UnknownClient {
        /// The client id.
        client: String,
    },
    /// The client may not trade the structure.
    StructureNotPermitted {
        /// The client's name.
        client: String,
        /// The structure.
        structure: ProductKind,
    },
    /// The request has no notional to check.
    NotionalMissing {
        /// The client's name.
        client: String,
    },
    /// The notional is in another currency than the client's limit.
    NotionalCurrency {
        /// The client's name.
        client: String,
        /// The notional's currency.
        currency: String,
        /// The limit's currency.
        limit_currency: String,
    },
    /// The notional exceeds the client's limit.
    NotionalExceeded {
        /// The client's name.
        client: String,
        /// The notional.
        notional: f64,
        /// The limit.
        limit: f64,
        /// The currency.
        currency: String,
    },
    /// The request has no tenor to check.
    TenorMissing {
        /// The client's name.
        client: String,
    },
    /// The tenor exceeds the client's limit.
    TenorExceeded {
        /// The client's name.
        client: String,
        /// The tenor in months.
        months: u32,
        /// The limit in months.
        limit: u32,
    },
    /// An exposure limit applies and the quote has no Greeks yet.
    GreeksMissing {
        /// The underlying.
        underlying: String,
    },
    /// The desk's exposure after the quote would exceed a limit.
    ExposureExceeded {
        /// The underlying.
        underlying: String,
        /// Delta or vega.
        greek: Greek,
        /// The limit.
        limit: f64,
        /// The absolute exposure after the quote (book + pending + quote).
        after: f64,
        /// The currency.
        currency: String,
    },
}

/// The language of a wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Chinese.
    Zh,
    /// English.
    En,
}

/// A number with thousands separators, rounded to a whole number: 5,000,000.
pub fn group_thousands(v: f64) -> String {
    let r = v.round();
    let neg = r < 0.0;
    let digits = format!("{:.0}", r.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if neg { format!("-{out}") } else { out }
}

impl Breach {
    /// The plain reason for the trader, in Chinese.
    pub fn reason_zh(&self) -> String {
        match self {
            Breach::UnderlyingBlocked { underlying } => {
                format!("拒绝：标的 {underlying} 在禁止名单上")
            }
            Breach::UnderlyingNotAllowed { underlying } => {
                format!("拒绝：标的 {underlying} 不在准入名单内")
            }
            Breach::UnknownClient { client } => format!("拒绝：客户 {client} 未配置交易权限"),
            Breach::StructureNotPermitted { client, structure } => {
                format!("拒绝：客户 {client} 无{}交易权限", structure.zh())
            }
            Breach::NotionalMissing { client } => {
                format!("拒绝：缺少名义本金，无法核对客户 {client} 的额度")
            }
            Breach::NotionalCurrency {
                client,
                currency,
                limit_currency,
            } => {
                format!(
                    "拒绝：名义本金币种 {currency} 与客户 {client} 的额度币种 {limit_currency} 不一致"
                )
            }
            Breach::NotionalExceeded {
                client,
                notional,
                limit,
                currency,
            } => format!(
                "拒绝：名义本金 {} {currency} 超出客户 {client} 的上限 {} {currency}",
                group_thousands(*notional),
                group_thousands(*limit)
            ),
            Breach::TenorMissing { client } => {
                format!("拒绝：缺少期限，无法核对客户 {client} 的期限上限")
            }
            Breach::TenorExceeded {
                client,
                months,
                limit,
            } => {
                format!("拒绝：期限 {months} 个月超出客户 {client} 的上限 {limit} 个月")
            }
            Breach::GreeksMissing { underlying } => {
                format!("拒绝：缺少希腊值，无法核对 {underlying} 的敞口限额")
            }
            Breach::ExposureExceeded {
                underlying,
                greek,
                limit,
                after,
                currency,
            } => format!(
                "拒绝：超出 {underlying} 的 {} 限额 {} {currency}（含本笔及待定报价为 {} {currency}）",
                greek.name(),
                group_thousands(*limit),
                group_thousands(*after)
            ),
        }
    }

    /// The plain reason for the trader, in English.
    pub fn reason_en(&self) -> String {
        match self {
            Breach::UnderlyingBlocked { underlying } => {
                format!("rejected: {underlying} is on the blocked list")
            }
            Breach::UnderlyingNotAllowed { underlying } => {
                format!("rejected: {underlying} is not on the approved list")
            }
            Breach::UnknownClient { client } => {
                format!("rejected: no permissions are configured for client {client}")
            }
            Breach::StructureNotPermitted { client, structure } => {
                format!(
                    "rejected: client {client} is not permitted to trade {}",
                    structure.en_plural()
                )
            }
            Breach::NotionalMissing { client } => {
                format!("rejected: no notional to check against client {client}'s limit")
            }
            Breach::NotionalCurrency {
                client,
                currency,
                limit_currency,
            } => format!(
                "rejected: a notional in {currency} cannot be checked against client {client}'s {limit_currency} limit"
            ),
            Breach::NotionalExceeded {
                client,
                notional,
                limit,
                currency,
            } => format!(
                "rejected: notional {} {currency} exceeds client {client}'s limit of {} {currency}",
                group_thousands(*notional),
                group_thousands(*limit)
            ),
            Breach::TenorMissing { client } => {
                format!("rejected: no tenor to check against client {client}'s limit")
            }
            Breach::TenorExceeded {
                client,
                months,
                limit,
            } => {
                format!(
                    "rejected: tenor of {months} months exceeds client {client}'s limit of {limit} months"
                )
            }
            Breach::GreeksMissing { underlying } => {
                format!("rejected: no Greeks to check the exposure limits on {underlying}")
            }
            Breach::ExposureExceeded {
                underlying,
                greek,
                limit,
                after,
                currency,
            } => format!(
                "rejected: exceeds the {} {currency} {} limit on {underlying} ({} {currency} with this and pending quotes)",
                group_thousands(*limit),
                greek.name(),
                group_thousands(*after)
            ),
        }
    }

    /// The reason in `lang`.
    pub fn reason(&self, lang: Lang) -> String {
        match lang {
            Lang::Zh => self.reason_zh(),
            Lang::En => self.reason_en(),
        }
    }

    /// A neutral wording for the client: it names no limit, no exposure and no other client.
    pub fn client_wording(&self, lang: Lang) -> &'static str {
        let kind = match self {
            Breach::UnderlyingBlocked { .. } | Breach::UnderlyingNotAllowed { .. } => 0,
            Breach::UnknownClient { .. }
            | Breach::StructureNotPermitted { .. }
            | Breach::NotionalMissing { .. }
            | Breach::NotionalCurrency { .. }
            | Breach::NotionalExceeded { .. }
            | Breach::TenorMissing { .. }
            | Breach::TenorExceeded { .. } => 1,
            Breach::GreeksMissing { .. } | Breach::ExposureExceeded { .. } => 2,
        };
        match (kind, lang) {
            (0, Lang::Zh) => "抱歉，该标的暂不提供报价。",
            (0, Lang::En) => "Sorry, we are not able to quote this underlying at the moment.",
            (1, Lang::Zh) => "抱歉，该笔询价超出了可在此报价的范围，交易员会与您联系。",
            (1, Lang::En) => {
                "Sorry, this request is outside what we can quote here; a trader will contact you."
            }
            (_, Lang::Zh) => "抱歉，该笔询价暂时无法报价，交易员会与您联系。",
            (_, Lang::En) => {
                "Sorry, we cannot quote this request at the moment; a trader will contact you."
            }
        }
    }
}

/// Whether `code` is `entry` or a named month of the futures main code `entry`
/// (`IC2412.CFFEX` under `IC.CFFEX`).
pub fn covered_by(code: &str, entry: &str) -> bool {
    if code == entry {
        return true;
    }
    let (Some((sym, exch)), Some((esym, eexch))) = (code.split_once('.'), entry.split_once('.'))
    else {
        return false;
    };
    exch == eexch
        && esym.bytes().all(|b| b.is_ascii_uppercase())
        && sym.len() == esym.len() + 4
        && sym.starts_with(esym)
        && sym[esym.len()..].bytes().all(|b| b.is_ascii_digit())
}

impl LimitsConfig {
    /// The exposure limit that applies to `underlying` (its own, a covering entry's, or the
    /// default).
    pub fn exposure_limit(&self, underlying: &str) -> Option<&ExposureLimit> {
        exposure_limit(self, underlying)
    }
}

/// The exposure limit that applies to `underlying`.
fn exposure_limit<'a>(cfg: &'a LimitsConfig, underlying: &str) -> Option<&'a ExposureLimit> {
    cfg.exposure
        .get(underlying)
        .or_else(|| {
            cfg.exposure
                .iter()
                .find(|(k, _)| covered_by(underlying, k))
                .map(|(_, v)| v)
        })
        .or(cfg.default_exposure.as_ref())
}

/// Checks `quote` against `cfg` given the desk's `exposure` on its underlying; every breach, in
/// the order underlying, client, exposure. Empty: the quote passes.
pub fn check(cfg: &LimitsConfig, quote: &QuoteCheck<'_>, exposure: &Exposure) -> Vec<Breach> {
    let mut out = Vec::new();
    let u = quote.underlying;
    if cfg.blocked_underlyings.iter().any(|b| covered_by(u, b)) {
        out.push(Breach::UnderlyingBlocked {
            underlying: u.to_string(),
        });
    } else if !cfg.allowed_underlyings.is_empty()
        && !cfg.allowed_underlyings.iter().any(|a| covered_by(u, a))
    {
        out.push(Breach::UnderlyingNotAllowed {
            underlying: u.to_string(),
        });
    }
    match cfg.clients.get(quote.client) {
        None => out.push(Breach::UnknownClient {
            client: quote.client.to_string(),
        }),
        Some(c) => {
            let name = c.name.clone().unwrap_or_else(|| quote.client.to_string());
            if !c.structures.contains(&quote.structure) {
                out.push(Breach::StructureNotPermitted {
                    client: name.clone(),
                    structure: quote.structure,
                });
            }
            match (quote.notional, quote.currency) {
                (None, _) => out.push(Breach::NotionalMissing {
                    client: name.clone(),
                }),
                (Some(n), _) if !(n.is_finite() && n > 0.0) => out.push(Breach::NotionalMissing {
                    client: name.clone(),
                }),
                (Some(_), cur) if cur != Some(c.notional_currency.as_str()) => {
                    out.push(Breach::NotionalCurrency {
                        client: name.clone(),
                        currency: cur.unwrap_or("unknown").to_string(),
                        limit_currency: c.notional_currency.clone(),
                    })
                }
                (Some(n), _) if n > c.max_notional => out.push(Breach::NotionalExceeded {
                    client: name.clone(),
                    notional: n,
                    limit: c.max_notional,
                    currency: c.notional_currency.clone(),
                }),
                _ => {}
            }
            match quote.tenor_months {
                None => out.push(Breach::TenorMissing { client: name }),
                Some(m) if m > c.max_tenor_months => out.push(Breach::TenorExceeded {
                    client: name,
                    months: m,
                    limit: c.max_tenor_months,
                }),
                Some(_) => {}
            }
        }
    }
    if let Some(lim) = exposure_limit(cfg, u)
        && (lim.max_abs_delta.is_some() || lim.max_abs_vega.is_some())
    {
        match quote.greeks {
            None => out.push(Breach::GreeksMissing {
                underlying: u.to_string(),
            }),
            Some(g) => {
                let checks = [
                    (
                        Greek::Delta,
                        lim.max_abs_delta,
                        exposure.book_delta + exposure.pending_delta,
                        g.delta,
                    ),
                    (
                        Greek::Vega,
                        lim.max_abs_vega,
                        exposure.book_vega + exposure.pending_vega,
                        g.vega,
                    ),
                ];
                for (greek, limit, before, change) in checks {
                    let Some(limit) = limit else { continue };
                    let after = before + change;
                    // NaN Greeks fail closed: the comparison below is false for NaN.
                    let within = after.abs() <= limit || after.abs() <= before.abs();
                    if !within {
                        out.push(Breach::ExposureExceeded {
                            underlying: u.to_string(),
                            greek,
                            limit,
                            after: after.abs(),
                            currency: lim.currency.clone(),
                        });
                    }
                }
            }
        }
    }
    out
}
