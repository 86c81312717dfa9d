//! The one clarifying question the bot asks when a request lacks what the desk needs to price.
//!
//! The bot does not guess: for a parse with a non-empty `missing` it asks one short question in
//! the client's language that names every missing field, e.g. "请问期限和名义本金分别是多少？" or
//! "Could you tell us the tenor and the notional?". Call/put and the structure are asked as a
//! choice ("看涨还是看跌", "call or put").

use super::schema::{MissingField, RfqParse};
use serde::Serialize;

/// The language of a client's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Chinese.
    Zh,
    /// English (and anything that is not Chinese).
    En,
}

/// The language of `message`: Chinese when it has at least two CJK ideographs, or more
/// ideographs than Latin words; English otherwise.
pub fn detect_language(message: &str) -> Language {
    let cjk = message.chars().filter(|c| cjk::is_cjk(*c)).count();
    let words = message
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .count();
    if cjk >= 2 && cjk * 2 >= words {
        Language::Zh
    } else {
        Language::En
    }
}

/// The clarifying question for `parse`, or `None` when nothing is missing (or the message is
/// not a request for quote).
pub fn question(parse: &RfqParse, language: Language) -> Option<String> {
    if parse.requests.is_empty() || parse.missing.is_empty() {
        return None;
    }
    Some(match language {
        Language::Zh => zh(&parse.missing),
        Language::En => en(&parse.missing),
    })
}

fn zh_name(m: MissingField) -> &'static str {
    match m {
        MissingField::Barrier => "障碍价",
        MissingField::Coupon => "票息",
        MissingField::CouponBarrier => "派息线",
        MissingField::KnockIn => "敲入价",
        MissingField::KnockOut => "敲出价",
        MissingField::Notional => "名义本金",
        MissingField::OptionType => "看涨还是看跌",
        MissingField::Participation => "参与率",
        MissingField::Payout => "赔付",
        MissingField::Strike => "行权价",
        MissingField::Structure => "什么结构（香草、雪球、鲨鱼鳍等）",
        MissingField::Tenor => "期限",
        MissingField::Underlying => "标的",
    }
}

fn en_name(m: MissingField) -> &'static str {
    match m {
        MissingField::Barrier => "the barrier",
        MissingField::Coupon => "the coupon",
        MissingField::CouponBarrier => "the coupon barrier",
        MissingField::KnockIn => "the knock-in level",
        MissingField::KnockOut => "the knock-out level",
        MissingField::Notional => "the notional",
        MissingField::OptionType => "whether it is a call or a put",
        MissingField::Participation => "the participation rate",
        MissingField::Payout => "the payout",
        MissingField::Strike => "the strike",
        MissingField::Structure => "the structure (vanilla, snowball, shark fin…)",
        MissingField::Tenor => "the tenor",
        MissingField::Underlying => "the underlying",
    }
}

/// Order of asking: what the request is about first, then its terms.
fn asking_order(missing: &[MissingField]) -> Vec<MissingField> {
    const ORDER: [MissingField; 13] = [
        MissingField::Underlying,
        MissingField::Structure,
        MissingField::OptionType,
        MissingField::Strike,
        MissingField::KnockOut,
        MissingField::KnockIn,
        MissingField::Barrier,
        MissingField::CouponBarrier,
        MissingField::Coupon,
        MissingField::Participation,
        MissingField::Payout,
        MissingField::Tenor,
        MissingField::Notional,
    ];
    ORDER.into_iter().filter(|m| missing.contains(m)).collect()
}

fn zh(missing: &[MissingField]) -> String {
    let order = asking_order(missing);
    let (choices, amounts): (Vec<MissingField>, Vec<MissingField>) =
        order.into_iter().partition(|m| {
            matches!(
                m,
                MissingField::OptionType | MissingField::Structure | MissingField::Underlying
            )
        });
    let mut parts: Vec<String> = Vec::new();
    for m in choices {
        parts.push(match m {
            MissingField::Underlying => "标的是哪个".to_string(),
            MissingField::Structure => "是什么结构（香草、雪球、鲨鱼鳍等）".to_string(),
            _ => "是看涨还是看跌".to_string(),
        });
    }
    if !amounts.is_empty() {
        let names: Vec<&str> = amounts.iter().map(|m| zh_name(*m)).collect();
        let list = join_zh(&names);
        parts.push(if names.len() > 1 {
            format!("{list}分别是多少")
        } else {
            format!("{list}是多少")
        });
    }
    format!("请问{}？", parts.join("，"))
}

fn join_zh(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{}和{}", init.join("、"), last),
    }
}

fn en(missing: &[MissingField]) -> String {
    let names: Vec<&str> = asking_order(missing).into_iter().map(en_name).collect();
    let list = match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [a, b] => format!("{a} and {b}"),
        [init @ .., last] => format!("{}, and {}", init.join(", "), last),
    };
    if missing == [MissingField::OptionType] {
        "Is it a call or a put?".to_string()
    } else {
        format!("Could you tell us {list}?")
    }
}
