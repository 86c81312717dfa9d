//! How a placeholder's value is written: the kind of each key-term leaf ([`LeafKind`]), the
//! formats a template may ask for ([`Format`]) and the deterministic writing of each in English
//! and Chinese: dates (`23 June 2005`, `2005年6月23日`), amounts with thousands separators,
//! amounts in words (`three hundred million`; in capitals 大写 `叁亿元整`), percentages, currency
//! names, the localised words of enumerations, and party roles. No model writes any of this.

use crate::template::Language;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What kind of value a key-term leaf holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    /// An ISO date.
    Date,
    /// An amount or price (written with at least two decimals).
    Money,
    /// A count (options, months, shares).
    Count,
    /// A percentage figure (`103` = 103%).
    Percent,
    /// A decimal rate (`0.0409` = 4.09%).
    Rate,
    /// An ISO 4217 code.
    Currency,
    /// A party's legal name.
    Party,
    /// `party_a` or `party_b` (buyer, seller, payers).
    Role,
    /// One of a closed list (`call`, `european`, `knock_out`, `monthly` …).
    Enum,
    /// Anything else, written as given.
    Text,
}

impl LeafKind {
    /// The kind of a key-term leaf.
    pub fn of(leaf: &str) -> LeafKind {
        match leaf {
            "trade_date"
            | "effective_date"
            | "expiration_date"
            | "termination_date"
            | "premium.payment_date" => LeafKind::Date,
            l if l.starts_with("other.") && l.ends_with("_date") => LeafKind::Date,
            "strike.value"
            | "notional.amount"
            | "premium.amount"
            | "barrier.level"
            | "cap_price.value"
            | "floor_price.value"
            | "initial_price.value"
            | "other.reference_price"
            | "other.knock_in_level"
            | "other.knock_out_level"
            | "other.initial_payment.amount" => LeafKind::Money,
            "number_of_options"
            | "option_entitlement"
            | "autocall.lockup_months"
            | "other.number_of_shares" => LeafKind::Count,
            "participation_pct"
            | "payout_pct"
            | "autocall.knock_out_pct"
            | "autocall.knock_in_pct"
            | "autocall.coupon_barrier_pct"
            | "other.cap_premium_pct" => LeafKind::Percent,
            "fixed_rate"
            | "autocall.coupon_rate"
            | "other.premium_rate"
            | "other.initial_floating_rate" => LeafKind::Rate,
            l if l.ends_with(".currency") => LeafKind::Currency,
            "party_a" | "party_b" => LeafKind::Party,
            "buyer"
            | "seller"
            | "other.fixed_rate_payer"
            | "other.floating_rate_payer"
            | "other.equity_amount_payer"
            | "other.initial_payment.payer" => LeafKind::Role,
            "product_type"
            | "option_type"
            | "exercise_style"
            | "strike.unit"
            | "settlement"
            | "barrier.kind"
            | "barrier.direction"
            | "autocall.knock_out_observation"
            | "autocall.knock_in_observation" => LeafKind::Enum,
            _ => LeafKind::Text,
        }
    }

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            LeafKind::Date => "date",
            LeafKind::Money => "money",
            LeafKind::Count => "count",
            LeafKind::Percent => "percent",
            LeafKind::Rate => "rate",
            LeafKind::Currency => "currency",
            LeafKind::Party => "party",
            LeafKind::Role => "role",
            LeafKind::Enum => "enumeration",
            LeafKind::Text => "text",
        }
    }

    /// The format used when a placeholder names none.
    pub fn default_format(self) -> Format {
        match self {
            LeafKind::Date => Format::Date,
            LeafKind::Money => Format::Amount,
            LeafKind::Count => Format::Number,
            LeafKind::Percent | LeafKind::Rate => Format::Percent,
            LeafKind::Currency => Format::Currency,
            LeafKind::Party | LeafKind::Text => Format::Text,
            LeafKind::Role => Format::Name,
            LeafKind::Enum => Format::Word,
        }
    }
}

/// How a placeholder's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A date in the document's language (`23 June 2005`, `2005年6月23日`).
    Date,
    /// A date as `2005-06-23`.
    Iso,
    /// An amount with thousands separators and at least two decimals (`300,000,000.00`).
    Amount,
    /// A number with thousands separators, decimals as given (`1,000`, `2.853`).
    Number,
    /// An amount in words: English words, or Chinese capitals (大写) with 元/角/分/整 for money.
    Words,
    /// A percentage (`103%` from 103; `4.09%` from the rate 0.0409).
    Percent,
    /// The ISO code (`USD`).
    Currency,
    /// The currency's name in the document's language (`US Dollars`, `美元`).
    CurrencyName,
    /// For a role (`party_a`): the party's legal name.
    Name,
    /// For a role: `Party A` / `甲方`.
    Role,
    /// An enumeration's word in the document's language (`Call`, `看涨`).
    Word,
    /// The value as given.
    Text,
}

impl Format {
    /// Every format.
    pub const ALL: &[Format] = &[
        Format::Date,
        Format::Iso,
        Format::Amount,
        Format::Number,
        Format::Words,
        Format::Percent,
        Format::Currency,
        Format::CurrencyName,
        Format::Name,
        Format::Role,
        Format::Word,
        Format::Text,
    ];

    /// The name a template writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Date => "date",
            Format::Iso => "iso",
            Format::Amount => "amount",
            Format::Number => "number",
            Format::Words => "words",
            Format::Percent => "percent",
            Format::Currency => "currency",
            Format::CurrencyName => "currency_name",
            Format::Name => "name",
            Format::Role => "role",
            Format::Word => "word",
            Format::Text => "text",
        }
    }

    /// The format a template names.
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.as_str() == s)
    }

    /// Whether the format can write a value of this kind.
    pub fn suits(self, kind: LeafKind) -> bool {
        use LeafKind as K;
        match self {
            Format::Date | Format::Iso => kind == K::Date,
            Format::Amount | Format::Words => matches!(kind, K::Money | K::Count),
            Format::Number => matches!(kind, K::Money | K::Count | K::Percent | K::Rate),
            Format::Percent => matches!(kind, K::Percent | K::Rate),
            Format::Currency | Format::CurrencyName => kind == K::Currency,
            Format::Name | Format::Role => kind == K::Role,
            Format::Word => kind == K::Enum,
            Format::Text => true,
        }
    }
}

/// `2005-06-23` as `23 June 2005` or `2005年6月23日`.
pub fn date(iso: &str, lang: Language) -> Result<String, String> {
    let d = extraction::parse::parse_iso(iso)
        .ok_or_else(|| format!("`{iso}` is not a date YYYY-MM-DD"))?;
    let (y, m, day) = (d.year(), d.month(), d.day());
    Ok(match lang {
        Language::En => format!("{day} {m} {y}"),
        Language::Zh => format!("{y}年{}月{day}日", u8::from(m)),
    })
}

/// A number with thousands separators, at least `min_decimals` decimals, otherwise as given
/// (the shortest form that reads back to the same number).
pub fn number(v: f64, min_decimals: usize) -> String {
    let s = format!("{}", v.abs());
    let mut frac = s.split_once('.').map_or("", |(_, f)| f).to_string();
    while frac.len() < min_decimals {
        frac.push('0');
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let int = policies::limits::group_thousands(v.abs().trunc());
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

fn words_below_thousand(n: u64) -> String {
    let mut parts = Vec::new();
    if n >= 100 {
        parts.push(format!("{} hundred", ONES[(n / 100) as usize]));
    }
    let r = n % 100;
    if r > 0 {
        let t = if r < 20 {
            ONES[r as usize].to_string()
        } else if r.is_multiple_of(10) {
            TENS[(r / 10) as usize].to_string()
        } else {
            format!("{}-{}", TENS[(r / 10) as usize], ONES[(r % 10) as usize])
        };
        if n >= 100 {
            parts.push(format!("and {t}"));
        } else {
            parts.push(t);
        }
    }
    parts.join(" ")
}

/// A whole number in English words (`three hundred million`).
pub fn english_words(n: u64) -> String {
    if n == 0 {
        return "zero".into();
    }
    const SCALES: [&str; 5] = ["", " thousand", " million", " billion", " trillion"];
    let mut groups = Vec::new();
    let mut m = n;
    while m > 0 {
        groups.push(m % 1000);
        m /= 1000;
    }
    let mut parts = Vec::new();
    for (i, g) in groups.iter().enumerate().rev() {
        if *g > 0 {
            parts.push(format!("{}{}", words_below_thousand(*g), SCALES[i]));
        }
    }
    parts.join(" ")
}

/// Reads English number words back (`three hundred million` → 300,000,000; case, hyphens and
/// `and` ignored); `None` when a word is not a number word or the words do not form a number.
pub fn parse_english_words(words: &str) -> Option<u64> {
    let (mut total, mut group, mut any) = (0u64, 0u64, false);
    for w in words
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|w| !w.is_empty())
    {
        let w = w.to_ascii_lowercase();
        if w == "and" {
            continue;
        }
        if let Some(n) = ONES.iter().position(|o| *o == w).filter(|n| *n > 0) {
            group = group.checked_add(n as u64)?;
        } else if let Some(n) = TENS.iter().position(|t| *t == w).filter(|n| *n > 1) {
            group = group.checked_add(10 * n as u64)?;
        } else if w == "hundred" {
            group = group.max(1).checked_mul(100)?;
        } else if let Some(scale) = match w.as_str() {
            "thousand" => Some(1_000u64),
            "million" => Some(1_000_000),
            "billion" => Some(1_000_000_000),
            "trillion" => Some(1_000_000_000_000),
            _ => None,
        } {
            total = total.checked_add(group.max(1).checked_mul(scale)?)?;
            group = 0;
        } else if w == "zero" {
        } else {
            return None;
        }
        any = true;
    }
    any.then(|| total.checked_add(group)).flatten()
}

/// Reads an amount in words back: English words with optional `and NN/100`, or Chinese
/// capitals with 元/角/分/整 (or a bare number in capitals). `None` when it is not one.
pub fn parse_amount_words(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.chars().any(cjk::is_cjk) {
        let t = t.trim_end_matches('整');
        let (whole, rest) = match t.split_once('元') {
            Some((w, r)) => (w, r),
            None if t.contains('角') || t.contains('分') => ("", t),
            None => (t, ""),
        };
        let w: Vec<char> = whole.chars().collect();
        let mut v = if w.is_empty() {
            0.0
        } else {
            cjk::numeral_value(&w)? as f64
        };
        let mut digit = None;
        for c in rest.chars() {
            match c {
                '零' => {}
                '角' => v += 0.1 * digit.take()? as f64,
                '分' => v += 0.01 * digit.take()? as f64,
                _ => digit = Some(ZH_DIGITS.iter().position(|d| *d == c)? as u64),
            }
        }
        if digit.is_some() {
            return None;
        }
        return Some((v * 100.0).round() / 100.0);
    }
    let (words, cents) = match t.rsplit_once(" and ") {
        Some((w, c)) if c.ends_with("/100") => {
            (w, c.trim_end_matches("/100").trim().parse::<u64>().ok()?)
        }
        _ => (t, 0),
    };
    Some(parse_english_words(words)? as f64 + cents as f64 / 100.0)
}

const ZH_DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
const ZH_UNITS: [&str; 4] = ["", "拾", "佰", "仟"];
const ZH_GROUPS: [&str; 4] = ["", "万", "亿", "万亿"];

/// A whole number in Chinese capitals (大写): `壹仟零壹`, `叁亿`, `壹拾捌万伍仟`.
pub fn zh_capitals(n: u64) -> Result<String, String> {
    if n == 0 {
        return Ok("零".into());
    }
    if n >= 10_000_000_000_000_000 {
        return Err(format!("{n} is too large to write in capitals"));
    }
    let mut groups = Vec::new();
    let mut m = n;
    while m > 0 {
        groups.push(m % 10_000);
        m /= 10_000;
    }
    let mut out = String::new();
    let mut zero = false;
    for gi in (0..groups.len()).rev() {
        let g = groups[gi];
        if g == 0 {
            zero |= !out.is_empty();
            continue;
        }
        if !out.is_empty() && g < 1000 {
            zero = true;
        }
        let digits = [g / 1000, g / 100 % 10, g / 10 % 10, g % 10];
        let mut started = false;
        for (i, d) in digits.iter().enumerate() {
            if *d == 0 {
                zero |= started;
                continue;
            }
            if zero {
                out.push('零');
            }
            zero = false;
            out.push(ZH_DIGITS[*d as usize]);
            out.push_str(ZH_UNITS[3 - i]);
            started = true;
        }
        // Zeros at the end of a group are not read; the next group says whether a 零 is due.
        zero = false;
        out.push_str(ZH_GROUPS[gi]);
    }
    Ok(out)
}

/// An amount in words: English words with cents as `and 50/100`, or Chinese capitals with
/// 元/角/分 and 整 (`壹仟万元整`, `壹佰元伍角`).
pub fn amount_words(v: f64, money: bool, lang: Language) -> Result<String, String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{v} cannot be written in words"));
    }
    let cents_total = (v * 100.0).round() as u128;
    if cents_total > u64::MAX as u128 {
        return Err(format!("{v} is too large to write in words"));
    }
    let whole = (cents_total / 100) as u64;
    let cents = (cents_total % 100) as u64;
    if !money && cents > 0 {
        return Err(format!("{v} is not a whole number"));
    }
    Ok(match lang {
        Language::En => {
            let w = english_words(whole);
            if cents > 0 {
                format!("{w} and {cents:02}/100")
            } else {
                w
            }
        }
        Language::Zh => {
            let w = zh_capitals(whole)?;
            if !money {
                return Ok(w);
            }
            let (jiao, fen) = (cents / 10, cents % 10);
            let mut out = if whole > 0 {
                format!("{w}元")
            } else {
                String::new()
            };
            if cents == 0 {
                out.push('整');
            } else {
                if jiao > 0 {
                    out.push(ZH_DIGITS[jiao as usize]);
                    out.push('角');
                } else if whole > 0 {
                    out.push('零');
                }
                if fen > 0 {
                    out.push(ZH_DIGITS[fen as usize]);
                    out.push('分');
                }
            }
            out
        }
    })
}

/// A currency's name in the document's language; the code when the table does not know it.
pub fn currency_name(code: &str, lang: Language) -> String {
    let (en, zh) = match code {
        "USD" => ("US Dollars", "美元"),
        "EUR" => ("Euros", "欧元"),
        "GBP" => ("Pounds Sterling", "英镑"),
        "JPY" => ("Japanese Yen", "日元"),
        "CNY" => ("Chinese Yuan Renminbi", "人民币"),
        "HKD" => ("Hong Kong Dollars", "港币"),
        "CHF" => ("Swiss Francs", "瑞士法郎"),
        "SGD" => ("Singapore Dollars", "新加坡元"),
        "AUD" => ("Australian Dollars", "澳元"),
        "CAD" => ("Canadian Dollars", "加元"),
        "TWD" => ("New Taiwan Dollars", "新台币"),
        // A code the table lacks is written as the code; in Chinese, where the amount follows
        // without a space, one is put after it (`KRW 1,000.00`, never `KRW1,000.00`).
        _ => {
            return match lang {
                Language::En => code.into(),
                Language::Zh => format!("{code} "),
            };
        }
    };
    match lang {
        Language::En => en.into(),
        Language::Zh => zh.into(),
    }
}

/// An enumeration's word in the document's language.
pub fn word(value: &str, lang: Language) -> String {
    let (en, zh) = match value {
        "call" => ("Call", "看涨"),
        "put" => ("Put", "看跌"),
        "european" => ("European", "欧式"),
        "american" => ("American", "美式"),
        "bermudan" => ("Bermudan", "百慕大式"),
        "cash" => ("Cash Settlement", "现金结算"),
        "physical" => ("Physical Settlement", "实物交割"),
        "cash_or_physical" => ("Cash or Physical Settlement", "现金结算或实物交割"),
        "knock_in" => ("Knock-in", "敲入"),
        "knock_out" => ("Knock-out", "敲出"),
        "up" => ("Up", "向上"),
        "down" => ("Down", "向下"),
        "price" => ("price", "价格"),
        "percent" => ("percent of the initial price", "期初价格的百分比"),
        "rate" => ("rate", "利率"),
        "daily" => ("daily", "每日"),
        "weekly" => ("weekly", "每周"),
        "monthly" => ("monthly", "每月"),
        "quarterly" => ("quarterly", "每季度"),
        "at_maturity" => ("at maturity", "到期"),
        "equity_option" => ("Equity Option", "股票期权"),
        "equity_swap" => ("Equity Swap", "收益互换"),
        "interest_rate_swap" => ("Interest Rate Swap", "利率互换"),
        "credit_default_swap" => ("Credit Default Swap", "信用违约互换"),
        "commodity_option" => ("Commodity Option", "商品期权"),
        "snowball" => ("Snowball", "雪球"),
        "phoenix" => ("Phoenix", "凤凰"),
        _ => (value, value),
    };
    match lang {
        Language::En => en.into(),
        Language::Zh => zh.into(),
    }
}

/// `party_a` as `Party A` or `甲方`.
pub fn role(value: &str, lang: Language) -> Result<String, String> {
    Ok(match (value, lang) {
        ("party_a", Language::En) => "Party A".into(),
        ("party_b", Language::En) => "Party B".into(),
        ("party_a", Language::Zh) => "甲方".into(),
        ("party_b", Language::Zh) => "乙方".into(),
        _ => return Err(format!("`{value}` is not party_a or party_b")),
    })
}

/// Writes one value. `party` looks up a party's name for [`Format::Name`].
pub fn write(
    format: Format,
    kind: LeafKind,
    value: &Value,
    lang: Language,
    party: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let text = || match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("{other} is not a single value")),
    };
    let num = || {
        value
            .as_f64()
            .ok_or_else(|| format!("{value} is not a number"))
    };
    match format {
        Format::Date => date(&text()?, lang),
        Format::Iso => {
            let s = text()?;
            date(&s, lang).map(|_| s)
        }
        Format::Amount => Ok(number(num()?, if kind == LeafKind::Count { 0 } else { 2 })),
        Format::Number => Ok(number(num()?, 0)),
        Format::Words => amount_words(num()?, kind != LeafKind::Count, lang),
        Format::Percent => {
            let v = num()?;
            let pct = if kind == LeafKind::Rate {
                // Rates are decimals: 0.0409 → 4.09, without binary noise.
                (v * 1e8).round() / 1e6
            } else {
                v
            };
            Ok(format!("{}%", number(pct, 0)))
        }
        Format::Currency => text(),
        Format::CurrencyName => Ok(currency_name(&text()?, lang)),
        Format::Name => {
            let r = text()?;
            party(&r).ok_or_else(|| format!("the trade names no {r}"))
        }
        Format::Role => role(&text()?, lang),
        Format::Word => Ok(word(&text()?, lang)),
        Format::Text => text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capitals_follow_the_zero_rules() {
        for (n, w) in [
            (1, "壹"),
            (10, "壹拾"),
            (1001, "壹仟零壹"),
            (1010, "壹仟零壹拾"),
            (185_000, "壹拾捌万伍仟"),
            (10_000_000, "壹仟万"),
            (10_000_001, "壹仟万零壹"),
            (100_010, "壹拾万零壹拾"),
            (300_000_000, "叁亿"),
            (100_001_000, "壹亿零壹仟"),
            (10_101_000, "壹仟零壹拾万壹仟"),
            (120_000_000, "壹亿贰仟万"),
        ] {
            assert_eq!(zh_capitals(n).unwrap(), w, "{n}");
            // Our own reader (the extraction side) reads them back.
            let chars: Vec<char> = w.chars().collect();
            assert_eq!(cjk::numeral_value(&chars), Some(n), "{w}");
        }
        assert_eq!(
            amount_words(10_000_000.0, true, Language::Zh).unwrap(),
            "壹仟万元整"
        );
        assert_eq!(
            amount_words(100.5, true, Language::Zh).unwrap(),
            "壹佰元伍角"
        );
        assert_eq!(
            amount_words(100.05, true, Language::Zh).unwrap(),
            "壹佰元零伍分"
        );
        assert_eq!(
            amount_words(185_000.0, true, Language::Zh).unwrap(),
            "壹拾捌万伍仟元整"
        );
    }

    #[test]
    fn words_read_back() {
        for n in [
            0u64,
            7,
            15,
            40,
            121,
            1_000,
            2_500_015,
            300_000_000,
            1_234_567_891,
        ] {
            assert_eq!(parse_english_words(&english_words(n)), Some(n), "{n}");
        }
        for v in [1_000.5, 1_234_567.89, 10_000_000.0, 100.05, 0.3] {
            for lang in [Language::En, Language::Zh] {
                let w = amount_words(v, true, lang).unwrap();
                assert_eq!(parse_amount_words(&w), Some(v), "{w}");
            }
        }
        assert_eq!(parse_english_words("US Dollars"), None);
        assert_eq!(parse_amount_words("壹佰元伍"), None);
    }

    #[test]
    fn english_words_and_numbers() {
        assert_eq!(english_words(300_000_000), "three hundred million");
        assert_eq!(
            english_words(2_500_015),
            "two million five hundred thousand fifteen"
        );
        assert_eq!(english_words(121), "one hundred and twenty-one");
        assert_eq!(
            amount_words(1_000.5, true, Language::En).unwrap(),
            "one thousand and 50/100"
        );
        assert_eq!(number(300_000_000.0, 2), "300,000,000.00");
        assert_eq!(number(5890.12, 2), "5,890.12");
        assert_eq!(number(2.853, 2), "2.853");
        assert_eq!(number(1000.0, 0), "1,000");
        assert_eq!(date("2005-06-23", Language::En).unwrap(), "23 June 2005");
        assert_eq!(date("2005-06-23", Language::Zh).unwrap(), "2005年6月23日");
        assert!(date("2005-02-30", Language::En).is_err());
    }

    #[test]
    fn percentages_of_rates_and_figures() {
        let none = |_: &str| None;
        let w = |f, k, v: Value| write(f, k, &v, Language::En, &none).unwrap();
        assert_eq!(w(Format::Percent, LeafKind::Rate, 0.0409.into()), "4.09%");
        assert_eq!(w(Format::Percent, LeafKind::Rate, 0.15.into()), "15%");
        assert_eq!(w(Format::Percent, LeafKind::Percent, 103.into()), "103%");
        assert_eq!(w(Format::Word, LeafKind::Enum, "call".into()), "Call");
        let names = |r: &str| (r == "party_a").then(|| "Deutsche Bank AG".to_string());
        assert_eq!(
            write(
                Format::Name,
                LeafKind::Role,
                &"party_a".into(),
                Language::En,
                &names
            )
            .unwrap(),
            "Deutsche Bank AG"
        );
        assert!(
            write(
                Format::Name,
                LeafKind::Role,
                &"party_b".into(),
                Language::En,
                &names
            )
            .is_err()
        );
    }
}
