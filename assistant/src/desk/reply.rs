//! Every text the desk sends to a chat, in the client's language.
//!
//! Quotes open with a label saying they are machine-generated and indicative, state money with
//! its currency and every percentage with what it is a percentage of, and end with the time
//! they stop being valid. Every other message opens with "【自动回复】" / "[Automated reply]".
//! Nothing sent to a client names a limit, an exposure, a trader's reason or another client.
//!
//! Replies are plain text: Telegram's `sendMessage` is called without `parse_mode`, and the
//! webhook's `text` is plain text by contract. The one piece of a reply a person can write, a
//! quote's terms (a trader may edit them), is a [`ClientText`]: markup in it is refused rather
//! than escaped, because an escaped `&lt;` would reach a plain-text chat literally, and because
//! the adapter behind a webhook may render HTML or Markdown (WeCom and DingTalk can), where
//! text that holds no markup can inject none.

use super::price::{Conventions, QuoteKind};
use policies::limits::{Lang, group_thousands};
use rfq::schema::{RfqRequest, Side, Structure};
use rfq::{Language, Lexicon};
use time::{OffsetDateTime, UtcOffset};

/// The most characters of a [`ClientText`].
pub const MAX_CLIENT_TEXT_CHARS: usize = 500;

/// Characters that change how the text around them is shown without being visible themselves:
/// bidirectional overrides and isolates, zero-width characters, the word joiner family and the
/// byte-order mark. A chat would show something other than what was approved.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

/// Client-bound text a person wrote or edited (a quote's terms), checked: 1 to
/// [`MAX_CLIENT_TEXT_CHARS`] characters, not blank; no control characters (NUL, line breaks,
/// tabs, escapes) and no invisible formatting characters; no markup: neither `<` nor `>` (HTML
/// tags, autolinks), nor a backtick (code), nor `](` (Markdown links and images). See the
/// module doc for why markup is refused rather than escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientText(String);

/// Why text cannot go to a client (see [`ClientText`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientTextError {
    /// Nothing but white space.
    #[error("must not be empty")]
    Empty,
    /// Longer than [`MAX_CLIENT_TEXT_CHARS`].
    #[error("is {0} characters; at most {MAX_CLIENT_TEXT_CHARS} go to a client")]
    TooLong(usize),
    /// A control character (NUL, a line break, a tab, an escape).
    #[error(
        "contains the control character U+{:04X}; client-bound text is one line of plain text",
        *.0 as u32
    )]
    Control(char),
    /// An invisible formatting character (a bidirectional override, a zero-width character).
    #[error("contains the invisible formatting character U+{:04X}", *.0 as u32)]
    Invisible(char),
    /// HTML or Markdown.
    #[error(
        "contains markup ({0}); chat replies are plain text and must not carry HTML or Markdown"
    )]
    Markup(&'static str),
}

impl ClientText {
    /// Checks `text`.
    pub fn new(text: &str) -> Result<ClientText, ClientTextError> {
        if text.trim().is_empty() {
            return Err(ClientTextError::Empty);
        }
        let chars = text.chars().count();
        if chars > MAX_CLIENT_TEXT_CHARS {
            return Err(ClientTextError::TooLong(chars));
        }
        if let Some(c) = text.chars().find(|c| c.is_control()) {
            return Err(ClientTextError::Control(c));
        }
        if let Some(c) = text.chars().find(|c| is_invisible_format(*c)) {
            return Err(ClientTextError::Invisible(c));
        }
        for (m, what) in [
            ("<", "\"<\""),
            (">", "\">\""),
            ("`", "a backtick"),
            ("](", "a Markdown link \"](\""),
        ] {
            if text.contains(m) {
                return Err(ClientTextError::Markup(what));
            }
        }
        Ok(ClientText(text.to_string()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The label of a quote.
pub fn quote_label(lang: Language) -> &'static str {
    match lang {
        Language::Zh => "【机器生成·仅供参考】",
        Language::En => "[Machine-generated, indicative only]",
    }
}

fn auto(lang: Language) -> &'static str {
    match lang {
        Language::Zh => "【自动回复】",
        Language::En => "[Automated reply]",
    }
}

fn say(lang: Language, zh: &str, en: &str) -> String {
    match lang {
        Language::Zh => format!("{}{zh}", auto(lang)),
        Language::En => format!("{} {en}", auto(lang)),
    }
}

/// The policies crate's language of `lang`.
pub fn lang(lang: Language) -> Lang {
    match lang {
        Language::Zh => Lang::Zh,
        Language::En => Lang::En,
    }
}

/// The language's stable name (`zh`, `en`).
pub fn language_name(lang: Language) -> &'static str {
    match lang {
        Language::Zh => "zh",
        Language::En => "en",
    }
}

/// Parses [`language_name`].
pub fn parse_language(s: &str) -> Language {
    if s == "zh" {
        Language::Zh
    } else {
        Language::En
    }
}

/// Sent at once when a request is being priced.
pub fn ack(l: Language) -> String {
    say(
        l,
        "已收到，正在报价，交易员确认后回复。",
        "Received, pricing; a trader will confirm the quote.",
    )
}

/// The answer to `/help` (both languages: a command says nothing about the client's).
pub fn help() -> String {
    "【自动回复】请 @ 我并写明询价要素，例如：\n\
     “中证500 雪球 敲出103 敲入75 12个月 1000万 票息多少”\n\
     “50ETF 1个月 平值看涨 名义本金1000万 期权费多少”\n\
     报价由系统生成，经交易员确认后回复，仅供参考。\n\
     [Automated reply] Mention me with the terms, e.g. \
     \"quote 6m 105% call on 510300, notional 20mm\". Quotes are machine-generated, \
     confirmed by a trader, and indicative only."
        .to_string()
}

/// To a chat that no client is mapped to.
pub fn unknown_chat(l: Language) -> String {
    say(
        l,
        "本群尚未开通报价服务，请联系您的销售人员。",
        "This chat is not set up for quotes; please contact your sales representative.",
    )
}

/// Once per throttling window, when a chat sends too much.
pub fn throttled(l: Language) -> String {
    say(
        l,
        "消息过于频繁，请稍后再发。",
        "Too many messages; please wait a moment before sending more.",
    )
}

/// To a message too long to be a request for quote.
pub fn too_long(l: Language) -> String {
    say(
        l,
        "消息过长，请只发送询价要素。",
        "That message is too long; please send only the terms of your request.",
    )
}

/// To an addressed message that is not a request for quote.
pub fn not_rfq(l: Language) -> String {
    say(
        l,
        "未识别到询价要素，发送 /help 查看格式。",
        "I could not find a request for quote; send /help for the format.",
    )
}

/// To a message held for a person (instructions to the bot, questions about other clients).
pub fn flagged(l: Language) -> String {
    say(
        l,
        "您的消息已转交交易员处理。",
        "Your message has been passed to a trader.",
    )
}

/// To an edit of an earlier message.
pub fn edited(l: Language) -> String {
    say(
        l,
        "修改后的消息不会重新报价，请发送一条新消息。",
        "Edited messages are not re-quoted; please send a new message.",
    )
}

/// To an image or file (both languages: there is no text to tell the client's).
pub fn not_text() -> String {
    "【自动回复】请以文字发送询价。[Automated reply] Please send your request as text.".to_string()
}

/// A clarifying question.
pub fn clarify(l: Language, question: &str) -> String {
    match l {
        Language::Zh => format!("{}{question}", auto(l)),
        Language::En => format!("{} {question}", auto(l)),
    }
}

/// A blocked or unpriceable request: the neutral client wording.
pub fn neutral(l: Language, wording: &str) -> String {
    match l {
        Language::Zh => format!("{}{wording}", auto(l)),
        Language::En => format!("{} {wording}", auto(l)),
    }
}

/// A request the desk could not price automatically.
pub fn cannot_price(l: Language) -> String {
    say(
        l,
        "抱歉，该笔询价暂时无法自动报价，交易员会与您联系。",
        "Sorry, we cannot quote this request automatically; a trader will contact you.",
    )
}

/// A quote the trader did not confirm.
pub fn rejected(l: Language) -> String {
    say(
        l,
        "抱歉，该笔报价未能确认，交易员会与您联系。",
        "Sorry, we could not confirm this quote; a trader will contact you.",
    )
}

/// A quote that ran out of time before it was confirmed or sent.
pub fn expired(l: Language) -> String {
    say(
        l,
        "抱歉，该笔报价已超时失效，如需报价请重新询价。",
        "Sorry, this quote has lapsed; please ask again for a new quote.",
    )
}

fn structure_zh(s: Structure) -> &'static str {
    policies::limits::ProductKind::from(s).zh()
}

fn structure_en(s: Structure) -> &'static str {
    match s {
        Structure::Vanilla => "vanilla",
        Structure::Digital => "digital",
        Structure::Barrier => "barrier",
        Structure::SharkFin => "shark fin",
        Structure::Asian => "Asian",
        Structure::Snowball => "snowball",
        Structure::Phoenix => "phoenix",
    }
}

fn p(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    if r.fract() == 0.0 {
        format!("{r:.0}%")
    } else {
        format!("{r}%")
    }
}

/// The terms of a request in words, in both languages: `(zh, en)`, with the observation
/// conventions of autocallables (they are material to a coupon).
pub fn terms(req: &RfqRequest, lexicon: &Lexicon, conv: &Conventions) -> (String, String) {
    let code = req.underlying.clone().unwrap_or_default();
    // The shortest alias that starts with a Chinese character: 中证500, not 500指数.
    let name = lexicon
        .aliases_of(&code)
        .into_iter()
        .filter(|a| a.chars().next().is_some_and(cjk::is_cjk))
        .min_by_key(|a| (a.chars().count(), a.clone()));
    let (mut zh, mut en) = (
        match name {
            Some(n) => format!("{n}（{code}）"),
            None => code.clone(),
        },
        code,
    );
    let s = req.structure.unwrap_or(Structure::Vanilla);
    let (cp_zh, cp_en) = match req.option_type {
        Some(rfq::OptionType::Call) => ("看涨", " call"),
        Some(rfq::OptionType::Put) => ("看跌", " put"),
        None => ("", ""),
    };
    let exercise = |zh_: bool| match (req.exercise, s) {
        (Some(rfq::Exercise::American), _) => {
            if zh_ {
                "美式"
            } else {
                "American "
            }
        }
        (_, Structure::Vanilla) => {
            if zh_ {
                "欧式"
            } else {
                "European "
            }
        }
        _ => "",
    };
    zh.push_str(&format!(" {}{}{cp_zh}", exercise(true), structure_zh(s)));
    en.push_str(&format!(" {}{}{cp_en}", exercise(false), structure_en(s)));
    if let Some(m) = req.tenor_months {
        zh.push_str(&format!(" {m}个月"));
        en.push_str(&format!(" {m}M"));
    }
    let mut add = |zh_label: &str, en_label: &str, v: Option<f64>| {
        if let Some(v) = v {
            zh.push_str(&format!("，{zh_label}{}", p(v)));
            en.push_str(&format!(", {en_label} {}", p(v)));
        }
    };
    add("行权价", "strike", req.strike_pct);
    add("敲出", "KO", req.knock_out_pct);
    add("敲入", "KI", req.knock_in_pct);
    add("障碍", "barrier", req.barrier_pct);
    add("派息线", "coupon barrier", req.coupon_barrier_pct);
    add("参与率", "participation", req.participation_pct);
    add("赔付", "payout", req.payout_pct);
    if s.is_autocallable() {
        let ki = if s == Structure::Snowball {
            conv.snowball_ki
        } else {
            conv.phoenix_ki
        };
        let (f_zh, f_en) = match conv.ko_frequency {
            crate::config::KoFrequency::Quarterly => ("每季度", "quarterly"),
            crate::config::KoFrequency::Monthly => ("每月", "monthly"),
        };
        let (k_zh, k_en) = match ki {
            crate::config::MonitoringKind::Daily => ("每日", "daily"),
            crate::config::MonitoringKind::Continuous => ("连续", "continuously"),
            crate::config::MonitoringKind::AtMaturity => ("到期", "at maturity"),
        };
        zh.push_str(&format!(
            "（敲出{f_zh}观察，锁定期{}个月；敲入{k_zh}观察）",
            conv.lockup_months
        ));
        en.push_str(&format!(
            " (knock-out observed {f_en} after a {}-month lock-up; knock-in observed {k_en})",
            conv.lockup_months
        ));
    }
    (zh, en)
}

/// What a quote reply needs, taken from the approved payload at send time.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteText<'a> {
    /// The client's language.
    pub language: Language,
    /// The terms in the client's language.
    pub terms: &'a ClientText,
    /// The client's side.
    pub side: Side,
    /// What is quoted.
    pub kind: QuoteKind,
    /// The figure offered, in its unit.
    pub figure: f64,
    /// Notional.
    pub notional: f64,
    /// Its currency.
    pub currency: &'a str,
    /// Valid until.
    pub valid_until: OffsetDateTime,
    /// Offset of the time shown.
    pub offset: UtcOffset,
}

fn clock(t: OffsetDateTime, offset: UtcOffset) -> String {
    let t = t.to_offset(offset);
    let (h, m, _) = offset.as_hms();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} (UTC{}{:02}:{:02})",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        if h < 0 || m < 0 { '-' } else { '+' },
        h.unsigned_abs(),
        m.unsigned_abs()
    )
}

/// The reply carrying an approved quote.
pub fn quote(q: &QuoteText<'_>) -> String {
    let amount = group_thousands(q.notional);
    let premium_amount = group_thousands(q.figure / 100.0 * q.notional);
    let f = format!("{:.2}%", q.figure);
    match q.language {
        Language::Zh => {
            let side = match q.side {
                Side::ClientBuys => "客户买入",
                Side::ClientSells => "客户卖出",
            };
            let line = match q.kind {
                QuoteKind::Premium => {
                    format!(
                        "期权费：名义本金的 {f}（约 {premium_amount} {}）",
                        q.currency
                    )
                }
                QuoteKind::Coupon => format!("年化票息：{f}"),
                QuoteKind::KnockOut => format!("敲出价：期初价格的 {f}"),
                QuoteKind::Strike => format!("行权价：期初价格的 {f}"),
            };
            format!(
                "{}\n{}（{side}）\n{line}\n名义本金：{amount} {}\n有效至 {}，以交易员最终确认为准。",
                quote_label(q.language),
                q.terms.as_str(),
                q.currency,
                clock(q.valid_until, q.offset)
            )
        }
        Language::En => {
            let side = match q.side {
                Side::ClientBuys => "client buys",
                Side::ClientSells => "client sells",
            };
            let line = match q.kind {
                QuoteKind::Premium => {
                    format!("Premium: {f} of notional ({premium_amount} {})", q.currency)
                }
                QuoteKind::Coupon => format!("Coupon: {f} p.a."),
                QuoteKind::KnockOut => format!("Knock-out level: {f} of the initial price"),
                QuoteKind::Strike => format!("Strike: {f} of the initial price"),
            };
            format!(
                "{}\n{} ({side})\n{line}\nNotional: {amount} {}\nValid until {}; subject to final confirmation by the trader.",
                quote_label(q.language),
                q.terms.as_str(),
                q.currency,
                clock(q.valid_until, q.offset)
            )
        }
    }
}
